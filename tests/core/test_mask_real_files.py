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


def _coco_expected(path, image_id):
    """Each annotation painted in file order where pycocotools' annToMask is 1, named by its category."""
    from pycocotools.coco import COCO
    coco = COCO(str(path))
    info = coco.loadImgs(image_id)[0]
    expected = np.full((info["height"], info["width"]), "", object)
    cats = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
    for a in anns:
        expected[coco.annToMask(a).astype(bool)] = cats[a["category_id"]]
    return expected.astype(str), anns


def test_real_coco_val2017_polygons_match_ann_to_mask_every_pixel():
    # COCO's own vertices (0.01 px grid, e.g. 428.19) on a 426 x 640 image: the case the box-shifted
    # rasterising got wrong
    path = DATA / "detectron2_coco" / "instances_val2017_excerpt.json"
    expected, anns = _coco_expected(path, 139)
    assert len(anns) == 2 and all(isinstance(a["segmentation"], list) for a in anns)
    res = import_mask(path, "coco", image="000000000139.jpg")
    got = _names(res)
    assert got.shape == (426, 640)
    assert (got == expected).all(), int((got != expected).sum())
    assert res.counts == {"person": int((expected == "person").sum())}


def test_coco_stuff_compressed_rle_matches_decode_every_pixel():
    path = DATA / "detectron2_coco" / "stuff_val2017_139.json"
    expected, anns = _coco_expected(path, 139)
    assert all(isinstance(a["segmentation"]["counts"], str) for a in anns)
    assert (expected != "").all()      # COCO-Stuff labels every pixel ("other" where no stuff class is)
    res = import_mask(path, "coco")
    got = _names(res)
    assert (got == expected).all(), int((got != expected).sum())
    assert set(res.counts) == {"curtain", "wall-other", "pillow", "other"}


def test_cityscapes_label_ids_drawn_from_polygons_read_by_the_label_table_every_pixel():
    import json

    from PIL import Image
    folder = DATA / "cityscapes_rules"
    png = folder / "frankfurt_000000_000294_gtFine_labelIds.png"
    table = json.loads((Path(__file__).resolve().parents[2] / "resources" / "cityscapes_labels.json")
                       .read_text())["labels"]
    name_of = {lab["id"]: lab["name"] for lab in table if lab["id"] > 0}
    ids = np.asarray(Image.open(png))
    expected = np.vectorize(lambda v: name_of.get(int(v), ""))(ids).astype(str)
    assert {"car", "person", "road", "sky"} <= set(np.unique(expected))   # cargroup drawn as car
    res = import_mask(png, "cityscapes")
    got = _names(res)
    assert (got == expected).all(), int((got != expected).sum())
    # the PNG is what json2labelImg's rules draw from the polygons file beside it
    import importlib.util
    spec = importlib.util.spec_from_file_location("cs_make", folder / "make.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    doc = json.loads((folder / "frankfurt_000000_000294_gtFine_polygons.json").read_text())
    assert (np.asarray(make.draw(doc)) == ids).all()
