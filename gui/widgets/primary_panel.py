"""Primary image: a local file (dialog or drag and drop) or a URL, with preview and dimensions.

Images are decoded off the GUI thread (QImage is safe to build in a worker; widgets are not touched
there). An 8-bit RGB or RGBA PNG goes through core's libspng path (:func:`core.mask.load_png8`, about 0.4x
the time of Pillow's or Qt's PNG decoding), other files (JPEG, palette or 16-bit PNGs, damaged PNGs) through
QImageReader. URL previews are fetched by core (:func:`core.preview.fetch_preview_bytes`: a size cap, a timeout,
the API's own files through its attachments endpoint); s3:// and gs:// cannot be fetched here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from playment_submit.core.defaults import job_max_pixels
from playment_submit.core.job import is_local_path, url_problems
from playment_submit.core.mask import load_png8, over_pixel_cap
from playment_submit.core.preview import MAX_PREVIEW_BYTES, fetch_preview_bytes
from playment_submit.core.storage import local_file
from playment_submit.gui.dialogs import open_file
from playment_submit.gui.workers import start_worker

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp);;All files (*)"


class ImageRefused(ValueError):
    """An image core refuses to decode (over the pixel cap), with the size its header gives."""

    def __init__(self, sentence: str, size: tuple[int, int]):
        super().__init__(sentence)
        self.size = size


def load_image(value: str, client: Any = None) -> QImage:
    """Decode a local file or fetch a URL into a QImage (runs in a worker). Raises ValueError with a sentence.
    ``client`` (the session's, or None) fetches URLs on the API's own host (see :mod:`core.preview`)."""
    if is_local_path(value):
        path = local_file(value)
        if not path.is_file():
            raise ValueError(f"{path} does not exist.")
        refused = over_pixel_cap(path, job_max_pixels())  # core's cap: not decoded here either
        if refused is not None:
            raise ImageRefused(refused[1], refused[0])
        fast = _load_png(path)
        if fast is not None:
            return fast
        reader = QImageReader(str(path))
        reader.setAllocationLimit(1024)  # MB: refuse decompression bombs instead of exhausting memory
        image = reader.read()
        if image.isNull():
            raise ValueError(f"{path.name} cannot be read as an image ({reader.errorString()}).")
        return image
    data = fetch_preview_bytes(value, client=client, max_bytes=MAX_PREVIEW_BYTES)
    image = QImage.fromData(data)
    if image.isNull():
        raise ValueError("The URL did not return an image this app can decode.")
    return image


def _load_png(path: Path) -> QImage | None:
    """An 8-bit RGB(A) PNG decoded by core's fast path, copied into a QImage that owns its pixels (so the
    decoded array can go); None for anything else, which QImageReader then reads or describes."""
    pixels = load_png8(path)
    return None if pixels is None else qimage_from_array(pixels)


def qimage_from_array(pixels) -> QImage:
    """An (H, W, 3) RGB or (H, W, 4) RGBA uint8 array as a QImage that owns its pixels (a copy), so the array
    can go and the image can cross from a worker to the GUI thread."""
    pixels = np.ascontiguousarray(pixels)
    h, w, channels = pixels.shape
    fmt = QImage.Format.Format_RGBA8888 if channels == 4 else QImage.Format.Format_RGB888
    return QImage(pixels.data, w, h, pixels.strides[0], fmt).copy()


class PrimaryPanel(QWidget):
    primary_changed = Signal(str)         # the path or URL as typed
    image_loaded = Signal(object)         # QImage or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.image_size: tuple[int, int] | None = None
        # The session's client for URLs on the API's own host (the window sets it; None: fetched keyless).
        self.preview_client: Callable[[], Any] = lambda: None
        self._worker = None
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("A local file, or an https://, s3:// or gs:// URL")
        self.edit.setToolTip("The image annotators will label. Drop a file here, browse, or paste a URL.")
        self.browse = QPushButton("Browse…")
        row.addWidget(self.edit)
        row.addWidget(self.browse)
        lay.addLayout(row)
        self.preview = QLabel("No image")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(140)
        self.preview.setObjectName("primaryPreview")  # framed by gui/style.py
        lay.addWidget(self.preview)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        lay.addWidget(self.info)
        lay.addStretch(1)
        self.browse.clicked.connect(self.choose_file)
        self.edit.editingFinished.connect(self._on_edit_finished)

    def value(self) -> str:
        return self.edit.text().strip()

    def folder(self) -> str:
        """The folder of the primary image when it is a local file ("" for a URL or nothing)."""
        value = self.value()
        return str(Path(value).expanduser().parent) if value and is_local_path(value) else ""

    def set_value(self, value: str) -> None:
        self.edit.setText(value)
        self._on_edit_finished()

    def choose_file(self) -> None:
        path = open_file(self, "primary", "Primary image", IMAGE_FILTER)
        if path:
            self.set_value(path)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls:
            self.set_value(urls[0].toLocalFile() or urls[0].toString())

    def _on_edit_finished(self) -> None:
        value = self.value()
        self.primary_changed.emit(value)
        self.image_size = None
        self.info.setText("")  # what was said about the previous image does not hold for this one
        if not value:
            self.preview.setText("No image")
            self.info.setText("")
            self.image_loaded.emit(None)
            return
        problems = url_problems(value, "data.image_url", "primary image", allow_local_paths=True)
        if problems:
            self.info.setText(problems[0].message)
        self.preview.setText("Loading preview…")
        self._worker = start_worker(load_image, value, self.preview_client(), owner=self)
        self._worker.returned.connect(lambda image, v=value: self.on_image_loaded(v, image))
        self._worker.errored.connect(lambda e, v=value: self._on_image_failed(v, e))

    def on_image_loaded(self, value: str, image: QImage) -> None:
        if value != self.value():
            return  # the user has moved on to another image
        self.image_size = (image.width(), image.height())
        self.preview.setPixmap(QPixmap.fromImage(image.scaled(320, 180, Qt.AspectRatioMode.KeepAspectRatio,
                                                              Qt.TransformationMode.SmoothTransformation)))
        name = Path(value).name if is_local_path(value) else value.rsplit("/", 1)[-1]
        self.info.setText(f"{name}: {image.width()} × {image.height()} px")
        self.image_loaded.emit(image)

    def _on_image_failed(self, value: str, error: Exception) -> None:
        if value != self.value():
            return
        self.preview.setText("Not shown: over the size limit" if isinstance(error, ImageRefused) else "No preview")
        self.info.setText(str(error))
        # The header's size still checks the mask against the primary (core reports the mismatch too).
        self.image_size = error.size if isinstance(error, ImageRefused) else None
        self.image_loaded.emit(None)
