"""The fast PNG path (libspng through imagecodecs) against Pillow's: same pixels, same reports, same
sentences, on good masks, every bad layout and damaged files; and the run count against a plain count."""

from __future__ import annotations

import importlib
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playment_submit.core import mask as m
from playment_submit.core.errors import ValidationError
from playment_submit.core.mask.shared import hex_key

io = importlib.import_module("playment_submit.core.mask.io")
chk = importlib.import_module("playment_submit.core.mask.check")

LEGEND = {"#ff0000": "car", "#00ff00": "person", "#0000ff": "road"}
RED, GREEN, BLUE = (255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)

pytestmark = pytest.mark.skipif(io._spng_decode() is None, reason="imagecodecs' libspng codec is not installed")


def both(fn, monkeypatch):
    """fn() with libspng, then with Pillow alone."""
    fast = fn()
    with monkeypatch.context() as mp:
        mp.setattr(io, "_spng_decode", lambda: None)
        assert io.png_decoder() == "pillow"
        slow = fn()
    return fast, slow


def blobby(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.zeros((h, w, 4), np.uint8)
    for colour in (RED, GREEN, BLUE):
        for _ in range(3):
            y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
            a[y:y + int(rng.integers(3, h // 2)), x:x + int(rng.integers(3, w // 2))] = colour
    return a


def masks() -> dict[str, np.ndarray]:
    """Good masks and every pixel finding the check knows, as 8-bit RGBA arrays."""
    out: dict[str, np.ndarray] = {"valid": blobby()}
    a = blobby(seed=1)
    a[5, 7] = (1, 2, 3, 255)
    a[-1, -3:] = (9, 9, 9, 255)
    out["unknown"] = a
    a = blobby(seed=2)
    a[10:12, 10:30, 3] = 100
    out["soft"] = a
    a = blobby(seed=3)
    a[0, :5] = (0, 0, 0, 7)
    a[1, :5] = (200, 0, 0, 0)
    out["black_alpha_hidden"] = a
    a = blobby(seed=4)
    a[20:30, 20:40] = (250, 5, 3, 255)        # near red: resizing
    a[30:32, 20:40] = (128, 128, 0, 255)      # between red and green
    a[32:33, 20:40] = (6, 250, 2, 255)
    a[33:34, 20:40] = (3, 3, 251, 255)
    out["near"] = a
    rng = np.random.default_rng(5)
    out["noisy"] = rng.integers(0, 256, (40, 50, 4), dtype=np.uint8)
    out["noisy_opaque"] = np.concatenate([rng.integers(0, 256, (40, 50, 3), dtype=np.uint8),
                                          np.full((40, 50, 1), 255, np.uint8)], axis=2)
    out["one_pixel"] = np.array([[RED]], np.uint8)
    out["one_row"] = np.tile(np.array([RED, GREEN], np.uint8), (1, 70, 1))
    out["one_column"] = np.tile(np.array([[RED], [BLUE]], np.uint8), (90, 1, 1))
    out["empty"] = np.zeros((30, 20, 4), np.uint8)
    return out


@pytest.mark.parametrize("name", list(masks()))
def test_reports_are_the_same_with_either_decoder(name, tmp_path, monkeypatch):
    p = tmp_path / f"{name}.png"
    Image.fromarray(masks()[name]).save(p)
    for primary in (None, (64, 48), (10, 10)):
        fast, slow = both(lambda: m.check(p, LEGEND, primary).to_dict(), monkeypatch)  # noqa: B023
        assert fast == slow


@pytest.mark.parametrize("name", list(masks()))
def test_pixels_are_the_same_with_either_decoder(name, tmp_path, monkeypatch):
    p = tmp_path / f"{name}.png"
    Image.fromarray(masks()[name]).save(p, compress_level=9)
    fast, slow = both(lambda: m.load_rgba(p), monkeypatch)
    assert fast.dtype == slow.dtype == np.uint8 and fast.shape == slow.shape
    assert np.array_equal(fast, slow) and np.array_equal(fast, masks()[name])


def test_the_fast_path_really_skips_pillow(tmp_path, monkeypatch):
    p = tmp_path / "valid.png"
    Image.fromarray(masks()["valid"]).save(p)

    def no_pillow(*a, **kw):
        raise AssertionError("Pillow was asked to open an 8-bit RGBA PNG")
    monkeypatch.setattr(Image, "open", no_pillow)
    assert io.png_decoder() == "libspng"
    r = m.check(p, LEGEND)
    assert r.ok and (r.format, r.mode, r.width, r.height) == ("PNG", "RGBA", 64, 48)
    assert m.load_rgba(p).shape == (48, 64, 4)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _with_chunks(png: bytes, *chunks: bytes) -> bytes:
    """The PNG with ancillary chunks put right after IHDR (8 + 25 bytes in)."""
    return png[:33] + b"".join(chunks) + png[33:]


def test_gamma_srgb_and_text_chunks_do_not_change_pixels(tmp_path, monkeypatch):
    src = tmp_path / "plain.png"
    Image.fromarray(masks()["near"]).save(src)
    p = tmp_path / "chunks.png"
    p.write_bytes(_with_chunks(src.read_bytes(), _chunk(b"gAMA", struct.pack(">I", 100000)),
                               _chunk(b"sRGB", b"\x00"), _chunk(b"tEXt", b"Comment\x00made by a test")))
    fast, slow = both(lambda: m.load_rgba(p), monkeypatch)
    assert np.array_equal(fast, slow) and np.array_equal(fast, masks()["near"])
    fast, slow = both(lambda: m.check(p, LEGEND).to_dict(), monkeypatch)
    assert fast == slow


@pytest.mark.parametrize("mode, save_kw", [("RGBA16", {}), ("P", {}), ("L", {}), ("LA", {}), ("RGB", {}),
                                           ("I;16", {})])
def test_other_layouts_keep_their_sentences(mode, save_kw, tmp_path, monkeypatch):
    a = masks()["valid"]
    p = tmp_path / f"{mode.replace(';', '')}.png"
    if mode == "RGBA16":  # Pillow cannot write 16-bit RGBA: a hand-made PNG (colour type 6, depth 16)
        raw = b"".join(b"\x00" + (a[y].astype(">u2") * 257).tobytes() for y in range(a.shape[0]))
        ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", a.shape[1], a.shape[0], 16, 6, 0, 0, 0))
        p.write_bytes(io.PNG_SIGNATURE + ihdr + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))
    elif mode == "I;16":
        Image.fromarray(a[..., 0].astype(np.uint16) * 200).save(p)
    else:
        Image.fromarray(a).convert(mode).save(p, **save_kw)
    fast, slow = both(lambda: m.check(p, LEGEND).to_dict(), monkeypatch)
    assert fast == slow
    assert any(x["code"] == "not_rgba" for x in fast["problems"])


def _damaged(good: bytes, tmp_path: Path) -> list[Path]:
    """Truncations at many offsets, flipped bytes in every part of the file, a missing IEND, junk after it."""
    out = []
    for i, cut in enumerate(sorted({8, 20, 33, 40, len(good) // 3, len(good) // 2, len(good) - 30, len(good) - 12,
                                    len(good) - 1})):
        p = tmp_path / f"cut{i}.png"
        p.write_bytes(good[:cut])
        out.append(p)
    for i, at in enumerate(sorted({12, 20, 29, 31, 37, 41, 45, len(good) // 2, len(good) - 20, len(good) - 14,
                                   len(good) - 5, len(good) - 2})):
        bad = bytearray(good)
        bad[at] ^= 0x5A
        p = tmp_path / f"flip{i}.png"
        p.write_bytes(bytes(bad))
        out.append(p)
    (tmp_path / "no_iend.png").write_bytes(good[:-12])
    (tmp_path / "junk_after.png").write_bytes(good + b"junk" * 10)
    out += [tmp_path / "no_iend.png", tmp_path / "junk_after.png"]
    return out


def test_damaged_files_get_the_same_verdict_and_sentence(tmp_path, monkeypatch):
    good = tmp_path / "good.png"
    Image.fromarray(masks()["unknown"]).save(good)
    files = _damaged(good.read_bytes(), tmp_path)
    codes = set()
    for p in files:
        fast, slow = both(lambda: m.check(p, LEGEND).to_dict(), monkeypatch)  # noqa: B023
        assert fast == slow, p.name
        codes |= {x["code"] for x in fast["problems"]}
    assert "corrupt" in codes  # the damage was real: some files were refused


def test_truncated_mask_keeps_its_sentence(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(masks()["valid"]).save(good)
    p = tmp_path / "short.png"
    p.write_bytes(good.read_bytes()[:-40])
    prob = next(x for x in m.check(p, LEGEND).problems if x.code == "corrupt")
    assert "truncated" in prob.message and "export the mask again" in prob.message
    with pytest.raises(ValidationError) as e:
        m.load_rgba(p)
    assert e.value.problems[0].message == prob.message


# ---------------------------------------------------------------------------------- the run count

def _plain_counts(a: np.ndarray) -> dict[int, int]:
    u, c = np.unique(a.reshape(-1, 4).view("<u4")[:, 0], return_counts=True)
    return dict(zip(u.tolist(), c.tolist(), strict=True))


@pytest.mark.parametrize("name", list(masks()))
def test_run_count_is_exact(name, monkeypatch):
    monkeypatch.setattr(chk, "RUN_STRIP", 97)  # many strips, runs cut at strip edges
    a = masks()[name]
    stats = chk.colour_stats(a, np.zeros(1, np.uint32))
    assert dict(zip(stats.keys.tolist(), stats.counts.tolist(), strict=True)) == _plain_counts(a)
    assert stats.counts.dtype == np.int64 and int(stats.counts.sum()) == a.shape[0] * a.shape[1]


def test_run_count_beyond_max_colours_keeps_category_totals(monkeypatch):
    monkeypatch.setattr(chk, "RUN_STRIP", 512)
    monkeypatch.setattr(chk, "MAX_COLOURS", 300)
    a = masks()["noisy"]
    protect = np.array([hex_key("#ff0000"), 0], np.uint32)
    stats = chk.colour_stats(a, protect)
    assert len(stats.keys) <= 300 + len(protect) + 512 and stats.overflow_colours > 0
    full = _plain_counts(a)
    keys = np.array(list(full), np.uint32)
    cats = chk.categorise_colours(keys, protect[:1])
    want = {int(c): int(np.array(list(full.values()))[cats == c].sum()) for c in np.unique(cats)}
    got_cats = chk.categorise_colours(stats.keys, protect[:1])
    got = {c: int(stats.counts[got_cats == c].sum()) + stats.overflow.get(c, 0) for c in want}
    assert got == want


def test_check_pixels_hands_back_the_decode_and_check_reuses_the_report(tmp_path, monkeypatch):
    p = tmp_path / "mask.png"
    a = masks()["unknown"]
    Image.fromarray(a).save(p)
    report, pixels = m.check_pixels(p, LEGEND, (64, 48))
    assert pixels is not None and np.array_equal(pixels, a)
    assert not report.ok and report.usable

    def no_decode(*args, **kw):
        raise AssertionError("decoded a second time")
    monkeypatch.setattr(chk, "_check", no_decode)
    again = m.check(p, LEGEND, (64, 48))
    assert again.to_dict() == report.to_dict() and again is not report
    again.problems.clear()   # a caller's change does not reach the next caller
    assert m.check(p, LEGEND, (64, 48)).to_dict() == report.to_dict()
    monkeypatch.undo()
    assert m.check(p, LEGEND, (10, 10)).codes() != report.codes()  # another primary size: checked afresh


def test_changed_file_is_checked_again(tmp_path):
    p = tmp_path / "mask.png"
    Image.fromarray(masks()["valid"]).save(p)
    assert m.check_pixels(p, LEGEND)[0].ok
    bad = masks()["valid"].copy()
    bad[0, 0] = (1, 2, 3, 255)
    tmp = tmp_path / "new.png"
    Image.fromarray(bad).save(tmp)
    tmp.replace(p)
    assert not m.check(p, LEGEND).ok


def test_check_pixels_gives_no_pixels_for_an_unusable_mask(tmp_path):
    p = tmp_path / "grey.png"
    Image.fromarray(masks()["valid"][..., 0]).save(p)
    report, pixels = m.check_pixels(p, LEGEND)
    assert pixels is None and not report.usable


# ---------------------------------------------------------------------------------- locating pixels

def _locate_per_pixel(src, bad_keys, bad_cats, want_first, want_cats):
    """chk._locate before it looked up runs: a binary search for every pixel (the reference)."""
    order = np.argsort(bad_keys)
    skeys, scats = bad_keys[order], bad_cats[order]
    examples = {c: [] for c in want_cats}
    first = {}
    want_first = set(want_first)
    w = src.shape[1]
    flat = src.reshape(-1, 4).view("<u4")[:, 0]
    pos = np.minimum(np.searchsorted(skeys, flat), len(skeys) - 1)
    hits = np.flatnonzero(skeys[pos] == flat)
    for cat, found in examples.items():
        found.extend((int(p % w), int(p // w)) for p in hits[scats[pos[hits]] == cat][:chk.MAX_EXAMPLES])
    for p in hits.tolist():
        k = int(skeys[pos[p]])
        if k in want_first:
            first[k] = (p % w, p // w)
            want_first.discard(k)
    return examples, first


@pytest.mark.parametrize("name", [*masks(), "long_runs"])
def test_locating_runs_finds_the_pixels_a_per_pixel_search_finds(name, monkeypatch):
    monkeypatch.setattr(chk, "STRIP_PIXELS", 301)   # many strips, runs cut at strip edges
    if name == "long_runs":
        a = np.zeros((40, 90, 4), np.uint8)
        a[3, 10:13] = (1, 2, 3, 255)       # a run shorter than MAX_EXAMPLES, then more of the same colour
        a[5:9, 2:80] = (1, 2, 3, 255)
        a[20:, :, 3] = 9                   # black with alpha: rows of one long run
        a[30, 5:7] = (200, 0, 0, 100)
    else:
        a = masks()[name]
    legend_keys = np.array(sorted(hex_key(h) for h in LEGEND), np.uint32)
    stats = chk.colour_stats(a, legend_keys)
    cats = chk.categorise_colours(stats.keys, legend_keys)
    bad = cats >= chk.UNKNOWN
    if not bad.any():
        return
    want_first = set(stats.keys[cats == chk.UNKNOWN][:chk.MAX_LISTED].tolist())
    want_cats = set(np.unique(cats[bad]).tolist())
    args = (stats.keys[bad], cats[bad].astype(np.int8), want_first, want_cats)
    got = chk._locate(a, *args)
    assert got == _locate_per_pixel(a, *args)
