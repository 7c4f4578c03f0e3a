"""mask import speed: a 4096 x 3072 COCO file with 300 polygon instances against Pillow encoding the
output PNG alone (target <= 1.5x), and an 8K (7680 x 4320) index PNG against its decode plus that encode
(target <= 1.3x). Baselines are measured in the same run. Run: python tests/benchmarks/bench_import.py

Issue 22: COCO polygons are now rasterised in image coordinates (bit for bit as annToMask) and painted from
the RLE's runs within their box. Measured on the shared 2-CPU box, same run conditions: 0.394 s (1.61x)
before, 0.463 s (1.90x) after, so exactness costs about 0.07 s (+18 %) on this file; the 1.5x target is
missed and kept as the goal.

Re-measured after issue 22's class-list rule and issue 23's colours by name (legend.name_colours), best of 7,
two runs on the shared 2-CPU box (load ~0.1): COCO 0.455 / 0.459 s against Pillow's encode 0.238 / 0.243 s
(1.91x / 1.88x); 8K index PNG 0.553 / 0.550 s against 0.382 / 0.388 s (1.45x / 1.42x). Neither target is
met. The palette a process first needs costs once: 0.06 s for up to 16-96 classes, 0.24 s for 300, 0.64 s
for 1,000 (cached after), which best-of-7 does not show and a one-shot `mask import` pays."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from playment_submit.core.mask.formats import import_mask
from playment_submit.core.mask.io import save_png


def best(fn, n=7):  # the best of 7: a shared 2-CPU machine moves single runs by +-30 %
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    tmp = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    h, w = 3072, 4096
    anns = []
    for i in range(300):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(20, 300)
        t = np.sort(rng.uniform(0, 2 * np.pi, 24))
        poly = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1).ravel().round(2).tolist()
        anns.append({"id": i + 1, "image_id": 1, "category_id": int(rng.integers(1, 11)), "segmentation": [poly],
                     "iscrowd": 0, "area": 1.0, "bbox": [0, 0, 1, 1]})
    coco = tmp / "coco.json"
    coco.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": w, "height": h}],
                                "annotations": anns,
                                "categories": [{"id": k, "name": f"class {k}"} for k in range(1, 11)]}))
    res = import_mask(coco, "coco")
    rgba = res.rgba()
    out = tmp / "out.png"
    t_encode = best(lambda: save_png(rgba, out))
    t_coco = best(lambda: import_mask(coco, "coco").write(out, tmp / "l.json"))

    big = np.zeros((4320, 7680), np.uint8)
    for k in range(1, 20):
        y, x = rng.integers(0, 4000), rng.integers(0, 7400)
        big[y:y + 600, x:x + 900] = k
    idx = tmp / "idx.png"
    Image.fromarray(big, "L").save(idx, compress_level=1)
    classes = [f"c{k}" for k in range(1, 20)]
    res8 = import_mask(idx, "index", classes=classes)
    rgba8 = res8.rgba()
    out8 = tmp / "out8.png"
    t_base8 = best(lambda: (np.asarray(Image.open(idx)), save_png(rgba8, out8)))
    t_idx = best(lambda: import_mask(idx, "index", classes=classes).write(out8, tmp / "l8.json"))

    rows = [("case", "baseline s", "import s", "ratio", "target"),
            ("COCO 4096x3072, 300 polygons", f"{t_encode:.3f}", f"{t_coco:.3f}", f"{t_coco / t_encode:.2f}", "1.5"),
            ("index PNG 7680x4320", f"{t_base8:.3f}", f"{t_idx:.3f}", f"{t_idx / t_base8:.2f}", "1.3")]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)))
    return 0 if t_coco / t_encode <= 1.5 and t_idx / t_base8 <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
