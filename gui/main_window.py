"""MainWindow: composes the panels and wires them to each other and to the backend. No business rules:
the job is built as a core JobSpec and everything about it (validity, payload, submission) is core's."""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from playment_submit.core import __version__
from playment_submit.core.errors import PlaymentError, Problem
from playment_submit.core.job import JobSpec, RasterPrelabel, ReferenceImage, is_local_path
from playment_submit.core.pipeline import Verdict
from playment_submit.gui.addresses import FileAddresses
from playment_submit.gui.dialogs import recent_files, remember_recent
from playment_submit.gui.style import set_status
from playment_submit.gui.widgets.bulk_panel import BulkPanel
from playment_submit.gui.widgets.connection_panel import ConnectionPanel
from playment_submit.gui.widgets.history_panel import HistoryPanel
from playment_submit.gui.widgets.job_panel import JobPanel
from playment_submit.gui.widgets.mask_panel import MaskPanel
from playment_submit.gui.widgets.mask_view import MaskView
from playment_submit.gui.widgets.primary_panel import PrimaryPanel
from playment_submit.gui.widgets.references_panel import ReferencesPanel
from playment_submit.gui.workers import start_worker
from playment_submit.resources import resource_path, sample_classes, sample_job_files


def icon(name: str) -> QIcon:
    return QIcon(str(resource_path("icons", f"{name}.svg")))


class MainWindow(QMainWindow):
    CHECKING = "still checking the job's files"
    submit_succeeded = Signal(object)   # CreatedJob
    submit_failed = Signal(object)      # the exception
    sample_loaded = Signal()

    def __init__(self, backend, parent=None):
        super().__init__(parent)
        self.backend = backend
        self.setWindowTitle("playment-submit" + (" — Sandbox" if backend.sandbox_mode else ""))
        self.setWindowIcon(icon("app"))
        self.mask_state = None
        self.batch_id: str | None = None
        self._suggested_ref = ""
        self._submit_worker = None
        self._check_worker = None
        self._verdict = None               # core.pipeline.Verdict for the job as it was when checked
        self._verdict_key: str | None = None
        self._checking_key: str | None = None
        self._busy: set[str] = set()
        self.addresses = FileAddresses(self)

        self.primary = PrimaryPanel()
        self.references = ReferencesPanel()
        self.mask_panel = MaskPanel()
        self.connection = ConnectionPanel(backend)
        inputs = QTabWidget()
        inputs.addTab(self.primary, "Image")
        inputs.addTab(self.references, "Cameras")
        inputs.addTab(self.mask_panel, "Mask")
        inputs.addTab(self.connection, "Connection")
        inputs.setTabToolTip(0, "The primary image annotators will label")
        inputs.setTabToolTip(1, "Reference camera images shown beside it")
        inputs.setTabToolTip(2, "The pre-label segmentation mask and its legend")
        inputs.setTabToolTip(3, "Profile, project, workflow and API key")
        self.inputs = inputs

        self.view = MaskView()
        self.hover = QLabel(" ")
        centre = QWidget()
        cl = QVBoxLayout(centre)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.view, 1)
        cl.addWidget(self.hover)
        self.job = JobPanel()
        for name, batch_id in backend.profile.batches.items():
            self.job.add_batch(name, batch_id, select=False)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(inputs)
        split.addWidget(centre)
        split.addWidget(self.job)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 0)
        split.setSizes([380, 520, 360])
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.addTab(split, "Job")
        self.history = HistoryPanel(backend.journal)
        self.bulk = BulkPanel(backend)
        self.tabs.addTab(self.bulk, "Bulk")
        self.bulk.submission_finished.connect(lambda _s: self._on_history_changed())
        self.tabs.addTab(self.history, "History")
        self.tabs.currentChanged.connect(lambda _i: self._on_history_changed())
        self.setCentralWidget(self.tabs)
        self._build_actions()
        self._build_status_bar()

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(120)
        self._refresh_timer.timeout.connect(self.refresh)
        self._close_when_idle = QTimer(self)  # polls after "close" was confirmed while jobs were on their way
        self._close_when_idle.setInterval(100)
        self._close_when_idle.timeout.connect(lambda: self.is_sending() or self.close())

        self.addresses.busy_changed.connect(lambda b: self._set_busy("file addresses", b))
        self.primary.primary_changed.connect(self._on_primary_changed)
        self.primary.image_loaded.connect(self._on_image_loaded)
        self.references.references_changed.connect(self._schedule_refresh)
        self.mask_panel.mask_changed.connect(self._on_mask_changed)
        self.mask_panel.busy_changed.connect(lambda b: self._set_busy("mask", b))
        self.mask_panel.opacity_changed.connect(self.view.set_opacity)
        self.mask_panel.class_visibility_changed.connect(self.view.set_class_visible)
        self.mask_panel.class_highlighted.connect(self.view.set_highlight)
        self.view.hovered.connect(self.hover.setText)
        self.job.reference_id_edited.connect(lambda _t: self._schedule_refresh())
        self.job.batch_chosen.connect(self._on_batch_chosen)
        self.job.batch_create_requested.connect(self._on_batch_create_requested)
        self.job.submit_requested.connect(self.submit)
        self.job.cancel_requested.connect(self._on_cancel_requested)
        self.connection.profile_applied.connect(self._on_profile_applied)
        self.connection.connection_applied.connect(self._on_connection_applied)
        self.connection.storage_applied.connect(self._on_storage_applied)

        self._restore_geometry()
        self.refresh()

    # ------------------------------------------------------------- chrome
    def _build_actions(self) -> None:
        def action(text, name, shortcut, slot, tip):
            a = QAction(icon(name) if name else QIcon(), text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            return a

        self.open_action = action("&Open primary image…", "open", QKeySequence.StandardKey.Open,
                                  self.primary._on_browse_clicked, "Choose the image to label")
        self.sample_action = action("Load &sample", "sample", "Ctrl+L", self.load_sample,
                                    "Fill in a complete sample job (photo, two cameras, colour-coded mask)")
        self.submit_action = action("&Submit job", "submit", "Ctrl+Return", self.submit, "Create the job on Playment")
        zin = action("Zoom &in", "zoom-in", QKeySequence.StandardKey.ZoomIn, lambda: self.view.zoom(1.25), "Zoom in")
        zout = action("Zoom &out", "zoom-out", QKeySequence.StandardKey.ZoomOut, lambda: self.view.zoom(0.8),
                      "Zoom out")
        zfit = action("&Fit to window", "zoom-fit", "Ctrl+0", self.view.fit, "Show the whole image")
        quit_action = action("&Quit", None, QKeySequence.StandardKey.Quit, self.close, "Quit")
        about = action("&About", None, None, self._on_about, "Version and credits")
        menu = self.menuBar()
        f = menu.addMenu("&File")
        f.addAction(self.open_action)
        self.recent_menu = f.addMenu("Open &recent")
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self._on_recent_menu_about_to_show)
        f.addAction(self.sample_action)
        f.addSeparator()
        f.addAction(quit_action)
        v = menu.addMenu("&View")
        for a in (zin, zout, zfit):
            v.addAction(a)
        menu.addMenu("&Job").addAction(self.submit_action)
        menu.addMenu("&Help").addAction(about)
        tb = self.addToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (self.open_action, self.sample_action, zin, zout, zfit, self.submit_action):
            tb.addAction(a)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.key_warning = QLabel("  ⚠ API key: no keyring  ")
        self.key_warning.setObjectName("keyWarning")  # bold, by gui/style.py
        set_status(self.key_warning, "warning")
        self.key_warning.setToolTip(self.backend.key_warning or "")
        self.key_warning.setVisible(bool(self.backend.key_warning))
        bar.addPermanentWidget(self.key_warning)
        self.badge = QLabel()
        bar.addPermanentWidget(self.badge)
        self._update_badge()
        bar.showMessage("Ready. Load the sample (Ctrl+L) to see the whole flow.", 8000)

    def _update_badge(self) -> None:
        """Where jobs go, always in sight: the sandbox badge only while jobs really go to the sandbox."""
        sandbox = self.backend.sandbox_mode
        self.setWindowTitle("playment-submit" + (" — Sandbox" if sandbox else ""))
        if sandbox:
            self.badge.setText("  SANDBOX: nothing goes to Playment  ")
            set_status(self.badge, "sandbox")
            self.badge.setToolTip(f"Jobs go to a local sandbox at {self.backend.base_url}. Configure a profile and "
                                  f"an API key in the Connection tab to use Playment.")
        else:
            self.badge.setText(f"  {self.backend.base_url} · project {self.backend.project_id}  ")
            set_status(self.badge, None)
            self.badge.setToolTip("Jobs go to this server and project")

    def _on_about(self) -> None:
        QMessageBox.about(self, "About playment-submit",
                          f"<b>playment-submit {__version__}</b><br>Create Playment labelling jobs with "
                          f"reference cameras and pre-label masks.<br><br>Sample photo: scikit-image data "
                          f"(coffee.png, CC0, Rachel Michetti).")

    def _restore_geometry(self) -> None:
        geometry = QSettings().value("window/geometry")
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if geometry is None or not self.restoreGeometry(geometry):
            w, h = (1280, 780) if screen is None else (min(1280, screen.width()), min(780, screen.height()))
            self.resize(w, h)
        elif screen is not None and not screen.contains(self.frameGeometry().topLeft()):
            self.move(screen.topLeft())  # saved on a screen that is gone

    def is_sending(self) -> bool:
        """A job (Job tab) or a bulk run (Bulk tab) is on its way to the server."""
        return self._submit_worker is not None or self.bulk.is_sending()

    def is_idle(self) -> bool:
        """Nothing loading (image, mask, file addresses, bulk manifest), no job or bulk run being sent,
        and no refresh of the preview pending: what is on screen is final until the user acts."""
        return (not self._busy and not self._refresh_timer.isActive() and not self.is_sending()
                and self.bulk.is_idle())

    def closeEvent(self, event) -> None:
        # Closing while jobs are on their way: stop starting new ones, let the requests in flight finish
        # and be journalled, then close. Quitting at once would close the journal under them.
        if self.is_sending():
            event.ignore()
            if self._close_when_idle.isActive():
                return
            answer = QMessageBox.question(
                self, "Jobs are being sent",
                "Jobs are being sent. Stop sending, let the requests already on their way finish and be "
                "recorded, and then close?\n\nNothing is lost: submitting again continues where it stopped.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return
            self._on_cancel_requested()
            self.bulk.cancel()
            self.statusBar().showMessage("Finishing the requests on their way, then closing…")
            self._close_when_idle.start()
            return
        self._close_when_idle.stop()
        self._refresh_timer.stop()
        QSettings().setValue("window/geometry", self.saveGeometry())
        super().closeEvent(event)

    # ------------------------------------------------------------ handlers
    def _schedule_refresh(self) -> None:
        if self.isVisible():
            self._refresh_timer.start()

    def _set_busy(self, what: str, busy: bool) -> None:
        (self._busy.add if busy else self._busy.discard)(what)
        self._schedule_refresh()

    def _on_recent_menu_about_to_show(self) -> None:
        self.recent_menu.clear()
        paths = recent_files()
        for path in paths:
            a = self.recent_menu.addAction(Path(path).name)
            a.setToolTip(path)
            a.triggered.connect(lambda _checked=False, p=path: self.primary.set_value(p))
        if not paths:
            self.recent_menu.addAction("No recent images").setEnabled(False)

    def _on_primary_changed(self, value: str) -> None:
        if value and is_local_path(value) and Path(value).is_file():
            remember_recent(str(Path(value).resolve()))
        stem = value.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0] if value else ""
        current = self.job.reference_id.text().strip()
        if stem and (not current or current == self._suggested_ref):
            self._suggested_ref = self._unused_reference(stem)
            self.job.reference_id.setText(self._suggested_ref)
        self._set_busy("primary", bool(value))

    def _unused_reference(self, stem: str) -> str:
        journal = self.backend.journal
        candidate, n = stem, 1
        while journal is not None and journal.get(candidate) is not None:
            n += 1
            candidate = f"{stem}-{n}"
        return candidate

    def _on_image_loaded(self, image) -> None:
        self.view.set_image(image)
        self.mask_panel.set_primary_size(self.primary.image_size)
        self._set_busy("primary", False)

    def _on_mask_changed(self, state) -> None:
        self.mask_state = state
        self.view.set_overlay(state.overlay if state is not None else None)
        self._schedule_refresh()

    def _on_batch_chosen(self, batch_id) -> None:
        self.batch_id = batch_id
        self._schedule_refresh()

    def _on_batch_create_requested(self, name: str) -> None:
        worker = start_worker(lambda: self.backend.client.create_batch(name), owner=self)
        worker.returned.connect(lambda batch_id: self._on_batch_created(name, batch_id))
        worker.errored.connect(lambda e: self.job.show_failure(f"The batch was not created: {e}"))
        self._batch_worker = worker

    def _on_batch_created(self, name: str, batch_id: str) -> None:
        self.job.add_batch(name, batch_id)
        try:
            self.backend.remember_batch(name, batch_id)
        except PlaymentError as e:  # the profile file could not be written: the batch still works now
            self.statusBar().showMessage(str(e), 10000)

    def _on_profile_applied(self, profile) -> None:
        """Another profile: its own history and duplicate checks (journal) from now on."""
        self.backend.use_profile(profile)
        self.history.journal = self.backend.journal
        self.job.set_batches(profile.batches)
        self._on_history_changed()

    def _on_connection_applied(self, base_url, project_id, workflow_id, api_key) -> None:
        self.backend.apply_connection(base_url, project_id, workflow_id, api_key)
        self._update_badge()
        self._schedule_refresh()

    def _on_storage_applied(self, settings: dict) -> None:
        try:
            self.backend.apply_storage(settings)
        except PlaymentError as e:  # e.g. S3 chosen but boto3 missing, or no bucket: say so, keep the old one
            self.connection.result.setText(str(e))
        self._schedule_refresh()

    def _on_cancel_requested(self) -> None:
        if self._submit_worker is not None:
            self._submit_worker.cancel()
            self.job.show_progress("send", 0, 0, "Cancelling after the current step…")

    # ---------------------------------------------------------------- job
    def current_spec(self) -> JobSpec:
        """The job as the form describes it, local paths resolved as every front end resolves them."""
        refs = [ReferenceImage(url, label) for label, url in self.references.references()]
        prelabel = None
        if self.mask_state is not None:
            prelabel = RasterPrelabel(str(self.mask_state.path), dict(self.mask_state.legend))
        spec = JobSpec(reference_id=self.job.reference_id.text().strip(), work_flow_id=self.backend.workflow_id,
                       image_url=self.primary.value(), references=refs, prelabel=prelabel, batch_id=self.batch_id)
        try:
            base = Path.cwd()  # a path typed by hand is relative to where the app was started
        except OSError:  # that folder was removed since
            base = Path.home()
        return self.backend.resolve(spec, base)

    def _can_upload(self) -> bool:
        return self.backend.can_upload

    def _job_key(self, spec: JobSpec) -> str:
        """What a verdict depends on: the payload, where it goes, and each local file's size and mtime."""
        stats: list[tuple[str, int | None, int | None]] = []
        for path in spec.local_paths():
            try:
                st = os.stat(path)
                stats.append((path, st.st_size, st.st_mtime_ns))
            except OSError:
                stats.append((path, None, None))
        journal = self.backend.journal
        entry = journal.get(spec.reference_id) if journal is not None and spec.reference_id else None
        return json.dumps([spec.to_payload(), stats, self.backend.base_url, self._can_upload(),
                           str(journal.path) if journal is not None else None,
                           [entry.state, entry.job_id] if entry is not None else None], sort_keys=True, default=str)

    def blockers(self, spec: JobSpec) -> list[str]:
        """Why Submit is disabled: core's verdict on this very job (the same sentences `submit` and `bulk`
        print), or that it is still being checked."""
        reasons = [str(p) for p in spec.validate(allow_local_paths=self._can_upload()) if p.severity == "error"]
        if self._verdict is not None and self._verdict_key == self._job_key(spec):
            reasons += [str(p) for p in self._verdict.errors if str(p) not in reasons]
        elif not reasons:
            reasons.append(self.CHECKING)
        if self._busy - {"submit", "check"}:
            reasons.append("still loading: " + ", ".join(sorted(self._busy - {"submit", "check"})))
        return reasons

    def _check_current_job(self, spec: JobSpec, key: str) -> None:
        """Run core's check of the whole job (files decoded, mask checked, journal) off the GUI thread."""
        if self._check_worker is not None:
            self._check_worker.cancel()  # its result is dropped below: the key no longer matches
        backend = self.backend
        worker = start_worker(lambda: backend.check(spec, ask_server=True), owner=self)
        worker.returned.connect(lambda verdict, k=key: self._on_check_returned(k, verdict))
        worker.errored.connect(lambda e, k=key: self._on_check_errored(k, e))
        worker.finished.connect(lambda w=worker: self._on_check_finished(w))
        self._check_worker = worker
        self._checking_key = key
        self._set_busy("check", True)

    def _on_check_returned(self, key: str, verdict) -> None:
        if key == self._checking_key:  # an older check that finished late does not overwrite a newer one
            self._verdict, self._verdict_key = verdict, key
            self._schedule_refresh()

    def _on_check_errored(self, key: str, error) -> None:
        if key == self._checking_key:
            self._verdict = Verdict(spec=self.current_spec(),
                                    problems=[Problem("", f"The job could not be checked: {error}")])
            self._verdict_key = key
            self._schedule_refresh()

    def _on_check_finished(self, worker) -> None:
        if self._check_worker is worker:
            self._check_worker = None
            self._set_busy("check", False)

    def preview_payload(self, spec: JobSpec) -> dict:
        """The payload as it will be sent: local files shown at the URL storage will give them.

        A file's first content hash is computed in a worker (gui.addresses); until then its path is shown."""
        payload = spec.to_payload()
        if not spec.local_paths() or not self._can_upload():
            return payload
        text = json.dumps(payload)
        for path in spec.local_paths():
            if not self.addresses.is_ready(path):
                continue  # shown as the path until its address is known (Submit waits for it)
            try:
                text = text.replace(json.dumps(path)[1:-1], json.dumps(self.backend.storage.destination(path))[1:-1])
            except Exception:  # a missing file is reported by validation/upload; the preview keeps the path
                continue
        return json.loads(text)

    def refresh(self) -> None:
        spec = self.current_spec()
        problems = spec.validate(allow_local_paths=self._can_upload())
        self.references.set_problems(problems + (self._verdict.problems if self._verdict is not None
                                                 and self._verdict_key == self._job_key(spec) else []))
        self.job.show_payload(json.dumps(self.preview_payload(spec), indent=2, ensure_ascii=False))
        ref = spec.reference_id
        entry = self.backend.journal.get(ref) if (ref and self.backend.journal is not None) else None
        refused = self._verdict is not None and self._verdict_key == self._job_key(spec) and any(
            p.path == "reference_id" for p in self._verdict.errors)
        if entry is not None and entry.job_id and not refused:  # core's refusal below says it already
            self.job.reference_note.setText(f"Already submitted as job {entry.job_id} ({entry.state}); "
                                            f"submitting again will be refused as a duplicate.")
        else:
            self.job.reference_note.setText("")
        self.job.reference_note.setVisible(bool(self.job.reference_note.text()))
        key = self._job_key(spec)
        if self._verdict_key != key and self._checking_key != key and self._submit_worker is None \
                and not (self._busy - {"submit", "check"}):
            self._check_current_job(spec, key)
        blockers = self.blockers(spec)
        self.job.set_blockers(blockers)
        self.submit_action.setEnabled(not blockers and self._submit_worker is None)

    def submit(self) -> None:
        spec = self.current_spec()
        # A check still running is no reason to wait: the submission checks the job itself, first.
        if [r for r in self.blockers(spec) if r != self.CHECKING] or self._submit_worker is not None:
            return
        self._set_busy("submit", True)
        self.job.set_busy(True)
        self.statusBar().showMessage(f"Submitting \"{spec.reference_id}\"…")
        worker = start_worker(self._submit_job, self.backend, spec, owner=self)
        worker.progressed.connect(lambda p: self.job.show_progress(p["phase"], p["done"], p["total"], p["message"]))
        worker.returned.connect(self._on_submit_returned)
        worker.errored.connect(self._on_submit_errored)
        worker.finished.connect(self._on_submit_finished)
        self._submit_worker = worker

    @staticmethod
    def _submit_job(backend, spec, progress_callback, cancel_event):
        return backend.submit(spec, progress=progress_callback, cancel=cancel_event)

    def _on_submit_returned(self, created) -> None:
        self.job.show_success(created.job_id, created.status, created.reference_id)
        self.statusBar().showMessage(f"Job {created.job_id} {created.status}.", 10000)
        self.submit_succeeded.emit(created)

    def _on_submit_errored(self, error) -> None:
        self.job.show_failure(str(error))
        self.statusBar().showMessage("Not submitted; see the message in the Job panel.", 10000)
        self.submit_failed.emit(error)

    def _on_submit_finished(self) -> None:
        self._submit_worker = None
        self.job.set_busy(False)
        self._set_busy("submit", False)
        self._on_history_changed()
        self.refresh()

    def _on_history_changed(self) -> None:
        """Rebuild the history table only while it is on screen (it grows with every submission)."""
        if self.tabs.currentWidget() is self.history:
            self.history.refresh()
        else:
            self.history.stale = True

    # -------------------------------------------------------------- sample
    def load_sample(self) -> None:
        files = sample_job_files()
        self.primary.set_value(str(files["primary"]))
        self.references.clear()
        for label, path in files["references"]:
            self.references.add(str(path), label)
        self.mask_panel.colour_code_files(str(files["index_mask"]), sample_classes())
        self.inputs.setCurrentWidget(self.mask_panel)
        self.statusBar().showMessage("Sample job loaded: a photo, two reference cameras and a colour-coded mask.", 8000)
        self.sample_loaded.emit()
