"""Live status: against the sandbox (status after completion) and a strict stub written from the API notes
(request counting: pages of 100 first, GET job only for jobs no page listed)."""

from __future__ import annotations

import json
import math
import re
import uuid
from urllib.parse import parse_qs, urlsplit

from playment_submit.core.cli import main
from playment_submit.core.client import PlaymentClient
from playment_submit.core.journal import Journal
from playment_submit.core.status import refresh_statuses
from tests.hostile import HostileServer, answer

KEY = "stub-key-0123456789"
PROJECT = "proj-1"


def _journal_job(journal, ref, job_id, batch_id=None):
    payload = {"reference_id": ref, "work_flow_id": str(uuid.uuid4()), "data": {"image_url": "https://x/a.jpg"}}
    if batch_id:
        payload["batch_id"] = batch_id
    journal.mark_sending(ref, payload)
    journal.mark_created(ref, job_id)


class StrictStub:
    """The documented endpoints only: /details, batch pages of at most 100 jobs, GET job; 401 without the key;
    ``invalid_request_error`` for a page token it did not give. Counts requests by kind."""

    def __init__(self, batch_id, jobs, off_page=(), page_size=100):
        self.batch_id, self.jobs = batch_id, jobs  # [(job_id, ref, status)] listed on pages
        self.page_size = page_size
        self.off_page = {j: (r, s) for j, r, s in off_page}  # jobs GET job knows but no page lists
        self.counts: dict[str, int] = {}
        self.server = HostileServer(self.handle)

    def handle(self, server, conn, req):
        if req.headers.get("x-api-key") != KEY:
            return answer(conn, 401, b"Unauthorized")
        parts = urlsplit(req.path)
        path, query = parts.path, parse_qs(parts.query)
        if path == f"/v1/projects/{PROJECT}/details":
            self.counts["details"] = self.counts.get("details", 0) + 1
            return answer(conn, 200, {"success": True, "data": {"name": "P", "base": "IMAGE", "batches": [
                {"id": self.batch_id, "name": "Default", "is_default": True, "total_jobs": len(self.jobs),
                 "completed_jobs": 0, "created_at": "2026-01-01T00:00:00Z", "status": "in progress"}]}})
        m = re.fullmatch(rf"/v1/projects/{PROJECT}/batch/([^/]+)", path)
        if m and m.group(1) == self.batch_id:
            self.counts["page"] = self.counts.get("page", 0) + 1
            token = (query.get("page_token") or ["0"])[0]
            if not token.isdigit():
                return answer(conn, 400, {"success": False, "error": {"code": "invalid_request_error",
                                                                      "message": "bad page token"}})
            start = int(token)
            size = self.page_size
            page = self.jobs[start:start + size]
            nxt = str(start + size) if start + size < len(self.jobs) else None
            return answer(conn, 200, {"success": True, "data": {"id": self.batch_id, "project_id": PROJECT,
                                                                "name": "Default", "next_page_token": nxt,
                                                                "jobs": [{"id": j, "reference_id": r, "status": s}
                                                                         for j, r, s in page]}})
        m = re.fullmatch(rf"/v1/projects/{PROJECT}/jobs/([^/]+)", path)
        if m:
            self.counts["job"] = self.counts.get("job", 0) + 1
            j = m.group(1)
            known = self.off_page.get(j) or next(((r, s) for jj, r, s in self.jobs if jj == j), None)
            if known is None:
                return answer(conn, 404, {"success": False, "error": {"code": "JOB_NOT_FOUND", "message": "no"}})
            return answer(conn, 200, {"success": True, "data": {"job_id": j, "reference_id": known[0],
                                                                "batch_id": self.batch_id, "status": known[1],
                                                                "project_id": PROJECT, "result": None}})
        answer(conn, 404, {"success": False, "error": {"code": "NOT_FOUND", "message": "no endpoint"}})


def _listed_and_journalled(tmp_path, listed: int, every: int, late: int):
    """``listed`` jobs on the stub's pages (every ``every``-th completed, the rest in progress) and ``late`` jobs
    only GET job knows, all journalled without a batch_id (the default batch, which /details names)."""
    batch = str(uuid.uuid4())
    jobs = [(str(uuid.uuid4()), f"ref-{i:04d}", "completed" if i % every == 0 else "in progress")
            for i in range(listed)]
    off = [(str(uuid.uuid4()), f"late-{i}", "created") for i in range(late)]
    stub = StrictStub(batch, jobs, off)
    journal = Journal(tmp_path / "j.sqlite")
    for j, r, _ in jobs + off:
        _journal_job(journal, r, j)
    return jobs, stub, journal


def test_status_for_2000_jobs_uses_pages_then_get_job_only_for_the_rest(tmp_path):
    jobs, stub, journal = _listed_and_journalled(tmp_path, 1995, 3, 5)
    try:
        with PlaymentClient(stub.server.base_url, PROJECT, KEY) as client:
            report = refresh_statuses(journal, client)
    finally:
        stub.server.stop()
    assert len(report.jobs) == 2000
    assert report.counts() == {"completed": 665, "in progress": 1330, "created": 5}
    pages, gets = stub.counts.get("page", 0), stub.counts.get("job", 0)
    assert gets == 5 and pages == math.ceil(1995 / 100)
    assert pages + gets <= math.ceil(2000 / 100) + 5
    stored = journal.remote_statuses()
    assert stored[jobs[0][0]].status == "completed" and stored[jobs[0][0]].checked_at


def test_a_server_with_smaller_pages_than_documented_is_still_listed_to_the_end(tmp_path):
    """The bound on a listing's pages follows the server's own page size (the sandbox pages 50 jobs): bounded
    by 100-job pages, 2,000 jobs of 50-job pages stopped after 25 pages and asked the rest one by one."""
    batch = str(uuid.uuid4())
    jobs = [(str(uuid.uuid4()), f"ref-{i:04d}", "completed") for i in range(2000)]
    stub = StrictStub(batch, jobs, page_size=50)
    journal = Journal(tmp_path / "j.sqlite")
    for j, r, _ in jobs:
        _journal_job(journal, r, j)
    try:
        with PlaymentClient(stub.server.base_url, PROJECT, KEY) as client:
            report = refresh_statuses(journal, client)
    finally:
        stub.server.stop()
    assert report.counts() == {"completed": 2000} and not report.errors
    assert stub.counts.get("page", 0) == 40 and stub.counts.get("job", 0) == 0


def test_final_jobs_are_not_asked_again(tmp_path):
    batch = str(uuid.uuid4())
    jobs = [(str(uuid.uuid4()), f"r{i}", "completed") for i in range(3)]
    stub = StrictStub(batch, jobs)
    journal = Journal(tmp_path / "j.sqlite")
    for j, r, _ in jobs:
        _journal_job(journal, r, j, batch)
    try:
        with PlaymentClient(stub.server.base_url, PROJECT, KEY) as client:
            refresh_statuses(journal, client)
            before = dict(stub.counts)
            again = refresh_statuses(journal, client)
    finally:
        stub.server.stop()
    assert stub.counts == before and again.requests == 0
    assert [j.status for j in again.jobs] == ["completed"] * 3


def test_status_after_completion_in_the_sandbox(sandbox, tmp_path, monkeypatch, capsys):
    journal_path = tmp_path / "j.sqlite"
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key) as c, Journal(journal_path) as journal:
        for i in range(3):
            job = {"reference_id": f"s{i}", "work_flow_id": sandbox.workflow_id,
                   "data": {"image_url": "https://example.com/a.jpg"}}
            journal.mark_sending(job["reference_id"], job)
            journal.mark_created(job["reference_id"], c.create_job(job).job_id)
    for k, v in {"PLAYMENT_BASE_URL": sandbox.base_url, "PLAYMENT_API_KEY": sandbox.api_key,
                 "PLAYMENT_PROJECT_ID": sandbox.project_id}.items():
        monkeypatch.setenv(k, v)
    assert main(["status", "--journal", str(journal_path), "--json"]) == 0
    first = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["status"] for r in first] == ["created"] * 3 and all(r["changed"] for r in first)
    sandbox.complete_jobs()
    assert main(["status", "--journal", str(journal_path)]) == 0
    out = capsys.readouterr()
    assert out.out.count("completed") == 3 and "(was created)" in out.out and out.out.startswith("*")
    assert "3 completed" in out.err
    assert main(["status", "--journal", str(journal_path), "--json"]) == 0
    last = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(r["status"] == "completed" and not r["changed"] and r["final"] for r in last)


def test_sandbox_statuses_progress_with_complete_after(make_sandbox):
    sb = make_sandbox(complete_after=0.0)
    with PlaymentClient(sb.base_url, sb.project_id, sb.api_key) as c:
        job = c.create_job({"reference_id": "p", "work_flow_id": sb.workflow_id,
                            "data": {"image_url": "https://example.com/a.jpg"}})
        info = c.get_job(job.job_id)
    assert info.status == "completed" and info.result["legend"]


class EndlessBatch:
    """A batch whose pages never end: every page names a fresh next page token. ``details``: what /details
    says about the batch's size (None: /details fails). ``entries``: the jobs each page lists."""

    def __init__(self, batch_id, entries, total_jobs=None, empty=False):
        self.batch_id, self.entries, self.total_jobs, self.empty = batch_id, entries, total_jobs, empty
        self.pages = 0
        self.server = HostileServer(self.handle)

    def handle(self, server, conn, req):
        path = urlsplit(req.path).path
        if path == f"/v1/projects/{PROJECT}/details":
            if self.total_jobs is None:
                return answer(conn, 500, b"down")
            return answer(conn, 200, {"success": True, "data": {"name": "P", "batches": [
                {"id": self.batch_id, "name": "B", "is_default": True, "total_jobs": self.total_jobs}]}})
        if path == f"/v1/projects/{PROJECT}/batch/{self.batch_id}":
            self.pages += 1
            jobs = [] if self.empty else self.entries
            return answer(conn, 200, {"success": True, "data": {"id": self.batch_id, "jobs": jobs,
                                                                "next_page_token": uuid.uuid4().hex}})
        m = re.fullmatch(rf"/v1/projects/{PROJECT}/jobs/([^/]+)", path)
        if m:
            return answer(conn, 200, {"success": True, "data": {"job_id": m.group(1), "status": "created"}})
        answer(conn, 404, {"success": False, "error": {"code": "NOT_FOUND", "message": "no"}})


def _run_status(tmp_path, monkeypatch, capsys, server, args):
    for k, v in {"PLAYMENT_BASE_URL": server.base_url, "PLAYMENT_API_KEY": KEY, "PLAYMENT_PROJECT_ID": PROJECT}.items():
        monkeypatch.setenv(k, v)
    code = main(["status", "--journal", str(tmp_path / "j.sqlite"), *args])
    return code, capsys.readouterr()


def test_status_ends_when_batch_pages_never_end_capped_from_the_details_totals(tmp_path, monkeypatch, capsys):
    batch, open_job = str(uuid.uuid4()), str(uuid.uuid4())
    with Journal(tmp_path / "j.sqlite") as journal:
        _journal_job(journal, "r-open", open_job, batch)  # never on a page: the pages list other jobs
    other = [{"id": str(uuid.uuid4()), "reference_id": f"x{i}", "status": "created"} for i in range(3)]
    endless = EndlessBatch(batch, other, total_jobs=3)
    try:
        code, out = _run_status(tmp_path, monkeypatch, capsys, endless.server, [])
    finally:
        endless.server.stop()
    assert code == 0
    # 3 jobs by the details (and a margin of 100): pages of 3 jobs, as its first page shows, so at most
    # ceil((3 + 100) / 3) + 3 pages, then the one open job asked by GET job.
    assert 1 < endless.pages <= math.ceil(103 / 3) + 3
    assert "did not end" in out.err and "1 open job(s) were asked one by one" in out.err
    assert "r-open" in out.out and "created" in out.out


def test_status_ends_on_the_hard_cap_when_the_details_cannot_be_read(tmp_path):
    from playment_submit.core.retry import RetryPolicy
    batch = str(uuid.uuid4())
    entries = [{"id": str(uuid.uuid4()), "reference_id": "x", "status": "created"}]
    endless = EndlessBatch(batch, entries, total_jobs=None)
    journal = Journal(tmp_path / "j.sqlite")
    _journal_job(journal, "r-open", str(uuid.uuid4()), batch)
    try:
        with PlaymentClient(endless.server.base_url, PROJECT, KEY, get_retries=0,
                            retry=RetryPolicy(max_listing_pages=12)) as client:
            report = refresh_statuses(journal, client)
    finally:
        endless.server.stop()
    assert endless.pages == 12
    assert any("did not end" in e and "kept the 0 job status(es)" in e for e in report.errors)
    assert report.page_requests == 12 and report.requests >= 14  # details + pages + the job by GET


def test_status_stops_at_empty_pages_that_name_a_next_page(tmp_path):
    batch = str(uuid.uuid4())
    endless = EndlessBatch(batch, [], total_jobs=None, empty=True)
    journal = Journal(tmp_path / "j.sqlite")
    _journal_job(journal, "r-open", str(uuid.uuid4()), batch)
    try:
        with PlaymentClient(endless.server.base_url, PROJECT, KEY, get_retries=0) as client:
            report = refresh_statuses(journal, client)
    finally:
        endless.server.stop()
    assert endless.pages == 3
    assert any("empty pages in a row" in e for e in report.errors)


def test_status_batch_skips_and_says_non_string_job_ids(tmp_path, monkeypatch, capsys):
    batch, good = str(uuid.uuid4()), str(uuid.uuid4())

    def script(server, conn, req):
        path = urlsplit(req.path).path
        if path.endswith("/details"):
            return answer(conn, 200, {"success": True, "data": {"batches": []}})
        answer(conn, 200, {"success": True, "data": {"id": batch, "next_page_token": None, "jobs": [
            {"id": True, "status": "created"}, {"id": {"a": 1}, "status": "created"}, {"id": 7},
            {"id": good, "reference_id": ["x"], "status": "created"}]}})

    with HostileServer(script) as server:
        for k, v in {"PLAYMENT_BASE_URL": server.base_url, "PLAYMENT_API_KEY": KEY,
                     "PLAYMENT_PROJECT_ID": PROJECT}.items():
            monkeypatch.setenv(k, v)
        code = main(["status", "--batch", batch, "--json"])
        out = capsys.readouterr()
    assert code == 0
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert [r["job_id"] for r in rows] == [good] and rows[0]["reference_id"] is None
    assert "3 entry(ies) without a usable job ID" in out.err


def test_status_counts_the_requests_that_failed(tmp_path, monkeypatch, capsys):
    batch = str(uuid.uuid4())
    with Journal(tmp_path / "j.sqlite") as journal:
        _journal_job(journal, "r-1", str(uuid.uuid4()), batch)

    def script(server, conn, req):
        answer(conn, 404, {"success": False, "error": {"code": "NOT_FOUND", "message": "no"}})

    with HostileServer(script) as server:
        code, out = _run_status(tmp_path, monkeypatch, capsys, server, [])
    assert code == 0
    assert "(0 request(s)" not in out.err and "(3 request(s) to Playment.)" in out.err


def test_status_of_many_jobs_keeps_them_in_the_journal_not_in_memory(tmp_path, monkeypatch):
    """keep_jobs=False (``playment-submit status``): the jobs are kept in a temporary table of the journal's
    connection and read back a page at a time; the lines, counts and requests are those of the kept report."""
    import gc

    from playment_submit.core import status_scope
    from playment_submit.core.status import JobStatus
    monkeypatch.setattr(status_scope, "PAGE", 40)
    _, stub, journal = _listed_and_journalled(tmp_path, 1500, 4, 3)
    live = []
    gc.collect()
    base = sum(1 for o in gc.get_objects() if type(o) is JobStatus)  # other tests' reports still alive
    try:
        with PlaymentClient(stub.server.base_url, PROJECT, KEY) as client:
            report = refresh_statuses(journal, client, keep_jobs=False)
            assert report.jobs == [] and report.counts() == {"completed": 375, "in progress": 1125, "created": 3}
            lines = []
            for n, j in enumerate(report.each_job()):
                lines.append((j.reference_id, j.job_id, j.status, j.previous))
                if n % 100 == 0:
                    live.append(sum(1 for o in gc.get_objects() if type(o) is JobStatus) - base)
            report.mark_seen()
            report.close()
            assert stub.counts.get("job", 0) == 3 and stub.counts.get("page", 0) == math.ceil(1500 / 100)
            kept = refresh_statuses(journal, client)  # all final or seen now: the same jobs, nothing changed
    finally:
        stub.server.stop()
    assert len(lines) == 1503 and [x[0] for x in lines] == sorted(x[0] for x in lines)
    assert max(live) <= 2, live  # the line in hand, never the report's jobs
    assert [(j.reference_id, j.job_id, j.status) for j in kept.jobs] == [x[:3] for x in lines]
    assert kept.summary().endswith("0 changed since the last look.") and report.summary().endswith(
        "1503 changed since the last look.")
    # the scope is gone with close(): nothing of it was written to the journal's file
    assert journal.run_sql(lambda db: db.execute("SELECT name FROM temp.sqlite_master").fetchall()) == []


def test_the_history_refresh_keeps_no_job_and_says_the_news_of_the_listed_ones_only(tmp_path):
    """core.status.refresh_and_mark_seen (the window's History, in its worker): no job line kept; the changes
    of the 500 listed entries only; every refreshed job seen afterwards."""
    from playment_submit.core.status import HISTORY_SHOWN, refresh_and_mark_seen
    _, stub, journal = _listed_and_journalled(tmp_path, 900, 2, 0)
    try:
        with PlaymentClient(stub.server.base_url, PROJECT, KEY) as client:
            first = refresh_and_mark_seen(journal, client)
            again = refresh_and_mark_seen(journal, client)
    finally:
        stub.server.stop()
    assert first.jobs == [] and first.scope is None and first.counts() == {"completed": 450, "in progress": 450}
    listed = {e.job_id for e in journal.history(HISTORY_SHOWN)}
    assert len(first.changes) == HISTORY_SHOWN and set(first.changes) == listed  # first seen: news, listed only
    assert set(first.changes.values()) == {None}
    assert again.changes == {} and again.summary().endswith("0 changed since the last look.")
    assert not any(rs.changed_since_seen for rs in journal.remote_statuses().values())
