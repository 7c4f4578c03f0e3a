"""The submission journal: one SQLite row per reference_id, written before and after every request.

Why: a create-job POST is not idempotent, so "exactly once" across crashes, Ctrl-C and flaky networks
needs a durable record of what was about to be sent and what came back. The rules:

- ``mark_sending(ref, payload)`` is committed *before* the POST; ``mark_created`` / ``mark_failed`` right
  after the answer. A process killed at any instant therefore leaves each row in one of
  ``pending`` (never sent), ``sending`` (maybe sent), ``created``, ``failed`` or ``ambiguous``; a re-run
  skips ``created`` rows without a request and reconciles ``sending``/``ambiguous`` ones with
  ``create_job(..., prior_attempt_ambiguous=True)`` (FS_0001 then means "recover the job_id").
- A ``created`` row is never downgraded: ``mark_sending`` and ``mark_failed`` leave a created row's state
  and job_id as they are, in the SQL statement itself (``... WHERE state != 'created'``), so it holds
  between processes too. ``mark_sending`` returns the created entry instead (or raises
  :class:`AlreadyCreatedError` with ``refuse_created=True``, which bulk uses); only ``mark_created``
  replaces a job_id (a job deleted on Playment and created again).
- The payload's hash (SHA-256 of its canonical JSON) is kept, so a re-run can tell that a row changed
  since it was created and report it instead of resending.
- SQLite in WAL mode, autocommit, ``synchronous=NORMAL``: every write is durable against a killed process
  (the WAL is in the OS's hands once the statement returns). Another process's lock is waited for up to
  ``busy_timeout`` (default 60 s) in short slices, between which the other threads of this process use
  the journal; after that a write raises :class:`JournalBusyError`, a sentence, never a bare sqlite3 error.
  Lock contention is never reported as damage; only real corruption (:class:`JournalDamagedError`) is,
  and then the advice is to keep a copy, never to delete or move the record of created jobs.
- One long writer at a time: :meth:`Journal.claim` takes an OS file lock on ``<journal>.lock`` (fcntl.flock
  on POSIX, msvcrt.locking on Windows; released by the OS when the process dies) and writes who holds it
  (pid, host, since when, what) into that file; a second claimant waits up to ``wait`` seconds, then gets
  :class:`JournalClaimedError` naming the holder. Bulk runs claim; one-job writers (the window, ``submit``)
  do not and are not blocked by a claim: the row-level rules above keep them from undoing a run's work.
- Text is stored sanitised: messages and codes through :func:`core.sanitise.one_line`; a payload whose
  strings hold lone surrogates is stored as ASCII-escaped JSON (lossless); a reference ID holding lone
  surrogates (a file name that is not UTF-8, decoded by Python with surrogateescape) is stored as the
  BLOB of its ``surrogatepass`` UTF-8 bytes and decoded back on read, so it stays findable and distinct
  (replacing surrogates with U+FFFD would make ``caf\\udce9`` and ``caf\\udce8`` one row). Ordinary IDs
  are stored as TEXT exactly as before.
- Full disk (or any failed write): the FIRST journal write that fails stops a bulk run. A row's ``sending``
  state and payload are committed before its POST leaves, so a row whose ``mark_sending`` failed was never
  sent: it and every row not started are reported "not sent" (never "failed"), nothing more is sent, and the
  run says the journal could not be written and to run the same command again. Closing the journal
  checkpoints and truncates the WAL so the stop does not keep the disk full.
- Thread-safe: one connection guarded by a lock (bulk workers write from many threads).

The window's history view reads :meth:`Journal.history`. No secret is ever stored (payloads hold URLs,
IDs and legends, never the API key).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from .errors import DuplicateReferenceError, UsageError
from .sanitise import encodable, one_line

STATES = ("pending", "sending", "created", "failed", "ambiguous")
SCHEMA_VERSION = 1
BUSY_TIMEOUT = 60.0      # seconds a statement waits for another process's lock before it gives up
CLAIM_WAIT = 5.0         # seconds a second run waits for a claimed journal before it gives up
MESSAGE_LIMIT = 500      # characters of a message kept in the journal
_SLICE = 0.25            # SQLite's own wait per attempt; between attempts other threads use the connection

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS entries (
    reference_id TEXT PRIMARY KEY,  -- TEXT; a BLOB (surrogatepass UTF-8) for an ID with lone surrogates
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

# Playment's view of each created job (``playment-submit status``, the History view): created lazily by the
# first status write, so journals of earlier versions stay readable and a read-only open writes nothing.
_REMOTE_SCHEMA = """
CREATE TABLE IF NOT EXISTS remote (
    job_id       TEXT PRIMARY KEY,
    reference_id TEXT,
    batch_id     TEXT,
    status       TEXT,            -- as Playment said it, sanitised
    checked_at   TEXT,            -- when Playment was last asked
    changed_at   TEXT,            -- when the status last changed
    seen_status  TEXT,            -- the status when the user last looked (what changed since)
    fetched_url  TEXT,            -- the result URL whose files were downloaded
    fetched_at   TEXT
);
"""
REMOTE_COLUMNS = ("job_id", "reference_id", "batch_id", "status", "checked_at", "changed_at", "seen_status",
                   "fetched_url", "fetched_at")

_COLUMNS = ("reference_id", "payload_hash", "payload", "state", "status", "job_id", "code", "message",
            "attempts", "created_at", "updated_at")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM entries"
_SELECT_NO_PAYLOAD = f"SELECT {', '.join('NULL' if c == 'payload' else c for c in _COLUMNS)} FROM entries"
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def payload_hash(payload: Any) -> str:
    """SHA-256 of the payload's canonical JSON (sorted keys, no spaces): equal payloads, equal hashes.
    Lone surrogates are hashed as their ``surrogatepass`` bytes (other text hashes as it always did)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _payload_text(payload: Any) -> str:
    """The payload as stored: JSON as before, or ASCII-escaped JSON when a string holds a lone surrogate
    (valid UTF-8 either way; ``json.loads`` gives the same payload back)."""
    text = json.dumps(payload, ensure_ascii=False, default=str)
    if _SURROGATE.search(text):
        text = json.dumps(payload, ensure_ascii=True, default=str)
    return text


def stored_key(reference_id: str) -> str | bytes:
    """How a reference ID (or any text) is stored, here and in core.row_store: as TEXT, or (lone surrogates) as
    its surrogatepass UTF-8 BLOB."""
    ref = str(reference_id)
    if _SURROGATE.search(ref):
        return ref.encode("utf-8", "surrogatepass")
    return ref


def unkey(value: Any) -> str:
    """A reference ID as stored (TEXT, or a surrogatepass BLOB) back as text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogatepass")
    return str(value)


def _clean(text: object, limit: int) -> str:
    return one_line(text, limit)


def default_journal_path(profile_name: str | None = None) -> Path:
    """Where the journal of a profile lives: ``<data dir>/journals/<profile>.sqlite``."""
    from .settings import data_dir
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", (profile_name or "default").strip()) or "default"
    return data_dir() / "journals" / f"{name}.sqlite"


# ------------------------------------------------------------------------------------------ errors
class JournalError(UsageError):
    """The journal could not be opened, read or written (exit status 2: environment trouble).

    ``operation``: "open", "read", "sending", "created", "failed", "pending", "forget" or "status" (which write
    failed: a caller can tell "nothing was sent" from "sent, outcome not recorded"); ``reference_id`` and
    ``job_id``: the row being written, when there was one."""

    journal_code = "journal"

    def __init__(self, message: str, *, path: str = "", operation: str = "", reference_id: str | None = None,
                 job_id: str | None = None, sqlite_message: str | None = None):
        self.path = path
        self.operation = operation
        self.reference_id = reference_id
        self.job_id = job_id
        self.sqlite_message = sqlite_message
        super().__init__(message)


class JournalBusyError(JournalError):
    """Another process held the journal's lock for longer than the wait: in use, not damaged."""

    journal_code = "journal_busy"


class JournalDamagedError(JournalError):
    """SQLite says the file is not a database or is malformed."""

    journal_code = "journal_damaged"


@dataclass(frozen=True)
class ClaimHolder:
    """Who holds a journal's claim, as written into its lock file."""

    pid: int | None = None
    host: str = ""
    since: str = ""                 # ISO-8601 UTC
    what: str = ""

    def describe(self) -> str:
        text = f"process {self.pid}" if self.pid else "another process"
        if self.host:
            text += f" on {self.host}"
        if self.since:
            text += f", since {self.since[:19].replace('T', ' ')} UTC"
        if self.what:
            text += f" ({self.what})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "since": self.since, "what": self.what}


class JournalClaimedError(JournalBusyError):
    """Another run holds :meth:`Journal.claim` on this journal; ``holder`` says who (None: it did not say)."""

    journal_code = "journal_claimed"

    def __init__(self, message: str, *, holder: ClaimHolder | None = None, **kw: Any):
        self.holder = holder
        super().__init__(message, **kw)


class AlreadyCreatedError(DuplicateReferenceError):
    """``mark_sending(..., refuse_created=True)`` found the row created (by another run): nothing was changed,
    and the caller must not send. ``entry`` is the created row; ``existing_job_id`` its job."""

    def __init__(self, entry: Entry):
        self.entry = entry
        super().__init__(f"Reference ID \"{one_line(entry.reference_id, 200)}\" was created by another run "
                         f"meanwhile: it is job {entry.job_id}. It was not sent again.",
                         existing_job_id=entry.job_id, code="FS_0001")


def _kind(e: sqlite3.Error) -> str:
    """"busy" (another connection holds a lock), "damaged" (not a database, malformed) or "other"."""
    name = str(getattr(e, "sqlite_errorname", "") or "")
    text = str(e).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text:
        return "busy"
    if (name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "not a database" in text or "malformed" in text
            or "corrupt" in text):
        return "damaged"
    return "other"


def _is_bug(e: sqlite3.Error) -> bool:
    """Errors that mean the code is wrong, not the file or the environment: raised as they are."""
    return isinstance(e, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError))


@dataclass(frozen=True)
class _Op:
    name: str                        # see JournalError.operation
    reference_id: str | None = None
    job_id: str | None = None


# ----------------------------------------------------------------------------------------- entries
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


@dataclass(frozen=True)
class RemoteStatus:
    """Playment's status of one job as last asked (``checked_at``) and what the user last saw of it."""

    job_id: str
    reference_id: str | None = None
    batch_id: str | None = None
    status: str | None = None
    checked_at: str | None = None
    changed_at: str | None = None
    seen_status: str | None = None
    fetched_url: str | None = None
    fetched_at: str | None = None

    @property
    def changed_since_seen(self) -> bool:
        """The status moved since the user last looked (a job never looked at counts as changed)."""
        return self.status is not None and self.status != self.seen_status

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in REMOTE_COLUMNS}


def remote_status(row: tuple[Any, ...]) -> RemoteStatus:
    """A stored status from a row of the ``remote`` table's :data:`REMOTE_COLUMNS`, in that order."""
    d = dict(zip(REMOTE_COLUMNS, row, strict=True))
    if d["reference_id"] is not None:
        d["reference_id"] = unkey(d["reference_id"])
    return RemoteStatus(**d)


# ------------------------------------------------------------------------------------ file locking
if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # byte 0 only: the holder's details (from byte 1) stay readable
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # held by another open file (another process, or another Journal object)
            return False
        except OSError:  # a file system without locks (ENOLCK): go on unclaimed; the row rules still hold
            return True
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _read_holder(lock_path: Path) -> ClaimHolder | None:
    """The details a claim's holder wrote (from byte 1 of the lock file), or None when unreadable."""
    try:
        with open(lock_path, "rb") as fh:
            fh.seek(1)
            info = json.loads(fh.read(8192).decode("utf-8", "replace"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    pid = info.get("pid")
    return ClaimHolder(pid=pid if isinstance(pid, int) else None, host=one_line(info.get("host") or "", 100),
                       since=one_line(info.get("since") or "", 40), what=one_line(info.get("what") or "", 200))


class JournalClaim:
    """A held :meth:`Journal.claim`; release it with :meth:`release` or by leaving a ``with`` block."""

    def __init__(self, journal: Journal, holder: ClaimHolder):
        self.journal = journal
        self.holder = holder
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.journal._release_claim()

    def __enter__(self) -> JournalClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# ----------------------------------------------------------------------------------------- journal
class Journal:
    """A SQLite journal (WAL). ``Journal(":memory:")`` works for throw-away use.

    ``busy_timeout``: how long (seconds) any statement waits for another process's lock before it raises
    :class:`JournalBusyError`."""

    def __init__(self, path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT):
        self.path = Path(path) if str(path) != ":memory:" else None
        self.busy_timeout = max(0.0, float(busy_timeout))
        self._lock = threading.RLock()
        self._claim_lock = threading.Lock()
        self._claim_fd: int | None = None
        self._claim_depth = 0
        self._closed = False
        target = ":memory:"
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise JournalError(f"The journal's folder {self._shown(self.path.parent)} cannot be created: "
                                   f"{e.strerror}.", path=self._shown(), operation="open") from e
            target = str(self.path)
        open_op = _Op("open")
        slice_ = min(self.busy_timeout, _SLICE)
        try:
            self._db = sqlite3.connect(target, timeout=slice_, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as e:
            raise self._error(e, open_op, 0.0) from e
        try:
            self._run(lambda db: db.execute(f"PRAGMA busy_timeout={int(slice_ * 1000)}"), open_op)
            if self.path is not None:
                self._run(lambda db: db.execute("PRAGMA journal_mode=WAL").fetchall(), open_op)
            self._run(lambda db: db.execute("PRAGMA synchronous=NORMAL"), open_op)
            # SQLite checkpoints the WAL every 1,000 pages; this also gives the file's space back after each
            # checkpoint beyond 16 MiB, so a long run's WAL does not keep its largest size
            self._run(lambda db: db.execute("PRAGMA journal_size_limit=16777216").fetchall(), open_op)
            if not self._run(self._has_schema, open_op):  # a journal in use is opened without writing to it
                self._run(lambda db: db.executescript(_SCHEMA), open_op)
                self._run(lambda db: db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                                                (str(SCHEMA_VERSION),)), open_op)
        except BaseException:
            self._closed = True
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"Journal({str(self.path) if self.path else ':memory:'!r})"

    # ------------------------------------------------------------- plumbing
    def _shown(self, path: Path | None = None) -> str:
        p = path if path is not None else self.path
        return encodable(str(p)) if p is not None else ":memory:"

    @staticmethod
    def _has_schema(db: sqlite3.Connection) -> bool:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()}
        if not {"meta", "entries"} <= tables:
            return False
        return bool(db.execute("SELECT 1 FROM meta WHERE key='schema_version'").fetchall())

    def _run(self, fn: Callable[[sqlite3.Connection], _T], op: _Op) -> _T:
        """``fn(connection)`` under the lock; while another process holds SQLite's lock, tried again (the
        lock released in between) until ``busy_timeout`` has passed. Errors become :class:`JournalError`."""
        start = time.monotonic()
        delay = 0.01
        while True:
            with self._lock:
                if self._closed:
                    raise UsageError("The journal is closed.")
                try:
                    return fn(self._db)
                except sqlite3.Error as e:
                    if _is_bug(e):
                        raise
                    waited = time.monotonic() - start
                    if _kind(e) != "busy" or waited >= self.busy_timeout:
                        raise self._error(e, op, waited) from e
            time.sleep(min(delay, max(0.0, self.busy_timeout - waited)))
            delay = min(delay * 2, 0.2)

    def _error(self, e: sqlite3.Error, op: _Op, waited: float) -> JournalError:
        kind, said, shown = _kind(e), one_line(e, 200), self._shown()
        took = f"{waited:.1f} s" if waited < 10 else f"{waited:.0f} s"
        ref = f"\"{one_line(op.reference_id, 200)}\"" if op.reference_id is not None else "this row"
        kw: dict[str, Any] = {"path": shown, "operation": op.name, "reference_id": op.reference_id,
                              "job_id": op.job_id, "sqlite_message": said}
        if kind == "busy":
            head = (f"The journal {shown} cannot be opened: it is in use by another process (SQLite: {said}, for "
                    f"{took})." if op.name == "open" else
                    f"The journal {shown} is in use by another process: it stayed locked for {took} "
                    f"(SQLite: {said}).")
            advice = (" That is not damage: leave the file where it is, wait for the other process to finish "
                      "(or close it), then try again.")
            cls: type[JournalError] = JournalBusyError
        elif kind == "damaged":
            head = (f"The journal {shown} cannot be {'opened' if op.name == 'open' else 'read'}: SQLite says "
                    f"\"{said}\", so it may be damaged or not a journal.")
            advice = (" Keep a copy of the file (it is the record of which jobs were created; do not delete it), "
                      "and give this run another journal file (--journal) until it is looked at.")
            cls = JournalDamagedError
        else:
            head = (f"The journal {shown} cannot be {'opened' if op.name == 'open' else 'written'} (SQLite: "
                    f"{said}).")
            advice = " Check that its folder is writable and the disk is not full, then try again."
            cls = JournalError
        consequence = {
            "sending": f" Nothing was sent for reference ID {ref}.",
            "created": (f" Job {op.job_id} was created for reference ID {ref} but is not recorded as created; "
                        f"sending {ref} again recovers that job instead of creating a second one."),
            "failed": (f" The outcome for reference ID {ref} is not recorded; the next run checks whether it was "
                       f"created."),
        }.get(op.name, "")
        return cls(head + consequence + advice, **kw)

    @staticmethod
    def _entry(row: tuple[Any, ...]) -> Entry:
        d = dict(zip(_COLUMNS, row, strict=True))  # every SELECT names _COLUMNS
        return Entry(reference_id=unkey(d["reference_id"]), state=d["state"], job_id=d["job_id"], code=d["code"],
                     message=d["message"], attempts=d["attempts"] or 0, created_at=d["created_at"],
                     updated_at=d["updated_at"], payload_hash=d["payload_hash"], status=d["status"],
                     payload_json=d["payload"])

    def select(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read statement, under the journal's lock and its wait for another process's lock
        (core.status_scope and core.delivered page through the journal with it)."""
        return self._run(lambda db: db.execute(sql, args).fetchall(), _Op("read"))

    # --------------------------------------------------------------- writes
    def mark_pending(self, reference_id: str, payload: dict[str, Any]) -> None:
        """Record a row as checked and queued (never sent). Does not touch a row that already exists."""
        now = _now()
        args = (stored_key(reference_id), payload_hash(payload), _payload_text(payload), now, now)
        self._run(lambda db: db.execute(
            "INSERT OR IGNORE INTO entries (reference_id, payload_hash, payload, state, attempts, "
            "created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)", args), _Op("pending", reference_id))

    def mark_sending(self, reference_id: str, payload: dict[str, Any], *, hash_of: dict[str, Any] | None = None,
                     refuse_created: bool = False) -> Entry | None:
        """Call right before the POST: state "sending", attempts + 1, the payload and its hash. Returns None.
        A job_id already recorded is kept (it is only replaced by :meth:`mark_created`).

        A row already ``created`` (by another run, or another process) is left exactly as it is, and its
        entry is returned: the caller should not send it, unless it knows better (the server said that job
        no longer exists; :meth:`mark_created` then records the new one). With ``refuse_created=True`` that
        case raises :class:`AlreadyCreatedError` instead.

        ``hash_of``: hash this instead of ``payload`` (bulk passes the manifest's row before local files
        were uploaded, so that a re-run can compare rows without uploading again)."""
        now = _now()
        key = stored_key(reference_id)
        args = (key, payload_hash(payload if hash_of is None else hash_of), _payload_text(payload), now, now)

        def write(db: sqlite3.Connection) -> Entry | None:
            for _ in range(5):  # the row may be forgotten between the two statements: then insert it
                cur = db.execute(
                    "INSERT INTO entries (reference_id, payload_hash, payload, state, attempts, created_at, "
                    "updated_at) VALUES (?, ?, ?, 'sending', 1, ?, ?) ON CONFLICT(reference_id) DO UPDATE SET "
                    "payload_hash=excluded.payload_hash, payload=excluded.payload, state='sending', code=NULL, "
                    "message=NULL, attempts=entries.attempts + 1, updated_at=excluded.updated_at "
                    "WHERE entries.state != 'created'", args)
                if cur.rowcount:
                    return None
                rows = db.execute(f"{_SELECT} WHERE reference_id=?", (key,)).fetchall()
                if rows:
                    return self._entry(rows[0])
            return None

        created = self._run(write, _Op("sending", reference_id))
        if created is not None and refuse_created:
            raise AlreadyCreatedError(created)
        return created

    def mark_created(self, reference_id: str, job_id: str, status: str = "created") -> None:
        """Call right after a success: the server's job_id; ``status`` "created" or "recovered"."""
        if status not in ("created", "recovered"):
            raise ValueError(f"status must be 'created' or 'recovered', not {status!r}")
        now = _now()
        job = _clean(job_id, 200)
        args = (stored_key(reference_id), status, job, now, now)
        self._run(lambda db: db.execute(
            "INSERT INTO entries (reference_id, state, status, job_id, attempts, created_at, updated_at) "
            "VALUES (?, 'created', ?, ?, 1, ?, ?) ON CONFLICT(reference_id) DO UPDATE SET state='created', "
            "status=excluded.status, job_id=excluded.job_id, code=NULL, message=NULL, "
            "updated_at=excluded.updated_at", args), _Op("created", reference_id, job))

    def mark_failed(self, reference_id: str, code: str | None, message: str, ambiguous: bool = False) -> bool:
        """Call right after a refusal (``ambiguous=False``) or an unresolved outcome (``True``).
        A job_id recorded earlier is kept for reference, but the state says what happened last.
        A row already ``created`` is left as it is (returns False; True when the failure was recorded)."""
        now = _now()
        state = "ambiguous" if ambiguous else "failed"
        args = (stored_key(reference_id), state, None if code is None else _clean(code, 60),
                _clean(message, MESSAGE_LIMIT), now, now)
        n: int = self._run(lambda db: db.execute(
            "INSERT INTO entries (reference_id, state, code, message, attempts, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT(reference_id) DO UPDATE SET state=excluded.state, "
            "code=excluded.code, message=excluded.message, updated_at=excluded.updated_at "
            "WHERE entries.state != 'created'", args).rowcount, _Op("failed", reference_id))
        return n > 0

    def forget(self, reference_id: str) -> None:
        """Remove a row (for a user who deleted the job on Playment and wants to send it again)."""
        key = stored_key(reference_id)
        self._run(lambda db: db.execute("DELETE FROM entries WHERE reference_id=?", (key,)),
                  _Op("forget", reference_id))

    def clear(self) -> int:
        """Remove every entry and every stored remote status, in one transaction (the sandbox profile's
        journal when its sandbox is reset); returns how many entries were removed."""
        def write(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            try:
                n: int = db.execute("DELETE FROM entries").rowcount
                if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='remote'").fetchone():
                    db.execute("DELETE FROM remote")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return n

        return self._run(write, _Op("forget"))

    # ---------------------------------------------------------------- reads
    def get(self, reference_id: str) -> Entry | None:
        rows = self.select(f"{_SELECT} WHERE reference_id=?", (stored_key(reference_id),))
        return self._entry(rows[0]) if rows else None

    def get_many(self, reference_ids: Iterable[str], *, payloads: bool = True) -> dict[str, Entry]:
        """Entries for many reference_ids at once (absent ones are left out); without their payloads when
        ``payloads`` is False (a check deciding each row's action needs only the payload's hash)."""
        ids = list(dict.fromkeys(reference_ids))
        out: dict[str, Entry] = {}
        select = _SELECT if payloads else _SELECT_NO_PAYLOAD
        for i in range(0, len(ids), 500):
            chunk = tuple(stored_key(r) for r in ids[i:i + 500])
            rows = self.select(f"{select} WHERE reference_id IN ({', '.join('?' for _ in chunk)})", chunk)
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
        rows = self.select(f"{_SELECT} {where} ORDER BY updated_at DESC, rowid DESC LIMIT ?", (*args, int(limit)))
        return [self._entry(r) for r in rows]

    def entries(self) -> Iterator[Entry]:
        """Every entry, by reference_id."""
        for r in self.select(f"{_SELECT} ORDER BY reference_id"):
            yield self._entry(r)

    def counts(self) -> dict[str, int]:
        """How many entries are in each state (every state present, zero when none)."""
        out = {s: 0 for s in STATES}
        for state, n in self.select("SELECT state, COUNT(*) FROM entries GROUP BY state"):
            out[state] = n
        return out

    def entry_count(self) -> int:
        """How many entries the journal holds. A named count, not ``__len__``: with ``__len__`` an empty journal
        was falsy and ``if journal:`` skipped it silently; a Journal object is always true."""
        n: int = self.select("SELECT COUNT(*) FROM entries")[0][0]
        return n

    def run_sql(self, fn: Callable[[sqlite3.Connection], _T], *, writes: bool = False) -> _T:
        """``fn(connection)`` under the journal's lock, with its wait for another process's lock and its
        sentences for SQLite's errors (core.status_scope keeps a temporary table in this connection)."""
        return self._run(fn, _Op("status" if writes else "read"))

    # ---------------------------------------------------------- remote status
    def has_remote(self) -> bool:
        """Whether the journal has stored a status yet (its ``remote`` table is made by the first)."""
        return bool(self.select("SELECT 1 FROM sqlite_master WHERE type='table' AND name='remote'"))

    def record_statuses(self, updates: Iterable[tuple[str, str | None, str | None, str | None]]) -> int:
        """Store Playment's answers: (job_id, reference_id, batch_id, status) each, at the same time. A status
        that differs from the stored one also moves ``changed_at``. Returns how many statuses changed."""
        now = _now()
        rows = [(_clean(j, 200), None if r is None else stored_key(r), None if b is None else _clean(b, 200),
                 None if st is None else _clean(st, 60)) for j, r, b, st in updates]

        def write(db: sqlite3.Connection) -> int:
            db.executescript(_REMOTE_SCHEMA)
            changed = 0
            db.execute("BEGIN IMMEDIATE")
            try:
                for job_id, ref, batch, status in rows:
                    old = db.execute("SELECT status FROM remote WHERE job_id=?", (job_id,)).fetchone()
                    moved = old is None or old[0] != status
                    changed += moved
                    db.execute(
                        "INSERT INTO remote (job_id, reference_id, batch_id, status, checked_at, changed_at) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(job_id) DO UPDATE SET "
                        "reference_id=COALESCE(excluded.reference_id, remote.reference_id), "
                        "batch_id=COALESCE(excluded.batch_id, remote.batch_id), status=excluded.status, "
                        "checked_at=excluded.checked_at, changed_at=CASE WHEN remote.status IS excluded.status "
                        "THEN remote.changed_at ELSE excluded.changed_at END",
                        (job_id, ref, batch, status, now, now))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return changed

        return self._run(write, _Op("status"))

    def remote_statuses(self, job_ids: Iterable[str] | None = None) -> dict[str, RemoteStatus]:
        """Stored statuses by job_id (all of them, or those of ``job_ids``); {} before the first refresh."""
        if not self.has_remote():
            return {}
        select = f"SELECT {', '.join(REMOTE_COLUMNS)} FROM remote"
        if job_ids is None:
            rows = self.select(select)
        else:  # looked up by key, a chunk at a time: not every stored status read to keep a few
            ids = list(dict.fromkeys(job_ids))
            rows = []
            for i in range(0, len(ids), 500):
                chunk = tuple(ids[i:i + 500])
                rows += self.select(f"{select} WHERE job_id IN ({', '.join('?' for _ in chunk)})", chunk)
        return {r[0]: remote_status(r) for r in rows}

    def mark_statuses_seen(self, job_ids: Iterable[str] | None = None) -> None:
        """The user has looked: the current status of these jobs (default: all) is no longer news."""
        if not self.has_remote():
            return
        ids = None if job_ids is None else list(job_ids)

        def write(db: sqlite3.Connection) -> None:
            if ids is None:
                db.execute("UPDATE remote SET seen_status=status")
                return
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                db.execute(f"UPDATE remote SET seen_status=status WHERE job_id IN ({', '.join('?' for _ in chunk)})",
                           chunk)

        self._run(write, _Op("status"))

    def record_fetched(self, job_id: str, result_url: str) -> None:
        """The files of this job's result (as found at ``result_url``) are on disk: a re-run skips them."""
        now = _now()
        args = (_clean(result_url, 4000), now, _clean(job_id, 200))

        def write(db: sqlite3.Connection) -> None:
            db.executescript(_REMOTE_SCHEMA)
            db.execute("INSERT OR IGNORE INTO remote (job_id) VALUES (?)", (args[2],))
            db.execute("UPDATE remote SET fetched_url=?, fetched_at=? WHERE job_id=?", args)

        self._run(write, _Op("status"))

    # ---------------------------------------------------------------- claim
    @property
    def lock_path(self) -> Path | None:
        """``<journal>.lock``, the file :meth:`claim` locks (None for ``:memory:``)."""
        return self.path.with_name(self.path.name + ".lock") if self.path is not None else None

    def claim(self, what: str, *, wait: float = CLAIM_WAIT) -> JournalClaim:
        """Claim this journal for a long run (one bulk run at a time): an OS lock on :attr:`lock_path`, with
        this process's pid, host, the time and ``what`` written into it. Waits up to ``wait`` seconds for
        another holder, then raises :class:`JournalClaimedError` naming it. The lock goes with the process
        (a killed run leaves no stale claim). Re-entrant within one Journal object. Writers that do not
        claim (one-job submits) are not blocked by a claim. A no-op for ``:memory:``."""
        holder = ClaimHolder(pid=os.getpid(), host=one_line(socket.gethostname(), 100), since=_now(),
                             what=one_line(what, 200))
        lock_path = self.lock_path
        with self._claim_lock:
            if self._closed:
                raise UsageError("The journal is closed.")
            if lock_path is None or self._claim_depth > 0:
                self._claim_depth += 1
                return JournalClaim(self, holder)
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
            except OSError as e:
                raise JournalError(f"The journal's lock file {self._shown(lock_path)} cannot be opened: "
                                   f"{e.strerror}. Check that the journal's folder is writable.",
                                   path=self._shown(), operation="claim") from e
            deadline = time.monotonic() + max(0.0, wait)
            while not _try_lock(fd):
                left = deadline - time.monotonic()
                if left <= 0:
                    os.close(fd)
                    other = _read_holder(lock_path)
                    who = other.describe() if other is not None else "another process (it did not say which)"
                    raise JournalClaimedError(
                        f"The journal {self._shown()} is in use by another run: {who}. It was still in use after "
                        f"{wait:g} s. Wait for that run to finish, or use another journal file for this run "
                        f"(--journal FILE).", holder=other, path=self._shown(), operation="claim")
                time.sleep(min(0.05, left))
            try:
                data = ("\n" + json.dumps(holder.to_dict(), ensure_ascii=True) + "\n").encode("ascii")
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, data)
                os.ftruncate(fd, len(data))
            except OSError:
                pass  # the lock is what matters; the details are a courtesy to whoever waits
            self._claim_fd = fd
            self._claim_depth = 1
            return JournalClaim(self, holder)

    @property
    def claimed(self) -> bool:
        """True while this Journal object holds a :meth:`claim`."""
        return self._claim_depth > 0

    def _release_claim(self, force: bool = False) -> None:
        with self._claim_lock:
            if self._claim_depth == 0:
                return
            self._claim_depth = 0 if force else self._claim_depth - 1
            if self._claim_depth or self._claim_fd is None:
                return
            fd, self._claim_fd = self._claim_fd, None
            try:
                os.ftruncate(fd, 1)  # the details go; byte 0 (the locked one on Windows) stays
                _unlock(fd)
            except OSError:
                pass
            finally:
                os.close(fd)

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._release_claim(force=True)
        with self._lock:
            if not self._closed:
                self._closed = True
                try:  # give the WAL's space back (a full disk stays full otherwise); best effort
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass
                self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Journal", "Entry", "JournalClaim", "ClaimHolder", "payload_hash", "default_journal_path",
           "JournalError", "JournalBusyError", "JournalClaimedError", "JournalDamagedError", "AlreadyCreatedError",
           "STATES", "SCHEMA_VERSION", "BUSY_TIMEOUT", "CLAIM_WAIT", "MESSAGE_LIMIT"]
