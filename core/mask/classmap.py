"""Which legend class each pixel of an RGBA mask belongs to, as one byte per pixel: the class-index array
the window draws its overlay from (``gui.overlay``), computed here so the rule has one home in core.

Index 0 is unlabelled (all four channels 0), ``i + 1`` the legend entry ``i`` (its RGB with alpha 255),
and :data:`UNKNOWN_INDEX` (255) anything else: a colour the legend does not name, soft alpha, black with
alpha, a hidden colour. With more than :data:`MAX_INDEXED` legend entries an index does not fit a byte.

Masks are long runs of one colour, so the pixels are reduced to runs first (compare neighbours), only the
run values are looked up among the legend colours, and the indices are spread back with ``np.repeat``:
about 10x faster than looking up every pixel on an 8192 x 6144 mask. :func:`core.mask.check_indexed` does
this inside the colour count's own pass over the runs, so the window pays for finding runs once.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .shared import hex_key, pixels_as_u32

UNLABELLED_INDEX = 0
UNKNOWN_INDEX = 255
MAX_INDEXED = 253
INDEX_STRIP = 1 << 20      # pixels per strip: bounds the temporaries to a few MiB whatever the mask size


class ClassIndexer:
    """Maps packed pixels (the little-endian uint32 of :func:`core.mask.shared.pixels_as_u32`) to class indices
    for one legend, and fills a class-index array run by run."""

    def __init__(self, legend: Iterable[str], out: np.ndarray | None = None) -> None:
        """``legend``: ``"#rrggbb"`` keys in legend order (index 1 is the first); ``out``: the flat uint8
        array that :meth:`fill` writes into (one byte per pixel)."""
        keys = np.array([hex_key(h) for h in legend], dtype=np.uint32)
        if len(keys) > MAX_INDEXED:
            raise ValueError(f"{len(keys)} legend colours do not fit a byte of class index (at most {MAX_INDEXED})")
        self._order = np.argsort(keys, kind="stable")
        self._keys = keys[self._order]
        self._index = (self._order + 1).astype(np.uint8)
        self.out = out

    def lookup(self, packed: np.ndarray) -> np.ndarray:
        """The class index (uint8) of each packed pixel value."""
        if not len(self._keys):
            out = np.full(packed.shape, UNKNOWN_INDEX, np.uint8)
        else:
            pos = np.searchsorted(self._keys, packed)
            np.minimum(pos, len(self._keys) - 1, out=pos)
            out = np.where(self._keys[pos] == packed, self._index[pos], np.uint8(UNKNOWN_INDEX))
        out[packed == 0] = UNLABELLED_INDEX
        return out

    def fill(self, start: int, values: np.ndarray, lengths: np.ndarray) -> None:
        """Write the runs (``values[i]`` repeated ``lengths[i]`` times) from flat pixel ``start`` on."""
        assert self.out is not None
        n = int(lengths.sum())
        self.out[start:start + n] = np.repeat(self.lookup(values), lengths)


def runs(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, lengths) of the runs of equal neighbours in a 1-D array."""
    starts = np.flatnonzero(flat[1:] != flat[:-1])
    starts += 1
    values = np.concatenate((flat[:1], flat[starts]))
    lengths = np.diff(starts, prepend=0, append=len(flat))
    return values, lengths


def class_index(rgba: np.ndarray, legend: Iterable[str]) -> np.ndarray:
    """The (H, W) uint8 class-index array of an (H, W, 4) uint8 RGBA mask for a legend (``"#rrggbb"`` keys
    in legend order, at most :data:`MAX_INDEXED`), strip by strip. A strip with short runs (noise) is looked
    up pixel by pixel instead, which is then faster; the answer is the same either way."""
    h, w = rgba.shape[:2]
    out = np.empty(h * w, np.uint8)
    indexer = ClassIndexer(legend, out)
    flat = pixels_as_u32(rgba).reshape(-1)
    for s in range(0, flat.size, INDEX_STRIP):
        x = flat[s:s + INDEX_STRIP]
        values, lengths = runs(x)
        if len(values) * 4 > len(x):
            out[s:s + len(x)] = indexer.lookup(x)
        else:
            indexer.fill(s, values, lengths)
    return out.reshape(h, w)
