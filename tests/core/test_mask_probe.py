"""probe_image: primary and reference images are decoded in full before upload, and every way a file
can be unusable is one plain sentence naming it. Every file is made here in tmp_path."""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playment_submit.core.errors import Problem, ValidationError
from playment_submit.core.mask import DEFAULT_MAX_PIXELS, PNG_SIGNATURE, probe_image


def photo(w: int = 64, h: int = 48) -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


def refused(path, **kw) -> str:
    with pytest.raises(ValidationError) as err:
        probe_image(path, **kw)
    problems = err.value.problems
    assert len(problems) == 1 and isinstance(problems[0], Problem) and problems[0].path == ""
    sentence = problems[0].message
    assert str(err.value) == sentence                 # the sentence alone, fit to show as it is
    assert str(path) in sentence                      # it names the file
    assert "Traceback" not in sentence and sentence.endswith(".")
    return sentence


def bomb_png(path: Path, w: int, h: int) -> Path:
    """A PNG whose header claims w x h RGBA pixels but whose data is a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    path.write_bytes(PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp"),
                                         ("TIFF", ".tif"), ("BMP", ".bmp")])
def test_a_valid_image_gives_its_size(tmp_path, fmt, suffix):
    p = tmp_path / f"primary{suffix}"
    photo(64, 48).save(p, format=fmt)
    assert probe_image(p) == (64, 48)
    assert probe_image(str(p)) == (64, 48)


def test_a_missing_file(tmp_path):
    s = refused(tmp_path / "nope.jpg")
    assert "does not exist" in s


def test_a_folder(tmp_path):
    (tmp_path / "shots.png").mkdir()
    s = refused(tmp_path / "shots.png")
    assert "is a folder" in s


def test_an_empty_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    s = refused(p)
    assert "empty (0 bytes)" in s


def test_random_bytes_named_png(tmp_path):
    p = tmp_path / "noise.png"
    p.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    s = refused(p)
    assert "not an image that can be read" in s
    for fmt in ("PNG", "JPEG", "WebP", "TIFF", "BMP"):
        assert fmt in s


def test_a_png_cut_in_half(tmp_path):
    whole = tmp_path / "whole.png"
    photo(256, 256).save(whole)
    data = whole.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[:len(data) // 2])
    s = refused(cut)
    assert "truncated or damaged" in s


def test_a_jpeg_cut_in_half(tmp_path):
    whole = tmp_path / "whole.jpg"
    photo(256, 256).save(whole, quality=95)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    assert "truncated or damaged" in refused(cut)


def test_a_png_with_only_its_signature_is_damaged_not_foreign(tmp_path):
    p = tmp_path / "stub.png"
    p.write_bytes(PNG_SIGNATURE + b"\0\0")
    assert "truncated or damaged" in refused(p)


def test_a_decompression_bomb_is_refused_from_the_header(tmp_path, monkeypatch):
    p = bomb_png(tmp_path / "bomb.png", 60000, 60000)
    opened = []
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a) or pytest.fail("decoded a bomb"))
    t0 = time.perf_counter()
    s = refused(p)
    assert time.perf_counter() - t0 < 0.5 and not opened
    assert "60,000 x 60,000" in s and "3,600 megapixels" in s
    assert f"{DEFAULT_MAX_PIXELS / 1e6:,.0f} megapixels" in s and "not decoded" in s


def test_the_cap_applies_to_every_format(tmp_path):
    p = tmp_path / "big.jpg"
    photo(200, 100).save(p)
    assert probe_image(p, max_pixels=20_000) == (200, 100)
    s = refused(p, max_pixels=19_999)
    assert "200 x 100" in s and "20,000 pixels" in s and "19,999 pixels" in s


def test_a_jpeg_header_beyond_pillows_own_limit(tmp_path, monkeypatch):
    p = tmp_path / "huge.jpg"
    photo(100, 100).save(p)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)     # Pillow refuses at 2x this, when opening
    s = refused(p, max_pixels=10**9)
    assert "too large" in s and "10,000 pixels" in s


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_an_unreadable_file(tmp_path):
    p = tmp_path / "locked.png"
    photo().save(p)
    p.chmod(0)
    try:
        assert "cannot be read" in refused(p)
    finally:
        p.chmod(0o644)


def test_a_path_with_braces_is_named_as_it_is(tmp_path):
    p = bomb_png(tmp_path / "{w} bomb.png", 60000, 60000)
    assert "{w} bomb.png" in refused(p)
