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
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
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

from playment_submit.core.manifest import SENDABLE, Manifest, ManifestRow, check_manifest, load_manifest
from playment_submit.core.results import apply_results, results_for_rows, write_results
from playment_submit.gui.style import status_colour
from playment_submit.gui.workers import Worker, start_worker

COLUMNS = ("Row", "Reference ID", "Status", "Job ID", "Message")
# the Status column's words -> gui/style.py's status (its colour); words not listed are not coloured
_STATUS_STYLES = {"error": "error", "invalid": "error", "failed": "error", "ambiguous": "warning",
                  "changed": "warning", "warning": "warning", "created": "ok", "recovered": "ok",
                  "skipped": "muted", "done": "muted"}
_ACTION_WORDS = {"send": "ready", "reconcile": "to reconcile", "retry": "to retry", "done": "done",
                 "skip_failed": "failed before", "changed": "changed", "invalid": "error"}




# -------------------------------------------------------------------------------------------- model
class BulkRowsModel(QAbstractTableModel):
    """Rows of a manifest as five text columns kept in plain lists; cheap ``data()``."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[ManifestRow] = []
        self._status: list[str] = []
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
            self._status.append(_ACTION_WORDS.get(r.action, r.action))
            self._job.append(r.job_id or "")
            first = r.errors[0] if r.errors else (r.problems[0] if r.problems else None)
            self._message.append("" if first is None else (str(first) + (f" (+{len(r.problems) - 1} more)"
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
        return self._status[i]

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
                return self._status[i]
            if c == 3:
                return self._job[i]
            return self._message[i]
        if role == Qt.ForegroundRole and c == 2:
            style = _STATUS_STYLES.get(self._status[i])
            return QBrush(status_colour(style)) if style else None
        return None


# -------------------------------------------------------------------------------- background jobs
def _load_and_check(path: str, workflow_id: str | None, journal: Any, storage: Any,
                    progress_callback=None, cancel_event=None) -> Manifest:
    man = load_manifest(path, workflow_id=workflow_id)
    if progress_callback is not None:
        progress_callback({"phase": "check", "done": 0, "total": len(man.rows)})

    def masks(done: int, total: int) -> None:
        if progress_callback is not None:
            progress_callback({"phase": "masks", "done": done, "total": total})

    return check_manifest(man, journal=journal, storage=storage, progress=masks,
                          cancel=cancel_event)


def _send(submitter, rows, progress_callback=None):
    """Run the submitter (made on the GUI thread so Pause/Cancel can reach it); report through Qt."""
    if progress_callback is not None:
        submitter.on_progress = lambda p: progress_callback({"phase": "send", "progress": p})
        submitter.on_result = lambda r: progress_callback({"phase": "result", "result": r})
    return submitter.run(rows)


# -------------------------------------------------------------------------------------------- panel
class BulkPanel(QWidget):
    """The "Bulk" tab (``BulkPanel(backend, parent=None)``).

    Signals: ``manifest_checked(Manifest)`` after a manifest is loaded and checked;
    ``submission_finished(BulkSummary)`` after a send ends (completed or cancelled)."""

    manifest_checked = Signal(object)
    submission_finished = Signal(object)

    def __init__(self, backend: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("bulkPanel")
        self.backend = backend
        self.manifest: Manifest | None = None
        self.summary = None
        self.submitter = None
        self._worker: Worker | None = None
        self._results: dict[int, Any] = {}

        self.open_button = QPushButton("Open manifest…")
        self.folder_button = QPushButton("Open folder…")
        self.submit_button = QPushButton("Submit valid rows")
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel")
        self.export_button = QPushButton("Export results…")
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 64)
        self.concurrency.setValue(8)
        self.concurrency.setPrefix("workers: ")
        for name in ("open_button", "folder_button", "submit_button", "pause_button", "cancel_button",
                     "export_button", "concurrency"):
            getattr(self, name).setObjectName(name)
        top = QHBoxLayout()
        for w in (self.open_button, self.folder_button, self.concurrency, self.submit_button, self.pause_button,
                  self.cancel_button, self.export_button):
            top.addWidget(w)
        top.addStretch(1)

        self.model = BulkRowsModel(self)
        self.table = QTableView()
        self.table.setObjectName("bulkTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # never ResizeToContents: it measures every row
        hh.setStretchLastSection(True)
        # Fixed widths (a job ID is 36 characters); the message, what matters on an error row, takes the rest.
        digit = self.table.fontMetrics().horizontalAdvance("0")
        for col, chars in ((0, 6), (1, 20), (2, 10), (3, 38)):
            self.table.setColumnWidth(col, chars * digit)
        self.table.selectionModel().currentRowChanged.connect(self._show_row)

        self.preview = QPlainTextEdit()
        self.preview.setObjectName("bulkPreview")
        self.preview.setReadOnly(True)
        self.preview.setPlaceholderText("Select a row to see the job it will create and its problems.")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.preview)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 1)

        self.progress = QProgressBar()
        self.progress.setObjectName("bulkProgress")
        self.progress.setFormat("%v / %m")
        self.counts = QLabel("Open a CSV or JSONL manifest, or a folder of images.")
        self.counts.setObjectName("bulkCounts")
        self.counts.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.counts)

        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(150)
        self._flush_timer.timeout.connect(self.model.flush)

        self.open_button.clicked.connect(self._choose_file)
        self.folder_button.clicked.connect(self._choose_folder)
        self.submit_button.clicked.connect(self.submit)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self._choose_export)
        self._set_busy(None)

    # ------------------------------------------------------------------ backend access
    def _journal(self):
        return getattr(self.backend, "journal", None)

    def _storage(self):
        return self.backend.storage if self.backend.can_upload else None

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
        self.pause_button.setEnabled(what == "send")
        self.cancel_button.setEnabled(what is not None)
        self.export_button.setEnabled(idle and self.manifest is not None)
        if what != "send":
            self.pause_button.setText("Pause")

    def _summary_text(self) -> str:
        man = self.manifest
        if man is None:
            return ""
        c = man.counts()
        parts = [f"{len(man.rows)} rows", f"{len(man.sendable())} to send"]
        for key, words in (("done", "already created"), ("invalid", "with errors"), ("changed", "changed"),
                           ("skip_failed", "failed before")):
            if c.get(key):
                parts.append(f"{c[key]} {words}")
        text = ", ".join(parts) + "."
        file_errors = [str(p) for p in man.problems if p.severity == "error"]
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

    def open_path(self, path: str):
        """Load and check a manifest (or folder) in the background; returns the worker."""
        self.manifest, self.summary = None, None
        self.model.set_manifest(None)
        self.preview.clear()
        self.counts.setText(f"Checking {path}…")
        self.progress.setRange(0, 0)
        self._set_busy("check")
        w = start_worker(_load_and_check, path, self._workflow_id(), self._journal(), self._storage(),
                         owner=self)
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

    def _show_row(self, current: QModelIndex, _previous=None) -> None:
        if not current.isValid() or current.row() >= len(self.model.rows):
            self.preview.clear()
            return
        r = self.model.rows[current.row()]
        parts = []
        if r.problems:
            parts.append("\n".join(("Error: " if p.severity == "error" else "Warning: ") + str(p) for p in r.problems))
        res = self._results.get(r.row)
        if res is not None:
            parts.append(f"Result: {res.status}" + (f", job {res.job_id}" if res.job_id else "")
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
            eta = "" if p.eta is None else f", about {int(p.eta // 60)} min {int(p.eta % 60)} s left"
            state = " Stopping after the jobs in flight…" if p.cancelled else (" Paused." if p.paused else "")
            self.counts.setText(f"Sent {p.done} of {p.total}, {p.failed} failed, {p.in_flight} in flight, "
                                f"{p.rate:.1f} jobs/s{eta}.{state}")

    def _on_sent(self, summary) -> None:
        self.summary = summary
        for r in summary.results:
            self._results[r.row] = r
            self.model.queue_result(r.row, r.status, r.job_id, r.message)
        self.model.flush()
        # what the journal now says (core's rule), without re-checking every row on the GUI thread
        apply_results(self.model.rows, summary.results)
        c = summary.counts()
        parts = [f"{c[k]} {k.replace('_', ' ')}" for k in ("created", "recovered", "skipped", "failed", "ambiguous",
                                                           "invalid", "changed", "not_sent") if c.get(k)]
        text = ", ".join(parts) + f" in {summary.elapsed:.1f} s."
        if summary.cancelled:
            text += " Stopped: submit again to continue where it stopped."
        self.counts.setText(text)
        self._flush_timer.stop()
        self._set_busy(None)  # ready before listeners hear about it
        self.submission_finished.emit(summary)

    def _on_send_finished(self) -> None:
        self.model.flush()
        if self._busy == "send":  # errored: _on_sent did not run
            self._flush_timer.stop()
            self._set_busy(None)

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
