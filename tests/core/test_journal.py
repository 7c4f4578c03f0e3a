"""The journal: states, payload hashes, history order, thread safety, durability across a killed process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from playment_submit.core.errors import UsageError
from playment_submit.core.journal import Journal, default_journal_path, payload_hash

PAYLOAD = {"reference_id": "a", "work_flow_id": "w", "data": {"image_url": "https://x/a.png"}}


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    yield j
    j.close()


def test_lifecycle_sending_created(journal):
    assert journal.get("a") is None
    journal.mark_sending("a", PAYLOAD)
    e = journal.get("a")
    assert (e.state, e.attempts, e.job_id, e.maybe_sent) == ("sending", 1, None, True)
    assert e.payload == PAYLOAD and e.payload_hash == payload_hash(PAYLOAD)
    journal.mark_created("a", "job-1", status="recovered")
    e = journal.get("a")
    assert (e.state, e.status, e.job_id, e.maybe_sent) == ("created", "recovered", "job-1", False)
    assert e.created_at <= e.updated_at


def test_failed_then_retry_counts_attempts_and_clears_error(journal):
    journal.mark_sending("a", PAYLOAD)
    journal.mark_failed("a", "FS_0007", "not accessible")
    e = journal.get("a")
    assert (e.state, e.code, e.message) == ("failed", "FS_0007", "not accessible")
    journal.mark_sending("a", PAYLOAD)
    e = journal.get("a")
    assert (e.state, e.code, e.message, e.attempts) == ("sending", None, None, 2)
    journal.mark_failed("a", None, "unknown outcome", ambiguous=True)
    assert journal.get("a").state == "ambiguous"


def test_pending_does_not_overwrite(journal):
    journal.mark_pending("a", PAYLOAD)
    assert journal.get("a").state == "pending"
    journal.mark_created("a", "j")
    journal.mark_pending("a", PAYLOAD)
    assert journal.get("a").state == "created"


def test_payload_hash_is_canonical():
    a = {"x": 1, "y": {"b": 2, "a": 1}}
    b = {"y": {"a": 1, "b": 2}, "x": 1}
    assert payload_hash(a) == payload_hash(b)
    assert payload_hash(a) != payload_hash({"x": 2, "y": {"a": 1, "b": 2}})


def test_history_newest_first_limit_and_counts(journal):
    for i in range(5):
        journal.mark_sending(f"r{i}", PAYLOAD)
    journal.mark_created("r1", "j1")
    hist = journal.history(limit=3)
    assert [e.reference_id for e in hist] == ["r1", "r4", "r3"]
    assert [e.reference_id for e in journal.history(states=["created"])] == ["r1"]
    assert journal.counts() == {"pending": 0, "sending": 4, "created": 1, "failed": 0, "ambiguous": 0}
    assert journal.entry_count() == 5
    assert set(journal.get_many(["r0", "r1", "zz"])) == {"r0", "r1"}


def test_reopen_keeps_rows(tmp_path):
    with Journal(tmp_path / "j.sqlite") as j:
        j.mark_created("a", "job-1")
    with Journal(tmp_path / "j.sqlite") as j:
        assert j.get("a").job_id == "job-1"


def test_threads_write_concurrently(journal):
    def work(k):
        for i in range(100):
            ref = f"t{k}-{i}"
            journal.mark_sending(ref, PAYLOAD)
            journal.mark_created(ref, f"j{k}-{i}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert journal.counts()["created"] == 800


def test_default_path_under_data_dir(tmp_path):
    p = default_journal_path("my profile/x")
    assert p.parent == tmp_path / "data" / "journals"
    assert p.name == "my_profile_x.sqlite"


def test_not_a_database_is_a_sentence(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UsageError) as ei:
        Journal(bad)
    assert "cannot be opened" in str(ei.value)


def test_write_survives_sigkill(tmp_path):
    """Once mark_sending returns, the row is on disk: a process killed right after keeps it."""
    path = tmp_path / "k.sqlite"
    code = (
        "import sys, time\n"
        "from core.journal import Journal\n"
        f"j = Journal({str(path)!r})\n"
        "for i in range(100000):\n"
        "    j.mark_sending(f'r{i}', {'i': i})\n"
        "    if i == 50: print('go', flush=True)\n"
        "    j.mark_created(f'r{i}', f'j{i}')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            cwd=str(Path(__file__).resolve().parents[2]))
    assert proc.stdout.readline().strip() == b"go"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Journal(path) as j:
        counts = j.counts()
        assert counts["created"] >= 50
        assert counts["sending"] <= 1  # at most the one in flight when killed
        assert counts["pending"] == counts["failed"] == 0


def test_an_empty_journal_is_still_true(tmp_path):
    """`if journal:` must mean "there is a journal", not "it has rows": an empty one was falsy and was skipped."""
    with Journal(tmp_path / "empty.sqlite") as j:
        assert j.entry_count() == 0
        assert bool(j) is True
        assert (j or None) is j


def test_a_long_runs_wal_is_checkpointed_and_kept_small(tmp_path):
    """Thousands of journalled rows in one open journal: SQLite's automatic checkpoints and the size limit
    keep the WAL file from growing with the rows."""
    from playment_submit.core.journal import Journal
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        payload = {"reference_id": "x", "data": {"image_url": "https://example.com/" + "a" * 400}}
        sizes = []
        for i in range(6000):
            journal.mark_sending(f"r{i}", payload)
            journal.mark_created(f"r{i}", f"job-{i}")
            if i % 1000 == 999:
                sizes.append((path.with_name("j.sqlite-wal")).stat().st_size)
        assert journal.run_sql(lambda db: db.execute("PRAGMA journal_size_limit").fetchone()[0]) == 16 << 20
    assert max(sizes) < 16 << 20, sizes  # 12,000 writes of ~0.6 KiB: the WAL stays near SQLite's 1,000 pages
