"""The Bulk tab: open a manifest or a folder, see every row's check status, send the valid rows.

The run is core's :class:`~playment_submit.core.bulk_stream.StreamedRun`, the same run as ``playment-submit bulk``
(check against the journal and the profile's history, the connection test and its notes, the exactly-once
send, the dry run's and the summary's sentences); this tab is its Qt side. Loading, checking and sending run
in workers (``gui.workers.start_worker``), which report through ``progress_callback`` and never touch widgets.
The rows live in the run's row store (SQLite, on disk): the table (gui/widgets/bulk_table.py) reads the pages on
screen from it, so a million rows cost the window only what it shows. The window sends the valid rows (the
command line's --valid-only).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core.bulk import BulkSummary, RowResult
from playment_submit.core.bulk_rows import FILTERS, row_details
from playment_submit.core.bulk_run import BulkOptions, BulkRun, left_words, progress_text
from playment_submit.core.bulk_stream import StreamedRun
from playment_submit.core.errors import InterruptedByUser
from playment_submit.core.manifest import SKIP_FAILED, Manifest, ManifestRow
from playment_submit.core.pacing import share_with_gui
from playment_submit.core.session import Session
from playment_submit.gui.widgets.bulk_table import FILTER_LABELS, BulkFilterModel, BulkRowsModel, rows_table, sort_box
from playment_submit.gui.widgets.bulk_work import (
    RowFeed,
    check_in_worker,
    dry_run_in_worker,
    retry_in_worker,
    send_in_worker,
    write_run_results,
)
from playment_submit.gui.workers import Worker, start_worker


# -------------------------------------------------------------------------------------------- panel
class BulkPanel(QWidget):
    """The "Bulk" tab (``BulkPanel(session, parent=None)``).

    Signals: ``manifest_checked(Manifest)`` after a manifest is loaded and checked;
    ``submission_finished(BulkSummary)`` after a send ends (completed or cancelled);
    ``openRowRequested(dict)`` with the selected row as a job draft (the documented payload JSON, local
    paths kept; core's ``ManifestRow.payload``, the job the pipeline checks and sends for that row) when
    the user asks to fix that row in the Job tab."""

    manifest_checked = Signal(object)
    submission_finished = Signal(object)
    openRowRequested = Signal(dict)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        share_with_gui()  # core's long loops (reading, checking rows) leave this thread its turns
        self.setObjectName("bulkPanel")
        self.session = session
        self.run: StreamedRun | None = None
        self.manifest: Manifest | None = None
        self.summary: BulkSummary | None = None
        self._worker: Worker | None = None
        self._busy: str | None = None
        self.notes: list[str] = []   # what core's pre-flight said before the send (default batch, earlier runs)
        self._path: str | None = None
        self._refiltered = 0.0

        self.open_button = QPushButton("Open manifest…")
        self.folder_button = QPushButton("Open folder…")
        self.recheck_button = QPushButton("Re-check")
        self.recheck_button.setToolTip("Read and check the manifest again, e.g. after fixing a file")
        self.dry_run_button = QPushButton("Dry run")
        self.dry_run_button.setToolTip("Show what Submit would send; nothing is uploaded or created")
        self.submit_button = QPushButton("Submit valid rows")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Start no new rows; the ones being sent finish")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop: rows not sent yet stay ready for the next Submit")
        self.retry_button = QPushButton("Retry failed")
        self.retry_button.setToolTip("Send the rows that failed before again (each is first looked up, so none "
                                     "is created twice)")
        self.export_button = QPushButton("Export results…")
        self.open_row_button = QPushButton("Open in Job tab")
        self.open_row_button.setToolTip("Open the selected row as a job, to fix it there; then Re-check")
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 64)
        self.concurrency.setValue(8)
        self.concurrency.setPrefix("workers: ")
        self.filter_box = QComboBox()
        for name in FILTERS:
            self.filter_box.addItem(FILTER_LABELS[name], name)
        self.filter_box.setToolTip("Show all rows, only rows with problems, or only rows already sent")
        for name in ("open_button", "folder_button", "recheck_button", "dry_run_button", "submit_button",
                     "pause_button", "cancel_button", "retry_button", "export_button", "open_row_button",
                     "concurrency", "filter_box"):
            getattr(self, name).setObjectName(name)
        # Two rows, so that every button keeps its whole label at 1024 pixels wide (and at 2x scale).
        top = QHBoxLayout()
        for w in (self.open_button, self.folder_button, self.recheck_button, self.dry_run_button):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.filter_box)
        second = QHBoxLayout()
        for control in (self.concurrency, self.submit_button, self.pause_button, self.cancel_button,
                        self.retry_button):
            second.addWidget(control)
        second.addStretch(1)
        second.addWidget(self.export_button)

        self.model = BulkRowsModel(self)
        self.proxy = BulkFilterModel(self.model, self)
        self.table = rows_table(self.proxy)
        self.sort_box = sort_box(self.table)  # the header's sort, for the keyboard
        top.addWidget(QLabel("Sort:"))
        top.addWidget(self.sort_box)
        self.table.selectionModel().currentRowChanged.connect(self._show_row)
        self.table.doubleClicked.connect(lambda _index: self.open_selected_row())

        self.preview = QPlainTextEdit()
        self.preview.setObjectName("bulkPreview")
        self.preview.setReadOnly(True)
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))  # JSON lines up
        self.preview.setPlaceholderText("Select a row to see the job it will create and its problems.")
        side = QWidget()
        side_lay = QVBoxLayout(side)
        side_lay.setContentsMargins(0, 0, 0, 0)
        side_lay.addWidget(self.preview, 1)
        side_lay.addWidget(self.open_row_button, 0, Qt.AlignmentFlag.AlignRight)
        # The table above the preview: it gets the whole width, so the Message column stays on screen.
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(side)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        self.progress = QProgressBar()
        self.progress.setObjectName("bulkProgress")
        self.progress.setFormat("%v / %m")
        self.counts = QLabel("Open a CSV or JSONL manifest, or a folder of images.")
        self.counts.setObjectName("bulkCounts")
        self.counts.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(split, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.counts)

        self._feed = RowFeed()  # the send's rows, drained by the flush timer
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(150)
        self._flush_timer.timeout.connect(self._flush)

        self.open_button.clicked.connect(self._choose_file)
        self.folder_button.clicked.connect(self._choose_folder)
        self.submit_button.clicked.connect(self.submit)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self._choose_export)
        self.recheck_button.clicked.connect(self.recheck)
        self.dry_run_button.clicked.connect(self.dry_run)
        self.retry_button.clicked.connect(self.retry_failed)
        self.open_row_button.clicked.connect(self.open_selected_row)
        self.filter_box.currentIndexChanged.connect(lambda _i: self.proxy.set_filter(self.filter_box.currentData()))
        self._set_busy(None)

    # ------------------------------------------------------------------ state
    def _set_busy(self, what: str | None) -> None:
        self._busy = what
        idle = what is None
        self.open_button.setEnabled(idle)
        self.folder_button.setEnabled(idle)
        self.concurrency.setEnabled(idle)
        # core's tally, counted in the workers: no row is walked here
        ready = bool(self.manifest is not None and self.run is not None and self.run.sendable_count()
                     and self.run.blocked() is None)
        self.submit_button.setEnabled(idle and ready)
        self.dry_run_button.setEnabled(idle and self.manifest is not None)
        self.recheck_button.setEnabled(idle and self._path is not None)
        self.retry_button.setEnabled(idle and self.manifest is not None and self.run is not None
                                     and self.run.tally.get(SKIP_FAILED, 0) > 0)
        self.pause_button.setEnabled(what == "send")
        self.cancel_button.setEnabled(what is not None)
        self.export_button.setEnabled(idle and self.manifest is not None)
        self._update_open_row()
        if what != "send":
            self.pause_button.setText("Pause")

    # ------------------------------------------------------------------ open and check
    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a bulk manifest", "",
                                              "Manifests (*.csv *.jsonl *.ndjson);;All files (*)")
        if path:
            self.open_path(path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if path:
            self.open_path(path)

    def recheck(self):
        """Read and check the manifest (or folder) last opened again: after a file was fixed, e.g. in the
        Job tab. Returns the worker, or None when nothing was opened or the panel is busy."""
        if self._path is None or self._busy is not None:
            return None
        return self.open_path(self._path)

    def open_path(self, path: str):
        """Load and check a manifest (or folder) in the background; returns the worker."""
        self._path = str(path)
        self.manifest, self.summary = None, None
        self.model.set_view(None)
        self.preview.clear()
        self.counts.setText(f"Checking {path}…")
        self.progress.setRange(0, 0)
        self._set_busy("check")
        if self.run is not None:
            self.run.close()
        # the window sends the valid rows (the command line's --valid-only), to the profile's journal
        self.run = StreamedRun(self.session, path, BulkOptions(concurrency=self.concurrency.value(), valid_only=True),
                               by_ref=True)
        w = start_worker(check_in_worker, self.run, owner=self)
        w.progressed.connect(self._on_check_progress)
        w.returned.connect(self._on_checked)
        w.errored.connect(self._on_error)

        def finished() -> None:
            if self._worker is w and self._busy == "check":
                self._set_busy(None)

        w.finished.connect(finished)
        self._worker = w
        return w

    def _on_check_progress(self, info: dict) -> None:
        if info.get("phase") == "rows":
            done, total, eta = info["done"], info["total"], info.get("eta")
            self.progress.setRange(0, total)  # 0: a busy bar, the total cannot be told
            self.progress.setValue(done)
            left = left_words(eta) if eta is not None and eta >= 1 else ""
            of = "" if not total else f" of {'about ' if eta else ''}{total:,}"
            self.counts.setText(f"Checking: {done:,}{of} rows{left}…")

    def _on_checked(self, checked: tuple[Manifest, str, int]) -> None:
        manifest, summary, sendable = checked  # made in the worker: nothing here walks the rows
        self.manifest = manifest  # the file-level part: the rows are in the run's row store
        self.model.set_view(self.run.view if self.run is not None else None)
        self.progress.setRange(0, max(1, sendable))
        self.progress.setValue(0)
        self.counts.setText(summary)
        self._set_busy(None)  # ready before listeners hear about it
        self.manifest_checked.emit(manifest)

    def _on_error(self, exc: BaseException) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.counts.setText(str(exc) if isinstance(exc, InterruptedByUser) else f"Error: {exc}")

    # ------------------------------------------------------------------ rows
    def set_filter(self, name: str) -> Worker | None:
        """Show the rows of one of core.bulk_rows.FILTERS ("all", "problems" or "sent"); returns the worker
        finding them (None for "all", shown at once)."""
        i = self.filter_box.findData(name)
        if i >= 0 and i != self.filter_box.currentIndex():
            self.filter_box.blockSignals(True)  # the box's own signal would ask the proxy a second time
            self.filter_box.setCurrentIndex(i)
            self.filter_box.blockSignals(False)
        return self.proxy.set_filter(name)

    def _flush(self) -> None:
        self.model.take_events(self._feed.drain())  # the send's rows since the last tick
        self.model.flush()
        submitter = self.submitter
        if self._busy == "send" and submitter is not None and self.run is not None:
            # the line follows core's counts even when no progress event comes (paused with the feeder
            # blocked, the last row in flight finishing within the progress interval)
            self.counts.setText(progress_text(submitter.snapshot(), self.run.in_flight()))
        # Re-filtering walks every row (in a worker): while sending, a filtered view catches up every few
        # seconds, and once more when the send ends.
        now = time.monotonic()
        if now - self._refiltered >= 3.0 and not self.proxy.finding():  # a walk of a million rows takes longer
            self._refiltered = now
            self.proxy.refilter()

    def _source_row(self, index: QModelIndex) -> int | None:
        if not index.isValid():
            return None
        i = self.proxy.mapToSource(index).row()
        return i if 0 <= i < self.model.rowCount() else None

    def row_at(self, i: int) -> tuple[ManifestRow, dict | None, RowResult | None] | None:
        """Row ``i`` (in row order), its job draft and its result once sent: one row read from the row store
        (core.bulk_view.RowView.row_at)."""
        view = self.model.view
        return None if view is None else view.row_at(i)

    def _selected(self, index: QModelIndex | None = None) -> tuple[ManifestRow, dict | None, Any] | None:
        i = self._source_row(self.table.currentIndex() if index is None else index)
        return None if i is None else self.row_at(i)

    def selected_row(self) -> ManifestRow | None:
        found = self._selected()
        return None if found is None else found[0]

    def _update_open_row(self) -> None:
        found = self._selected()
        self.open_row_button.setEnabled(found is not None and found[1] is not None)

    def open_selected_row(self) -> dict | None:
        """Ask (``openRowRequested``) to open the selected row in the Job tab as a job draft; returns the draft."""
        found = self._selected()
        if found is None or found[1] is None:
            return None
        self.openRowRequested.emit(found[1])
        return found[1]

    def _show_row(self, current: QModelIndex, _previous=None) -> None:
        found = self._selected(current)
        self.open_row_button.setEnabled(found is not None and found[1] is not None)
        if found is None:
            self.preview.clear()
            return
        row, draft, result = found
        self.preview.setPlainText(row_details(row, result, payload=draft))

    # ------------------------------------------------------------------ send
    def submit(self):
        """Send the valid rows (journalled, exactly once); returns the worker, or None when nothing to do."""
        todo = self.run.sendable_count() if self.manifest is not None and self.run is not None else 0
        if not todo or self.run is None or self._busy is not None:
            return None
        missing = self.session.missing_key()
        if missing is not None:
            self.counts.setText("Nothing was sent: " + missing.text("gui", with_path=False))
            return None
        self.run.options.concurrency = self.concurrency.value()
        self.run.prepare_send(progress_interval=0.1)
        self.notes = []
        self.progress.setRange(0, todo)
        self.progress.setValue(0)
        self._set_busy("send")
        self._flush_timer.start()
        self._feed = RowFeed()
        w = start_worker(send_in_worker, self.run, self._feed, owner=self)
        w.progressed.connect(self._on_send_progress)
        w.returned.connect(self._on_sent)
        w.errored.connect(self._on_error)
        w.finished.connect(self._on_send_finished)
        self._worker = w
        return w

    def _on_send_progress(self, info: dict) -> None:
        phase = info.get("phase")
        if phase == "notes":
            self.notes = list(info["notes"])
        elif phase == "send" and self.run is not None:
            p = info["progress"]
            self.progress.setValue(p.done + p.failed)
            self.counts.setText(progress_text(p, self.run.in_flight()))

    def _show_rows_again(self) -> None:
        """The rows changed in the store (a send, a dry run, a retry): the pages on screen and the filter's rows
        are read again (the filter's in a worker)."""
        self._feed.drain()  # superseded: the store has every row
        self.model.send_ended()
        self.proxy.refilter()
        self._show_row(self.table.currentIndex())

    def _idle_after(self, what: str) -> None:
        """A worker doing ``what`` ended (an error, a cancel): the panel is idle again unless it went on."""
        if self._busy == what:
            self._set_busy(None)

    def _on_sent(self, summary: BulkSummary) -> None:
        # the rows' results and next actions (core's rule) are in the store, as the journal now says
        self.summary = summary
        self._show_rows_again()
        c = summary.counts()
        text = " ".join([*self.notes, BulkRun.summary_text(summary)])
        if summary.cancelled:
            text += " Stopped: Submit again to send the rows not sent yet."
        if c.get("failed"):
            text += " Retry failed sends the failed rows again."
        self.counts.setText(text)
        self._flush_timer.stop()
        self._set_busy(None)  # ready before listeners hear about it
        self.submission_finished.emit(summary)

    def _on_send_finished(self) -> None:
        if self._busy == "send":  # errored: _on_sent did not run (it shows the rows again itself)
            self._flush_timer.stop()
            self.model.send_ended()  # every result is in the store
            self._set_busy(None)

    def _in_worker(self, what: str, fn, on_returned, on_error=None) -> Worker:
        """Run ``fn(run)`` in a worker with the panel busy doing ``what``; ``on_returned`` gets its answer,
        ``on_error`` (else the counts line) its exception."""
        self._set_busy(what)
        w = start_worker(fn, self.run, owner=self)
        w.returned.connect(on_returned)
        w.errored.connect(on_error or self._on_error)
        w.finished.connect(lambda: self._idle_after(what))
        self._worker = w
        return w

    def retry_failed(self):
        """Make the rows that failed before sendable again (core's rule, as ``--retry-failed``, in a worker)
        and send; returns the worker, or None when nothing failed."""
        if self.manifest is None or self.run is None or self._busy is not None or not self.run.tally.get(SKIP_FAILED):
            return None
        manifest = self.manifest

        def marked(_count: int) -> None:
            if self.manifest is manifest:
                self._show_rows_again()
            self._set_busy(None)
            self.submit()

        return self._in_worker("retry", retry_in_worker, marked)

    def dry_run(self) -> Worker | None:
        """Show what Submit would send (core.bulk_rows.dry_run), made in a worker: nothing is uploaded or
        created. Returns the worker (its ``returned`` carries the sentence), or None when busy."""
        if self.run is None or self.manifest is None or self._busy is not None:
            return None

        def shown(text: str) -> None:
            self._show_rows_again()
            self.counts.setText(text)
            self.progress.setValue(0)  # nothing was sent: not the count of an earlier send
            self._set_busy(None)

        return self._in_worker("dry_run", dry_run_in_worker, shown)

    @property
    def submitter(self):
        """The send's engine (core.bulk.BulkSubmitter) while there is one."""
        return self.run.submitter if self.run is not None else None

    def toggle_pause(self) -> None:
        submitter = self.submitter
        if submitter is None or self._busy != "send":
            return
        if submitter.paused:
            submitter.resume()
            self.pause_button.setText("Pause")
        else:
            submitter.pause()
            self.pause_button.setText("Resume")

    def is_sending(self) -> bool:
        return self._busy == "send"

    def is_idle(self) -> bool:  # no manifest being loaded or checked, no rows being sent
        return self._busy is None

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        submitter = self.submitter
        if submitter is not None and self._busy == "send":
            submitter.cancel()

    # ------------------------------------------------------------------ export
    def _choose_export(self) -> Worker | None:
        """Ask where, then write the results CSV in a worker (it reads every row); say where it went or why not."""
        path, _ = QFileDialog.getSaveFileName(self, "Export results", "bulk-results.csv", "CSV (*.csv)")
        if not path or self.run is None or self._busy is not None:
            return None

        def failed(exc: BaseException) -> None:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            QMessageBox.warning(self, "Export failed", f"The results cannot be written to {path}: {why}.")

        return self._in_worker("export", lambda run: write_run_results(run, path),
                               lambda written: self.counts.setText(f"Results written to {written}."), failed)

    def export_results(self, path: str | Path) -> Path:
        """Write the results CSV now (gui/widgets/bulk_work.write_run_results; Export does it in a worker)."""
        if self.run is None:
            raise OSError("nothing was opened")
        return write_run_results(self.run, path)
