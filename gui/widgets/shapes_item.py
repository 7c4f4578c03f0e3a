"""Vector pre-labels drawn over the image: one QGraphicsItem for all of a job's shapes.

Geometry, colours, the label table and hover come from core (:class:`core.shapes.layer.ShapeLayer`); this item
only paints. Each label is one QPainterPath built once (off the GUI thread by :func:`build_paths`: QPainterPath
is a value type), drawn as an outline with a cosmetic pen (the same width at any zoom) and a light fill of the
label's colour; hiding or highlighting a label repaints, nothing is rebuilt. Painting 5,000 boxes is a handful
of path draws, not 5,000 items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem

from playment_submit.core.shapes.layer import ShapeLayer

FILL_ALPHA = 48
HIGHLIGHT_FILL_ALPHA = 110
DIMMED_ALPHA = 70
LANDMARK_RADIUS = 3.0


@dataclass
class ShapePaths:
    """What the item draws: the layer, and per label its boxes (axis-aligned rectangles: drawn with drawRects,
    culled to the exposed area, no antialiasing needed), its other areas as one path (filled) and its lines and
    landmarks as one path (not filled)."""
    layer: ShapeLayer
    areas: dict[str, QPainterPath]
    strokes: dict[str, QPainterPath]
    boxes: dict[str, tuple[np.ndarray, list[QRectF]]]


def build_paths(layer: ShapeLayer) -> ShapePaths:
    """The painter paths of every label of ``layer`` (runs in a worker)."""
    areas: dict[str, QPainterPath] = {}
    strokes: dict[str, QPainterPath] = {}
    corners: dict[str, list[tuple[float, float, float, float]]] = {}
    for o in layer.outlines:
        if o.kind == "rectangles" and _axis_aligned(o.points):
            corners.setdefault(o.label, []).append(o.box)
        elif o.closed:
            path = areas.setdefault(o.label, QPainterPath())
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in o.points]))
            path.closeSubpath()
        elif o.kind == "lines":
            path = strokes.setdefault(o.label, QPainterPath())
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in o.points]))
        else:  # a landmark group: small circles
            path = strokes.setdefault(o.label, QPainterPath())
            for x, y in o.points:
                path.addEllipse(QPointF(x, y), LANDMARK_RADIUS, LANDMARK_RADIUS)
    boxes = {label: (np.array(c, dtype=np.float64).reshape(-1, 4),
                     [QRectF(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in c]) for label, c in corners.items()}
    return ShapePaths(layer, areas, strokes, boxes)


def _axis_aligned(pts: list[tuple[float, float]]) -> bool:
    return len(pts) == 4 and pts[0][1] == pts[1][1] and pts[2][1] == pts[3][1] and pts[0][0] == pts[3][0] \
        and pts[1][0] == pts[2][0]


class ShapesItem(QGraphicsItem):
    """Draws a :class:`ShapePaths` in image coordinates over the primary image."""

    def __init__(self, paths: ShapePaths):
        super().__init__()
        self.paths = paths
        self.colours = {row.label: QColor(row.colour) for row in paths.layer.labels}
        self.hidden: set[str] = set()
        self.highlight: str | None = None
        self.setZValue(2)  # over the image and the mask
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)  # exposedRect: cull

    @property
    def layer(self) -> ShapeLayer:
        return self.paths.layer

    def boundingRect(self) -> QRectF:
        pad = LANDMARK_RADIUS + 2
        return QRectF(-pad, -pad, self.layer.width + 2 * pad, self.layer.height + 2 * pad)

    def set_label_visible(self, label: str, visible: bool) -> None:
        (self.hidden.discard if visible else self.hidden.add)(label)
        self.update()

    def set_highlight(self, label: str | None) -> None:
        self.highlight = label
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        exposed = option.exposedRect
        ex0, ey0, ex1, ey1 = exposed.left(), exposed.top(), exposed.right(), exposed.bottom()
        for label, colour in self.colours.items():
            if label in self.hidden:
                continue
            lit = self.highlight == label
            dim = self.highlight is not None and not lit
            pen_colour = QColor(colour)
            if dim:
                pen_colour.setAlpha(DIMMED_ALPHA)
            pen = QPen(pen_colour, 3.0 if lit else 1.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
            fill = QColor(colour)
            fill.setAlpha(HIGHLIGHT_FILL_ALPHA if lit else (FILL_ALPHA // 3 if dim else FILL_ALPHA))
            painter.setBrush(fill)
            boxes = self.paths.boxes.get(label)
            if boxes is not None:
                corners, rects = boxes
                seen = np.flatnonzero((corners[:, 0] <= ex1) & (corners[:, 2] >= ex0) & (corners[:, 1] <= ey1)
                                      & (corners[:, 3] >= ey0))
                painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
                painter.drawRects([rects[i] for i in seen] if len(seen) < len(rects) else rects)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            area = self.paths.areas.get(label)
            if area is not None:
                painter.drawPath(area)
            stroke = self.paths.strokes.get(label)
            if stroke is not None:
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawPath(stroke)

    def describe(self, point: QPointF) -> str:
        """What is under an image point: "rectangle 3 ("car")", or ""."""
        return self.layer.describe(point.x(), point.y(), self.hidden)
