"""The primary image preview: 8-bit RGB(A) PNGs through core's libspng path, everything else through
QImageReader, with the same pixels either way."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QImage, QImageReader

from playment_submit.gui.widgets.primary_panel import load_image

io = importlib.import_module("playment_submit.core.mask.io")
pytestmark = pytest.mark.skipif(io._spng_decode() is None, reason="imagecodecs' libspng codec is not installed")

FAST_FORMATS = (QImage.Format.Format_RGBA8888, QImage.Format.Format_RGB888)


def _pixels(image: QImage) -> np.ndarray:
    """(H, W, 4) RGBA of a QImage, whatever its format."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    arr = np.frombuffer(rgba.constBits(), np.uint8, rgba.sizeInBytes()).reshape(rgba.height(), -1)
    return arr[:, :rgba.width() * 4].reshape(rgba.height(), rgba.width(), 4).copy()


def _qt(path) -> np.ndarray:
    return _pixels(QImageReader(str(path)).read())


def _images(tmp_path):
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    out = {}
    for name, save in {
        "rgba8": lambda p: Image.fromarray(rgba).save(p),
        "rgb8": lambda p: Image.fromarray(rgb).save(p),
        "rgb8_transparent_colour": lambda p: Image.fromarray(rgb).save(p, transparency=tuple(rgb[0, 0].tolist())),
        "palette": lambda p: Image.fromarray(rgb).convert("P").save(p),
        "grey": lambda p: Image.fromarray(rgb[..., 0]).save(p),
        "grey16": lambda p: Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(p),
        "jpeg": lambda p: Image.fromarray(rgb).save(p, quality=90),
    }.items():
        path = tmp_path / (f"{name}.jpg" if name == "jpeg" else f"{name}.png")
        save(path)
        out[name] = path
    return out


def test_rgb_and_rgba_pngs_take_the_fast_path_with_the_same_pixels(qapp, tmp_path):
    for name, path in _images(tmp_path).items():
        image = load_image(str(path))
        fast = name in ("rgba8", "rgb8")
        assert (image.format() in FAST_FORMATS) == fast, name
        np.testing.assert_array_equal(_pixels(image), _qt(path), err_msg=name)


def test_a_damaged_png_is_still_described_by_qt(qapp, tmp_path):
    path = _images(tmp_path)["rgba8"]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cannot be read as an image"):
        load_image(str(path))


def test_the_preview_owns_its_pixels(qapp, tmp_path):
    """The QImage is a copy: it stays valid (and unchanged) once the decoded array is gone."""
    path = _images(tmp_path)["rgba8"]
    image = load_image(str(path))
    import gc

    gc.collect()
    np.testing.assert_array_equal(_pixels(image), np.asarray(Image.open(path)))
