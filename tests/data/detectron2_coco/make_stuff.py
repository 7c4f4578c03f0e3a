"""Writes stuff_val2017_139.json, a COCO-Stuff style file (stuff categories 92-182 and 183 "other", every
annotation a compressed RLE written by pycocotools, "iscrowd": 0, covering the image without overlap) for
COCO val2017 image 139 (426 x 640). The region shapes are the three compressed RLE masks detectron2 keeps
in segm_results_val2017_139.json (written by pycocotools' encode; see SOURCE.md), given COCO-Stuff stuff
categories; whatever they leave is "other" (183), as COCO-Stuff labels every pixel no stuff class covers.
Run: python tests/data/detectron2_coco/make_stuff.py"""

import json
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_api

HERE = Path(__file__).resolve().parent
STUFF = {109: "curtain", 173: "wall-other", 141: "pillow", 183: "other"}   # COCO-Stuff 2017 label ids


def main() -> None:
    gt = json.loads((HERE / "instances_val2017_excerpt.json").read_text())
    image = next(im for im in gt["images"] if im["id"] == 139)
    dets = json.loads((HERE / "segm_results_val2017_139.json").read_text())
    taken = np.zeros((image["height"], image["width"]), bool)
    anns = []
    for det, cat in zip(dets, (109, 173, 141), strict=True):
        m = mask_api.decode(det["segmentation"]).astype(bool) & ~taken    # COCO-Stuff regions never overlap
        taken |= m
        anns.append((cat, m))
    anns.append((183, ~taken))
    out = {"images": [image], "categories": [{"id": c, "name": n, "supercategory": "stuff"} for c, n in STUFF.items()],
           "annotations": []}
    for k, (cat, m) in enumerate(anns, 1):
        rle = mask_api.encode(np.asfortranarray(m.astype(np.uint8)))
        out["annotations"].append({"id": k, "image_id": 139, "category_id": cat, "iscrowd": 0,
                                   "area": int(mask_api.area(rle)), "bbox": mask_api.toBbox(rle).tolist(),
                                   "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")}})
    (HERE / "stuff_val2017_139.json").write_text(json.dumps(out))


if __name__ == "__main__":
    main()
