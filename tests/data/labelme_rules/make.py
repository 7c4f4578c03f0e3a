"""Writes the files in this folder by labelme's rules, without labelme's code (labelme is GPL-3.0, so its
example files are not copied here): ``class_names.txt`` as labelme's labelme2voc.py writes it for VOC's
labels (``__ignore__`` first, then ``_background_``, then VOC's 20 classes), ``SegmentationClassNpy`` as an
int32 array with -1 for ignored pixels (labelme saves ``np.save(path, lbl)`` with int32 labels), and
``SegmentationClassPNG`` as labelme's ``lblsave`` writes it: the same labels as a palette PNG (uint8, so -1
becomes 255) with VOC's colour map. Run: python tests/data/labelme_rules/make.py"""

from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
VOC = ["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
       "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"]


def labels() -> np.ndarray:
    lbl = np.zeros((24, 32), np.int32)          # 0 = _background_
    lbl[3:12, 4:14] = 5                         # bottle
    lbl[2:13, 3] = -1                           # an ignored outline, as labelme draws __ignore__ shapes
    lbl[14:22, 10:30] = 15                      # person
    lbl[16:20, 20:26] = 7                       # car, drawn after person
    return lbl


def colour_map() -> list[int]:
    out = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out += [r, g, b]
    return out


def main() -> None:
    (HERE / "class_names.txt").write_text("\n".join(["__ignore__", "_background_", *VOC]) + "\n")
    lbl = labels()
    np.save(HERE / "2011_000003.npy", lbl)
    img = Image.fromarray(lbl.astype(np.uint8), "P")
    img.putpalette(colour_map())
    img.save(HERE / "2011_000003.png")


if __name__ == "__main__":
    main()
