"""A million rows (issue 24): `bulk --dry-run` against the floor, as whole processes, in one run.

    .venv/bin/python tests/benchmarks/bench_scale.py [--rows 10000,100000] [--million] [--send 10000,100000]

For each row count a CSV of https URLs with two cameras a row is written, then measured in fresh processes:

- floor: a plain Python loop that reads the same CSV and JSON-encodes each row's documented payload
  (what any tool must at least do);
- dry run: ``playment-submit bulk MANIFEST --dry-run`` (read, check every row through the pipeline, the
  duplicate check, the journal's verdict, the summary).
- send (``--send N[,N...]``): ``playment-submit bulk`` against a sandbox in its own process (no latency): time, peak
  RSS and the RSS slope per row between N/2 and N rows.
- Bulk tab sending (``--gui-send N``): N rows sent from the Bulk tab (concurrency 16) to the sandbox process,
  with the same heartbeat: the time and the longest gap (target: none over 50 ms).
- Bulk tab (``--gui N``): the window's Bulk tab opening N rows (offscreen) with a 10 ms heartbeat timer: the
  time to the checked table and the longest heartbeat gap (target: none over 50 ms), then the same for
  its Dry run and for choosing the "Sent" filter.

Printed: seconds, rows/s and peak RSS (``ru_maxrss`` of the child) with ratios to the floor. Targets (issue 24):
dry run of 200,000 rows within 4x the floor's time and under 200 MiB. Exit status 1 when the 100,000-row dry
run misses 4x time or 200 MiB (the figures are printed either way).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WF = "2aae1234-acac-1234-eeff-12a22a237bbc"

FLOOR = r"""
import csv, json, sys
n = 0
with open(sys.argv[1], newline="", encoding="utf-8") as fh:
    for rec in csv.DictReader(fh):
        refs = [dict(zip(("label", "image_url"), p.split("=", 1))) for p in rec["references"].split("|")]
        payload = {"reference_id": rec["reference_id"], "work_flow_id": sys.argv[2],
                   "data": {"image_url": rec["image"], "reference_data": {"raster": {"images": refs}}}}
        n += len(json.dumps(payload))
print(n)
"""


def write_manifest(path: Path, rows: int, prefix: str = "frame") -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("reference_id,image,references\n")
        for i in range(rows):
            fh.write(f"{prefix}-{i:07d},https://cdn.example.com/cam0/{i:07d}.jpg,"
                     f"left=https://cdn.example.com/cam1/{i:07d}.jpg|right=https://cdn.example.com/cam2/{i:07d}.jpg\n")


def child_peak(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(seconds, the child's own peak RSS in MiB, exit status): a wrapper process runs it and reports its
    RUSAGE_CHILDREN peak, so each figure is that one process's, not the largest of the run so far."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
               "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, r)")
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], cwd=str(ROOT), env=env, capture_output=True,
                         text=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


# The Bulk tab in a process of its own: PANEL(session) makes and shows it, pump() runs the event loop, and a
# 10 ms heartbeat timer records every gap between its ticks (a late tick is a frozen window).
GUI_PRELUDE = r"""
import os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from playment_submit.core.journal import Journal
from playment_submit.core.session import Session
from playment_submit.gui.widgets.bulk_panel import BulkPanel
app = QApplication([])
def pump(seconds, until=lambda: False):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end and not until():
        app.processEvents()
        time.sleep(0.001)
def PANEL(session):
    panel = BulkPanel(session)
    panel.resize(1000, 700)
    panel.show()
    pump(0.5)  # the panel's first paint (fonts, styles) is not the rows' to answer for
    return panel
gaps, last = [], [0.0]
def beat():
    now = time.perf_counter()
    gaps.append(now - last[0])
    last[0] = now
hb = QTimer()
hb.setInterval(10)
hb.timeout.connect(beat)
def start_heartbeat():
    gaps.clear()
    last[0] = time.perf_counter()
    hb.start()
"""

GUI = GUI_PRELUDE + r"""
s = Session("https://api.example.invalid", "p", sys.argv[2], "bench-key-not-secret-000", journal=Journal(sys.argv[3]))
panel = PANEL(s)
start_heartbeat()
done = []
panel.manifest_checked.connect(lambda m: done.append(time.perf_counter()))
t0 = time.perf_counter()
panel.open_path(sys.argv[1])
pump(600, lambda: bool(done))
pump(0.5)
opened = list(gaps)
gaps.clear()
said = []
worker = panel.dry_run()
worker.returned.connect(lambda r: said.append(time.perf_counter()))
t1 = time.perf_counter()
pump(600, lambda: bool(said))
pump(0.3)
dry = list(gaps)
gaps.clear()
shown = []
panel.proxy.filtered.connect(lambda name: shown.append(time.perf_counter()))
t2 = time.perf_counter()
panel.set_filter("sent")  # every row is "would be sent": none shown, every row asked
pump(600, lambda: bool(shown))
pump(0.3)
filtered = list(gaps)
gaps.clear()
panel.set_filter("all")
pump(0.3)
shown.clear()
gaps.clear()
t3 = time.perf_counter()
panel.proxy.set_sort("reference_id", True)  # every row, by reference ID, the other way
pump(600, lambda: bool(shown))
sorted_in = time.perf_counter() - t3
for _ in range(20):  # scroll through the sorted rows: a page read for each screen
    bar = panel.table.verticalScrollBar()
    bar.setValue(bar.value() + bar.maximum() // 20)
    pump(0.05)
pump(0.3)
import resource
print(done[0] - t0 if done else -1, max(opened) * 1000, sum(g > 0.05 for g in opened),
      said[0] - t1 if said else -1, max(dry) * 1000, shown[0] - t2 if shown else -1, max(filtered) * 1000,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, sorted_in, max(gaps) * 1000)
"""

GUI_SEND = GUI_PRELUDE + r"""
base, project, wf, key, batch = sys.argv[3:8]
s = Session(base, project, wf, key, default_batch_id=batch or None, journal=Journal(sys.argv[2]), pool_size=16)
panel = PANEL(s)
panel.concurrency.setValue(16)
checked, sent = [], []
panel.manifest_checked.connect(lambda m: checked.append(1))
panel.submission_finished.connect(lambda summary: sent.append(summary))
panel.open_path(sys.argv[1])
pump(600, lambda: bool(checked))
pump(0.5)
start_heartbeat()
t0 = time.perf_counter()
panel.submit()
pump(900, lambda: bool(sent))
took = time.perf_counter() - t0
pump(0.3)
print(took, max(gaps) * 1000, sum(g > 0.05 for g in gaps), sent[0].counts().get("created", 0) if sent else -1)
"""


def status_and_results(n: int, tmp: Path, env: dict[str, str], exe: list[str], with_results: bool = True) -> None:
    """``status`` and ``results`` over the journal of n jobs that a sandbox process completed: time and peak RSS."""
    manifest = tmp / f"status{n}.csv"
    write_manifest(manifest, n, prefix="st")
    sb = subprocess.Popen([*exe, "sandbox", "--port", "0", "--json", "--store", str(tmp / "sbs"), "--complete-after",
                           "0"], cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(sb.stdout.readline())  # type: ignore[union-attr]
        senv = {**env, "PLAYMENT_API_KEY": info["api_key"], "PLAYMENT_PROJECT_ID": info["project_id"],
                "PLAYMENT_WORKFLOW_ID": info["workflow_id"], "PLAYMENT_BASE_URL": info["base_url"],
                "PLAYMENT_DEFAULT_BATCH_ID": info.get("default_batch_id") or ""}
        journal = str(tmp / "jst.sqlite")
        ss, _, code = child_peak([*exe, "bulk", str(manifest), "--concurrency", "16", "--journal", journal], senv)
        print(f"status/results: {n:,} jobs sent in {ss:.1f} s" + ("" if code == 0 else f" (exit {code})"))
        ts, tm, code = child_peak([*exe, "status", "--journal", journal], senv)
        print(f"  status over {n:,} jobs: {ts:.1f} s, peak {tm:.0f} MiB" + ("" if code == 0 else f" (exit {code})"))
        if not with_results:
            return
        rs, rm, code = child_peak([*exe, "results", "--journal", journal, "-o", str(tmp / "results")], senv)
        print(f"  results over {n:,} jobs: {rs:.1f} s, peak {rm:.0f} MiB" + ("" if code == 0 else f" (exit {code})"))
    finally:
        sb.terminate()
        sb.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="10000,100000")
    ap.add_argument("--million", action="store_true", help="add 1,000,000 rows (minutes, GBs today)")
    ap.add_argument("--send", default="", help="also send this many rows to a sandbox (a comma list: each, e.g. "
                                               "10000,100000)")
    ap.add_argument("--gui", type=int, default=0, help="also open this many rows in the Bulk tab (heartbeat)")
    ap.add_argument("--status", type=int, default=0,
                    help="also send this many rows to a sandbox process that completes them, then time `status` "
                         "and `results` over their journal")
    ap.add_argument("--no-results", action="store_true", help="with --status: time `status` alone (results "
                                                                 "download one job at a time: 100,000 take long)")
    ap.add_argument("--gui-send", type=int, default=0,
                    help="also send this many rows from the Bulk tab to a sandbox process (heartbeat)")
    args = ap.parse_args()
    counts = [int(x) for x in args.rows.split(",") if x] + ([1_000_000] if args.million else [])
    env = {**os.environ, "PLAYMENT_API_KEY": "bench-key-not-secret-000", "PLAYMENT_PROJECT_ID": "bench",
           "PLAYMENT_WORKFLOW_ID": WF, "PLAYMENT_BASE_URL": "https://api.example.invalid"}
    exe = [sys.executable, "-m", "playment_submit.core.cli"]
    print(f"{'rows':>9} | {'floor s':>8} {'MiB':>6} | {'dry-run s':>9} {'rows/s':>9} {'MiB':>7} | "
          f"{'time x':>7} {'RSS x':>6} {'KiB/row':>8}")
    verdict = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            manifest = Path(tmp) / f"m{n}.csv"
            write_manifest(manifest, n)
            env["PLAYMENT_DATA_DIR"] = str(Path(tmp) / f"data{n}")
            env["PLAYMENT_CONFIG_DIR"] = str(Path(tmp) / f"config{n}")
            fs, fm, _ = child_peak([sys.executable, "-c", FLOOR, str(manifest), WF], env)
            ds, dm, code = child_peak([*exe, "bulk", str(manifest), "--dry-run", "--journal",
                                       str(Path(tmp) / f"j{n}.sqlite")], env)
            base, _, _ = child_peak([*exe, "--version"], env)
            per_row = max(0.0, dm - 60.0) * 1024 / n  # above a ~60 MiB interpreter + imports
            print(f"{n:>9,} | {fs:>8.2f} {fm:>6.0f} | {ds:>9.2f} {n / ds:>9,.0f} {dm:>7.0f} | "
                  f"{ds / fs:>7.1f} {dm / fm:>6.1f} {per_row:>8.2f}" + ("" if code == 0 else f"  (exit {code})"))
            if n == 100_000 and (ds > 4 * fs or dm > 200):
                verdict = 1
        if args.status:
            status_and_results(args.status, Path(tmp), env, exe, with_results=not args.no_results)
        sends = [int(x) for x in args.send.split(",") if x]
        if sends or args.gui_send:
            sb = subprocess.Popen([*exe, "sandbox", "--port", "0", "--json", "--store", str(Path(tmp) / "sb")],
                                  cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                info = json.loads(sb.stdout.readline())  # type: ignore[union-attr]
                senv = {**env, "PLAYMENT_API_KEY": info["api_key"], "PLAYMENT_PROJECT_ID": info["project_id"],
                        "PLAYMENT_WORKFLOW_ID": info["workflow_id"], "PLAYMENT_BASE_URL": info["base_url"],
                        "PLAYMENT_DEFAULT_BATCH_ID": info.get("default_batch_id") or ""}
                if args.gui_send:
                    g = args.gui_send
                    gm = Path(tmp) / f"guisend{g}.csv"
                    write_manifest(gm, g, prefix="gui")
                    out = subprocess.run([sys.executable, "-c", GUI_SEND, str(gm), str(Path(tmp) / "jgs.sqlite"),
                                          info["base_url"], info["project_id"], info["workflow_id"], info["api_key"],
                                          info.get("default_batch_id") or ""], cwd=str(ROOT), env=env,
                                         capture_output=True, text=True).stdout.split()
                    print(f"Bulk tab sends {g:,} rows (concurrency 16): {float(out[0]):.1f} s, {out[3]} created; "
                          f"longest heartbeat gap {float(out[1]):.0f} ms ({out[2]} gaps over 50 ms)")
                for n in sends:  # each with its own reference IDs: the same sandbox takes them all
                    manifest, half = Path(tmp) / f"send{n}.csv", Path(tmp) / f"half{n}.csv"
                    write_manifest(manifest, n, prefix=f"send{n}")
                    write_manifest(half, n // 2, prefix=f"half{n}")
                    hs, hm, _ = child_peak([*exe, "bulk", str(half), "--concurrency", "16", "--journal",
                                            str(Path(tmp) / f"jh{n}.sqlite")], senv)
                    ss, sm, code = child_peak([*exe, "bulk", str(manifest), "--concurrency", "16", "--journal",
                                               str(Path(tmp) / f"js{n}.sqlite")], senv)
                    slope = (sm - hm) * 1024 / max(1, n - n // 2)
                    print(f"send {n:,} rows: {ss:.1f} s ({n / ss:,.0f} jobs/s), peak {sm:.0f} MiB; {n // 2:,} rows: "
                          f"{hs:.1f} s, {hm:.0f} MiB; slope {slope:.2f} KiB/row"
                          + ("" if code == 0 else f" (exit {code})"))
            finally:
                sb.terminate()
                sb.wait(10)
        if args.gui:
            n = args.gui
            manifest = Path(tmp) / f"gui{n}.csv"
            write_manifest(manifest, n)
            out = subprocess.run([sys.executable, "-c", GUI, str(manifest), WF, str(Path(tmp) / "jg.sqlite")],
                                 cwd=str(ROOT), env=env, capture_output=True, text=True).stdout.split()
            print(f"Bulk tab, {n:,} rows: checked in {float(out[0]):.2f} s; longest heartbeat gap "
                  f"{float(out[1]):.0f} ms ({out[2]} gaps over 50 ms); dry run shown in {float(out[3]):.2f} s, "
                  f"longest gap {float(out[4]):.0f} ms; filter \"Sent\" shown in {float(out[5]):.2f} s, longest gap "
                  f"{float(out[6]):.0f} ms; sorted by reference ID (descending) in {float(out[8]):.2f} s and "
                  f"scrolled through, longest gap {float(out[9]):.0f} ms; peak {float(out[7]):.0f} MiB")
    print(f"interpreter + imports alone: {base:.2f} s. Targets: 200,000 rows within 4x the floor and < 200 MiB.")
    return verdict


if __name__ == "__main__":
    sys.exit(main())
