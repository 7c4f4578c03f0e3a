"""Does the window stay responsive? The longest gap of a 10 ms QTimer heartbeat on the GUI thread while:

  (a) loading and checking an 8192x6144 mask (20 classes) and building its overlay,
  (b) dragging the opacity slider across its range (one step per 16 ms frame) over that mask,
  (c) submitting 200 jobs, one after another, to a sandbox with 20 ms added latency,

against the same heartbeat when the window is idle (the baseline, measured in the same run).
Target: under 50 ms each. For (a), the time from choosing the mask to the overlay drawn (the view's viewport
repainted with it) is also put against Pillow's decode of the same file alone (target <= 0.8x, issue 16):
for the window as it is, for the window with its mask load switched to ``gui.overlay.load_overlay`` (one
libspng decode; the class index filled from the runs the check's colour count finds, in the same pass), and
for that core path alone in a plain worker thread.
Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_gui.py``
(``--only submit`` runs scenario (c) alone, ``--jobs N`` changes its count; ``--help`` lists the options).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


class Heartbeat:
    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._beat)
        self.gaps: list[float] = []
        self._last = None

    def _beat(self):
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now

    def start(self):
        self.gaps, self._last = [], None
        self.timer.start()

    def stop(self):
        self.timer.stop()
        return max(self.gaps) * 1000, float(np.percentile(self.gaps, 99)) * 1000


def run_until(app, done, timeout=300.0):
    t0 = time.perf_counter()
    while not done():
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError
    return time.perf_counter() - t0


def make_mask(path: Path, w=8192, h=6144, classes=20):
    rng = np.random.default_rng(0)
    low = rng.integers(0, classes + 1, (h // 64, w // 64), dtype=np.uint8)
    idx = np.repeat(np.repeat(low, 64, 0), 64, 1)
    from playment_submit.core.legend import distinct_colours
    colours = distinct_colours(classes)
    pal = np.zeros((classes + 1, 4), np.uint8)
    for i, hexkey in enumerate(colours, 1):
        pal[i] = (int(hexkey[1:3], 16), int(hexkey[3:5], 16), int(hexkey[5:7], 16), 255)
    Image.fromarray(pal[idx], "RGBA").save(path, compress_level=1)
    legend = {hexkey: f"class {i}" for i, hexkey in enumerate(colours, 1)}
    path.with_suffix(".json").write_text(json.dumps(legend))
    return path, path.with_suffix(".json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("mask", "opacity", "submit"),
                        help="run one scenario (plus the idle baseline); 'opacity' needs the mask, so it loads it too")
    parser.add_argument("--jobs", type=int, default=200, help="jobs submitted in the submit scenario (default 200)")
    return parser.parse_args(argv)


def main() -> int:
    args = parse_args()
    run_mask = args.only in (None, "mask", "opacity")
    run_opacity = args.only in (None, "opacity")
    run_submit = args.only in (None, "submit")
    tmp = tempfile.TemporaryDirectory()
    os.environ["PLAYMENT_CONFIG_DIR"] = f"{tmp.name}/c"
    os.environ["PLAYMENT_DATA_DIR"] = f"{tmp.name}/d"
    app = QApplication.instance() or QApplication([])
    from playment_submit.core.journal import Journal
    from playment_submit.core.sandbox import SandboxServer
    from playment_submit.core.session import Session
    from playment_submit.gui.main_window import MainWindow

    mask, legend = make_mask(Path(tmp.name) / "big.png") if run_mask else (None, None)
    sandbox = SandboxServer(latency_ms=20).start()
    backend = Session.for_sandbox(sandbox, journal=Journal(Path(tmp.name) / "j.sqlite"))
    win = MainWindow(backend)
    win.resize(1280, 780)
    win.show()
    hb = Heartbeat()
    rows = []

    hb.start()
    run_until(app, lambda: len(hb.gaps) >= 200)
    rows.append(("idle (baseline)", 2.0, *hb.stop()))

    pillow = float("nan")
    if run_mask:
        pillow = scenario_mask(app, win, hb, rows, mask, legend)
    if run_opacity:
        scenario_opacity(app, win, hb, rows)
    if run_submit:
        scenario_submit(app, win, hb, rows, sandbox, args.jobs)
    report(rows, pillow)
    from PySide6.QtCore import QThreadPool
    win.ask_unsaved = lambda doing: "discard"  # no one to answer "save the job in the form?" (it would wait forever)
    win.close()
    QThreadPool.globalInstance().waitForDone()
    backend.journal.close()
    sandbox.stop()
    tmp.cleanup()
    sys.stdout.flush()
    os._exit(0)  # skip interpreter finalization: PySide6 6.12 can crash tearing down Qt objects at exit


def scenario_mask(app, win, hb, rows, mask, legend) -> float:
    decode = []
    for _ in range(3):
        t0 = time.perf_counter()
        with Image.open(mask) as im:
            im.load()
        decode.append(time.perf_counter() - t0)
    pillow = min(decode)

    import importlib
    import threading

    from playment_submit.gui.overlay import load_overlay
    panel_module = importlib.import_module("playment_submit.gui.widgets.mask_panel")
    check_module = importlib.import_module("playment_submit.core.mask.check")
    legend_map = json.loads(Path(legend).read_text())

    def load_mask_before(path, legend, primary_size):  # the window before issue 16: check, then decode again
        from playment_submit.core.legend import check_legend
        from playment_submit.core.mask import check
        from playment_submit.gui.overlay import build_overlay
        report = check(path, legend, primary_size, interactive=True)
        overlay = None
        if report.usable:
            with Image.open(path) as img:
                overlay = build_overlay(np.asarray(img.convert("RGBA")), check_legend(legend)[0])
        return panel_module.MaskState(Path(path), dict(legend), report, overlay)

    def window_load(label, loader, repeats):
        best = None
        for _ in range(repeats):
            panel_module.load_mask = loader
            check_module._reports.clear()
            win.mask_panel.clear()
            app.processEvents()
            win.mask_state = None
            hb.start()
            t0 = time.perf_counter()
            win.mask_panel.load_files(str(mask), str(legend))
            run_until(app, lambda: win.mask_state is not None and not win._busy)
            win.view.viewport().repaint()      # the overlay drawn, not only handed over
            took = time.perf_counter() - t0
            got = (took, *hb.stop())
            best = got if best is None or got[0] < best[0] else best
        rows.append((label, *best))

    original = panel_module.load_mask
    window_load("window: choose 8K mask -> overlay drawn", original, 3)
    window_load("same, the path before issue 16", load_mask_before, 1)
    panel_module.load_mask = original

    core_times = []
    for _ in range(3):
        check_module._reports.clear()
        hb.start()
        done = threading.Event()

        def work(done=done):
            load_overlay(mask, legend_map, None)
            done.set()
        threading.Thread(target=work).start()
        core_times.append((run_until(app, done.is_set), *hb.stop()))
    rows.append(("core path: load_overlay in a thread", *min(core_times)))
    for name, secs, worst, _ in rows[1:]:  # now, in case a later scenario brings the process down
        print(f"# {name}: {secs:.2f} s = {secs / pillow:.2f}x Pillow's decode ({pillow:.3f} s); max gap {worst:.1f} ms",
              flush=True)
    return pillow


def scenario_opacity(app, win, hb, rows) -> None:
    hb.start()
    steps = iter(list(range(0, 101)) + list(range(100, -1, -1)))
    t0 = time.perf_counter()
    state = {"done": False}

    def step():
        try:
            win.mask_panel.opacity.setValue(next(steps))
        except StopIteration:
            state["done"] = True
            return
        QTimer.singleShot(16, step)

    step()
    run_until(app, lambda: state["done"])
    rows.append(("drag opacity 0-100-0 (202 frames)", time.perf_counter() - t0, *hb.stop()))


def scenario_submit(app, win, hb, rows, sandbox, jobs: int) -> None:
    win.mask_panel.clear()
    sample = Path(__file__).resolve().parents[2] / "resources" / "sample"
    win.primary.set_value(sandbox.add_file(sample / "primary.png"))
    run_until(app, lambda: not win._busy)
    hb.start()
    t0 = time.perf_counter()
    for i in range(jobs):
        win.job.reference_id.setText(f"bench-{i}")
        win.refresh()
        win.submit()
        run_until(app, lambda: win._submit_worker is None)
    rows.append((f"submit {jobs} jobs, 20 ms latency", time.perf_counter() - t0, *hb.stop()))
    assert sandbox.job_count() == jobs, sandbox.job_count()


def report(rows, pillow: float) -> None:
    base = rows[0][2]
    print(f"{'scenario':38} {'seconds':>8} {'max gap ms':>11} {'p99 gap ms':>11} {'max/idle':>9} {'< 50 ms':>8} "
          f"{'x decode':>9}")
    for name, secs, worst, p99 in rows:
        against_decode = "mask" in name or "core path" in name or "load_overlay" in name
        ratio = f"{secs / pillow:9.2f}" if against_decode else f"{'':9}"
        print(f"{name:38} {secs:8.2f} {worst:11.1f} {p99:11.1f} {worst / base:9.2f} {'yes' if worst < 50 else 'NO':>8} "
              f"{ratio}")
    if pillow == pillow:  # not NaN: the mask scenario ran
        print(f"\nPillow decode of the mask alone (the 'x decode' baseline): {pillow:.3f} s, best of 3")


if __name__ == "__main__":
    sys.exit(main())
