"""The zoomable, pannable view: the primary image with the pre-label mask drawn over it.

The overlay never recomposites pixels in numpy after it is built. A class-index array (built once, off
the GUI thread, by ``gui.overlay``) is wrapped zero-copy in ``Format_Indexed8`` QImages whose colour table
holds the legend colours: hiding or highlighting a class rewrites a 256-entry table, opacity is the item's
opacity (applied by QPainter when the item is composed). For large masks a decimated level of detail is
drawn when zoomed out, so a repaint never has to touch 50 million pixels.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap, qRgba
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from playment_submit.gui.overlay import UNKNOWN, UNKNOWN_RGB, Overlay


class OverlayItem(QGraphicsItem):
    """Draws an :class:`Overlay` (index levels + colour table) in image coordinates."""

    def __init__(self, overlay: Overlay):
        super().__init__()
        self.overlay = overlay
        self._images: list[tuple[int, QImage]] = []
        for step, arr in overlay.levels:
            h, w = arr.shape[:2]
            if overlay.indexed:
                img = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_Indexed8)
            else:
                img = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGBA8888)
            self._images.append((step, img))
        self.visible = [True] * len(overlay.colours)
        self.highlight: int | None = None
        self._apply_table()
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.overlay.width, self.overlay.height)

    def _apply_table(self) -> None:
        if not self.overlay.indexed:
            return
        table = [qRgba(0, 0, 0, 0)]
        for i, (r, g, b) in enumerate(self.overlay.colours):
            if not self.visible[i]:
                table.append(qRgba(0, 0, 0, 0))
            elif self.highlight is not None and self.highlight != i:
                table.append(qRgba(r, g, b, 40))
            else:
                table.append(qRgba(r, g, b, 255))
        table += [qRgba(0, 0, 0, 0)] * (256 - len(table))
        table[UNKNOWN] = qRgba(*UNKNOWN_RGB, 255)  # colours the legend does not name
        for _, img in self._images:
            img.setColorTable(table)
        self.update()

    def set_class_visible(self, index: int, visible: bool) -> None:
        self.visible[index] = visible
        self._apply_table()

    def set_highlight(self, index: int | None) -> None:
        self.highlight = index
        self._apply_table()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        step, img = self._images[0]
        for s, candidate in self._images:  # the coarsest level still at least one source pixel per screen pixel
            if 1.0 / s >= lod:
                step, img = s, candidate
        exposed = option.exposedRect.intersected(self.boundingRect())
        src_f = QRectF(exposed.x() / step, exposed.y() / step, exposed.width() / step, exposed.height() / step)
        src = src_f.toAlignedRect().intersected(img.rect())
        if src.isEmpty():
            return
        target = QRectF(src.x() * step, src.y() * step, src.width() * step, src.height() * step)
        # Only the exposed part is converted for drawing: Qt converts an indexed image whole, so a
        # zoomed-in view of the full-resolution level must not hand it all 50 million pixels.
        painter.drawImage(target, img if src == img.rect() else img.copy(src))


class MaskView(QGraphicsView):
    hovered = Signal(str)  # "x 12, y 40: #ff0000 cup" or "" when off the image
    zoom_changed = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setBackgroundBrush(QColor("#2b2b2b"))
        self.setMouseTracking(True)
        self.setMinimumSize(200, 160)
        self.image_item: QGraphicsPixmapItem | None = None
        self.overlay_item: OverlayItem | None = None
        self._opacity = 0.6
        self._placeholder = self.scene().addText("Choose a primary image (File > Open, or Load sample)")
        self._placeholder.setDefaultTextColor(QColor("#dddddd"))

    # ------------------------------------------------------------- content
    def _content_changed(self) -> None:
        """The placeholder only on an empty view; a pixel readout belongs to what it was read from."""
        empty = self.image_item is None and self.overlay_item is None
        self._placeholder.setVisible(empty)
        if empty and not self.transform().isIdentity():  # an empty view is not left zoomed (Ctrl+N after zooming)
            self.resetTransform()
            self.scene().setSceneRect(self._placeholder.sceneBoundingRect())
            self.zoom_changed.emit(1.0)
        self.hovered.emit("")

    def set_image(self, image: QImage | None) -> None:
        if self.image_item is not None:
            self.scene().removeItem(self.image_item)
            self.image_item = None
        if image is not None and not image.isNull():
            self.image_item = self.scene().addPixmap(QPixmap.fromImage(image))
            self.image_item.setZValue(0)
            self.scene().setSceneRect(QRectF(image.rect()))
            self.fit()
        self._content_changed()

    def set_overlay(self, overlay: Overlay | None) -> None:
        if self.overlay_item is not None and self.overlay_item.overlay is overlay:
            return  # the same mask (e.g. a class renamed): keep the visibility and highlight the user set
        if self.overlay_item is not None:
            self.scene().removeItem(self.overlay_item)
            self.overlay_item = None
        if overlay is not None:
            self.overlay_item = OverlayItem(overlay)
            self.overlay_item.setZValue(1)
            self.overlay_item.setOpacity(self._opacity)
            self.scene().addItem(self.overlay_item)
            if self.image_item is None:
                self.scene().setSceneRect(self.overlay_item.boundingRect())
                self.fit()
        self._content_changed()

    def set_opacity(self, opacity: float) -> None:
        self._opacity = opacity
        if self.overlay_item is not None:
            self.overlay_item.setOpacity(opacity)

    def set_class_visible(self, index: int, visible: bool) -> None:
        if self.overlay_item is not None:
            self.overlay_item.set_class_visible(index, visible)

    def set_highlight(self, index: int | None) -> None:
        if self.overlay_item is not None:
            self.overlay_item.set_highlight(index)

    # ---------------------------------------------------------------- zoom
    def zoom(self, factor: float) -> None:
        self.scale(factor, factor)
        self.zoom_changed.emit(self.transform().m11())

    def fit(self) -> None:
        rect = self.scene().sceneRect()
        if not rect.isEmpty():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            self.zoom_changed.emit(self.transform().m11())

    def wheelEvent(self, event) -> None:
        self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)

    # --------------------------------------------------------------- hover
    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        self.hovered.emit(self.describe(self.mapToScene(event.position().toPoint())))

    def describe(self, point: QPointF) -> str:
        x, y = int(point.x()), int(point.y())
        item = self.overlay_item or self.image_item
        if item is None or not item.boundingRect().contains(QPointF(x + 0.5, y + 0.5)):
            return ""
        if self.overlay_item is None:
            return f"x {x}, y {y}"
        return f"x {x}, y {y}: {self.overlay_item.overlay.describe(x, y)}"
