"""MainWindow: composes the panels and wires them to each other and to the backend. No business rules:
the job is built as a core JobSpec and everything about it (validity, payload, submission) is core's."""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core import __version__
from playment_submit.core import draft as drafts
from playment_submit.core import status as live_status
from playment_submit.core.errors import PlaymentError, Problem, ValidationError
from playment_submit.core.job import JobSpec, RasterPrelabel, ReferenceImage, is_local_path
from playment_submit.core.pipeline import Verdict
from playment_submit.core.results_download import download_results
from playment_submit.gui.addresses import FileAddresses
from playment_submit.gui.dialogs import app_settings, open_file, recent_files, remember_recent, save_file
from playment_submit.gui.style import set_status
from playment_submit.gui.widgets.bulk_panel import BulkPanel
from playment_submit.gui.widgets.connection_panel import ConnectionPanel
from playment_submit.gui.widgets.history_panel import HistoryPanel
from playment_submit.gui.widgets.job_panel import JobPanel
from playment_submit.gui.widgets.mask_panel import MaskPanel
from playment_submit.gui.widgets.mask_view import MaskView
from playment_submit.gui.widgets.primary_panel import IMAGE_FILTER, PrimaryPanel
from playment_submit.gui.widgets.references_panel import ReferencesPanel
from playment_submit.gui.widgets.results_view import ResultsView
from playment_submit.gui.workers import start_worker
from playment_submit.resources import resource_path, sample_classes, sample_job_files

JOB_FILTER = "Job files (*.json)"
OPEN_FILTER = ("Jobs and images (*.json *.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp);;" + JOB_FILTER + ";;"
               + IMAGE_FILTER)


def _sentence(error: BaseException) -> str:
    """A worker's error as one sentence: core errors carry theirs; a disk error names the file."""
    if isinstance(error, OSError) and not isinstance(error, PlaymentError):
        return f"{error.filename or 'a file'}: {error.strerror or type(error).__name__}."
    return str(error)


def icon(name: str) -> QIcon:
    return QIcon(str(resource_path("icons", f"{name}.svg")))


class MainWindow(QMainWindow):
    CHECKING = "still checking the job's files"
    submit_succeeded = Signal(object)   # CreatedJob
    submit_failed = Signal(object)      # the exception
    sample_loaded = Signal()
    batches_listed = Signal(object)     # core.client.ProjectDetails, or the error that stopped it

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
        self.draft_path: Path | None = None     # the job file this draft was opened from or saved to
        self._baseline = drafts.draft_key(drafts.empty_spec())  # the work as last saved/opened: "unsaved" is != this
        self._autosaved: str | None = None
        self._extras: dict = {}                 # what the form does not show but a job file held (kept as is)
        self._after_primary = None              # a step waiting for the primary image (its size checks the mask)
        self._failure_key: str | None = None    # the job and connection a failure message is about
        self._batches_worker = None             # the /details request listing the project's batches
        self._status_worker = None              # History's "Refresh status"
        self._results_worker = None             # the Results tab's download
        self._sent_reference: str | None = None  # the reference ID of the job this window sent last

        self.primary = PrimaryPanel()
        self.references = ReferencesPanel()
        self.mask_panel = MaskPanel()
        self.connection = ConnectionPanel(backend)
        inputs = QTabWidget()
        inputs.addTab(self.primary, "&Image")
        inputs.addTab(self.references, "&Cameras")
        inputs.addTab(self.mask_panel, "&Mask")
        inputs.addTab(self.connection, "Co&nnection")
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
        split.setChildrenCollapsible(False)  # no pane, least of all the view, can be dragged to nothing
        self.split = split
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.addTab(split, "J&ob")
        self.history = HistoryPanel(backend.journal)
        self.bulk = BulkPanel(backend)
        self.tabs.addTab(self.bulk, "&Bulk")
        self.bulk.submission_finished.connect(lambda _s: self._on_history_changed())
        self.tabs.addTab(self.history, "Hi&story")
        self.results = ResultsView(backend.journal)
        self.tabs.addTab(self.results, "&Results")
        self.tabs.setTabToolTip(self.tabs.indexOf(self.results), "What Playment delivered, compared with the "
                                "pre-labels sent")
        self.tabs.currentChanged.connect(self._on_tab_changed)
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
        self.job.batch_refresh_requested.connect(self.load_batches)
        self.job.submit_requested.connect(self.submit)
        self.job.cancel_requested.connect(self._on_cancel_requested)
        self.connection.profile_applied.connect(self._on_profile_applied)
        self.connection.connection_applied.connect(self._on_connection_applied)
        self.connection.storage_applied.connect(self._on_storage_applied)
        self.history.reopen_requested.connect(lambda payload: self.open_job_data(payload, "History"))
        self.history.status_refresh_requested.connect(self.refresh_statuses)
        self.history.status_cancel_requested.connect(self._on_status_cancel_requested)
        self.results.download_requested.connect(self.download_results)
        self.results.cancel_requested.connect(self._on_results_cancel_requested)
        if hasattr(self.bulk, "openRowRequested"):  # the Bulk tab's "open this row in the Job tab"
            self.bulk.openRowRequested.connect(lambda data: self.open_job_data(data, "the Bulk tab"))

        self._restore_geometry()
        self.refresh()
        QTimer.singleShot(0, self.load_batches)  # every batch of the project, not only those made here
        QTimer.singleShot(0, self.results.rescan)  # results already downloaded to the remembered folder

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

        self.new_action = action("&New job", None, QKeySequence.StandardKey.New, self.new_job,
                                 "Start an empty job (asks first when the current one is not saved)")
        self.open_action = action("&Open…", "open", QKeySequence.StandardKey.Open, self._on_open_triggered,
                                  "Open a job file (JSON), or an image as the primary image")
        self.open_image_action = action("Open primary &image…", None, None, self.primary._on_browse_clicked,
                                        "Choose the image to label")
        self.save_action = action("&Save job", None, QKeySequence.StandardKey.Save, self.save_job,
                                  "Save this job as a job file (the API's JSON; local paths allowed)")
        self.save_as_action = action("Save job &as…", None, "Ctrl+Shift+S", lambda: self.save_job(ask=True),
                                     "Save this job under another name")
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
        for a in (self.new_action, self.open_action, self.open_image_action):
            f.addAction(a)
        self.recent_menu = f.addMenu("Open &recent image")
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self._on_recent_menu_about_to_show)
        f.addSeparator()
        f.addAction(self.save_action)
        f.addAction(self.save_as_action)
        f.addSeparator()
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
        self.zoom_actions = (zin, zout, zfit)
        # Tabs from anywhere, the History table included (item views would otherwise keep Ctrl+Tab to
        # themselves): Ctrl+Tab / Ctrl+PgDown the next tab, Ctrl+Shift+Tab / Ctrl+PgUp the previous one.
        self.tab_shortcuts = []
        for keys, step in (("Ctrl+Tab", 1), ("Ctrl+PgDown", 1), ("Ctrl+Shift+Tab", -1), ("Ctrl+Backtab", -1),
                           ("Ctrl+PgUp", -1)):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda s=step: self.step_tab(s))
            self.tab_shortcuts.append(sc)

    def step_tab(self, step: int) -> None:
        """The next (1) or previous (-1) of the window's tabs, wrapping around."""
        self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % self.tabs.count())

    def _on_tab_changed(self, _index: int) -> None:
        on_job = self.tabs.currentIndex() == 0
        self.submit_action.setVisible(on_job)  # toolbar and menu: Submit is the Job tab's
        for a in self.zoom_actions:
            a.setEnabled(on_job)
        self._on_history_changed()
        self.refresh()

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
        self._update_title()
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
        geometry = app_settings().value("window/geometry")
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
            if not self.confirm_unsaved("quitting"):
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
        finishing = self._close_when_idle.isActive()  # asked already, before the sending stopped
        if not finishing and not self.confirm_unsaved("quitting"):
            event.ignore()
            return
        self._close_when_idle.stop()
        self._refresh_timer.stop()
        for worker in (self._status_worker, self._results_worker):
            if worker is not None:  # reading statuses or results: stop after the request on its way
                worker.cancel()
        drafts.clear_autosave()  # saved or deliberately discarded (asked above): nothing to restore next time
        app_settings().setValue("window/geometry", self.saveGeometry())
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
        self.hover.setText(" ")  # a pixel readout belongs to the image it was read from
        self.mask_panel.set_primary_size(self.primary.image_size)
        self._set_busy("primary", False)
        step, self._after_primary = self._after_primary, None
        if step is not None:
            step()

    def _on_mask_changed(self, state) -> None:
        self.mask_state = state
        if state is not None:
            self._extras.pop("remote_prelabel", None)  # a mask loaded here replaces one the job file named by URL
        self.view.set_overlay(state.overlay if state is not None else None)
        self._schedule_refresh()

    def _on_batch_chosen(self, batch_id) -> None:
        self.batch_id = batch_id
        self._schedule_refresh()

    def _on_batch_create_requested(self, name: str) -> None:
        worker = start_worker(lambda: self.backend.client.create_batch(name), owner=self)
        worker.returned.connect(lambda batch_id: self._on_batch_created(name, batch_id))
        worker.errored.connect(self._on_batch_create_errored)
        self._batch_worker = worker

    def _on_batch_create_errored(self, error) -> None:
        self.job.show_failure(f"The batch was not created: {error}")
        self._failure_key = self._failure_about()

    def _on_batch_created(self, name: str, batch_id: str) -> None:
        self.job.add_batch(name, batch_id)
        try:
            self.backend.remember_batch(name, batch_id)
        except PlaymentError as e:  # the profile file could not be written: the batch still works now
            self.statusBar().showMessage(str(e), 10000)

    def load_batches(self) -> None:
        """Ask Playment for the project's batches (``/details``) in a worker: at start, on another profile or
        connection, and on the picker's Refresh. The picker keeps what it lists until the answer comes."""
        missing = self.backend.missing_key()
        if missing is not None:
            self.job.show_batch_note("Batches not listed: " + missing.text("gui", with_path=False), "warning")
            return
        if self._batches_worker is not None:
            self._batches_worker.cancel()  # its answer is dropped: it may be about the previous connection
        self.job.refresh_batches.setEnabled(False)
        self.job.show_batch_note("Reading the project's batches…", "muted")
        backend = self.backend
        worker = start_worker(lambda: backend.project_details(), owner=self)
        worker.returned.connect(lambda details, w=worker: self._on_batches_returned(w, details))
        worker.errored.connect(lambda error, w=worker: self._on_batches_errored(w, error))
        self._batches_worker = worker

    def _on_batches_returned(self, worker, details) -> None:
        if worker is not self._batches_worker:
            return
        self._batches_worker = None
        self.job.refresh_batches.setEnabled(True)
        self.job.show_batch_list(details.batches, self.backend.profile.batches)
        self.job.show_batch_note("")
        self.batches_listed.emit(details)

    def _on_batches_errored(self, worker, error) -> None:
        if worker is not self._batches_worker:
            return
        self._batches_worker = None
        self.job.refresh_batches.setEnabled(True)
        self.job.show_batch_note(f"The project's batches could not be listed: {error}", "error")
        self.batches_listed.emit(error)

    def refresh_statuses(self) -> None:
        """History's "Refresh status": Playment's status of every journalled job not yet final, in a worker
        (``core.status.refresh_statuses``, the same as ``playment-submit status``), with progress and cancel."""
        if self._status_worker is not None:
            return
        missing = self.backend.missing_key()
        if missing is not None:
            self.history.show_status_failure("Statuses not read: " + missing.text("gui", with_path=False))
            return
        journal = self.backend.journal
        if journal is None:
            return
        self.history.set_status_busy(True)
        worker = start_worker(self._refresh_statuses_job, self.backend, journal, owner=self)
        worker.progressed.connect(lambda p: self.history.show_status_progress(*p))
        worker.returned.connect(lambda report, j=journal: self._on_statuses_returned(j, report))
        worker.errored.connect(lambda e: self.history.show_status_failure(f"Statuses not read: {e}"))
        worker.finished.connect(self._on_statuses_finished)
        self._status_worker = worker

    @staticmethod
    def _refresh_statuses_job(backend, journal, progress_callback, cancel_event):
        return live_status.refresh_statuses(journal, backend.client, cancel=cancel_event,
                                            progress=lambda d, t, w: progress_callback((d, t, w)))

    def _on_statuses_returned(self, journal, report) -> None:
        if journal is not self.history.journal:
            return  # another profile was chosen meanwhile: this report is about the journal left behind
        self.history.show_status_report(report)
        if self._status_worker is not None and self._status_worker.cancel_event.is_set():
            self.history.status_summary.setText("Stopped; " + self.history.status_summary.text())
        self.statusBar().showMessage(report.summary(), 10000)

    def _on_statuses_finished(self) -> None:
        self._status_worker = None
        self.history.set_status_busy(False)

    def _on_status_cancel_requested(self) -> None:
        if self._status_worker is not None:
            self._status_worker.cancel()
            self.history.status_progress.setFormat("Stopping after the current request…")

    def download_results(self, folder: str) -> None:
        """The Results tab's "Download results": statuses refreshed, completed jobs downloaded (only what is
        new), converted and reviewed (``core.results_download``, as ``playment-submit results``), in a worker."""
        if self._results_worker is not None:
            return
        missing = self.backend.missing_key()
        if missing is not None:
            self.results.show_failure("Results not downloaded: " + missing.text("gui", with_path=False))
            return
        journal = self.backend.journal
        if journal is None:
            return
        self.results.set_busy(True)
        worker = start_worker(self._download_results_job, self.backend, journal, folder, owner=self)
        worker.progressed.connect(lambda p: self.results.show_progress(*p))
        worker.returned.connect(lambda report, w=worker: self._on_results_returned(w, report))
        worker.errored.connect(lambda e: self.results.show_failure(f"Results not downloaded: {_sentence(e)}"))
        worker.finished.connect(self._on_results_finished)
        self._results_worker = worker

    @staticmethod
    def _download_results_job(backend, journal, folder, progress_callback, cancel_event):
        return download_results(journal, backend.client, folder, cancel=cancel_event,
                                progress=lambda d, t, w: progress_callback((d, t, w)))

    def _on_results_returned(self, worker, report) -> None:
        self.results.show_report(report, stopped=worker.cancel_event.is_set())
        self._on_history_changed()  # the statuses were refreshed on the way
        self.statusBar().showMessage(self.results.summary.text(), 10000)

    def _on_results_finished(self) -> None:
        self._results_worker = None
        self.results.set_busy(False)

    def _on_results_cancel_requested(self) -> None:
        if self._results_worker is not None:
            self._results_worker.cancel()
            self.results.stopping()

    def _on_profile_applied(self, profile) -> None:
        """Another profile: its own history and duplicate checks (journal) from now on."""
        self.backend.use_profile(profile)
        self.history.journal = self.backend.journal
        self.results.journal = self.backend.journal
        self.results.rescan()
        self.job.set_batches(profile.batches)
        self._on_history_changed()

    def _on_connection_applied(self, base_url, project_id, workflow_id, api_key) -> None:
        self.backend.apply_connection(base_url, project_id, workflow_id, api_key)
        self._update_badge()
        self._schedule_refresh()
        QTimer.singleShot(0, self.load_batches)  # another server, project or profile: its own batches

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
        elif self._extras.get("remote_prelabel") is not None:
            prelabel = self._extras["remote_prelabel"]
        spec = JobSpec(reference_id=self.job.reference_id.text().strip(), work_flow_id=self.backend.workflow_id,
                       image_url=self.primary.value(), references=refs, prelabel=prelabel, batch_id=self.batch_id,
                       priority_weight=self._extras.get("priority_weight"), metadata=self._extras.get("metadata"))
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
                           bool(self.backend.api_key), self.backend.profile.name,
                           str(journal.path) if journal is not None else None,
                           [entry.state, entry.job_id] if entry is not None else None], sort_keys=True, default=str)

    def _verdict_for(self, key: str):
        """Core's verdict on the job whose :meth:`_job_key` is ``key``; None while it is being checked."""
        return self._verdict if self._verdict is not None and self._verdict_key == key else None

    def blockers(self, spec: JobSpec, key: str | None = None) -> list[str]:
        """Why Submit is disabled: core's verdict on this very job (the same sentences `submit` and `bulk`
        print), or that it is still being checked. ``key``: the job's :meth:`_job_key`, when known."""
        reasons = [p.text("gui") for p in spec.validate(allow_local_paths=self._can_upload())
                   if p.severity == "error"]
        verdict = self._verdict_for(key if key is not None else self._job_key(spec))
        if verdict is not None:
            reasons += [p.text("gui") for p in verdict.errors if p.text("gui") not in reasons]
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
        key = self._job_key(spec)  # once: it stats every local file and reads the journal
        verdict = self._verdict_for(key)
        problems = spec.validate(allow_local_paths=self._can_upload())
        self.references.set_problems(problems + (verdict.problems if verdict is not None else []))
        self.job.show_payload(json.dumps(self.preview_payload(spec), indent=2, ensure_ascii=False))
        ref = spec.reference_id
        entry = self.backend.journal.get(ref) if (ref and self.backend.journal is not None) else None
        refused = verdict is not None and any(p.path == "reference_id" for p in verdict.errors)
        if entry is not None and entry.job_id and not refused:  # core's refusal below says it already
            self.job.reference_note.setText(f"Already submitted as job {entry.job_id} ({entry.state}); "
                                            f"submitting again will be refused as a duplicate.")
        else:
            self.job.reference_note.setText("")
        self.job.reference_note.setVisible(bool(self.job.reference_note.text()))
        if self._verdict_key != key and self._checking_key != key and self._submit_worker is None \
                and not (self._busy - {"submit", "check"}):
            self._check_current_job(spec, key)
        blockers = self.blockers(spec, key)
        # Right after a send, the reference ID being taken is the news that it worked, not an error.
        errors = list(verdict.errors) if verdict is not None else []
        just_sent = (self._sent_reference is not None and spec.reference_id == self._sent_reference
                     and self.job.result.isVisible() and bool(errors)
                     and all(p.path == "reference_id" for p in errors))
        self.job.set_blockers(blockers, just_sent=just_sent)
        self.submit_action.setEnabled(not blockers and self._submit_worker is None and self.tabs.currentIndex() == 0)
        self._forget_stale_failure()
        self._autosave(spec)

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
        self._sent_reference = created.reference_id
        self.load_batches()  # its batch now holds one job more: the picker's "done / total" follows
        # The job sent is kept in the journal (History reopens it): quitting now loses nothing, so no prompt
        # and no autosave to offer back at the next start.
        self._mark_saved()
        self.submit_succeeded.emit(created)

    def _on_submit_errored(self, error) -> None:
        self.job.show_failure(str(error))
        self._failure_key = self._failure_about()
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
        """Replace the form with the sample job (asks first when the current job is not saved). The mask is
        colour-coded once the sample photo is loaded, so it is checked against that photo's size."""
        if not self.confirm_unsaved("loading the sample"):
            return
        files = sample_job_files()
        self._reset_form()

        def then_mask() -> None:
            self.mask_panel.colour_code_files(str(files["index_mask"]), sample_classes())
            self._when_loaded(self._mark_saved)  # the sample is nobody's unsaved work until it is edited

        self._after_primary = then_mask
        self.primary.set_value(str(files["primary"]))
        for label, path in files["references"]:
            self.references.add(str(path), label)
        self.inputs.setCurrentWidget(self.mask_panel)
        self.tabs.setCurrentIndex(0)
        self.statusBar().showMessage("Sample job loaded: a photo, two reference cameras and a colour-coded mask.", 8000)
        self.sample_loaded.emit()

    # -------------------------------------------------------------- drafts
    def draft_spec(self) -> JobSpec:
        """The job as the form holds it (paths as typed, made absolute), for saving and "unsaved?"."""
        return self.current_spec()

    def is_modified(self) -> bool:
        """The form holds work that is neither saved to a job file nor the sample as loaded."""
        return drafts.draft_key(self.draft_spec()) != self._baseline

    def _mark_saved(self) -> None:
        self._baseline = drafts.draft_key(self.draft_spec())
        drafts.clear_autosave()
        self._autosaved = None
        self._update_title()

    def _update_title(self) -> None:
        name = self.draft_path.name if self.draft_path is not None else "new job"
        sandbox = " — Sandbox" if self.backend.sandbox_mode else ""
        self.setWindowTitle(f"{name}[*] — playment-submit{sandbox}")
        self.setWindowModified(self.is_modified())

    def _when_loaded(self, step) -> None:
        """Run ``step`` once nothing is loading any more (image, mask, file addresses)."""
        def poll() -> None:
            if self._busy - {"check", "submit"} or self._after_primary is not None:
                QTimer.singleShot(50, poll)
            else:
                step()
        QTimer.singleShot(0, poll)

    def ask_unsaved(self, doing: str) -> str:
        """Ask what to do with unsaved work before ``doing``: "save", "discard" or "cancel". (Tests replace
        this one method; every prompt goes through it.)"""
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved job",
                          f"The job in the form is not saved. Save it before {doing}?", parent=self)
        box.setInformativeText("Discarding loses the images, cameras and mask chosen for it.")
        box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                               | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(QMessageBox.StandardButton(answer), "cancel")

    def confirm_unsaved(self, doing: str) -> bool:
        """True when the form may be replaced (nothing unsaved, saved now, or discarded on purpose)."""
        if not self.is_modified():
            return True
        answer = self.ask_unsaved(doing)
        if answer == "save":
            return self.save_job()
        return answer == "discard"

    def _reset_form(self) -> None:
        """An empty form, messages of the old job included (nothing asked: callers confirm first)."""
        self._after_primary = None
        self._extras = {}
        self._suggested_ref = ""
        self.primary.set_value("")
        self.references.clear()
        self.mask_panel.clear()
        self.job.reference_id.setText("")
        self.job.batch.setCurrentIndex(0)
        self.job.clear_outcome()
        self.hover.setText(" ")
        self._failure_key = None

    def new_job(self) -> bool:
        if not self.confirm_unsaved("starting a new job"):
            return False
        self._reset_form()
        self.draft_path = None
        self._mark_saved()
        self.tabs.setCurrentIndex(0)
        self.inputs.setCurrentWidget(self.primary)
        self.statusBar().showMessage("New job.", 5000)
        self._schedule_refresh()
        return True

    def _on_open_triggered(self) -> None:
        path = open_file(self, "jobs", "Open a job file or an image", OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        """A job file (.json) replaces the form (after asking); an image becomes the primary image."""
        if not path.lower().endswith(".json"):
            self.tabs.setCurrentIndex(0)
            self.primary.set_value(path)
            return True
        if not self.confirm_unsaved("opening another job"):
            return False
        try:
            draft = drafts.read_draft(path)
        except PlaymentError as e:
            self._say_not_opened(e)
            return False
        self._show_spec(draft.spec)
        self.draft_path = draft.path
        self._when_loaded(self._mark_saved)
        self.statusBar().showMessage(f"Opened {Path(path).name}.", 8000)
        return True

    def open_job_data(self, data: dict, source: str) -> bool:
        """A job handed over as payload data (a Bulk row, a History entry): replaces the form after asking,
        stays unsaved (it is not a file of its own)."""
        if not self.confirm_unsaved("opening another job"):
            return False
        try:
            spec = drafts.draft_from_data(data, source=source, base_dir=Path.cwd())
        except PlaymentError as e:
            self._say_not_opened(e)
            return False
        self._show_spec(spec)
        self.draft_path = None
        self._baseline = drafts.draft_key(drafts.empty_spec())
        self.statusBar().showMessage(f"Opened a job from {source}; it is not saved as a file yet.", 8000)
        return True

    def _say_not_opened(self, error: PlaymentError) -> None:
        text = ("\n".join(p.text("gui") for p in error.problems) if isinstance(error, ValidationError)
                else str(error))
        QMessageBox.warning(self, "Job not opened", f"The job was not opened:\n{text}")

    def _show_spec(self, spec: JobSpec) -> None:
        """Fill the form from ``spec`` (local paths absolute). The mask is loaded after the primary image."""
        self._reset_form()
        self._extras = {"priority_weight": spec.priority_weight, "metadata": spec.metadata}
        prelabel = spec.prelabel
        if prelabel is not None and not (isinstance(prelabel.url, str) and is_local_path(prelabel.url)):
            self._extras["remote_prelabel"] = prelabel  # a URL: kept and sent as is, not previewed
            prelabel = None
        ref = str(spec.reference_id or "")
        self.job.reference_id.setText(ref)
        self._suggested_ref = ""
        self._select_batch(spec.batch_id)
        for r in spec.references:
            self.references.add(str(r.image_url or ""), str(r.label or ""))
        if prelabel is not None:
            self._after_primary = lambda p=prelabel: self._load_prelabel(p)
        image = str(spec.image_url or "")
        if image:
            self.primary.set_value(image)  # an empty reference ID gets one suggested from the image's name
        elif self._after_primary is not None:
            step, self._after_primary = self._after_primary, None
            step()
        self.tabs.setCurrentIndex(0)
        self.inputs.setCurrentWidget(self.primary)
        self._schedule_refresh()

    def _select_batch(self, batch_id) -> None:
        if not batch_id:
            self.job.batch.setCurrentIndex(0)
            return
        index = self.job.batch.findData(batch_id)
        if index < 0:
            self.job.add_batch("from the job file", str(batch_id))
        else:
            self.job.batch.setCurrentIndex(index)

    def _load_prelabel(self, prelabel: RasterPrelabel) -> None:
        """The job file's local mask and legend, checked by the mask panel as if chosen there."""
        legend = prelabel.legend if isinstance(prelabel.legend, dict) else {}
        folder = drafts.autosave_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            legend_file = folder / "opened-legend.json"
            legend_file.write_text(json.dumps(legend, indent=2, ensure_ascii=False), encoding="utf-8")
        except OSError as e:
            self.statusBar().showMessage(f"The job's legend could not be prepared: {e.strerror}.", 10000)
            return
        self.mask_panel.load_files(str(prelabel.url), str(legend_file))

    def save_job(self, ask: bool = False) -> bool:
        """Save the form as a job file (File > Save job; asks for a name the first time). True when saved."""
        path = self.draft_path
        if ask or path is None:
            suggested = (self.job.reference_id.text().strip() or "job") + ".json"
            chosen = save_file(self, "jobs", "Save the job as", suggested, JOB_FILTER)
            if not chosen:
                return False
            path = Path(chosen if chosen.lower().endswith(".json") else chosen + ".json")
        try:
            drafts.write_draft(self.draft_spec(), path)
        except PlaymentError as e:
            QMessageBox.warning(self, "Job not saved", str(e))
            return False
        self.draft_path = path
        self._mark_saved()
        self.statusBar().showMessage(f"Saved {path}.", 8000)
        return True

    def restore_autosave(self) -> bool:
        """Bring back the unsaved job a crash or a killed process left (start-up). True when one was."""
        found = drafts.read_autosave()
        if found is None:
            return False
        self._show_spec(found.spec)
        self.draft_path = found.path
        self._baseline = drafts.draft_key(drafts.empty_spec())  # still unsaved: Save or Discard decides
        self.statusBar().showMessage("Restored the job that was not saved when the app last closed.", 15000)
        return True

    def _autosave(self, spec: JobSpec) -> None:
        """Keep unsaved work where the next start finds it (only when it changed since the last write)."""
        if self._after_primary is not None or self._busy - {"check", "submit"} or self._close_when_idle.isActive():
            return  # half loaded (not the user's work yet), or closing after the user chose
        key = drafts.draft_key(spec)
        if key == self._baseline:
            if self._autosaved is not None:
                drafts.clear_autosave()
                self._autosaved = None
        elif key != self._autosaved:
            drafts.write_autosave(spec, self.draft_path)
            self._autosaved = key
        self._update_title()

    def _failure_about(self) -> str:
        return json.dumps([drafts.draft_key(self.current_spec()), self.backend.base_url, self.backend.project_id,
                           bool(self.backend.api_key)])

    def _forget_stale_failure(self) -> None:
        """A failure message stays only while the job and connection it was about are unchanged."""
        if self._failure_key is not None and self._failure_key != self._failure_about():
            self._failure_key = None
            self.job.clear_outcome(keep_success=True)
