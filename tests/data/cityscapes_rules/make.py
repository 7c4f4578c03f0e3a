"""Writes a Cityscapes frame the way cityscapesScripts' preparation/json2labelImg.py makes one, without
Cityscapes' images (their licence forbids redistribution) and without copying cityscapesScripts' code:

- ``frankfurt_000000_000294_gtFine_polygons.json``: a gtFine polygons file (imgHeight, imgWidth, objects
  of {label, polygon}) written here from the Cityscapes label table (resources/cityscapes_labels.json),
  including the two rules json2labelImg applies: a "...group" label not in the table is drawn as its class
  ("cargroup" -> car), and a label whose id is negative (license plate, -1) is not drawn.
- ``frankfurt_000000_000294_gtFine_labelIds.png``: that file drawn as json2labelImg draws it: an 8-bit
  grey image filled with unlabeled's id (0), then each object in file order painted with its label's id
  by PIL's ImageDraw.polygon (later objects over earlier ones).

Run: python tests/data/cityscapes_rules/make.py"""

import json
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
STEM = "frankfurt_000000_000294_gtFine"
OBJECTS = [
    ("sky", [[0, 0], [63, 0], [63, 9], [0, 12]]),
    ("building", [[0, 8], [30, 5], [30, 20], [0, 20]]),
    ("road", [[0, 20], [63, 18], [63, 39], [0, 39]]),
    ("sidewalk", [[40, 18], [63, 18], [63, 24], [44, 24]]),
    ("cargroup", [[5, 22.5], [21.4, 22.5], [21.4, 31.7], [5, 31.7]]),
    ("person", [[48.2, 14.1], [52.9, 14.1], [53.6, 29.3], [47.5, 29.3]]),
    ("license plate", [[10, 28], [15, 28], [15, 30], [10, 30]]),
]


def table() -> dict[str, int]:
    path = HERE.parents[2] / "resources" / "cityscapes_labels.json"
    return {lab["name"]: lab["id"] for lab in json.loads(path.read_text())["labels"]}


def draw(doc: dict) -> Image.Image:
    ids = table()
    img = Image.new("L", (doc["imgWidth"], doc["imgHeight"]), ids["unlabeled"])
    pen = ImageDraw.Draw(img)
    for obj in doc["objects"]:
        label = obj["label"]
        if label not in ids and label.endswith("group"):
            label = label[:-len("group")]
        if ids[label] < 0:
            continue
        pen.polygon([tuple(p) for p in obj["polygon"]], fill=ids[label])
    return img


def main() -> None:
    doc = {"imgHeight": 40, "imgWidth": 64, "objects": [{"label": n, "polygon": p} for n, p in OBJECTS]}
    (HERE / f"{STEM}_polygons.json").write_text(json.dumps(doc, indent=1))
    draw(doc).save(HERE / f"{STEM}_labelIds.png")


if __name__ == "__main__":
    main()
