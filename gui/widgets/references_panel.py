"""Reference camera images: rows of label + image with thumbnails; add, remove, reorder, rename.

Labels are edited in place; rows reorder by drag. Which labels are empty or duplicated is decided by
core's validation (``set_problems``); this widget only marks the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QImage, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core.errors import Problem
from playment_submit.core.job import IMAGES_PATH, is_local_path, location_name
from playment_submit.gui.dialogs import open_files
from playment_submit.gui.style import status_background, status_colour
from playment_submit.gui.widgets.primary_panel import IMAGE_FILTER, load_image
from playment_submit.gui.workers import alive, start_worker

URL_ROLE = Qt.ItemDataRole.UserRole


def thumbnail(location: str, client: Any = None) -> QImage:
    """A 64x48 thumbnail of a local file or an http(s) URL (fetched with the preview's size cap and
    timeout); raises ValueError with a sentence for s3://, gs:// and unreadable images."""
    image = load_image(location, client)
    return image.scaled(64, 48, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


def _two_lines(label: str, location: str) -> str:
    return f"{label}\n{location_name(location)}"


def row_text(item: QListWidgetItem) -> str:
    """What a camera row shows: its label, and under it the file name of its image (the label alone is
    edited and sent)."""
    return _two_lines(item.text(), item.data(URL_ROLE))


class CameraDelegate(QStyledItemDelegate):
    """Draws a row as :func:`row_text` (two lines); editing edits the label only."""

    def initStyleOption(self, option, index) -> None:
        super().initStyleOption(option, index)
        # U+2028: the item delegate breaks lines there (a plain newline is drawn as nothing)
        text = _two_lines(index.data(Qt.ItemDataRole.DisplayRole), index.data(URL_ROLE))
        option.text = text.replace("\n", "\u2028")


class ReferenceList(QListWidget):
    """Rows reorder by internal drag; files or URLs dropped from outside become new rows. Empty, the list
    says how to add cameras."""
    locations_dropped = Signal(list)
    empty_hint = ("No reference cameras yet (they are optional).\n\nAdd files… or Add URL… below, or drop "
                  "images here; double-click a row to rename its camera.")

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.count() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.viewport().rect().adjusted(12, 12, -12, -12),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                             self.empty_hint)
            painter.end()

    def _external(self, event) -> bool:
        return event.source() is None and event.mimeData().hasUrls()

    def dragEnterEvent(self, event) -> None:
        if self._external(event):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if self._external(event):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:
        if self._external(event):
            self.locations_dropped.emit([u.toLocalFile() or u.toString() for u in event.mimeData().urls()])
            event.acceptProposedAction()
        else:
            super().dropEvent(event)


class ReferencesPanel(QWidget):
    references_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        # The session's client for URLs on the API's own host (the window sets it; None: fetched keyless).
        self.preview_client: Callable[[], Any] = lambda: None
        lay = QVBoxLayout(self)
        self.list = ReferenceList()
        self.list.setIconSize(QSize(64, 48))
        self.list.setItemDelegate(CameraDelegate(self.list))
        # Where the first "Add files…" dialog opens: the primary image's folder (the window sets it).
        self.start_folder: Callable[[], str] = lambda: ""
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.setToolTip("Double-click a row to rename the camera; drag rows to reorder them; drop image "
                             "files here to add them.")
        lay.addWidget(self.list)
        row = QHBoxLayout()
        self.add_files = QPushButton("Add files…")
        self.add_url = QPushButton("Add URL…")
        self.remove = QPushButton("Remove")
        self.remove.setToolTip("Remove the selected cameras (Delete)")
        # Delete (and Backspace on a Mac keyboard) removes the selected rows while the list has focus.
        self.remove_action = QAction("Remove camera", self.list)
        self.remove_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.Delete),
                                         QKeySequence(Qt.Key.Key_Backspace)])
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.remove_action.triggered.connect(self._on_remove_clicked)
        self.list.addAction(self.remove_action)
        for b in (self.add_files, self.add_url, self.remove):
            row.addWidget(b)
        lay.addLayout(row)
        self._workers = []
        self.add_files.clicked.connect(self._on_add_files_clicked)
        self.list.locations_dropped.connect(self._on_locations_dropped)
        self.add_url.clicked.connect(self._on_add_url_clicked)
        self.remove.clicked.connect(self._on_remove_clicked)
        self.list.itemChanged.connect(lambda _item: self.references_changed.emit())
        self.list.model().rowsMoved.connect(lambda *_: self.references_changed.emit())

    # -------------------------------------------------------------- content
    def references(self) -> list[tuple[str, str]]:
        """(label, path or URL) in row order."""
        return [(self.list.item(i).text(), self.list.item(i).data(URL_ROLE)) for i in range(self.list.count())]

    def add(self, location: str, label: str | None = None) -> None:
        label = label if label is not None else self._next_label()
        item = QListWidgetItem(label)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled)
        item.setData(URL_ROLE, location)
        item.setToolTip(location)
        self.list.blockSignals(True)
        self.list.addItem(item)
        self.list.blockSignals(False)
        if not location.startswith(("s3://", "gs://")) and (not is_local_path(location) or Path(location).is_file()):
            worker = start_worker(thumbnail, location, self.preview_client(), owner=self)
            # The row may have been removed (and its item deleted) before its thumbnail arrives.
            worker.returned.connect(lambda image, it=item: alive(it) and it.setIcon(QIcon(QPixmap.fromImage(image))))
            worker.errored.connect(lambda e, it=item: alive(it) and it.setToolTip(f"{it.data(URL_ROLE)}\n{e}"))
            self._workers.append(worker)
            worker.finished.connect(lambda w=worker: self._workers.remove(w))
        self.references_changed.emit()

    def clear(self) -> None:
        self.list.clear()
        self.references_changed.emit()

    def _next_label(self) -> str:
        used = {self.list.item(i).text() for i in range(self.list.count())}
        n = self.list.count() + 1
        while f"camera {n}" in used:
            n += 1
        return f"camera {n}"

    def set_problems(self, problems: list[Problem]) -> None:
        """Mark the rows core found wrong (empty or duplicate labels, bad URLs)."""
        marks: dict[int, list[str]] = {}
        for p in problems:
            if p.path.startswith(IMAGES_PATH + "["):
                index = int(p.path[len(IMAGES_PATH) + 1:].split("]")[0])
                marks.setdefault(index, []).append(p.message)
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            if i in marks:
                item.setForeground(status_colour("error"))
                item.setBackground(status_background("error"))
                item.setToolTip("\n".join(marks[i]))
                item.setStatusTip(marks[i][0])
                if not item.text().strip():
                    item.setText("")
            else:
                item.setForeground(self.palette().text().color())
                item.setBackground(self.palette().base())
                item.setToolTip(item.data(URL_ROLE))
                item.setStatusTip("")
        self.list.blockSignals(False)

    # -------------------------------------------------------------- actions
    def _on_add_files_clicked(self) -> None:
        paths = open_files(self, "references", "Reference camera images", IMAGE_FILTER, self.start_folder())
        for p in paths:
            self.add(p)

    def _on_locations_dropped(self, locations: list) -> None:
        for location in locations:
            self.add(location)

    def _on_add_url_clicked(self) -> None:
        text, ok = QInputDialog.getMultiLineText(self, "Reference image URLs", "One URL per line:")
        if ok:
            for line in text.splitlines():
                if line.strip():
                    self.add(line.strip())

    def _on_remove_clicked(self) -> None:
        if self.list.state() == QAbstractItemView.State.EditingState:
            return  # Delete while renaming edits the name
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self.references_changed.emit()
