"""Regenerate the sample job's derived files from ``sample/primary.png`` (coffee.png, see NOTICE.md).

Writes two reference "camera" views (shifted crops at 60 % scale, PNG) and a class-index mask (8-bit PNG, 0 =
unlabelled) whose shapes roughly follow the cup, the coffee, the saucer, the spoon and the table.
Run: ``python resources/make_sample.py``. The outputs are committed; this script documents them.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

HERE = Path(__file__).resolve().parent / "sample"
CLASSES = ["cup", "coffee", "saucer", "spoon", "table"]  # index i + 1


def main() -> None:
    primary = Image.open(HERE / "primary.png").convert("RGB")
    w, h = primary.size
    views = {"camera1.png": primary.crop((40, 10, w - 60, h - 30)),
             "camera2.png": ImageOps.mirror(primary.crop((90, 30, w, h)))}
    for name, view in views.items():  # 60 % scale keeps the shipped resources small
        small = view.resize((round(view.width * 0.6), round(view.height * 0.6)), Image.Resampling.LANCZOS)
        small.save(HERE / name, optimize=True)

    idx = Image.new("L", (w, h), CLASSES.index("table") + 1)
    d = ImageDraw.Draw(idx)
    d.ellipse((78, 72, 480, 392), fill=CLASSES.index("saucer") + 1)
    spoon = CLASSES.index("spoon") + 1
    d.polygon([(398, 66), (422, 70), (392, 245), (372, 240)], fill=spoon)
    d.ellipse((325, 212, 406, 326), fill=spoon)
    cup = CLASSES.index("cup") + 1
    d.ellipse((172, 16, 410, 208), fill=cup)
    d.polygon([(176, 120), (406, 120), (372, 255), (322, 282), (262, 284), (214, 262)], fill=cup)
    d.ellipse((194, 224, 262, 306), fill=cup)
    d.ellipse((205, 94, 372, 194), fill=CLASSES.index("coffee") + 1)
    idx.save(HERE / "index_mask.png", optimize=True)
    (HERE / "classes.json").write_text(json.dumps(CLASSES, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
