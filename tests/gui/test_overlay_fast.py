"""The run-aware overlay (core.mask.class_index, check_indexed, gui.overlay.load_overlay) against the
pixel-by-pixel overlay it replaced, kept here as the reference: the same class index on every mask of the
decoder tests, on masks whose runs cross strip boundaries, on noise, and through both decoders."""

from __future__ import annotations

import importlib
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playment_submit.core import mask as m
from playment_submit.core.legend import check_legend
from playment_submit.gui.overlay import MAX_INDEXED, UNKNOWN, build_overlay, load_overlay
from tests.core.test_mask_decode import LEGEND, masks

io = importlib.import_module("playment_submit.core.mask.io")
classmap = importlib.import_module("playment_submit.core.mask.classmap")
chk = importlib.import_module("playment_submit.core.mask.check")
SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample"


# ------------------------------------------------------------------ the reference: the overlay as it was
def reference_index(rgba: np.ndarray, legend: dict[str, str]) -> np.ndarray:
    """gui.overlay.build_overlay's class index before issue 16: a binary search for every pixel."""
    h, w = rgba.shape[:2]
    hexes = list(legend)
    keys = np.array([int(k[1:], 16) for k in hexes], dtype=np.uint32)
    order = np.argsort(keys)
    sorted_keys = keys[order]
    index = np.zeros((h, w), dtype=np.uint8)
    for y0 in range(0, h, 512):
        part = rgba[y0:y0 + 512]
        packed = (part[..., 0].astype(np.uint32) << 16) | (part[..., 1].astype(np.uint32) << 8) | part[..., 2]
        if len(keys):
            pos = np.minimum(np.searchsorted(sorted_keys, packed), len(keys) - 1)
            hit = (sorted_keys[pos] == packed) & (part[..., 3] == 255)
            out = np.where(hit, order[pos] + 1, UNKNOWN).astype(np.uint8)
        else:
            out = np.full(packed.shape, UNKNOWN, np.uint8)
        out[(part[..., 3] == 0) & (packed == 0)] = 0
        index[y0:y0 + 512] = out
    return index


def blobby_big(h: int, w: int, seed: int, colours: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Blocks of 37 x 53 pixels (runs that straddle the 1 Mi-pixel strips) with some noise on top."""
    rng = np.random.default_rng(seed)
    pal = np.array([(0, 0, 0, 0), *colours], np.uint8)
    low = rng.integers(0, len(pal), (h // 37 + 1, w // 53 + 1))
    rgba = pal[np.repeat(np.repeat(low, 37, 0), 53, 1)[:h, :w]]
    ys, xs = rng.integers(0, h, 200), rng.integers(0, w, 200)
    rgba[ys, xs] = rng.integers(0, 256, (200, 4), dtype=np.uint8)   # strays: unknown, soft, hidden, black alpha
    return np.ascontiguousarray(rgba)


def cases() -> dict[str, tuple[np.ndarray, dict[str, str]]]:
    out = {name: (a, LEGEND) for name, a in masks().items()}
    colours = [(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255), (7, 8, 9, 255), (255, 255, 255, 255)]
    big = blobby_big(1100, 1500, 0, colours)        # 1.65 Mi pixels: two strips, runs across the seam
    out["big_blobby"] = (big, {**LEGEND, "#070809": "dark", "#ffffff": "white"})
    out["big_blobby_legend_upper_case"] = (big, {"#FF0000": "car", "#00FF00": "person", "#070809": "dark"})
    out["big_blobby_black_in_legend"] = (big, {"#000000": "black", "#ff0000": "car"})
    out["big_blobby_empty_legend"] = (big, {})
    rng = np.random.default_rng(9)
    noise = rng.integers(0, 4, (1200, 1000), dtype=np.uint8)   # runs of about one pixel: the per-pixel branch
    pal = np.array([(0, 0, 0, 0), (255, 0, 0, 255), (0, 255, 0, 255), (255, 0, 0, 254)], np.uint8)
    out["big_noise"] = (pal[noise], LEGEND)
    out["all_one_colour"] = (np.tile(np.array([0, 0, 255, 255], np.uint8), (1030, 1030, 1)), LEGEND)
    return out


CASES = cases()


@pytest.mark.parametrize("name", list(CASES))
def test_run_aware_overlay_equals_the_pixel_by_pixel_one(name):
    rgba, legend = CASES[name]
    ov = build_overlay(rgba, legend)
    assert ov.indexed
    np.testing.assert_array_equal(ov.levels[0][1], reference_index(rgba, legend))
    for step, level in ov.levels[1:]:
        np.testing.assert_array_equal(level, ov.levels[0][1][::step, ::step])


def test_a_strided_view_is_indexed_like_a_copy():
    rgba, legend = CASES["big_blobby"]
    view = rgba[::3, 1::2]
    np.testing.assert_array_equal(build_overlay(view, legend).levels[0][1], reference_index(view, legend))


def test_the_check_fills_the_same_index_from_its_own_runs(tmp_path, monkeypatch):
    """check_indexed's index comes from the colour count's pass: it is the standalone answer, with the check's
    report unchanged, and class_index (what build_overlay falls back to) is not called for it."""
    rgba, legend = CASES["big_blobby"]
    calls = []
    monkeypatch.setattr(classmap, "class_index", lambda *a: calls.append(a))
    monkeypatch.setattr(chk, "class_index", lambda *a: calls.append(a))
    path = tmp_path / "big.png"
    Image.fromarray(rgba).save(path, compress_level=1)
    report, pixels, index = m.check_indexed(path, legend)
    assert io.png_decoder() == "libspng" and not calls
    np.testing.assert_array_equal(pixels, rgba)
    np.testing.assert_array_equal(index, reference_index(rgba, check_legend(legend)[0]))
    chk._reports.clear()   # a fresh check, not the report check_indexed left
    assert report.to_dict() == m.check(path, legend).to_dict()


@pytest.mark.parametrize("decoder", ["libspng", "pillow"])
@pytest.mark.parametrize("name", ["valid", "unknown", "soft", "black_alpha_hidden", "noisy", "empty", "big_blobby"])
def test_load_overlay_gives_the_check_and_the_old_overlay(name, decoder, tmp_path, monkeypatch):
    if decoder == "pillow":
        monkeypatch.setattr(io, "_spng_decode", lambda: None)
    elif io._spng_decode() is None:
        pytest.skip("imagecodecs' libspng codec is not installed")
    rgba, legend = CASES[name]
    path = tmp_path / f"{name}.png"
    Image.fromarray(rgba).save(path)
    report, ov = load_overlay(path, legend, (64, 48))
    chk._reports.clear()   # a fresh check, not the report check_indexed left
    assert report.to_dict() == m.check(path, legend, (64, 48)).to_dict()
    good, _ = check_legend(legend)
    assert ov is not None and ov.hexes == list(good)
    np.testing.assert_array_equal(ov.rgba, rgba)
    np.testing.assert_array_equal(ov.levels[0][1], reference_index(rgba, good))


def test_load_overlay_of_an_unusable_mask_has_no_overlay_and_says_why(tmp_path):
    path = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(path)
    report, ov = load_overlay(path, LEGEND)
    assert ov is None and not report.usable and "not_rgba" in report.codes()
    report, ov = load_overlay(tmp_path / "missing.png", LEGEND)
    assert ov is None and "unreadable" in report.codes()


def test_load_overlay_with_more_classes_than_a_byte_draws_the_rgba(tmp_path):
    legend = {f"#{i:06x}": f"c{i}" for i in range(1, MAX_INDEXED + 40)}
    rgba = np.zeros((5, 7, 4), np.uint8)
    rgba[2, 3] = (0, 0, 9, 255)
    path = tmp_path / "many.png"
    Image.fromarray(rgba).save(path)
    _, ov = load_overlay(path, legend)
    assert ov is not None and not ov.indexed and ov.describe(3, 2) == "#000009 c9"
    np.testing.assert_array_equal(ov.levels[0][1], rgba)


def test_load_overlay_runs_in_a_worker_thread(tmp_path):
    """The heavy part needs no Qt: a plain thread builds the overlay of the sample mask."""
    rgba, legend = CASES["big_blobby"]
    path = tmp_path / "m.png"
    Image.fromarray(rgba).save(path, compress_level=1)
    got = {}
    t = threading.Thread(target=lambda: got.update(out=load_overlay(path, legend)))
    t.start()
    t.join(60)
    report, ov = got["out"]
    assert report.usable and ov is not None
    np.testing.assert_array_equal(ov.levels[0][1], reference_index(rgba, check_legend(legend)[0]))


def test_the_sample_mask_overlay_is_unchanged(tmp_path):
    """The shipped sample: index mask colour-coded, written, loaded back."""
    classes = json.loads((SAMPLE / "classes.json").read_text())
    rgba, legend = m.encode(SAMPLE / "index_mask.png", classes)
    path = tmp_path / "sample.png"
    m.save_png(rgba, path)
    report, ov = load_overlay(path, legend)
    assert report.ok and ov is not None
    np.testing.assert_array_equal(ov.levels[0][1], reference_index(rgba, legend))
    assert (ov.levels[0][1] != 0).any()
