"""Vector pre-labels (issue 25): shapes in Playment's ``maker_response`` form, built and checked.

A reader (:mod:`.readers`) turns a source file into :class:`Shape` values in pixels; :func:`fragment`
normalises them to 0..1, clips them to the image (said), leaves out what lies wholly outside (said) and writes
``{"rectangles": {"data": [...]}, "polygons": ..., "lines": ..., "landmarks": ...}`` holding only the kinds
present. :func:`check_shapes` is the one check every front end gives the same verdict with.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import Problem

KINDS = ("rectangles", "polygons", "lines", "landmarks")
SINGULAR = {"rectangles": "rectangle", "polygons": "polygon", "lines": "line", "landmarks": "landmark group"}


class Shape:
    """One shape in pixels (or already normalised when ``width``/``height`` are 1): ``kind`` is one of
    :data:`KINDS`; ``points`` its vertices (a rectangle's two corners: (x0, y0), (x1, y1))."""

    __slots__ = ("attributes", "kind", "label", "points", "score")

    def __init__(self, kind: str, label: str, points: Sequence[tuple[float, float]],
                 attributes: dict[str, Any] | None = None, score: float | None = None) -> None:
        self.kind = kind
        self.label = label
        self.points = [(float(x), float(y)) for x, y in points]
        self.attributes = dict(attributes or {})
        self.score = score


class Outcome:
    """What an import made: the shapes (pixels), the image size, and the sentences to say once each."""

    def __init__(self, width: float, height: float, source: str) -> None:
        self.width = width
        self.height = height
        self.source = source
        self.shapes: list[Shape] = []
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def _stable_id(source: str, kind: str, index: int) -> str:
    digest = hashlib.sha256(f"{source}\0{kind}\0{index}".encode()).hexdigest()[:12]
    return f"{kind[:4]}-{index + 1}-{digest}"


def _clip(v: float) -> float:
    return min(1.0, max(0.0, v))


def _points_obj(pts: Sequence[tuple[float, float]]) -> dict[str, dict[str, float]]:
    return {f"p{i + 1}": {"x": x, "y": y} for i, (x, y) in enumerate(pts)}


def _edges(n: int, closed: bool) -> dict[str, list[str]]:
    """Edges as the API documents them: ``{"e1": ["p1", "p2"], ...}``, closing the ring for a polygon."""
    pairs = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if closed and n > 2 else [])
    return {f"e{k + 1}": [f"p{a + 1}", f"p{b + 1}"] for k, (a, b) in enumerate(pairs)}


def fragment(outcome: Outcome, *, locked: bool = False, min_score: float | None = None,
             mapping: dict[str, str | None] | None = None, known: Sequence[str] | None = None
             ) -> tuple[dict[str, Any], list[str], list[Problem]]:
    """The ``maker_response`` fragment of ``outcome``, the sentences said, and the refusals (unknown labels)."""
    import difflib

    notes = list(outcome.notes)
    problems: list[Problem] = []
    w, h = outcome.width, outcome.height
    state = "non_editable" if locked else "editable"
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    counters = dict.fromkeys(KINDS, 0)
    low = clipped = outside = dropped = 0
    mapping = mapping or {}
    for shape in outcome.shapes:
        if min_score is not None and shape.score is not None and shape.score < min_score:
            low += 1
            continue
        label = shape.label
        if label in mapping:
            new = mapping[label]
            if new is None:
                dropped += 1
                continue
            label = new
        if known is not None and label not in known:
            close = difflib.get_close_matches(label, list(known), n=1, cutoff=0.0)
            hint = f" (the closest known name is \"{close[0]}\")" if close else ""
            problems.append(Problem(outcome.source, f"the label \"{label}\" is not in the class list{hint}; "
                                                    f"rename it with --map or add it to the list."))
            continue
        norm = [(x / w, y / h) for x, y in shape.points]
        if any(not (math.isfinite(x) and math.isfinite(y)) for x, y in norm):
            problems.append(Problem(outcome.source, f"a {SINGULAR[shape.kind]} labelled \"{label}\" has a "
                                                    f"coordinate that is not a finite number; fix the source."))
            continue
        xs, ys = [p[0] for p in norm], [p[1] for p in norm]
        if max(xs) < 0 or min(xs) > 1 or max(ys) < 0 or min(ys) > 1 or (
                shape.kind == "rectangles" and (max(xs) <= 0 or min(xs) >= 1 or max(ys) <= 0 or min(ys) >= 1)):
            outside += 1
            continue
        cnorm = [(_clip(x), _clip(y)) for x, y in norm]
        if cnorm != norm:
            clipped += 1
        index = counters[shape.kind]
        counters[shape.kind] += 1
        attributes = dict(shape.attributes)
        if shape.score is not None:
            attributes["score"] = shape.score
        item: dict[str, Any] = {"_id": _stable_id(outcome.source, shape.kind, index), "label": label,
                                "attributes": attributes, "state": state}
        if shape.kind == "rectangles":
            x0, x1 = sorted((cnorm[0][0], cnorm[1][0]))
            y0, y1 = sorted((cnorm[0][1], cnorm[1][1]))
            item["coordinates"] = [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]
        else:
            item["points"] = _points_obj(cnorm)
            if shape.kind != "landmarks":
                item["edges"] = _edges(len(cnorm), shape.kind == "polygons")
        out[shape.kind].append(item)
    if low:
        notes.append(f"{low} detection{'s' if low != 1 else ''} below --min-score {min_score:g} left out.")
    if dropped:
        notes.append(f"{dropped} shape{'s' if dropped != 1 else ''} dropped by --map.")
    if clipped:
        notes.append(f"{clipped} shape{'s' if clipped != 1 else ''} partly outside the image clipped to it.")
    if outside:
        notes.append(f"{outside} shape{'s' if outside != 1 else ''} wholly outside the image left out.")
    return {k: {"data": v} for k, v in out.items() if v}, notes, problems


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _xy(p: Any) -> tuple[float, float] | None:
    if isinstance(p, dict) and _number(p.get("x")) and _number(p.get("y")):
        x, y = float(p["x"]), float(p["y"])
        if 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0:
            return x, y
    return None


def _label_problem(label: Any, known: Iterable[str] | None) -> str | None:
    if not isinstance(label, str) or not label.strip():
        return "has no label; give it a non-empty \"label\""
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in label):
        return "has a label with control or bidi characters (shown escaped: " + ascii(label) + "); remove them"
    if known is not None and label not in set(known):
        return "has a label that is not in the class list; rename it or add it to the list"
    return None


def check_shapes(maker_response: Any, known: Iterable[str] | None = None, where: str = "maker_response"
                 ) -> list[Problem]:
    """Every problem with the vector shapes in ``maker_response`` (a job may carry a mask, shapes or both):
    coordinates numbers in 0..1; a rectangle axis-aligned TL, TR, BR, BL with area; a polygon with at least 3
    distinct points and a line 2; edges naming existing points; labels non-empty, free of control characters and
    known when ``known`` is given; ``_id`` unique. Each sentence names the shape (kind, index, label) and the fix."""
    problems: list[Problem] = []
    if not isinstance(maker_response, dict):
        return [Problem(where, "maker_response must be a JSON object; write {\"rectangles\": {\"data\": [...]}}.")]
    known_list = list(known) if known is not None else None
    seen: dict[str, str] = {}
    for kind in KINDS:
        if kind not in maker_response:
            continue
        block = maker_response[kind]
        data = block.get("data") if isinstance(block, dict) else None
        if not isinstance(data, list):
            problems.append(Problem(f"{where}.{kind}", f"{kind} must be {{\"data\": [...]}}, a list of shapes; "
                                                        f"write it so."))
            continue
        for i, shape in enumerate(data):
            path = f"{where}.{kind}.data[{i}]"
            label = shape.get("label") if isinstance(shape, dict) else None
            name = f"{SINGULAR[kind]} {i + 1}" + (f" (\"{label}\")" if isinstance(label, str) and label else "")

            def bad(text: str, path: str = path, name: str = name) -> None:
                problems.append(Problem(path, f"{name[0].upper()}{name[1:]} {text}."))

            if not isinstance(shape, dict):
                bad("is not a JSON object; write {\"_id\", \"label\", ...}")
                continue
            lp = _label_problem(label, known_list)
            if lp:
                bad(lp)
            sid = shape.get("_id")
            if not isinstance(sid, str) or not sid:
                bad("has no \"_id\"; give each shape a unique text id")
            elif sid in seen:
                bad(f"has the _id \"{sid}\" that {seen[sid]} has too; give each shape its own id")
            else:
                seen[sid] = name
            if kind == "rectangles":
                coords = shape.get("coordinates")
                pts = [_xy(p) for p in coords] if isinstance(coords, list) and len(coords) == 4 else None
                if pts is None or None in pts:
                    bad("needs \"coordinates\": four {x, y} numbers in 0..1 (TL, TR, BR, BL); normalise them by "
                        "the image size")
                    continue
                (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = pts  # type: ignore[misc]
                if not (tly == try_ and bly == bry and tlx == blx and trx == brx):
                    bad("is not an axis-aligned TL, TR, BR, BL box; write its corners in that order, or make it "
                        "a polygon")
                elif not (trx > tlx and bly > tly):
                    bad("has no area (or its corners are not TL, TR, BR, BL); give it width and height")
                continue
            points = shape.get("points")
            if not isinstance(points, dict) or not points:
                bad("needs \"points\": {\"p1\": {\"x\", \"y\"}, ...} in 0..1")
                continue
            xy = {k: _xy(v) for k, v in points.items()}
            if any(v is None for v in xy.values()):
                bad("has a point that is not {x, y} numbers in 0..1; normalise it by the image size")
                continue
            distinct = len(set(xy.values()))
            need = {"polygons": 3, "lines": 2, "landmarks": 1}[kind]
            if distinct < need:
                bad(f"has {distinct} distinct point{'s' if distinct != 1 else ''}, fewer than {need}; add points "
                    f"or remove the shape")
            edges = shape.get("edges", {})
            if kind != "landmarks" or edges:
                if not isinstance(edges, dict):
                    bad("has \"edges\" that is not an object {\"e1\": [\"p1\", \"p2\"], ...}")
                    continue
                for ename, e in edges.items():
                    if not (isinstance(e, list) and len(e) == 2 and all(isinstance(q, str) and q in points
                                                                          for q in e)):
                        bad(f"has the edge \"{ename}\" that does not join two of its points; name existing points")
                        break
    return problems
