"""Pre-label review: how much the annotators changed each pre-label, class by class. Plain numpy, no Qt.

A delivered segmentation result has the pre-label's shape (``{legend, url}`` with an RGBA PNG), so the two compare
pixel for pixel. Classes are matched by name; a colour that is in both legends under another name is a
**rename** (the class is compared with its new name's pixels); a delivered name that is neither in the pre-label
nor a rename is **introduced**; a pre-label name gone from the delivery is **dropped**. Per class: IoU between
its pre-label and delivered pixels, pixels added and removed. Per job: the share of pixels whose class changed.
Per batch (:func:`corrected_most`): the classes whose pixels the annotators moved most.

Speed (the review runs over whole batches): each mask is decoded once, its colours mapped to class numbers with a
perfect hash over the legend's colours (a few passes over the pixels whatever the number of classes), and one
``np.bincount`` of (pre-label class, delivered class) pairs gives every count above. The per-pixel difference
layer is only made when asked (``keep_arrays``: the window's overlay), and thumbnails from every n-th pixel.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import ValidationError
from .legend import check_legend

UNLABELLED = 0
KINDS = ("kept", "renamed", "introduced", "dropped")


@dataclass(frozen=True)
class ClassReview:
    """One class of one job. ``name``: the pre-label's name (the delivered name for an introduced class);
    ``delivered_name`` differs from it for a rename."""

    name: str
    delivered_name: str | None
    kind: str                      # one of KINDS
    prelabel_pixels: int
    delivered_pixels: int
    intersection: int

    @property
    def union(self) -> int:
        return self.prelabel_pixels + self.delivered_pixels - self.intersection

    @property
    def iou(self) -> float | None:
        """Intersection over union of the class's pixels; None when neither mask has any."""
        return self.intersection / self.union if self.union else None

    @property
    def added(self) -> int:
        """Delivered pixels of the class that the pre-label did not give it."""
        return self.delivered_pixels - self.intersection

    @property
    def removed(self) -> int:
        """Pre-label pixels of the class that the delivery took away from it."""
        return self.prelabel_pixels - self.intersection

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.name, "delivered_name": self.delivered_name, "kind": self.kind,
                "prelabel_pixels": self.prelabel_pixels, "delivered_pixels": self.delivered_pixels,
                "iou": None if self.iou is None else round(self.iou, 6), "added": self.added, "removed": self.removed}


@dataclass
class JobReview:
    """The review of one job. With ``keep_arrays`` (the window's Results view): the two RGBA masks and a boolean
    ``difference`` (H, W) that is True where the pixel's class changed, ready to overlay."""

    reference_id: str | None
    job_id: str | None
    width: int
    height: int
    classes: list[ClassReview]
    changed_pixels: int
    prelabel_rgba: NDArray[np.uint8] | None = field(default=None, repr=False)
    delivered_rgba: NDArray[np.uint8] | None = field(default=None, repr=False)
    difference: NDArray[np.bool_] | None = field(default=None, repr=False)

    @property
    def total_pixels(self) -> int:
        return self.width * self.height

    @property
    def changed_share(self) -> float:
        """Share of the image's pixels whose class the annotators changed (0..1)."""
        return self.changed_pixels / self.total_pixels if self.total_pixels else 0.0

    def renamed(self) -> list[tuple[str, str]]:
        return [(c.name, c.delivered_name or "") for c in self.classes if c.kind == "renamed"]

    def introduced(self) -> list[str]:
        return [c.name for c in self.classes if c.kind == "introduced"]


# ------------------------------------------------------------------------------------ colour -> class
_MULTIPLIERS = [m | 1 for m in random.Random(14).sample(range(1 << 20, 1 << 32), 64)]


def pixel_key(hexkey: str) -> int:
    """The uint32 of an opaque ``#rrggbb`` pixel as an RGBA buffer viewed as little-endian uint32 reads it."""
    r, g, b = (int(hexkey[i:i + 2], 16) for i in (1, 3, 5))
    return r | g << 8 | b << 16 | 255 << 24


def _as_u32(rgba: NDArray[np.uint8]) -> NDArray[np.uint32]:
    arr = np.ascontiguousarray(rgba, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 4:
        raise ValueError(f"an RGBA mask must have shape (height, width, 4), not {arr.shape}")
    u: NDArray[np.uint32] = arr.view("<u4")[..., 0]
    return u


def class_index(rgba: NDArray[np.uint8], keys: Mapping[int, int]) -> NDArray[np.uint16]:
    """Class numbers (uint16, 0 = unlabelled or a colour outside ``keys``) of an RGBA mask, where ``keys``
    maps a pixel's uint32 (see :func:`pixel_key`) to its number. A perfect hash of the legend's colours into a
    small table: multiply, shift, look up, verify; the cost does not grow with the number of classes."""
    u = _as_u32(rgba)
    out_dtype = np.uint16
    if not keys:
        return np.zeros(u.shape, dtype=out_dtype)
    ks = np.fromiter(keys.keys(), dtype=np.uint32, count=len(keys))
    ids = np.fromiter(keys.values(), dtype=out_dtype, count=len(keys))
    bits = max(4, (4 * len(ks)).bit_length())
    for mult in _MULTIPLIERS:
        slots = (ks * np.uint32(mult)) >> np.uint32(32 - bits)
        if len(np.unique(slots)) == len(ks):
            break
    else:  # 64 tries never all fail for a legend of at most a few thousand colours; keep a correct fallback
        out = np.zeros(u.shape, dtype=out_dtype)
        for k, i in keys.items():
            out[u == k] = i
        return out
    table_key = np.zeros(1 << bits, dtype=np.uint32)
    table_id = np.zeros(1 << bits, dtype=out_dtype)
    table_key[slots] = ks
    table_id[slots] = ids
    h = u * np.uint32(mult)
    h >>= np.uint32(32 - bits)
    found: NDArray[np.uint16] = table_id[h]
    found[table_key[h] != u] = UNLABELLED
    return found


def _names(legend: Mapping[str, str]) -> tuple[list[str], dict[int, int], dict[str, str]]:
    """(class names in legend order, pixel key -> class number, normalised colour -> name)."""
    clean, problems = check_legend(dict(legend))
    if any(p.severity == "error" for p in problems):
        raise ValidationError([p for p in problems if p.severity == "error"])
    names: list[str] = []
    keys: dict[int, int] = {}
    by_colour: dict[str, str] = {}
    for colour, name in clean.items():
        name = str(name).strip()
        if name not in names:
            names.append(name)
        keys[pixel_key(colour)] = names.index(name) + 1
        by_colour[colour.lower()] = name
    return names, keys, by_colour


# ------------------------------------------------------------------------------------------ reviews
def review_masks(prelabel: NDArray[np.uint8], prelabel_legend: Mapping[str, str], delivered: NDArray[np.uint8],
                 delivered_legend: Mapping[str, str], *, reference_id: str | None = None, job_id: str | None = None,
                 keep_arrays: bool = False) -> JobReview:
    """Review decoded masks ((H, W, 4) uint8 each, same size). ValidationError for a bad legend or sizes that
    differ (the sentence names both sizes)."""
    if prelabel.shape[:2] != delivered.shape[:2]:
        from .errors import Problem
        raise ValidationError([Problem("delivered", f"the delivered mask is {delivered.shape[1]}x"
                                                    f"{delivered.shape[0]} pixels but the pre-label is "
                                                    f"{prelabel.shape[1]}x{prelabel.shape[0]}; they cannot be "
                                                    f"compared pixel for pixel.")])
    pre_names, pre_keys, pre_colours = _names(prelabel_legend)
    del_names, del_keys, del_colours = _names(delivered_legend)
    kp, kd = len(pre_names) + 1, len(del_names) + 1
    pidx = class_index(prelabel, pre_keys)
    didx = class_index(delivered, del_keys)
    if kp * kd < 65536:
        pair = pidx * np.uint16(kd)
        pair += didx
    else:
        pair = pidx.astype(np.int64) * kd + didx
    conf = np.bincount(pair.ravel(), minlength=kp * kd).reshape(kp, kd)
    # Which delivered class each pre-label class became: the same name, else the name its colour now has.
    match: dict[int, int] = {}
    renamed: set[int] = set()
    for i, name in enumerate(pre_names, 1):
        if name in del_names:
            match[i] = del_names.index(name) + 1
    for colour, name in pre_colours.items():
        i = pre_names.index(name) + 1
        new = del_colours.get(colour)
        if i not in match and new is not None and new != name and new not in pre_names:
            match[i] = del_names.index(new) + 1
            renamed.add(i)
    pre_tot, del_tot = conf.sum(axis=1), conf.sum(axis=0)
    classes: list[ClassReview] = []
    for i, name in enumerate(pre_names, 1):
        d = match.get(i)
        if d is None:
            classes.append(ClassReview(name, None, "dropped", int(pre_tot[i]), 0, 0))
        else:
            classes.append(ClassReview(name, del_names[d - 1], "renamed" if i in renamed else "kept",
                                       int(pre_tot[i]), int(del_tot[d]), int(conf[i, d])))
    targets = set(match.values())
    for d, name in enumerate(del_names, 1):
        if d not in targets:
            classes.append(ClassReview(name, name, "introduced", 0, int(del_tot[d]), 0))
    same = int(conf[0, 0]) + sum(int(conf[i, d]) for i, d in match.items())
    h, w = prelabel.shape[:2]
    review = JobReview(reference_id, job_id, w, h, classes, h * w - same)
    if keep_arrays:
        review.prelabel_rgba, review.delivered_rgba = prelabel, delivered
        review.difference = difference_layer(pidx, didx, match, kp)
    return review


def difference_layer(pidx: NDArray[np.uint16], didx: NDArray[np.uint16], match: Mapping[int, int],
                     kp: int) -> NDArray[np.bool_]:
    """True where a pixel's class changed: its pre-label class did not become its delivered class."""
    lut = np.full(kp, np.iinfo(np.uint16).max, dtype=np.uint16)
    lut[0] = 0
    for i, d in match.items():
        lut[i] = d
    diff: NDArray[np.bool_] = lut[pidx] != didx
    return diff


def decode_rgba(path: str | Path) -> NDArray[np.uint8]:
    """An RGBA PNG as (H, W, 4) uint8 (the decode a review costs). A file that is missing, not an image or
    over Pillow's decompression-bomb limit is a ValidationError naming the file."""
    from PIL import Image, UnidentifiedImageError

    from .errors import Problem
    from .sanitise import one_line
    try:
        with Image.open(path) as im:
            if im.mode != "RGBA":
                im = im.convert("RGBA")
            arr: NDArray[np.uint8] = np.asarray(im)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        if isinstance(e, UnidentifiedImageError):
            why = "not an image Pillow can decode"
        else:
            why = e.strerror if isinstance(e, OSError) and e.strerror else one_line(e, 160)
        raise ValidationError([Problem(str(path), f"cannot be read as a PNG ({why}).")],
                              message=f"{path}: cannot be read as a PNG ({why}).") from None
    return arr


def review_job(prelabel_path: str | Path, prelabel_legend: Mapping[str, str], delivered_path: str | Path,
               delivered_legend: Mapping[str, str], *, reference_id: str | None = None, job_id: str | None = None,
               keep_arrays: bool = True) -> JobReview:
    """Review a job from its two PNG files and legends; with ``keep_arrays`` (default) the result carries the
    masks and the difference layer for an overlay."""
    return review_masks(decode_rgba(prelabel_path), prelabel_legend, decode_rgba(delivered_path), delivered_legend,
                        reference_id=reference_id, job_id=job_id, keep_arrays=keep_arrays)


@dataclass(frozen=True)
class ClassCorrection:
    """A class across a batch: pixels added plus removed (``corrected``), summed over the jobs that have it."""

    name: str
    corrected: int
    added: int
    removed: int
    jobs: int
    mean_iou: float | None


def corrected_most(reviews: Iterable[JobReview]) -> list[ClassCorrection]:
    """Every class of the batch, the most corrected first (pixels added + removed, then name)."""
    acc: dict[str, list[Any]] = {}
    for r in reviews:
        for c in r.classes:
            a = acc.setdefault(c.name, [0, 0, 0, []])
            a[0] += c.added
            a[1] += c.removed
            a[2] += 1
            if c.iou is not None and c.kind != "introduced":
                a[3].append(c.iou)
    out = [ClassCorrection(n, a[0] + a[1], a[0], a[1], a[2], sum(a[3]) / len(a[3]) if a[3] else None)
           for n, a in acc.items()]
    return sorted(out, key=lambda c: (-c.corrected, c.name))
