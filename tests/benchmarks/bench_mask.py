"""Benchmark of the mask engine: ``python tests/benchmarks/bench_mask.py [--sizes 1920x1080,...]``.

Not collected by pytest (pyproject ignores tests/benchmarks). For each size it writes a synthetic
blobby 20-class mask once, then measures, each in a fresh subprocess so that peak memory is honest:

- ``decode``: Image.open + load, the floor any check pays;
- ``check``: core.mask.check on the valid mask, and on the same mask with a few stray pixels at the
  bottom (the worst case for locating example pixels);
- ``naive``: decode + np.asarray + np.unique, the obvious way;
- ``png``: PNG encode alone (compress_level=1) of the finished RGBA array;
- ``encode``: core.mask.encode (index array -> RGBA + legend) + save_png.

Peak memory is the peak RSS (VmHWM, reset through /proc/self/clear_refs) above the RSS after imports
and inputs; Pillow allocates its buffers with C malloc, which tracemalloc does not see.
Targets: check <= 1.2x decode and peak <= 1.3x the RGBA buffer at the two larger sizes; encode <=
1.15x PNG encode alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = [(1920, 1080), (4096, 3072), (8192, 6144)]
N_CLASSES = 20
REPEATS = 3


def blobby_index(w: int, h: int, seed: int = 0):
    """A cheap blobby class-index mask: a coarse random grid upscaled with nearest + some circles."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, N_CLASSES + 1, (max(2, h // 64), max(2, w // 64)), dtype=np.uint8)
    img = Image.fromarray(coarse).resize((w, h), Image.NEAREST)
    d = ImageDraw.Draw(img)
    for _ in range(40):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(h // 40, h // 6))
        d.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.integers(0, N_CLASSES + 1)))
    return np.asarray(img).copy()


# --------------------------------------------------------------------------------------------------
# One measurement (runs in its own process)
# --------------------------------------------------------------------------------------------------

def _hwm_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(kind: str, work: Path) -> dict:
    import gc

    import numpy as np
    from PIL import Image

    from playment_submit.core import mask as m

    legend = json.loads((work / "legend.json").read_text())
    if kind in ("encode",):
        data = np.load(work / "idx.npy")
        classes = [f"class {i}" for i in range(1, N_CLASSES + 1)]
    elif kind == "png":
        data = np.load(work / "rgba.npy")

    def op():
        if kind == "decode":
            with Image.open(work / "mask.png") as im:
                im.load()
        elif kind == "check":
            r = m.check(work / "mask.png", legend)
            assert r.ok, [str(p) for p in r.problems]
        elif kind == "check_bad":
            r = m.check(work / "bad.png", legend)
            assert not r.ok
        elif kind == "naive":
            with Image.open(work / "mask.png") as im:
                im.load()
                a = np.asarray(im)
                np.unique(a.reshape(-1, 4).view("<u4")[:, 0], return_counts=True)
                del a
        elif kind == "png":
            Image.fromarray(data).save(work / "out_png.png", compress_level=1)
        elif kind == "encode":
            rgba, _ = m.encode(data, classes)
            m.save_png(rgba, work / "out_enc.png")
            del rgba
        gc.collect()

    gc.collect()
    base = _rss_kib()
    resettable = _reset_peak()
    if not resettable:
        base = _hwm_kib()
    t = time.perf_counter()
    op()
    times = [time.perf_counter() - t]
    peak = _hwm_kib() - base
    for _ in range(REPEATS - 1):
        t = time.perf_counter()
        op()
        times.append(time.perf_counter() - t)
    return {"kind": kind, "time": min(times), "peak_mib": peak / 1024}


def run_one(kind: str, work: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", kind, str(work)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------

def prepare(w: int, h: int, work: Path) -> None:
    import numpy as np

    from playment_submit.core import mask as m

    idx = blobby_index(w, h)
    rgba, legend = m.encode(idx, [f"class {i}" for i in range(1, N_CLASSES + 1)])
    m.save_png(rgba, work / "mask.png")
    (work / "legend.json").write_text(json.dumps(legend))
    np.save(work / "idx.npy", idx)
    np.save(work / "rgba.npy", rgba)
    bad = rgba.copy()
    bad[-1, -10:] = (1, 2, 3, 255)          # stray colours in the last row: a full scan to locate them
    bad[-2, -5:, 3] = 100                   # and soft alpha
    m.save_png(bad, work / "bad.png")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", help="comma-separated WxH list (default: 1920x1080,4096x3072,8192x6144)")
    ap.add_argument("--measure", nargs=2, metavar=("KIND", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return 0
    sizes = SIZES
    if args.sizes:
        sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
    rows = []
    for w, h in sizes:
        with tempfile.TemporaryDirectory(prefix="bench_mask_") as tmp:
            work = Path(tmp)
            prepare(w, h, work)
            res = {k: run_one(k, work) for k in ("decode", "check", "check_bad", "naive", "png", "encode")}
            buf = w * h * 4 / 2**20
            rows.append((w, h, buf, res, (work / "mask.png").stat().st_size / 2**20))
            print(f"measured {w}x{h}", file=sys.stderr)

    hdr = ("size", "RGBA MiB", "PNG MiB", "decode s", "check s", "x dec", "check(bad) s", "x dec", "naive s",
           "x dec", "check peak MiB", "x buf", "naive peak MiB", "x buf", "png enc s", "encode s", "x png")
    table = [hdr]
    for w, h, buf, r, png_mib in rows:
        d = r["decode"]["time"]
        table.append((f"{w}x{h}", f"{buf:.0f}", f"{png_mib:.1f}", f"{d:.3f}",
                      f"{r['check']['time']:.3f}", f"{r['check']['time'] / d:.2f}",
                      f"{r['check_bad']['time']:.3f}", f"{r['check_bad']['time'] / d:.2f}",
                      f"{r['naive']['time']:.3f}", f"{r['naive']['time'] / d:.2f}",
                      f"{r['check']['peak_mib']:.0f}", f"{r['check']['peak_mib'] / buf:.2f}",
                      f"{r['naive']['peak_mib']:.0f}", f"{r['naive']['peak_mib'] / buf:.2f}",
                      f"{r['png']['time']:.3f}", f"{r['encode']['time']:.3f}",
                      f"{r['encode']['time'] / r['png']['time']:.2f}"))
    widths = [max(len(row[i]) for row in table) for i in range(len(hdr))]
    for row in table:
        print("  ".join(c.rjust(widths[i]) for i, c in enumerate(row)))
    print(f"\n{os.cpu_count()} CPUs; times are the best of {REPEATS}; peaks are peak RSS above the "
          f"process's RSS before the operation.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
