"""A class-index image (8/16-bit PNG or TIFF, or .npy) with a classes file -> values per pixel.

The same reading as ``mask encode`` (:func:`core.mask.load_index_mask`, :func:`core.mask.load_classes`),
plus a choice of the unlabelled value (``--unlabelled 255`` lets 0 name a class, as in trainId masks)
and further values to ignore (``--ignore 254 255``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import UsageError, ValidationError
from ..encode import classes_unusable_is_usage, load_classes, parse_classes
from ..io import load_index_mask
from ._common import Decoded, ImportOptions


def class_names(classes: Any, *, zero: bool, required: bool = True) -> dict[int, str]:
    """``--classes`` (a file, or the names themselves) -> {value: name}; raises with the sentences."""
    if classes is None:
        if required:
            raise UsageError("give the class names with --classes FILE (one name per line, line 1 naming "
                             "value 1, or value 0 when --unlabelled is not 0).")
        return {}
    where = "classes"
    if isinstance(classes, (str, Path)):
        where = str(classes)
        data, problems = load_classes(classes, zero=zero)
        if data is None:
            if classes_unusable_is_usage(classes):
                raise UsageError(" ".join(str(p) for p in problems))
            raise ValidationError(problems, " ".join(str(p) for p in problems))
        if problems:
            raise ValidationError(problems)
        classes = data
    names, _pinned, problems = parse_classes(classes, where, zero=zero)
    if problems:
        raise ValidationError(problems)
    return names


def load_values(path: str | Path, opts: ImportOptions) -> np.ndarray:
    return load_index_mask(path, max_pixels=opts.max_pixels)


def decode(path: str | Path, opts: ImportOptions) -> Decoded:
    values = path if isinstance(path, np.ndarray) else load_values(path, opts)
    names = class_names(opts.classes, zero=opts.unlabelled != 0)
    unlabelled = {int(opts.unlabelled), *(int(v) for v in opts.ignore)}
    named_unlabelled = sorted(v for v in unlabelled if v in names)
    if named_unlabelled:
        v = named_unlabelled[0]
        raise UsageError(f"value {v} is both unlabelled (--unlabelled/--ignore) and the class \"{names[v]}\" in the "
                         f"classes file; choose one.")
    where = "index mask" if isinstance(path, np.ndarray) else str(path)
    return Decoded(where, values, names, unlabelled,
                   unnamed_hint="name them in the classes file (--classes) or pass them to --ignore")
