"""Issue 21 item 7: a journal that cannot be written (disk full) stops a bulk run at the first failed write.

The fault is SQLite's own "database or disk is full" raised inside the journal's real write path (its
connection runner), against the sandbox over real HTTP."""

from __future__ import annotations

import sqlite3
import threading

from playment_submit.core.bulk import BulkSubmitter
from playment_submit.core.client import PlaymentClient, RetryPolicy
from playment_submit.core.journal import Journal
from playment_submit.core.manifest import check_manifest, read_csv


class FullAfter(Journal):
    """A journal whose ``n``-th "sending" write meets a full disk (and every write after it, as a full disk
    would)."""

    def __init__(self, path, n: int):
        super().__init__(path)
        self.n, self.sending, self.full = n, 0, False
        self._count_lock = threading.Lock()

    def _run(self, fn, op):
        if op.name in ("sending", "created", "failed", "pending"):
            with self._count_lock:
                if op.name == "sending":
                    self.sending += 1
                    if self.sending >= self.n:
                        self.full = True
                full = self.full

            if full:
                def fn(db):  # the write itself fails, as SQLite says it
                    raise sqlite3.OperationalError("database or disk is full")
        return super()._run(fn, op)


def _manifest(tmp_path, sb, n):
    path = tmp_path / "m.csv"
    path.write_text("reference_id,image\n" + "".join(f"r{i:03d},https://example.com/{i}.png\n" for i in range(n)),
                    encoding="utf-8")
    return check_manifest(read_csv(path, workflow_id=sb.workflow_id))


def test_first_failed_journal_write_stops_the_run_and_unsent_rows_are_not_sent(tmp_path, sandbox):
    man = _manifest(tmp_path, sandbox, 30)
    client = PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key,
                            default_batch_id=sandbox.default_batch_id, retry=RetryPolicy(backoff_base=0.01))
    with client, FullAfter(tmp_path / "j.sqlite", n=6) as journal:
        sub = BulkSubmitter(client, journal, concurrency=1)
        summary = sub.run(man.rows)
    assert sub.journal_stop is not None and "full" in (sub.journal_stop.sqlite_message or "")
    on_server = {j["reference_id"] for j in sandbox.jobs()}
    assert on_server == {f"r{i:03d}" for i in range(5)}  # exactly the rows committed before the failure
    by_status: dict[str, list[str]] = {}
    for r in summary.results:
        by_status.setdefault(r.status, []).append(r.reference_id)
    assert sorted(by_status) == ["created", "not_sent"], by_status
    assert len(by_status["not_sent"]) == 25 and "r005" in by_status["not_sent"]
    with Journal(tmp_path / "j.sqlite") as j:
        assert {e.reference_id for e in j.entries() if e.state == "created"} == on_server
    wal = tmp_path / "j.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # the WAL gives its space back on close


def test_cli_bulk_says_the_journal_could_not_be_written_and_exits_1(tmp_path, sandbox, monkeypatch, capsys):
    import playment_submit.core.journal as journal_module
    from playment_submit.core.cli import main

    manifest = tmp_path / "m.csv"
    manifest.write_text("reference_id,image\n" + "".join(f"c{i:03d},https://example.com/{i}.png\n"
                                                         for i in range(12)), encoding="utf-8")
    for k, v in dict(PLAYMENT_BASE_URL=sandbox.base_url, PLAYMENT_API_KEY=sandbox.api_key,
                     PLAYMENT_PROJECT_ID=sandbox.project_id, PLAYMENT_WORKFLOW_ID=sandbox.workflow_id,
                     PLAYMENT_CONFIG_DIR=str(tmp_path / "cfg"), PLAYMENT_DATA_DIR=str(tmp_path / "data")).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(journal_module, "Journal", lambda path, **kw: FullAfter(path, n=4))
    code = main(["bulk", str(manifest), "--concurrency", "1", "--default-batch-id", sandbox.default_batch_id,
                 "--journal", str(tmp_path / "j.sqlite"), "--results", str(tmp_path / "res.csv")])
    err = capsys.readouterr().err
    assert code == 1
    assert "could not be written" in err and "nothing more was sent" in err and "run the same command again" in err
    assert "Traceback" not in err and "failed" not in err.split("Journal:")[0]
    assert {j["reference_id"] for j in sandbox.jobs()} == {"c000", "c001", "c002"}
    # the streamed run stops taking rows from its store: every row after the failed write is "not sent"
    import csv
    with open(tmp_path / "res.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["created"] * 3 + ["not_sent"] * 9
    assert all("journal" in r["message"].lower() and "be written" in r["message"] for r in rows[3:])
