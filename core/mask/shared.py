"""Shared pieces of the mask engine: the problem type every verb reports, sentence helpers, and the
packing of RGBA pixels into one uint32 each. Used by the engine's modules (check, encode, repair, io,
classmap, formats); other code imports the engine's API from :mod:`core.mask`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..defaults import DEFAULT_ALPHA_THRESHOLD as DEFAULT_ALPHA_THRESHOLD
from ..defaults import DEFAULT_TOLERANCE as DEFAULT_TOLERANCE
from ..errors import Problem
from ..legend import rgb_to_hex

MAX_LISTED = 8                    # colours named in one sentence before "and N more"
STRIP_PIXELS = 1 << 21            # pixels per strip when numpy has to look at pixels (8 MiB RGBA)

# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


class MaskProblem(Problem):
    """A :class:`Problem` about a mask, with how many pixels it affects and where some of them are.

    ``code`` holds a stable rule name ("unknown_colour", "soft_alpha", ...) rather than a Playment
    server code, so that the GUI and scripts reading ``--json`` can react to a rule without parsing
    sentences. ``examples`` are (x, y) pixel coordinates, x to the right and y down from the top left.
    ``details`` carries per-colour rows (hex, pixels, first position) for the colours a sentence lists
    (compared, not hashed: rows are dicts). Immutable like :class:`Problem`.
    """

    count: int
    examples: tuple[tuple[int, int], ...]
    details: tuple[dict[str, Any], ...]
    _fields = ("path", "message", "severity", "code", "count", "examples", "details", "fix")
    _compared = ("path", "message", "severity", "code", "count", "examples", "details")
    _hashed = ("path", "message", "severity", "code", "count", "examples")

    def __init__(self, path: str, message: str, severity: str = "error", code: str = "FS_0003", count: int = 0,
                 examples: tuple[tuple[int, int], ...] = (), details: tuple[dict[str, Any], ...] = (), *,
                 fix: str | None = None) -> None:
        super().__init__(path, message, severity, code, fix=fix)
        self._set(count=count, examples=examples, details=details)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(count=self.count, examples=[list(e) for e in self.examples],
                 details=[dict(x) for x in self.details])
        return d


def mask_problem(code: str, path: str, message: str, severity: str = "error", count: int = 0,
             examples: Iterable[tuple[int, int]] = (), details: Iterable[dict[str, Any]] = (),
             fix: str | None = None) -> MaskProblem:
    """A :class:`MaskProblem` named by its rule first (``mask_problem("too_large", path, sentence)``), with
    ``examples`` and ``details`` made immutable."""
    return MaskProblem(path, message, severity, code, count,
                       tuple((int(x), int(y)) for x, y in examples), tuple(details), fix=fix)


def count_text(k: int) -> str:
    """A count for a sentence, with thousands separators: ``12,345``."""
    return f"{k:,}"


def pixels_text(k: int) -> str:
    """A pixel count for a sentence: ``1 pixel``, ``12,345 pixels``."""
    return f"{k:,} pixel{'s' if k != 1 else ''}"


def position_text(xy: tuple[int, int] | None) -> str:
    """Where a pixel is, for a sentence: ``x=3, y=7`` (x to the right, y down), or that it was not located."""
    return f"x={xy[0]}, y={xy[1]}" if xy else "position not located"


# --------------------------------------------------------------------------------------------------
# Packing: one uint32 per RGBA pixel, as the bytes lie in memory (little-endian view)
# --------------------------------------------------------------------------------------------------

def pack_rgba(r: ArrayLike, g: ArrayLike, b: ArrayLike, a: ArrayLike = 255) -> NDArray[np.integer[Any]]:
    """RGBA -> the uint32 that a little-endian ``view('<u4')`` of the pixel bytes gives."""
    return (np.asarray(r, np.uint32) | (np.asarray(g, np.uint32) << 8) | (np.asarray(b, np.uint32) << 16)
            | (np.asarray(a, np.uint32) << 24))


def unpack_rgba(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Packed uint32 keys (:func:`pack_rgba`) -> their R, G, B and A channels."""
    k = np.asarray(keys, np.uint32)
    return k & 0xFF, (k >> 8) & 0xFF, (k >> 16) & 0xFF, k >> 24


def key_hex(key: int) -> str:
    """A packed pixel's colour as ``"#rrggbb"`` (alpha dropped)."""
    key = int(key)
    return rgb_to_hex(key & 0xFF, (key >> 8) & 0xFF, (key >> 16) & 0xFF)


def hex_key(hexkey: str, a: int = 255) -> int:
    """``"#rrggbb"`` (with alpha ``a``) as the packed uint32 :func:`pixels_as_u32` gives for that pixel."""
    return int(pack_rgba(int(hexkey[1:3], 16), int(hexkey[3:5], 16), int(hexkey[5:7], 16), a))


def pixels_as_u32(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 -> (H, W) uint32 view, no copy."""
    return np.ascontiguousarray(rgba).view("<u4")[..., 0]
