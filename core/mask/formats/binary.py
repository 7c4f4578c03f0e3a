"""A folder of per-class binary masks (``car.png``, ``road.png``: 0 outside, 255 or 1 inside) -> values
per pixel. The file's stem is the class name. Where masks overlap the later file wins: later in sorted
name order, or later in ``--order FILE`` (one class name per line)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import Problem, UsageError, ValidationError
from ..shared import mask_problem
from ._common import Decoded, ImportOptions, read_text
from .index import load_values

SUFFIXES = {".png", ".tif", ".tiff", ".bmp", ".npy"}


def mask_files(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
                   and not p.name.startswith(".")), key=lambda p: p.name)


def _ordered(files: list[Path], order: str | Path | None) -> list[Path]:
    if order is None:
        return files
    wanted = [line.strip() for line in read_text(order, "order file").splitlines() if line.strip()]
    by_name = {p.stem: p for p in files}
    missing = [n for n in wanted if n not in by_name]
    if missing:
        # the order file reads but does not match the folder: a refused input (exit 1)
        raise ValidationError([Problem(str(order), f"{', '.join(repr(n) for n in missing[:5])} "
                                                   f"{'have' if len(missing) > 1 else 'has'} no mask file in the "
                                                   f"folder (files: {', '.join(p.name for p in files[:8])}).")])
    left = [p.stem for p in files if p.stem not in wanted]
    if left:
        raise ValidationError([Problem(str(order), f"the order file does not list "
                                                   f"{', '.join(repr(n) for n in left[:5])}; list every class of "
                                                   f"the folder, the one that wins overlaps last.")])
    return [by_name[n] for n in wanted]


def decode(path: str | Path, opts: ImportOptions) -> Decoded:
    folder = Path(path)
    if not folder.is_dir():
        raise UsageError(f"{folder}: binary masks are read from a folder of per-class files (car.png, road.png); "
                         f"this is not a folder.")
    files = _ordered(mask_files(folder), opts.order)
    if not files:
        raise UsageError(f"{folder}: the folder holds no masks (.png, .tif, .bmp or .npy named after their class).")
    stems = [p.stem for p in files]
    dup = next((s for s in stems if stems.count(s) > 1), None)
    if dup is not None:
        raise UsageError(f"{folder}: two files are named after the class \"{dup}\"; keep one.")
    values: np.ndarray | None = None
    size = files[0]
    dtype = np.uint8 if len(files) < 256 else np.uint16
    for value, f in enumerate(files, 1):
        m = load_values(f, opts)
        if values is None:
            values = np.zeros(m.shape, dtype)
            size = f
        elif m.shape != values.shape:
            raise ValidationError([Problem(str(f), f"the mask is {m.shape[1]} x {m.shape[0]} pixels but {size.name} "
                                                   f"is {values.shape[1]} x {values.shape[0]}; every class mask "
                                                   f"must have the same size.")])
        odd = (m != 0) & (m != 1) & (m != 255)
        if odd.any():
            y, x = np.argwhere(odd)[0]
            raise ValidationError([mask_problem("not_binary", str(f),
                                            f"the mask holds the value {int(m[y, x])} at x={x}, y={y} "
                                            f"({int(odd.sum()):,} pixels are neither 0 nor 255); a class mask "
                                            f"is 0 outside the class and 255 (or 1) inside. Export it again "
                                            f"without smoothing.", count=int(odd.sum()), examples=[(x, y)])])
        values[m != 0] = value
    assert values is not None
    return Decoded(str(folder), values, dict(enumerate(stems, 1)), {0}, value_word="value")
