"""The sandbox's state in SQLite (``:memory:`` or a file): batches, jobs and their results."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

Row = tuple[Any, ...]
"""One row as SQLite hands it back (or as an insert takes it)."""

_SCHEMA = """
    CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, project_id TEXT, name TEXT,
        description TEXT, created_at TEXT, UNIQUE(project_id, name));
    CREATE TABLE IF NOT EXISTS results (job_id TEXT PRIMARY KEY, result TEXT, completed_at TEXT);
    CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT UNIQUE,
        project_id TEXT, reference_id TEXT, batch_id TEXT, work_flow_id TEXT, priority_weight INTEGER,
        status TEXT, payload TEXT, created_at TEXT, UNIQUE(project_id, reference_id));
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE INDEX IF NOT EXISTS jobs_by_batch ON jobs (project_id, batch_id, seq);
"""


class Store:
    """Jobs and batches in SQLite (``:memory:`` or a file), safe across handler threads: every statement
    runs under one lock, in autocommit mode. A file is in WAL mode with ``synchronous=NORMAL``: a commit is
    an append to the write-ahead log, synced to disk in batches at checkpoints, not one fsync per job (a
    power cut may lose the last moments; the app's journal, not the sandbox, is the record that matters)."""

    def __init__(self, path: str):
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        else:
            self._db.execute("PRAGMA journal_mode=MEMORY")
        self._db.executescript(_SCHEMA)

    def q(self, sql: str, args: Row = ()) -> list[Row]:
        """Run one statement and return all its rows."""
        with self._lock:
            rows: list[Row] = self._db.execute(sql, args).fetchall()
            return rows

    def insert_job(self, row: Row) -> bool:
        """False when the (project, reference_id) is taken: the check and the insert are one step."""
        with self._lock:
            try:
                self._db.execute("INSERT INTO jobs (job_id, project_id, reference_id, batch_id, work_flow_id, "
                                 "priority_weight, status, payload, created_at) VALUES (?,?,?,?,?,?,?,?,?)", row)
                return True
            except sqlite3.IntegrityError:
                return False

    def insert_batch(self, row: Row) -> bool:
        """False when the batch ID, or the (project, name), is taken."""
        with self._lock:
            try:
                self._db.execute("INSERT INTO batches VALUES (?,?,?,?,?)", row)
                return True
            except sqlite3.IntegrityError:
                return False

    def meta(self, key: str) -> str | None:
        """A value the sandbox keeps about itself (its ports, its signing key), or None."""
        rows = self.q("SELECT value FROM meta WHERE key=?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.q("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def close(self) -> None:
        with self._lock:
            self._db.close()
