"""The mask engine: a corpus of crafted masks, one per rule, plus encode/repair round trips.

Every mask is made here in tmp_path, so each test says exactly what is wrong with its file.
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from playment_submit.core import mask as m
from playment_submit.core.errors import UsageError, ValidationError
from playment_submit.core.mask.shared import hex_key

LEGEND = {"#ff0000": "car", "#00ff00": "person", "#0000ff": "road"}
RED, GREEN, BLUE = (255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------

def base(w: int = 40, h: int = 30) -> np.ndarray:
    """A valid mask: unlabelled, with a red, a green and a blue block."""
    a = np.zeros((h, w, 4), np.uint8)
    a[2:10, 2:12] = RED
    a[12:20, 5:25] = GREEN
    a[22:28, 10:38] = BLUE
    return a


def save(tmp_path: Path, arr: np.ndarray, name: str = "mask.png", **kw) -> Path:
    p = tmp_path / name
    Image.fromarray(arr).save(p, **kw)
    return p


def raw_png(path: Path, w: int, h: int, depth: int, ctype: int, rows: bytes | None = None,
            idat: bytes | None = None) -> Path:
    """Write a PNG by hand (for 16-bit RGBA and for headers that lie about the size)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    if idat is None:
        idat = zlib.compress(rows or b"")
    path.write_bytes(m.PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def only(report: m.MaskReport, code: str):
    found = [p for p in report.problems if p.code == code]
    assert len(found) == 1, f"expected one {code}, got {report.codes()}: {[str(p) for p in report.problems]}"
    return found[0]


# --------------------------------------------------------------------------------------------------
# check: the valid mask
# --------------------------------------------------------------------------------------------------

def test_valid_mask_counts_every_class(tmp_path):
    p = save(tmp_path, base())
    r = m.check(p, LEGEND, (40, 30))
    assert r.ok and r.problems == []
    assert (r.width, r.height, r.format, r.mode) == (40, 30, "PNG", "RGBA")
    pixels = {row.name: row.pixels for row in r.rows}
    assert pixels == {"car": 80, "person": 160, "road": 168}
    assert r.unlabelled == 40 * 30 - 80 - 160 - 168
    assert abs(sum(row.share for row in r.rows) + r.unlabelled / 1200 - 1) < 1e-9
    d = r.to_dict()
    assert json.loads(json.dumps(d))["ok"] is True
    assert d["legend"][0] == {"hex": "#ff0000", "name": "car", "pixels": 80, "share": 80 / 1200}


def test_open_image_and_upper_case_legend_keys_are_accepted(tmp_path):
    img = Image.fromarray(base())
    r = m.check(img, {"#FF0000": "car", "#00FF00": "person", "#0000ff": "road"})
    assert r.ok, r.problems
    assert [row.hex for row in r.rows] == ["#ff0000", "#00ff00", "#0000ff"]


def test_legend_given_as_file(tmp_path):
    p = save(tmp_path, base())
    lf = tmp_path / "legend.json"
    lf.write_text(json.dumps({"legend": LEGEND}))
    assert m.check(p, lf).ok


# --------------------------------------------------------------------------------------------------
# check: format and layout errors
# --------------------------------------------------------------------------------------------------

def test_jpeg_is_not_png_and_says_colours_change(tmp_path):
    p = save(tmp_path, base()[..., :3], "mask.jpg", quality=95)
    r = m.check(p, LEGEND)
    prob = only(r, "not_png")
    assert prob.severity == "error" and "JPEG" in prob.message and "colours" in prob.message
    assert str(p) in str(prob)
    assert not r.ok


@pytest.mark.parametrize("mode, words", [
    ("RGB", "8-bit RGB PNG"), ("L", "greyscale"), ("P", "palette"), ("LA", "greyscale with alpha"),
    ("I;16", "16-bit greyscale")])
def test_not_rgba_names_what_was_found_and_the_fix(tmp_path, mode, words):
    arr = base()
    if mode == "RGB":
        img = Image.fromarray(arr[..., :3])
    elif mode == "I;16":
        img = Image.fromarray(arr[..., 0].astype(np.uint16) * 200)
    else:
        img = Image.fromarray(arr).convert(mode)
    p = tmp_path / "mask.png"
    img.save(p)
    r = m.check(p, LEGEND)
    prob = only(r, "not_rgba")
    assert words in str(prob), str(prob)
    if mode == "RGB":
        assert "convert it to RGBA" in str(prob)
    else:
        assert "mask encode" in str(prob)


def test_16_bit_rgba_is_not_8_bit_rgba(tmp_path):
    w, h = 4, 3
    rows = b"".join(b"\x00" + b"\xff\xff\x00\x00\x00\x00\xff\xff" * w for _ in range(h))
    p = raw_png(tmp_path / "mask16.png", w, h, 16, 6, rows)
    r = m.check(p, LEGEND)
    assert "16-bit RGBA" in only(r, "not_rgba").message


def test_size_mismatch_names_both_sizes(tmp_path):
    p = save(tmp_path, base())
    prob = only(m.check(p, LEGEND, (1920, 1080)), "size_mismatch")
    assert "40 x 30" in prob.message and "1920 x 1080" in prob.message and prob.severity == "error"


# --------------------------------------------------------------------------------------------------
# check: pixel errors and warnings
# --------------------------------------------------------------------------------------------------

def test_unknown_colour_lists_hex_count_and_first_position(tmp_path):
    a = base()
    a[5, 30] = (1, 2, 3, 255)
    a[6, 31] = (1, 2, 3, 255)
    a[25, 1] = (200, 100, 50, 255)
    p = save(tmp_path, a)
    r = m.check(p, LEGEND)
    prob = only(r, "unknown_colour")
    assert prob.severity == "error" and prob.count == 3
    assert "#010203 (2 pixels, first at x=30, y=5)" in prob.message
    assert "#c86432 (1 pixel, first at x=1, y=25)" in prob.message
    assert prob.message.index("#010203") < prob.message.index("#c86432")   # most frequent first
    assert prob.examples[0] == (30, 5)
    assert prob.details[0] == {"hex": "#010203", "pixels": 2, "first": [30, 5]}
    assert str(p) in str(prob)


def test_many_unknown_colours_are_capped_with_and_n_more(tmp_path):
    a = base()
    for i in range(20):
        a[29, i] = (10 + i, 20, 30, 255)
    r = m.check(save(tmp_path, a), LEGEND)
    prob = only(r, "unknown_colour")
    assert f"and {20 - m.MAX_LISTED} more colours" in prob.message
    assert len(prob.details) == m.MAX_LISTED


def test_black_with_alpha(tmp_path):
    a = base()
    a[0, 3] = (0, 0, 0, 255)
    a[1, 3] = (0, 0, 0, 7)
    prob = only(m.check(save(tmp_path, a), LEGEND), "black_with_alpha")
    assert prob.count == 2 and prob.examples[:2] == ((3, 0), (3, 1)) and "x=3, y=0" in prob.message
    assert prob.severity == "error"


def test_soft_alpha(tmp_path):
    a = base()
    a[2, 12] = (255, 0, 0, 100)
    prob = only(m.check(save(tmp_path, a), LEGEND), "soft_alpha")
    assert prob.severity == "error" and prob.count == 1 and "x=12, y=2" in prob.message
    assert "mask repair" in str(prob)


def test_hidden_colour_is_a_warning(tmp_path):
    a = base()
    a[0, 0] = (255, 0, 0, 0)
    r = m.check(save(tmp_path, a), LEGEND)
    prob = only(r, "hidden_colour")
    assert prob.severity == "warning" and prob.examples == ((0, 0),)
    assert r.ok


def test_empty_class_is_a_warning(tmp_path):
    r = m.check(save(tmp_path, base()), {**LEGEND, "#123456": "tree"})
    prob = only(r, "empty_class")
    assert prob.severity == "warning" and "#123456 (tree)" in prob.message
    assert r.ok


def test_near_colours_after_bilinear_resize_point_at_repair(tmp_path):
    a = np.zeros((30, 40, 4), np.uint8)
    a[:] = BLUE                                        # labelled background: resizing mixes colours
    a[5:20, 5:20] = RED
    a[8:25, 24:36] = GREEN
    big = np.asarray(Image.fromarray(a).resize((160, 120), Image.BILINEAR))
    r = m.check(save(tmp_path, big), LEGEND)
    assert "unknown_colour" in r.codes()
    prob = only(r, "near_colours")
    assert prob.severity == "warning" and "mask repair" in str(prob) and "resiz" in prob.message


# --------------------------------------------------------------------------------------------------
# check: legend problems (reusing core/legend.py)
# --------------------------------------------------------------------------------------------------

def test_docs_seven_digit_key_is_quoted(tmp_path):
    r = m.check(save(tmp_path, base()), {**LEGEND, "#fdffd34": "lane"})
    prob = only(r, "bad_legend_key")
    assert '"#fdffd34"' in prob.message and "7 hex digits" in prob.message and prob.severity == "error"
    assert not r.ok


def test_black_in_legend(tmp_path):
    prob = only(m.check(save(tmp_path, base()), {**LEGEND, "#000000": "background"}), "black_in_legend")
    assert "#000000" in prob.message


def test_malformed_legend_file_says_line_and_column(tmp_path):
    lf = tmp_path / "legend.json"
    lf.write_text('{\n  "#ff0000": "car",\n  "#00ff00" "person"\n}')
    prob = only(m.check(save(tmp_path, base()), lf), "bad_legend_file")
    assert prob.path == f"{lf}:3:13" and "not valid JSON" in prob.message


# --------------------------------------------------------------------------------------------------
# check: hostile and broken files
# --------------------------------------------------------------------------------------------------

def test_decompression_bomb_refused_from_the_header(tmp_path):
    # 30000 x 30000 RGBA would be 3.6 GB decoded; the file is a few dozen bytes.
    p = raw_png(tmp_path / "bomb.png", 30000, 30000, 8, 6, idat=zlib.compress(b"\x00" * 1000))
    t = time.perf_counter()
    r = m.check(p, LEGEND)
    assert time.perf_counter() - t < 0.5
    prob = only(r, "too_large")
    assert "30,000 x 30,000" in prob.message and "not decoded" in prob.message
    assert r.width is None


def test_configurable_pixel_limit(tmp_path):
    p = save(tmp_path, base())
    assert "too_large" in m.check(p, LEGEND, max_pixels=1000).codes()
    assert m.check(p, LEGEND, max_pixels=1200).ok


def test_pillow_bomb_error_is_a_problem_not_a_traceback(tmp_path, monkeypatch):
    p = save(tmp_path, base(), "mask.bmp")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    r = m.check(p, LEGEND, max_pixels=10**9)
    assert "too_large" in r.codes()


def test_truncated_png_is_corrupt(tmp_path):
    rng = np.random.default_rng(1)
    a = base(200, 150)
    a[..., :3] = rng.integers(0, 255, a[..., :3].shape)     # noisy so the IDAT is long
    p = save(tmp_path, a)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    prob = only(m.check(p, LEGEND), "corrupt")
    assert "truncated" in prob.message and str(p) in str(prob)


def test_garbage_file_is_corrupt(tmp_path):
    p = tmp_path / "mask.png"
    p.write_bytes(b"this is not an image at all")
    assert only(m.check(p, LEGEND), "corrupt").severity == "error"


def test_missing_file_is_unreadable(tmp_path):
    assert only(m.check(tmp_path / "nope.png", LEGEND), "unreadable").message == "the file does not exist."


def test_more_colours_than_getcolors_tracks_falls_back(tmp_path, monkeypatch):
    monkeypatch.setattr(m, "MAX_COLOURS", 500)
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (60, 80, 4), dtype=np.uint8)
    a[..., 3] = 255
    a[:10, :10] = RED
    r = m.check(save(tmp_path, a), LEGEND)
    prob = only(r, "unknown_colour")
    assert prob.count == 60 * 80 - 100 and "more colours" in prob.message
    assert r.rows[0].pixels == 100


# --------------------------------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------------------------------

def index_mask(h: int = 30, w: int = 40, n: int = 3, dtype=np.uint8) -> np.ndarray:
    idx = np.zeros((h, w), dtype)
    for i in range(1, n + 1):
        idx[(i * 7) % h: (i * 7) % h + 5, i * 3: i * 3 + 6] = i
    return idx


def test_encode_list_round_trips_valid(tmp_path):
    rgba, legend = m.encode(index_mask(), ["car", "person", "road"])
    assert rgba.shape == (30, 40, 4) and rgba.dtype == np.uint8
    assert list(legend.values()) == ["car", "person", "road"]
    assert "#000000" not in legend
    p = tmp_path / "enc.png"
    m.save_png(rgba, p)
    r = m.check(p, legend, (40, 30))
    assert r.ok and r.problems == []
    assert np.all(rgba[index_mask() == 0] == 0)


def test_encode_16_bit_png_index(tmp_path):
    idx = index_mask(dtype=np.uint16)
    idx[0, 0] = 300
    p = tmp_path / "idx16.png"
    Image.fromarray(idx).save(p)
    assert Image.open(p).mode.startswith("I;16")
    names = {str(i): f"c{i}" for i in (1, 2, 3, 300)}
    rgba, legend = m.encode(p, names)
    assert len(legend) == 4 and m.check(Image.fromarray(rgba), legend).ok


def test_encode_tiff_and_npy(tmp_path):
    idx = index_mask()
    Image.fromarray(idx).save(tmp_path / "idx.tif")
    np.save(tmp_path / "idx.npy", idx.astype(np.int32))
    a, la = m.encode(tmp_path / "idx.tif", ["a", "b", "c"])
    b, lb = m.encode(tmp_path / "idx.npy", ["a", "b", "c"])
    assert la == lb and np.array_equal(a, b)


def test_encode_pinned_colours_are_respected_and_not_reused():
    classes = {"car": "#FF0000", "person": None, "road": "#00ff00"}
    rgba, legend = m.encode(index_mask(), classes)
    assert legend["#ff0000"] == "car" and legend["#00ff00"] == "road"
    assert len(set(legend)) == 3
    assert tuple(rgba[7, 3]) == (255, 0, 0, 255)


def test_encode_bad_pinned_colour_is_refused():
    with pytest.raises(ValidationError) as e:
        m.encode(index_mask(), {"car": "#fdffd34", "person": "#00ff00", "road": "#0000ff"})
    assert "#fdffd34" in str(e.value)


def test_encode_unnamed_index_values_are_listed():
    idx = index_mask()
    idx[1, 39] = 9
    with pytest.raises(ValidationError) as e:
        m.encode(idx, ["car", "person", "road"])
    prob = e.value.problems[0]
    assert prob.code == "unnamed_index" and "9 (1 pixel, first at x=39, y=1)" in prob.message


def test_encode_instances():
    idx = index_mask()
    idx[idx == 2] = 5
    rgba, legend = m.encode(idx, None, instance_of="Car")
    assert list(legend.values()) == ["Car 1", "Car 3", "Car 5"]
    assert m.check(Image.fromarray(rgba), legend).ok


def test_encode_refuses_colour_images(tmp_path):
    p = save(tmp_path, base())
    with pytest.raises(ValidationError) as e:
        m.encode(p, ["a"])
    assert e.value.problems[0].code == "not_index"


def test_load_classes_txt_json_and_blank_line(tmp_path):
    (tmp_path / "c.txt").write_text("car\nperson\n\n")
    assert m.load_classes(tmp_path / "c.txt") == (["car", "person"], [])
    (tmp_path / "b.txt").write_text("car\n\nperson\n")
    data, probs = m.load_classes(tmp_path / "b.txt")
    assert data is not None and "line 2 is empty" in probs[0].message
    (tmp_path / "c.json").write_text('{"1": "car", "2": ')
    data, probs = m.load_classes(tmp_path / "c.json")
    assert data is None and probs[0].path.endswith("c.json:1:19")
    data, probs = m.load_classes(tmp_path / "missing.txt")
    assert data is None and "does not exist" in probs[0].message


def test_write_legend_round_trips(tmp_path):
    m.write_legend({"#ff0000": "car"}, tmp_path / "l.json")
    assert json.loads((tmp_path / "l.json").read_text()) == {"#ff0000": "car"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 300), st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_encode_then_check_is_valid(n_classes, h, w, seed):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_classes + 1, (h, w)).astype(np.uint16 if n_classes > 255 else np.uint8)
    rgba, legend = m.encode(idx, [f"class {i}" for i in range(1, n_classes + 1)])
    r = m.check(Image.fromarray(rgba), legend)
    assert r.ok, [str(p) for p in r.errors]
    assert r.unlabelled == int((idx == 0).sum())
    assert sum(row.pixels for row in r.rows) == int((idx != 0).sum())


# --------------------------------------------------------------------------------------------------
# repair
# --------------------------------------------------------------------------------------------------

def anti_aliased(tmp_path: Path) -> tuple[np.ndarray, Path]:
    """Shapes drawn on a labelled background and on unlabelled ground, then resized bilinearly."""
    img = Image.new("RGBA", (80, 60), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 39, 59), fill=BLUE)
    d.ellipse((8, 8, 30, 40), fill=RED)
    d.ellipse((48, 10, 72, 50), fill=GREEN)
    big = np.asarray(img.resize((200, 150), Image.BILINEAR))
    return big, save(tmp_path, big, "aa.png")


def test_repair_makes_an_anti_aliased_mask_valid_without_touching_clean_pixels(tmp_path):
    before, p = anti_aliased(tmp_path)
    r0 = m.check(p, LEGEND)
    assert {"unknown_colour", "soft_alpha"} <= set(r0.codes())
    out = tmp_path / "fixed.png"
    summary = m.repair(p, LEGEND, out)
    assert summary.ok and summary.changed["snapped"] > 0 and summary.changed["soft_alpha_cleared"] > 0
    r1 = m.check(out, LEGEND)
    assert r1.ok and not r1.errors
    after = np.asarray(Image.open(out))
    keys = before.view("<u4")[..., 0]
    valid = np.isin(keys, [hex_key(h) for h in LEGEND]) | (keys == 0)
    assert np.array_equal(after[valid], before[valid])
    assert summary.changed["total"] == int((~valid).sum())
    assert np.array_equal(np.asarray(Image.open(p)), before)   # input untouched


def test_repair_leaves_far_colours_and_reports_them(tmp_path):
    a = base()
    a[0:4, 30:40] = (128, 128, 128, 255)       # a class the legend forgot: 40 pixels, far from all
    a[2, 12] = (250, 5, 3, 255)                 # noise near red
    p = save(tmp_path, a)
    s = m.repair(p, LEGEND, tmp_path / "out.png", tolerance=20)
    assert not s.ok and s.left == [{"hex": "#808080", "alpha": 255, "pixels": 40}]
    assert s.changed["snapped"] == 1
    assert tuple(np.asarray(Image.open(tmp_path / "out.png"))[2, 12]) == RED


def test_repair_clears_hidden_and_black_alpha(tmp_path):
    a = base()
    a[0, 0] = (9, 9, 9, 0)
    a[0, 1] = (0, 0, 0, 255)
    s = m.repair(save(tmp_path, a), LEGEND, tmp_path / "o.png")
    assert s.changed["hidden_colour_cleared"] == 1 and s.changed["black_with_alpha_cleared"] == 1
    assert m.check(tmp_path / "o.png", LEGEND).problems == []


def test_repair_reads_rgb_masks_with_black_as_unlabelled(tmp_path):
    p = save(tmp_path, base()[..., :3])
    s = m.repair(p, LEGEND, tmp_path / "o.png")
    assert s.ok
    assert np.array_equal(np.asarray(Image.open(tmp_path / "o.png")), base())


def test_repair_never_overwrites_its_input(tmp_path):
    p = save(tmp_path, base())
    with pytest.raises(UsageError):
        m.repair(p, LEGEND, p)
    with pytest.raises(UsageError):
        m.repair(p, LEGEND, tmp_path / "." / "mask.png")


def test_interactive_check_gives_the_same_report(tmp_path):
    """The GUI's strip-wise colour count (short GIL holds) must find exactly what the one-pass count finds."""
    rng = np.random.default_rng(5)
    arr = np.zeros((300, 2500, 4), np.uint8)  # several strips of STRIP_PIXELS
    arr[:, :1000] = (255, 0, 0, 255)
    arr[100:200, 1200:1800] = (0, 0, 255, 255)
    ys, xs = rng.integers(0, 300, 40), rng.integers(0, 2500, 40)
    arr[ys, xs] = (7, 8, 9, 255)          # a colour the legend does not name
    arr[5, 2400] = (255, 0, 0, 128)       # a soft edge
    path = tmp_path / "m.png"
    Image.fromarray(arr, "RGBA").save(path)
    legend = {"#ff0000": "car", "#0000ff": "sky", "#00ff00": "unused"}
    one_pass = m.check(path, legend).to_dict()
    sliced = m.check(path, legend, interactive=True).to_dict()
    assert sliced == one_pass
    assert {p["code"] for p in one_pass["problems"]} >= {"unknown_colour", "soft_alpha", "empty_class"}
