"""Reliability of bulk submission against a faulty sandbox (real HTTP, real subprocesses, real SIGKILL).

The sandbox is created with page_size=1000 (instead of the API's 50): recovering a job id pages through
its batch, and with 2,000 jobs in 50-job pages each recovery would take 40 requests.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from playment_submit.core.bulk import BulkSubmitter
from playment_submit.core.client import PlaymentClient, RetryPolicy
from playment_submit.core.journal import Journal
from playment_submit.core.manifest import check_manifest, read_csv
from playment_submit.core.sandbox import Faults

ROOT = Path(__file__).resolve().parents[2]
N = 2000
FAULTS = dict(html_500=0.05, html_502=0.05, rate_limit=0.05, drop_after=0.05, drop_before=0.03, retry_after=0)


def _write_manifest(path: Path, n: int = N) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("reference_id,image,references\n")
        for i in range(n):
            fh.write(f"frame-{i:05d},https://example.com/cam0/{i}.png,"
                     f"left=https://example.com/cam1/{i}.png|right=https://example.com/cam2/{i}.png\n")
    return path


def _assert_exactly_once(sb, journal_path: Path, n: int = N) -> None:
    jobs = sb.jobs()
    refs = [j["reference_id"] for j in jobs]
    assert len(jobs) == n and len(set(refs)) == n
    server = {j["reference_id"]: j["job_id"] for j in jobs}
    with Journal(journal_path) as j:
        entries = {e.reference_id: e for e in j.entries()}
    assert len(entries) == n
    bad = [e for e in entries.values() if e.state != "created" or e.job_id != server.get(e.reference_id)]
    assert not bad, bad[:3]


def test_2000_jobs_with_faults_exactly_once(tmp_path, make_sandbox):
    sb = make_sandbox(faults=Faults(**FAULTS), page_size=1000, seed=7)
    man = check_manifest(read_csv(_write_manifest(tmp_path / "m.csv"), workflow_id=sb.workflow_id))
    client = PlaymentClient(sb.base_url, sb.project_id, sb.api_key, pool_size=16,
                            default_batch_id=sb.default_batch_id,
                            retry=RetryPolicy(backoff_base=0.01, max_attempts=8))
    with client, Journal(tmp_path / "j.sqlite") as journal:
        summary = BulkSubmitter(client, journal, concurrency=16).run(man.rows)
    stats = sb.stats()
    assert summary.ok, summary.counts()
    assert stats["fault drop_after"] > 50 and stats["fault html_502"] > 50  # the faults really happened
    assert summary.counts().get("recovered", 0) > 0
    _assert_exactly_once(sb, tmp_path / "j.sqlite")


def _cli(manifest: Path, sb, *extra: str) -> list[str]:
    return [sys.executable, "-m", "playment_submit.core.cli", "bulk", str(manifest), "--concurrency", "16",
            "--default-batch-id", sb.default_batch_id, *extra]


def _env(sb, tmp_path) -> dict:
    env = dict(os.environ, PLAYMENT_BASE_URL=sb.base_url, PLAYMENT_API_KEY=sb.api_key,
               PLAYMENT_PROJECT_ID=sb.project_id, PLAYMENT_WORKFLOW_ID=sb.workflow_id,
               PLAYMENT_CONFIG_DIR=str(tmp_path / "cfg"), PLAYMENT_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(ROOT))
    return env


def test_cli_killed_three_times_then_resumes_exactly_once(tmp_path, make_sandbox):
    sb = make_sandbox(faults=Faults(**FAULTS), page_size=1000, seed=11)
    manifest = _write_manifest(tmp_path / "drive.csv")
    journal = tmp_path / "drive.csv.journal.sqlite"  # the default journal, next to the manifest
    env = _env(sb, tmp_path)
    rng = random.Random(2026)
    kills = 0
    for _ in range(3):
        target = sb.job_count() + rng.randint(50, 400)
        proc = subprocess.Popen(_cli(manifest, sb), env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while sb.job_count() < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(30)
        proc.stderr.close()
    assert kills == 3
    assert sb.job_count() < N  # the kills really cut the run short
    with Journal(journal) as j:
        assert j.counts()["sending"] > 0 or j.counts()["created"] < sb.job_count()  # something to reconcile
    done = subprocess.run(_cli(manifest, sb, "--results", str(tmp_path / "res.csv")), env=env, cwd=str(ROOT),
                          capture_output=True, text=True, timeout=120)
    if done.returncode == 1:
        # With ~13 % of POSTs failing before the job is stored, a row can fail all 5 attempts (about one run in
        # 25). That row was looked up and was not created: the documented next step is --retry-failed.
        failed = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert failed and all("so it was not created" in line for line in failed), done.stderr[-2000:]
        done = subprocess.run(_cli(manifest, sb, "--retry-failed", "--results", str(tmp_path / "res.csv")),
                              env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    _assert_exactly_once(sb, journal)
    results = (tmp_path / "res.csv").read_text().splitlines()
    assert len(results) == N + 1 and all(",created," in r or ",recovered," in r or ",skipped," in r
                                         for r in results[1:])
    posts = sb.stats()["POST jobs"]
    again = subprocess.run(_cli(manifest, sb, "--json"), env=env, cwd=str(ROOT), capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0, again.stderr[-2000:]
    assert sb.stats()["POST jobs"] == posts
    assert again.stdout.count('"status": "skipped"') == N


def test_cli_broken_manifest_reports_every_row_and_sends_nothing(tmp_path, sandbox):
    import numpy as np
    from PIL import Image
    a = np.zeros((4, 4, 4), np.uint8)
    a[1, 2] = (7, 7, 7, 255)
    Image.fromarray(a, "RGBA").save(tmp_path / "m.png")
    (tmp_path / "legend.json").write_text('{"#ff0000": "car"}')
    big = "y" * (10 * 1024 * 1024)
    body = (b"reference_id,image,mask,legend\n"
            b"good,https://x.io/1.png,,\n"                          # row 2
            b"badurl,htp:/x.io/2.png,,\n"                           # row 3
            b"colours,https://x.io/3.png,m.png,legend.json\n"       # row 4: unknown colour (and a local file)
            b"good,https://x.io/4.png,,\n"                          # row 5: duplicate
            b"bytes,https://x.io/\xe9t\xe9.png,,\n"                 # row 6: Latin-1, not UTF-8
            + f"huge,https://x.io/{big},,\n".encode()               # row 7: 10 MB line
            + b"short,https://x.io/7.png\n")                        # row 8: missing cells
    manifest = tmp_path / "broken.csv"
    manifest.write_bytes(body)
    r = subprocess.run(_cli(manifest, sandbox), env=_env(sandbox, tmp_path), cwd=str(ROOT), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1
    err = r.stderr
    for row, words in ((3, "htp:/x.io"), (4, "#070707"), (5, "also used on row 2"), (6, "not UTF-8"),
                       (7, "characters long"), (8, "cells")):
        assert any(f"row {row}," in line and words in line for line in err.splitlines()), (row, err[-3000:])
    assert "Nothing was sent" in err and "Traceback" not in err
    assert sandbox.stats().get("POST jobs", 0) == 0

    missing = tmp_path / "nocols.csv"
    missing.write_text("id,url\na,https://x.io/a.png\n")
    r = subprocess.run(_cli(missing, sandbox), env=_env(sandbox, tmp_path), cwd=str(ROOT), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and "lacks the columns reference_id, image" in r.stderr
    assert sandbox.stats().get("POST jobs", 0) == 0


def test_cli_ctrl_c_stops_cleanly_with_130(tmp_path, make_sandbox):
    sb = make_sandbox(latency_ms=10, page_size=1000)
    manifest = _write_manifest(tmp_path / "m.csv", 600)
    env = _env(sb, tmp_path)
    proc = subprocess.Popen(_cli(manifest, sb, "--concurrency", "4"), env=env, cwd=str(ROOT),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while sb.job_count() < 50 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "run the same command again" in err and "Traceback" not in err
    with Journal(tmp_path / "m.csv.journal.sqlite") as j:
        counts = j.counts()
    assert counts["sending"] == 0 and counts["created"] == sb.job_count() < 600
    r = subprocess.run(_cli(manifest, sb), env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    _assert_exactly_once(sb, tmp_path / "m.csv.journal.sqlite", 600)


def test_cli_refuses_before_sending_when_key_rejected_or_server_unreachable(tmp_path, sandbox):
    manifest = _write_manifest(tmp_path / "m.csv", 5)
    env = _env(sandbox, tmp_path)
    r = subprocess.run(_cli(manifest, sandbox), env={**env, "PLAYMENT_API_KEY": "wrong"}, cwd=str(ROOT),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "rejected the API key" in r.stderr and "Nothing was sent" in r.stderr
    assert sandbox.stats().get("POST jobs", 0) == 0
    r = subprocess.run(_cli(manifest, sandbox), env={**env, "PLAYMENT_BASE_URL": "http://127.0.0.1:9"},
                       cwd=str(ROOT), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Nothing was sent" in r.stderr and "Traceback" not in r.stderr
    assert "wrong" not in r.stderr and sandbox.api_key not in r.stderr + r.stdout


def test_cli_second_run_on_a_claimed_journal_exits_2_naming_the_first(tmp_path, sandbox):
    manifest = _write_manifest(tmp_path / "m.csv", 5)
    with Journal(tmp_path / "m.csv.journal.sqlite") as first, \
            first.claim("bulk run of 192 row(s) by playment-submit"):  # the first run, still going
        r = subprocess.run(_cli(manifest, sandbox), env=_env(sandbox, tmp_path), cwd=str(ROOT), capture_output=True,
                           text=True, timeout=60)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "in use by another run" in r.stderr and f"process {os.getpid()}" in r.stderr
    assert "192 row(s)" in r.stderr and "--journal" in r.stderr
    assert "Traceback" not in r.stderr and "damaged" not in r.stderr
    assert sandbox.stats().get("POST jobs", 0) == 0
    r = subprocess.run(_cli(manifest, sandbox), env=_env(sandbox, tmp_path), cwd=str(ROOT), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert sandbox.job_count() == 5


def test_cli_streamed_10000_rows_killed_three_times_then_resumes_exactly_once(tmp_path, make_sandbox):
    """The streamed run (core.bulk_stream) at the size the issue names: ten thousand rows, five of the check's
    chunks, SIGKILL at three points spread over the send (light faults: some answers lost after the job was
    stored, so the resumed runs reconcile), then a run to the end."""
    n = 10_000
    sb = make_sandbox(faults=Faults(drop_after=0.01, html_502=0.01, retry_after=0), page_size=1000, seed=5)
    manifest = _write_manifest(tmp_path / "big.csv", n)
    journal = tmp_path / "big.csv.journal.sqlite"
    env = _env(sb, tmp_path)
    for target in (2_000, 5_000, 8_000):
        proc = subprocess.Popen(_cli(manifest, sb), env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while sb.job_count() < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert sb.job_count() < n
    with Journal(journal) as j:
        counts = j.counts()
    assert counts.get("created", 0) >= 7_000  # the killed runs' created rows are in the journal
    done = subprocess.run(_cli(manifest, sb, "--results", str(tmp_path / "res.csv")), env=env, cwd=str(ROOT),
                          capture_output=True, text=True, timeout=300)
    if done.returncode == 1:  # a row whose five attempts all failed before it was stored: --retry-failed
        done = subprocess.run(_cli(manifest, sb, "--retry-failed", "--results", str(tmp_path / "res.csv")),
                              env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    _assert_exactly_once(sb, journal, n)
    results = (tmp_path / "res.csv").read_text().splitlines()
    assert len(results) == n + 1 and sum(",skipped," in r for r in results) >= 7_000
