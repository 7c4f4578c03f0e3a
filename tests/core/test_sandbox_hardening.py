"""Issue 21 item 8: the sandbox's files are behind the key (or a signed URL), the Host header is checked against
DNS rebinding, and 200 clients at once are served without a reset. Issue 23 item 8: a kept sandbox keeps its
jobs and files across restarts, and reset_sandbox() empties it with its journal."""

from __future__ import annotations

import threading
import time

import requests

from playment_submit.core.client import PlaymentClient
from playment_submit.core.journal import Journal
from playment_submit.core.sandbox import SandboxServer, open_embedded_sandbox, reset_sandbox
from playment_submit.core.status import NOT_ON_SANDBOX, refresh_statuses
from tests.conftest import png_bytes


def test_files_need_the_key_or_a_signed_url(sandbox, tmp_path):
    src = tmp_path / "secret.png"
    src.write_bytes(b"private pixels")
    url = sandbox.add_file(src)
    refused = requests.get(url, timeout=5)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
    assert requests.get(url, headers={"x-api-key": "wrong"}, timeout=5).status_code == 401
    assert requests.get(url, headers={"x-api-key": sandbox.api_key}, timeout=5).content == b"private pixels"
    signed = requests.get(f"{sandbox.base_url}/v1/attachments", params={"url": url},
                          headers={"x-api-key": sandbox.api_key}, allow_redirects=False, timeout=5)
    assert requests.get(signed.headers["Location"], timeout=5).content == b"private pixels"


def test_a_rebound_host_name_is_refused(sandbox):
    headers = {"x-api-key": sandbox.api_key, "Host": f"evil.example:{sandbox.port}"}
    resp = requests.get(f"{sandbox.base_url}/_sandbox/stats", headers=headers, timeout=5)
    assert resp.status_code == 421 and resp.json()["error"]["code"] == "MISDIRECTED_REQUEST"
    for host in (f"localhost:{sandbox.port}", f"127.0.0.1:{sandbox.port}", f"[::1]:{sandbox.port}"):
        ok = requests.get(f"{sandbox.base_url}/_sandbox/stats", headers={**headers, "Host": host}, timeout=5)
        assert ok.status_code == 200, host
    other_port = requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=5,
                              headers={**headers, "Host": f"127.0.0.1:{sandbox.port + 1}"})
    assert other_port.status_code == 421


def test_two_hundred_clients_at_once_get_no_reset(sandbox):
    errors: list[str] = []
    done: list[int] = []
    start = threading.Event()

    def client() -> None:
        start.wait()
        with requests.Session() as s:
            for _ in range(3):
                try:
                    r = s.get(f"{sandbox.base_url}/_sandbox/stats", headers={"x-api-key": sandbox.api_key},
                              timeout=30)
                    done.append(r.status_code)
                except requests.RequestException as e:
                    errors.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(200)]
    for t in threads:
        t.start()
    began = time.monotonic()
    start.set()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    assert done.count(200) == 600 and time.monotonic() - began < 30
    assert sandbox._httpd.thread_count() <= 256


def test_a_kept_sandbox_keeps_its_jobs_and_files_and_reset_empties_it(tmp_path):
    home = tmp_path / "home"
    first = open_embedded_sandbox(home)
    try:
        src = tmp_path / "p.png"
        src.write_bytes(png_bytes(1))
        url = first.add_file(src, "uploads/p.png")
        with PlaymentClient(first.base_url, first.project_id, first.api_key) as client:
            job = client.create_job({"reference_id": "kept-1", "work_flow_id": first.workflow_id,
                                     "data": {"image_url": url}})
    finally:
        first.stop()
    second = open_embedded_sandbox(home)
    try:
        assert [j["job_id"] for j in second.jobs()] == [job.job_id]
        assert second.own_file(url) is not None  # the URL of the former run still names its file
        with Journal(tmp_path / "j.sqlite") as journal:
            journal.mark_created("kept-1", job.job_id)
            journal.mark_created("older", "00000000-0000-4000-8000-000000000000")
            with PlaymentClient(second.base_url, second.project_id, second.api_key) as client:
                report = refresh_statuses(journal, client)
            states = {j.reference_id: j.status for j in report.jobs}
            assert states == {"kept-1": "created", "older": NOT_ON_SANDBOX} and not report.errors
            assert report.server.startswith("the sandbox at ")
            done = reset_sandbox(second, journal)
            assert (done.jobs, done.journal_entries) == (1, 2) and done.files >= 1
            assert journal.entry_count() == 0 and journal.remote_statuses() == {}
        assert second.jobs() == [] and second.own_file(url) is None
    finally:
        second.stop()


def test_the_disk_cap_prunes_the_oldest_files_and_says_so(tmp_path):
    home = tmp_path / "home"
    with SandboxServer(store=str(tmp_path / "s.sqlite"), files_dir=home / "files", results_dir=home / "results",
                       max_disk_bytes=1000) as sb:
        for i in range(5):
            (tmp_path / f"f{i}").write_bytes(bytes(300))
            resp = requests.put(f"{sb.base_url}/files/f{i}", data=(tmp_path / f"f{i}").read_bytes(),
                                headers={"x-api-key": sb.api_key}, timeout=5)
            assert resp.status_code == 201
            time.sleep(0.02)
        kept = sorted(p.name for p in (home / "files").iterdir())
        assert "f0" not in kept and "f4" in kept
        assert sb.notices and "oldest" in sb.notices[-1]
