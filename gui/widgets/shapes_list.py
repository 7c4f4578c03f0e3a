"""The labels of a job's shapes: one row per label with its colour, whether it is shown, its name and its counts.

Like the legend: untick to hide a label, click a row to highlight it (click again or Escape to show all),
double-click the name to rename it (typing an existing label merges the two), Delete removes the label's shapes.
The rows come from core (:attr:`core.shapes.layer.ShapeLayer.labels`); edits go back as signals, and the panel
hands them to core, which returns the new fragment.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from playment_submit.core.shapes.layer import LabelRow
from playment_submit.gui.widgets.legend_table import swatch

COLS = ("Show", "Label", "Shapes")
SHORT = {"rectangles": "box", "polygons": "polygon", "lines": "line", "landmarks": "landmarks"}


def counts_text(row: LabelRow) -> str:
    """ "3 boxes, 1 polygon" for a label's counts."""
    parts = []
    for kind, n in row.counts.items():
        word = SHORT.get(kind, kind)
        plural = word if n == 1 or word.endswith("s") else ("boxes" if word == "box" else word + "s")
        parts.append(f"{n:,} {plural}")
    return ", ".join(parts)


class ShapesList(QTableWidget):
    visibility_changed = Signal(str, bool)   # label, visible
    label_selected = Signal(object)          # label or None
    label_renamed = Signal(str, str)         # old, new
    label_removed = Signal(str)              # label

    def __init__(self, parent=None):
        super().__init__(0, len(COLS), parent)
        self.setHorizontalHeaderLabels(COLS)
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.setToolTip("Click a label to highlight its shapes (click again to show all); untick to hide them; "
                        "double-click a name to rename it (an existing name merges); Delete removes its shapes.")
        self._loading = False
        self._labels: list[str] = []
        self.itemChanged.connect(self._on_item_changed)
        self.itemSelectionChanged.connect(self._on_selection_changed)
        QShortcut(QKeySequence.StandardKey.Delete, self, self._remove_selected,
                  context=Qt.ShortcutContext.WidgetShortcut)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.clearSelection,
                  context=Qt.ShortcutContext.WidgetShortcut)

    def set_rows(self, rows: list[LabelRow], hidden: set[str] | frozenset[str] = frozenset()) -> None:
        self._loading = True
        self.setRowCount(len(rows))
        self._labels = [r.label for r in rows]
        for i, row in enumerate(rows):
            show = QTableWidgetItem()
            show.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            show.setCheckState(Qt.CheckState.Unchecked if row.label in hidden else Qt.CheckState.Checked)
            show.setIcon(swatch(row.colour))
            show.setToolTip(f"{row.colour}: untick to hide the shapes labelled \"{row.label}\"")
            name = QTableWidgetItem(row.label)
            name.setFlags(name.flags() | Qt.ItemFlag.ItemIsEditable)
            count = QTableWidgetItem(counts_text(row))
            count.setFlags(count.flags() & ~Qt.ItemFlag.ItemIsEditable)
            count.setData(Qt.ItemDataRole.UserRole, row.total)
            for col, item in enumerate((show, name, count)):
                self.setItem(i, col, item)
        self._loading = False

    def label_at(self, row: int) -> str | None:
        return self._labels[row] if 0 <= row < len(self._labels) else None

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._loading:
            return
        label = self.label_at(item.row())
        if label is None:
            return
        if item.column() == 0:
            self.visibility_changed.emit(label, item.checkState() == Qt.CheckState.Checked)
        elif item.column() == 1:
            new = item.text().strip()
            if new and new != label:
                self.label_renamed.emit(label, new)
            else:  # empty or unchanged: put the name back
                self._loading = True
                item.setText(label)
                self._loading = False

    def _on_selection_changed(self) -> None:
        rows = {i.row() for i in self.selectedIndexes()}
        self.label_selected.emit(self.label_at(min(rows)) if rows else None)

    def _remove_selected(self) -> None:
        rows = {i.row() for i in self.selectedIndexes()}
        label = self.label_at(min(rows)) if rows else None
        if label is not None:
            self.label_removed.emit(label)
