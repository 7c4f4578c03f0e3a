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
"""


class Store:
    """Jobs and batches in SQLite (``:memory:`` or a file), safe across handler threads: every statement
    runs under one lock, in autocommit mode."""

    def __init__(self, path: str):
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL" if path != ":memory:" else "PRAGMA journal_mode=MEMORY")
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

    def close(self) -> None:
        with self._lock:
            self._db.close()
