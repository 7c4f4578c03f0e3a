"""The legend: one row per colour with its swatch, visibility, editable colour and name, pixel count and share.

Rows are given by the mask panel (core decides what is wrong: a bad key, a name two colours share); the
table only shows it: a marked row gets the status colour and the sentence as its tooltip. Clicking the
selected row again clears the selection (and so the highlight); so does Escape."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from playment_submit.core.legend import key_problem
from playment_submit.gui.style import status_colour

COLS = ("Show", "Colour", "Name", "Pixels", "Share")


def swatch(hexkey: str, size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor("#606060"))  # a frame, so white and pale classes stay visible on a white table
    inner = QPixmap(size - 2, size - 2)
    colour = QColor(hexkey) if key_problem(hexkey) is None else QColor()
    if colour.isValid():
        inner.fill(colour)
    else:  # not a colour (a bad key): a crossed box, never black, which would mean "unlabelled"
        inner.fill(QColor("#ffffff"))
        p = QPainter(inner)
        p.setPen(QColor("#c5221f"))
        p.drawLine(0, 0, size - 3, size - 3)
        p.drawLine(0, size - 3, size - 3, 0)
        p.end()
    painter = QPainter(pm)
    painter.drawPixmap(1, 1, inner)
    painter.end()
    return QIcon(pm)


class LegendTable(QTableWidget):
    visibility_changed = Signal(int, bool)   # legend row, visible
    name_edited = Signal(str, str)           # "#rrggbb", new name
    colour_edited = Signal(str, str)         # the key as it is, the colour typed
    class_selected = Signal(object)          # legend row or None

    def __init__(self, parent=None):
        super().__init__(0, len(COLS), parent)
        self.setHorizontalHeaderLabels(COLS)
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.setToolTip("Click a row to highlight that class (click it again to show all); untick to hide it; "
                        "double-click a colour or a name to edit it.")
        self._loading = False
        self.itemChanged.connect(self._on_item_changed)
        self.itemSelectionChanged.connect(self._on_selection_changed)

    def set_rows(self, rows: list[tuple[str, str, int | None, float | None]], *, toggles: bool = True,
                 marks: dict[str, tuple[str, str]] | None = None) -> None:
        """rows: (hex, name, pixels or None, share or None). ``toggles=False`` greys out the Show boxes (the
        view draws the mask as it is, e.g. with more classes than a colour table holds). ``marks``: key ->
        (status, sentence) for rows core found something wrong with (a bad key, a shared name)."""
        marks = marks or {}
        self._loading = True
        self.clearContents()
        self.setRowCount(len(rows))
        for r, (hexkey, name, pixels, share) in enumerate(rows):
            show = QTableWidgetItem()
            show.setFlags((Qt.ItemFlag.ItemIsUserCheckable if toggles else Qt.ItemFlag.NoItemFlags)
                          | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            show.setCheckState(Qt.CheckState.Checked)
            if not toggles:
                show.setToolTip("With more than 253 classes the mask is drawn as it is: classes cannot be "
                                "hidden one by one.")
            colour = QTableWidgetItem(swatch(hexkey), hexkey)
            colour.setData(Qt.ItemDataRole.UserRole, hexkey)
            colour.setToolTip("Double-click to type the colour (#rrggbb)")
            name_item = QTableWidgetItem(name)
            px = QTableWidgetItem("" if pixels is None else f"{pixels:,}")
            sh = QTableWidgetItem("" if share is None else f"{share * 100:.1f} %")
            for item in (px, sh):
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            mark = marks.get(hexkey)
            if mark is not None:
                for item in (colour, name_item):
                    item.setForeground(status_colour(mark[0]))
                    item.setToolTip(mark[1])
            for c, item in enumerate((show, colour, name_item, px, sh)):
                self.setItem(r, c, item)
        self._loading = False

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        item = self.item(row, column)
        assert item is not None  # every row is filled when it is added
        return item

    def legend(self) -> dict[str, str]:
        return {self._cell(r, 1).data(Qt.ItemDataRole.UserRole): self._cell(r, 2).text()
                for r in range(self.rowCount())}

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._loading:
            return
        if item.column() == 0:
            self.visibility_changed.emit(item.row(), item.checkState() == Qt.CheckState.Checked)
        elif item.column() == 2:
            self.name_edited.emit(self._cell(item.row(), 1).data(Qt.ItemDataRole.UserRole), item.text())
        elif item.column() == 1:
            old = item.data(Qt.ItemDataRole.UserRole)
            if item.text().strip() != old:
                self.colour_edited.emit(old, item.text().strip())

    def selected_key(self) -> str | None:
        """The legend key of the selected row, as written."""
        rows = {i.row() for i in self.selectedIndexes()}
        return self._cell(min(rows), 1).data(Qt.ItemDataRole.UserRole) if rows else None

    def mousePressEvent(self, event) -> None:
        index = self.indexAt(event.position().toPoint())
        if (index.isValid() and index.column() != 0 and event.button() == Qt.MouseButton.LeftButton
                and self.selectionModel().isRowSelected(index.row(), index.parent())):
            self.clearSelection()  # a second click on the highlighted class shows all classes again
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.selectedIndexes() and self.state() != self.State.EditingState:
            self.clearSelection()
            return
        super().keyPressEvent(event)

    def _on_selection_changed(self) -> None:
        rows = {i.row() for i in self.selectedIndexes()}
        self.class_selected.emit(next(iter(rows)) if rows else None)
