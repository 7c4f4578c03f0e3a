"""The legend: one row per colour with its swatch, visibility, editable name, pixel count and share."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

COLS = ("Show", "Colour", "Name", "Pixels", "Share")


def swatch(hexkey: str, size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor("#606060"))  # a frame, so white and pale classes stay visible on a white table
    inner = QPixmap(size - 2, size - 2)
    inner.fill(QColor(hexkey))
    painter = QPainter(pm)
    painter.drawPixmap(1, 1, inner)
    painter.end()
    return QIcon(pm)


class LegendTable(QTableWidget):
    visibility_changed = Signal(int, bool)   # legend row, visible
    name_edited = Signal(str, str)           # "#rrggbb", new name
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
        self.setToolTip("Click a row to highlight that class; untick to hide it; double-click a name to edit it.")
        self._loading = False
        self.itemChanged.connect(self._on_item_changed)
        self.itemSelectionChanged.connect(self._on_selection_changed)

    def set_rows(self, rows: list[tuple[str, str, int | None, float | None]], *, toggles: bool = True) -> None:
        """rows: (hex, name, pixels or None, share or None). ``toggles=False`` greys out the Show boxes (the
        view draws the mask as it is, e.g. with more classes than a colour table holds)."""
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
            colour.setFlags(colour.flags() & ~Qt.ItemFlag.ItemIsEditable)
            colour.setData(Qt.ItemDataRole.UserRole, hexkey)
            name_item = QTableWidgetItem(name)
            px = QTableWidgetItem("" if pixels is None else f"{pixels:,}")
            sh = QTableWidgetItem("" if share is None else f"{share * 100:.1f} %")
            for item in (px, sh):
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
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

    def _on_selection_changed(self) -> None:
        rows = {i.row() for i in self.selectedIndexes()}
        self.class_selected.emit(next(iter(rows)) if rows else None)
