"""The Results view's drawing half: a selected job's masks turned into QImages (in a worker) and the canvas that
stacks them over the primary image. The files are read and reviewed by ``core.delivered.read_job``; nothing
here knows a file name or format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from playment_submit.core.delivered import DeliveredJob, primary_image_url, read_job
from playment_submit.core.review import JobReview
from playment_submit.core.shapes.delivered import read_shapes
from playment_submit.core.shapes.layer import ShapeLayer
from playment_submit.gui.widgets.primary_panel import load_image, qimage_from_array
from playment_submit.gui.widgets.shapes_item import ShapePaths, ShapesItem, build_paths

DIFF_RGBA = (255, 30, 30, 200)
DEFAULT_SHAPES_CANVAS = (1000, 750)  # shapes of a job whose image is not at hand are drawn on this grid


@dataclass
class JobImages:
    """A selected job, read and converted in a worker: QImages ready to become pixmaps, and its review."""

    row: DeliveredJob
    delivered: QImage | None      # None: a vector job (shapes only)
    prelabel: QImage | None
    difference: QImage | None
    primary: QImage | None
    primary_note: str
    review: JobReview | None      # arrays dropped; None without a pre-label
    shapes: ShapePaths | None = None           # the delivered shapes, drawn over the image
    prelabel_shapes: ShapePaths | None = None  # the shapes that were sent


def _difference_image(difference: np.ndarray) -> QImage:
    layer = np.zeros((*difference.shape, 4), dtype=np.uint8)
    layer[difference] = DIFF_RGBA
    return qimage_from_array(layer)


def load_job(row: DeliveredJob, journal: Any, client: Any = None) -> JobImages:
    """A job's masks (reviewed when it had a pre-label) and its primary image, as QImages. Runs in a worker;
    raises core's ValidationError with a sentence for files that cannot be read."""
    review = None
    prelabel = difference = delivered = None
    if row.has_mask:
        masks = read_job(row)
        review = masks.review
        if review is not None and review.prelabel_rgba is not None and review.difference is not None:
            prelabel = qimage_from_array(review.prelabel_rgba)
            difference = _difference_image(review.difference)
            review.prelabel_rgba = review.delivered_rgba = None  # the QImages hold what is drawn
            review.difference = None
        delivered = qimage_from_array(masks.delivered)
    primary, note = None, ""
    image_url = primary_image_url(journal, row)
    if image_url:
        try:
            primary = load_image(image_url, client)
        except ValueError as e:
            note = f"Primary image not shown: {e}"
    else:
        note = "Primary image not shown: the journal has no image URL for this job."
    shapes = sent = None
    if row.shapes_file is not None:
        size = delivered.size() if delivered is not None else primary.size() if primary is not None else None
        w, h = (size.width(), size.height()) if size is not None else DEFAULT_SHAPES_CANVAS
        shapes = build_paths(ShapeLayer(read_shapes(row.shapes_file), w, h))
        if row.prelabel_shapes_file is not None:
            sent = build_paths(ShapeLayer(read_shapes(row.prelabel_shapes_file), w, h))
    return JobImages(row, delivered, prelabel, difference, primary, note, review, shapes, sent)


class ResultsCanvas(QGraphicsView):
    """The primary image with one mask layer and the difference layer over it; fits the view when resized."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(Qt.GlobalColor.darkGray)
        self.setMinimumSize(200, 150)
        self.shapes_item: ShapesItem | None = None
        self.base_layer = QGraphicsPixmapItem()
        self.mask_layer = QGraphicsPixmapItem()
        self.diff_layer = QGraphicsPixmapItem()
        for z, item in enumerate((self.base_layer, self.mask_layer, self.diff_layer)):
            item.setZValue(z)
            self.scene().addItem(item)

    def show_shapes(self, paths: ShapePaths | None) -> None:
        """Draw ``paths`` (a job's delivered or sent shapes) over the image; None: no shapes."""
        if self.shapes_item is not None:
            self.scene().removeItem(self.shapes_item)
            self.shapes_item = None
        if paths is not None:
            self.shapes_item = ShapesItem(paths)
            self.shapes_item.setZValue(3)
            self.scene().addItem(self.shapes_item)

    def show_job(self, images: JobImages | None) -> None:
        if images is None:
            for item in (self.base_layer, self.mask_layer, self.diff_layer):
                item.setPixmap(QPixmap())
            self.show_shapes(None)
            return
        primary = images.primary
        if images.delivered is not None:
            size = images.delivered.size()
        elif images.shapes is not None:
            size = QSize(int(images.shapes.layer.width), int(images.shapes.layer.height))
        else:
            size = primary.size() if primary is not None else QSize(1, 1)
        if primary is not None and primary.size() != size:  # drawn under the mask at the mask's size
            primary = primary.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)  # not in 8 px blocks
        self.base_layer.setPixmap(QPixmap.fromImage(primary) if primary is not None else QPixmap())
        self.scene().setSceneRect(QRectF(0, 0, size.width(), size.height()))
        self.fit()

    def fit(self) -> None:
        if not self.scene().sceneRect().isEmpty():
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit()
