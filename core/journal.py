"""The submission journal: one SQLite row per reference_id, written before and after every request.

Why: a create-job POST is not idempotent, so "exactly once" across crashes, Ctrl-C and flaky networks
needs a durable record of what was about to be sent and what came back. The rules:

- ``mark_sending(ref, payload)`` is committed *before* the POST; ``mark_created`` / ``mark_failed`` right
  after the answer. A process killed at any instant therefore leaves each row in one of
  ``pending`` (never sent), ``sending`` (maybe sent), ``created``, ``failed`` or ``ambiguous``; a re-run
  skips ``created`` rows without a request and reconciles ``sending``/``ambiguous`` ones with
  ``create_job(..., prior_attempt_ambiguous=True)`` (FS_0001 then means "recover the job_id").
- The payload's hash (SHA-256 of its canonical JSON) is kept, so a re-run can tell that a row changed
  since it was created and report it instead of resending.
- SQLite in WAL mode, autocommit, ``synchronous=NORMAL``: every write is durable against a killed process
  (the WAL is in the OS's hands once the statement returns); a second process (the window and the
  command line at once) waits up to ``busy_timeout`` instead of failing.
- Thread-safe: one connection guarded by a lock (bulk workers write from many threads).

The window's history view reads :meth:`Journal.history`. No secret is ever stored (payloads hold URLs,
IDs and legends, never the API key).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import UsageError

STATES = ("pending", "sending", "created", "failed", "ambiguous")
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS entries (
    reference_id TEXT PRIMARY KEY,
    payload_hash TEXT,
    payload      TEXT,
    state        TEXT NOT NULL CHECK (state IN ('pending','sending','created','failed','ambiguous')),
    status       TEXT,            -- 'created' | 'recovered' once created
    job_id       TEXT,
    code         TEXT,
    message      TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_updated ON entries (updated_at);
CREATE INDEX IF NOT EXISTS entries_state ON entries (state);
"""

_COLUMNS = ("reference_id", "payload_hash", "payload", "state", "status", "job_id", "code", "message",
            "attempts", "created_at", "updated_at")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def payload_hash(payload: Any) -> str:
    """SHA-256 of the payload's canonical JSON (sorted keys, no spaces): equal payloads, equal hashes."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_journal_path(profile_name: str | None = None) -> Path:
    """Where the journal of a profile lives: ``<data dir>/journals/<profile>.sqlite``."""
    from .settings import data_dir
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", (profile_name or "default").strip()) or "default"
    return data_dir() / "journals" / f"{name}.sqlite"


@dataclass(frozen=True)
class Entry:
    """One reference_id's record. Times are ISO-8601 UTC strings (``2026-11-28T15:47:09.123456+00:00``)."""

    reference_id: str
    state: str
    job_id: str | None = None
    code: str | None = None
    message: str | None = None
    attempts: int = 0
    created_at: str = ""
    updated_at: str = ""
    payload_hash: str | None = None
    status: str | None = None          # "created" or "recovered" once state is "created"
    payload_json: str | None = None

    @property
    def payload(self) -> dict[str, Any] | None:
        """The last payload sent (or recorded as pending) for this reference_id."""
        if not self.payload_json:
            return None
        try:
            payload: dict[str, Any] = json.loads(self.payload_json)
        except ValueError:
            return None
        return payload

    @property
    def maybe_sent(self) -> bool:
        """True when an earlier request may have reached the server (reconcile, do not trust a FS_0001)."""
        return self.state in ("sending", "ambiguous")

    def to_dict(self) -> dict[str, Any]:
        return {"reference_id": self.reference_id, "state": self.state, "status": self.status,
                "job_id": self.job_id, "code": self.code, "message": self.message, "attempts": self.attempts,
                "created_at": self.created_at, "updated_at": self.updated_at}


class Journal:
    """A SQLite journal (WAL). ``Journal(":memory:")`` works for throw-away use."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0):
        self.path = Path(path) if str(path) != ":memory:" else None
        target = ":memory:"
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise UsageError(f"The journal's folder {self.path.parent} cannot be created: {e.strerror}.") from e
            target = str(self.path)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(target, timeout=busy_timeout, check_same_thread=False,
                                       isolation_level=None)
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as e:
            raise UsageError(f"The journal {path} cannot be opened ({e}); it may be damaged or not a journal. "
                             f"Point --journal at another file, or move this one aside.") from e
        self._closed = False

    def __repr__(self) -> str:
        return f"Journal({str(self.path) if self.path else ':memory:'!r})"

    # ------------------------------------------------------------- plumbing
    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._closed:
                raise UsageError("The journal is closed.")
            return self._db.execute(sql, args).fetchall()

    @staticmethod
    def _entry(row: tuple[Any, ...]) -> Entry:
        d = dict(zip(_COLUMNS, row, strict=True))  # every SELECT names _COLUMNS
        return Entry(reference_id=d["reference_id"], state=d["state"], job_id=d["job_id"], code=d["code"],
                     message=d["message"], attempts=d["attempts"] or 0, created_at=d["created_at"],
                     updated_at=d["updated_at"], payload_hash=d["payload_hash"], status=d["status"],
                     payload_json=d["payload"])

    # --------------------------------------------------------------- writes
    def mark_pending(self, reference_id: str, payload: dict[str, Any]) -> None:
        """Record a row as checked and queued (never sent). Does not touch a row that already exists."""
        now = _now()
        self._exec("INSERT OR IGNORE INTO entries (reference_id, payload_hash, payload, state, attempts, "
                   "created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)",
                   (reference_id, payload_hash(payload), json.dumps(payload, ensure_ascii=False), now, now))

    def mark_sending(self, reference_id: str, payload: dict[str, Any], *,
                     hash_of: dict[str, Any] | None = None) -> None:
        """Call right before the POST: state "sending", attempts + 1, the payload and its hash.
        A job_id already recorded is kept (it is only replaced by :meth:`mark_created`).

        ``hash_of``: hash this instead of ``payload`` (bulk passes the manifest's row before local files
        were uploaded, so that a re-run can compare rows without uploading again)."""
        now = _now()
        self._exec(
            "INSERT INTO entries (reference_id, payload_hash, payload, state, attempts, created_at, updated_at) "
            "VALUES (?, ?, ?, 'sending', 1, ?, ?) ON CONFLICT(reference_id) DO UPDATE SET "
            "payload_hash=excluded.payload_hash, payload=excluded.payload, state='sending', code=NULL, "
            "message=NULL, attempts=entries.attempts + 1, updated_at=excluded.updated_at",
            (reference_id, payload_hash(payload if hash_of is None else hash_of),
             json.dumps(payload, ensure_ascii=False), now, now))

    def mark_created(self, reference_id: str, job_id: str, status: str = "created") -> None:
        """Call right after a success: the server's job_id; ``status`` "created" or "recovered"."""
        if status not in ("created", "recovered"):
            raise ValueError(f"status must be 'created' or 'recovered', not {status!r}")
        now = _now()
        self._exec(
            "INSERT INTO entries (reference_id, state, status, job_id, attempts, created_at, updated_at) "
            "VALUES (?, 'created', ?, ?, 1, ?, ?) ON CONFLICT(reference_id) DO UPDATE SET state='created', "
            "status=excluded.status, job_id=excluded.job_id, code=NULL, message=NULL, "
            "updated_at=excluded.updated_at", (reference_id, status, str(job_id), now, now))

    def mark_failed(self, reference_id: str, code: str | None, message: str, ambiguous: bool = False) -> None:
        """Call right after a refusal (``ambiguous=False``) or an unresolved outcome (``True``).
        A job_id recorded earlier is kept for reference, but the state says what happened last."""
        now = _now()
        state = "ambiguous" if ambiguous else "failed"
        self._exec(
            "INSERT INTO entries (reference_id, state, code, message, attempts, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT(reference_id) DO UPDATE SET state=excluded.state, "
            "code=excluded.code, message=excluded.message, updated_at=excluded.updated_at",
            (reference_id, state, code, message, now, now))

    def forget(self, reference_id: str) -> None:
        """Remove a row (for a user who deleted the job on Playment and wants to send it again)."""
        self._exec("DELETE FROM entries WHERE reference_id=?", (reference_id,))

    # ---------------------------------------------------------------- reads
    def get(self, reference_id: str) -> Entry | None:
        rows = self._exec(f"SELECT {', '.join(_COLUMNS)} FROM entries WHERE reference_id=?", (reference_id,))
        return self._entry(rows[0]) if rows else None

    def get_many(self, reference_ids: Iterable[str]) -> dict[str, Entry]:
        """Entries for many reference_ids at once (absent ones are left out)."""
        ids = list(dict.fromkeys(reference_ids))
        out: dict[str, Entry] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            rows = self._exec(f"SELECT {', '.join(_COLUMNS)} FROM entries WHERE reference_id IN "
                              f"({', '.join('?' for _ in chunk)})", tuple(chunk))
            for r in rows:
                e = self._entry(r)
                out[e.reference_id] = e
        return out

    def history(self, limit: int = 500, *, states: Iterable[str] | None = None) -> list[Entry]:
        """The most recently updated entries, newest first."""
        args: tuple[str, ...]
        where, args = "", ()
        if states:
            states = tuple(states)
            where, args = f"WHERE state IN ({', '.join('?' for _ in states)})", states
        rows = self._exec(f"SELECT {', '.join(_COLUMNS)} FROM entries {where} ORDER BY updated_at DESC, "
                          f"rowid DESC LIMIT ?", (*args, int(limit)))
        return [self._entry(r) for r in rows]

    def entries(self) -> Iterator[Entry]:
        """Every entry, by reference_id."""
        for r in self._exec(f"SELECT {', '.join(_COLUMNS)} FROM entries ORDER BY reference_id"):
            yield self._entry(r)

    def counts(self) -> dict[str, int]:
        """How many entries are in each state (every state present, zero when none)."""
        out = {s: 0 for s in STATES}
        for state, n in self._exec("SELECT state, COUNT(*) FROM entries GROUP BY state"):
            out[state] = n
        return out

    def __len__(self) -> int:
        n: int = self._exec("SELECT COUNT(*) FROM entries")[0][0]
        return n

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
