"""Bulk speed: this engine vs the docs' example loop, over the same number of jobs, in one run.

    .venv/bin/python tests/benchmarks/bench_bulk.py [--jobs 400] [--latency-ms 50] [--concurrency 16]

The sandbox runs in its own process (``python -m core.cli sandbox --port 0 --json --latency-ms 50``) so
it does not share this process's GIL; the CPU figures are therefore the client's alone.

- baseline: the API docs' example, one ``requests.post`` per job with no session (a new TCP connection
  each time), one job after the other;
- engine: core.manifest + core.bulk with a journal, ``--concurrency`` workers on one pooled client.

- bulk process (``--process N``): ``playment-submit bulk`` as a whole process, N times; the median is
  compared with the target instead (issue 24: >= 14x at 50 ms latency and concurrency 16, median of 3).

Target: engine jobs/s >= 12x the baseline's (``--target``). Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from playment_submit.core.bulk import BulkSubmitter  # noqa: E402
from playment_submit.core.client import PlaymentClient  # noqa: E402
from playment_submit.core.journal import Journal  # noqa: E402
from playment_submit.core.manifest import check_manifest, read_jsonl  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def start_sandbox(latency_ms: float, store: Path):
    proc = subprocess.Popen([sys.executable, "-m", "playment_submit.core.cli", "sandbox", "--port", "0", "--json",
                             "--latency-ms", str(latency_ms), "--store", str(store)],
                            cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    info = json.loads(proc.stdout.readline())
    return proc, info


def payload(info: dict, ref: str, i: int) -> dict:
    return {"reference_id": ref, "work_flow_id": info["workflow_id"],
            "data": {"image_url": f"https://example.com/cam0/{i}.png",
                     "reference_data": {"raster": {"images": [
                         {"image_url": f"https://example.com/cam1/{i}.png", "label": "left"},
                         {"image_url": f"https://example.com/cam2/{i}.png", "label": "right"}]}}}}


def baseline(info: dict, n: int) -> tuple[float, float, int]:
    """The docs' loop: requests.post per job, no session, no concurrency."""
    url = f"{info['base_url']}/v1/projects/{info['project_id']}/jobs"
    headers = {"x-api-key": info["api_key"]}
    ok = 0
    t0, c0 = time.perf_counter(), cpu()
    for i in range(n):
        r = requests.post(url, headers=headers, json=payload(info, f"base-{i:05d}", i))
        ok += r.status_code == 200
    return time.perf_counter() - t0, cpu() - c0, ok


def engine(info: dict, n: int, concurrency: int, tmp: Path) -> tuple[float, float, int]:
    manifest = tmp / "bench.jsonl"
    with open(manifest, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps(payload(info, f"bulk-{i:05d}", i)) + "\n")
    t0, c0 = time.perf_counter(), cpu()
    client = PlaymentClient(info["base_url"], info["project_id"], info["api_key"], pool_size=concurrency,
                            default_batch_id=info["default_batch_id"])
    with client, Journal(tmp / "bench.journal.sqlite") as journal:
        man = check_manifest(read_jsonl(manifest), journal=journal)
        summary = BulkSubmitter(client, journal, concurrency=concurrency).run(man.rows)
    elapsed, used = time.perf_counter() - t0, cpu() - c0
    return elapsed, used, sum(1 for r in summary.results if r.status in ("created", "recovered"))


def engine_process(info: dict, n: int, concurrency: int, tmp: Path, run: int) -> tuple[float, float, int]:
    """``playment-submit bulk`` as a whole process (start-up, the streamed check, the send, the summary)."""
    manifest = tmp / f"bench{run}.jsonl"
    with open(manifest, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps(payload(info, f"proc{run}-{i:05d}", i)) + "\n")
    env = {**os.environ, "PLAYMENT_BASE_URL": info["base_url"], "PLAYMENT_API_KEY": info["api_key"],
           "PLAYMENT_PROJECT_ID": info["project_id"], "PLAYMENT_DATA_DIR": str(tmp / "data"),
           "PLAYMENT_CONFIG_DIR": str(tmp / "config")}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "playment_submit.core.cli", "bulk", str(manifest), "--concurrency",
                           str(concurrency), "--default-batch-id", info["default_batch_id"], "--json"], cwd=str(ROOT),
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    ok = done.stdout.count('"status": "created"') + done.stdout.count('"status": "recovered"')
    return elapsed, used.ru_utime + used.ru_stime, ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=400)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--target", type=float, default=12.0)
    ap.add_argument("--process", type=int, default=0, metavar="N",
                    help="also time `playment-submit bulk` as a whole process N times (the median is compared)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as d:
        tmp = Path(d)
        proc, info = start_sandbox(args.latency_ms, tmp / "sandbox.sqlite")
        try:
            rows = []
            b_t, b_cpu, b_ok = baseline(info, args.jobs)
            rows.append(("docs loop (requests.post, serial)", b_t, b_cpu, b_ok))
            e_t, e_cpu, e_ok = engine(info, args.jobs, args.concurrency, tmp)
            rows.append((f"bulk engine, concurrency {args.concurrency}", e_t, e_cpu, e_ok))
            runs = sorted((engine_process(info, args.jobs, args.concurrency, tmp, k) for k in range(args.process)),
                          key=lambda r: r[2] / r[0])
            if runs:
                p_t, p_cpu, p_ok = runs[len(runs) // 2]
                rows.append((f"bulk process (median of {len(runs)})", p_t, p_cpu, p_ok))
                e_t, e_ok = p_t, p_ok  # the target is the whole process's
        finally:
            proc.terminate()
            proc.wait(10)
    base_rate = b_ok / b_t
    print(f"\n{args.jobs} jobs each, sandbox in its own process with {args.latency_ms:g} ms added latency, "
          f"{os.cpu_count()} CPUs\n")
    print(f"{'method':<38} {'jobs':>5} {'seconds':>8} {'jobs/s':>8} {'ratio':>6} {'client CPU ms/job':>18}")
    for name, t, c, ok in rows:
        rate = ok / t
        print(f"{name:<38} {ok:>5} {t:>8.2f} {rate:>8.1f} {rate / base_rate:>5.1f}x {1000 * c / max(ok, 1):>18.2f}")
    ratio = (e_ok / e_t) / base_rate
    print(f"\ntarget >= {args.target:g}x: {'met' if ratio >= args.target and e_ok == args.jobs else 'MISSED'} "
          f"({ratio:.1f}x)")
    return 0 if ratio >= args.target and e_ok == args.jobs else 1


if __name__ == "__main__":
    sys.exit(main())
