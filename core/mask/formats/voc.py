"""Pascal VOC SegmentationClass PNG (palette mode) -> values per pixel.

The palette index is the class: 0 background and 255 void (the outline VOC draws around objects) are
unlabelled; 1..20 are VOC's classes unless ``--classes`` names the indices (line n names index n)."""

from __future__ import annotations

from pathlib import Path

from ._common import Decoded, ImportOptions
from .index import class_names, list_unlabelled, load_values

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")
"""Index 1..20 of a VOC 2012 class mask (index 0 is background)."""


def decode(path: str | Path, opts: ImportOptions) -> Decoded:
    values = load_values(path, opts)
    read = None
    if opts.classes is None:
        names = {i: n for i, n in enumerate(VOC_CLASSES, 1)}
        hint = "VOC names indices 1..20 only; give your own names with --classes FILE or pass them to --ignore"
    else:
        names, read = class_names(opts.classes, zero=False, start=opts.classes_start)
        hint = "name them in the classes file (--classes) or pass them to --ignore"
    unlabelled = {0, 255, *(int(v) for v in opts.ignore), *list_unlabelled(read, values.dtype)}
    return Decoded(str(path), values, {k: v for k, v in names.items() if k not in unlabelled}, unlabelled,
                   unnamed_hint=hint, value_word="palette index", classes_rule=read.rule if read else None)
