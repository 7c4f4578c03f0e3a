"""``check``: is a mask a valid Playment pre-label for its legend? Also the legend checks and the
colour statistics that :func:`check` (and :func:`core.mask.repair`) work from.

Speed matters because masks are big (an 8192 x 6144 mask is 192 MiB decoded) and PNG decoding
dominates: an 8-bit RGBA PNG is decoded by libspng (:func:`core.mask.io.decode_rgba8`, about 0.4x
Pillow's time), and the colour statistics come from one pass over the decoded pixels that counts runs
of equal pixels rather than pixels (masks are long runs of one colour), strip by strip, without a copy.
Anything else (other formats, other layouts, files libspng refuses) goes through Pillow as before, with
``Image.getcolors``. Pixels are only located (example coordinates) when a problem exists.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from ..errors import Problem
from ..legend import check_legend, key_problem, read_legend_data
from .classmap import MAX_INDEXED, ClassIndexer, class_index, runs
from .io import (
    DEFAULT_MAX_PIXELS,
    RGBA8,
    PngHeader,
    decode_pixels,
    decode_rgba8,
    is_pil_image,
    open_image,
    png_decoder,
    png_header,
)
from .shared import (
    DEFAULT_ALPHA_THRESHOLD,
    DEFAULT_TOLERANCE,
    MAX_LISTED,
    STRIP_PIXELS,
    MaskProblem,
    count_text,
    hex_key,
    key_hex,
    mask_problem,
    pack_rgba,
    pixels_as_u32,
    pixels_text,
    position_text,
    unpack_rgba,
)

MAX_EXAMPLES = 5                  # example pixel coordinates kept per problem
NEAR_MIN_COLOURS = 4              # this many near colours look like resizing, not a forgotten class
MAX_COLOURS = 1 << 16             # getcolors() gives up beyond this; a mask has far fewer colours
RUN_STRIP = 1 << 20               # pixels per strip of the run count (bounds its temporaries to ~30 MiB)

# Pixel categories (a colour's category follows from its RGBA alone).
VALID, UNLABELLED, UNKNOWN, SOFT, BLACK_ALPHA, HIDDEN = range(6)
CATEGORY_CODES = {UNKNOWN: "unknown_colour", SOFT: "soft_alpha", BLACK_ALPHA: "black_with_alpha",
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
        out.append(mask_problem(code, p.path, p.message, p.severity))
    return norm, out


def load_legend(path: str | Path) -> tuple[dict[str, str] | None, list[MaskProblem]]:
    """Read and check a legend file. ``None`` as the legend means the file cannot be used at all: code
    ``legend_unreadable`` when the path is not a readable file (missing, a folder, no permission), which the
    command line treats as a usage error (exit 2); ``bad_legend_file`` when the file reads but is no legend
    (not UTF-8, not JSON), a refused input (exit 1) like a legend that is not a mapping."""
    data, problems = read_legend_data(path)
    if problems:
        readable = os.path.isfile(path) and os.access(path, os.R_OK)
        code = "bad_legend_file" if readable else "legend_unreadable"
        return None, [mask_problem(code, p.path, p.message) for p in problems]
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


if TYPE_CHECKING:  # Pillow is imported by core.mask.io when a file needs it, never for the fast path
    from PIL import Image

Pixels: TypeAlias = "Image.Image | np.ndarray"
"""Decoded mask pixels: a loaded RGBA Pillow image, or an (H, W, 4) uint8 array from the fast decoder."""


def _size(src: Pixels) -> tuple[int, int]:
    return (src.shape[1], src.shape[0]) if isinstance(src, np.ndarray) else src.size


def colour_stats(src: Pixels, protect: np.ndarray, sliced: bool = False,
                  indexer: ClassIndexer | None = None) -> _Colours:
    """Colour counts of decoded RGBA pixels: :func:`_colour_stats_runs` for an array, ``getcolors`` for a
    Pillow image.

    ``getcolors`` walks Pillow's own buffer (about 2.7 passes, no copy) and gives up early when there
    are more than MAX_COLOURS colours; only then does the strip-wise numpy path run. ``sliced`` trades
    one copy pass for short GIL holds (see :func:`check`'s ``interactive``). ``indexer`` (array path only)
    also gets every strip's runs, to fill the class-index array in the same pass.
    """
    if isinstance(src, np.ndarray):
        return _colour_stats_runs(pixels_as_u32(src).reshape(-1), protect, indexer)
    img = src
    limit = MAX_COLOURS + len(protect)
    colours = _getcolors_sliced(img, limit) if sliced else img.getcolors(limit)
    if colours is not None:
        if not colours:
            return _Colours(np.zeros(0, np.uint32), np.zeros(0, np.int64))
        counts = np.fromiter((c for c, _ in colours), dtype=np.int64, count=len(colours))
        rgba = np.array([p for _, p in colours], dtype=np.uint32).reshape(-1, 4)
        keys = pack_rgba(rgba[:, 0], rgba[:, 1], rgba[:, 2], rgba[:, 3])
        order = np.argsort(keys)  # key order, as the run count gives: equal counts are listed alike
        return _Colours(keys[order], counts[order])
    return _colour_stats_strips(img, protect)


def _colour_stats_runs(flat: np.ndarray, protect: np.ndarray, indexer: ClassIndexer | None = None) -> _Colours:
    """Exact colour counts of packed pixels (1-D uint32, a view of the decoded buffer) in one pass.

    A mask is long runs of one colour, so each strip is reduced to its runs first (compare neighbours:
    run values and lengths, a few thousand per strip instead of a million pixels), and run values are
    counted weighted by length: against the colours already known (a binary search), and only the new
    ones sorted. A noisy mask (runs of one pixel) is counted just as exactly, only more slowly. Memory
    stays bounded by the strip (``RUN_STRIP`` pixels), and past ``MAX_COLOURS`` colours the rarest are
    summed per category as :func:`_colour_stats_strips` does. ``indexer`` is handed each strip's runs
    (:meth:`ClassIndexer.fill`): the window's class-index array costs one ``np.repeat`` more, not a pass.
    """
    keys = np.zeros(0, np.uint32)
    counts = np.zeros(0, np.int64)
    overflow: dict[int, int] = {}
    dropped = 0
    for s in range(0, flat.size, RUN_STRIP):
        vals, lens = runs(flat[s:s + RUN_STRIP])
        if indexer is not None:
            indexer.fill(s, vals, lens)
        if len(keys):
            pos = np.searchsorted(keys, vals)
            np.minimum(pos, len(keys) - 1, out=pos)
            hit = keys[pos] == vals
            counts += np.bincount(pos[hit], weights=lens[hit], minlength=len(keys)).astype(np.int64)
            if hit.all():
                continue
            vals, lens = vals[~hit], lens[~hit]
        new, inv = np.unique(vals, return_inverse=True)
        allk = np.concatenate([keys, new])
        allc = np.concatenate([counts, np.bincount(inv.ravel(), weights=lens).astype(np.int64)])
        order = np.argsort(allk, kind="stable")
        keys, counts = allk[order], allc[order]
        if len(keys) > MAX_COLOURS:
            keys, counts, dropped = _drop_rare(keys, counts, protect, overflow, dropped)
    return _Colours(keys, counts, overflow, dropped)


def _drop_rare(keys: np.ndarray, counts: np.ndarray, protect: np.ndarray, overflow: dict[int, int],
               dropped: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Keep the MAX_COLOURS most frequent colours (and the protected ones); add the rest to ``overflow``
    per category. Returns (keys, counts, colours dropped so far)."""
    keep = np.zeros(len(keys), bool)
    keep[np.argsort(-counts, kind="stable")[:MAX_COLOURS]] = True
    keep |= _isin(keys, protect)
    cats = categorise_colours(keys[~keep], protect)
    for cat in np.unique(cats):
        overflow[int(cat)] = overflow.get(int(cat), 0) + int(counts[~keep][cats == cat].sum())
    return keys[keep], counts[keep], dropped + int((~keep).sum())


def _strips(src: Pixels) -> Iterable[tuple[int, np.ndarray]]:
    """(y0, uint32 array of rows) for horizontal strips of decoded RGBA pixels, ~8 MiB each (views of an
    array; copies of a Pillow image's rows)."""
    w, h = _size(src)
    rows = max(1, STRIP_PIXELS // max(1, w))
    if isinstance(src, np.ndarray):
        u = pixels_as_u32(src)
        for y0 in range(0, h, rows):
            yield y0, u[y0:y0 + rows]
        return
    img = src
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
            keys, counts, dropped = _drop_rare(keys, counts, protect, overflow, dropped)
    return _Colours(keys, counts, overflow, dropped)


def _isin(keys: np.ndarray, among: np.ndarray) -> np.ndarray:
    """``np.isin`` for a small ``among``, by binary search. (np.isin sorts through ``np.unique``, whose
    first call imports numpy.ma: 20 ms of every ``mask check`` process.)"""
    among = np.sort(np.asarray(among, np.uint32))
    if not len(among):
        return np.zeros(np.shape(keys), bool)
    pos = np.searchsorted(among, keys)
    np.minimum(pos, len(among) - 1, out=pos)
    return np.asarray(among[pos] == keys)


def categorise_colours(keys: np.ndarray, legend_keys: np.ndarray) -> np.ndarray:
    """Category of each packed colour. ``legend_keys`` are packed legend colours with alpha 255."""
    r, g, b, a = unpack_rgba(keys)
    rgb0 = (r | g | b) == 0
    cat = np.full(len(keys), UNKNOWN, np.int8)
    cat[_isin(keys, legend_keys)] = VALID
    cat[(a > 0) & (a < 255) & ~rgb0] = SOFT
    cat[rgb0 & (a != 0)] = BLACK_ALPHA
    cat[(a == 0) & ~rgb0] = HIDDEN
    cat[rgb0 & (a == 0)] = UNLABELLED
    return cat


def _locate(src: Pixels, bad_keys: np.ndarray, bad_cats: np.ndarray, want_first: set[int],
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
    w = _size(src)[0]
    if not len(skeys):
        return examples, first
    for y0, strip in _strips(src):
        if not want_first and all(len(v) >= MAX_EXAMPLES for v in examples.values()):
            break
        vals, lens = runs(strip.ravel())       # look up runs, not pixels: a mask is long runs of one colour
        pos = np.searchsorted(skeys, vals)
        np.minimum(pos, len(skeys) - 1, out=pos)
        hits = np.flatnonzero(skeys[pos] == vals)
        if not hits.size:
            continue
        starts = np.cumsum(lens)
        starts -= lens
        hidx, hstart, hlen = pos[hits], starts[hits], lens[hits]
        hcat = scats[hidx]
        for cat, found in examples.items():
            need = MAX_EXAMPLES - len(found)
            if need > 0:   # the first `need` pixels of the category: from at most `need` of its runs
                sel = np.flatnonzero(hcat == cat)[:need]
                pixels = [p for i in sel.tolist() for p in range(int(hstart[i]), int(hstart[i] + min(hlen[i], need)))]
                found.extend((p % w, y0 + p // w) for p in pixels[:need])
        if want_first:
            u, i = np.unique(hidx, return_index=True)
            for k, p in zip(skeys[u].tolist(), hstart[i].tolist(), strict=True):
                if k in want_first:
                    first[k] = (int(p % w), int(y0 + p // w))
                    want_first.discard(k)
    return examples, first


# --------------------------------------------------------------------------------------------------
# Near colours: what resizing or anti-aliasing leaves behind, and where repair would put it
# --------------------------------------------------------------------------------------------------

def snap_targets(rgb: np.ndarray, counts: np.ndarray, legend_rgb: np.ndarray, tolerance: float,
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
    ``interactive``: when Pillow decodes (not an 8-bit RGBA PNG, or no libspng), count colours in strips of
    a few milliseconds each instead of one ``getcolors`` over the whole image, which holds the GIL for
    ~80 ms on a 50-megapixel mask; a GUI thread waiting for the GIL would freeze that long. The fast path
    (libspng and the run count) is strip-wise and releases the GIL anyway. The command line leaves it off.

    A report that :func:`check_pixels` made for the same file (same path, inode, size and times), legend,
    primary size and limits is reused: the window's load and the check before sending decode once.
    """
    key = _cache_key(mask, legend, primary_size, max_pixels, tolerance)
    cached = _reports.get(key) if key is not None else None
    if cached is not None:
        return cached
    return _check(mask, legend, primary_size, max_pixels, tolerance, interactive, keep=False)[0]


def check_pixels(mask: str | Path, legend: dict[str, str] | str | Path, primary_size: tuple[int, int] | None = None,
                 *, max_pixels: int = DEFAULT_MAX_PIXELS, tolerance: float = DEFAULT_TOLERANCE,
                 interactive: bool = True) -> tuple[MaskReport, np.ndarray | None]:
    """:func:`check`, also handing back the decoded pixels ((H, W, 4) uint8 RGBA) when the report is
    ``usable`` (else None), so that the window draws its overlay from the same decode. The report is kept
    (a few dozen, small) for the :func:`check` that the pipeline runs before sending the same mask."""
    report, pixels, _ = _check_and_keep(mask, legend, primary_size, max_pixels, tolerance, interactive, indexed=False)
    return report, pixels


def check_indexed(mask: str | Path, legend: dict[str, str] | str | Path,
                  primary_size: tuple[int, int] | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                  tolerance: float = DEFAULT_TOLERANCE,
                  interactive: bool = True) -> tuple[MaskReport, np.ndarray | None, np.ndarray | None]:
    """:func:`check_pixels`, also handing back the class-index array of the pixels ((H, W) uint8, see
    :func:`core.mask.classmap.class_index`) for the legend's good entries (those of
    :func:`core.legend.check_legend`, in its order), or None when the pixels are not handed back or the
    legend has more than ``MAX_INDEXED`` good entries.

    For an 8-bit RGBA PNG that libspng decodes, the index is filled from the runs that the colour count
    finds anyway (one ``np.repeat`` per strip more), so the window's overlay costs almost nothing beyond
    the check; for anything Pillow decodes it is computed afterwards from the decoded pixels.
    """
    return _check_and_keep(mask, legend, primary_size, max_pixels, tolerance, interactive, indexed=True)


def _check_and_keep(mask: str | Path, legend: dict[str, str] | str | Path, primary_size: tuple[int, int] | None,
                    max_pixels: int, tolerance: float, interactive: bool, *,
                    indexed: bool) -> tuple[MaskReport, np.ndarray | None, np.ndarray | None]:
    """:func:`_check` handing back the pixels (and the index when ``indexed``), its report kept for
    :func:`check`."""
    key = _cache_key(mask, legend, primary_size, max_pixels, tolerance)
    report, pixels, index = _check(mask, legend, primary_size, max_pixels, tolerance, interactive, keep=True,
                                   indexed=indexed)
    if key is not None:
        _reports.put(key, report)
    return report, pixels, index


class _Reports:
    """The last few reports of :func:`check_pixels`, keyed by what a report depends on; handed out as
    copies (callers may change a report). Thread-safe: the window checks in workers."""

    def __init__(self, limit: int = 32) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, MaskReport] = OrderedDict()
        self._limit = limit

    def get(self, key: Hashable) -> MaskReport | None:
        with self._lock:
            report = self._items.get(key)
            if report is not None:
                self._items.move_to_end(key)
        return copy.deepcopy(report) if report is not None else None

    def put(self, key: Hashable, report: MaskReport) -> None:
        report = copy.deepcopy(report)
        with self._lock:
            self._items[key] = report
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_reports = _Reports()


def _file_key(path: str | Path) -> tuple[object, ...] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (os.path.abspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _cache_key(mask: object, legend: object, primary_size: tuple[int, int] | None, max_pixels: int,
               tolerance: float) -> Hashable | None:
    """What a report depends on, or None when it cannot be told (an open image, a legend that is not
    plain JSON data, a file that cannot be stat'ed)."""
    if not isinstance(mask, (str, Path)):
        return None
    mask_key = _file_key(mask)
    if mask_key is None:
        return None
    if isinstance(legend, (str, Path)):
        legend_key: object = _file_key(legend)
        if legend_key is None:
            return None
    else:
        try:
            legend_key = json.dumps(legend, sort_keys=True)
        except (TypeError, ValueError):
            return None
    size = tuple(primary_size) if primary_size is not None else None
    return (mask_key, legend_key, size, max_pixels, float(tolerance), png_decoder())


def _check(mask: str | Path | Image.Image, legend: dict[str, str] | str | Path,
           primary_size: tuple[int, int] | None, max_pixels: int, tolerance: float, interactive: bool,
           keep: bool, indexed: bool = False) -> tuple[MaskReport, np.ndarray | None, np.ndarray | None]:
    """The report, the decoded pixels when ``keep`` and usable, and (``indexed``) their class index."""
    where = str(mask) if not is_pil_image(mask) else (getattr(mask, "filename", "") or "mask")
    report = MaskReport(path=where)
    if isinstance(legend, (str, Path)):
        norm, lprobs = load_legend(legend)
        norm = norm or {}
    else:
        norm, lprobs = legend_problems(legend)
    report.problems += lprobs
    report.rows = [LegendRow(h, name) for h, name in norm.items()]

    if not is_pil_image(mask):
        pixels = _fast_pixels(Path(mask), max_pixels)  # type: ignore[arg-type]
        if pixels is not None:  # an 8-bit RGBA PNG that libspng decoded
            report.width, report.height = _size(pixels)
            report.format, report.mode = "PNG", "RGBA"
            _size_problem(pixels, primary_size, report)
            indexer = None
            if indexed and len(norm) <= MAX_INDEXED:
                indexer = ClassIndexer(norm, np.empty(pixels.shape[0] * pixels.shape[1], np.uint8))
            _check_colours(pixels, norm, tolerance, report, interactive, indexer)
            if not (keep and report.usable):
                return report, None, None
            index = indexer.out.reshape(pixels.shape[:2]) if indexer is not None and indexer.out is not None else None
            return report, pixels, index

    img, header = open_image(mask, where, max_pixels, report.problems)
    if img is None:
        return report, None, None
    try:
        loaded = _check_image(img, header, norm, primary_size, tolerance, report, interactive)
        kept = np.asarray(img) if keep and loaded and report.usable and img.mode == "RGBA" else None
    finally:
        if img is not mask:
            img.close()
    index = class_index(kept, norm) if indexed and kept is not None and len(norm) <= MAX_INDEXED else None
    return report, kept, index


def _fast_pixels(path: Path, max_pixels: int) -> np.ndarray | None:
    """The pixels of an 8-bit RGBA PNG within the cap, through libspng; None for anything else (which
    Pillow then opens, refuses or decodes, with the same sentences as always)."""
    if not path.is_file():
        return None
    header = png_header(path)
    if header is None or header[2:] != RGBA8 or header[0] * header[1] > max_pixels:
        return None
    return decode_rgba8(path, header)


def _size_problem(src: Pixels, primary_size: tuple[int, int] | None, report: MaskReport) -> None:
    size = _size(src)
    if primary_size is not None and tuple(primary_size) != tuple(size):
        pw, ph = primary_size
        report.problems.append(mask_problem(
            "size_mismatch", report.path,
            f"the mask is {size[0]} x {size[1]} pixels but the primary image is "
            f"{pw} x {ph}; the mask must have exactly the primary image's size (resize with "
            f"nearest-neighbour only, or export the mask again at full size)."))


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
    hint: str | None = None
    if mode == "RGBA" or (header and header[3] == 6):
        fix = "save it with 8 bits per channel (4 x 8-bit RGBA)"
    elif mode in ("RGB", "CMYK", "YCbCr") or (header and header[3] == 2):
        fix = "convert it to RGBA: alpha 255 on labelled pixels and all four channels 0 on unlabelled ones"
        hint = "mask_repair_rgb"
    else:
        fix = "convert it to 8-bit RGBA"
        hint = "mask_encode"
    return mask_problem("not_rgba", where, f"the mask is {found}, but Playment needs 8-bit RGBA (4 channels); {fix}.",
                    fix=hint)


def _check_image(img: Image.Image, header: PngHeader | None, legend: dict[str, str],
                 primary_size: tuple[int, int] | None, tolerance: float, report: MaskReport,
                 interactive: bool = False) -> bool:
    """The checks of a mask that Pillow opened: format, size, layout, then its colours. True when the
    pixels were decoded."""
    where = report.path
    probs = report.problems
    report.width, report.height = img.size
    report.format, report.mode = img.format, img.mode
    if img.format is not None and img.format != "PNG":
        lossy = img.format in ("JPEG", "MPO", "WEBP", "JPEG2000", "HEIF", "AVIF")
        probs.append(mask_problem("not_png", where,
                              f"the mask is a {img.format} file, not a PNG; "
                              + ("JPEG and other lossy formats alter the exact colours the legend relies on, "
                                 if lossy else "Playment expects PNG masks, ")
                              + "so save the mask as an RGBA PNG from the original label data."))
    _size_problem(img, primary_size, report)
    mp = _mode_problem(img, header, where)
    if mp is not None:
        if not any(p.code == "not_png" for p in probs):
            probs.append(mp)  # a non-PNG is told to be saved as an RGBA PNG already: each problem once
        return False
    if not decode_pixels(img, where, probs):
        return False
    _check_colours(img, legend, tolerance, report, interactive)
    return True


def _check_colours(src: Pixels, legend: dict[str, str], tolerance: float, report: MaskReport,
                   interactive: bool, indexer: ClassIndexer | None = None) -> None:
    """Count the colours of decoded RGBA pixels and report every colour finding (``indexer``: see
    :func:`colour_stats`)."""
    where = report.path
    probs = report.problems
    legend_keys = np.array(sorted(hex_key(h) for h in legend), dtype=np.uint32)
    stats = colour_stats(src, np.append(legend_keys, np.uint32(0)), sliced=interactive, indexer=indexer)
    w, h = _size(src)
    total = w * h
    cats = categorise_colours(stats.keys, legend_keys)
    by_key = dict(zip(stats.keys.tolist(), stats.counts.tolist(), strict=True))
    for row in report.rows:
        row.pixels = int(by_key.get(hex_key(row.hex), 0))
        row.share = row.pixels / total if total else 0.0
    report.unlabelled = int(by_key.get(0, 0))

    totals = {c: int(stats.counts[cats == c].sum()) + stats.overflow.get(c, 0) for c in CATEGORY_CODES}
    bad = cats >= UNKNOWN
    if bad.any() or stats.overflow:
        unknown = np.flatnonzero(cats == UNKNOWN)
        unknown = unknown[np.argsort(-stats.counts[unknown], kind="stable")]
        listed = unknown[:MAX_LISTED]
        want_cats = {c for c, n in totals.items() if n}
        examples, first = _locate(src, stats.keys[bad], cats[bad].astype(np.int8),
                                  set(stats.keys[listed].tolist()), want_cats)
        if totals[UNKNOWN]:
            rows: list[dict[str, Any]] = [{"hex": key_hex(k), "pixels": int(c), "first": list(first.get(int(k), ()))}
                    for k, c in zip(stats.keys[listed].tolist(), stats.counts[listed].tolist(), strict=True)]
            parts = [f"{r['hex']} ({pixels_text(r['pixels'])}, first at {position_text(tuple(r['first']) or None)})"
                     for r in rows]
            n_col = len(unknown) + stats.overflow_colours
            more = n_col - len(listed)
            if more > 0:
                rest = totals[UNKNOWN] - sum(r["pixels"] for r in rows)
                parts.append(f"and {count_text(more)} more colour{'s' if more != 1 else ''} ({pixels_text(rest)})")
            probs.append(mask_problem(
                "unknown_colour", where,
                f"{pixels_text(totals[UNKNOWN])} in {count_text(n_col)} colour{'s' if n_col != 1 else ''} not in the "
                f"legend: "
                + ", ".join(parts) + "; add these colours to the legend or recolour those pixels.",
                count=totals[UNKNOWN], examples=examples.get(UNKNOWN, ()), details=rows))
        if totals[BLACK_ALPHA]:
            ex = examples.get(BLACK_ALPHA, [])
            probs.append(mask_problem(
                "black_with_alpha", where,
                f"{pixels_text(totals[BLACK_ALPHA])} are black with non-zero alpha (first at "
                f"{position_text(ex[0] if ex else None)}); "
                f"only pixels with all four channels 0 mean unlabelled, and #000000 cannot be a class: set them "
                f"to (0, 0, 0, 0).",
                count=totals[BLACK_ALPHA], examples=ex, fix="mask_repair"))
        if totals[SOFT]:
            ex = examples.get(SOFT, [])
            probs.append(mask_problem(
                "soft_alpha", where,
                f"{pixels_text(totals[SOFT])} have partial alpha between 1 and 254 (first at "
                f"{position_text(ex[0] if ex else None)}), "
                f"the soft edges of anti-aliasing or resizing; labelled pixels need alpha 255 (repairing makes "
                f"alpha of {DEFAULT_ALPHA_THRESHOLD} or more 255, and less unlabelled).",
                count=totals[SOFT], examples=ex, fix="mask_repair"))
        if totals[HIDDEN]:
            ex = examples.get(HIDDEN, [])
            probs.append(mask_problem(
                "hidden_colour", where,
                f"{pixels_text(totals[HIDDEN])} are fully transparent but keep a colour (first at "
                f"{position_text(ex[0] if ex else None)}); they count as unlabelled only if every tool ignores "
                f"RGB under alpha 0: set them to (0, 0, 0, 0).",
                severity="warning", count=totals[HIDDEN], examples=ex, fix="mask_repair"))
        # Near colours: off-legend colours that repair would snap.
        off = np.flatnonzero((cats == UNKNOWN) | (cats == SOFT))
        if len(off) and len(legend_keys):
            r, g, b, _ = unpack_rgba(stats.keys[off])
            rgb = np.stack([r, g, b], 1)
            uniq_rgb, inv = np.unique(rgb, axis=0, return_inverse=True)
            ucounts = np.bincount(inv.ravel(), weights=stats.counts[off], minlength=len(uniq_rgb)).astype(np.int64)
            lr, lg, lb, _ = unpack_rgba(legend_keys)
            in_legend = _isin(pack_rgba(uniq_rgb[:, 0], uniq_rgb[:, 1], uniq_rgb[:, 2]), legend_keys)
            tg = snap_targets(uniq_rgb, ucounts, np.stack([lr, lg, lb], 1), tolerance, total)
            near = (tg >= 0) & ~in_legend
            if near.sum() >= NEAR_MIN_COLOURS:
                probs.append(mask_problem(
                    "near_colours", where,
                    f"{count_text(int(near.sum()))} colours ({pixels_text(int(ucounts[near].sum()))}) lie close to "
                    f"legend colours or between two of them, the trace of resizing or anti-aliasing the mask; snap "
                    f"them to the legend, and resize masks with nearest-neighbour only.",
                    severity="warning", count=int(ucounts[near].sum()), fix="mask_repair"))

    empty = [r for r in report.rows if r.pixels == 0]
    if empty:
        names = ", ".join(f"{r.hex} ({r.name})" for r in empty[:MAX_LISTED])
        if len(empty) > MAX_LISTED:
            names += f" and {len(empty) - MAX_LISTED} more"
        probs.append(mask_problem(
            "empty_class", where,
            f"{len(empty)} legend colour{'s have' if len(empty) != 1 else ' has'} no pixels in the mask: {names}; "
            f"that is fine if those classes are absent from this image, otherwise check the colours.",
            severity="warning", count=len(empty), details=[{"hex": r.hex, "name": r.name} for r in empty]))
