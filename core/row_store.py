"""The compact state of a streamed bulk run (core.bulk_stream): one SQLite row per manifest row, so that a run
of a million rows holds none of them in memory.

- ``rows``: the row's number, reference ID and action (what the check decided); for a row a send takes, its
  payload (zlib-compressed JSON, as the check built it), read back a page at a time when it is sent; for
  every row, once known, its result (status, job ID, error code, message).
- ``refs``: each reference ID with the first row that used it, so that a duplicate is found before anything
  is sent, whichever chunk its first row was in (core.manifest_refs).

The database is SQLite's private temporary one (``sqlite3.connect("")``): a file in the system's temporary
folder that SQLite deletes when it is closed, or the process ends, however it ends. It is not the journal: the
journal stays the record of what was sent; this store is what the run has checked, rebuilt by every run. Its
page cache is bounded (``CACHE_KIB``), so memory stays flat however many rows it holds. One lock: the check's
thread, the send's feeder and its workers (results, written in groups of ``RESULT_GROUP``) share it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from .bulk import RowResult, unsent_result
from .errors import UsageError
from .job import JobSpec
from .journal import stored_key, unkey
from .manifest import SENDABLE, ManifestRow

PAGE = 1000           # rows read back at a time
RESULT_GROUP = 500    # results written at once
CACHE_KIB = 4096      # SQLite's page cache for the store
_IN = 500             # reference IDs per look-up


def _text(message: str) -> str | bytes:
    """A message as SQLite can hold it: one that quotes a file name's undecodable bytes (lone surrogates) is kept
    as its surrogatepass UTF-8, read back exactly (core.journal.stored_key / unkey)."""
    return stored_key(message)


class RowStoreError(UsageError):
    """The row store cannot be written (its disk is full): an environment trouble, exit status 2."""


@contextmanager
def _said() -> Iterator[None]:
    """SQLite's errors as a sentence that says where the store is and what to do."""
    try:
        yield
    except sqlite3.Error as e:
        where = os.environ.get("SQLITE_TMPDIR") or os.environ.get("TMPDIR") or "/var/tmp or /tmp"
        raise RowStoreError(f"The bulk run's row store (a temporary SQLite file in {where}) cannot be written "
                            f"(SQLite: {e}). Free space there, or set SQLITE_TMPDIR to a folder with room, then "
                            f"run the same command again: rows the journal holds as created are skipped.") from e


class RowStore:
    """See the module's doc. Thread-safe; close it when the run ends. SQLite's errors are raised as
    :class:`RowStoreError` (a sentence, exit status 2)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{CACHE_KIB}", "temp_store=FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE rows (row INTEGER PRIMARY KEY, ref TEXT, action TEXT NOT NULL, "
                         "no_batch INTEGER NOT NULL DEFAULT 0, payload BLOB, status TEXT, job_id TEXT, code TEXT, "
                         "message TEXT)")
        self._db.execute("CREATE TABLE refs (ref TEXT PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID")
        self._pending: list[tuple[Any, ...]] = []

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

    def _many(self, sql: str, records: list[tuple[Any, ...]]) -> None:
        """One statement over many records in one transaction (the connection commits each statement alone
        otherwise); the caller holds the lock."""
        with _said():
            self._db.execute("BEGIN")
            try:
                self._db.executemany(sql, records)
            except BaseException:
                if self._db.in_transaction:  # a full disk may have rolled it back already
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def add_rows(self, rows: Iterable[ManifestRow], *, payloads: bool = True) -> None:
        """Keep checked rows: the payload of each row a send takes (unless ``payloads`` is False: a dry run's
        store, which sends nothing, keeps an empty one), the check's verdict of the others."""
        records: list[tuple[Any, ...]] = []
        for r in rows:
            # stored as the journal stores it: an ID with lone surrogates (a file name's undecodable bytes) as a BLOB
            ref = stored_key(r.reference_id) if isinstance(r.reference_id, str) else None
            if r.action in SENDABLE and r.spec is not None:
                payload = (zlib.compress(json.dumps(r.spec.to_payload(), separators=(",", ":")).encode(), 1)
                           if payloads else b"")
                records.append((r.row, ref, r.action, int(not r.spec.batch_id), payload, None, r.job_id, None, None))
            else:
                res = unsent_result(r)
                records.append((r.row, ref, r.action, 0, None, res.status, res.job_id, res.code, _text(res.message)))
        with self._lock:
            self._many("INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", records)

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
            return self._db.execute("SELECT 1 FROM rows WHERE no_batch = 1 LIMIT 1").fetchone() is not None

    # ------------------------------------------------------------------------- the send
    def sendable(self) -> Iterator[ManifestRow]:
        """The rows a send takes, in order, rebuilt from their payloads a page at a time."""
        after = 0
        marks = ",".join("?" * len(SENDABLE))
        while True:
            with self._lock:
                page = self._db.execute(f"SELECT row, ref, action, job_id, payload FROM rows WHERE row > ? AND "
                                        f"payload IS NOT NULL AND action IN ({marks}) ORDER BY row LIMIT ?",
                                        (after, *SENDABLE, PAGE)).fetchall()
            if not page:
                return
            for row, ref, action, job_id, payload in page:
                spec = JobSpec.from_payload(json.loads(zlib.decompress(payload)))
                yield ManifestRow(row=row, reference_id=None if ref is None else unkey(ref), spec=spec,
                                  action=action, job_id=job_id, mask_checked=True)
            after = page[-1][0]

    def record(self, result: RowResult) -> None:
        """Keep a sent row's result (written with the next group)."""
        with self._lock:
            self._pending.append((result.status, result.job_id, result.code, _text(result.message), result.row))
            if len(self._pending) < RESULT_GROUP:
                return
        self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            if pending:
                self._many("UPDATE rows SET status = ?, job_id = ?, code = ?, message = ? WHERE row = ?", pending)

    def mark_unsent(self, message: str) -> int:
        """Every row a send takes that has no result yet (a send stopped before it): ``not_sent``."""
        self.flush()
        with self._lock, _said():
            return self._db.execute("UPDATE rows SET status = 'not_sent', message = ? WHERE status IS NULL AND "
                                    "payload IS NOT NULL", (message,)).rowcount

    def results(self, *, sendable: bool | None = None, statuses: Iterable[str] | None = None,
                pending: tuple[str, str] | None = None) -> Iterator[RowResult]:
        """Every row's result in row order (``sendable``: only the rows a send takes, or only the others;
        ``statuses``: only these). A row a send takes that has no result yet gets ``pending``'s status and
        message (a dry run's ``would_send``); without ``pending`` it is left out."""
        self.flush()
        where = ["row > ?"]
        args: list[Any] = []
        if sendable is not None:
            where.append("payload IS NOT NULL" if sendable else "payload IS NULL")
        if statuses is not None:
            wanted = list(statuses)
            where.append(f"status IN ({','.join('?' * len(wanted))})")
            args += wanted
        elif pending is None:
            where.append("status IS NOT NULL")
        after = 0
        while True:
            with self._lock:
                page = self._db.execute(f"SELECT row, ref, status, job_id, code, message FROM rows WHERE "
                                        f"{' AND '.join(where)} ORDER BY row LIMIT ?", (after, *args, PAGE)).fetchall()
            if not page:
                return
            for row, ref, status, job_id, code, message in page:
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
