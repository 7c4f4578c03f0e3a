"""Pause holds every new start and freezes rate/ETA; Cancel never turns an unsent row into a failure."""

from __future__ import annotations

import threading
import time

from playment_submit.core.bulk import BulkSubmitter
from playment_submit.core.bulk_rows import apply_results
from playment_submit.core.client import PlaymentClient, RetryPolicy
from playment_submit.core.journal import Journal
from playment_submit.core.manifest import SEND, check_manifest, read_csv
from playment_submit.core.storage import SandboxStorage
from tests.conftest import png_bytes


def _client(sb, n):
    return PlaymentClient(sb.base_url, sb.project_id, sb.api_key, pool_size=n, default_batch_id=sb.default_batch_id,
                          retry=RetryPolicy(backoff_base=0.01))


def _csv(tmp_path, rows):
    path = tmp_path / "m.csv"
    path.write_text("reference_id,image\n" + "".join(f"{r},{img}\n" for r, img in rows), encoding="utf-8")
    return path


def test_pause_holds_rows_already_queued_and_freezes_rate_and_eta(tmp_path, make_sandbox):
    sb = make_sandbox(latency_ms=40)
    journal = Journal(tmp_path / "j.sqlite")
    man = check_manifest(read_csv(_csv(tmp_path, [(f"r{i:03d}", f"https://example.com/{i}.png")
                                                  for i in range(60)]), workflow_id=sb.workflow_id), journal=journal)
    try:
        with _client(sb, 2) as client:
            sub = BulkSubmitter(client, journal, concurrency=2, progress_interval=0)
            paused = threading.Event()
            at_pause: dict[str, int] = {}

            def progress(p):
                if p.done >= 6 and not paused.is_set():
                    paused.set()
                    at_pause["jobs"] = len(sb.jobs())
                    sub.pause()

            sub.on_progress = progress
            out = {}
            t = threading.Thread(target=lambda: out.setdefault("s", sub.run(man.rows)))
            t.start()
            assert paused.wait(20)
            deadline = time.monotonic() + 10
            while sub.snapshot().in_flight and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.5)  # a queued row would have started (and been created) by now
            first = sub.snapshot()
            # the queue holds up to 2 x concurrency rows: they must wait too; only the 2 in flight finish
            assert len(sb.jobs()) - at_pause["jobs"] <= 2
            time.sleep(0.4)
            second = sub.snapshot()
            assert second.paused and second.in_flight == 0
            assert (second.done, second.rate, second.eta, second.elapsed) == \
                   (first.done, first.rate, first.eta, first.elapsed)
            assert first.rate > 0 and first.eta is not None
            sub.resume()
            t.join(30)
        assert out["s"].ok and len(sb.jobs()) == 60
        assert out["s"].elapsed < time.monotonic()  # measured on the active clock
    finally:
        journal.close()


class _CancelledMidUpload(SandboxStorage):
    """Sandbox storage whose first upload is interrupted by the user pressing Cancel."""

    def __init__(self, *a, on_put, **kw):
        super().__init__(*a, **kw)
        self._on_put = on_put

    def put(self, path, progress=None, cancel=None):
        self._on_put()
        return super().put(path, progress, cancel)


def test_a_row_cancelled_during_its_upload_stays_sendable(tmp_path, sandbox):
    img = tmp_path / "a.png"
    img.write_bytes(png_bytes(1, (64, 64)))
    journal = Journal(tmp_path / "j.sqlite")
    man = check_manifest(read_csv(_csv(tmp_path, [("only", str(img))]), workflow_id=sandbox.workflow_id),
                         journal=journal, allow_local_paths=True)
    try:
        with _client(sandbox, 1) as client:
            sub = BulkSubmitter(client, journal, concurrency=1, storage=None)
            sub.storage = _CancelledMidUpload(sandbox.base_url, sandbox.api_key, on_put=sub.cancel)
            summary = sub.run(man.rows)
        res = summary.results[0]
        assert summary.cancelled and res.status == "not_sent", res
        assert "failed" not in res.message.lower() and "next run" in res.message
        assert journal.get("only") is None or journal.get("only").state != "failed"
        apply_results(man.rows, summary.results)
        assert man.rows[0].action == SEND  # the next Submit sends it
        again = check_manifest(read_csv(_csv(tmp_path, [("only", str(img))]), workflow_id=sandbox.workflow_id),
                               journal=journal, allow_local_paths=True)
        assert again.rows[0].action == SEND and not again.rows[0].problems
    finally:
        journal.close()
