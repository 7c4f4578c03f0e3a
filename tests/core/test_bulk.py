"""The bulk engine against a real sandbox: exactly once, resume, reconcile, failures, rate, back-off, cancel."""

from __future__ import annotations

import threading
import time

import pytest

from playment_submit.core.bulk import BulkSubmitter, RateGate
from playment_submit.core.client import PlaymentClient, RetryPolicy
from playment_submit.core.journal import Journal
from playment_submit.core.manifest import Manifest, check_manifest, read_csv


def _client(sb, n=8):
    return PlaymentClient(sb.base_url, sb.project_id, sb.api_key, pool_size=n, default_batch_id=sb.default_batch_id,
                          retry=RetryPolicy(backoff_base=0.01, max_attempts=6))


def _manifest(tmp_path, sb, n=20, image=None) -> Manifest:
    path = tmp_path / "m.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("reference_id,image\n")
        for i in range(n):
            fh.write(f"r{i:04d},{image or f'https://example.com/{i}.png'}\n")
    return read_csv(path, workflow_id=sb.workflow_id)


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    yield j
    j.close()


def _run(tmp_path, sb, journal, n=20, **kw):
    man = check_manifest(_manifest(tmp_path, sb, n, kw.pop("image", None)), journal=journal,
                         retry_failed=kw.pop("retry_failed", False))
    with _client(sb, kw.get("concurrency", 8)) as client:
        return BulkSubmitter(client, journal, **kw).run(man.rows)


def test_sends_each_row_once_and_rerun_sends_nothing(tmp_path, sandbox, journal):
    seen = []
    summary = _run(tmp_path, sandbox, journal, 40, progress=seen.append, progress_interval=0)
    assert summary.ok and summary.counts() == {"created": 40}
    server = {j["reference_id"]: j["job_id"] for j in sandbox.jobs()}
    assert len(server) == 40
    assert all(journal.get(r).job_id == jid for r, jid in server.items())
    assert seen[-1].done == 40 and seen[-1].total == 40 and seen[-1].failed == 0
    posts = sandbox.stats()["POST jobs"]
    again = _run(tmp_path, sandbox, journal, 40)
    assert again.counts() == {"skipped": 40} and again.ok
    assert sandbox.stats()["POST jobs"] == posts


def test_interrupted_row_is_reconciled_not_duplicated(tmp_path, sandbox, journal):
    man = _manifest(tmp_path, sandbox, 3)
    with _client(sandbox) as client:
        first = client.create_job(man.rows[0].spec)  # the server has it; the crash hid the answer
    journal.mark_sending("r0000", man.rows[0].spec.to_payload())
    summary = _run(tmp_path, sandbox, journal, 3)
    by_ref = {r.reference_id: r for r in summary.results}
    assert by_ref["r0000"].status == "recovered" and by_ref["r0000"].job_id == first.job_id
    assert len(sandbox.jobs()) == 3
    assert journal.get("r0000").job_id == first.job_id


def test_refused_rows_fail_and_retry_only_when_asked(tmp_path, sandbox, journal):
    missing = sandbox.file_url("nope.png")  # the sandbox answers FS_0007 for its own missing files
    summary = _run(tmp_path, sandbox, journal, 3, image=missing)
    assert summary.counts() == {"failed": 3} and not summary.ok
    assert all(r.code == "FS_0007" for r in summary.results)
    assert journal.get("r0001").state == "failed"
    posts = sandbox.stats()["POST jobs"]
    again = _run(tmp_path, sandbox, journal, 3, image=missing)
    assert again.counts() == {"not_sent": 3}
    assert sandbox.stats()["POST jobs"] == posts
    retried = _run(tmp_path, sandbox, journal, 3, image=missing, retry_failed=True)
    assert retried.counts() == {"failed": 3}
    assert sandbox.stats()["POST jobs"] == posts + 3
    assert journal.get("r0001").attempts == 2


def test_changed_row_is_reported_not_resent(tmp_path, sandbox, journal):
    _run(tmp_path, sandbox, journal, 2)
    posts = sandbox.stats()["POST jobs"]
    summary = _run(tmp_path, sandbox, journal, 2, image="https://example.com/other.png")
    assert summary.counts() == {"changed": 2}
    assert sandbox.stats()["POST jobs"] == posts


def test_rate_spaces_job_starts(tmp_path, sandbox, journal):
    t0 = time.monotonic()
    summary = _run(tmp_path, sandbox, journal, 11, rate=20.0)
    assert summary.ok
    assert time.monotonic() - t0 >= 0.45  # 11 starts at 20/s need at least 10 intervals of 50 ms


def test_429_holds_every_worker(tmp_path, sandbox, journal):
    sandbox.queue_response(429, "<html>slow down</html>", headers={"Retry-After": "0.6"})
    man = check_manifest(_manifest(tmp_path, sandbox, 12), journal=journal)
    with _client(sandbox, 4) as client:
        sub = BulkSubmitter(client, journal, concurrency=1)
        t0 = time.monotonic()
        summary = sub.run(man.rows)
    assert summary.ok and len(sandbox.jobs()) == 12
    assert sub.gate.backoffs == 1
    assert time.monotonic() - t0 >= 0.6


def test_gate_cancel_returns_false():
    gate = RateGate(0.5)
    cancel = threading.Event()
    assert gate.acquire(cancel)
    cancel.set()
    assert not gate.acquire(cancel)
    with pytest.raises(ValueError):
        RateGate(0)


def test_cancel_lets_in_flight_finish_and_rerun_completes(tmp_path, make_sandbox, tmp_path_factory):
    sb = make_sandbox(latency_ms=20)
    journal = Journal(tmp_path / "j.sqlite")
    try:
        man = check_manifest(_manifest(tmp_path, sb, 200), journal=journal)
        with _client(sb, 4) as client:
            sub = BulkSubmitter(client, journal, concurrency=4, progress_interval=0)
            sub.on_progress = lambda p: sub.cancel() if p.done >= 10 else None
            summary = sub.run(man.rows)
        c = summary.counts()
        assert summary.cancelled and not summary.ok
        assert 10 <= c["created"] < 200 and c["not_sent"] == 200 - c["created"]
        assert journal.counts()["sending"] == 0  # everything started was journalled to the end
        assert journal.counts()["created"] == c["created"] == len(sb.jobs())
        rerun = _run(tmp_path, sb, journal, 200)
        assert rerun.ok and rerun.counts()["created"] == 200 - c["created"]
        refs = [j["reference_id"] for j in sb.jobs()]
        assert len(refs) == len(set(refs)) == 200
    finally:
        journal.close()


def test_pause_and_resume(tmp_path, sandbox, journal):
    man = check_manifest(_manifest(tmp_path, sandbox, 30), journal=journal)
    with _client(sandbox, 2) as client:
        sub = BulkSubmitter(client, journal, concurrency=2)
        sub.pause()
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("s", sub.run(man.rows)))
        t.start()
        time.sleep(0.3)
        assert sub.paused and len(sandbox.jobs()) == 0  # paused before the start: nothing queued
        sub.resume()
        t.join(20)
    assert out["s"].ok and len(sandbox.jobs()) == 30


def test_invalid_rows_are_not_sent(tmp_path, sandbox, journal):
    path = tmp_path / "m.csv"
    path.write_text("reference_id,image\nok,https://x.io/a.png\nbad,ftp://x.io/b.png\n")
    man = check_manifest(read_csv(path, workflow_id=sandbox.workflow_id), journal=journal)
    with _client(sandbox) as client:
        summary = BulkSubmitter(client, journal).run(man.rows)
    assert [r.status for r in summary.results] == ["created", "invalid"]
    assert "ftp" in summary.results[1].message
    assert [j["reference_id"] for j in sandbox.jobs()] == ["ok"]


def test_rejected_key_stops_the_run(tmp_path, sandbox, journal):
    man = check_manifest(_manifest(tmp_path, sandbox, 50), journal=journal)
    client = PlaymentClient(sandbox.base_url, sandbox.project_id, "wrong-key", pool_size=2)
    with client:
        sub = BulkSubmitter(client, journal, concurrency=2)
        summary = sub.run(man.rows)
    c = summary.counts()
    assert sub.fatal is not None and "API key" in str(sub.fatal)
    assert c["failed"] <= 2 and c["not_sent"] >= 48  # no more than the rows already in flight were tried
    assert sandbox.stats().get("POST jobs", 0) <= 2


def test_cli_folder_mode_writes_manifest_and_dry_run_sends_nothing(tmp_path, sandbox, monkeypatch, capsys):
    from PIL import Image

    from playment_submit.core.cli import main
    for sub in ("images", "left"):
        (tmp_path / "drive" / sub).mkdir(parents=True)
        for n in ("001", "002"):
            Image.new("RGB", (4, 4)).save(tmp_path / "drive" / sub / f"{n}.png")
    for k, v in (("PLAYMENT_BASE_URL", sandbox.base_url), ("PLAYMENT_API_KEY", sandbox.api_key),
                 ("PLAYMENT_PROJECT_ID", sandbox.project_id), ("PLAYMENT_WORKFLOW_ID", sandbox.workflow_id)):
        monkeypatch.setenv(k, v)
    out = tmp_path / "review.csv"
    code = main(["bulk", str(tmp_path / "drive"), "--dry-run", "--write-manifest", str(out), "--upload-to", "none"])
    err = capsys.readouterr().err
    assert code == 1  # local files and storage switched off: said per row, nothing sent
    assert "row 2, data.image_url" in err and "Configure storage" in err
    assert out.read_text().splitlines()[1].startswith("001,drive/images/001.png,left=drive/left/001.png")
    # Against a local sandbox its own storage is the default, so the same rows check clean.
    assert main(["bulk", str(tmp_path / "drive"), "--dry-run"]) == 0
    assert sandbox.stats().get("POST jobs", 0) == 0 and sandbox.stats().get("PUT files", 0) == 0

    urls = tmp_path / "urls.csv"
    urls.write_text("reference_id,image\na,https://x.io/a.png\nb,https://x.io/b.png\n")
    assert main(["bulk", str(urls), "--dry-run"]) == 0
    assert "2 row(s) would be sent" in capsys.readouterr().err
    assert sandbox.stats().get("POST jobs", 0) == 0


# ------------------------------------------------------------------ trust no other run (journal)
def test_a_run_on_a_journal_claimed_by_another_run_is_refused_naming_it(tmp_path, sandbox, journal):
    import os

    from playment_submit.core.journal import JournalClaimedError
    man = check_manifest(_manifest(tmp_path, sandbox, 3), journal=journal)
    other = Journal(journal.path)  # the first run, in another process as far as the lock is concerned
    try:
        with other.claim("bulk run of 192 row(s) by playment-submit"), _client(sandbox) as client, \
                pytest.raises(JournalClaimedError) as ei:
            BulkSubmitter(client, journal, claim_wait=0.3).run(man.rows)
        assert ei.value.exit_code == 2 and f"process {os.getpid()}" in str(ei.value)
        assert "192 row(s)" in str(ei.value) and "--journal" in str(ei.value)
        assert sandbox.stats().get("POST jobs", 0) == 0  # refused before anything was sent
    finally:
        other.close()
    summary = _run(tmp_path, sandbox, journal, 3)  # the first run is over: this one goes ahead
    assert summary.ok and summary.counts() == {"created": 3}
    assert not journal.claimed  # let go at the end of the run


def test_a_losing_run_cannot_downgrade_created_rows(tmp_path, sandbox, journal):
    assert _run(tmp_path, sandbox, journal, 5).counts() == {"created": 5}
    created = {e.reference_id: e.job_id for e in journal.entries()}
    with Journal(journal.path) as loser:  # what the loser of two runs at once wrote for every row
        for ref in created:
            loser.mark_sending(ref, {"reference_id": ref})
            loser.mark_failed(ref, None, "Stopped by cancel while retrying.", ambiguous=True)
    assert {e.reference_id: (e.state, e.job_id) for e in journal.entries()} == {
        r: ("created", j) for r, j in created.items()}
    posts = sandbox.stats()["POST jobs"]
    again = _run(tmp_path, sandbox, journal, 5)
    assert again.ok and again.counts() == {"skipped": 5}  # not "5 ambiguous", exit 1, forever
    assert sandbox.stats()["POST jobs"] == posts


def test_a_row_created_by_another_run_meanwhile_is_skipped_not_sent(tmp_path, sandbox):
    path = tmp_path / "race.sqlite"
    other = Journal(path)

    class Racing(Journal):
        """The other run writes "created" for r0001 right after this run read the row."""

        raced = False

        def get(self, reference_id):
            entry = super().get(reference_id)
            if reference_id == "r0001" and not Racing.raced:
                Racing.raced = True
                other.mark_created("r0001", "job-from-the-other-run")
            return entry

    journal = Racing(path)
    try:
        summary = _run(tmp_path, sandbox, journal, 3)
        by_ref = {r.reference_id: r for r in summary.results}
        assert by_ref["r0001"].status == "skipped" and by_ref["r0001"].job_id == "job-from-the-other-run"
        assert "another run" in by_ref["r0001"].message
        assert summary.ok and sandbox.stats()["POST jobs"] == 2
        assert sorted(j["reference_id"] for j in sandbox.jobs()) == ["r0000", "r0002"]
        e = journal.get("r0001")
        assert (e.state, e.job_id, e.attempts) == ("created", "job-from-the-other-run", 1)
    finally:
        journal.close()
        other.close()


def test_a_journal_locked_mid_run_gives_every_row_a_result(tmp_path, sandbox):
    import sqlite3

    path = tmp_path / "locked.sqlite"
    holder: list[sqlite3.Connection] = []
    lock = threading.Lock()

    class LockingClient(PlaymentClient):
        """After the first job is created, another process takes the journal's write lock and keeps it."""

        def create_job(self, *a, **kw):
            created = super().create_job(*a, **kw)
            with lock:
                if not holder:
                    con = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
                    con.execute("BEGIN EXCLUSIVE")
                    holder.append(con)
            return created

    journal = Journal(path, busy_timeout=0.3)
    man = check_manifest(_manifest(tmp_path, sandbox, 6), journal=journal)
    client = LockingClient(sandbox.base_url, sandbox.project_id, sandbox.api_key, pool_size=2,
                           default_batch_id=sandbox.default_batch_id, retry=RetryPolicy(backoff_base=0.01))
    out: dict = {}

    def run():
        try:
            out["summary"] = BulkSubmitter(client, journal, concurrency=2).run(man.rows)
        except BaseException as e:  # reported below: the test must not hang on a dead worker
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)
    try:
        assert not t.is_alive() and "error" not in out, out.get("error")
        results = out["summary"].results
        # the first failed journal write stops the run: rows never sent are "not sent", never "failed"
        assert len(results) == 6 and {r.status for r in results} <= {"ambiguous", "not_sent"}
        server = {j["reference_id"]: j["job_id"] for j in sandbox.jobs()}
        for r in results:
            if r.reference_id in server:  # sent, then the outcome could not be recorded
                assert "in use by another process" in r.message and r.code == "journal_busy", r
                assert r.status == "ambiguous" and r.job_id == server[r.reference_id]
            else:
                assert r.status == "not_sent" and ("Nothing was sent" in r.message
                                                   or "journal could not be written" in r.message), r
    finally:
        for con in holder:
            con.execute("ROLLBACK")
            con.close()
        client.close()
        journal.close()
    with Journal(path) as j:  # the other process is gone: the next run finishes the job, exactly once
        summary = _run(tmp_path, sandbox, j, 6)
        assert summary.ok, summary.results
        assert {r.reference_id: r.status for r in summary.results if r.reference_id in server} == {
            ref: "recovered" for ref in server}
        jobs = {jj["reference_id"]: jj["job_id"] for jj in sandbox.jobs()}
        assert len(sandbox.jobs()) == 6 and all(j.get(r).job_id == jid for r, jid in jobs.items())


def test_an_unexpected_worker_error_never_loses_a_row(tmp_path, sandbox):
    class Broken(Journal):
        def get(self, reference_id):
            if reference_id == "r0002":
                raise RuntimeError("disk on fire")
            return super().get(reference_id)

    journal = Broken(tmp_path / "b.sqlite")
    try:
        summary = _run(tmp_path, sandbox, journal, 4, concurrency=2)
    finally:
        journal.close()
    by_ref = {r.reference_id: r for r in summary.results}
    assert len(summary.results) == 4
    assert by_ref["r0002"].status == "ambiguous" and "RuntimeError" in by_ref["r0002"].message
    assert [by_ref[f"r000{i}"].status for i in (0, 1, 3)] == ["created"] * 3


def test_a_callback_error_stops_the_run_and_is_raised_after_it(tmp_path, sandbox, journal):
    def on_result(r):
        raise BrokenPipeError("stdout is gone")

    man = check_manifest(_manifest(tmp_path, sandbox, 20), journal=journal)
    out: dict = {}

    def run():
        try:
            out["summary"] = BulkSubmitter(client, journal, concurrency=2, on_result=on_result).run(man.rows)
        except BaseException as e:
            out["error"] = e

    with _client(sandbox, 2) as client:
        t = threading.Thread(target=run, daemon=True)  # a dead worker used to leave the run stuck for good
        t.start()
        t.join(60)
        assert not t.is_alive()
    assert isinstance(out.get("error"), BrokenPipeError)
    assert journal.counts()["sending"] == 0  # whatever started was journalled to the end
    assert len(sandbox.jobs()) == journal.counts()["created"] < 20


def test_retry_failed_reconciles_a_row_the_server_has(tmp_path, sandbox, journal):
    man = _manifest(tmp_path, sandbox, 3)
    with _client(sandbox) as client:
        first = client.create_job(man.rows[0].spec)  # created, though the journal recorded a failure
    journal.mark_sending("r0000", man.rows[0].spec.to_payload())
    journal.mark_failed("r0000", "FS_0000", "Playment had a server-side fault.")
    summary = _run(tmp_path, sandbox, journal, 3, retry_failed=True)
    by_ref = {r.reference_id: r for r in summary.results}
    assert by_ref["r0000"].status == "recovered" and by_ref["r0000"].job_id == first.job_id  # not FS_0001
    assert summary.ok and len(sandbox.jobs()) == 3
    assert journal.get("r0000").job_id == first.job_id


def test_bulk_warns_about_the_default_batch_only_when_the_project_details_do_not_name_it(tmp_path, sandbox,
                                                                                        monkeypatch, capsys):
    """The default batch is read from /details, so a run without --default-batch-id can still recover an
    interrupted creation and must not tell the user to pass it."""
    from playment_submit.core.cli import main
    for k, v in (("PLAYMENT_BASE_URL", sandbox.base_url), ("PLAYMENT_API_KEY", sandbox.api_key),
                 ("PLAYMENT_PROJECT_ID", sandbox.project_id), ("PLAYMENT_WORKFLOW_ID", sandbox.workflow_id)):
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("PLAYMENT_DEFAULT_BATCH_ID", raising=False)
    urls = tmp_path / "urls.csv"
    urls.write_text("reference_id,image\na,https://x.io/a.png\n")
    assert main(["bulk", str(urls), "--journal", str(tmp_path / "j.sqlite")]) == 0
    err = capsys.readouterr().err
    assert "--default-batch-id" not in err
    assert sandbox.stats().get("POST jobs", 0) == 1
