"""``check``: is a mask a valid Playment pre-label for its legend? Also the legend checks and the
colour statistics that :func:`check` (and :func:`core.mask.repair`) work from.

Speed matters because masks are big (an 8192 x 6144 mask is 192 MiB decoded): PNG decoding dominates,
so :func:`check` takes its colour statistics straight from the decoded Pillow image
(``Image.getcolors``, no copy) and only touches pixels with numpy, strip by strip, when a problem
exists and example coordinates are wanted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import Problem
from ..legend import check_legend, key_problem, read_legend_data
from ._base import (
    DEFAULT_ALPHA_THRESHOLD,
    DEFAULT_TOLERANCE,
    MAX_LISTED,
    STRIP_PIXELS,
    MaskProblem,
    _at,
    _hex_key,
    _key_hex,
    _n,
    _pack,
    _problem,
    _px,
    _unpack,
)
from .io import DEFAULT_MAX_PIXELS, PngHeader, _load, _open_image

MAX_EXAMPLES = 5                  # example pixel coordinates kept per problem
NEAR_MIN_COLOURS = 4              # this many near colours look like resizing, not a forgotten class
MAX_COLOURS = 1 << 16             # getcolors() gives up beyond this; a mask has far fewer colours

# Pixel categories (a colour's category follows from its RGBA alone).
VALID, UNLABELLED, UNKNOWN, SOFT, BLACK_ALPHA, HIDDEN = range(6)
_CAT_CODE = {UNKNOWN: "unknown_colour", SOFT: "soft_alpha", BLACK_ALPHA: "black_with_alpha",
             HIDDEN: "hidden_colour"}

_PNG_COLOUR_TYPES = {0: "greyscale", 2: "RGB", 3: "palette (indexed colour)", 4: "greyscale with alpha",
                     6: "RGBA"}


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------

@dataclass
class LegendRow:
    """One legend entry and how much of the mask it covers."""

    hex: str
    name: str
    pixels: int = 0
    share: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"hex": self.hex, "name": self.name, "pixels": self.pixels, "share": self.share}


# Which findings decide what can be done with a mask (the GUI and scripts ask MaskReport, never these sets).
UNUSABLE_CODES = frozenset({"not_png", "not_rgba", "corrupt", "too_large", "unreadable"})
"""The mask's pixels cannot be read as the RGBA colours of a PNG: nothing can be drawn or repaired."""
REPAIRABLE_CODES = frozenset({"soft_alpha", "black_with_alpha", "hidden_colour", "near_colours", "unknown_colour"})
"""Pixel findings that :func:`core.mask.repair` fixes (or, for unknown colours, snaps where it can)."""


@dataclass
class MaskReport:
    """What :func:`check` found: size, per-class pixel counts, and every problem.

    ``ok`` is True when no problem is an error (warnings do not stop an upload). ``usable`` is True when
    the pixels could be read as RGBA colours (the mask can be drawn, even if it has errors), and
    ``repairable`` when some finding is one :func:`core.mask.repair` fixes.
    """

    path: str
    width: int | None = None
    height: int | None = None
    format: str | None = None
    mode: str | None = None
    unlabelled: int = 0
    rows: list[LegendRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def usable(self) -> bool:
        """False when a finding means the pixels cannot be read as colours (see ``UNUSABLE_CODES``)."""
        return not UNUSABLE_CODES & set(self.codes())

    @property
    def repairable(self) -> bool:
        """True when :func:`core.mask.repair` would fix some finding (see ``REPAIRABLE_CODES``)."""
        return bool(REPAIRABLE_CODES & set(self.codes()))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)

    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "width": self.width, "height": self.height,
                "format": self.format, "mode": self.mode, "pixels": self.pixels,
                "unlabelled": self.unlabelled,
                "unlabelled_share": (self.unlabelled / self.pixels) if self.pixels else 0.0,
                "legend": [r.to_dict() for r in self.rows],
                "problems": [p.to_dict() for p in self.problems]}


# --------------------------------------------------------------------------------------------------
# Legend
# --------------------------------------------------------------------------------------------------

def legend_problems(legend: object, path: str = "legend") -> tuple[dict[str, str], list[MaskProblem]]:
    """Check a legend mapping with :func:`core.legend.check_legend`, tagging each problem with a rule.

    Returns the normalised good entries (lower-case keys) and the problems: ``bad_legend_key`` (not
    ``#rrggbb``, e.g. the docs' own ``#fdffd34``), ``black_in_legend`` (``#000000`` is "unlabelled"),
    ``bad_legend_entry`` (duplicates, empty names), ``bad_legend_file`` (not a mapping at all).
    """
    norm, problems = check_legend(legend, path=path)
    where_to_key: dict[str, object] = {}
    if isinstance(legend, dict):
        for key in legend:
            where_to_key[f"{path}[{json.dumps(key) if isinstance(key, str) else repr(key)}]"] = key
    out: list[MaskProblem] = []
    for p in problems:
        if p.path in where_to_key:
            key = where_to_key[p.path]
            if key_problem(key) is not None:
                code = "black_in_legend" if isinstance(key, str) and key.lower() == "#000000" else "bad_legend_key"
            else:
                code = "bad_legend_entry"
        elif not isinstance(legend, dict):
            code = "bad_legend_file"
        else:
            code = "bad_legend_entry"    # the empty legend
        out.append(_problem(code, p.path, p.message, p.severity))
    return norm, out


def load_legend(path: str | Path) -> tuple[dict[str, str] | None, list[MaskProblem]]:
    """Read and check a legend file. ``None`` as the legend means the file itself is unreadable
    (missing, not UTF-8, not JSON: problem code ``bad_legend_file``), which the command line treats as
    an argument error rather than a finding about the mask."""
    data, problems = read_legend_data(path)
    if problems:
        return None, [_problem("bad_legend_file", p.path, p.message) for p in problems]
    return legend_problems(data, str(path))


# --------------------------------------------------------------------------------------------------
# Colour statistics
# --------------------------------------------------------------------------------------------------

@dataclass
class _Colours:
    """Distinct RGBA colours (packed uint32) and their pixel counts.

    ``overflow`` holds pixel counts per category for colours that were not tracked individually
    (only when an image has more than ``MAX_COLOURS`` colours, which no real mask has).
    """

    keys: np.ndarray
    counts: np.ndarray
    overflow: dict[int, int] = field(default_factory=dict)
    overflow_colours: int = 0


def _getcolors_sliced(img: Image.Image, limit: int) -> list[tuple[int, tuple[int, ...] | float]] | None:
    """``getcolors`` strip by strip (the GIL is free between strips); None past ``limit`` colours."""
    w, h = img.size
    rows = max(1, STRIP_PIXELS // max(1, w))
    merged: dict[tuple[int, ...] | float, int] = {}
    for y0 in range(0, h, rows):
        part = img.crop((0, y0, w, min(h, y0 + rows))).getcolors(limit)
        if part is None:
            return None
        for count, colour in part:
            merged[colour] = merged.get(colour, 0) + count
        if len(merged) > limit:
            return None
    return [(count, colour) for colour, count in merged.items()]


def _colour_stats(img: Image.Image, protect: np.ndarray, sliced: bool = False) -> _Colours:
    """Colour counts of a decoded RGBA image.

    ``getcolors`` walks Pillow's own buffer (about 2.7 passes, no copy) and gives up early when there
    are more than MAX_COLOURS colours; only then does the strip-wise numpy path run. ``sliced`` trades
    one copy pass for short GIL holds (see :func:`check`'s ``interactive``).
    """
    limit = MAX_COLOURS + len(protect)
    colours = _getcolors_sliced(img, limit) if sliced else img.getcolors(limit)
    if colours is not None:
        if not colours:
            return _Colours(np.zeros(0, np.uint32), np.zeros(0, np.int64))
        counts = np.fromiter((c for c, _ in colours), dtype=np.int64, count=len(colours))
        rgba = np.array([p for _, p in colours], dtype=np.uint32).reshape(-1, 4)
        keys = _pack(rgba[:, 0], rgba[:, 1], rgba[:, 2], rgba[:, 3])
        return _Colours(keys, counts)
    return _colour_stats_strips(img, protect)


def _strips(img: Image.Image) -> Iterable[tuple[int, np.ndarray]]:
    """(y0, uint32 array of rows) for horizontal strips of a decoded RGBA image, ~8 MiB each."""
    w, h = img.size
    rows = max(1, STRIP_PIXELS // max(1, w))
    for y0 in range(0, h, rows):
        strip = np.asarray(img.crop((0, y0, w, min(h, y0 + rows))))
        yield y0, strip.view("<u4")[..., 0]


def _colour_stats_strips(img: Image.Image, protect: np.ndarray) -> _Colours:
    """Bounded fallback for images with very many colours: exact per-category totals, the most
    frequent colours tracked individually (at most MAX_COLOURS), the rest summed per category."""
    keys = np.zeros(0, np.uint32)
    counts = np.zeros(0, np.int64)
    overflow: dict[int, int] = {}
    dropped = 0
    for _, strip in _strips(img):
        u, c = np.unique(strip, return_counts=True)
        allk = np.concatenate([keys, u])
        allc = np.concatenate([counts, c])
        keys, inv = np.unique(allk, return_inverse=True)
        counts = np.bincount(inv, weights=allc).astype(np.int64)
        if len(keys) > MAX_COLOURS:
            keep = np.zeros(len(keys), bool)
            keep[np.argsort(-counts, kind="stable")[:MAX_COLOURS]] = True
            keep |= np.isin(keys, protect)
            cats = _categorise(keys[~keep], protect)
            for cat in np.unique(cats):
                overflow[int(cat)] = overflow.get(int(cat), 0) + int(counts[~keep][cats == cat].sum())
            dropped += int((~keep).sum())
            keys, counts = keys[keep], counts[keep]
    return _Colours(keys, counts, overflow, dropped)


def _categorise(keys: np.ndarray, legend_keys: np.ndarray) -> np.ndarray:
    """Category of each packed colour. ``legend_keys`` are packed legend colours with alpha 255."""
    r, g, b, a = _unpack(keys)
    rgb0 = (r | g | b) == 0
    cat = np.full(len(keys), UNKNOWN, np.int8)
    cat[np.isin(keys, legend_keys)] = VALID
    cat[(a > 0) & (a < 255) & ~rgb0] = SOFT
    cat[rgb0 & (a != 0)] = BLACK_ALPHA
    cat[(a == 0) & ~rgb0] = HIDDEN
    cat[rgb0 & (a == 0)] = UNLABELLED
    return cat


def _locate(img: Image.Image, bad_keys: np.ndarray, bad_cats: np.ndarray, want_first: set[int],
            want_cats: set[int]) -> tuple[dict[int, list[tuple[int, int]]], dict[int, tuple[int, int]]]:
    """Example positions per category and the first position of chosen colours, in reading order.

    Walks the image in strips (bounded memory) and stops as soon as everything asked for is found,
    so a mask with a problem near the top costs almost nothing more than a clean one.
    """
    order = np.argsort(bad_keys)
    skeys, scats = bad_keys[order], bad_cats[order]
    examples: dict[int, list[tuple[int, int]]] = {c: [] for c in want_cats}
    first: dict[int, tuple[int, int]] = {}
    want_first = set(want_first)
    w = img.size[0]
    if not len(skeys):
        return examples, first
    for y0, strip in _strips(img):
        if not want_first and all(len(v) >= MAX_EXAMPLES for v in examples.values()):
            break
        flat = strip.ravel()
        pos = np.searchsorted(skeys, flat)
        np.minimum(pos, len(skeys) - 1, out=pos)
        hits = np.flatnonzero(skeys[pos] == flat)
        if not hits.size:
            continue
        hidx = pos[hits]
        hcat = scats[hidx]
        for cat, found in examples.items():
            need = MAX_EXAMPLES - len(found)
            if need > 0:
                sel = hits[hcat == cat][:need]
                found.extend((int(p % w), int(y0 + p // w)) for p in sel)
        if want_first:
            u, i = np.unique(hidx, return_index=True)
            for k, p in zip(skeys[u].tolist(), hits[i].tolist(), strict=True):
                if k in want_first:
                    first[k] = (int(p % w), int(y0 + p // w))
                    want_first.discard(k)
    return examples, first


# --------------------------------------------------------------------------------------------------
# Near colours: what resizing or anti-aliasing leaves behind, and where repair would put it
# --------------------------------------------------------------------------------------------------

def _snap_targets(rgb: np.ndarray, counts: np.ndarray, legend_rgb: np.ndarray, tolerance: float,
                  total: int) -> np.ndarray:
    """For each colour (rows of ``rgb``), the legend index it should snap to, ``L`` for unlabelled
    (black), or -1 to leave it.

    A colour snaps to the nearest legend colour within ``tolerance`` (RGB distance). A rare colour
    also snaps when it lies within ``tolerance`` of the straight line between two legend colours (or
    a legend colour and black), which is exactly what bilinear resizing or anti-aliasing makes of a
    boundary: it goes to whichever end it is closer to. Frequent colours far from every legend colour
    are a forgotten class, not an artefact, and are left alone.
    """
    n = len(rgb)
    out = np.full(n, -1, np.int64)
    if n == 0:
        return out
    ends = np.vstack([np.asarray(legend_rgb, np.float64).reshape(-1, 3), np.zeros((1, 3))])
    m = len(ends)
    rare = counts <= max(256, total // 1000)
    tol2 = float(tolerance) ** 2
    k = min(m, 6)
    chunk = max(1, (1 << 21) // m)
    p_all = np.asarray(rgb, np.float64)
    for s in range(0, n, chunk):
        p = p_all[s:s + chunk]
        d2 = ((p[:, None, :] - ends[None, :, :]) ** 2).sum(-1)
        near = np.argmin(d2, axis=1)
        best = d2[np.arange(len(p)), near]
        tgt = np.where(best <= tol2, near, -1)
        todo = np.flatnonzero((tgt < 0) & rare[s:s + chunk])
        if todo.size and m >= 2:
            q = p[todo]
            cand = np.argpartition(d2[todo], k - 1, axis=1)[:, :k] if k < m else np.tile(np.arange(m), (len(todo), 1))
            seg_best = np.full(len(todo), np.inf)
            seg_tgt = np.full(len(todo), -1, np.int64)
            for i in range(k):
                for j in range(i + 1, k):
                    ia, ib = cand[:, i], cand[:, j]
                    a, b = ends[ia], ends[ib]
                    ab = b - a
                    denom = (ab ** 2).sum(1)
                    t = np.clip(((q - a) * ab).sum(1) / np.where(denom == 0, 1, denom), 0, 1)
                    dist2 = ((a + t[:, None] * ab - q) ** 2).sum(1)
                    better = (dist2 <= tol2) & (dist2 < seg_best)
                    seg_best[better] = dist2[better]
                    seg_tgt[better] = np.where(t < 0.5, ia, ib)[better]
            tgt[todo] = seg_tgt
        out[s:s + chunk] = tgt
    return out


# --------------------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------------------

def check(mask: str | Path | Image.Image, legend: dict[str, str] | str | Path,
          primary_size: tuple[int, int] | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS,
          tolerance: float = DEFAULT_TOLERANCE, interactive: bool = False) -> MaskReport:
    """Check a pre-label mask against its legend (and the primary image's size); never raises for a
    bad file, every finding is a problem in the report.

    ``mask`` is a path or an open PIL image; ``legend`` a mapping or the path of a legend JSON file.
    ``interactive``: count colours in strips of a few milliseconds each instead of one ``getcolors`` over
    the whole image, which holds the GIL for ~80 ms on a 50-megapixel mask; a GUI thread waiting for the
    GIL would freeze that long. Costs one extra copy pass; the command line leaves it off.
    """
    where = str(mask) if not isinstance(mask, Image.Image) else (getattr(mask, "filename", "") or "mask")
    report = MaskReport(path=where)
    if isinstance(legend, (str, Path)):
        norm, lprobs = load_legend(legend)
        norm = norm or {}
    else:
        norm, lprobs = legend_problems(legend)
    report.problems += lprobs
    report.rows = [LegendRow(h, name) for h, name in norm.items()]

    img, header = _open_image(mask, where, max_pixels, report.problems)
    if img is None:
        return report
    try:
        _check_image(img, header, norm, primary_size, tolerance, report, interactive)
    finally:
        if img is not mask:
            img.close()
    return report


def _mode_problem(img: Image.Image, header: PngHeader | None, where: str) -> MaskProblem | None:
    """Why the pixel layout is not 4 x 8-bit RGBA (and the fix), or None."""
    mode = img.mode
    if header is not None and img.format == "PNG":
        _, _, depth, ctype = header
        if ctype == 6 and depth == 8:
            return None
        found = f"a {depth}-bit {_PNG_COLOUR_TYPES.get(ctype, f'colour type {ctype}')} PNG"
    elif mode == "RGBA":
        return None
    else:
        found = f"a {img.format or 'Pillow'} image in mode {mode}"
    if mode == "RGBA" or (header and header[3] == 6):
        fix = "save it with 8 bits per channel (4 x 8-bit RGBA)"
    elif mode in ("RGB", "CMYK", "YCbCr") or (header and header[3] == 2):
        fix = ("convert it to RGBA: alpha 255 on labelled pixels and all four channels 0 on unlabelled ones "
               "(`playment-submit mask repair` does this for an RGB mask whose unlabelled pixels are black)")
    else:
        fix = ("if its pixel values are class indices, colour-code it with `playment-submit mask encode`; "
               "otherwise convert it to 8-bit RGBA")
    return _problem("not_rgba", where, f"the mask is {found}, but Playment needs 8-bit RGBA (4 channels); {fix}.")


def _check_image(img: Image.Image, header: PngHeader | None, legend: dict[str, str],
                 primary_size: tuple[int, int] | None, tolerance: float, report: MaskReport,
                 interactive: bool = False) -> None:
    where = report.path
    probs = report.problems
    report.width, report.height = img.size
    report.format, report.mode = img.format, img.mode
    if img.format is not None and img.format != "PNG":
        lossy = img.format in ("JPEG", "MPO", "WEBP", "JPEG2000", "HEIF", "AVIF")
        probs.append(_problem("not_png", where,
                              f"the mask is a {img.format} file, not a PNG; "
                              + ("JPEG and other lossy formats alter the exact colours the legend relies on, "
                                 if lossy else "Playment expects PNG masks, ")
                              + "so save the mask as an RGBA PNG from the original label data."))
    if primary_size is not None and tuple(primary_size) != tuple(img.size):
        pw, ph = primary_size
        probs.append(_problem("size_mismatch", where,
                              f"the mask is {img.size[0]} x {img.size[1]} pixels but the primary image is "
                              f"{pw} x {ph}; the mask must have exactly the primary image's size (resize with "
                              f"nearest-neighbour only, or export the mask again at full size)."))
    mp = _mode_problem(img, header, where)
    if mp is not None:
        probs.append(mp)
        return
    if not _load(img, where, probs):
        return

    legend_keys = np.array(sorted(_hex_key(h) for h in legend), dtype=np.uint32)
    stats = _colour_stats(img, np.append(legend_keys, np.uint32(0)), sliced=interactive)
    total = img.size[0] * img.size[1]
    cats = _categorise(stats.keys, legend_keys)
    by_key = dict(zip(stats.keys.tolist(), stats.counts.tolist(), strict=True))
    for row in report.rows:
        row.pixels = int(by_key.get(_hex_key(row.hex), 0))
        row.share = row.pixels / total if total else 0.0
    report.unlabelled = int(by_key.get(0, 0))

    totals = {c: int(stats.counts[cats == c].sum()) + stats.overflow.get(c, 0) for c in _CAT_CODE}
    bad = cats >= UNKNOWN
    if bad.any() or stats.overflow:
        unknown = np.flatnonzero(cats == UNKNOWN)
        unknown = unknown[np.argsort(-stats.counts[unknown], kind="stable")]
        listed = unknown[:MAX_LISTED]
        want_cats = {c for c, n in totals.items() if n}
        examples, first = _locate(img, stats.keys[bad], cats[bad].astype(np.int8),
                                  set(stats.keys[listed].tolist()), want_cats)
        if totals[UNKNOWN]:
            rows: list[dict[str, Any]] = [{"hex": _key_hex(k), "pixels": int(c), "first": list(first.get(int(k), ()))}
                    for k, c in zip(stats.keys[listed].tolist(), stats.counts[listed].tolist(), strict=True)]
            parts = [f"{r['hex']} ({_px(r['pixels'])}, first at {_at(tuple(r['first']) or None)})" for r in rows]
            n_col = len(unknown) + stats.overflow_colours
            more = n_col - len(listed)
            if more > 0:
                rest = totals[UNKNOWN] - sum(r["pixels"] for r in rows)
                parts.append(f"and {_n(more)} more colour{'s' if more != 1 else ''} ({_px(rest)})")
            probs.append(_problem(
                "unknown_colour", where,
                f"{_px(totals[UNKNOWN])} in {_n(n_col)} colour{'s' if n_col != 1 else ''} not in the legend: "
                + ", ".join(parts) + "; add these colours to the legend or recolour those pixels.",
                count=totals[UNKNOWN], examples=examples.get(UNKNOWN, ()), details=rows))
        if totals[BLACK_ALPHA]:
            ex = examples.get(BLACK_ALPHA, [])
            probs.append(_problem(
                "black_with_alpha", where,
                f"{_px(totals[BLACK_ALPHA])} are black with non-zero alpha (first at {_at(ex[0] if ex else None)}); "
                f"only pixels with all four channels 0 mean unlabelled, and #000000 cannot be a class: set them "
                f"to (0, 0, 0, 0), or run `playment-submit mask repair`.",
                count=totals[BLACK_ALPHA], examples=ex))
        if totals[SOFT]:
            ex = examples.get(SOFT, [])
            probs.append(_problem(
                "soft_alpha", where,
                f"{_px(totals[SOFT])} have partial alpha between 1 and 254 (first at {_at(ex[0] if ex else None)}), "
                f"the soft edges of anti-aliasing or resizing; labelled pixels need alpha 255: run "
                f"`playment-submit mask repair` (alpha of {DEFAULT_ALPHA_THRESHOLD} or more becomes 255, "
                f"less becomes unlabelled).",
                count=totals[SOFT], examples=ex))
        if totals[HIDDEN]:
            ex = examples.get(HIDDEN, [])
            probs.append(_problem(
                "hidden_colour", where,
                f"{_px(totals[HIDDEN])} are fully transparent but keep a colour (first at "
                f"{_at(ex[0] if ex else None)}); they count as unlabelled only if every tool ignores RGB under "
                f"alpha 0: set them to (0, 0, 0, 0), or run `playment-submit mask repair`.",
                severity="warning", count=totals[HIDDEN], examples=ex))
        # Near colours: off-legend colours that repair would snap.
        off = np.flatnonzero((cats == UNKNOWN) | (cats == SOFT))
        if len(off) and len(legend_keys):
            r, g, b, _ = _unpack(stats.keys[off])
            rgb = np.stack([r, g, b], 1)
            uniq_rgb, inv = np.unique(rgb, axis=0, return_inverse=True)
            ucounts = np.bincount(inv.ravel(), weights=stats.counts[off], minlength=len(uniq_rgb)).astype(np.int64)
            lr, lg, lb, _ = _unpack(legend_keys)
            in_legend = np.isin(_pack(uniq_rgb[:, 0], uniq_rgb[:, 1], uniq_rgb[:, 2]), legend_keys)
            tg = _snap_targets(uniq_rgb, ucounts, np.stack([lr, lg, lb], 1), tolerance, total)
            near = (tg >= 0) & ~in_legend
            if near.sum() >= NEAR_MIN_COLOURS:
                probs.append(_problem(
                    "near_colours", where,
                    f"{_n(int(near.sum()))} colours ({_px(int(ucounts[near].sum()))}) lie close to legend colours "
                    f"or between two of them, the trace of resizing or anti-aliasing the mask; run "
                    f"`playment-submit mask repair` to snap them to the legend, and resize masks with "
                    f"nearest-neighbour only.",
                    severity="warning", count=int(ucounts[near].sum())))

    empty = [r for r in report.rows if r.pixels == 0]
    if empty:
        names = ", ".join(f"{r.hex} ({r.name})" for r in empty[:MAX_LISTED])
        if len(empty) > MAX_LISTED:
            names += f" and {len(empty) - MAX_LISTED} more"
        probs.append(_problem(
            "empty_class", where,
            f"{len(empty)} legend colour{'s have' if len(empty) != 1 else ' has'} no pixels in the mask: {names}; "
            f"that is fine if those classes are absent from this image, otherwise check the colours.",
            severity="warning", count=len(empty), details=[{"hex": r.hex, "name": r.name} for r in empty]))
