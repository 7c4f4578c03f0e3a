"""labelme's SegmentationClassNpy / SegmentationClassPNG with its class_names.txt (files in
tests/data/labelme_rules, written by labelme's rules: see SOURCE.md there), every pixel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from playment_submit.core.mask.formats import import_mask

DATA = Path(__file__).resolve().parents[1] / "data" / "labelme_rules"


def _make():
    spec = importlib.util.spec_from_file_location("labelme_rules_make", DATA / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["2011_000003.npy", "2011_000003.png"])
def test_labelme_masks_read_with_voc_indices_background_and_ignore_unlabelled(name):
    make = _make()
    lbl = make.labels()
    assert (np.load(DATA / "2011_000003.npy") == lbl).all()    # the stored file is what make.py writes
    res = import_mask(DATA / name, "index", classes=str(DATA / "class_names.txt"))
    legend = list(res.legend.values())
    got = np.array([[legend[c - 1] if c else "" for c in row] for row in res.classes])
    names = {k: make.VOC[k - 1] for k in range(1, 21)}
    expected = np.array([[names.get(int(v), "") for v in row] for row in lbl])
    assert (got == expected).all()
    assert res.unlabelled == int((lbl <= 0).sum())
    assert "__ignore__" in res.classes_rule
