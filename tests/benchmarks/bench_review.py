"""Benchmark: the pre-label review of 200 jobs at 1920x1080 against decoding their masks (target: within 2x).

Run: ``python tests/benchmarks/bench_review.py [JOBS]``. 20 distinct pre-label / delivered pairs (the sandbox's
deterministic edits of random rectangles) are written once and reviewed in turn, so 200 jobs means 400 PNG decodes.
Baseline, measured in the same run: decoding the same 400 masks and nothing else.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from playment_submit.core.review import decode_rgba, review_job
from playment_submit.core.sandbox import derive_result

W, H = 1920, 1080
LEGEND = {"#ff0000": "car", "#00ff00": "road", "#0000ff": "sky", "#ffff00": "person", "#ff00ff": "sign"}


def make_pairs(folder: Path, n: int) -> list[tuple[Path, Path, dict[str, str]]]:
    rng = np.random.default_rng(14)
    keys = list(LEGEND)
    out = []
    for i in range(n):
        m = np.zeros((H, W, 4), np.uint8)
        for _ in range(30):
            k = keys[rng.integers(len(keys))]
            y, x = int(rng.integers(0, H - 50)), int(rng.integers(0, W - 50))
            m[y:y + int(rng.integers(40, 400)), x:x + int(rng.integers(40, 600))] = \
                [*(int(k[j:j + 2], 16) for j in (1, 3, 5)), 255]
        legend, d = derive_result(m, LEGEND)
        p, q = folder / f"p{i}.png", folder / f"d{i}.png"
        Image.fromarray(m, "RGBA").save(p, compress_level=1)
        Image.fromarray(d, "RGBA").save(q, compress_level=1)
        out.append((p, q, legend))
    return out


def main(jobs: int = 200) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        pairs = make_pairs(Path(tmp), 20)
        order = [pairs[i % len(pairs)] for i in range(jobs)]
        decode_rgba(order[0][0])  # warm up
        t0 = time.perf_counter()
        for p, q, _ in order:
            decode_rgba(p)
            decode_rgba(q)
        decode = time.perf_counter() - t0
        t0 = time.perf_counter()
        changed = 0.0
        for p, q, legend in order:
            changed += review_job(p, LEGEND, q, legend, keep_arrays=False).changed_share
        review = time.perf_counter() - t0
    ratio = review / decode
    print(f"{'step':<34}{'seconds':>10}{'per job ms':>12}{'ratio':>8}")
    print(f"{'decode 2 masks/job (baseline)':<34}{decode:>10.2f}{decode / jobs * 1000:>12.1f}{1.0:>8.2f}")
    print(f"{'review (decode + compare)':<34}{review:>10.2f}{review / jobs * 1000:>12.1f}{ratio:>8.2f}")
    print(f"{jobs} jobs at {W}x{H}; mean share changed {changed / jobs:.2%}; target: ratio <= 2.00 "
          f"({'met' if ratio <= 2 else 'NOT met'})")
    return ratio


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
