"""The Bulk tab's row table: a QAbstractTableModel over plain lists (no per-row widgets, ``data()`` only
indexes a list), so 100,000 rows scroll smoothly; results arriving from the workers are buffered and applied
every 150 ms as one ``dataChanged`` range, not one signal per job. The words and filters are core's
(core.bulk_rows)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QFont

from playment_submit.core.bulk_rows import FILTERS, row_columns, row_matches, status_word
from playment_submit.core.manifest import Manifest, ManifestRow
from playment_submit.gui.style import status_colour

COLUMNS = ("Row", "Reference ID", "Status", "Job ID", "Message")
# a row's status code (core.manifest action or core.bulk result) -> gui/style.py's status (its colour);
# the words shown are core.bulk_rows.status_word's
STATUS_STYLES = {"invalid": "error", "failed": "error", "ambiguous": "warning", "changed": "warning",
                 "skip_failed": "warning", "created": "ok", "recovered": "ok", "skipped": "muted", "done": "muted",
                 "in_flight": "muted"}
FILTER_ROLE = Qt.ItemDataRole.UserRole + 1  # the names of the filters a row is shown under
FILTER_LABELS = {"all": "All rows", "problems": "Problems", "sent": "Sent"}

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

    def set_manifest(self, manifest: Manifest | None, columns: tuple[Any, ...] | None = None) -> None:
        """Show ``manifest``'s rows; ``columns``: core's ``row_columns`` of them and the row number -> position
        index, when the worker that checked them made them already (a million rows are not walked here)."""
        self.beginResetModel()
        self.rows = manifest.rows if manifest is not None else []  # core's list, not a copy made here
        if columns is None:
            columns = (*row_columns(self.rows), {r.row: i for i, r in enumerate(self.rows)})
        self._status, self._job, self._message, self._index = columns
        self._pending.clear()
        self.endResetModel()

    def set_columns(self, status: list[str], jobs: list[str], messages: list[str]) -> None:
        """Replace the status, job ID and message columns at once (made in a worker, a value per row)."""
        if len(status) != len(self.rows):
            return  # another manifest's: the rows changed since the worker started
        self._status, self._job, self._message = status, jobs, messages
        self._pending.clear()
        if self.rows:
            self.dataChanged.emit(self.index(0, 2), self.index(len(self.rows) - 1, len(COLUMNS) - 1))

    # results from the workers, applied in one batch
    def queue_result(self, row_number: int, status: str, job_id: str | None, message: str) -> None:
        i = self._index.get(row_number)
        if i is not None:
            self._pending[i] = (status, job_id or "", message)

    def take_events(self, events: list[tuple[str, Any]], results: dict[int, Any]) -> None:
        """A send's rows, in the order they happened (gui/widgets/bulk_work.RowFeed): ("start", row number)
        shows the row in flight, ("result", RowResult) its result, also kept in ``results`` by row number."""
        for kind, what in events:
            if kind == "start":
                self.queue_result(what, "in_flight", None, "")
            else:
                results[what.row] = what
                self.queue_result(what.row, what.status, what.job_id, what.message)

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

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole or (role == Qt.ItemDataRole.ToolTipRole and c == 4):
            if c == 0:
                return self.rows[i].row
            if c == 1:
                return self.rows[i].reference_id or ""
            if c == 2:
                return status_word(self._status[i])
            if c == 3:
                return self._job[i]
            return self._message[i]
        if role == FILTER_ROLE:  # the filters this row is shown under (the proxy matches one by its name)
            return " ".join(f for f in FILTERS if f != "all" and self.matches(i, f))
        if role == Qt.ItemDataRole.ForegroundRole and c == 2:
            style = STATUS_STYLES.get(self._status[i])
            return QBrush(status_colour(style)) if style else None
        return None


class BulkFilterModel(QSortFilterProxyModel):
    """The rows a filter of core.results.FILTERS shows (all / problems / sent), decided by core's
    ``row_matches``. Not dynamic: the panel re-filters after a batch of results, not per row."""

    def __init__(self, source: BulkRowsModel, parent=None):
        super().__init__(parent)
        self.setDynamicSortFilter(False)
        self.setSourceModel(source)
        # Qt's own filter on FILTER_ROLE, not a Python filterAcceptsRow: with "all" (no pattern) Qt asks no row
        # at all, so showing 200,000 rows costs no Python call per row on the GUI thread.
        self.setFilterRole(FILTER_ROLE)
        self.setFilterKeyColumn(0)
        self.filter_name = "all"

    def set_filter(self, name: str) -> None:
        self.filter_name = name
        self.setFilterRegularExpression("" if name == "all" else rf"\b{name}\b")

    def refilter(self) -> None:
        if self.filter_name != "all":
            self.beginFilterChange()
            self.endFilterChange()
