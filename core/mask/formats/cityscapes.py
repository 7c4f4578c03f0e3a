"""Cityscapes ground truth (``*_labelIds.png``, ``*_labelTrainIds.png`` / ``*_trainIds.png``,
``*_instanceIds.png``) -> values per pixel, named by the official Cityscapes label table.

- labelIds: the label's ``id``; 0 (unlabeled) is unlabelled.
- trainIds: the label's ``trainId``; 0 is road, 255 is ignore (unlabelled).
- instanceIds: ``id`` for stuff and crowds, ``id x 1000 + k`` for instance k of a class that has
  instances; with ``--instances`` each instance becomes "<class> #<k+1>".

``*_color.png`` is refused: several labels share a colour there (ego vehicle, rectification border,
out of roi and static are all black), so the classes cannot be recovered from it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import Problem, UsageError, ValidationError
from ..encode import value_counts
from ._common import Decoded, ImportOptions
from .index import load_values
from .registry import OPTION_BY_KEY

IDS = tuple(value for value, _label in OPTION_BY_KEY["ids"].choices)  # ("label", "train", "instance")
_SUFFIXES = (("_labelTrainIds", "train"), ("_trainIds", "train"), ("_labelIds", "label"),
             ("_instanceIds", "instance"))


@lru_cache(maxsize=1)
def labels() -> tuple[dict[str, Any], ...]:
    """The official label table shipped in resources/cityscapes_labels.json (see resources/NOTICE.md)."""
    from ....resources import resource_path
    doc = json.loads(Path(resource_path("cityscapes_labels.json")).read_text(encoding="utf-8"))
    return tuple(doc["labels"])


def ids_from_name(path: str | Path) -> str | None:
    stem = Path(path).stem
    for suffix, kind in _SUFFIXES:
        if stem.endswith(suffix):
            return kind
    return None


def decode(path: str | Path, opts: ImportOptions) -> Decoded:
    where = str(path)
    if Path(path).stem.endswith("_color"):
        # A readable file whose content cannot be told apart: a refused input (exit 1), not a usage error.
        raise ValidationError([Problem(where, "a Cityscapes *_color.png cannot be imported: several labels share "
                                              "one colour there (ego vehicle, rectification border, out of roi and "
                                              "static are all black); use the *_labelIds.png or *_labelTrainIds.png "
                                              "next to it.", code="cityscapes_color")])
    kind = opts.ids or ids_from_name(path)
    if kind not in IDS:
        raise UsageError(f"{where}: the file name does not say which Cityscapes ids it holds (it ends neither in "
                         f"_labelIds, _labelTrainIds, _trainIds nor _instanceIds); pass --ids label, train or "
                         f"instance.")
    values = load_values(path, opts)
    table = labels()
    ignore = {int(v) for v in opts.ignore}
    if kind == "train":
        names: dict[int, str] = {}
        for lab in table:
            if 0 <= lab["trainId"] < 255:
                names.setdefault(lab["trainId"], lab["name"])  # the first label of a trainId names it
        return Decoded(where, values, names, {255, *ignore}, value_word="trainId",
                       unnamed_hint="the Cityscapes table has no trainId for it; pass --ids if this is not a "
                                    "trainIds mask, or list the value with --ignore")
    by_id = {lab["id"]: lab for lab in table if lab["id"] >= 0}
    if kind == "label":
        return Decoded(where, values, {i: lab["name"] for i, lab in by_id.items() if i != 0}, {0, *ignore},
                       value_word="labelId",
                       unnamed_hint="the Cityscapes table has no labelId for it; pass --ids if this is not a "
                                    "labelIds mask, or list the value with --ignore")
    # instanceIds: values up to 33,999; counted once here, named per value present
    wide = values
    counts = value_counts(wide)
    names = dict[int, str]()
    for v in np.flatnonzero(counts).tolist():
        cls, k = (v // 1000, v % 1000) if v >= 1000 else (v, None)
        found = by_id.get(cls)
        if found is None or v == 0:
            continue
        lab = found
        names[v] = f"{lab['name']} #{k + 1}" if (k is not None and opts.instances) else lab["name"]
    return Decoded(where, wide, names, {0, *ignore}, counts=counts, value_word="instanceId",
                   unnamed_hint="its class (value // 1000) is not in the Cityscapes table; list it with --ignore")
