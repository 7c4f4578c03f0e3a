"""mask import on files written by other projects (tests/data/*/SOURCE.md says where each comes from and
under which licence), compared pixel by pixel with the format's own reading."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from playment_submit.core.mask.formats import import_mask
from playment_submit.core.mask.formats.voc import voc_colour

DATA = Path(__file__).resolve().parents[1] / "data"


def _names(res):
    legend = list(res.legend.values())
    return np.array([[legend[c - 1] if c else "" for c in row] for row in res.classes])


def test_datumaro_coco_instances_match_ann_to_mask_every_pixel():
    from pycocotools.coco import COCO
    path = DATA / "datumaro" / "instances_val.json"
    coco = COCO(str(path))
    info = coco.loadImgs(40)[0]
    expected = np.full((info["height"], info["width"]), "", object)
    cats = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    for a in coco.loadAnns(coco.getAnnIds(imgIds=40)):   # file order: the later annotation wins
        expected[coco.annToMask(a).astype(bool)] = cats[a["category_id"]]
    res = import_mask(path, "coco")
    got = _names(res)
    assert got.shape == (10, 5) and (got == expected.astype(str)).all()
    assert set(np.unique(got)) == {"b", ""}   # the crowd RLE (later) covers the polygon of "a"


def test_datumaro_voc_rgb_mask_reads_by_the_voc_colour_map_every_pixel():
    from PIL import Image
    path = DATA / "datumaro" / "2007_000001.png"
    rgb = np.asarray(Image.open(path).convert("RGB"))
    assert Image.open(path).mode == "RGB" and tuple(rgb[0, 0]) == voc_colour(2) == (0, 128, 0)
    res = import_mask(path, "voc")
    assert (_names(res) == "bicycle").all() and res.counts == {"bicycle": 200}
