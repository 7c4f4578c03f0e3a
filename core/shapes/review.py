"""How much of a vector pre-label survived: pre-label and delivered shapes matched per label by IoU.

Per label and kind (rectangles and polygons; lines and landmarks have no area and are left out, said), shapes are
matched greedily, best IoU first, one to one, when their IoU is at least :data:`MATCH_IOU`. The pre-label is the
prediction and the delivered annotation the truth: precision = matched / pre-label shapes, recall = matched /
delivered shapes, and the mean IoU of the matched pairs. IoU is computed by pycocotools on run-length encodings of
the shapes rasterised on the image's pixel grid (``size``; a 1000 x 1000 grid when the image size is unknown), so
rectangles and polygons are measured alike and exactly as COCO's evaluation measures masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MATCH_IOU = 0.5
DEFAULT_GRID = (1000, 1000)
REVIEWED_KINDS = ("rectangles", "polygons")
UNREVIEWED_KINDS = ("lines", "landmarks", "cuboids")


@dataclass
class LabelReview:
    """One label of one kind: counts, matches and the mean IoU of the matches (None without a match)."""
    label: str
    kind: str
    prelabel: int
    delivered: int
    matched: int
    mean_iou: float | None

    @property
    def precision(self) -> float | None:
        return self.matched / self.prelabel if self.prelabel else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.delivered if self.delivered else None


@dataclass
class ShapesReview:
    labels: list[LabelReview]
    left_out: list[str]   # sentences: kinds not reviewed, shapes that could not be read


def _outline(shape: Any, kind: str) -> list[tuple[float, float]] | None:
    """The shape's outline as normalised (x, y) points, or None when it is not a well-formed shape."""
    if not isinstance(shape, dict):
        return None
    raw = shape.get("coordinates") if kind == "rectangles" else shape.get("points")
    values = list(raw.values()) if isinstance(raw, dict) else raw if isinstance(raw, list) else None
    if not values:
        return None
    pts = []
    for p in values:
        x, y = (p.get("x"), p.get("y")) if isinstance(p, dict) else (None, None)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in (x, y)):
            return None
        pts.append((float(x), float(y)))  # type: ignore[arg-type]
    return pts if len(pts) >= 3 else None


def _shapes(block: Any, kind: str) -> tuple[dict[str, list[list[tuple[float, float]]]], int]:
    """Outlines per label of one kind of a maker_response or result, and how many shapes could not be read."""
    data = block.get(kind, {}).get("data") if isinstance(block, dict) and isinstance(block.get(kind), dict) else None
    by_label: dict[str, list[list[tuple[float, float]]]] = {}
    unread = 0
    for shape in data if isinstance(data, list) else []:
        outline = _outline(shape, kind)
        label = shape.get("label") if isinstance(shape, dict) else None
        if outline is None or not isinstance(label, str):
            unread += 1
            continue
        by_label.setdefault(label, []).append(outline)
    return by_label, unread


def _rles(outlines: list[list[tuple[float, float]]], size: tuple[int, int]) -> list[Any]:
    from pycocotools import mask as coco_mask

    w, h = size
    polys = [[c for x, y in pts for c in (x * w, y * h)] for pts in outlines]
    return [coco_mask.merge(coco_mask.frPyObjects([p], h, w)) for p in polys]


def review_shapes(prelabel: Any, delivered: Any, size: tuple[int, int] | None = None) -> ShapesReview:
    """Match the pre-label's shapes (a ``maker_response``) with the delivered ones (the job's result)."""
    import numpy as np
    from pycocotools import mask as coco_mask

    grid = size or DEFAULT_GRID
    labels: list[LabelReview] = []
    left_out: list[str] = []
    for kind in UNREVIEWED_KINDS:
        if any(isinstance(b, dict) and kind in b for b in (prelabel, delivered)):
            left_out.append(f"{kind.capitalize()} are not reviewed (they have no area to compare).")
    for kind in REVIEWED_KINDS:
        pre, bad_pre = _shapes(prelabel, kind)
        got, bad_got = _shapes(delivered, kind)
        if bad_pre or bad_got:
            left_out.append(f"{bad_pre + bad_got} {kind} could not be read and were left out of the review.")
        for label in sorted(set(pre) | set(got)):
            a, b = pre.get(label, []), got.get(label, [])
            matched, ious = 0, []
            if a and b:
                table = np.asarray(coco_mask.iou(_rles(a, grid), _rles(b, grid), [0] * len(b)), dtype=float)
                table = table.reshape(len(a), len(b))
                pairs = sorted(((table[i, j], i, j) for i in range(len(a)) for j in range(len(b))), reverse=True)
                used_a: set[int] = set()
                used_b: set[int] = set()
                for value, i, j in pairs:
                    if value < MATCH_IOU:
                        break
                    if i in used_a or j in used_b:
                        continue
                    used_a.add(i)
                    used_b.add(j)
                    ious.append(float(value))
                matched = len(ious)
            labels.append(LabelReview(label, kind, len(a), len(b), matched,
                                      sum(ious) / len(ious) if ious else None))
    return ShapesReview(labels, left_out)
