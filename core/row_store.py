"""The compact state of a streamed bulk run (core.bulk_stream): one SQLite row per manifest row, so that a run
of a million rows holds none of them in memory.

- ``rows``: the row's position (its place in the manifest, from 0: the table's key), number, reference ID and
  action (what the check decided); for a row with a job, where its payload is (JSON, as the check built it),
  read back a page at a time when it is sent; for a row the check found problems in, the problems (pickled,
  as core made them: only this process reads them back) and their one-line summary; for every row, once
  known, its result (status, job ID, error code, message).
- ``blocks``: the payloads, ``BLOCK`` rows' to a deflated block (one JSON encoding and one deflate a block cost
  a row a third of its own).
- ``refs``: each reference ID with the first row that used it, so that a duplicate is found before anything
  is sent, whichever chunk its first row was in (core.manifest_refs).

The database is SQLite's private temporary one (``sqlite3.connect("")``): a file in the system's temporary
folder that SQLite deletes when it is closed, or the process ends, however it ends. It is not the journal: the
journal stays the record of what was sent; this store is what the run has checked, rebuilt by every run. Its
page cache is bounded (core.tempdb), so memory stays flat however many rows it holds. One lock: the check's
thread, the send's feeder and its workers (results, written in groups of ``RESULT_GROUP``) share it, and so
does the window's table (core.bulk_view), which reads a page at a time and so never waits long for it.

After a send, :meth:`RowStore.apply_next_actions` gives each row its next action (core.bulk_rows.next_action),
as :meth:`BulkRun.send <playment_submit.core.bulk_run.BulkRun.send>` does for rows in memory, so that the
window can send again, retry the failed rows, or show what each row now is.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .bulk import RowResult, unsent_result
from .bulk_rows import next_action, problem_summary, without_retry_warning
from .errors import Problem, UsageError
from .job import JobSpec
from .journal import stored_key, unkey
from .manifest import DONE, RETRY, SENDABLE, SKIP_FAILED, ManifestRow
from .tempdb import full_sentence, private_db

PAGE = 1000           # rows read back at a time
RESULT_GROUP = 500    # results written at once
_IN = 500             # reference IDs per look-up
_WBITS = 10           # deflate's window for a row's problems: 1 KiB
BLOCK = 64            # payloads kept in one block
STEP = 20000          # rows a statement over every row changes under the lock at once
_SENDS = ",".join("?" * len(SENDABLE))  # "action IN (...)": the actions a send takes


def pack(data: bytes, *, small: bool = True) -> bytes:
    """``data`` deflated for the store (raw deflate). ``small``: a 1 KiB window and a small hash table, whose
    set-up costs a few microseconds (``zlib.compress``'s default state takes about 30 here: most of the cost
    of a few hundred bytes) and which compresses such data as well; else deflate's whole window (a block)."""
    c = zlib.compressobj(1, zlib.DEFLATED, -_WBITS, 2) if small else zlib.compressobj(1, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def unpack(blob: bytes) -> bytes:
    return zlib.decompress(blob, -15)  # a 32 KiB window reads what a smaller one wrote


def _decode(block: bytes) -> list[dict[str, Any]]:
    payloads: list[dict[str, Any]] = json.loads(unpack(block).decode("utf-8", "surrogatepass"))
    return payloads


def problems_record(problems: list[Problem]) -> tuple[bytes | None, str | bytes | None]:
    """A row's problems as the store keeps them: pickled and deflated, and their one-line summary (a message
    quoting a file name's undecodable bytes kept as core.journal.stored_key keeps it); (None, None) for none."""
    if not problems:
        return None, None
    return pack(pickle.dumps(problems, pickle.HIGHEST_PROTOCOL)), stored_key(problem_summary(problems))


def problems_of(blob: bytes | None) -> list[Problem]:
    """A row's problems back from :func:`problems_record`'s blob."""
    return pickle.loads(unpack(blob)) if blob else []


class RowStoreError(UsageError):
    """The row store cannot be written (its disk is full): an environment trouble, exit status 2."""


@contextmanager
def _said() -> Iterator[None]:
    """SQLite's errors as a sentence that says where the store is and what to do."""
    try:
        yield
    except sqlite3.Error as e:
        raise RowStoreError(full_sentence("The bulk run's row store", e) + ", then run the same command again: "
                            "rows the journal holds as created are skipped.") from e


class RowStore:
    """See the module's doc. Thread-safe; close it when the run ends. SQLite's errors are raised as
    :class:`RowStoreError` (a sentence, exit status 2)."""

    def __init__(self, *, by_ref: bool = False) -> None:
        """``by_ref``: index the rows by reference ID too (the window's table sorts by it)."""
        self._lock = threading.Lock()
        self._db = private_db()
        self._db.execute("CREATE TABLE rows (pos INTEGER PRIMARY KEY, row INTEGER NOT NULL, ref TEXT, "
                         "action TEXT NOT NULL, sends INTEGER NOT NULL, no_batch INTEGER NOT NULL, block INTEGER, "
                         "slot INTEGER, problems BLOB, summary TEXT, status TEXT, job_id TEXT, code TEXT, "
                         "message TEXT)")
        self._db.execute("CREATE INDEX rows_row ON rows (row)")
        if by_ref:
            self._db.execute("CREATE INDEX rows_ref ON rows (ref, pos)")
        self._db.execute("CREATE TABLE refs (ref TEXT PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID")
        self._db.execute("CREATE TABLE blocks (block INTEGER PRIMARY KEY, data BLOB NOT NULL)")
        self._blocks = 0
        # core's rules, for statements that apply them to every row without reading the rows out
        self._db.create_function("next_action", 3, lambda status, action, retry: next_action(
            status, action, retry_failed=bool(retry)), deterministic=True)
        self._pending: list[tuple[Any, ...]] = []
        self.count = 0  # rows kept
        self._sent = False  # whether a send ran (a send after it starts from the rows' next actions)

    # ------------------------------------------------------------------------- the check
    def first_rows(self, refs: list[str]) -> dict[str, int]:
        """The first row of each of ``refs`` seen before (core.manifest_refs.RefIndex)."""
        out: dict[str, int] = {}
        with self._lock:
            for start in range(0, len(refs), _IN):
                part = refs[start:start + _IN]
                sql = f"SELECT ref, row FROM refs WHERE ref IN ({','.join('?' * len(part))})"
                out.update((unkey(ref), row) for ref, row in self._db.execute(sql, [stored_key(r) for r in part]))
        return out

    def add_refs(self, pairs: list[tuple[str, int]]) -> None:
        with self._lock:
            self._many("INSERT OR IGNORE INTO refs (ref, row) VALUES (?, ?)", [(stored_key(r), n) for r, n in pairs])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """The statements inside as one transaction (the connection commits each statement alone otherwise),
        rolled back when one fails; the caller holds the lock."""
        with _said():
            self._db.execute("BEGIN")
            try:
                yield
            except BaseException:
                if self._db.in_transaction:  # a full disk may have rolled it back already
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _many(self, sql: str, records: Sequence[Sequence[Any]], *more: tuple[str, Sequence[Sequence[Any]]]) -> None:
        """One statement over many records (and ``more`` statements, each with its records) in one transaction;
        the caller holds the lock."""
        with self._transaction():
            for statement, values in ((sql, records), *more):
                self._db.executemany(statement, values)

    def add_rows(self, rows: Iterable[ManifestRow], *, payloads: bool = True) -> None:
        """Keep checked rows: the payload of each row with a job (unless ``payloads`` is False: a dry run's
        store, which sends nothing, keeps none), its problems, and the check's verdict of a row a send does not
        take."""
        records: list[list[Any]] = []
        jobs: list[tuple[list[Any], dict[str, Any]]] = []  # a row's record and its payload
        with self._lock:
            pos = self.count
            for r in rows:
                # stored as the journal stores it: an ID with lone surrogates (a file name's bytes) as a BLOB
                ref = stored_key(r.reference_id) if isinstance(r.reference_id, str) else None
                problems = problems_record(r.problems)
                no_batch = int(r.spec is not None and not r.spec.batch_id)
                sends = r.action in SENDABLE and r.spec is not None
                if sends:
                    result: tuple[Any, ...] = (None, r.job_id, None, None)
                else:
                    res = unsent_result(r)
                    result = (res.status, res.job_id, res.code, stored_key(res.message))
                records.append([pos, r.row, ref, r.action, int(sends), no_batch, None, None, *problems, *result])
                if payloads and r.spec is not None:
                    jobs.append((records[-1], r.spec.to_payload()))
                pos += 1
            blocks = []
            for start in range(0, len(jobs), BLOCK):
                part = jobs[start:start + BLOCK]
                data = json.dumps([job for _, job in part], separators=(",", ":")).encode("utf-8", "surrogatepass")
                blocks.append((self._blocks, pack(data, small=False)))
                for slot, (record, _) in enumerate(part):
                    record[6:8] = self._blocks, slot
                self._blocks += 1
            self._many("INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", records,
                       ("INSERT INTO blocks VALUES (?, ?)", blocks))
            self.count = pos

    # ------------------------------------------------------------------------- counts
    def actions(self) -> dict[str, int]:
        """Rows per action."""
        with self._lock:
            return dict(self._db.execute("SELECT action, COUNT(*) FROM rows GROUP BY action").fetchall())

    def statuses(self) -> dict[str, int]:
        """Rows per result status (rows without a result yet left out)."""
        self.flush()
        with self._lock:
            return dict(self._db.execute("SELECT status, COUNT(*) FROM rows WHERE status IS NOT NULL "
                                         "GROUP BY status").fetchall())

    def any_without_batch(self) -> bool:
        """Whether a row a send takes names no batch."""
        with self._lock:
            return self._db.execute(f"SELECT 1 FROM rows WHERE no_batch = 1 AND action IN ({_SENDS}) "
                                    f"LIMIT 1", SENDABLE).fetchone() is not None

    # ------------------------------------------------------------------------- the send
    def sendable(self) -> Iterator[ManifestRow]:
        """The rows a send takes, in order, rebuilt from their payloads a page at a time."""
        after = -1
        while True:
            with self._lock:
                page = self._db.execute(f"SELECT pos, row, ref, action, job_id, block, slot FROM rows WHERE pos > ? "
                                        f"AND block IS NOT NULL AND action IN ({_SENDS}) ORDER BY pos LIMIT ?",
                                        (after, *SENDABLE, PAGE)).fetchall()
                if not page:
                    return
                blocks = self._read_blocks({r[5] for r in page})
            decoded = {block: _decode(data) for block, data in blocks.items()}  # out of the lock
            for _pos, row, ref, action, job_id, block, slot in page:
                spec = JobSpec.from_payload(decoded[block][slot])
                yield ManifestRow(row=row, reference_id=None if ref is None else unkey(ref), spec=spec,
                                  action=action, job_id=job_id, mask_checked=True)
            after = page[-1][0]

    def _read_blocks(self, wanted: set[int]) -> dict[int, bytes]:
        """The blocks ``wanted``, as kept (:func:`_decode` them out of the lock); the caller holds the lock."""
        marks = ",".join("?" * len(wanted))
        return dict(self._db.execute(f"SELECT block, data FROM blocks WHERE block IN ({marks})", tuple(wanted)))

    def job(self, block: int, slot: int) -> dict[str, Any]:
        """One row's payload, where the row says it is (its block and slot)."""
        with self._lock, _said():
            data = self._read_blocks({block})[block]
        return _decode(data)[slot]

    def record(self, result: RowResult) -> None:
        """Keep a sent row's result (written with the next group)."""
        with self._lock:
            self._pending.append((result.status, result.job_id, result.code, stored_key(result.message), result.row))
            if len(self._pending) < RESULT_GROUP:
                return
        self.flush()

    def unwritten(self, *, wait: float = 0.005) -> set[int] | None:
        """The row numbers of the results not written yet (at most a group); None when the store is busy for
        longer than ``wait`` seconds (the window's table asks, and must not wait on a send's writes)."""
        if not self._lock.acquire(timeout=wait):
            return None
        try:
            return {record[-1] for record in self._pending}
        finally:
            self._lock.release()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            if pending:
                self._many("UPDATE rows SET status = ?, job_id = COALESCE(?, job_id), code = ?, message = ? "
                           "WHERE row = ?", pending)

    def mark_unsent(self, message: str) -> int:
        """Every row a send takes that has no result yet (a send stopped before it): ``not_sent``."""
        self.flush()
        with self._lock, _said():
            return self._db.execute("UPDATE rows SET status = 'not_sent', message = ? WHERE status IS NULL AND "
                                    "sends = 1", (message,)).rowcount

    def reset_for_send(self) -> None:
        """Before a send: the rows it takes are those whose action is to send now, and they have no result yet
        (a row an earlier send of this run did not send, or a row marked for a retry, loses that result)."""
        self.flush()
        with self._lock:
            if not self._sent:  # the check's rows, as they were kept
                self._sent = True
                return
            with self._transaction():
                self._db.execute("UPDATE rows SET sends = 0 WHERE sends = 1")
                self._db.execute(f"UPDATE rows SET sends = 1, status = NULL, code = NULL, message = NULL WHERE "
                                 f"block IS NOT NULL AND action IN ({_SENDS})", SENDABLE)
                for action, sent in ((DONE, ("created", "recovered", "skipped")), (SKIP_FAILED, ("failed",))):
                    # an earlier send's result becomes what a send says of a row it does not take (core.bulk)
                    res = unsent_result(ManifestRow(row=0, action=action))
                    self._db.execute(f"UPDATE rows SET status = ?, code = ?, message = ? WHERE sends = 0 AND "
                                     f"action = ? AND status IN ({','.join('?' * len(sent))})",
                                     (res.status, res.code, res.message, action, *sent))

    def apply_next_actions(self, *, retry_failed: bool = False) -> None:
        """After a send: each row's action becomes core's next action for its result (core.bulk_rows
        .next_action: created rows are done, a refused row waits for a retry...), and a row a retry created
        loses its "failed in an earlier run" warning (as core.bulk_rows.apply_results does in memory)."""
        self.flush()
        for lo in range(0, self.count, STEP):  # a step at a time: the window's table reads between two
            span = (lo, lo + STEP)
            with self._lock, _said():
                self._db.execute("UPDATE rows SET action = next_action(status, action, ?) WHERE pos >= ? AND "
                                 "pos < ? AND status IS NOT NULL", (int(retry_failed), *span))
                fixed = [(*problems_record(without_retry_warning(problems_of(blob))), pos)
                         for pos, blob in self._db.execute(
                             "SELECT pos, problems FROM rows WHERE pos >= ? AND pos < ? AND action = ? AND "
                             "status IN ('created', 'recovered') AND problems IS NOT NULL", (*span, DONE)).fetchall()]
                if fixed:
                    self._many("UPDATE rows SET problems = ?, summary = ? WHERE pos = ?", fixed)

    def mark_retry(self) -> int:
        """Make every row that failed in an earlier run sendable again (as core.bulk_rows.mark_for_retry does
        in memory); returns how many."""
        with self._lock, _said():
            return self._db.execute("UPDATE rows SET action = ?, sends = 1, status = NULL, code = NULL, "
                                    "message = NULL WHERE action = ? AND block IS NOT NULL",
                                    (RETRY, SKIP_FAILED)).rowcount

    def read(self, sql: str, args: Iterable[Any] = (), *, wait: float | None = None) -> list[tuple[Any, ...]] | None:
        """One bounded read (the caller's statement has a LIMIT), under the store's lock: core.bulk_view's.
        ``wait``: seconds to wait for the lock at most, else None (the window's table, which must not wait on a
        send's writes); such a read does not write the results waiting to be written either."""
        if wait is None:
            self.flush()
            self._lock.acquire()
        elif not self._lock.acquire(timeout=wait):
            return None
        try:
            with _said():
                return self._db.execute(sql, tuple(args)).fetchall()
        finally:
            self._lock.release()

    def results(self, *, sendable: bool | None = None, statuses: Iterable[str] | None = None,
                pending: tuple[str, str] | None = None) -> Iterator[RowResult]:
        """Every row's result in row order (``sendable``: only the rows a send takes, or only the others;
        ``statuses``: only these). A row a send takes that has no result yet gets ``pending``'s status and
        message (a dry run's ``would_send``); without ``pending`` it is left out."""
        self.flush()
        where = ["pos > ?"]
        args: list[Any] = []
        if sendable is not None:
            where.append(f"sends = {int(sendable)}")
        if statuses is not None:
            wanted = list(statuses)
            where.append(f"status IN ({','.join('?' * len(wanted))})")
            args += wanted
        elif pending is None:
            where.append("status IS NOT NULL")
        after = -1
        while True:
            with self._lock:
                page = self._db.execute(f"SELECT pos, row, ref, status, job_id, code, message FROM rows WHERE "
                                        f"{' AND '.join(where)} ORDER BY pos LIMIT ?", (after, *args, PAGE)).fetchall()
            if not page:
                return
            for _pos, row, ref, status, job_id, code, message in page:
                ref = None if ref is None else unkey(ref)
                if status is None:
                    assert pending is not None
                    yield RowResult(ref, row, pending[0], job_id, message=pending[1])
                else:
                    yield RowResult(ref, row, status, job_id, code, unkey(message) if message else "")
            after = page[-1][0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["RowStore", "RowStoreError"]
