"""MainWindow: composes the panels and wires them to each other and to the session. No business rules:
the job being edited is core's :class:`~playment_submit.core.draft.JobDraft`; the window renders it and
hands it the user's edits, and everything about it (validity, payload, submission) is core's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core import draft as drafts
from playment_submit.core.job import JobSpec, ReferenceImage, is_local_path
from playment_submit.core.session import Session
from playment_submit.gui.addresses import FileAddresses
from playment_submit.gui.dialogs import app_settings, remember_recent
from playment_submit.gui.draft_files import DraftFiles
from playment_submit.gui.file_watch import FileWatch
from playment_submit.gui.job_check import CHECKING, JobCheck
from playment_submit.gui.remote_work import RemoteWork
from playment_submit.gui.widgets.bulk_panel import BulkPanel
from playment_submit.gui.widgets.connection_panel import ConnectionPanel
from playment_submit.gui.widgets.history_panel import HistoryPanel
from playment_submit.gui.widgets.job_panel import JobPanel
from playment_submit.gui.widgets.mask_panel import MaskPanel
from playment_submit.gui.widgets.mask_view import MaskView
from playment_submit.gui.widgets.primary_panel import PrimaryPanel
from playment_submit.gui.widgets.references_panel import ReferencesPanel
from playment_submit.gui.widgets.results_view import ResultsView
from playment_submit.gui.widgets.shapes_panel import ShapesPanel
from playment_submit.gui.window_actions import build_actions, build_status_bar, icon, restore_geometry, update_badge
from playment_submit.gui.window_wiring import connect_panels
from playment_submit.gui.workers import Worker, start_worker


class MainWindow(QMainWindow):
    submit_succeeded = Signal(object)   # CreatedJob
    submit_failed = Signal(object)      # the exception
    sample_loaded = Signal()
    batches_listed = Signal(object)     # core.client.ProjectDetails, or the error that stopped it
    # Made by gui.window_actions (build_actions, build_status_bar):
    new_action: QAction
    open_action: QAction
    open_image_action: QAction
    save_action: QAction
    save_as_action: QAction
    sample_action: QAction
    submit_action: QAction
    zoom_actions: tuple[QAction, ...]
    tab_shortcuts: list[QShortcut]
    recent_menu: QMenu
    key_warning: QLabel
    badge: QLabel

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("playment-submit" + (" — Sandbox" if session.sandbox_mode else ""))
        self.setWindowIcon(icon("app"))
        self.draft = drafts.JobDraft()          # the job being edited: core's; the form renders it
        self.suggested_ref = ""
        self._submit_worker: Worker | None = None
        self._sending = False  # a job is on its way (False from its outcome on, before its worker's end)
        self._busy: set[str] = set()
        self.filling = False                   # the form is being filled from the draft: no edits to hand back
        self.addresses = FileAddresses(self)
        self.after_primary: Callable[[], None] | None = None  # a step waiting for the primary image
        self.failure_key: str | None = None    # the job and connection a failure message is about
        self._sent_reference: str | None = None  # the reference ID of the job this window sent last
        self.remote = RemoteWork(self)
        self.checks = JobCheck(self)
        self.files = DraftFiles(self)
        # a file the form names deleted, replaced or emptied: re-checked within a second or two
        self.watch = FileWatch(self, lambda: self.draft.spec().local_paths(), self.schedule_refresh)

        self.primary = PrimaryPanel()
        self.references = ReferencesPanel()
        self.mask_panel = MaskPanel()
        self.mask_panel.session = session
        self.connection = ConnectionPanel(session)
        inputs = QTabWidget()
        inputs.addTab(self.primary, "&Image")
        inputs.addTab(self.references, "&Cameras")
        inputs.addTab(self.mask_panel, "&Mask")
        self.shapes = ShapesPanel()
        inputs.addTab(self.shapes, "S&hapes")
        connection_page = QScrollArea()  # at 700 px high the tab scrolls instead of squeezing its lines
        connection_page.setWidget(self.connection)
        connection_page.setWidgetResizable(True)
        connection_page.setFrameShape(QFrame.Shape.NoFrame)
        inputs.addTab(connection_page, "Co&nnection")
        inputs.setTabToolTip(0, "The primary image annotators will label")
        inputs.setTabToolTip(1, "Reference camera images shown beside it")
        inputs.setTabToolTip(2, "The pre-label segmentation mask and its legend")
        inputs.setTabToolTip(3, "Vector pre-labels: boxes, polygons, lines and landmarks")
        inputs.setTabToolTip(4, "Profile, project, workflow and API key")
        inputs.setUsesScrollButtons(False)  # every tab's name in sight: the panel is as wide as its five tabs
        self.inputs = inputs

        self.view = MaskView()
        self.hover = QLabel(" ")
        centre = QWidget()
        cl = QVBoxLayout(centre)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.view, 1)
        cl.addWidget(self.hover)
        self.job = JobPanel()
        for name, batch_id in session.profile.batches.items():
            self.job.add_batch(name, batch_id, select=False)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(inputs)
        split.addWidget(centre)
        split.addWidget(self.job)
        # On a resize the view takes most of the change and the side panes some, down to their minimum: at
        # 1024 px the view keeps a fair share instead of the panes keeping their width at its expense.
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 1)
        split.setSizes([360, 640, 330])  # scaled to the window: at 1024 px the panes sit near their minimum
        split.setChildrenCollapsible(False)  # no pane, least of all the view, can be dragged to nothing
        self.split = split
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.addTab(split, "&Job")  # Alt+J; the Job menu has no mnemonic of its own
        self.history = HistoryPanel(session.journal)
        self.bulk = BulkPanel(session)
        self.tabs.addTab(self.bulk, "&Bulk")
        self.bulk.submission_finished.connect(lambda _s: self._on_history_changed())
        self.tabs.addTab(self.history, "Hi&story")
        self.results = ResultsView(session.journal)
        self.references.start_folder = self.primary.folder
        for panel in (self.primary, self.references, self.results):  # the API's own files need its key
            panel.preview_client = session.preview_client
        self.tabs.addTab(self.results, "&Results")
        self.tabs.setTabToolTip(self.tabs.indexOf(self.results), "What Playment delivered, compared with the "
                                "pre-labels sent")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.setCentralWidget(self.tabs)
        build_actions(self)
        build_status_bar(self)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(120)
        self._refresh_timer.timeout.connect(self.refresh)
        self.close_when_idle = QTimer(self)  # polls after "close" was confirmed while jobs were on their way
        self.close_when_idle.setInterval(100)
        self.close_when_idle.timeout.connect(lambda: self.is_sending() or self.close())

        connect_panels(self)

        restore_geometry(self)
        self.refresh()
        QTimer.singleShot(0, self.load_batches)  # every batch of the project, not only those made here
        QTimer.singleShot(0, self.results.rescan)  # results already downloaded to the remembered folder

    # ------------------------------------------------------------- chrome
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

    def is_sending(self) -> bool:
        """A job (Job tab) or a bulk run (Bulk tab) is on its way to the server."""
        return self._sending or self.bulk.is_sending()

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
            if self.close_when_idle.isActive():
                return
            if not self.files.confirm_unsaved("quitting"):
                return
            answer = QMessageBox.question(
                self, "Jobs are being sent",
                "Jobs are being sent. Stop sending, let the requests already on their way finish and be "
                "recorded, and then close?\n\nNothing is lost: submitting again continues where it stopped.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return
            self.on_cancel_requested()
            self.bulk.cancel()
            self.statusBar().showMessage("Finishing the requests on their way, then closing…")
            self.close_when_idle.start()
            return
        finishing = self.close_when_idle.isActive()  # asked already, before the sending stopped
        if not finishing and not self.files.confirm_unsaved("quitting"):
            event.ignore()
            return
        self.close_when_idle.stop()
        self._refresh_timer.stop()
        self.watch.stop()
        self.remote.cancel_all()  # reading statuses or results: stop after the request on its way
        drafts.clear_autosave()  # saved or deliberately discarded (asked above): nothing to restore next time
        app_settings().setValue("window/geometry", self.saveGeometry())
        super().closeEvent(event)

    # ------------------------------------------------------------ handlers
    def schedule_refresh(self) -> None:
        if self.isVisible():
            self._refresh_timer.start()

    def busy_with(self) -> set[str]:
        """What is being loaded, checked or sent now."""
        return set(self._busy)

    def set_busy(self, what: str, busy: bool) -> None:
        (self._busy.add if busy else self._busy.discard)(what)
        self.schedule_refresh()

    def on_primary_changed(self, value: str) -> None:
        if value and is_local_path(value) and Path(value).is_file():
            remember_recent(str(Path(value).resolve()))
        stem = value.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0] if value else ""
        current = self.job.reference_id.text().strip()
        own = self.draft.payload.get("reference_id")  # a job's own ID the form cannot show (a number) stays
        if stem and (not current or current == self.suggested_ref) and (isinstance(own, str) or own is None):
            self.suggested_ref = self._unused_reference(stem)
            self.job.reference_id.setText(self.suggested_ref)
            self.draft.set_reference_id(self.suggested_ref)  # a suggestion is part of the job, even while filling
        self.on_form_edited()
        self.set_busy("primary", bool(value))

    def _unused_reference(self, stem: str) -> str:
        journal = self.session.journal
        candidate, n = stem, 1
        while journal is not None and journal.get(candidate) is not None:
            n += 1
            candidate = f"{stem}-{n}"
        return candidate

    def on_image_loaded(self, image) -> None:
        self.view.set_image(image)
        self.hover.setText(" ")  # a pixel readout belongs to the image it was read from
        self.mask_panel.set_primary_size(self.primary.image_size)
        self.shapes.set_image(self.primary.value() or None, self.primary.image_size)
        self.set_busy("primary", False)
        step, self.after_primary = self.after_primary, None
        if step is not None:
            step()

    def on_mask_changed(self, state) -> None:
        """The Mask tab's mask (or none) is the draft's pre-label; other pre-label kinds stay."""
        if not self.filling:
            if state is None:
                self.draft.remove_prelabel()
            else:
                self.draft.set_prelabel(state.sent_as, state.legend)
        self.view.set_overlay(state.overlay if state is not None else None)
        self.schedule_refresh()

    def on_form_edited(self) -> None:
        self._hand_form_to_draft()
        self.schedule_refresh()

    def _hand_form_to_draft(self) -> None:
        """The form's fields are edits of the draft (the window keeps no job of its own)."""
        if self.filling:
            return
        # Only what differs from what the form shows of the draft is an edit: a field the form cannot show
        # (a number as reference ID, "data" that is not an object) stays as loaded, with its blocker.
        shown = self.draft.spec(self.session.workflow_id)
        ref = self.job.reference_id.text().strip()
        if ref != (shown.reference_id if isinstance(shown.reference_id, str) else ""):
            self.draft.set_reference_id(ref)
        image = self.primary.value()
        if image != str(shown.image_url or ""):
            self.draft.set_image(image)
        refs = [ReferenceImage(url, label) for label, url in self.references.references()]
        if refs != [ReferenceImage(str(r.image_url or ""), str(r.label or "")) for r in shown.references]:
            self.draft.set_references(refs)
        batch = self.job.batch.currentData()
        if batch != shown.batch_id:
            self.draft.set_batch(batch)

    def on_profile_workflow_requested(self) -> None:
        self.draft.use_profile_workflow()
        self.refresh()

    @property
    def mask_state(self):
        """The Mask tab's mask (core's check of it and its overlay), or None."""
        return self.mask_panel.state

    def on_profile_applied(self, profile) -> None:
        """Another profile: its own history and duplicate checks (journal) from now on."""
        self.session.use_profile(profile)
        self.history.journal = self.session.journal
        self.results.journal = self.session.journal
        self.results.rescan()
        self.job.set_batches(profile.batches)
        self._on_history_changed()

    def on_connection_applied(self, base_url, project_id, workflow_id, api_key) -> None:
        self.session.apply_connection(base_url, project_id, workflow_id, api_key)
        update_badge(self)
        self.schedule_refresh()
        QTimer.singleShot(0, self.load_batches)  # another server, project or profile: its own batches

    def on_storage_applied(self, settings: dict) -> None:
        refused = self.session.choose_storage(settings)  # unusable: no storage, and every submit says why
        if refused:
            self.connection.result.setText(refused)
        self.connection.show_notices(self.session.start_notices())  # the warning says what is true now
        update_badge(self)
        self.schedule_refresh()

    def on_cancel_requested(self) -> None:
        if self._submit_worker is not None:
            self._submit_worker.cancel()
            self.job.show_progress("send", 0, 0, "Cancelling after the current step…")

    def load_batches(self) -> None:
        self.remote.load_batches()

    # ---------------------------------------------------------------- job
    def current_spec(self) -> JobSpec:
        """The draft as the pipeline reads it (the profile's workflow filling a job without one), local paths
        typed into the form resolved as every front end resolves them."""
        self._hand_form_to_draft()
        try:
            base = Path.cwd()  # a path typed by hand is relative to where the app was started
        except OSError:  # that folder was removed since
            base = Path.home()
        return self.session.resolve(self.draft.spec(self.session.workflow_id), base)

    def blockers(self, spec: JobSpec, key: str | None = None) -> list[str]:
        """Why Submit is disabled (core's sentences, or that the job is still being checked or loaded)."""
        return self.checks.blockers(spec, key)

    def _destination(self, path: str) -> str | None:
        """Where storage will put a local file, once its content hash is known (computed in a worker)."""
        storage = self.session.storage
        if storage is None or not self.session.can_upload or not self.addresses.is_ready(path):
            return None
        try:
            return storage.destination(path)
        except Exception:  # a missing file is reported by validation/upload; the preview keeps the path
            return None

    def refresh(self) -> None:
        spec = self.current_spec()
        key = drafts.check_key(spec, self.session)  # once: it stats every local file and reads the journal
        verdict = self.checks.verdict_for(key)
        problems = spec.validate(allow_local_paths=self.session.can_upload)
        self.references.set_problems(problems + (verdict.problems if verdict is not None else []))
        self.job.show_payload(drafts.payload_text(drafts.payload_as_sent(spec, self._destination)))
        self.job.show_workflow(self.draft.workflow(), self.draft.origin)
        ref = spec.reference_id
        journal = self.session.journal
        entry = journal.get(ref) if (isinstance(ref, str) and ref and journal is not None) else None
        refused = verdict is not None and any(p.path == "reference_id" for p in verdict.errors)
        notes = [p.text("gui", with_path=False) for p in self.draft.notices]  # e.g. files outside the job's folder
        if entry is not None and entry.job_id and not refused:  # core's refusal below says it already
            notes.insert(0, f"Already submitted as job {entry.job_id} ({entry.state}); submitting again will be "
                            f"refused as a duplicate.")
        self.job.reference_note.setText("\n".join(notes))
        self.job.reference_note.setVisible(bool(self.job.reference_note.text()))
        if self.checks.needs_check(key) and self._submit_worker is None and not self.loading():
            self.checks.start(spec, key)
        blockers = self.blockers(spec, key)
        # Right after a send, the reference ID being taken is the news that it worked, not an error.
        errors = list(verdict.errors) if verdict is not None else []
        just_sent = (self._sent_reference is not None and spec.reference_id == self._sent_reference
                     and self.job.result.isVisible() and bool(errors)
                     and all(p.path == "reference_id" for p in errors))
        self.job.set_blockers(blockers, just_sent=just_sent)
        self.submit_action.setEnabled(not blockers and self._submit_worker is None and self.tabs.currentIndex() == 0)
        self._forget_stale_failure()
        self.files.autosave()
        self.watch.poll()  # the files' stats as checked now: a later change is noticed against them

    def submit(self) -> None:
        spec = self.current_spec()
        # A check still running is no reason to wait: the submission checks the job itself, first.
        if [r for r in self.blockers(spec) if r != CHECKING] or self._submit_worker is not None:
            return
        self.set_busy("submit", True)
        self.job.set_busy(True)
        self.statusBar().showMessage(f"Submitting \"{spec.reference_id}\"…")
        session = self.session
        worker = start_worker(lambda progress_callback, cancel_event: session.submit(
            spec, progress=progress_callback, cancel=cancel_event), owner=self)
        worker.progressed.connect(lambda p: self.job.show_progress(p["phase"], p["done"], p["total"], p["message"]))
        worker.returned.connect(self._on_submit_returned)
        worker.errored.connect(self._on_submit_errored)
        worker.finished.connect(self._on_submit_finished)
        self._submit_worker = worker
        self._sending = True

    def _on_submit_returned(self, created) -> None:
        self._sending = False  # the outcome is known: nothing is being sent (its "finished" comes after)
        self.job.show_success(created.job_id, created.status, created.reference_id)
        self.statusBar().showMessage(f"Job {created.job_id} {created.status}.", 10000)
        self._sent_reference = created.reference_id
        self.note_failure()  # the outcome shown is about this job and connection: it goes when they change
        self.load_batches()  # its batch now holds one job more: the picker's "done / total" follows
        # The job sent is kept in the journal (History reopens it): quitting now loses nothing, so no prompt
        # and no autosave to offer back at the next start.
        self.files.mark_saved()
        self.submit_succeeded.emit(created)

    def _on_submit_errored(self, error) -> None:
        self._sending = False  # as above: quitting now asks nothing
        self.job.show_failure(str(error))
        self.note_failure()
        self.statusBar().showMessage("Not submitted; see the message in the Job panel.", 10000)
        self.submit_failed.emit(error)

    def _on_submit_finished(self) -> None:
        self._submit_worker = None
        self._sending = False
        self.job.set_busy(False)
        self.set_busy("submit", False)
        self._on_history_changed()
        self.refresh()

    def _on_history_changed(self) -> None:
        """Rebuild the history table only while it is on screen (it grows with every submission)."""
        if self.tabs.currentWidget() is self.history:
            self.history.refresh()
        else:
            self.history.stale = True

    def note_failure(self) -> None:
        """The failure message shown is about the job and connection as they are now."""
        self.failure_key = self._failure_about()

    def _failure_about(self) -> str:
        return "\n".join([self.draft.key(), self.session.profile.name, self.session.base_url,
                          str(self.session.project_id), str(bool(self.session.api_key))])

    def _forget_stale_failure(self) -> None:
        """The last outcome ("Job created: ..." or the failure) stays only while the job and connection it was
        about are unchanged: another job edited, another profile or server, and it goes."""
        if self.failure_key is not None and self.failure_key != self._failure_about():
            self.failure_key = None
            self.job.clear_outcome()

    # -------------------------------------------------------------- drafts
    def loading(self) -> bool:
        """An image, mask or file address is still being loaded."""
        return bool(self._busy - {"check", "submit"})

    def ask_copy_mask(self, name: str, folder: Path) -> str:
        """Ask whether to copy a mask the app keeps in its own folder beside the job file: "copy" or "keep".
        (Tests replace this one method.)"""
        answer = QMessageBox.question(
            self, "Copy the mask beside the job file?",
            f"The mask {name} is kept in this app's own folder. Copy it into {folder}, so the job file can be "
            f"shared or moved with it?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes)
        return "copy" if answer == QMessageBox.StandardButton.Yes else "keep"

    def load_sample(self) -> None:
        """Replace the form with the sample job (asks first when the current job is not saved)."""
        self.files.load_sample()

    def is_modified(self) -> bool:
        """The draft holds work that is neither saved to a job file nor the sample as loaded."""
        self._hand_form_to_draft()
        return self.draft.is_modified()

    def ask_unsaved(self, doing: str) -> str:
        """Ask what to do with unsaved work before ``doing``: "save", "discard" or "cancel". (Tests replace
        this one method; every prompt goes through it.)"""
        return self.files.ask_unsaved(doing)

