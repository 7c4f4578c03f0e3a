"""core.bulk_run.BulkRun: the one bulk sequence, and the rows' live state that both front ends read."""

from __future__ import annotations

import threading
import time

from playment_submit.core.bulk_run import IN_FLIGHT, QUEUED, BulkOptions, BulkRun
from playment_submit.core.journal import Journal
from playment_submit.core.retry import RetryPolicy
from playment_submit.core.session import Session


def _session(sandbox, tmp_path) -> Session:
    return Session(sandbox.base_url, sandbox.project_id, sandbox.workflow_id, sandbox.api_key,
                   default_batch_id=sandbox.default_batch_id, journal=Journal(tmp_path / "j.sqlite"),
                   retry=RetryPolicy(backoff_base=0.01))


def _manifest(tmp_path, n: int):
    path = tmp_path / "m.csv"
    path.write_text("reference_id,image\n" + "".join(f"r{i},https://example.com/{i}.png\n" for i in range(n)),
                    encoding="utf-8")
    return path


def test_rows_in_flight_at_cancel_stay_in_flight_until_their_request_ends(make_sandbox, tmp_path):
    slow = make_sandbox(latency_ms=300)
    session = _session(slow, tmp_path)
    run = BulkRun(session, _manifest(tmp_path, 12), BulkOptions(concurrency=2))
    try:
        run.open()
        assert run.blocked() is None and run.preflight() == []
        submitter = run.prepare_send(progress_interval=0.01)
        out: dict = {}
        sender = threading.Thread(target=lambda: out.setdefault("summary", run.send()))
        sender.start()
        deadline = time.monotonic() + 10
        while run.in_flight() < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        in_flight = [r.row for r in run.manifest.rows if run.states.get(r.row) == IN_FLIGHT]
        assert len(in_flight) == 2 and run.states.count(QUEUED) > 0
        # their requests have left (the journal says "sending" just before each POST): a row started but not
        # past the rate gate when Cancel comes is truthfully "not sent", which a loaded machine can make happen
        refs = {r.row: r.reference_id for r in run.manifest.rows}

        def left(row: int) -> bool:
            entry = run.journal.get(refs[row])
            return entry is not None and entry.state in ("sending", "created")

        while time.monotonic() < deadline and not all(left(row) for row in in_flight):
            time.sleep(0.005)
        submitter.cancel()
        assert run.in_flight() == 2  # cancelled, but these two are still being sent: counted as such
        assert run.states.word(in_flight[0]) == "sending…"
        sender.join(20)
        summary = out["summary"]
        by_row = {r.row: r.status for r in summary.results}
        assert all(by_row[row] == "created" for row in in_flight)  # never "cancelled before it was sent"
        assert summary.cancelled and run.in_flight() == 0
        assert {r.reference_id for r in summary.results if r.status == "created"} == {
            j["reference_id"] for j in slow.jobs()}
    finally:
        run.close()
        session.close()


def test_the_dry_run_and_a_blocked_manifest_are_one_sentence_each(sandbox, tmp_path):
    session = _session(sandbox, tmp_path)
    path = tmp_path / "m.csv"
    path.write_text("reference_id,image\nok,https://example.com/a.png\nbad,ftp://example.com/b.png\n",
                    encoding="utf-8")
    run = BulkRun(session, path)
    try:
        run.open()
        assert run.blocked() == "Nothing was sent: 1 row(s) have errors."
        results, text = run.dry_run()
        assert text.startswith("Dry run: 1 row(s) would be sent") and [r.status for r in results] == [
            "would_send", "invalid"]
        run.options.valid_only = True
        assert run.blocked() is None
        assert run.check_summary().startswith("2 rows, 1 to send, 1 with errors.")
    finally:
        run.close()
        session.close()


def test_the_run_keeps_its_tally_as_the_rows_change_so_a_front_end_walks_no_row(sandbox, tmp_path):
    session = _session(sandbox, tmp_path)
    session.journal.mark_sending("r1", {"reference_id": "r1"})
    session.journal.mark_failed("r1", "GE_0001", "refused earlier")
    run = BulkRun(session, _manifest(tmp_path, 5))
    try:
        run.open(ask_server=False)
        assert run.tally == {"send": 4, "skip_failed": 1} and run.sendable_count() == 4
        assert "5 rows, 4 to send" in run.check_summary()
        summary = run.send()
        assert summary.counts().get("created") == 4 and len(sandbox.jobs()) == 4
        assert run.tally == {"done": 4, "skip_failed": 1} and run.sendable_count() == 0  # send applied the actions
        assert {r.action for r in run.manifest.rows} == {"done", "skip_failed"}
        assert run.mark_retry() == 1 and run.tally == {"done": 4, "retry": 1}
        assert run.send().counts().get("created") == 1 and len(sandbox.jobs()) == 5 and run.tally == {"done": 5}
    finally:
        run.close()
        session.close()
