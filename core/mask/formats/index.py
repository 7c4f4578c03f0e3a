"""A class-index image (8/16-bit PNG or TIFF, or .npy) with a classes file -> values per pixel.

The same reading as ``mask encode`` (:func:`core.mask.load_index_mask`, :func:`core.mask.load_classes`),
plus a choice of the unlabelled value (``--unlabelled 255`` lets 0 name a class, as in trainId masks)
and further values to ignore (``--ignore 254 255``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import UsageError, ValidationError
from ..classlist import ClassList, read_class_list
from ..encode import classes_unusable_is_usage, load_classes, parse_classes
from ..io import load_index_mask
from ._common import Decoded, ImportOptions


def class_names(classes: Any, *, zero: bool, required: bool = True,
                start: int | None = None) -> tuple[dict[int, str], ClassList | None]:
    """``--classes`` (a file, or the names themselves) -> ({value: name}, how a plain list was read by the
    one class-list rule, or None for classes that give their indices); raises with the sentences."""
    if classes is None:
        if required:
            raise UsageError("give the class names with --classes FILE (one name per line, line 1 naming "
                             "value 1, or value 0 when --unlabelled is not 0).")
        return {}, None
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
    names, _pinned, problems = parse_classes(classes, where, zero=zero, start=start)
    if problems:
        raise ValidationError(problems)
    read = read_class_list(classes, start, zero) if isinstance(classes, (list, tuple)) else None
    return names, read


def list_unlabelled(read: ClassList | None, dtype: np.dtype[Any]) -> set[int]:
    """Values a class list makes unlabelled: 0 when it names background there, and labelme's ignore value
    (-1 in a signed array, else the type's largest value: 255 in an 8-bit mask) when it starts with
    __ignore__."""
    out: set[int] = set()
    if read is None:
        return out
    if read.background is not None:
        out.add(0)
    if read.ignore:
        out.add(-1 if np.issubdtype(dtype, np.signedinteger) else int(np.iinfo(dtype).max))
    return out


def load_values(path: str | Path, opts: ImportOptions, extra_ignore: tuple[int, ...] = ()) -> np.ndarray:
    """The mask's values; negative ignore values (``--ignore -1``, labelme's __ignore__) become the
    unlabelled value."""
    return load_index_mask(path, max_pixels=opts.max_pixels, unlabelled=int(opts.unlabelled),
                           negative_ignore=tuple(int(v) for v in (*opts.ignore, *extra_ignore) if int(v) < 0))


def decode(path: str | Path, opts: ImportOptions) -> Decoded:
    names, read = class_names(opts.classes, zero=opts.unlabelled != 0, start=opts.classes_start)
    values = path if isinstance(path, np.ndarray) else load_values(path, opts, (-1,) if read and read.ignore else ())
    unlabelled = {int(opts.unlabelled), *(int(v) for v in opts.ignore), *list_unlabelled(read, values.dtype)}
    named_unlabelled = sorted(v for v in unlabelled if v in names)
    if named_unlabelled:
        v = named_unlabelled[0]
        raise UsageError(f"value {v} is both unlabelled (--unlabelled/--ignore) and the class \"{names[v]}\" in the "
                         f"classes file; choose one.")
    where = "index mask" if isinstance(path, np.ndarray) else str(path)
    return Decoded(where, values, names, unlabelled,
                   unnamed_hint="name them in the classes file (--classes) or pass them to --ignore",
                   classes_rule=read.rule if read else None)
