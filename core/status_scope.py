"""The jobs one status refresh is about (core.status), kept in a temporary table of the journal's own
connection, so that a journal of a million jobs is refreshed without holding them in memory.

The table (``temp.status_scope``) lives in SQLite's temporary database of the connection: it is never written
to the journal's file, is invisible to other processes, and is dropped by :meth:`StatusScope.close` (or with
the connection). One row per job: its reference ID and batch (the payload's ``batch_id``, else the project's
default), whether it was still open (not settled) when the refresh began, whether an answer came this refresh,
and the error that kept it unknown. Answers are stored in the journal a page at a time
(:meth:`Journal.record_statuses <playment_submit.core.journal.Journal.record_statuses>`), so the journal holds
every status read even when the refresh stops halfway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .errors import UsageError
from .journal import REMOTE_COLUMNS, Journal, RemoteStatus, remote_status, stored_key, unkey

PAGE = 1000     # jobs read back at a time
_IN = 500       # job IDs per look-up

Answer = tuple[str, Any, Any, Any]  # (job_id, reference_id, batch_id, status)


def _unkey(value: Any) -> str | None:
    return None if value is None else unkey(value)


class StatusScope:
    """See the module's doc. ``settled(status)``: whether a job in that status is not asked again."""

    def __init__(self, journal: Journal, settled: Callable[[str | None], bool]) -> None:
        self.journal = journal

        def make(db: sqlite3.Connection) -> None:
            db.create_function("settled", 1, lambda s: int(settled(s)), deterministic=True)
            db.execute("DROP TABLE IF EXISTS temp.status_scope")
            db.execute("CREATE TEMP TABLE status_scope (job_id TEXT PRIMARY KEY, ref, batch TEXT, "
                       "open INTEGER NOT NULL DEFAULT 0, answered INTEGER NOT NULL DEFAULT 0, error TEXT)")
            db.execute("INSERT OR IGNORE INTO temp.status_scope (job_id, ref, batch) SELECT job_id, reference_id, "
                       "CASE WHEN json_valid(payload) AND json_type(payload, '$.batch_id') = 'text' "
                       "THEN json_extract(payload, '$.batch_id') END FROM main.entries "
                       "WHERE state = 'created' AND job_id IS NOT NULL AND job_id != ''")

        journal.run_sql(make)
        self._remote = journal.has_remote()

    def _one(self, sql: str, args: Iterable[Any] = ()) -> Any:
        rows = self.journal.select(sql, tuple(args))
        return rows[0][0] if rows else None

    def _write(self, sql: str, args: Iterable[Any] = ()) -> int:
        n: int = self.journal.run_sql(lambda db: db.execute(sql, tuple(args)).rowcount, writes=True)
        return n

    # ---------------------------------------------------------------------------- the scope
    def lacks_batch(self) -> bool:
        return self._one("SELECT 1 FROM temp.status_scope WHERE batch IS NULL LIMIT 1") is not None

    def set_default_batch(self, batch_id: str | None) -> None:
        if batch_id is not None:
            self._write("UPDATE temp.status_scope SET batch = ? WHERE batch IS NULL", (batch_id,))

    def only_batch(self, batch_id: str) -> None:
        """Only this batch's jobs: the journal's, and those an earlier ``status --batch`` met on its pages."""
        if self._remote:
            self._write("INSERT OR IGNORE INTO temp.status_scope (job_id, ref, batch) SELECT job_id, reference_id, "
                        "batch_id FROM main.remote WHERE batch_id = ?", (batch_id,))
        self._write("DELETE FROM temp.status_scope WHERE batch IS NOT ?", (batch_id,))

    def mark_open(self) -> int:
        """Mark the jobs not settled yet (by their stored status); returns how many."""
        if self._remote:
            return self._write("UPDATE temp.status_scope SET open = 1 WHERE NOT settled((SELECT status FROM "
                               "main.remote WHERE remote.job_id = status_scope.job_id))")
        return self._write("UPDATE temp.status_scope SET open = 1")

    def open_by_batch(self) -> dict[str | None, int]:
        rows = self.journal.select("SELECT batch, COUNT(*) FROM temp.status_scope WHERE open = 1 GROUP BY batch")
        return {b: n for b, n in rows}

    def wanted(self, job_ids: list[str]) -> set[str]:
        """Which of ``job_ids`` are open jobs of the scope."""
        out: set[str] = set()
        for start in range(0, len(job_ids), _IN):
            part = job_ids[start:start + _IN]
            sql = f"SELECT job_id FROM temp.status_scope WHERE open = 1 AND job_id IN ({','.join('?' * len(part))})"
            rows = self.journal.select(sql, tuple(part))
            out.update(r[0] for r in rows)
        return out

    # ---------------------------------------------------------------------------- answers
    def answer(self, answers: list[Answer]) -> int:
        """Store these answers in the journal and mark them answered (a job listed that the scope did not hold
        joins it: ``status --batch``); returns how many open jobs were answered for the first time."""
        if not answers:
            return 0
        self.journal.record_statuses(answers)
        self._remote = True

        def mark(db: sqlite3.Connection) -> int:
            db.execute("BEGIN")
            try:
                db.executemany("INSERT OR IGNORE INTO temp.status_scope (job_id, ref, batch) VALUES (?, ?, ?)",
                               [(j, None if r is None else stored_key(r), b) for j, r, b, _ in answers])
                first = 0
                for start in range(0, len(answers), _IN):
                    part = [a[0] for a in answers[start:start + _IN]]
                    marks = ",".join("?" * len(part))
                    first += db.execute(f"SELECT COUNT(*) FROM temp.status_scope WHERE open = 1 AND answered = 0 "
                                        f"AND job_id IN ({marks})", part).fetchone()[0]
                    db.execute(f"UPDATE temp.status_scope SET answered = 1, error = NULL WHERE job_id IN ({marks})",
                               part)
                db.execute("COMMIT")
                return int(first)
            except BaseException:
                if db.in_transaction:  # a full disk may have rolled it back already
                    db.execute("ROLLBACK")
                raise

        n: int = self.journal.run_sql(mark, writes=True)
        return n

    def set_error(self, job_id: str, message: str) -> None:
        self._write("UPDATE temp.status_scope SET error = ? WHERE job_id = ?", (message, job_id))

    def unanswered_open(self) -> Iterator[tuple[str, str | None, str | None]]:
        """The open jobs no answer came for yet, by job ID, a page at a time: (job_id, reference_id, batch)."""
        after = ""
        while True:
            page = self.journal.select("SELECT job_id, ref, batch FROM temp.status_scope WHERE open = 1 AND "
                                       "answered = 0 AND job_id > ? ORDER BY job_id LIMIT ?", (after, PAGE))
            if not page:
                return
            for job_id, ref, batch in page:
                yield job_id, _unkey(ref), batch
            after = page[-1][0]

    # ---------------------------------------------------------------------------- the report
    def jobs(self) -> Iterator[tuple[RemoteStatus, str | None, str | None, str | None]]:
        """Every job of the scope by reference ID, then job ID, a page at a time: (its stored status, its
        reference ID, its batch, the error that kept it unknown this time)."""
        join = ("LEFT JOIN main.remote r USING (job_id)" if self._remote else
                "LEFT JOIN (SELECT NULL AS job_id, NULL AS reference_id, NULL AS batch_id, NULL AS status, "
                "NULL AS checked_at, NULL AS changed_at, NULL AS seen_status, NULL AS fetched_url, "
                "NULL AS fetched_at) r USING (job_id)")
        select = (f"SELECT COALESCE(s.ref, r.reference_id, '') AS k, s.ref, s.batch, s.error, s.job_id, "
                  f"{', '.join('r.' + c for c in REMOTE_COLUMNS[1:])} FROM temp.status_scope s {join}")
        after: tuple[Any, ...] = ()
        while True:
            where = "WHERE (COALESCE(s.ref, r.reference_id, ''), s.job_id) > (?, ?)" if after else ""
            page = self.journal.select(f"{select} {where} ORDER BY k, s.job_id LIMIT ?", (*after, PAGE))
            if not page:
                return
            for row in page:  # the scope's job_id stands first in the remote columns (r's is NULL when unknown)
                yield remote_status(row[4:]), _unkey(row[1]), row[2], row[3]
            after = (page[-1][0], page[-1][4])

    def counts(self) -> tuple[dict[str, int], int]:
        """(jobs per status, "unknown" for none; how many changed since the user last looked)."""
        if not self._remote:
            n = int(self._one("SELECT COUNT(*) FROM temp.status_scope"))
            return ({"unknown": n} if n else {}), 0
        rows = self.journal.select(
            "SELECT COALESCE(r.status, 'unknown'), COUNT(*), SUM(r.status IS NOT NULL AND r.status IS NOT "
            "r.seen_status) FROM temp.status_scope s LEFT JOIN main.remote r USING (job_id) GROUP BY 1")
        return {s: n for s, n, _ in rows}, sum(int(c or 0) for _, _, c in rows)

    def errors(self, limit: int) -> tuple[list[tuple[str, str | None, str]], int]:
        """Up to ``limit`` jobs that stayed unknown, as (job_id, reference_id, why), and how many there are."""
        rows = self.journal.select(
            "SELECT job_id, ref, error FROM temp.status_scope WHERE error IS NOT NULL ORDER BY job_id LIMIT ?",
            (limit,))
        total = int(self._one("SELECT COUNT(*) FROM temp.status_scope WHERE error IS NOT NULL"))
        return [(j, _unkey(r), e) for j, r, e in rows], total

    def mark_seen(self) -> None:
        """The user has looked at every job of the scope (Journal.mark_statuses_seen, for these jobs)."""
        if self._remote:
            self._write("UPDATE main.remote SET seen_status = status WHERE job_id IN "
                        "(SELECT job_id FROM temp.status_scope)")

    def close(self) -> None:
        try:
            self.journal.run_sql(lambda db: db.execute("DROP TABLE IF EXISTS temp.status_scope"), writes=True)
        except UsageError:  # the journal was closed first: its connection took the table with it
            pass


__all__ = ["StatusScope"]
