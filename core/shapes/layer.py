"""The shapes of one job as the window shows them: pixel geometry, a label table, a spatial index for hover, and
the edits a user makes (rename, drop a label, drop a shape), all on a ``maker_response`` fragment.

No Qt here: the window draws :attr:`ShapeLayer.outlines` and asks :meth:`ShapeLayer.hit` what is under the pointer.
The index is a uniform grid over the image (about :data:`GRID_CELLS` cells a side) holding, per cell, the shapes
whose bounding box meets it; a hover looks at one cell's candidates, smallest first, with an exact test (point in
polygon for areas, distance for lines and landmarks), so it costs the same for 50 shapes or 50,000.
Colours come from :func:`core.legend.name_colours` over the layer's labels: a label keeps its colour across jobs.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from typing import Any

from ..legend import name_colours
from .model import KINDS, SINGULAR

GRID_CELLS = 64
HIT_TOLERANCE = 4.0   # pixels: how near a line or landmark the pointer must be


@dataclass
class Outline:
    """One shape in image pixels: its kind, label, position in its kind's list, points and bounding box."""
    kind: str
    label: str
    index: int
    points: list[tuple[float, float]]
    closed: bool   # rectangles and polygons (areas); lines and landmarks are not
    box: tuple[float, float, float, float]

    def describe(self) -> str:
        return f"{SINGULAR[self.kind]} {self.index + 1} (\"{self.label}\")"


@dataclass
class LabelRow:
    label: str
    colour: str
    counts: dict[str, int]   # kind -> number of shapes

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _points(shape: dict[str, Any], kind: str) -> list[tuple[float, float]] | None:
    raw = shape.get("coordinates") if kind == "rectangles" else shape.get("points")
    values = list(raw.values()) if isinstance(raw, dict) else raw if isinstance(raw, list) else None
    if not values:
        return None
    out = []
    for p in values:
        if not isinstance(p, dict):
            return None
        x, y = p.get("x"), p.get("y")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (x, y)):
            return None
        out.append((float(x), float(y)))  # type: ignore[arg-type]
    return out


class ShapeLayer:
    """A fragment's shapes on an image of ``width`` x ``height`` pixels. Shapes that are not well formed are
    skipped here (the job's check names them); :attr:`skipped` counts them."""

    def __init__(self, fragment: dict[str, Any], width: int, height: int):
        self.fragment = fragment
        self.width, self.height = max(1, int(width)), max(1, int(height))
        self.outlines: list[Outline] = []
        self.skipped = 0
        for kind in KINDS:
            block = fragment.get(kind)
            data = block.get("data") if isinstance(block, dict) else None
            for i, shape in enumerate(data if isinstance(data, list) else []):
                pts = _points(shape, kind) if isinstance(shape, dict) else None
                label = shape.get("label") if isinstance(shape, dict) else None
                if not pts or not isinstance(label, str):
                    self.skipped += 1
                    continue
                px = [(x * self.width, y * self.height) for x, y in pts]
                xs, ys = [p[0] for p in px], [p[1] for p in px]
                self.outlines.append(Outline(kind, label, i, px, kind in ("rectangles", "polygons"),
                                             (min(xs), min(ys), max(xs), max(ys))))
        labels: dict[str, dict[str, int]] = {}
        for o in self.outlines:
            counts = labels.setdefault(o.label, {})
            counts[o.kind] = counts.get(o.kind, 0) + 1
        colours = name_colours(list(labels))
        self.labels = [LabelRow(name, colours[name], counts) for name, counts in labels.items()]
        self._build_index()

    # ------------------------------------------------------------ hover
    def _build_index(self) -> None:
        self._cell = max(self.width, self.height) / GRID_CELLS
        self._grid: dict[tuple[int, int], list[int]] = {}
        pad = HIT_TOLERANCE
        for n, o in enumerate(self.outlines):
            x0, y0, x1, y1 = o.box
            for cx in range(int((x0 - pad) // self._cell), int((x1 + pad) // self._cell) + 1):
                for cy in range(int((y0 - pad) // self._cell), int((y1 + pad) // self._cell) + 1):
                    self._grid.setdefault((cx, cy), []).append(n)

    def hit(self, x: float, y: float, hidden: set[str] | frozenset[str] = frozenset()) -> Outline | None:
        """The shape under the image point (x, y), smallest first, among labels not in ``hidden``; or None."""
        candidates = self._grid.get((int(x // self._cell), int(y // self._cell)), [])
        best: tuple[float, Outline] | None = None
        for n in candidates:
            o = self.outlines[n]
            if o.label in hidden:
                continue
            x0, y0, x1, y1 = o.box
            if not (x0 - HIT_TOLERANCE <= x <= x1 + HIT_TOLERANCE and y0 - HIT_TOLERANCE <= y <= y1 + HIT_TOLERANCE):
                continue
            if o.closed and len(o.points) >= 3:
                inside = _inside(o.points, x, y)
                size = (x1 - x0) * (y1 - y0)
            else:
                inside = _near(o.points, x, y, HIT_TOLERANCE, segments=o.kind == "lines")
                size = 0.0   # a line or a point over an area: the thinner thing wins
            if inside and (best is None or size < best[0]):
                best = (size, o)
        return None if best is None else best[1]

    def describe(self, x: float, y: float, hidden: set[str] | frozenset[str] = frozenset()) -> str:
        o = self.hit(x, y, hidden)
        return "" if o is None else o.describe()

    # ------------------------------------------------------------ edits (each returns a new fragment)
    def renamed(self, old: str, new: str) -> dict[str, Any]:
        """The fragment with every shape labelled ``old`` labelled ``new`` (merging when ``new`` exists)."""
        out = copy.deepcopy(self.fragment)
        for kind in KINDS:
            for shape in _data(out, kind):
                if isinstance(shape, dict) and shape.get("label") == old:
                    shape["label"] = new
        return out

    def without_label(self, label: str) -> dict[str, Any]:
        """The fragment without the shapes labelled ``label`` (kinds left empty are dropped)."""
        out = copy.deepcopy(self.fragment)
        for kind in KINDS:
            if kind in out:
                kept = [s for s in _data(out, kind) if not (isinstance(s, dict) and s.get("label") == label)]
                out[kind] = {**out[kind], "data": kept}
                if not kept:
                    del out[kind]
        return out

    def without_shape(self, outline: Outline) -> dict[str, Any]:
        """The fragment without the one shape ``outline`` stands for."""
        out = copy.deepcopy(self.fragment)
        data = _data(out, outline.kind)
        if 0 <= outline.index < len(data):
            del data[outline.index]
        if not data and outline.kind in out:
            del out[outline.kind]
        return out


def _data(fragment: dict[str, Any], kind: str) -> list[Any]:
    block = fragment.get(kind)
    data = block.get("data") if isinstance(block, dict) else None
    return data if isinstance(data, list) else []


def _inside(pts: list[tuple[float, float]], x: float, y: float) -> bool:
    """Even-odd point in polygon."""
    inside = False
    j = len(pts) - 1
    for i in range(len(pts)):
        (xi, yi), (xj, yj) = pts[i], pts[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _near(pts: list[tuple[float, float]], x: float, y: float, tol: float, *, segments: bool) -> bool:
    """Within ``tol`` of one of the points, or (``segments``: a line) of a segment joining consecutive ones."""
    if not segments or len(pts) == 1:
        return any(math.hypot(px - x, py - y) <= tol for px, py in pts)
    for (ax, ay), (bx, by) in itertools.pairwise(pts):
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length2))
        if math.hypot(ax + t * dx - x, ay + t * dy - y) <= tol:
            return True
    return False
