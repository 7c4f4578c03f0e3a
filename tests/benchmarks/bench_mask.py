"""Benchmark of the mask engine: ``python tests/benchmarks/bench_mask.py [--sizes 1920x1080,...]``.

Not collected by pytest (pyproject ignores tests/benchmarks). For each size it writes a synthetic
blobby 20-class mask once, then measures, each in a fresh subprocess so that peak memory is honest:

- ``decode``: Pillow's Image.open + load, the baseline every ratio ("x dec") is taken against;
- ``spng``: libspng's decode alone (imagecodecs), the floor of the fast path;
- ``check``: core.mask.check on the valid mask, and on the same mask with a few stray pixels at the
  bottom (the worst case for locating example pixels);
- ``check(pil)``: the same check with the fast decoder switched off (PLAYMENT_PNG_DECODER=pillow);
- ``naive``: decode + np.asarray + np.unique, the obvious way;
- ``png``: PNG encode alone (compress_level=1) of the finished RGBA array;
- ``encode``: core.mask.encode (index array -> RGBA + legend) + save_png.

Whole processes (median of PROC_REPEATS runs each): ``playment-submit mask check`` (the console script)
against ``python -c`` opening and decoding the same file with Pillow, next to the floor of any numpy-based
check (a process that imports numpy and decodes the file with libspng, nothing else); ``playment-submit
--version`` against ``python -c "import argparse"``.

Peak memory is the peak RSS (VmHWM, reset through /proc/self/clear_refs) above the RSS after imports
and inputs; Pillow allocates its buffers with C malloc, which tracemalloc does not see.
Targets (issue 16): check <= 0.6x decode and peak <= 1.2x the RGBA buffer at the two larger sizes; the
mask check process <= 1.0x the Pillow process; --version <= 2x the argparse process; encode <= 1.15x PNG
encode alone.
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
PROC_REPEATS = 7


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
        elif kind == "spng":
            from imagecodecs._spng import spng_decode
            spng_decode((work / "mask.png").read_bytes())
        elif kind in ("check", "check_pil"):
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
    env = dict(os.environ)
    if kind == "check_pil":
        env["PLAYMENT_PNG_DECODER"] = "pillow"
    out = subprocess.run([sys.executable, __file__, "--measure", kind, str(work)], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def process_time(argv: list[str]) -> float:
    """Median wall time of a whole process (start-up, imports, work, exit)."""
    times = []
    for _ in range(PROC_REPEATS):
        t = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False, cwd=ROOT, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def console_script() -> list[str]:
    exe = Path(sys.executable).with_name("playment-submit")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "playment_submit.gui.launch"]


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
            res = {k: run_one(k, work) for k in ("decode", "spng", "check", "check_bad", "check_pil", "naive",
                                                     "png", "encode")}
            mask, legend = str(work / "mask.png"), str(work / "legend.json")
            res["proc_pillow"] = {"time": process_time(
                [sys.executable, "-c", f"from PIL import Image; im = Image.open({mask!r}); im.load()"])}
            res["proc_check"] = {"time": process_time([*console_script(), "mask", "check", mask, "--legend", legend])}
            res["proc_floor"] = {"time": process_time(   # what any numpy-based check must pay: imports + decode
                [sys.executable, "-c", f"import numpy; from imagecodecs._spng import spng_decode; "
                                       f"spng_decode(open({mask!r}, 'rb').read())"])}
            buf = w * h * 4 / 2**20
            rows.append((w, h, buf, res, (work / "mask.png").stat().st_size / 2**20))
            print(f"measured {w}x{h}", file=sys.stderr)

    hdr = ("size", "RGBA MiB", "PNG MiB", "decode s", "spng s", "x dec", "check s", "x dec", "check(bad) s",
           "x dec", "check(pil) s", "x dec", "naive s", "x dec", "check peak MiB", "x buf", "naive peak MiB", "x buf",
           "png enc s", "encode s", "x png")
    table = [hdr]
    for w, h, buf, r, png_mib in rows:
        d = r["decode"]["time"]

        def t(k: str) -> str:
            return f"{r[k]['time']:.3f}"  # noqa: B023

        def x(k: str) -> str:
            return f"{r[k]['time'] / d:.2f}"  # noqa: B023
        table.append((f"{w}x{h}", f"{buf:.0f}", f"{png_mib:.1f}", f"{d:.3f}", t("spng"), x("spng"),
                      t("check"), x("check"), t("check_bad"), x("check_bad"), t("check_pil"), x("check_pil"),
                      t("naive"), x("naive"),
                      f"{r['check']['peak_mib']:.0f}", f"{r['check']['peak_mib'] / buf:.2f}",
                      f"{r['naive']['peak_mib']:.0f}", f"{r['naive']['peak_mib'] / buf:.2f}",
                      t("png"), t("encode"), f"{r['encode']['time'] / r['png']['time']:.2f}"))
    _print_table(table)
    print(f"\n{os.cpu_count()} CPUs; times are the best of {REPEATS}; peaks are peak RSS above the "
          f"process's RSS before the operation.\n")

    table = [("size", "python -c Pillow decode s", "playment-submit mask check s", "x",
              "floor: numpy + libspng decode s", "x")]
    for w, h, _, r, _ in rows:
        table.append((f"{w}x{h}", f"{r['proc_pillow']['time']:.3f}", f"{r['proc_check']['time']:.3f}",
                      f"{r['proc_check']['time'] / r['proc_pillow']['time']:.2f}", f"{r['proc_floor']['time']:.3f}",
                      f"{r['proc_floor']['time'] / r['proc_pillow']['time']:.2f}"))
    base = process_time([sys.executable, "-c", "import argparse"])
    version = process_time([*console_script(), "--version"])
    table.append(("--version", f"{base:.3f} (import argparse)", f"{version:.3f}", f"{version / base:.2f}", "", ""))
    helped = process_time([*console_script(), "--help"])   # builds the whole parser: no target, shown for scale
    table.append(("--help", f"{base:.3f} (import argparse)", f"{helped:.3f}", f"{helped / base:.2f}", "", ""))
    _print_table(table)
    print(f"\nwhole processes: median of {PROC_REPEATS}; the console script is {console_script()[0]}")
    return 0


def _print_table(table: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(c.rjust(widths[i]) for i, c in enumerate(row)))


if __name__ == "__main__":
    sys.exit(main())
