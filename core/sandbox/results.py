"""What the sandbox's annotators deliver: a completed job's result mask, derived from its pre-label by
deterministic edits that a review can find (see the package docstring)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .wire import JsonObject

ADDED_REGION = "Added region"
ADDED_BOX = "Added box"
VECTOR_KINDS = ("rectangles", "polygons", "lines", "landmarks")
MOVE = 0.05   # how far the sandbox's annotator moves the first rectangle (right) and polygon (down), normalised


def vector_result(payload: JsonObject) -> JsonObject | None:
    """The delivered shapes of a job whose pre-label has vector kinds (``maker_response.rectangles`` ...), by
    :func:`derive_shapes`; None when it has none (a raster-only or empty pre-label)."""
    data = payload.get("data")
    maker = data.get("maker_response") if isinstance(data, dict) else None
    if not isinstance(maker, dict) or not any(k in maker for k in VECTOR_KINDS):
        return None
    return derive_shapes(maker)


def derive_shapes(maker: JsonObject) -> JsonObject:
    """The sandbox annotator for vector pre-labels, deterministic edits a review can find: the first rectangle
    moved right by ``MOVE`` (kept on the image), the second rectangle dropped, a new rectangle ``ADDED_BOX``
    added (bottom right), the first polygon moved down by ``MOVE``; lines and landmarks kept as given. The
    input is not changed; what is not a well-formed shape is kept as it came."""
    import copy

    out: JsonObject = {}
    for kind in VECTOR_KINDS:
        block = maker.get(kind)
        shapes = block.get("data") if isinstance(block, dict) else None
        if not isinstance(shapes, list):
            continue
        shapes = copy.deepcopy(shapes)
        if kind == "rectangles":
            if shapes:
                _move(shapes[0], "coordinates", MOVE, 0.0)
            if len(shapes) > 1:
                del shapes[1]
            shapes.append({"_id": "sandbox-added-box", "label": ADDED_BOX, "attributes": {}, "state": "editable",
                           "coordinates": [{"x": 0.7, "y": 0.7}, {"x": 0.9, "y": 0.7}, {"x": 0.9, "y": 0.9},
                                           {"x": 0.7, "y": 0.9}]})
        elif kind == "polygons" and shapes:
            _move(shapes[0], "points", 0.0, MOVE)
        out[kind] = {"data": shapes}
    return out


def _move(shape: Any, field: str, dx: float, dy: float) -> None:
    """Shift a shape's points by (dx, dy), as far as the image allows (the whole shape moves alike)."""
    pts = shape.get(field) if isinstance(shape, dict) else None
    values = list(pts.values()) if isinstance(pts, dict) else pts if isinstance(pts, list) else []
    xy = [p for p in values if isinstance(p, dict) and all(isinstance(p.get(c), (int, float))
                                                           and not isinstance(p.get(c), bool) for c in "xy")]
    if not xy or len(xy) != len(values):
        return
    dx = min(dx, 1.0 - max(p["x"] for p in xy))
    dy = min(dy, 1.0 - max(p["y"] for p in xy))
    for p in xy:
        p["x"], p["y"] = round(p["x"] + dx, 6), round(p["y"] + dy, 6)


def render_result(payload: JsonObject, own_file: Callable[[Any], Path | None], target: Path,
                  url: str) -> JsonObject:
    """The delivered annotation of a job whose POST body was ``payload``: its pre-label edited by
    :func:`derive_result`, saved as a PNG at ``target``; returns ``{"legend": ..., "url": url}``.
    ``own_file`` maps a URL to the sandbox's own file behind it (None for any other URL): only those are
    read. Without a readable pre-label the mask has the primary image's size (64x48 when that is not a
    sandbox file) and holds only the added region."""
    import numpy as np
    from PIL import Image

    given = payload.get("data")
    data: JsonObject = given if isinstance(given, dict) else {}
    maker = data.get("maker_response")
    raster: Any = (((maker.get("raster") or {}).get("data") or {}) if isinstance(maker, dict) else {})
    given = raster.get("legend") if isinstance(raster, dict) else None
    legend: dict[Any, Any] = given if isinstance(given, dict) else {}
    mask_file = own_file(raster.get("url")) if isinstance(raster, dict) else None
    rgba = None
    if mask_file is not None and legend:
        try:
            with Image.open(mask_file) as im:
                rgba = np.array(im.convert("RGBA"))
        except (OSError, ValueError, Image.DecompressionBombError):
            rgba = None
    if rgba is None:
        legend = {}
        size = (64, 48)
        image_file = own_file(data.get("image_url"))
        if image_file is not None:
            try:
                with Image.open(image_file) as im:
                    size = im.size
            except (OSError, ValueError, Image.DecompressionBombError):
                pass
        rgba = np.zeros((size[1], size[0], 4), dtype=np.uint8)
    out_legend, rgba = derive_result(rgba, {str(k).lower(): str(v) for k, v in legend.items()})
    Image.fromarray(rgba, "RGBA").save(target, format="PNG", compress_level=1)
    return {"legend": out_legend, "url": url}


def derive_result(rgba: Any, legend: dict[str, str]) -> tuple[dict[str, str], Any]:
    """The sandbox annotator: (legend, RGBA mask) delivered for a pre-label, by deterministic edits on the
    legend's classes in order (see the package docstring): the first grown by r pixels (over whatever
    is next to it), the second shrunk by r, the third renamed, and a rectangle of a new class painted. r is 1/40 of the
    shorter side (at least 1). Pure numpy; the input is not changed."""
    import numpy as np

    out = np.array(rgba, dtype=np.uint8, copy=True)
    h, w = out.shape[:2]
    r = max(1, min(h, w) // 40)
    keys = [k for k in legend if re.fullmatch(r"#[0-9a-f]{6}", k)]
    packed = (out[..., 0].astype(np.uint32) << 16) | (out[..., 1].astype(np.uint32) << 8) | out[..., 2]
    labelled = out[..., 3] > 0

    def where(key: str) -> Any:
        return labelled & (packed == int(key[1:], 16))

    def spread(m: Any, grow: bool) -> Any:
        res = m.copy()
        for d in range(1, r + 1):
            for axis, step in ((0, d), (0, -d), (1, d), (1, -d)):
                shifted = np.zeros_like(m) if grow else np.ones_like(m)
                src = [slice(None), slice(None)]
                dst = [slice(None), slice(None)]
                src[axis] = slice(0, -step) if step > 0 else slice(-step, None)
                dst[axis] = slice(step, None) if step > 0 else slice(0, step)
                shifted[tuple(dst)] = m[tuple(src)]
                res = (res | shifted) if grow else (res & shifted)
        return res

    out_legend = dict(legend)
    if keys:
        first = keys[0]
        m = where(first)
        grown = spread(m, True) & ~m  # over its neighbours, labelled or not: a fully labelled mask grows too
        out[grown] = [*(int(first[i:i + 2], 16) for i in (1, 3, 5)), 255]
    if len(keys) > 1:
        m = where(keys[1])
        out[m & ~spread(m, False)] = 0
    if len(keys) > 2:
        out_legend[keys[2]] = legend[keys[2]] + " (renamed)"
    taken = {int(k[1:], 16) for k in keys}
    colour = next(c for c in (0x00C8FF, 0xFF00C8, 0xC8FF00, 0x123456, 0x654321) if c not in taken)
    y0, x0 = h * 5 // 8, w * 5 // 8
    out[y0:y0 + max(1, h // 5), x0:x0 + max(1, w // 5)] = [colour >> 16, (colour >> 8) & 255, colour & 255, 255]
    out_legend[f"#{colour:06x}"] = ADDED_REGION
    return out_legend, out
