"""COCO instances JSON -> class (or instance) values per pixel, through pycocotools.

Polygons, uncompressed RLE (``counts`` a list) and compressed RLE (``counts`` a string) are decoded and
rasterised by pycocotools exactly as ``COCO.annToMask`` does; ``iscrowd`` annotations are RLE and are
painted like any other. Annotations are painted in file order, so where two overlap the later one wins.
A polygon is rasterised within its bounding box only (shifted by whole pixels, which leaves pycocotools'
rounding unchanged), so a small object in a large image costs what its box costs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import Problem, UsageError, ValidationError
from ..shared import mask_problem
from ._common import Decoded, ImportOptions, read_json


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


def pick_image(data: dict[str, Any], image: str | None, where: str) -> dict[str, Any]:
    """The image entry named by ``image`` (its file_name, the file_name's base name, or its id); the only
    image when the file holds one."""
    images = [im for im in data["images"] if isinstance(im, dict)]
    if image is None:
        if len(images) == 1:
            return images[0]
        names = ", ".join(str(im.get("file_name", im.get("id"))) for im in images[:5])
        raise UsageError(f"{where}: the COCO file holds {len(images)} images ({names}"
                         f"{', ...' if len(images) > 5 else ''}); choose one with --image FILE_NAME or ID.")
    text = str(image).strip()
    for im in images:
        fname = str(im.get("file_name", ""))
        if text in (fname, Path(fname).name, Path(fname).stem, str(im.get("id"))):
            return im
    raise UsageError(f"{where}: no image in the COCO file has the file_name or id \"{text}\"; "
                     f"{len(images)} images are listed (first: {images[0].get('file_name') if images else 'none'}).")


def _size(im: dict[str, Any], where: str) -> tuple[int, int]:
    h, w = im.get("height"), im.get("width")
    if not isinstance(h, int) or not isinstance(w, int) or h <= 0 or w <= 0:
        raise ValidationError([Problem(where, f"image {im.get('file_name', im.get('id'))} has no usable width and "
                                              f"height ({w!r} x {h!r}); COCO images need both.")])
    return h, w


def _is_polygons(seg: Any) -> bool:
    return isinstance(seg, list) and all(isinstance(p, list) for p in seg)


def _paint_polygons(out: np.ndarray, polys: list[list[float]], value: int) -> bool:
    """Rasterise polygons within their bounding box; False when nothing could be drawn."""
    api = _mask_api()
    h, w = out.shape
    pts = [np.asarray(p, np.float64) for p in polys if len(p) >= 6 and len(p) % 2 == 0]
    if not pts:
        return False
    allx = np.concatenate([p[0::2] for p in pts])
    ally = np.concatenate([p[1::2] for p in pts])
    if not (np.isfinite(allx).all() and np.isfinite(ally).all()):
        return False
    x0 = min(max(0, math.floor(float(allx.min()))), w)
    y0 = min(max(0, math.floor(float(ally.min()))), h)
    x1 = min(w, max(x0, math.ceil(float(allx.max())) + 1))
    y1 = min(h, max(y0, math.ceil(float(ally.max())) + 1))
    if x1 <= x0 or y1 <= y0:
        return True
    shifted = []
    for p in pts:
        q = p.copy()
        q[0::2] -= x0
        q[1::2] -= y0
        shifted.append(q.tolist())
    rles = api.frPyObjects(shifted, y1 - y0, x1 - x0)
    m = api.decode(api.merge(rles))  # (h, w) uint8 in Fortran order: its transpose is C-contiguous
    region = out[y0:y1, x0:x1]
    # copyto with a where-mask writes in place without building an index of the hits, which boolean
    # indexing does (3x slower on 300 large polygons); the transposed views keep both arrays in step.
    np.copyto(region.T, np.asarray(value, region.dtype), where=m.T.view(bool))
    return True


def _paint_rle(out: np.ndarray, seg: dict[str, Any], value: int, where: str, label: str) -> None:
    api = _mask_api()
    h, w = out.shape
    size = seg.get("size")
    if not (isinstance(size, list) and len(size) == 2 and list(size) == [h, w]):
        raise ValidationError([Problem(where, f"{label}: its RLE is for {size!r} (height, width) but the image is "
                                              f"[{h}, {w}]; the annotation belongs to another image size.")])
    counts = seg.get("counts")
    try:
        if isinstance(counts, list):
            rle = api.frPyObjects(seg, h, w)
        elif isinstance(counts, str):
            rle = {"size": [h, w], "counts": counts.encode("ascii")}
        else:
            raise ValueError("counts is neither a list nor a string")
        m = api.decode(rle)
        x, y, bw, bh = (int(v) for v in api.toBbox(rle))
    except (ValueError, TypeError, UnicodeEncodeError) as e:
        raise ValidationError([Problem(where, f"{label}: its RLE cannot be decoded ({e}).")]) from e
    if bw == 0 or bh == 0:
        return
    region = out[y:y + bh, x:x + bw]
    region[m[y:y + bh, x:x + bw].astype(bool)] = value


def decode(path: str | Path, opts: ImportOptions) -> Decoded:
    where = str(path)
    data = load_coco(path)
    im = pick_image(data, opts.image, where)
    h, w = _size(im, where)
    if h * w > opts.max_pixels:
        raise ValidationError([mask_problem("too_large", where, f"image {im.get('file_name')} is {w:,} x {h:,} "
                                        f"pixels, over the limit of {opts.max_pixels / 1e6:,.0f} megapixels.")])
    cats: dict[Any, str] = {}
    cat_value: dict[Any, int] = {}
    for c in data["categories"]:
        if isinstance(c, dict) and "id" in c and isinstance(c.get("name"), str) and c["name"].strip():
            cats[c["id"]] = c["name"].strip()
            cat_value.setdefault(c["id"], len(cat_value) + 1)
    anns = [a for a in data["annotations"] if isinstance(a, dict) and a.get("image_id") == im.get("id")]
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
            try:
                drawn = _paint_polygons(out, seg, value)
            except (ValueError, TypeError) as e:
                raise ValidationError([Problem(where, f"{label}: its polygon cannot be read ({e}).")]) from e
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
