"""The Bulk tab's row table: a QAbstractTableModel over plain lists (no per-row widgets, ``data()`` only
indexes a list), so 100,000 rows scroll smoothly; results arriving from the workers are buffered and applied
every 150 ms as one ``dataChanged`` range, not one signal per job. The words and filters are core's
(core.bulk_rows)."""

from __future__ import annotations

from array import array
from typing import Any

from PySide6.QtCore import QAbstractProxyModel, QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import QComboBox, QHeaderView, QTableView

from playment_submit.core.bulk_rows import is_row_order, order_rows, row_columns, status_word
from playment_submit.core.manifest import Manifest, ManifestRow
from playment_submit.gui.style import status_colour
from playment_submit.gui.workers import Worker, start_worker

COLUMNS = ("Row", "Reference ID", "Status", "Job ID", "Message")
# a row's status code (core.manifest action or core.bulk result) -> gui/style.py's status (its colour);
# the words shown are core.bulk_rows.status_word's
STATUS_STYLES = {"invalid": "error", "failed": "error", "ambiguous": "warning", "changed": "warning",
                 "skip_failed": "warning", "created": "ok", "recovered": "ok", "skipped": "muted", "done": "muted",
                 "in_flight": "muted"}
FILTER_LABELS = {"all": "All rows", "problems": "Problems", "sent": "Sent"}

def table_columns(rows: list[ManifestRow]) -> tuple[Any, ...]:
    """What :meth:`BulkRowsModel.set_manifest` shows of ``rows``: core's ``row_columns`` (status code, job ID,
    message) and the row number -> position index. Walks every row: made in the workers."""
    return (*row_columns(rows), {r.row: i for i, r in enumerate(rows)})


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
            columns = table_columns(self.rows)
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

    def codes(self) -> list[str]:
        """Every row's status code (the list itself: a worker reads it, nothing here copies it)."""
        return self._status

    def code(self, i: int) -> str:
        """Row ``i``'s status code: its action before a send, its result (``created``, ``not_sent``...) after."""
        return self._status[i]

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
        if role == Qt.ItemDataRole.ForegroundRole and c == 2:
            style = STATUS_STYLES.get(self._status[i])
            return QBrush(status_colour(style)) if style else None
        return None


SORT_COLUMNS = {0: "row", 1: "reference_id", 2: "status"}  # the columns a click on the header sorts by


def ordered(filter_name: str, sort: str, descending: bool, codes: list[str],
            rows: list[ManifestRow]) -> tuple[list[int] | None, array | None]:
    """core's ``order_rows`` and its inverse (source row -> shown row, -1 when hidden): made in a worker."""
    order = order_rows(filter_name, sort, descending, codes, rows)
    if order is None:
        return None, None
    inverse = array("q", [-1]) * len(rows)
    for k, i in enumerate(order):
        inverse[i] = k
    return order, inverse


class BulkFilterModel(QAbstractProxyModel):
    """The rows a filter of core.bulk_rows.FILTERS shows (all / problems / sent), in the order a sort of
    core.bulk_rows.SORTS asks (row, status, reference ID; either way): every row in row order is no list;
    anything else is a list of source rows that core's ``order_rows`` makes in a worker and that is swapped in
    here, so that choosing a filter or a sort, or refreshing it while sending, asks no row on the GUI thread
    (Qt's own filtering and sorting would call ``data()`` for every row: half a second for 200,000).
    ``filtered`` says when a filter's rows are shown."""

    filtered = Signal(str)

    def __init__(self, source: BulkRowsModel, parent=None):
        super().__init__(parent)
        self._rows_model = source
        self.filter_name = "all"
        self.sort_key, self.descending = "row", False
        self._map: list[int] | None = None  # proxy row -> source row; None: every row, in order
        self._inverse: array | None = None  # source row -> proxy row (-1: not shown)
        self._worker: Worker | None = None
        self.setSourceModel(source)
        source.modelAboutToBeReset.connect(self.beginResetModel)
        source.modelReset.connect(self._source_reset)
        source.dataChanged.connect(self._source_changed)

    # ---------------------------------------------------------------------------------- filtering
    def set_filter(self, name: str) -> Worker | None:
        """Show the rows of filter ``name``; returns the worker finding them (None for "all": at once)."""
        self.filter_name = name
        return self.refilter()

    def set_sort(self, sort: str, descending: bool = False) -> Worker | None:
        """Show the rows in the order of ``sort`` (core.bulk_rows.SORTS); returns the worker ordering them
        (None for row order, shown at once)."""
        self.sort_key, self.descending = sort, descending
        return self.refilter()

    def refilter(self) -> Worker | None:
        """Find the current filter's rows in the current order again (after results came), in a worker."""
        self._worker = None  # an answer still coming is superseded
        if is_row_order(self.filter_name, self.sort_key, self.descending):
            if self._map is not None:
                self._swap(None, None)
            self.filtered.emit("all")
            return None
        asked = (self.filter_name, self.sort_key, self.descending)
        w = start_worker(ordered, *asked, self._rows_model.codes(), self._rows_model.rows, owner=self)
        w.returned.connect(lambda found, w=w, asked=asked: self._found(w, asked, found))
        self._worker = w
        return w

    def _found(self, worker: Worker, asked: tuple[str, str, bool], found: tuple[Any, Any]) -> None:
        if worker is self._worker and asked == (self.filter_name, self.sort_key, self.descending):
            self._swap(*found)  # the latest question's answer only
            self.filtered.emit(asked[0])

    def _swap(self, rows: list[int] | None, inverse: array | None) -> None:
        self.beginResetModel()
        self._map, self._inverse = rows, inverse
        self.endResetModel()

    def _source_reset(self) -> None:
        # another manifest: its rows are being found (none shown meanwhile, unless every row in order)
        self._map = None if is_row_order(self.filter_name, self.sort_key, self.descending) else []
        self._inverse = None
        self.endResetModel()
        self.refilter()

    def _source_changed(self, top: QModelIndex, bottom: QModelIndex, roles=()) -> None:
        n = self.rowCount()
        if n:
            self.dataChanged.emit(self.index(0, top.column()), self.index(n - 1, bottom.column()), roles)

    # ---------------------------------------------------------------------------------- Qt interface
    def rowCount(self, parent=QModelIndex()) -> int:
        if parent.isValid():
            return 0
        return self._rows_model.rowCount() if self._map is None else len(self._map)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def index(self, row: int, column: int, parent=QModelIndex()) -> QModelIndex:
        if parent.isValid() or not (0 <= row < self.rowCount() and 0 <= column < len(COLUMNS)):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, child=QModelIndex()) -> QModelIndex:  # type: ignore[override]  # a flat table
        return QModelIndex()

    def mapToSource(self, proxy_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not proxy_index.isValid():
            return QModelIndex()
        row = proxy_index.row()
        if self._map is not None:
            if row >= len(self._map):
                return QModelIndex()
            row = self._map[row]
        return self._rows_model.index(row, proxy_index.column())

    def mapFromSource(self, source_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not source_index.isValid():
            return QModelIndex()
        row = source_index.row()
        if self._map is not None:
            if self._inverse is None or not 0 <= row < len(self._inverse) or self._inverse[row] < 0:
                return QModelIndex()
            row = self._inverse[row]
        return self.index(row, source_index.column())

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        return self._rows_model.data(self.mapToSource(index), role)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        return self._rows_model.headerData(section, orientation, role)


def rows_table(proxy: BulkFilterModel) -> QTableView:
    """The Bulk tab's table over ``proxy``: one row selected at a time (kept across the filter's swaps),
    fixed column widths (a job ID is 36 characters), the message column taking the rest."""
    table = QTableView()
    table.setObjectName("bulkTable")
    table.setModel(proxy)
    _keep_selection(table, proxy)
    table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(22)
    hh = table.horizontalHeader()
    hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # never ResizeToContents: it measures every row
    hh.setStretchLastSection(True)
    _sort_by_header(table, proxy)
    digit = table.fontMetrics().horizontalAdvance("0")
    for col, chars in ((0, 6), (1, 18), (2, 15), (3, 37)):
        table.setColumnWidth(col, chars * digit)
    return table


def _sort_by_header(view: QTableView, proxy: BulkFilterModel) -> None:
    """A click on the Row, Reference ID or Status header sorts by it (again: the other way), through the
    proxy's worker; the Job ID and Message headers do not sort (their indicator goes back)."""
    hh = view.horizontalHeader()
    hh.setSectionsClickable(True)
    hh.setSortIndicatorShown(True)
    hh.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
    hh.setToolTip("Click Row, Reference ID or Status to sort by it; click again for the other way")
    current: list[tuple[int, Qt.SortOrder]] = [(0, Qt.SortOrder.AscendingOrder)]

    def clicked(column: int, order: Qt.SortOrder) -> None:
        if column not in SORT_COLUMNS:
            hh.blockSignals(True)
            hh.setSortIndicator(*current[0])
            hh.blockSignals(False)
            return
        current[0] = (column, order)
        proxy.set_sort(SORT_COLUMNS[column], order == Qt.SortOrder.DescendingOrder)

    hh.sortIndicatorChanged.connect(clicked)


def sort_box(view: QTableView) -> QComboBox:
    """The sort as a combo box (Row, Status, Reference ID), for the keyboard: choosing one sorts as a click on
    its header does, and a click on a header shows here."""
    box = QComboBox()
    box.setObjectName("sort_box")
    box.setToolTip("Sort the rows (a click on the Row, Reference ID or Status header does the same)")
    for column in SORT_COLUMNS:
        box.addItem(COLUMNS[column], column)
    hh = view.horizontalHeader()
    box.currentIndexChanged.connect(lambda _i: hh.setSortIndicator(box.currentData(), Qt.SortOrder.AscendingOrder))

    def shown(column: int, _order: Qt.SortOrder) -> None:
        i = box.findData(column)
        if i >= 0 and i != box.currentIndex():
            box.blockSignals(True)
            box.setCurrentIndex(i)
            box.blockSignals(False)

    hh.sortIndicatorChanged.connect(shown)
    return box


def _keep_selection(view: QTableView, proxy: BulkFilterModel) -> None:
    """Keep ``view``'s selected row across the filter's swaps (a reset clears the selection): the row is
    selected again when the new filter still shows it."""
    kept: list[int] = []

    def remember() -> None:
        kept[:] = [proxy.mapToSource(i).row() for i in view.selectionModel().selectedRows()][:1]

    def restore() -> None:
        if kept:
            again = proxy.mapFromSource(proxy.sourceModel().index(kept[0], 0))
            if again.isValid():
                view.selectRow(again.row())

    proxy.modelAboutToBeReset.connect(remember)
    proxy.modelReset.connect(restore)
