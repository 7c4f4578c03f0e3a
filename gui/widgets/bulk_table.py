"""The Bulk tab's row table: a QAbstractTableModel that reads the run's rows a page at a time from core's view
of its row store (core.bulk_view.RowView), keeping a few pages, so that a million rows scroll smoothly and the
window holds only what is on screen. While sending, rows started and results arriving from the workers are
applied every 150 ms: a row in flight is shown from the send's feed until its result can be read back.
The words, the rule for what a row shows, the filters and the sorts are core's (core.bulk_rows, core.bulk_view).
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from typing import Any

from PySide6.QtCore import (
    QAbstractProxyModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QComboBox, QHeaderView, QTableView

from playment_submit.core.bulk_rows import is_row_order, status_word
from playment_submit.core.bulk_view import VIEW_PAGE, RowView, ShownRow
from playment_submit.gui.style import status_colour
from playment_submit.gui.workers import Worker, start_worker

COLUMNS = ("Row", "Reference ID", "Status", "Job ID", "Message")
# a row's status code (core.manifest action or core.bulk result) -> gui/style.py's status (its colour);
# the words shown are core.bulk_rows.status_word's
STATUS_STYLES = {"invalid": "error", "failed": "error", "ambiguous": "warning", "changed": "warning",
                 "skip_failed": "warning", "created": "ok", "recovered": "ok", "skipped": "muted", "done": "muted",
                 "in_flight": "muted"}
FILTER_LABELS = {"all": "All rows", "problems": "Problems", "sent": "Sent"}
PAGES_KEPT = 8  # pages of VIEW_PAGE rows the model keeps (a screen shows one or two)
IN_FLIGHT = ("in_flight", "", "")
READ_WAIT = 0.005  # seconds a page read waits for the row store at most


# -------------------------------------------------------------------------------------------- model
class BulkRowsModel(QAbstractTableModel):
    """A run's rows, read from its :class:`RowView` a page at a time (see the module's doc). A page is read
    waiting ``READ_WAIT`` at most for the store (a send's worker may be writing a group of results, or giving
    every row its next action): when it is busy, the page last read is shown and read again a moment later."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.view: RowView | None = None
        self._n = 0
        self._pages: OrderedDict[int, list[ShownRow]] = OrderedDict()
        self._stale: set[int] = set()  # pages to read again (the store changed since)
        # row number -> (status code, job ID, message) from the send's feed: rows in flight, and results until
        # the store has them and the page that shows them was read again
        self._live: dict[int, tuple[str, str, str]] = {}
        self._changed = False
        self._again = QTimer(self)
        self._again.setSingleShot(True)
        self._again.setInterval(100)
        self._again.timeout.connect(self._repaint)

    def set_view(self, view: RowView | None) -> None:
        """Show ``view``'s rows (None: none)."""
        self.beginResetModel()
        self.view = view
        self._n = len(view) if view is not None else 0
        self._pages.clear()
        self._stale.clear()
        self._live.clear()
        self.endResetModel()

    def refresh(self) -> None:
        """The rows changed in the store (a dry run, a send, a retry): the pages on screen are read again."""
        self._stale = set(self._pages)
        self._changed = False
        self._repaint()

    def _repaint(self) -> None:
        if self._n:
            self.dataChanged.emit(self.index(0, 0), self.index(self._n - 1, len(COLUMNS) - 1))

    def _page(self, number: int) -> list[ShownRow] | None:
        page = self._pages.get(number)
        if (page is None or number in self._stale) and self.view is not None:
            fresh = self.view.page(number * VIEW_PAGE, wait=READ_WAIT)
            if fresh is None:  # the store is busy: the last page read (if any) for now, and again soon
                self._again.start()
                return page
            page = self._pages[number] = fresh
            self._stale.discard(number)
            while len(self._pages) > PAGES_KEPT:
                self._stale.discard(self._pages.popitem(last=False)[0])
            for row in fresh:  # results the page now says themselves need no overlay
                if self._live.get(row[0]) == row[2:]:
                    del self._live[row[0]]
        if page is not None:
            self._pages.move_to_end(number)
        return page

    def shown(self, i: int) -> ShownRow | None:
        """Row ``i`` as shown: row number, reference ID, status code, job ID, message."""
        if self.view is None or not 0 <= i < self._n:
            return None
        number, k = divmod(i, VIEW_PAGE)
        page = self._page(number)
        if page is None or k >= len(page):
            return None
        row = page[k]
        live = self._live.get(row[0])
        return row if live is None else (row[0], row[1], *live)

    # a send's rows, applied every 150 ms
    def take_events(self, events: list[tuple[str, Any]]) -> None:
        """A send's rows, in the order they happened (gui/widgets/bulk_work.RowFeed): ("start", row number)
        shows the row in flight, ("result", RowResult) its result (written to the store with its group)."""
        for kind, what in events:
            if kind == "start":
                self._live[what] = IN_FLIGHT
            else:
                self._live[what.row] = (what.status, what.job_id or "", what.message)
            self._changed = True

    def flush(self) -> None:
        """Show what :meth:`take_events` took. The overlay keeps a result only while the store has not written
        it, or while a page kept here shows its row (until that page is read again): at most a group of
        results and the rows on screen, however many rows the send has sent."""
        if not self._changed:
            return
        unwritten = self.view.store.unwritten() if self.view is not None else set()
        if unwritten is not None:
            kept = {row[0] for page in self._pages.values() for row in page}
            self._live = {row: shown for row, shown in self._live.items()
                          if shown is IN_FLIGHT or row in unwritten or row in kept}
        self.refresh()

    def send_ended(self) -> None:
        """The send ended: no row is in flight; every result is in the store."""
        self._live.clear()
        self.refresh()

    def status(self, i: int) -> str:
        """The Status column's words for row ``i`` (plain words, not codes)."""
        return status_word(self.code(i))

    def code(self, i: int) -> str:
        """Row ``i``'s status code: its action before a send, its result (``created``, ``not_sent``...) after."""
        row = self.shown(i)
        return row[2] if row is not None else ""

    # Qt interface
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        c = index.column()
        if role == Qt.ItemDataRole.DisplayRole or (role == Qt.ItemDataRole.ToolTipRole and c == 4):
            row = self.shown(index.row())
            if row is None:
                return None
            return status_word(row[2]) if c == 2 else row[c]
        if role == Qt.ItemDataRole.ForegroundRole and c == 2:
            style = STATUS_STYLES.get(self.code(index.row()))
            return QBrush(status_colour(style)) if style else None
        return None


SORT_COLUMNS = {0: "row", 1: "reference_id", 2: "status"}  # the columns a click on the header sorts by


def ordered(view: RowView, filter_name: str, sort: str, descending: bool,
            cancel_event: threading.Event | None = None) -> tuple[array | None, array | None]:
    """core's order of the rows a filter shows and its inverse (core.bulk_view.RowView.order): in a worker."""
    return view.order(filter_name, sort, descending, cancel_event)


class BulkFilterModel(QAbstractProxyModel):
    """The rows a filter of core.bulk_rows.FILTERS shows (all / problems / sent), in the order a sort of
    core.bulk_rows.SORTS asks (row, status, reference ID; either way): every row in row order is no array;
    anything else is an array of source rows (4 bytes a row) that core's ``RowView.order`` makes in a worker
    from the row store and that is swapped in here, so that choosing a filter or a sort, or refreshing it while
    sending, asks no row on the GUI thread (Qt's own filtering and sorting would call ``data()`` for every
    row, each a page read). A new question cancels the walk still answering the last one.
    ``filtered`` says when a filter's rows are shown."""

    filtered = Signal(str)

    def __init__(self, source: BulkRowsModel, parent=None):
        super().__init__(parent)
        self._rows_model = source
        self.filter_name = "all"
        self.sort_key, self.descending = "row", False
        self._map: array | None = None  # proxy row -> source row; None: every row, in order
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
        if self._worker is not None:
            self._worker.cancel()  # an answer still coming is superseded: its walk stops
        self._worker = None
        view = self._rows_model.view
        if view is None or is_row_order(self.filter_name, self.sort_key, self.descending):
            if self._map is not None:
                self._swap(None, None)
            self.filtered.emit(self.filter_name if view is None else "all")
            return None
        asked = (self.filter_name, self.sort_key, self.descending)
        w = start_worker(ordered, view, *asked, owner=self)
        w.returned.connect(lambda found, w=w, asked=asked: self._found(w, asked, found))
        w.errored.connect(lambda _e, w=w: self._lost(w))
        self._worker = w
        return w

    def _found(self, worker: Worker, asked: tuple[str, str, bool], found: tuple[Any, Any]) -> None:
        if worker is self._worker and asked == (self.filter_name, self.sort_key, self.descending):
            self._worker = None
            self._swap(*found)  # the latest question's answer only
            self.filtered.emit(asked[0])

    def _lost(self, worker: Worker) -> None:
        if worker is self._worker:  # its store was closed under it (another manifest): nothing to show from it
            self._worker = None

    def finding(self) -> bool:
        """Whether a worker is still finding the rows to show (a refresh now would cancel its walk)."""
        return self._worker is not None

    def _swap(self, rows: array | None, inverse: array | None) -> None:
        self.beginResetModel()
        self._map, self._inverse = rows, inverse
        self.endResetModel()

    def _source_reset(self) -> None:
        # another manifest: its rows are being found (none shown meanwhile, unless every row in order)
        self._map = None if is_row_order(self.filter_name, self.sort_key, self.descending) else array("i")
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


SORT_CHOICES = ((0, False, "Row"), (1, False, "Reference ID"), (2, False, "Status"), (0, True, "Row, last first"),
                (1, True, "Reference ID, Z to A"), (2, True, "Status, done first"))


def sort_box(view: QTableView) -> QComboBox:
    """The sort as a combo box (each sortable column, either way), for the keyboard: choosing one sorts as a
    click on its header does, and a click on a header shows here."""
    box = QComboBox()
    box.setObjectName("sort_box")
    box.setToolTip("Sort the rows (a click on the Row, Reference ID or Status header does the same)")
    for _column, _descending, label in SORT_CHOICES:
        box.addItem(label)  # item i is SORT_CHOICES[i]
    hh = view.horizontalHeader()

    def chosen(i: int) -> None:
        column, descending, _label = SORT_CHOICES[i]
        hh.setSortIndicator(column, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)

    box.currentIndexChanged.connect(chosen)

    def shown(column: int, order: Qt.SortOrder) -> None:
        asked = (column, order == Qt.SortOrder.DescendingOrder)
        i = next((k for k, choice in enumerate(SORT_CHOICES) if choice[:2] == asked), -1)
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
