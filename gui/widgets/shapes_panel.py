"""Shapes (vector pre-labels) beside the image: import a file, see the labels with counts, hide, highlight, rename
or remove them, hover a shape to name it, right-click it to remove it.

The panel owns no rule: importing is :func:`core.shapes.importer.import_shapes` (what ``shapes import`` runs),
geometry, colours, hover and edits are :class:`core.shapes.layer.ShapeLayer`; both run off the GUI thread where
they grow with the number of shapes. ``shapes_changed`` hands the new fragment (or None) to whoever keeps the job.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, Signal
from PySide6.QtGui import QContextMenuEvent, QMouseEvent
from PySide6.QtWidgets import (
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core.errors import ValidationError
from playment_submit.core.shapes.importer import import_shapes
from playment_submit.core.shapes.layer import ShapeLayer
from playment_submit.gui.dialogs import open_file
from playment_submit.gui.widgets.shapes_item import ShapePaths, ShapesItem, build_paths
from playment_submit.gui.widgets.shapes_list import ShapesList
from playment_submit.gui.workers import start_worker

SHAPES_FILTER = ("Annotations (*.json *.txt *.xml);;Shapes files (*.json);;YOLO labels (*.txt);;"
                 "VOC or CVAT XML (*.xml);;All files (*)")


def layer_paths(fragment: dict[str, Any], width: int, height: int) -> ShapePaths:
    """Core's layer of ``fragment`` and its painter paths (runs in a worker)."""
    return build_paths(ShapeLayer(fragment, width, height))


class ShapesPanel(QWidget):
    shapes_changed = Signal(object)   # the new maker_response fragment, or None when no shapes are left

    def __init__(self, parent=None):
        super().__init__(parent)
        self.fragment: dict[str, Any] | None = None
        self.image_path: str | None = None           # the primary image (its size frames YOLO and COCO results)
        self.image_size: tuple[int, int] | None = None     # the primary's pixel size, for drawing
        self.item: ShapesItem | None = None
        self.view: QGraphicsView | None = None
        self._generation = 0
        self._note = ""                              # what the last import said (clipped, left out, ...)
        self.setAcceptDrops(True)  # a shapes file dropped on the tab is imported
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.import_button = QPushButton("Import shapes…")  # Alt+H is the tab's
        self.import_button.setToolTip("Boxes, polygons, lines or landmarks from YOLO, COCO, LabelMe, Pascal VOC, "
                                      "CVAT or Label Studio, or a shapes file written by `shapes import`.")
        self.clear_button = QPushButton("Remove all shapes")
        row.addWidget(self.import_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.list = ShapesList()
        lay.addWidget(self.list)
        self.status = QLabel("No shapes. Import a detector's or an annotation tool's file to send them as "
                             "vector pre-labels.")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.import_button.clicked.connect(self._on_import_clicked)
        self.clear_button.clicked.connect(lambda: self._edited(None))
        self.list.visibility_changed.connect(self._on_visibility)
        self.list.label_selected.connect(self._on_selected)
        self.list.label_renamed.connect(lambda old, new: self._edit(lambda layer: layer.renamed(old, new)))
        self.list.label_removed.connect(lambda label: self._edit(lambda layer: layer.without_label(label)))
        self._show_state()

    # ---------------------------------------------------------------- wiring
    def attach_view(self, view: QGraphicsView) -> None:
        """Draw into ``view``'s scene and name the shape under the pointer there."""
        self.view = view
        view.viewport().setMouseTracking(True)
        view.viewport().installEventFilter(self)

    def set_image(self, path: str | None, size: tuple[int, int] | None) -> None:
        self.image_path = path
        if size != self.image_size:
            self.image_size = size
            self._rebuild()

    def set_fragment(self, fragment: dict[str, Any] | None) -> None:
        """Show ``fragment`` (the job's shapes, as core keeps them); no signal: the job already has it."""
        self.fragment = fragment or None
        self._rebuild()

    # ---------------------------------------------------------------- import and edits
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].toLocalFile():
            self.import_file(urls[0].toLocalFile())

    def _on_import_clicked(self) -> None:
        path = open_file(self, "shapes", "Import shapes", SHAPES_FILTER)
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> None:
        self.status.setText(f"Reading {path}…")
        self.import_button.setEnabled(False)
        worker = start_worker(import_shapes, path, image=self.image_path, owner=self)
        worker.returned.connect(self._on_imported)
        worker.errored.connect(self._on_import_failed)
        worker.finished.connect(lambda: self.import_button.setEnabled(True))

    def _on_imported(self, done) -> None:
        self._edited(done.fragment, " ".join(done.notes))

    def _on_import_failed(self, error: Exception) -> None:
        if isinstance(error, ValidationError):
            text = " ".join(p.text("gui") for p in error.problems[:3])
            more = len(error.problems) - 3
            self.status.setText(text + (f" (and {more} more)" if more > 0 else ""))
        else:
            self.status.setText(str(error) or type(error).__name__)

    def _edit(self, change) -> None:
        if self.item is not None:
            self._edited(change(self.item.layer) or None)

    def _edited(self, fragment: dict[str, Any] | None, note: str = "") -> None:
        self.fragment = fragment or None
        self._note = note
        self._rebuild()
        self.shapes_changed.emit(self.fragment)

    # ---------------------------------------------------------------- drawing
    def _rebuild(self) -> None:
        self._generation += 1
        if self.fragment is None or self.image_size is None:
            self._swap(None)
            return
        generation = self._generation
        worker = start_worker(layer_paths, self.fragment, self.image_size[0], self.image_size[1], owner=self)
        worker.returned.connect(lambda paths: self._built(generation, paths))

    def _built(self, generation: int, paths: ShapePaths) -> None:
        if generation == self._generation:  # not an older fragment or size finishing late
            self._swap(paths)

    def _swap(self, paths: ShapePaths | None) -> None:
        hidden = self.item.hidden if self.item is not None else set()
        if self.item is not None and self.item.scene() is not None:
            self.item.scene().removeItem(self.item)
        self.item = None
        if paths is not None:
            self.item = ShapesItem(paths)
            self.item.hidden = {h for h in hidden if any(r.label == h for r in paths.layer.labels)}
            if self.view is not None and self.view.scene() is not None:
                self.view.scene().addItem(self.item)
        self._show_state()

    def _show_state(self) -> None:
        layer = self.item.layer if self.item is not None else None
        self.list.set_rows(layer.labels if layer else [], self.item.hidden if self.item else set())
        self.clear_button.setEnabled(self.fragment is not None)
        note = self._note
        if layer is not None:
            n = len(layer.outlines)
            skipped = f"; {layer.skipped} not drawn (see the job's problems)" if layer.skipped else ""
            self.status.setText(f"{n:,} shape{'s' if n != 1 else ''} in {len(layer.labels)} "
                                f"label{'s' if len(layer.labels) != 1 else ''}{skipped}. {note}".strip())
        elif self.fragment is not None:
            self.status.setText("Shapes are drawn once the primary image is shown.")

    def _on_visibility(self, label: str, visible: bool) -> None:
        if self.item is not None:
            self.item.set_label_visible(label, visible)

    def _on_selected(self, label: str | None) -> None:
        if self.item is not None:
            self.item.set_highlight(label)

    # ---------------------------------------------------------------- hover and right-click
    def _image_point(self, pos) -> QPointF | None:
        if self.view is None or self.item is None:
            return None
        return self.view.mapToScene(pos)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if isinstance(event, QMouseEvent) and kind == QEvent.Type.MouseMove and self.item is not None:
            point = self._image_point(event.position().toPoint())
            text = self.item.describe(point) if point is not None else ""
            if text:
                QToolTip.showText(event.globalPosition().toPoint(), text, self.view)
            else:
                QToolTip.hideText()
        elif isinstance(event, QContextMenuEvent) and self.item is not None:
            point = self._image_point(event.pos())
            outline = self.item.layer.hit(point.x(), point.y(), self.item.hidden) if point is not None else None
            if outline is not None:
                menu = QMenu(self)
                remove = menu.addAction(f"Remove {outline.describe()}")
                if menu.exec(event.globalPos()) is remove:
                    self._edit(lambda layer, o=outline: layer.without_shape(o))
                return True
        return super().eventFilter(obj, event)
