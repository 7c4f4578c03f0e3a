"""Legend edits that change the mask too: recolour a class, merge one class into another, remove a class.

The window's legend editor calls these; they work on an (H, W, 4) uint8 RGBA array and a legend
(``{"#rrggbb": name}``, order kept) and return new ones, never changing their inputs. Only labelled
pixels (alpha 255) of exactly the class's colour are touched, strip by strip so that a 50-megapixel mask
needs no full-size temporaries. Every refusal is a ``ValueError`` whose text is one sentence for the user.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from ..legend import UNLABELLED, hex_to_rgb, key_problem

_STRIP = 512


def recolour(rgba: NDArray[np.uint8], mapping: Mapping[str, str | None]) -> tuple[NDArray[np.uint8], int]:
    """A copy of ``rgba`` whose labelled pixels of each colour in ``mapping`` get the colour it maps to
    (alpha 255), or become unlabelled (0, 0, 0, 0) when it maps to None; returns (array, pixels changed)."""
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError("the mask must be 8-bit RGBA to recolour it.")
    out = rgba.copy()
    pairs = [(hex_to_rgb(old), None if new is None else hex_to_rgb(new)) for old, new in mapping.items()]
    changed = 0
    for y0 in range(0, out.shape[0], _STRIP):
        part = out[y0:y0 + _STRIP]
        src = rgba[y0:y0 + _STRIP]  # match on the original, so a -> b, b -> a swaps instead of chaining
        opaque = src[..., 3] == 255
        for old, new in pairs:
            hit = opaque & (src[..., 0] == old[0]) & (src[..., 1] == old[1]) & (src[..., 2] == old[2])
            n = int(hit.sum())
            if not n:
                continue
            changed += n
            part[hit] = (0, 0, 0, 0) if new is None else (*new, 255)
    return out, changed


def _key(legend: Mapping[str, str], key: str) -> str:
    if key in legend:
        return key
    low = key.lower()
    for k in legend:
        if isinstance(k, str) and k.lower() == low:
            return k
    raise ValueError(f"the legend has no colour {key}.")


def _new_colour(legend: Mapping[str, str], new: str, old: str | None = None) -> str:
    why = key_problem(new)
    if why:
        raise ValueError(why[0].upper() + why[1:])
    new = new.lower()
    for k, name in legend.items():
        if k != old and isinstance(k, str) and k.lower() == new:
            raise ValueError(f"{new} is already the colour of \"{name}\"; merge the classes instead, or choose "
                             f"another colour.")
    return new


def replace_key(legend: Mapping[str, str], old: str, new: str) -> dict[str, str]:
    """The legend with key ``old`` written as ``new`` (same name, same place), mask untouched: the fix for
    a key that does not match the pixels it stands for (``"#fdffd34"`` -> ``"#fdff34"``)."""
    old = _key(legend, old)
    new = _new_colour(legend, new, old)
    return {(new if k == old else k): v for k, v in legend.items()}


def change_colour(rgba: NDArray[np.uint8], legend: Mapping[str, str], old: str,
                  new: str) -> tuple[NDArray[np.uint8], dict[str, str], int]:
    """Give class ``old`` the colour ``new``: its pixels and its legend key; returns (mask, legend, pixels)."""
    old = _key(legend, old)
    new = _new_colour(legend, new, old)
    out, n = recolour(rgba, {old: new}) if key_problem(old) is None else (rgba.copy(), 0)
    return out, {(new if k == old else k): v for k, v in legend.items()}, n


def merge_classes(rgba: NDArray[np.uint8], legend: Mapping[str, str], source: str,
                  target: str) -> tuple[NDArray[np.uint8], dict[str, str], int]:
    """Merge class ``source`` into ``target``: its pixels take the target's colour and its legend entry
    goes; returns (mask, legend, pixels recoloured)."""
    source, target = _key(legend, source), _key(legend, target)
    if source == target:
        raise ValueError("a class cannot be merged into itself; choose another class.")
    if key_problem(target) is not None:
        raise ValueError(f"the class \"{legend[target]}\" has no valid colour ({target}); fix its colour first.")
    out, n = recolour(rgba, {source: target}) if key_problem(source) is None else (rgba.copy(), 0)
    return out, {k: v for k, v in legend.items() if k != source}, n


def remove_class(rgba: NDArray[np.uint8], legend: Mapping[str, str],
                 key: str) -> tuple[NDArray[np.uint8], dict[str, str], int]:
    """Remove class ``key``: its pixels become unlabelled and its legend entry goes."""
    key = _key(legend, key)
    out, n = recolour(rgba, {key: None}) if key_problem(key) is None else (rgba.copy(), 0)
    return out, {k: v for k, v in legend.items() if k != key}, n


def add_class(legend: Mapping[str, str], colour: str, name: str) -> dict[str, str]:
    """The legend with a new class (no pixels yet); refuses a colour in use, #000000 and an empty name."""
    colour = _new_colour(legend, colour)
    if not isinstance(name, str) or not name.strip():
        raise ValueError("give the new class a name.")
    return {**legend, colour: name.strip()}


__all__ = ["recolour", "replace_key", "change_colour", "merge_classes", "remove_class", "add_class", "UNLABELLED"]
