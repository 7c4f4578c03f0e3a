"""Pascal VOC SegmentationClass masks in the forms tools write -> values per pixel.

- A palette PNG (VOC's own files): the palette index is the class.
- An 8-bit grey PNG: the grey value is the index, as in a palette PNG.
- An RGB PNG (Datumaro's VOC writer, CVAT's VOC export): coloured by the ``labelmap.txt`` beside it (or
  ``--labelmap``, read as ``--from cvat`` reads it), otherwise by VOC's 21-class colour map with VOC's
  names; any other colour is refused, naming the pixel and the colour.
- A 16-bit grey PNG is refused (VOC masks are 8-bit; read as indices it gave values like 1750).

Index (or colour) 0 background and 255 void (the outline VOC draws around objects, (224, 224, 192) in the
colour map) are unlabelled; 1..20 are VOC's classes unless ``--classes`` names the indices, by the one
class-list rule (:mod:`core.mask.classlist`)."""

from __future__ import annotations

from pathlib import Path

from ...errors import Problem, ValidationError
from ..io import open_image
from ..shared import mask_problem
from ._common import Decoded, ImportOptions, read_text
from .cvat import decode_colours, find_labelmap, parse_labelmap
from .index import class_names, list_unlabelled, load_values

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")
"""Index 1..20 of a VOC 2012 class mask (index 0 is background)."""


def voc_colour(index: int) -> tuple[int, int, int]:
    """VOC's colour for a palette index (the devkit's ``labelcolormap``: bits of the index spread over the
    high bits of r, g and b): 0 black, 1 (128, 0, 0), ..., 255 (224, 224, 192)."""
    r = g = b = 0
    c = index
    for j in range(8):
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    return r, g, b


VOC_LABELMAP: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("background", voc_colour(0)), *((name, voc_colour(i)) for i, name in enumerate(VOC_CLASSES, 1)),
    ("void", voc_colour(255)))
"""VOC's 21 classes (and void) by colour, as an RGB VOC mask is coloured without a labelmap.txt."""


def _mode(path: str | Path, opts: ImportOptions) -> str:
    problems: list[Problem] = []
    img, _ = open_image(Path(path), str(path), opts.max_pixels, problems)
    if img is None:
        raise ValidationError(problems)
    with img:
        return str(img.mode)


def decode(path: str | Path, opts: ImportOptions) -> Decoded:
    where = str(path)
    mode = _mode(path, opts) if Path(path).is_file() else "P"
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        raise ValidationError([mask_problem("not_index", where, "the file is a 16-bit grey PNG; VOC class masks are "
                                        "8-bit (palette, grey or RGB), so its values are not VOC's indices. Save it "
                                        "as an 8-bit PNG, or read it with --from index --classes FILE.")])
    if mode in ("RGB", "RGBA"):
        lm_path = Path(opts.labelmap) if opts.labelmap else find_labelmap(path)
        if lm_path is not None:
            labelmap = parse_labelmap(read_text(lm_path, "labelmap"), str(lm_path))
            return decode_colours(path, opts, labelmap, str(lm_path), "add the labels to the labelmap")
        void = voc_colour(255)
        return decode_colours(path, opts, list(VOC_LABELMAP), "VOC's colour map (21 classes and void)",
                              "colour the mask with VOC's colour map, or put the labelmap.txt that names its "
                              "colours beside it (or give it with --labelmap)",
                              frozenset({void[0] | (void[1] << 8) | (void[2] << 16)}))
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
