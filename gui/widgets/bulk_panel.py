"""The Bulk tab: open a manifest or a folder, see every row's check status, send the valid rows.

- The row table is a QAbstractTableModel over plain Python lists (no per-row widgets, ``data()`` only
  indexes a list), so 100,000 rows scroll smoothly; results arriving from the workers are buffered and
  applied every 150 ms as one ``dataChanged`` range, not one signal per job.
- Loading/checking and sending run through ``gui.workers.start_worker`` (never on the GUI thread);
  workers only compute and report through ``progress_callback``, never touch widgets.
- Sending is :class:`core.bulk.BulkSubmitter` with the backend's client and journal: the same
  exactly-once, resumable engine as ``playment-submit bulk``. Pause holds new starts, Cancel lets the
  jobs in flight finish and journals them.

The backend (core/session.py) is read duck-typed: ``client`` (or ``make_client(pool_size=...)``),
``journal``, ``storage`` and ``connection.workflow_id`` when present.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core.manifest import SENDABLE, SKIP_FAILED, Manifest, ManifestRow, check_manifest, load_manifest
from playment_submit.core.results import (
    FILTERS,
    apply_results,
    dry_run,
    mark_for_retry,
    results_for_rows,
    row_matches,
    status_word,
    write_results,
)
from playment_submit.gui.style import status_colour
from playment_submit.gui.workers import Worker, start_worker

COLUMNS = ("Row", "Reference ID", "Status", "Job ID", "Message")
# a row's status code (core.manifest action or core.bulk result) -> gui/style.py's status (its colour);
# the words shown are core.results.status_word's
_STATUS_STYLES = {"invalid": "error", "failed": "error", "ambiguous": "warning", "changed": "warning",
                  "skip_failed": "warning", "created": "ok", "recovered": "ok", "skipped": "muted", "done": "muted"}
_FILTER_LABELS = {"all": "All rows", "problems": "Problems", "sent": "Sent"}

# -------------------------------------------------------------------------------------------- model
class BulkRowsModel(QAbstractTableModel):
    """Rows of a manifest as five text columns kept in plain lists; cheap ``data()``."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[ManifestRow] = []
        self._status: list[str] = []  # the code (action or result status); status_word() is shown
        self._job: list[str] = []
        self._message: list[str] = []
        self._index: dict[int, int] = {}  # id(ManifestRow) -> position
        self._pending: dict[int, tuple[str, str, str]] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    def set_manifest(self, manifest: Manifest | None) -> None:
        self.beginResetModel()
        self.rows = list(manifest.rows) if manifest is not None else []
        self._status, self._job, self._message = [], [], []
        for r in self.rows:
            self._status.append(r.action)
            self._job.append(r.job_id or "")
            first = r.errors[0] if r.errors else (r.problems[0] if r.problems else None)
            self._message.append("" if first is None else (first.text("gui") + (f" (+{len(r.problems) - 1} more)"
                                                                         if len(r.problems) > 1 else "")))
        self._index = {r.row: i for i, r in enumerate(self.rows)}
        self._pending.clear()
        self.endResetModel()

    # results from the workers, applied in one batch
    def queue_result(self, row_number: int, status: str, job_id: str | None, message: str) -> None:
        i = self._index.get(row_number)
        if i is not None:
            self._pending[i] = (status, job_id or "", message)

    def flush(self) -> None:
        if not self._pending:
            return
        lo, hi = min(self._pending), max(self._pending)
        for i, (status, job, msg) in self._pending.items():
            self._status[i], self._job[i], self._message[i] = status, job, msg
        self._pending.clear()
        self.dataChanged.emit(self.index(lo, 0), self.index(hi, len(COLUMNS) - 1))

    def status(self, i: int) -> str:
        """The Status column's words for row ``i`` (plain words, not codes)."""
        return status_word(self._status[i])

    def code(self, i: int) -> str:
        """Row ``i``'s status code: its action before a send, its result (``created``, ``not_sent``...) after."""
        return self._status[i]

    def matches(self, i: int, filter_name: str) -> bool:
        return row_matches(filter_name, self._status[i], bool(self.rows[i].problems))

    # Qt interface
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        i, c = index.row(), index.column()
        if role == Qt.DisplayRole or (role == Qt.ToolTipRole and c == 4):
            if c == 0:
                return self.rows[i].row
            if c == 1:
                return self.rows[i].reference_id or ""
            if c == 2:
                return status_word(self._status[i])
            if c == 3:
                return self._job[i]
            return self._message[i]
        if role == Qt.ForegroundRole and c == 2:
            style = _STATUS_STYLES.get(self._status[i])
            return QBrush(status_colour(style)) if style else None
        return None


class BulkFilterModel(QSortFilterProxyModel):
    """The rows a filter of core.results.FILTERS shows (all / problems / sent), decided by core's
    ``row_matches``. Not dynamic: the panel re-filters after a batch of results, not per row."""

    def __init__(self, source: BulkRowsModel, parent=None):
        super().__init__(parent)
        self.setDynamicSortFilter(False)
        self.setSourceModel(source)
        self.filter_name = "all"

    def set_filter(self, name: str) -> None:
        self.beginFilterChange()
        self.filter_name = name
        self.endFilterChange()

    def refilter(self) -> None:
        if self.filter_name != "all":
            self.beginFilterChange()
            self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        if self.filter_name == "all":
            return True
        model = self.sourceModel()
        assert isinstance(model, BulkRowsModel)
        return model.matches(source_row, self.filter_name)


# -------------------------------------------------------------------------------- background jobs
def _load_and_check(path: str, workflow_id: str | None, journal: Any, storage: Any,
                    progress_callback=None, cancel_event=None, classes: list[str] | None = None) -> Manifest:
    """``classes``: the profile's class list, so a row's mask_source is judged as `bulk` judges it."""
    man = load_manifest(path, workflow_id=workflow_id)
    if progress_callback is not None:
        progress_callback({"phase": "check", "done": 0, "total": len(man.rows)})

    def masks(done: int, total: int) -> None:
        if progress_callback is not None:
            progress_callback({"phase": "masks", "done": done, "total": total})

    return check_manifest(man, journal=journal, storage=storage, progress=masks,
                          cancel=cancel_event, classes=classes)


def _send(submitter, rows, progress_callback=None):
    """Run the submitter (made on the GUI thread so Pause/Cancel can reach it); report through Qt."""
    if progress_callback is not None:
        submitter.on_progress = lambda p: progress_callback({"phase": "send", "progress": p})
        submitter.on_result = lambda r: progress_callback({"phase": "result", "result": r})
    return submitter.run(rows)


def progress_text(p) -> str:
    """The line under the progress bar during a send (a core.bulk.BulkProgress)."""
    eta = "" if p.eta is None else f", about {int(p.eta // 60)} min {int(p.eta % 60)} s left"
    text = (f"Sent {p.done} of {p.total}, {p.failed} failed, {p.in_flight} in flight, "
            f"{p.rate:.1f} jobs/s{eta}.")
    if p.cancelled:
        return text + " Stopping after the jobs in flight…"
    if p.paused:
        return text + (f" Pausing: {p.in_flight} in flight finishing…" if p.in_flight else " Paused.")
    return text


# -------------------------------------------------------------------------------------------- panel
class BulkPanel(QWidget):
    """The "Bulk" tab (``BulkPanel(backend, parent=None)``).

    Signals: ``manifest_checked(Manifest)`` after a manifest is loaded and checked;
    ``submission_finished(BulkSummary)`` after a send ends (completed or cancelled);
    ``openRowRequested(dict)`` with the selected row as a job draft (the documented payload JSON, local
    paths kept; core's ``ManifestRow.payload``, the job the pipeline checks and sends for that row) when
    the user asks to fix that row in the Job tab."""

    manifest_checked = Signal(object)
    submission_finished = Signal(object)
    openRowRequested = Signal(dict)

    def __init__(self, backend: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("bulkPanel")
        self.backend = backend
        self.manifest: Manifest | None = None
        self.summary = None
        self.submitter = None
        self._worker: Worker | None = None
        self._results: dict[int, Any] = {}
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
            self.filter_box.addItem(_FILTER_LABELS[name], name)
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
        self.table = QTableView()
        self.table.setObjectName("bulkTable")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # never ResizeToContents: it measures every row
        hh.setStretchLastSection(True)
        # Fixed widths (a job ID is 36 characters); the message, what matters on an error row, takes the rest.
        digit = self.table.fontMetrics().horizontalAdvance("0")
        for col, chars in ((0, 6), (1, 18), (2, 15), (3, 37)):
            self.table.setColumnWidth(col, chars * digit)
        self.table.selectionModel().currentRowChanged.connect(self._show_row)
        self.table.doubleClicked.connect(lambda _index: self.open_selected_row())

        self.preview = QPlainTextEdit()
        self.preview.setObjectName("bulkPreview")
        self.preview.setReadOnly(True)
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
        self.filter_box.currentIndexChanged.connect(lambda _i: self.set_filter(self.filter_box.currentData()))
        self._set_busy(None)

    # ------------------------------------------------------------------ backend access
    def _journal(self):
        return getattr(self.backend, "journal", None)

    def _storage(self):
        return self.backend.storage if self.backend.can_upload else None

    def _classes(self) -> list[str] | None:
        """The profile's class list (None when it has none): mask_source rows are refused by it."""
        profile = getattr(self.backend, "profile", None)
        return list(getattr(profile, "classes", None) or []) or None

    def _workflow_id(self) -> str | None:
        conn = getattr(self.backend, "connection", None)
        return getattr(conn, "workflow_id", None) or getattr(self.backend, "workflow_id", None)

    def _client(self):
        make = getattr(self.backend, "make_client", None)
        if callable(make):
            try:
                return make(pool_size=self.concurrency.value())
            except TypeError:
                return make()
        return getattr(self.backend, "client", None)

    # ------------------------------------------------------------------ state
    def _set_busy(self, what: str | None) -> None:
        self._busy = what
        idle = what is None
        self.open_button.setEnabled(idle)
        self.folder_button.setEnabled(idle)
        self.concurrency.setEnabled(idle)
        ready = bool(self.manifest is not None and self.manifest.sendable()
                     and not any(p.severity == "error" for p in self.manifest.problems))
        self.submit_button.setEnabled(idle and ready)
        self.dry_run_button.setEnabled(idle and self.manifest is not None)
        self.recheck_button.setEnabled(idle and self._path is not None)
        self.retry_button.setEnabled(idle and self.manifest is not None
                                     and any(r.action == SKIP_FAILED for r in self.manifest.rows))
        self.pause_button.setEnabled(what == "send")
        self.cancel_button.setEnabled(what is not None)
        self.export_button.setEnabled(idle and self.manifest is not None)
        self._update_open_row()
        if what != "send":
            self.pause_button.setText("Pause")

    def _summary_text(self) -> str:
        man = self.manifest
        if man is None:
            return ""
        c = man.counts()
        parts = [f"{len(man.rows)} rows", f"{len(man.sendable())} to send"]
        for key, words in (("done", "already created"), ("invalid", "with errors"), ("changed", "changed"),
                           ("skip_failed", "failed before (Retry failed sends them)")):
            if c.get(key):
                parts.append(f"{c[key]} {words}")
        text = ", ".join(parts) + "."
        file_errors = [p.text("gui") for p in man.problems if p.severity == "error"]
        if file_errors:
            text += " " + " ".join(file_errors)
        return text

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
        self._results.clear()
        self.model.set_manifest(None)
        self.preview.clear()
        self.counts.setText(f"Checking {path}…")
        self.progress.setRange(0, 0)
        self._set_busy("check")
        w = start_worker(_load_and_check, path, self._workflow_id(), self._journal(), self._storage(),
                         owner=self, classes=self._classes())
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
        if info.get("phase") == "masks":
            self.progress.setRange(0, info["total"])
            self.progress.setValue(info["done"])
            self.counts.setText(f"Checking masks: {info['done']} of {info['total']}…")

    def _on_checked(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.model.set_manifest(manifest)
        self.progress.setRange(0, max(1, len(manifest.sendable())))
        self.progress.setValue(0)
        self.counts.setText(self._summary_text())
        self._set_busy(None)  # ready before listeners hear about it
        self.manifest_checked.emit(manifest)

    def _on_error(self, exc: BaseException) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.counts.setText(f"Error: {exc}")

    # ------------------------------------------------------------------ rows
    def set_filter(self, name: str) -> None:
        """Show the rows of one of core.results.FILTERS: "all", "problems" or "sent"."""
        self.proxy.set_filter(name)
        i = self.filter_box.findData(name)
        if i >= 0 and i != self.filter_box.currentIndex():
            self.filter_box.setCurrentIndex(i)

    def _flush(self) -> None:
        self.model.flush()
        # Re-filtering asks every row (about half a second for 100,000 rows): while sending, a filtered
        # view catches up every few seconds, and once more when the send ends.
        now = time.monotonic()
        if now - self._refiltered >= 3.0:
            self._refiltered = now
            self.proxy.refilter()

    def _source_row(self, index: QModelIndex) -> int | None:
        if not index.isValid():
            return None
        i = self.proxy.mapToSource(index).row()
        return i if 0 <= i < len(self.model.rows) else None

    def selected_row(self) -> ManifestRow | None:
        i = self._source_row(self.table.currentIndex())
        return None if i is None else self.model.rows[i]

    def _update_open_row(self) -> None:
        row = self.selected_row()
        self.open_row_button.setEnabled(row is not None and row.payload() is not None)

    def open_selected_row(self) -> dict | None:
        """Ask (``openRowRequested``) to open the selected row in the Job tab as a job draft; returns the draft."""
        row = self.selected_row()
        draft = row.payload() if row is not None else None
        if draft is None:
            return None
        self.openRowRequested.emit(draft)
        return draft

    def _show_row(self, current: QModelIndex, _previous=None) -> None:
        self._update_open_row()
        i = self._source_row(current)
        if i is None:
            self.preview.clear()
            return
        r = self.model.rows[i]
        parts = []
        if r.problems:
            parts.append("\n".join(("Error: " if p.severity == "error" else "Warning: ") + p.text("gui")
                                    for p in r.problems))
        res = self._results.get(r.row)
        if res is not None:
            parts.append(f"Result: {status_word(res.status)}" + (f", job {res.job_id}" if res.job_id else "")
                         + (f" ({res.message})" if res.message else ""))
        payload = r.payload()
        parts.append(json.dumps(payload, indent=2, ensure_ascii=False) if payload is not None
                     else "(this row could not be read as a job)")
        self.preview.setPlainText("\n\n".join(parts))

    # ------------------------------------------------------------------ send
    def submit(self):
        """Send the valid rows (journalled, exactly once); returns the worker, or None when nothing to do."""
        from playment_submit.core.bulk import BulkSubmitter
        if self.manifest is None or self._busy is not None:
            return None
        rows = self.manifest.rows
        todo = [r for r in rows if r.action in SENDABLE]
        if not todo:
            return None
        client = self._client()
        if client is None:
            self.counts.setText("No connection is configured; set up a profile (or the sandbox) first.")
            return None
        self.submitter = BulkSubmitter(client, self._journal(), concurrency=self.concurrency.value(),
                                       storage=self._storage(), progress_interval=0.1)
        self._results.clear()
        self.progress.setRange(0, len(todo))
        self.progress.setValue(0)
        self._set_busy("send")
        self._flush_timer.start()
        w = start_worker(_send, self.submitter, rows, owner=self)
        w.progressed.connect(self._on_send_progress)
        w.returned.connect(self._on_sent)
        w.errored.connect(self._on_error)
        w.finished.connect(self._on_send_finished)
        self._worker = w
        return w

    def _on_send_progress(self, info: dict) -> None:
        if info.get("phase") == "result":
            r = info["result"]
            self._results[r.row] = r
            self.model.queue_result(r.row, r.status, r.job_id, r.message)
        elif info.get("phase") == "send":
            p = info["progress"]
            self.progress.setValue(p.done + p.failed)
            self.counts.setText(progress_text(p))

    def _on_sent(self, summary) -> None:
        self.summary = summary
        for r in summary.results:
            self._results[r.row] = r
            self.model.queue_result(r.row, r.status, r.job_id, r.message)
        self.model.flush()
        # what the journal now says (core's rule), without re-checking every row on the GUI thread
        apply_results(self.model.rows, summary.results)
        self.proxy.refilter()
        c = summary.counts()
        parts = [f"{c[k]} {status_word(k)}" for k in ("created", "recovered", "skipped", "failed", "ambiguous",
                                                       "invalid", "changed", "not_sent") if c.get(k)]
        text = ", ".join(parts) + f" in {summary.elapsed:.1f} s."
        if summary.cancelled:
            text += " Stopped: Submit again to send the rows not sent yet."
        if c.get("failed"):
            text += " Retry failed sends the failed rows again."
        self.counts.setText(text)
        self._flush_timer.stop()
        self._set_busy(None)  # ready before listeners hear about it
        self.submission_finished.emit(summary)

    def _on_send_finished(self) -> None:
        self.model.flush()
        if self._busy == "send":  # errored: _on_sent did not run
            self._flush_timer.stop()
            self._set_busy(None)

    def retry_failed(self):
        """Make the rows that failed before sendable again (core's rule, as ``--retry-failed``) and send;
        returns the worker, or None when nothing failed."""
        if self.manifest is None or self._busy is not None:
            return None
        if not mark_for_retry(self.manifest.rows):
            return None
        self.model.set_manifest(self.manifest)
        return self.submit()

    def dry_run(self) -> str | None:
        """Show what Submit would send (core.results.dry_run): nothing is uploaded or created."""
        if self.manifest is None or self._busy is not None:
            return None
        results, text = dry_run(self.manifest.rows)
        for r in results:
            self.model.queue_result(r.row, r.status, r.job_id, r.message)
        self.model.flush()
        self.proxy.refilter()
        self.counts.setText(text)
        return text

    def toggle_pause(self) -> None:
        if self.submitter is None or self._busy != "send":
            return
        if self.submitter.paused:
            self.submitter.resume()
            self.pause_button.setText("Pause")
        else:
            self.submitter.pause()
            self.pause_button.setText("Resume")

    def is_sending(self) -> bool:
        return self._busy == "send"

    def is_idle(self) -> bool:
        """No manifest being loaded or checked and no rows being sent."""
        return self._busy is None

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        if self.submitter is not None and self._busy == "send":
            self.submitter.cancel()

    # ------------------------------------------------------------------ export
    def _choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export results", "bulk-results.csv", "CSV (*.csv)")
        if path:
            try:
                self.export_results(path)
            except OSError as e:
                QMessageBox.warning(self, "Export failed", f"The results cannot be written to {path}: {e.strerror}.")

    def export_results(self, path: str | Path) -> Path:
        """Write the results CSV (core.results: row, reference_id, job_id, status, error_code, message; the
        same file as ``playment-submit bulk --results``) for every row, sent or not. Raises OSError."""
        return write_results(path, results_for_rows(self.model.rows, self._results))
