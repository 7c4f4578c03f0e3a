"""COCO instances JSON -> class (or instance) values per pixel, through pycocotools.

Polygons are rasterised by pycocotools in image coordinates exactly as ``COCO.annToMask`` does, after
every vertex is checked (finite numbers within [-w, 2w] x [-h, 2h], else refused: pycocotools' C code
crashes the process on far-away vertices). Uncompressed RLE (``counts`` a list) and compressed RLE
(``counts`` a string) are decoded here, in numpy, by pycocotools' own rules, and refused when a run is
negative or the runs do not cover the image exactly. ``iscrowd`` annotations are RLE and are painted like
any other. Annotations are painted in file order, so where two overlap the later one wins. Painting
touches only the columns and rows an annotation covers, so a small object in a large image costs what its
box costs.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import Problem, UsageError, ValidationError
from ..shared import mask_problem
from ._common import Decoded, ImportOptions, read_json
from .coco_store import CocoStore, is_large


def _mask_api() -> Any:
    import warnings

    from pycocotools import mask as mask_api  # imported late: only the COCO path needs it
    # pycocotools' decode passes copy=False to numpy 2 through an object without the keyword: harmless
    warnings.filterwarnings("ignore", message=".*__array__ implementation doesn't accept a copy keyword",
                            category=DeprecationWarning, module="pycocotools")
    return mask_api


def load_coco(path: str | Path) -> dict[str, Any]:
    data = read_json(path, "COCO file")
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list) or not isinstance(data.get("categories"), list):
        raise ValidationError([Problem(str(path), "this is not a COCO instances file: it needs the lists "
                                                  "\"images\", \"annotations\" and \"categories\".")])
    return data


class CocoIndex:
    """A COCO file parsed once: its data, its images by every name a row may give (file_name, base name, stem,
    id; the first image in file order wins a name) and its annotations by image id. Many rows naming one COCO
    file (a folder of frames, a manifest's mask_source column) look their image up here instead of parsing and
    scanning the file each (quadratic in the frames)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.images: Any = [im for im in data["images"] if isinstance(im, dict)]
        self.by_name: Any = {}
        for im in self.images:
            for key in _names(im):
                self.by_name.setdefault(key, im)
        self.annotations: Any = {}
        for a in data["annotations"]:
            if isinstance(a, dict):
                self.annotations.setdefault(_hashable(a.get("image_id")), []).append(a)


def _names(im: dict[str, Any]) -> tuple[str, ...]:
    """The names a row may give for an image: its file_name, base name, stem and id."""
    fname = str(im.get("file_name", ""))
    return fname, Path(fname).name, Path(fname).stem, str(im.get("id"))


def _indexed(path: str | Path) -> CocoIndex | CocoStore:
    """The COCO file at ``path`` parsed and indexed: in memory, or on disk when it is large (core.mask.formats
    .coco_store: the parsed file is not held once its images and annotations are indexed)."""
    data = load_coco(path)
    return CocoStore(data, names=_names, key=_hashable) if is_large(path) else CocoIndex(data)


def _hashable(v: Any) -> Any:
    return v if isinstance(v, (str, int, float, bool, type(None))) else json.dumps(v, sort_keys=True, default=str)


_INDEXES: OrderedDict[tuple[str, int, int], CocoIndex | CocoStore | ValidationError] = OrderedDict()
_INDEX_LOCK = threading.Lock()
KEEP_INDEXES = 2  # COCO files kept parsed (the one a folder's rows share, and one more)


def coco_index(path: str | Path) -> CocoIndex | CocoStore:
    """The parsed, indexed COCO file at ``path``: parsed once while its size and modification time stay the
    same (a file changed meanwhile is read again), whichever thread asks first; the others wait for it. A file
    refused (not JSON, not a COCO file) is refused once too: each row naming it gets the same sentence."""
    try:
        st = os.stat(path)
        key = (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        return _indexed(path)  # read_json says why it cannot be read
    with _INDEX_LOCK:
        found = _INDEXES.get(key)
        if found is None:
            try:
                found = _indexed(path)
            except ValidationError as e:
                found = e
            _INDEXES[key] = found
            while len(_INDEXES) > KEEP_INDEXES:
                _INDEXES.popitem(last=False)
        _INDEXES.move_to_end(key)
    if isinstance(found, ValidationError):
        raise ValidationError(list(found.problems))  # a new one each time: rows are checked on several threads
    return found


def pick_image(data: dict[str, Any], image: str | None, where: str,
               index: CocoIndex | CocoStore | None = None) -> dict[str, Any]:
    """The image entry named by ``image`` (its file_name, the file_name's base name, or its id); the only
    image when the file holds one."""
    images = index.images if index is not None else [im for im in data["images"] if isinstance(im, dict)]
    if image is None:
        if len(images) == 1:
            return images[0]
        names = ", ".join(str(im.get("file_name", im.get("id"))) for im in images[:5])
        raise UsageError(f"{where}: the COCO file holds {len(images)} images ({names}"
                         f"{', ...' if len(images) > 5 else ''}); choose one with --image FILE_NAME or ID.")
    text = str(image).strip()
    if index is not None and text in index.by_name:
        return index.by_name[text]
    for im in images if index is None else ():
        fname = str(im.get("file_name", ""))
        if text in (fname, Path(fname).name, Path(fname).stem, str(im.get("id"))):
            return im
    raise UsageError(f"{where}: no image in the COCO file has the file_name or id \"{text}\"; "
                     f"{len(images)} images are listed (first: {images[0].get('file_name') if images else 'none'}).")


def _size(im: dict[str, Any], where: str) -> tuple[int, int]:
    h, w = im.get("height"), im.get("width")
    if not isinstance(h, int) or not isinstance(w, int) or isinstance(h, bool) or isinstance(w, bool) \
            or h <= 0 or w <= 0:
        raise ValidationError([Problem(where, f"image {json_text(im.get('file_name', im.get('id')))} has no usable "
                                              f"width and height ({json_text(w)} x {json_text(h)}); COCO images "
                                              f"need both as whole numbers of pixels.")])
    return h, w


def _is_polygons(seg: Any) -> bool:
    return isinstance(seg, list) and all(isinstance(p, list) for p in seg)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_polygons(polys: list[list[Any]], h: int, w: int, label: str) -> str | None:
    """Why the polygons cannot be handed to pycocotools, or None. Every coordinate must be a finite number
    with x in [-w, 2w] and y in [-h, 2h]: pycocotools' C code multiplies each vertex by 5 into a C int and
    allocates memory per upsampled step, so a vertex at 3e9 or 1e300 crashes the process (SIGSEGV) instead
    of raising. The vertices are refused, never clipped, so that what is drawn stays pycocotools' own."""
    for n, p in enumerate(polys, 1):
        for i, v in enumerate(p):
            axis, size = ("x", w) if i % 2 == 0 else ("y", h)
            if not _is_number(v):
                return (f"{label}: polygon {n} has {json_text(v)} as its {axis} coordinate number {i // 2 + 1}; "
                        f"a COCO polygon is a flat list of numbers [x1, y1, x2, y2, ...].")
            if not math.isfinite(v) or not -size <= v <= 2 * size:
                return (f"{label}: polygon {n} has the vertex {i // 2 + 1} at {axis} = {v!r}, far outside the "
                        f"image ({w} x {h}); coordinates must lie within [-{w}, {2 * w}] for x and [-{h}, "
                        f"{2 * h}] for y. Fix the annotation or remove it.")
    return None


def _is_id(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or isinstance(v, str)


def json_text(v: Any) -> str:
    text = json.dumps(v)
    return text if len(text) <= 40 else text[:37] + "..."


def rle_counts(text: str) -> np.ndarray:
    """The run lengths of a compressed COCO RLE string, decoded as pycocotools' ``rleFrString`` does (6 bits
    a character from '0', 5 of them value, the sixth "more"; from the fourth count on, each is stored as the
    difference from the count two before), in numpy, so that no native code sees a hostile string.
    Raises ValueError with a sentence for characters outside '0'..'o', a number cut short at the end, or a
    number over 7 characters (more than any image this tool reads)."""
    raw = np.frombuffer(text.encode("ascii"), np.uint8).astype(np.int64) - 48
    if raw.size == 0:
        return np.zeros(0, np.int64)
    if raw.min() < 0 or raw.max() > 63:
        bad = int(np.nonzero((raw < 0) | (raw > 63))[0][0])
        raise ValueError(f"character {bad + 1} ({text[bad]!r}) is not one of RLE's characters '0'..'o'")
    more = (raw & 0x20) != 0
    if more[-1]:
        raise ValueError("the string ends in the middle of a number")
    ends = np.nonzero(~more)[0]
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > 7:
        raise ValueError("a number in it is longer than 7 characters (over 34 bits)")
    k = np.arange(raw.size) - np.repeat(starts, lengths)        # the chunk's place within its number
    x: np.ndarray = np.add.reduceat((raw & 0x1F) << (5 * k), starts)
    negative = (raw[ends] & 0x10) != 0
    x = x - (negative.astype(np.int64) << (5 * lengths))        # sign extension, as rleFrString does
    cnts: np.ndarray = x.copy()
    if cnts.size > 3:                                            # cnts[m] = x[m] + cnts[m - 2] for m > 2
        cnts[3::2] = np.cumsum(x[3::2]) + x[1]
        cnts[4::2] = np.cumsum(x[4::2]) + x[2]
    return cnts


def check_counts(cnts: np.ndarray, h: int, w: int, label: str) -> str | None:
    """Why run lengths cannot be an RLE of an h x w image, or None."""
    if cnts.size and int(cnts.min()) < 0:
        at = int(np.nonzero(cnts < 0)[0][0])
        return (f"{label}: its RLE has a negative run length ({int(cnts[at])}, run {at + 1}); "
                f"run lengths count pixels and cannot be negative. The annotation is damaged: re-export it.")
    total = int(cnts.sum())
    if total != h * w:
        return (f"{label}: its RLE runs cover {total:,} pixels but the image ({w} x {h}) has {h * w:,}; "
                f"the RLE {'runs past' if total > h * w else 'stops before'} the end of the image. "
                f"The annotation is damaged or belongs to another image: re-export it.")
    return None


def paint_runs(out: np.ndarray, cnts: np.ndarray, value: int) -> None:
    """Paint the 1-runs of a column-major RLE (runs alternate 0, 1, 0, ... from pixel (0, 0) down each
    column) with ``value``, touching only the columns and rows the runs cover, so a small object in a large
    image costs what its box costs."""
    h = out.shape[0]
    ends = np.cumsum(cnts)
    starts = ends - cnts
    s1, e1 = starts[1::2], ends[1::2]
    hit = e1 > s1
    if not hit.any():
        return
    s1, e1 = s1[hit], e1[hit]
    # each run split into pieces of one column: (column, first row, row after the last)
    first_col, last_col = s1 // h, (e1 - 1) // h
    n = last_col - first_col + 1
    run = np.repeat(np.arange(s1.size), n)
    step = np.arange(run.size) - np.repeat(np.cumsum(n) - n, n)
    col = first_col[run] + step
    r0 = np.where(step == 0, s1[run] % h, 0)
    r1 = np.where(col == last_col[run], (e1[run] - 1) % h + 1, h)
    cx0, cx1 = int(col.min()), int(col.max()) + 1
    ry0, ry1 = int(r0.min()), int(r1.max())
    edges = np.zeros((cx1 - cx0, ry1 - ry0 + 1), np.int8)   # runs of ones never overlap: sums stay 0/1
    np.add.at(edges, (col - cx0, r0 - ry0), 1)
    np.add.at(edges, (col - cx0, r1 - ry0), -1)
    window = np.cumsum(edges[:, :-1], axis=1, dtype=np.int8).view(bool)   # (columns, rows)
    region = out[ry0:ry1, cx0:cx1]
    # copyto with a where-mask writes in place without building an index of the hits; the transposed view
    # of the region walks it column by column like the window
    np.copyto(region.T, np.asarray(value, region.dtype), where=window)


def _paint_polygons(out: np.ndarray, polys: list[list[float]], value: int) -> bool:
    """Rasterise polygons exactly as ``COCO.annToMask`` does: pycocotools turns them into one RLE in image
    coordinates (shifting the vertices first would change its rounding of ``5 * x + .5``); only the painting
    is restricted to the columns and rows the RLE covers. False when nothing could be drawn."""
    api = _mask_api()
    h, w = out.shape
    pts = [[float(v) for v in p] for p in polys if len(p) >= 6 and len(p) % 2 == 0]
    if not pts:
        return False
    rle = api.merge(api.frPyObjects(pts, h, w))
    paint_runs(out, rle_counts(rle["counts"].decode("ascii")), value)
    return True


def _paint_rle(out: np.ndarray, seg: dict[str, Any], value: int, where: str, label: str) -> None:
    h, w = out.shape
    size = seg.get("size")
    if not (isinstance(size, list) and len(size) == 2 and all(_is_number(v) for v in size)
            and list(size) == [h, w]):
        raise ValidationError([Problem(where, f"{label}: its RLE is for {json_text(size)} (height, width) but the "
                                              f"image is [{h}, {w}]; the annotation belongs to another image size.")])
    counts = seg.get("counts")
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
            bad = next(c for c in counts if not isinstance(c, int) or isinstance(c, bool))
            raise ValidationError([Problem(where, f"{label}: its RLE counts hold {json_text(bad)}; uncompressed "
                                                  f"RLE counts are whole numbers of pixels.")])
        if any(abs(c) > 2 ** 40 for c in counts):
            raise ValidationError([Problem(where, f"{label}: its RLE has a run longer than any image; the "
                                                  f"annotation is damaged: re-export it.")])
        cnts = np.asarray(counts, np.int64)
    elif isinstance(counts, str):
        try:
            cnts = rle_counts(counts)
        except (ValueError, UnicodeEncodeError) as e:
            raise ValidationError([Problem(where, f"{label}: its RLE string cannot be decoded "
                                                  f"({e}).")]) from e
    else:
        raise ValidationError([Problem(where, f"{label}: its RLE counts are {json_text(counts)}; COCO RLE counts "
                                              f"are a list of run lengths or a compressed string.")])
    why = check_counts(cnts, h, w, label)
    if why:
        raise ValidationError([Problem(where, why)])
    paint_runs(out, cnts, value)


def decode(path: str | Path, opts: ImportOptions) -> Decoded:
    where = str(path)
    index = coco_index(path)
    data = index.data
    im = pick_image(data, opts.image, where, index)
    h, w = _size(im, where)
    if h * w > opts.max_pixels:
        raise ValidationError([mask_problem("too_large", where, f"image {im.get('file_name')} is {w:,} x {h:,} "
                                        f"pixels, over the limit of {opts.max_pixels / 1e6:,.0f} megapixels.")])
    cats: dict[Any, str] = {}
    cat_value: dict[Any, int] = {}
    for pos, c in enumerate(data["categories"], 1):
        if isinstance(c, dict) and "id" in c and not _is_id(c["id"]):
            raise ValidationError([Problem(where, f"category {pos} has {json_text(c['id'])} as its id; a COCO "
                                                  f"category id is a whole number.")])
        if isinstance(c, dict) and "id" in c and isinstance(c.get("name"), str) and c["name"].strip():
            cats[c["id"]] = c["name"].strip()
            cat_value.setdefault(c["id"], len(cat_value) + 1)
    anns = index.annotations.get(_hashable(im.get("id")), [])
    if len(anns) > 65534 or len(cat_value) > 65534:
        raise ValidationError([Problem(where, "the image has more than 65,534 annotations or categories; a mask "
                                              "holds at most 65,535 classes.")])
    top = len(anns) if opts.instances else len(cat_value)
    out = np.zeros((h, w), np.uint8 if top < 256 else np.uint16)
    names: dict[int, str] = {} if opts.instances else {v: cats[cid] for cid, v in cat_value.items()}
    per_cat: dict[str, int] = {}
    problems: list[Problem] = []
    for pos, a in enumerate(anns, 1):
        label = f"annotation {a.get('id', pos)}"
        cid = a.get("category_id")
        if not _is_id(cid):
            raise ValidationError([Problem(where, f"{label} has {json_text(cid)} as its category_id; a COCO "
                                                  f"category_id is the whole-number id of one of the categories.")])
        if cid not in cats:
            raise ValidationError([Problem(where, f"{label} has category_id {cid!r}, which no category in the "
                                                  f"file has; add the category or remove the annotation.")])
        if opts.instances:
            per_cat[cats[cid]] = per_cat.get(cats[cid], 0) + 1
            value = pos
            names[value] = f"{cats[cid]} #{per_cat[cats[cid]]}"
        else:
            value = cat_value[cid]
        seg = a.get("segmentation")
        if isinstance(seg, list) and _is_polygons(seg):
            why = check_polygons(seg, h, w, label)   # before pycocotools' C code sees a vertex
            if why:
                raise ValidationError([Problem(where, why)])
            drawn = _paint_polygons(out, seg, value)
            if not drawn:
                problems.append(Problem(where, f"{label} has no polygon with at least three points; it was "
                                               f"skipped.", severity="warning"))
        elif isinstance(seg, dict):
            _paint_rle(out, seg, value, where, label)
        else:
            problems.append(Problem(where, f"{label} has no segmentation (only a box?); it was skipped.",
                                    severity="warning"))
    return Decoded(where, out, names, unlabelled={0}, problems=problems,
                   unnamed_hint="the COCO file names no category for it")
