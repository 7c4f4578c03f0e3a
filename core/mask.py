"""Pre-label masks: check them, colour-code index masks, repair anti-aliased ones.

Playment reads a segmentation pre-label as an RGBA PNG: a pixel with alpha 255 whose RGB is a legend
colour (``"#rrggbb"`` -> class or instance name) belongs to that class, and a pixel with all four
channels 0 is unlabelled. Anything else (a colour the legend does not know, soft alpha, black with
alpha, a lossy format, a size other than the primary image's) silently becomes wrong labels in the
tool, so :func:`check` finds it before upload and says where.

Speed matters because masks are big (an 8192 x 6144 mask is 192 MiB decoded): PNG decoding dominates,
so :func:`check` takes its colour statistics straight from the decoded Pillow image
(``Image.getcolors``, no copy) and only touches pixels with numpy, strip by strip, when a problem
exists and example coordinates are wanted. A decompression bomb is refused from the header, before a
byte of pixel data is decoded.

No Qt here: the GUI and the command line both call these functions.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import Problem, UsageError, ValidationError
from .legend import (MAX_CLASSES, check_legend, distinct_colours, key_problem, read_legend_data,
                     rgb_to_hex)

DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_TOLERANCE = 32.0          # RGB distance within which repair snaps a colour to the legend
DEFAULT_ALPHA_THRESHOLD = 128
MAX_LISTED = 8                    # colours named in one sentence before "and N more"
MAX_EXAMPLES = 5                  # example pixel coordinates kept per problem
NEAR_MIN_COLOURS = 4              # this many near colours look like resizing, not a forgotten class
MAX_COLOURS = 1 << 16             # getcolors() gives up beyond this; a mask has far fewer colours
STRIP_PIXELS = 1 << 21            # pixels per strip when numpy has to look at pixels (8 MiB RGBA)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Pixel categories (a colour's category follows from its RGBA alone).
VALID, UNLABELLED, UNKNOWN, SOFT, BLACK_ALPHA, HIDDEN = range(6)
_CAT_CODE = {UNKNOWN: "unknown_colour", SOFT: "soft_alpha", BLACK_ALPHA: "black_with_alpha",
             HIDDEN: "hidden_colour"}

_PNG_COLOUR_TYPES = {0: "greyscale", 2: "RGB", 3: "palette (indexed colour)", 4: "greyscale with alpha",
                     6: "RGBA"}


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MaskProblem(Problem):
    """A :class:`Problem` about a mask, with how many pixels it affects and where some of them are.

    ``code`` holds a stable rule name ("unknown_colour", "soft_alpha", ...) rather than a Playment
    server code, so that the GUI and scripts reading ``--json`` can react to a rule without parsing
    sentences. ``examples`` are (x, y) pixel coordinates, x to the right and y down from the top left.
    ``details`` carries per-colour rows (hex, pixels, first position) for the colours a sentence lists.
    """

    count: int = 0
    examples: tuple[tuple[int, int], ...] = ()
    details: tuple = field(default=(), hash=False)    # rows are dicts: keep the problem hashable

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.update(count=self.count, examples=[list(e) for e in self.examples],
                 details=[dict(x) for x in self.details])
        return d


@dataclass
class LegendRow:
    """One legend entry and how much of the mask it covers."""

    hex: str
    name: str
    pixels: int = 0
    share: float = 0.0

    def to_dict(self) -> dict:
        return {"hex": self.hex, "name": self.name, "pixels": self.pixels, "share": self.share}


@dataclass
class MaskReport:
    """What :func:`check` found: size, per-class pixel counts, and every problem.

    ``ok`` is True when no problem is an error (warnings do not stop an upload).
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

    def to_dict(self) -> dict:
        return {"path": self.path, "ok": self.ok, "width": self.width, "height": self.height,
                "format": self.format, "mode": self.mode, "pixels": self.pixels,
                "unlabelled": self.unlabelled,
                "unlabelled_share": (self.unlabelled / self.pixels) if self.pixels else 0.0,
                "legend": [r.to_dict() for r in self.rows],
                "problems": [p.to_dict() for p in self.problems]}


@dataclass
class RepairSummary:
    """What :func:`repair` changed, in pixels per kind, and what it could not fix.

    Kinds are not exclusive: a soft-edged pixel whose colour was also off is counted under both
    ``alpha_raised`` and ``snapped``.
    """

    input_path: str
    out_path: str
    width: int
    height: int
    changed: dict[str, int] = field(default_factory=dict)
    left: list[dict] = field(default_factory=list)   # colours left as they were: hex, alpha, pixels
    left_pixels: int = 0

    @property
    def ok(self) -> bool:
        """True when every pixel of the written mask is valid for the legend."""
        return self.left_pixels == 0

    @property
    def changed_pixels(self) -> int:
        return self.changed.get("total", 0)

    def to_dict(self) -> dict:
        return {"input": self.input_path, "output": self.out_path, "width": self.width,
                "height": self.height, "ok": self.ok, "changed": dict(self.changed),
                "left_pixels": self.left_pixels, "left": list(self.left)}


def _problem(code: str, path: str, message: str, severity: str = "error", count: int = 0,
             examples: Iterable[tuple[int, int]] = (), details: Iterable[dict] = ()) -> MaskProblem:
    return MaskProblem(path, message, severity, code, count,
                       tuple((int(x), int(y)) for x, y in examples), tuple(details))


def _n(k: int) -> str:
    return f"{k:,}"


def _px(k: int) -> str:
    return f"{k:,} pixel{'s' if k != 1 else ''}"


def _at(xy: tuple[int, int] | None) -> str:
    return f"x={xy[0]}, y={xy[1]}" if xy else "position not located"


# --------------------------------------------------------------------------------------------------
# Packing: one uint32 per RGBA pixel, as the bytes lie in memory (little-endian view)
# --------------------------------------------------------------------------------------------------

def _pack(r, g, b, a=255):
    """RGBA -> the uint32 that a little-endian ``view('<u4')`` of the pixel bytes gives."""
    return (np.asarray(r, np.uint32) | (np.asarray(g, np.uint32) << 8) | (np.asarray(b, np.uint32) << 16)
            | (np.asarray(a, np.uint32) << 24))


def _unpack(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    k = np.asarray(keys, np.uint32)
    return k & 0xFF, (k >> 8) & 0xFF, (k >> 16) & 0xFF, k >> 24


def _key_hex(key: int) -> str:
    key = int(key)
    return rgb_to_hex(key & 0xFF, (key >> 8) & 0xFF, (key >> 16) & 0xFF)


def _hex_key(hexkey: str, a: int = 255) -> int:
    return int(_pack(int(hexkey[1:3], 16), int(hexkey[3:5], 16), int(hexkey[5:7], 16), a))


def _as_u32(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 -> (H, W) uint32 view, no copy."""
    return np.ascontiguousarray(rgba).view("<u4")[..., 0]


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
# Opening images safely
# --------------------------------------------------------------------------------------------------

def _png_header(path: Path) -> tuple[int, int, int, int] | None:
    """(width, height, bit depth, colour type) from a PNG's IHDR, or None if not a PNG.

    Read by hand so that a size can be refused before Pillow is involved at all, and so that
    16-bit RGBA (which Pillow quietly narrows to 8 bits) can be told apart from true 8-bit RGBA.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(33)
    except OSError:
        return None
    if len(head) < 33 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    w, h, depth, ctype = struct.unpack(">IIBB", head[16:26])
    return w, h, depth, ctype


def _too_large(path: str, w: int, h: int, max_pixels: int) -> MaskProblem:
    return _problem("too_large", path,
                    f"the image is {_n(w)} x {_n(h)} pixels ({w * h / 1e6:,.0f} megapixels), over the limit "
                    f"of {max_pixels / 1e6:,.0f} megapixels; it was not decoded. If the size is genuine, "
                    f"raise the limit (--max-megapixels), otherwise the file is damaged or hostile.",
                    count=w * h)


def _open_image(source: str | Path | Image.Image, where: str, max_pixels: int,
                problems: list[Problem]) -> tuple[Image.Image | None, tuple | None]:
    """Open lazily (header only), refusing missing files, non-images and oversized images.

    Returns (image, png_header) or (None, None) after appending the reason to ``problems``.
    """
    if isinstance(source, Image.Image):
        return source, None
    path = Path(source)
    if not path.is_file():
        problems.append(_problem("unreadable", where, "the file does not exist." if not path.exists()
                                 else "this is a folder, not an image file."))
        return None, None
    header = _png_header(path)
    if header and header[0] * header[1] > max_pixels:
        problems.append(_too_large(where, header[0], header[1], max_pixels))
        return None, None
    try:
        with warnings.catch_warnings():
            # Our own limit (checked just below) replaces Pillow's warning; its hard error still counts.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError:
        problems.append(_problem("too_large", where,
                                 "the image is larger than Pillow's safety limit for decoding and was not "
                                 "decoded; the file is damaged, hostile, or far too big for a mask."))
        return None, None
    except UnidentifiedImageError:
        problems.append(_problem("corrupt", where, "the file is not an image that can be read (damaged, "
                                 "empty, or not an image at all); export the mask again as an RGBA PNG."))
        return None, None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
        problems.append(_problem("corrupt", where, f"the image cannot be read ({_reason(e)}); export it again."))
        return None, None
    w, h = img.size
    if w * h > max_pixels:
        img.close()
        problems.append(_too_large(where, w, h, max_pixels))
        return None, None
    return img, header


def _reason(e: BaseException) -> str:
    text = str(e).strip().rstrip(".") or type(e).__name__
    return text[0].lower() + text[1:] if text else text


def _load(img: Image.Image, where: str, problems: list[Problem]) -> bool:
    """Decode the pixel data; a truncated or corrupt file becomes a ``corrupt`` problem."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img.load()
        return True
    except MemoryError:
        problems.append(_problem("too_large", where, "there is not enough memory to decode the image."))
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
        problems.append(_problem("corrupt", where, f"the image is truncated or damaged ({_reason(e)}); "
                                 f"export the mask again."))
    return False


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image from its header alone (nothing is decoded).

    Raises UsageError with a plain sentence when the file is missing or not an image.
    """
    problems: list[Problem] = []
    img, _ = _open_image(path, str(path), max_pixels=1 << 62, problems=problems)
    if img is None:
        raise UsageError(str(problems[0]))
    with img:
        return img.size


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


def _getcolors_sliced(img: Image.Image, limit: int) -> list | None:
    """``getcolors`` strip by strip (the GIL is free between strips); None past ``limit`` colours."""
    w, h = img.size
    rows = max(1, STRIP_PIXELS // max(1, w))
    merged: dict[tuple, int] = {}
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
            for k, p in zip(skeys[u].tolist(), hits[i].tolist()):
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

def check(mask: str | Path | Image.Image, legend: dict | str | Path,
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


def _mode_problem(img: Image.Image, header: tuple | None, where: str) -> MaskProblem | None:
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


def _check_image(img: Image.Image, header: tuple | None, legend: dict[str, str],
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
    by_key = dict(zip(stats.keys.tolist(), stats.counts.tolist()))
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
            rows = [{"hex": _key_hex(k), "pixels": int(c), "first": list(first.get(int(k), ()))}
                    for k, c in zip(stats.keys[listed].tolist(), stats.counts[listed].tolist())]
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


# --------------------------------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------------------------------

def load_classes(path: str | Path) -> tuple[list | dict | None, list[Problem]]:
    """Read a classes file: ``.json`` (a list of names, ``{"1": "car"}``, or ``{"car": "#rrggbb"}``) or
    ``.txt`` (one name per line; line n names index n).

    Returns (classes, problems). Classes is ``None`` when the file cannot be read at all (missing, not
    UTF-8, not JSON, unknown extension: an argument error); with content problems (a blank line, a
    JSON number instead of a list) the data comes back too, so callers can tell the two apart.
    """
    p = Path(path)
    where = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(where, "the classes file does not exist.")]
    except IsADirectoryError:
        return None, [Problem(where, "the classes path is a folder, not a file.")]
    except UnicodeDecodeError as e:
        return None, [Problem(where, f"the classes file is not UTF-8 text (bad byte at offset {e.start}).")]
    except OSError as e:
        return None, [Problem(where, f"the classes file cannot be read: {e.strerror}.")]
    suffix = p.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            return None, [Problem(f"{where}:{e.lineno}:{e.colno}", f"the classes file is not valid JSON: {e.msg}.")]
        if isinstance(data, dict) and isinstance(data.get("classes"), (list, dict)) and len(data) == 1:
            data = data["classes"]
        if not isinstance(data, (list, dict)):
            return data, [Problem(where, "the classes file must hold a list of names or an object "
                                         "(index -> name, or name -> \"#rrggbb\").")]
        return data, []
    if suffix in (".txt", ".names", ".csv", ""):
        lines = text.splitlines()
        while lines and not lines[-1].strip():
            lines.pop()
        problems = [Problem(f"{where}:{i}", f"line {i} is empty; every line names the class whose index is "
                                            f"its line number, so remove the blank line or name the class.")
                    for i, line in enumerate(lines, 1) if not line.strip()]
        if not lines:
            problems.append(Problem(where, "the classes file is empty; write one class name per line."))
        return [line.strip() for line in lines], problems
    return None, [Problem(where, f"the classes file has the extension \"{p.suffix}\"; use .json or .txt "
                                 f"(one class name per line).")]


def parse_classes(classes: Sequence | dict | None, where: str = "classes") -> tuple[dict[int, str], dict[int, str], list[Problem]]:
    """Classes in any accepted form -> ({index: name}, {index: pinned "#rrggbb"}, problems)."""
    names: dict[int, str] = {}
    pinned: dict[int, str] = {}
    problems: list[Problem] = []
    if classes is None:
        return names, pinned, problems
    if isinstance(classes, (list, tuple)):
        items = [(i + 1, n) for i, n in enumerate(classes)]
    elif isinstance(classes, dict):
        keys = list(classes)
        if all(isinstance(k, int) and not isinstance(k, bool) or (isinstance(k, str) and k.strip().isdigit())
               for k in keys):
            items = [(int(k), v) for k, v in classes.items()]
        else:
            items = []
            for pos, (name, colour) in enumerate(classes.items(), 1):
                items.append((pos, name))
                if colour in (None, ""):
                    continue
                why = key_problem(colour)
                if why:
                    problems.append(Problem(f"{where}[{json.dumps(name)}]", why))
                else:
                    pinned[pos] = colour.lower()
    else:
        return names, pinned, [Problem(where, "classes must be a list of names or a mapping.")]
    for index, name in items:
        if not (1 <= index <= MAX_CLASSES):
            problems.append(Problem(f"{where}[{index}]", f"class index {index} is outside 1..{MAX_CLASSES}; "
                                                         f"0 means unlabelled and cannot name a class."))
            continue
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(f"{where}[{index}]", f"the name for class index {index} is empty; give "
                                                         f"the class a name."))
            continue
        names[index] = name.strip()
    seen: dict[str, int] = {}
    for index, colour in pinned.items():
        if colour in seen:
            problems.append(Problem(f"{where}[{json.dumps(names.get(index, str(index)))}]",
                                    f"colour {colour} is pinned for two classes ({names.get(seen[colour])} and "
                                    f"{names.get(index)}); each class needs its own colour."))
        seen[colour] = index
    return names, pinned, problems


def load_index_mask(source: str | Path | np.ndarray, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A 2-D array of class indices (uint8 when it fits, else uint16) from a PNG/TIFF/.npy or array.

    Raises UsageError for a missing file and ValidationError (with problems naming the file) for
    anything that is not a single-channel integer image with values 0..65535.
    """
    where = "index mask" if isinstance(source, np.ndarray) else str(source)
    if isinstance(source, np.ndarray):
        arr = source
    else:
        path = Path(source)
        if not path.is_file():
            raise UsageError(f"{where}: the index mask file does not exist.")
        if path.suffix.lower() == ".npy":
            try:
                arr = np.load(path, allow_pickle=False, mmap_mode="r")
            except (OSError, ValueError, EOFError) as e:
                raise ValidationError([_problem("corrupt", where, f"the .npy file cannot be read ({_reason(e)}).")])
        else:
            problems: list[Problem] = []
            img, _ = _open_image(path, where, max_pixels, problems)
            if img is None:
                raise ValidationError(problems)
            with img:
                if img.mode in ("RGB", "RGBA", "CMYK", "YCbCr", "LA", "PA", "HSV", "LAB", "RGBX"):
                    raise ValidationError([_problem(
                        "not_index", where,
                        f"the file is a {img.mode} colour image, not a single-channel index mask; a colour "
                        f"mask is checked with `playment-submit mask check`, not encoded.")])
                if img.mode == "F":
                    raise ValidationError([_problem("not_index", where, "the file holds floating-point values; "
                                                    "class indices must be whole numbers (8- or 16-bit).")])
                if not _load(img, where, problems):
                    raise ValidationError(problems)
                if img.mode == "1":
                    img = img.convert("L")
                arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ValidationError([_problem("not_index", where, f"the index mask has shape {tuple(arr.shape)}; it "
                                        f"must be a single-channel 2-D array (height x width).")])
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValidationError([_problem("not_index", where, f"the index mask holds {arr.dtype} values; class "
                                        f"indices must be whole numbers (8- or 16-bit).")])
    if arr.size and arr.dtype not in (np.uint8, np.uint16):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > MAX_CLASSES:
            bad = lo if lo < 0 else hi
            y, x = np.argwhere(arr == bad)[0]
            raise ValidationError([_problem("bad_index", where, f"index {bad} at x={x}, y={y} is outside "
                                            f"0..{MAX_CLASSES}; 0 means unlabelled, 1.. the classes.",
                                            examples=[(x, y)])])
        arr = arr.astype(np.uint8 if hi < 256 else np.uint16)
    return np.ascontiguousarray(arr)


def _strip_rows(width: int) -> int:
    return max(1, (1 << 19) // max(1, width))


def _index_counts(idx: np.ndarray) -> np.ndarray:
    """Pixel count per index value, strip by strip (bincount on a whole uint8 image first widens it to
    int64, eight times the memory and ~15x slower than in cache-sized pieces)."""
    size = 256 if idx.dtype == np.uint8 else 65536
    acc = np.zeros(size, np.int64)
    rows = _strip_rows(idx.shape[1] if idx.ndim == 2 else 1)
    for y in range(0, idx.shape[0], rows):
        acc += np.bincount(idx[y:y + rows].ravel(), minlength=size)
    return acc


@dataclass
class EncodeResult:
    rgba: np.ndarray
    legend: dict[str, str]
    counts: dict[str, int]       # hex -> pixels (only when they were counted)


def encode(index_mask: str | Path | np.ndarray, classes: Sequence | dict | None, *,
           instance_of: str | None = None) -> tuple[np.ndarray, dict[str, str]]:
    """Colour-code a class- or instance-index mask into an RGBA mask valid for Playment, and its legend.

    Index 0 is unlabelled (all four channels 0); index i gets the i-th colour of
    :func:`core.legend.distinct_colours` unless the classes pin one. With ``instance_of="Car"`` each
    index present becomes an instance "Car 1", "Car 2", ... Raises ValidationError listing index
    values present in the mask without a name (value, pixel count, first position).
    """
    res = encode_full(index_mask, classes, instance_of=instance_of)
    return res.rgba, res.legend


def encode_full(index_mask: str | Path | np.ndarray, classes: Sequence | dict | None, *,
                instance_of: str | None = None, count: bool = False) -> EncodeResult:
    """:func:`encode`, also returning pixel counts per colour when ``count`` is set."""
    where = "index mask" if isinstance(index_mask, np.ndarray) else str(index_mask)
    idx = load_index_mask(index_mask)
    h, w = idx.shape
    mx = int(idx.max()) if idx.size else 0
    counts_by_index: np.ndarray | None = None
    if instance_of is not None:
        if not isinstance(instance_of, str) or not instance_of.strip():
            raise ValidationError([Problem("instance_of", "the instance class name is empty; give the class "
                                                          "whose instances the mask holds, e.g. \"Car\".")])
        counts_by_index = _index_counts(idx)
        names = {i: f"{instance_of.strip()} {i}" for i in np.flatnonzero(counts_by_index).tolist() if i}
        pinned: dict[int, str] = {}
    else:
        names, pinned, problems = parse_classes(classes)
        if problems:
            raise ValidationError(problems)
        if not names:
            raise ValidationError([Problem("classes", "no classes were given; list the class names (index 1 "
                                                      "first) or pass an instance class name.")])
    top = max(names) if names else 0
    named = np.zeros(max(top, mx) + 1, bool)
    named[list(names)] = True
    if mx > top or not named[1:mx + 1].all():
        if counts_by_index is None:
            counts_by_index = _index_counts(idx)
        present = np.flatnonzero(counts_by_index[:len(named)])
        missing = [int(v) for v in present if v and not named[v]]
        if missing:
            rows = []
            for v in missing[:MAX_LISTED]:
                y, x = divmod(int(np.argmax(idx.ravel() == v)), w)
                rows.append({"value": v, "pixels": int(counts_by_index[v]), "first": [x, y]})
            parts = [f"{r['value']} ({_px(r['pixels'])}, first at x={r['first'][0]}, y={r['first'][1]})" for r in rows]
            if len(missing) > MAX_LISTED:
                parts.append(f"and {len(missing) - MAX_LISTED} more")
            raise ValidationError([_problem(
                "unnamed_index", where,
                f"{len(missing)} index value{'s' if len(missing) != 1 else ''} in the mask "
                f"{'have' if len(missing) != 1 else 'has'} no class name: " + ", ".join(parts)
                + "; add the names to the classes file (line n names index n).",
                count=int(sum(counts_by_index[v] for v in missing)),
                examples=[tuple(r["first"]) for r in rows], details=rows)])

    auto = distinct_colours(top, exclude=tuple(pinned.values())) if top else []
    legend: dict[str, str] = {}
    pal = np.zeros(256 if idx.dtype == np.uint8 else 65536, "<u4")
    for i in sorted(names):
        colour = pinned.get(i) or auto[i - 1]
        legend[colour] = names[i]
        pal[i] = _hex_key(colour)
    out = np.empty((h, w), "<u4")
    rows = _strip_rows(w)
    for y in range(0, h, rows):
        np.take(pal, idx[y:y + rows], out=out[y:y + rows])
    counts: dict[str, int] = {}
    if count or counts_by_index is not None:
        if counts_by_index is None:
            counts_by_index = _index_counts(idx)
        counts = {c: int(counts_by_index[i]) if i < len(counts_by_index) else 0
                  for c, i in zip(legend, sorted(names))}
    return EncodeResult(out.view(np.uint8).reshape(h, w, 4), legend, counts)


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder and rename, so that an interrupted run never
    leaves a half-written mask that looks complete."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_png(rgba: np.ndarray, path: str | Path) -> None:
    """Write an (H, W, 4) uint8 array as an RGBA PNG. ``compress_level=1``: masks are mostly flat areas
    that compress well even at the fastest level, and level 6 takes about 3x as long."""
    arr = np.ascontiguousarray(rgba, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 4:
        raise ValueError(f"an RGBA mask must have shape (height, width, 4), not {arr.shape}.")
    img = Image.fromarray(arr)
    _atomic_write(Path(path), lambda tmp: img.save(tmp, format="PNG", compress_level=1))


def write_legend(legend: dict[str, str], path: str | Path) -> None:
    """Write a legend as JSON (``{"#rrggbb": "name"}``), in the order given (index order for encode)."""
    text = json.dumps(legend, indent=2, ensure_ascii=False) + "\n"
    _atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


# --------------------------------------------------------------------------------------------------
# repair
# --------------------------------------------------------------------------------------------------

def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def repair(mask: str | Path, legend: dict | str | Path, out_path: str | Path, *,
           tolerance: float = DEFAULT_TOLERANCE, alpha_threshold: int = DEFAULT_ALPHA_THRESHOLD,
           max_pixels: int = DEFAULT_MAX_PIXELS) -> RepairSummary:
    """Write a repaired copy of a mask: snap near colours to the legend, harden soft alpha, clear
    colour under alpha 0 and black with alpha. Valid pixels are never changed.

    - alpha < ``alpha_threshold`` -> unlabelled (0, 0, 0, 0); otherwise alpha becomes 255;
    - a colour within ``tolerance`` (RGB distance) of a legend colour -> that colour; a rare colour near
      the line between two legend colours (anti-aliasing) -> the closer one; near black -> unlabelled;
    - anything else is left as it was and listed in the summary (``left``): most likely a class the
      legend forgot.

    An RGB mask (no alpha) is read as alpha 255 with black meaning unlabelled. Raises UsageError when
    ``out_path`` is the input, or the input is missing; ValidationError when it cannot be repaired.
    """
    src, dst = Path(mask), Path(out_path)
    if _same_file(src, dst):
        raise UsageError(f"{dst}: the output is the input mask; repair never overwrites its input, so give "
                         f"another output file.")
    if dst.suffix.lower() != ".png":
        raise UsageError(f"{dst}: the repaired mask must be written as a .png file.")
    if isinstance(legend, (str, Path)):
        norm, lprobs = load_legend(legend)
        if norm is None:
            raise UsageError(str(lprobs[0]))
    else:
        norm, lprobs = legend_problems(legend)
    if not norm:
        raise ValidationError([p for p in lprobs if p.severity == "error"] or
                              [Problem("legend", "the legend has no usable colours to snap to.")])
    if not 1 <= int(alpha_threshold) <= 255:
        raise UsageError(f"the alpha threshold must be between 1 and 255, not {alpha_threshold}.")
    problems: list[Problem] = []
    img, _ = _open_image(src, str(src), max_pixels, problems)
    if img is None:
        if problems and problems[0].code == "unreadable":
            raise UsageError(str(problems[0]))
        raise ValidationError(problems)
    with img:
        if img.mode not in ("RGBA", "RGB"):
            raise ValidationError([_problem(
                "not_rgba", str(src), f"the mask is in mode {img.mode}, which repair cannot read as colours; "
                f"if its values are class indices, use `playment-submit mask encode` instead.")])
        if not _load(img, str(src), problems):
            raise ValidationError(problems)
        rgba = img.convert("RGBA") if img.mode != "RGBA" else img
        legend_keys = np.array(sorted(_hex_key(h) for h in norm), dtype=np.uint32)
        stats = _colour_stats(rgba, np.append(legend_keys, np.uint32(0)))
        w, h = rgba.size
        arr = np.array(rgba)      # writable copy; the decoded image goes right after
        if rgba is not img:
            rgba.close()
    del img

    cats = _categorise(stats.keys, legend_keys)
    r, g, b, a = _unpack(stats.keys)
    new = stats.keys.copy()
    changed = {"total": 0, "snapped": 0, "alpha_raised": 0, "soft_alpha_cleared": 0, "hidden_colour_cleared": 0,
               "black_with_alpha_cleared": 0, "near_black_cleared": 0}
    left: list[tuple[int, int]] = []
    todo = np.flatnonzero(cats >= UNKNOWN)
    lr, lg, lb, _ = _unpack(legend_keys)
    legend_rgb = np.stack([lr, lg, lb], 1)
    colour_fix = [i for i in todo if cats[i] in (UNKNOWN, SOFT) and a[i] >= alpha_threshold]
    targets = dict(zip(colour_fix, _snap_targets(np.stack([r, g, b], 1)[colour_fix], stats.counts[colour_fix],
                                                 legend_rgb, tolerance, w * h).tolist()))
    in_legend = np.isin(stats.keys | np.uint32(0xFF000000), legend_keys)
    for i in todo.tolist():
        n = int(stats.counts[i])
        cat = cats[i]
        if cat == HIDDEN:
            new[i] = 0
            changed["hidden_colour_cleared"] += n
        elif cat == BLACK_ALPHA:
            new[i] = 0
            changed["black_with_alpha_cleared"] += n
        elif a[i] < alpha_threshold:
            new[i] = 0
            changed["soft_alpha_cleared"] += n
        elif in_legend[i]:
            new[i] = stats.keys[i] | np.uint32(0xFF000000)
            changed["alpha_raised"] += n
        else:
            t = targets.get(i, -1)
            if t < 0:
                left.append((i, n))
                continue
            if t == len(legend_keys):
                new[i] = 0
                changed["near_black_cleared"] += n
            else:
                new[i] = legend_keys[t]
                changed["snapped"] += n
                if a[i] < 255:
                    changed["alpha_raised"] += n
    moved = np.flatnonzero(new != stats.keys)
    changed["total"] = int(stats.counts[moved].sum())
    if len(moved):
        order = np.argsort(stats.keys[moved])
        src_keys, dst_keys = stats.keys[moved][order], new[moved][order]
        flat = arr.reshape(-1, 4).view("<u4")[:, 0].reshape(h, w)
        rows = max(1, STRIP_PIXELS // max(1, w))
        for y in range(0, h, rows):
            part = flat[y:y + rows]
            pos = np.searchsorted(src_keys, part)
            np.minimum(pos, len(src_keys) - 1, out=pos)
            hit = src_keys[pos] == part
            part[hit] = dst_keys[pos[hit]]
    left.sort(key=lambda t: -t[1])
    summary = RepairSummary(str(src), str(dst), w, h, changed,
                            [{"hex": _key_hex(stats.keys[i]), "alpha": int(a[i]), "pixels": n} for i, n in left],
                            sum(n for _, n in left) + sum(stats.overflow.get(c, 0) for c in _CAT_CODE))
    save_png(arr, dst)
    return summary
