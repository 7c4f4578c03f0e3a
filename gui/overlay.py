"""Overlay data for the mask view, built once off the GUI thread (pure numpy, no widgets).

An RGBA mask and its legend become a class-index array (0 = unlabelled, i + 1 = legend entry i, 255 =
a colour the legend does not name, drawn magenta so mistakes stand out; the rule is core's
:func:`core.mask.class_index`) plus decimated copies for zoomed-out drawing. The view wraps these arrays
in QImages without copying them. With more than 253 legend entries an index does not fit a byte; then
the RGBA array itself is drawn (visibility toggles are not offered in that case).

:func:`load_overlay` is what a worker calls for a mask file: one libspng decode, and the class index
filled from the runs the check's colour count finds anyway (:func:`core.mask.check_indexed`), so the
overlay of an 8192 x 6144 mask is ready about when the check is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from playment_submit.core.legend import check_legend
from playment_submit.core.mask import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_TOLERANCE,
    MAX_INDEXED,
    UNKNOWN_INDEX,
    MaskReport,
    check_indexed,
    class_index,
)

UNKNOWN = UNKNOWN_INDEX
UNKNOWN_RGB = (255, 0, 255)
__all__ = ["MAX_INDEXED", "UNKNOWN", "UNKNOWN_RGB", "Overlay", "build_overlay", "load_overlay"]


@dataclass
class Overlay:
    width: int
    height: int
    indexed: bool
    levels: list[tuple[int, np.ndarray]]
    colours: list[tuple[int, int, int]]
    hexes: list[str]
    names: list[str]
    rgba: np.ndarray = field(repr=False)

    def describe(self, x: int, y: int) -> str:
        if not (0 <= x < self.width and 0 <= y < self.height):
            return ""
        r, g, b, a = (int(v) for v in self.rgba[y, x])
        if a == 0 and r == g == b == 0:
            return "unlabelled"
        hexkey = f"#{r:02x}{g:02x}{b:02x}"
        if a != 255:
            return f"{hexkey} alpha {a} (soft edge)"
        try:
            return f"{hexkey} {self.names[self.hexes.index(hexkey)]}"
        except ValueError:
            return f"{hexkey} (not in the legend)"


def build_overlay(rgba: np.ndarray, legend: dict[str, str], *, max_preview: int = 1024,
                  index: np.ndarray | None = None) -> Overlay:
    """``rgba``: (H, W, 4) uint8; ``legend``: normalised ``{"#rrggbb": name}``. ``index``: the class-index
    array of ``rgba`` for this legend when it is already known (:func:`core.mask.check_indexed`), else it
    is computed here (run-aware, :func:`core.mask.class_index`). Pure numpy: safe in a worker thread."""
    h, w = rgba.shape[:2]
    hexes = list(legend)
    names = [legend[k] for k in hexes]
    colours = [(int(k[1:3], 16), int(k[3:5], 16), int(k[5:7], 16)) for k in hexes]
    indexed = len(hexes) <= MAX_INDEXED
    if indexed:
        base = index if index is not None and index.shape == (h, w) else class_index(rgba, hexes)
    else:
        base = np.ascontiguousarray(rgba)
    levels = [(1, base)]
    step = 2
    while max(w, h) / (step // 2) > max_preview:
        levels.append((step, np.ascontiguousarray(base[::step, ::step])))
        step *= 2
    return Overlay(w, h, indexed, levels, colours, hexes, names, rgba)


def load_overlay(path: str | Path, legend: dict[str, str], primary_size: tuple[int, int] | None = None, *,
                 max_pixels: int = DEFAULT_MAX_PIXELS,
                 tolerance: float = DEFAULT_TOLERANCE) -> tuple[MaskReport, Overlay | None]:
    """Check a mask file against its legend (as :func:`core.mask.check` does, same report) and build its
    overlay from the same decode; the overlay is None when the report says the pixels cannot be drawn.
    For a worker: no Qt objects are made. The overlay's legend is the legend's good entries
    (:func:`core.legend.check_legend`), as the window lists them.
    """
    report, rgba, index = check_indexed(path, legend, primary_size, max_pixels=max_pixels, tolerance=tolerance,
                                        interactive=True)
    if rgba is None or not report.usable:
        return report, None
    good, _ = check_legend(legend)
    return report, build_overlay(rgba, good, index=index)
