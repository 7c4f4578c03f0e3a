"""Results: completed jobs downloaded through /v1/attachments, converted, reviewed; re-runs fetch only what is
new; the API key never reaches the storage host (sandbox's separate storage server, and a strict stub)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from playment_submit.core.cli import main
from playment_submit.core.client import KeylessFetcher, PlaymentClient
from playment_submit.core.errors import ServerFaultError
from playment_submit.core.journal import Journal
from tests.hostile import HostileServer, answer

LEGEND = {"#ff0000": "car", "#00ff00": "road", "#0000ff": "sky <b>"}


def put_prelabel(sb, name="m.png"):
    m = np.zeros((60, 80, 4), np.uint8)
    m[10:30, 10:40] = [255, 0, 0, 255]
    m[35:55, 5:30] = [0, 255, 0, 255]
    m[5:20, 50:75] = [0, 0, 255, 255]
    Image.fromarray(m, "RGBA").save(sb.files_dir / name)
    Image.fromarray(np.zeros((60, 80, 3), np.uint8)).save(sb.files_dir / "img.png")
    return m


def submit_journalled(sb, journal, ref, *, prelabel=True):
    data = {"image_url": sb.file_url("img.png")}
    if prelabel:
        data["maker_response"] = {"raster": {"data": {"legend": LEGEND, "url": sb.file_url("m.png")}}}
    job = {"reference_id": ref, "work_flow_id": sb.workflow_id, "data": data}
    with PlaymentClient(sb.base_url, sb.project_id, sb.api_key) as c:
        journal.mark_sending(ref, job)
        journal.mark_created(ref, c.create_job(job).job_id)


def test_results_download_convert_review_and_rerun(sandbox, tmp_path, monkeypatch, capsys):
    put_prelabel(sandbox)
    jp = tmp_path / "j.sqlite"
    with Journal(jp) as journal:
        submit_journalled(sandbox, journal, "with-pre")
        submit_journalled(sandbox, journal, "no-pre", prelabel=False)
    sandbox.complete_jobs()
    for k, v in {"PLAYMENT_BASE_URL": sandbox.base_url, "PLAYMENT_API_KEY": sandbox.api_key,
                 "PLAYMENT_PROJECT_ID": sandbox.project_id}.items():
        monkeypatch.setenv(k, v)
    out = tmp_path / "out"
    assert main(["results", "--journal", str(jp), "-o", str(out), "--json"]) == 0
    rows = {r["reference_id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["with-pre"]["status"] == rows["no-pre"]["status"] == "downloaded"
    folder = out / f"with-pre-{rows['with-pre']['job_id']}"
    delivered = np.asarray(Image.open(folder / "delivered.png").convert("RGBA"))
    legend = json.loads((folder / "legend.json").read_text())
    assert legend["#0000ff"] == "sky <b> (renamed)" and "Added region" in legend.values()
    idx = np.asarray(Image.open(folder / "classes.png"))
    names = (folder / "classes.txt").read_text().splitlines()
    assert idx.shape == delivered.shape[:2] and names == list(legend.values())
    red = (delivered[..., 0] == 255) & (delivered[..., 1] == 0) & (delivered[..., 3] == 255)
    assert (idx[red] == 1).all() and (idx[delivered[..., 3] == 0] == 0).all()
    assert (folder / "prelabel.png").is_file() and (folder / "review.png").is_file()
    assert not (out / f"no-pre-{rows['no-pre']['job_id']}" / "prelabel.png").exists()
    review = list(csv.DictReader((out / "review.csv").open()))
    kinds = {r["class"]: r["kind"] for r in review}
    assert kinds == {"car": "kept", "road": "kept", "sky <b>": "renamed", "Added region": "introduced"}
    page = (out / "review.html").read_text()
    assert "sky &lt;b&gt;" in page and "sky <b>" not in page
    assert sandbox.stats().get("storage with key", 0) == 0 and sandbox.stats()["GET storage"] >= 2
    # Re-run: nothing new to fetch.
    before = sandbox.stats()
    assert main(["results", "--journal", str(jp), "-o", str(out), "--json"]) == 0
    again = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {r["status"] for r in again} == {"unchanged"}
    after = sandbox.stats()
    assert after.get("GET storage") == before.get("GET storage") and after.get("GET job") == before.get("GET job")
    assert after.get("GET attachments") == before.get("GET attachments")


def test_result_files_are_private_on_the_api_host(sandbox):
    import requests
    resp = requests.get(f"{sandbox.base_url}/results/x.png", headers={"x-api-key": sandbox.api_key}, timeout=10)
    assert resp.status_code == 403


def test_key_never_reaches_the_storage_host_stub():
    """A strict stub: /v1/attachments answers 302 to another host (the storage), which records every header."""
    storage = HostileServer(lambda s, conn, req: answer(conn, 200, b"\x89PNG-bytes"))
    key = "secret-key-abcdef0123"

    def api(server, conn, req):
        assert req.headers.get("x-api-key") == key
        answer(conn, 302, b"", headers={"Location": f"{storage.base_url}/bucket/r.png?X-Sig=abc"}, reason="Found")

    api_server = HostileServer(api)
    try:
        with PlaymentClient(api_server.base_url, "p", key) as c:
            data = c.fetch_attachment("https://private.example/r.png")
    finally:
        api_server.stop()
        storage.stop()
    assert data == b"\x89PNG-bytes"
    assert storage.keys_seen() == [] and len(storage.requests) == 1
    assert all(key not in v for r in storage.requests for v in r.headers.values())
    assert api_server.keys_seen() == [key]


def test_keyless_fetch_refuses_plain_http_elsewhere_and_oversize():
    with pytest.raises(ServerFaultError, match="plain http"):
        KeylessFetcher().fetch("http://storage.example.com/x.png")
    big = HostileServer(lambda s, conn, req: answer(conn, 200, b"x" * 5000))
    try:
        with pytest.raises(ServerFaultError, match="larger than"):
            KeylessFetcher().fetch(f"{big.base_url}/x", max_bytes=1000)
    finally:
        big.stop()


class _Counting(PlaymentClient):
    """A client that counts the GET job requests in flight at once (the most it saw)."""

    def __init__(self, *args, **kwargs):
        import threading
        super().__init__(*args, **kwargs)
        self._count_lock = threading.Lock()
        self.in_flight = self.most = 0

    def get_job(self, job_id):
        with self._count_lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            return super().get_job(job_id)
        finally:
            with self._count_lock:
                self.in_flight -= 1


def test_results_download_jobs_at_once_in_order_and_stop_when_cancelled(make_sandbox, tmp_path):
    import threading

    from playment_submit.core.delivered import DOWNLOAD_WORKERS, download_results
    sb = make_sandbox(latency_ms=150)
    put_prelabel(sb)
    n = 3 * DOWNLOAD_WORKERS
    with Journal(tmp_path / "j.sqlite") as journal:
        for i in range(n):
            submit_journalled(sb, journal, f"job-{i:02d}", prelabel=False)
        sb.complete_jobs()
        with _Counting(sb.base_url, sb.project_id, sb.api_key) as c:
            report = download_results(journal, c, tmp_path / "out", refresh=True)
            assert [j.reference_id for j in report.jobs] == [f"job-{i:02d}" for i in range(n)]  # in order
            assert {j.status for j in report.jobs} == {"downloaded"}
            # each GET job takes 150 ms here: one job at a time never has two in flight
            assert 2 <= c.most <= DOWNLOAD_WORKERS, f"at most {c.most} job(s) asked at once"

        with PlaymentClient(sb.base_url, sb.project_id, sb.api_key) as c:
            cancel = threading.Event()
            told: list[int] = []

            def progress(done, total, job_id):
                told.append(done)
                cancel.set()  # Stop after the first job is reported

            # another folder: every job is fetched again
            report = download_results(journal, c, tmp_path / "again", refresh=False, progress=progress,
                                      cancel=cancel)
    assert 1 <= len(report.jobs) <= 2 * DOWNLOAD_WORKERS < n  # the jobs already asked finish; no more are asked
    assert told == list(range(1, len(report.jobs) + 1))
    assert all(j.status == "downloaded" for j in report.jobs)


def test_results_of_many_jobs_read_the_journal_a_page_at_a_time_and_keep_no_job(sandbox, tmp_path, monkeypatch):
    """keep_jobs=False (``playment-submit results``): completed jobs come from the journal a page at a time, each
    outcome goes to on_job in order and is not kept; the review still covers every job with a pre-label."""
    import gc

    from playment_submit.core import delivered
    from playment_submit.core.delivered import JobDownload, download_results
    monkeypatch.setattr(delivered, "PAGE", 7)
    put_prelabel(sandbox)
    n = 60
    with Journal(tmp_path / "j.sqlite") as journal:
        for i in range(n):
            submit_journalled(sandbox, journal, f"r{i:03d}", prelabel=i % 2 == 0)
        sandbox.complete_jobs()
        seen: list[tuple[str | None, str]] = []
        live: list[int] = []
        gc.collect()
        base = sum(1 for o in gc.get_objects() if type(o) is JobDownload)  # other tests' reports still alive

        def on_job(job):
            seen.append((job.reference_id, job.status))
            live.append(sum(1 for o in gc.get_objects() if type(o) is JobDownload) - base)

        with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key) as client:
            report = download_results(journal, client, tmp_path / "out", keep_jobs=False, on_job=on_job)
    assert report.jobs == [] and report.counts() == {"downloaded": n}
    assert seen == [(f"r{i:03d}", "downloaded") for i in range(n)]  # in order, across nine pages
    assert max(live) <= 2 * delivered.DOWNLOAD_WORKERS + 1, live  # the jobs under way, never all of them
    with open(report.review_csv, encoding="utf-8") as fh:
        assert len({row["job_id"] for row in csv.DictReader(fh)}) == n // 2
