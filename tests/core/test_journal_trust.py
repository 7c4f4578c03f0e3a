"""The journal trusts no other process: created rows are never downgraded, one run claims it at a time,
a lock is "in use" (never "damaged"), a write waits for a lock and then says so in a sentence, and text
that no UTF-8 file can hold (lone surrogates) is stored without crashing a write."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from playment_submit.core.errors import DuplicateReferenceError, InvalidDataError, UsageError
from playment_submit.core.job import JobSpec
from playment_submit.core.journal import (
    AlreadyCreatedError,
    Journal,
    JournalBusyError,
    JournalClaimedError,
    JournalDamagedError,
    payload_hash,
)
from playment_submit.core.pipeline import create_journalled
from playment_submit.core.sanitise import one_line

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD = {"reference_id": "a", "work_flow_id": "w", "data": {"image_url": "https://x/a.png"}}


@pytest.fixture
def path(tmp_path):
    return tmp_path / "j.sqlite"


def _hold(path: Path) -> sqlite3.Connection:
    """Another process's writer, as SQLite sees it: a second connection holding BEGIN EXCLUSIVE."""
    con = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=5)
    con.execute("BEGIN EXCLUSIVE")
    return con


# ----------------------------------------------------------------------------- 1a. never downgraded
def test_a_created_row_is_never_downgraded_by_another_connection(path):
    with Journal(path) as winner, Journal(path) as loser:
        winner.mark_sending("r1", PAYLOAD)
        winner.mark_created("r1", "job-1")
        # What the losing run of two at once did: its own "sending", then "ambiguous" after a timeout.
        assert loser.mark_failed("r1", None, "timed out", ambiguous=True) is False
        assert loser.mark_failed("r1", "FS_0001", "duplicate") is False
        found = loser.mark_sending("r1", PAYLOAD)
        assert found is not None and (found.state, found.job_id) == ("created", "job-1")
        e = winner.get("r1")
        assert (e.state, e.job_id, e.status, e.attempts, e.code, e.message) == ("created", "job-1", "created", 1,
                                                                                 None, None)
        assert winner.counts()["ambiguous"] == 0
        # A row that is not created is written as before, and says so.
        assert loser.mark_sending("r2", PAYLOAD) is None
        assert loser.mark_failed("r2", "FS_0007", "not accessible") is True
        assert winner.get("r2").state == "failed"


def test_mark_sending_can_refuse_a_created_row(path):
    with Journal(path) as a, Journal(path) as b:
        a.mark_created("r1", "job-1")
        with pytest.raises(AlreadyCreatedError) as ei:
            b.mark_sending("r1", PAYLOAD, refuse_created=True)
        assert isinstance(ei.value, DuplicateReferenceError) and ei.value.existing_job_id == "job-1"
        assert "job-1" in str(ei.value) and '"r1"' in str(ei.value) and "not sent" in str(ei.value)
        assert a.get("r1").attempts == 1
        # mark_created still replaces a job (the job was deleted on Playment and created again)
        b.mark_created("r1", "job-2")
        assert a.get("r1").job_id == "job-2"


# ------------------------------------------------------------------------------------- 1b. claim
def test_claim_is_exclusive_names_the_holder_and_lets_short_writers_write(path):
    first, second = Journal(path), Journal(path)
    try:
        with first.claim("bulk run of 192 row(s) by playment-submit"):
            assert first.claimed
            t0 = time.monotonic()
            with pytest.raises(JournalClaimedError) as ei:
                second.claim("bulk run of 5 row(s)", wait=0.3)
            assert time.monotonic() - t0 >= 0.3
            err = ei.value
            text = str(err)
            assert isinstance(err, UsageError) and err.exit_code == 2
            assert err.holder is not None and err.holder.pid == os.getpid()
            for words in (f"process {os.getpid()}", one_line(socket.gethostname(), 100), "since",
                          "bulk run of 192 row(s) by playment-submit", "in use by another run", "Wait",
                          "--journal"):
                assert words in text, (words, text)
            assert "damaged" not in text
            # one-job writers (the window, `submit`) do not claim and are not blocked by a claim
            second.mark_sending("w1", PAYLOAD)
            second.mark_created("w1", "job-w1")
            assert first.get("w1").job_id == "job-w1"
        assert not first.claimed
        with second.claim("the next run", wait=0.5):  # released at the end of the first run
            assert json.loads(path.with_name(path.name + ".lock").read_text()[1:])["what"] == "the next run"
    finally:
        first.close()
        second.close()


def test_claim_waits_for_a_run_that_finishes(path):
    with Journal(path) as first, Journal(path) as second:
        claim = first.claim("short run")
        threading.Timer(0.3, claim.release).start()
        t0 = time.monotonic()
        with second.claim("waiting run", wait=5):
            assert 0.2 <= time.monotonic() - t0 < 4


def test_claim_is_reentrant_in_one_journal_and_released_by_close(path):
    j = Journal(path)
    outer = j.claim("outer")
    with j.claim("inner", wait=0):
        pass
    assert j.claimed
    j.close()  # a closed journal lets go of its claim
    with Journal(path) as other, other.claim("after close", wait=0):
        pass
    outer.release()  # harmless after close
    with Journal(":memory:") as mem, mem.claim("in memory", wait=0):
        assert mem.lock_path is None


def test_claim_of_another_process_is_named_and_goes_with_it(path):
    code = ("import sys, time\n"
            "from playment_submit.core.journal import Journal\n"
            f"j = Journal({str(path)!r})\n"
            "j.claim('bulk run of 7 row(s) by the other process')\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=str(ROOT))
    try:
        assert proc.stdout.readline().strip() == b"held"
        with Journal(path) as j:
            with pytest.raises(JournalClaimedError) as ei:
                j.claim("me", wait=0.2)
            assert f"process {proc.pid}" in str(ei.value) and "the other process" in str(ei.value)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            with j.claim("me", wait=5):  # the OS dropped the dead process's lock: no stale claim
                pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


# ------------------------------------------------------------------------ 2. in use is not damage
def test_a_locked_journal_is_in_use_not_damaged(tmp_path):
    path = tmp_path / "locked.sqlite"
    holder = sqlite3.connect(str(path), isolation_level=None)  # a rollback-journal database: readers wait too
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(JournalBusyError) as ei:
            Journal(path, busy_timeout=0.3)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    text = str(ei.value)
    assert "in use by another process" in text and "try again" in text and "cannot be opened" in text
    assert isinstance(ei.value, UsageError)
    for never in ("damaged", "move", "aside", "delete"):
        assert never not in text, (never, text)
    with Journal(path) as j:  # once free, it opens as usual
        assert j.entry_count() == 0


def test_a_journal_in_use_by_a_writer_opens_and_reads(path):
    with Journal(path) as j:
        j.mark_created("r1", "job-1")
    holder = _hold(path)
    try:
        with Journal(path, busy_timeout=0.3) as j:  # opening does not write to an existing journal
            assert j.get("r1").job_id == "job-1" and j.counts()["created"] == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_damaged_journal_says_keep_a_copy_never_delete(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalDamagedError) as ei:
        Journal(bad)
    text = str(ei.value)
    assert "damaged" in text and "Keep a copy" in text and "do not delete" in text
    assert "move" not in text and "aside" not in text
    assert bad.read_bytes() == b"this is not sqlite" * 100  # left as it was


# -------------------------------------------------------------------------- 3. busy writes
def test_a_write_waits_for_a_lock_and_other_threads_read_meanwhile(path):
    with Journal(path, busy_timeout=10) as j:
        j.mark_created("r0", "job-0")
        holder = _hold(path)
        threading.Timer(1.5, lambda: (holder.execute("COMMIT"), holder.close())).start()
        done = {}

        def write():
            t0 = time.monotonic()
            j.mark_sending("r1", PAYLOAD)
            done["write"] = time.monotonic() - t0

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        assert j.get("r0").job_id == "job-0"  # not stuck behind the waiting writer
        assert time.monotonic() - t0 < 0.8  # at most one of its 0.25 s waits, not the whole 1.5 s
        writer.join(10)
        assert done["write"] >= 1.0 and j.get("r1").state == "sending"


def test_a_write_locked_past_the_timeout_is_a_sentence(path):
    with Journal(path, busy_timeout=0.3) as j:
        j.mark_sending("r1", PAYLOAD)
        holder = _hold(path)
        try:
            with pytest.raises(JournalBusyError) as ei:
                j.mark_sending("r2", PAYLOAD)
            err = ei.value
            assert err.operation == "sending" and err.reference_id == "r2"
            assert "in use by another process" in str(err) and "Nothing was sent" in str(err)
            assert "damaged" not in str(err)
            with pytest.raises(JournalBusyError) as ei:
                j.mark_created("r1", "job-1")
            assert ei.value.operation == "created" and ei.value.job_id == "job-1" and "job-1" in str(ei.value)
            with pytest.raises(JournalBusyError) as ei:
                j.mark_failed("r1", None, "refused")
            assert ei.value.operation == "failed"
            assert j.get("r1").state == "sending"  # reads still work
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        j.mark_created("r1", "job-1")  # and writes once the other process is done
        assert j.get("r1").state == "created"


# ---------------------------------------------------------------------------- 4. lone surrogates
def test_lone_surrogates_are_written_and_the_reference_stays_findable(path):
    ref, other = "caf\udce9", "caf\udce8"  # Latin-1 file names decoded by Python with surrogateescape
    payload = {"reference_id": ref, "work_flow_id": "w", "data": {"image_url": "https://x/\ud800.png"}}
    with Journal(path) as j:
        assert j.mark_sending(ref, payload) is None
        j.mark_sending(other, PAYLOAD)
        assert j.entry_count() == 2  # two IDs, two rows: nothing is merged by replacing the surrogates
        e = j.get(ref)
        assert e.reference_id == ref and e.state == "sending" and e.payload == payload
        assert e.payload_hash == payload_hash(payload)
        assert j.get("caf\ufffd") is None
        j.mark_failed(ref, "FS\udc80", "bad \udc80 thing \x1b[31mred\x1b[0m " + "x" * 2000)
        e = j.get(ref)
        assert e.state == "failed" and "\x1b" not in e.message and "\udc80" not in e.message
        assert len(e.message) <= 500 and e.code == "FS\ufffd"
        j.mark_created(ref, "job-\udc81")
        assert j.get(ref).job_id == "job-\ufffd"
        assert set(j.get_many([ref, other, "zz"])) == {ref, other}
        assert {x.reference_id for x in j.entries()} == {ref, other}
        assert j.history(limit=1)[0].reference_id == ref
        j.mark_pending("p\udcff", payload)
    with Journal(path) as j:  # and after a reopen
        assert j.get(ref).state == "created" and j.get(other).state == "sending"
        assert j.get("p\udcff").state == "pending"
        j.forget(ref)
        assert j.get(ref) is None and j.entry_count() == 2


def test_a_server_message_with_surrogates_does_not_leave_the_row_sending(path):
    class Refusing:
        def create_job(self, spec, **kw):
            raise InvalidDataError("Playment refused the job's data. The server said: bad \udc80 value",
                                   code="FS_0003")

    spec = JobSpec("frame-\udce9", "w", "https://cdn.example.com/\ud800.png")
    with Journal(path) as j:
        with pytest.raises(InvalidDataError):
            create_journalled(spec, Refusing(), j)
        e = j.get("frame-\udce9")
        assert e.state == "failed" and e.code == "FS_0003" and "bad" in e.message
