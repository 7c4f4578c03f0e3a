"""The window's conversations with Playment beyond sending a job: the project's batches (the Job tab's
picker), History's "Refresh status" and the Results tab's download, each in a worker with progress and
cancel. What is asked and how the answers are read is core's (core.session, core.status, core.delivered);
this only starts the workers and hands their answers to the widgets."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from playment_submit.core import mask_files
from playment_submit.core import status as live_status
from playment_submit.core.delivered import MAX_LISTED_JOBS, download_results
from playment_submit.core.errors import PlaymentError
from playment_submit.gui.workers import Worker, start_worker

if TYPE_CHECKING:
    from playment_submit.gui.main_window import MainWindow


def sentence(error: BaseException) -> str:
    """A worker's error as one sentence: core errors carry theirs; a disk error names the file."""
    if isinstance(error, OSError) and not isinstance(error, PlaymentError):
        return f"{error.filename or 'a file'}: {error.strerror or type(error).__name__}."
    return str(error)


class RemoteWork(QObject):
    """Batches, statuses and results for ``window`` (its job panel, History and Results tabs)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.batch_worker: Worker | None = None
        self.batches_worker: Worker | None = None   # the /details request listing the project's batches
        self.status_worker: Worker | None = None    # History's "Refresh status"
        self.results_worker: Worker | None = None   # the Results tab's download

    def fetch_mask(self, url: str) -> None:
        """The Mask tab's "Fetch to preview": the job's URL mask through the attachments endpoint, in a worker."""
        panel = self.w.mask_panel
        panel.status.setText(f"Fetching {url}…")
        worker = start_worker(mask_files.fetch_preview, self.w.session.client, url, owner=self.w)
        worker.returned.connect(lambda path: panel.show_fetched(str(path)))
        worker.errored.connect(lambda e: panel.status.setText(f"The mask was not fetched: {sentence(e)}"))

    def cancel_all(self) -> None:
        """Closing: statuses and results stop after the request on its way."""
        for worker in (self.status_worker, self.results_worker):
            if worker is not None:
                worker.cancel()

    def create_batch(self, name: str) -> None:
        worker = start_worker(lambda: self.w.session.client.create_batch(name), owner=self.w)
        worker.returned.connect(lambda batch_id: self._on_batch_created(name, batch_id))
        worker.errored.connect(self._on_batch_create_errored)
        self.batch_worker = worker

    def _on_batch_create_errored(self, error) -> None:
        self.w.job.show_failure(f"The batch was not created: {error}")
        self.w.note_failure()

    def _on_batch_created(self, name: str, batch_id: str) -> None:
        self.w.job.add_batch(name, batch_id)
        try:
            self.w.session.remember_batch(name, batch_id)
        except PlaymentError as e:  # the profile file could not be written: the batch still works now
            self.w.statusBar().showMessage(str(e), 10000)

    def load_batches(self) -> None:
        """Ask Playment for the project's batches (``/details``) in a worker: at start, on another profile or
        connection, and on the picker's Refresh. The picker keeps what it lists until the answer comes."""
        missing = self.w.session.missing_key()
        if missing is not None:
            self.w.job.show_batch_note("Batches not listed: " + missing.text("gui", with_path=False), "warning")
            return
        if self.batches_worker is not None:
            self.batches_worker.cancel()  # its answer is dropped: it may be about the previous connection
        self.w.job.refresh_batches.setEnabled(False)
        self.w.job.show_batch_note("Reading the project's batches…", "muted")
        session = self.w.session
        worker = start_worker(lambda: session.project_details(), owner=self.w)
        worker.returned.connect(lambda details, w=worker: self._on_batches_returned(w, details))
        worker.errored.connect(lambda error, w=worker: self._on_batches_errored(w, error))
        self.batches_worker = worker

    def _on_batches_returned(self, worker, details) -> None:
        if worker is not self.batches_worker:
            return
        self.batches_worker = None
        self.w.job.refresh_batches.setEnabled(True)
        self.w.job.show_batch_list(details.batches, self.w.session.profile.batches)
        outside = self.w.draft.batch_outside([b.batch_id for b in details.batches], str(self.w.session.project_id))
        self.w.job.show_batch_note(outside or "", "warning" if outside else None)
        self.w.batches_listed.emit(details)

    def _on_batches_errored(self, worker, error) -> None:
        if worker is not self.batches_worker:
            return
        self.batches_worker = None
        self.w.job.refresh_batches.setEnabled(True)
        self.w.job.show_batch_note(f"The project's batches could not be listed: {error}", "error")
        self.w.batches_listed.emit(error)

    def _journal_task(self, failed: str, show_failure: Callable[[str], None], set_busy: Callable[[bool], None],
                      task: Callable[..., Any], *args: Any) -> Worker | None:
        """Start ``task(client, journal, *args, progress)`` over the profile's journal in a worker, its
        progress reported as (done, total, what); None (and ``failed`` + why said) when it cannot start."""
        missing = self.w.session.missing_key()
        if missing is not None:
            show_failure(failed + missing.text("gui", with_path=False))
            return None
        journal = self.w.session.journal
        if journal is None:
            return None
        set_busy(True)
        client = self.w.session.client

        def run(progress_callback: Callable[[Any], None], cancel_event: Any) -> Any:
            return task(journal, client, *args, cancel=cancel_event,
                        progress=lambda d, t, w: progress_callback((d, t, w)))

        worker = start_worker(run, owner=self.w)
        worker.errored.connect(lambda e: show_failure(f"{failed}{sentence(e)}"))
        return worker

    def refresh_statuses(self) -> None:
        """History's "Refresh status": Playment's status of every journalled job not yet final, in a worker
        (``core.status.refresh_statuses``, the same as ``playment-submit status``), with progress and cancel."""
        history = self.w.history
        if self.status_worker is not None:
            return
        worker = self._journal_task("Statuses not read: ", history.show_status_failure, history.set_status_busy,
                                    live_status.refresh_and_mark_seen)
        if worker is None:
            return
        journal = self.w.session.journal
        worker.progressed.connect(lambda p: history.show_status_progress(*p))
        worker.returned.connect(lambda report, j=journal: self._on_statuses_returned(j, report))
        worker.finished.connect(self._on_statuses_finished)
        self.status_worker = worker

    def _on_statuses_returned(self, journal, report) -> None:
        if journal is not self.w.history.journal:
            return  # another profile was chosen meanwhile: this report is about the journal left behind
        self.w.history.show_status_report(report)
        if self.status_worker is not None and self.status_worker.cancel_event.is_set():
            self.w.history.status_summary.setText("Stopped; " + self.w.history.status_summary.text())
        self.w.statusBar().showMessage(report.summary(), 10000)

    def _on_statuses_finished(self) -> None:
        self.status_worker = None
        self.w.history.set_status_busy(False)

    def cancel_statuses(self) -> None:
        if self.status_worker is not None:
            self.status_worker.cancel()
            self.w.history.status_progress.setFormat("Stopping after the current request…")

    def download_results(self, folder: str) -> None:
        """The Results tab's "Download results": statuses refreshed, completed jobs downloaded (only what is
        new), converted and reviewed (``core.delivered``, as ``playment-submit results``), in a worker."""
        results = self.w.results
        if self.results_worker is not None:
            return
        # at most the jobs a folder's scan lists are kept for the table; the counts cover every job
        task = partial(download_results, list_limit=MAX_LISTED_JOBS)
        worker = self._journal_task("Results not downloaded: ", results.show_failure, results.set_busy, task, folder)
        if worker is None:
            return
        worker.progressed.connect(lambda p: results.show_progress(*p))
        worker.returned.connect(lambda report, w=worker: self._on_results_returned(w, report))
        worker.finished.connect(self._on_results_finished)
        self.results_worker = worker

    def _on_results_returned(self, worker, report) -> None:
        self.w.results.show_report(report, stopped=worker.cancel_event.is_set())
        self.w._on_history_changed()  # the statuses were refreshed on the way
        self.w.statusBar().showMessage(self.w.results.summary.text(), 10000)

    def _on_results_finished(self) -> None:
        self.results_worker = None
        self.w.results.set_busy(False)

    def cancel_results(self) -> None:
        if self.results_worker is not None:
            self.results_worker.cancel()
            self.w.results.stopping()

