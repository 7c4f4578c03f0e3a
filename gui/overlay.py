"""Overlay data for the mask view, built once off the GUI thread (pure numpy, no widgets).

An RGBA mask and its legend become a class-index array (0 = unlabelled, i + 1 = legend entry i, 255 =
a colour the legend does not name, drawn magenta so mistakes stand out) plus decimated copies for
zoomed-out drawing. The view wraps these arrays in QImages without copying them. With more than 253
legend entries an index does not fit a byte; then the RGBA array itself is drawn (visibility toggles
are not offered in that case).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

UNKNOWN = 255
UNKNOWN_RGB = (255, 0, 255)
MAX_INDEXED = 253
STRIP = 512


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


def _pack(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]


def build_overlay(rgba: np.ndarray, legend: dict[str, str], *, max_preview: int = 1024) -> Overlay:
    """``rgba``: (H, W, 4) uint8; ``legend``: normalised ``{"#rrggbb": name}``."""
    h, w = rgba.shape[:2]
    hexes = list(legend)
    names = [legend[k] for k in hexes]
    colours = [(int(k[1:3], 16), int(k[3:5], 16), int(k[5:7], 16)) for k in hexes]
    indexed = len(hexes) <= MAX_INDEXED
    if indexed:
        keys = np.array([int(k[1:], 16) for k in hexes], dtype=np.uint32)
        order = np.argsort(keys)
        sorted_keys = keys[order]
        index = np.zeros((h, w), dtype=np.uint8)
        for y0 in range(0, h, STRIP):  # strips bound the temporaries to a few MB whatever the mask size
            part = rgba[y0:y0 + STRIP]
            packed = _pack(part)
            if len(keys):
                pos = np.minimum(np.searchsorted(sorted_keys, packed), len(keys) - 1)
                hit = (sorted_keys[pos] == packed) & (part[..., 3] == 255)
                out = np.where(hit, order[pos] + 1, UNKNOWN).astype(np.uint8)
            else:  # no usable legend entry: every labelled pixel is "not in the legend"
                out = np.full(packed.shape, UNKNOWN, np.uint8)
            out[(part[..., 3] == 0) & (packed == 0)] = 0
            index[y0:y0 + STRIP] = out
        base = index
    else:
        base = np.ascontiguousarray(rgba)
    levels = [(1, base)]
    step = 2
    while max(w, h) / (step // 2) > max_preview:
        levels.append((step, np.ascontiguousarray(base[::step, ::step])))
        step *= 2
    return Overlay(w, h, indexed, levels, colours, hexes, names, rgba)
