"""A local Playment-compatible server: the app's embedded default and the tests' double.

Loopback only. It answers the four endpoints of the API notes with the same validation (core.job's, so
the two can never disagree), the same error codes and the same bodies:

    POST /v1/projects/{pid}/jobs            (also /v0/...)        create a job
    GET  /v1/projects/{pid}/jobs/{job_id}                          read a job back
    POST /v1/projects/{pid}/batch           (also /v1/project/...) create a batch
    GET  /v1/projects/{pid}/batch/{batch_id}?page_token=...        list a batch, paged
    GET  /v1/projects/{pid}/details                                the project and every batch, with counts
    GET  /v1/attachments?url=...                                   302 to a "signed" URL

Job status progression (the documented values, lower case as the job endpoints give them): ``created``, then
``in progress`` once half of ``complete_after`` seconds have passed, then ``completed`` after ``complete_after``
seconds (never, when it is None), or at once through ``POST /_sandbox/complete`` (body ``{"job_ids": [...]}``,
or no body for every open job) or :meth:`SandboxServer.complete_jobs`. A completed job's ``result`` is
``{"legend": {...}, "url": "<base>/results/<job_id>.png"}``, the shape of a pre-label: the mask is the job's
pre-label (when it is one of the sandbox's own /files/) changed by deterministic edits that a review can find,
each on the legend's classes in order: the first class grown, the second shrunk, the third renamed (same colour,
name + " (renamed)"), and a region of a new class "Added region" painted; a job without a pre-label gets a mask of
its primary image's size (64x48 when that is not a sandbox file) holding only the added region. Result URLs are
private: ``/v1/attachments?url=`` answers 302 to a signed URL on the sandbox's separate storage server
(``storage_url``, another port), which serves a file only with a valid signature and counts requests that carry
an API key (``storage with key`` in the stats: a client must never send one there).

plus, for sandbox mode, ``/files/``: GET/HEAD serve files from a folder so local images can be previewed
and submitted offline; PUT (with the key) stores one (sandbox storage). ``GET /_sandbox/stats`` returns
request counts (tests use it to prove a re-run sent nothing).

Where the notes are silent the sandbox chooses, and says so here: an unknown project, job or batch is
HTTP 404 with code PROJECT_NOT_FOUND / JOB_NOT_FOUND / BATCH_NOT_FOUND; a batch_id that is a UUID but no
batch of the project is GE_0001; a URL into the sandbox's own /files/ that does not exist is FS_0007 (other
URLs cannot be fetched from here and are accepted). Every project has a default batch (its id is
``default_batch_id``) where jobs without batch_id land.

Fault injection (per job POST, one roll each): ``html_500`` (before storing), ``html_502`` (after
storing: a gateway that lost the upstream answer), ``rate_limit`` (429 with Retry-After), ``drop_before``
(connection closed before the job is stored) and ``drop_after`` (closed after it is stored); plus
``latency_ms`` on every request.

It trusts no client either (every refusal below closes the connection and prints no traceback):

- The key is checked before a body is read: a request without it gets its 401 at once, unread.
- A POST or PUT needs a Content-Length (411 without one; a Transfer-Encoding beside one is ignored and the
  connection closed after the answer) that is one non-negative decimal number (else 400) within the
  route's bound: ``MAX_JSON_BODY`` for job and batch JSON, ``MAX_UPLOAD`` for a /files/ PUT (else 413).
  Bodies are read in ``CHUNK``-sized pieces, so memory follows what actually arrived, not what was
  announced. ``Expect: 100-continue`` is answered only once the request has passed those checks.
- A request line that is not ``METHOD /target HTTP/1.x`` (HTTP/0.9 included), a header line without a
  colon, a path that is not UTF-8 once decoded: 400. JSON that is not strict JSON (NaN, Infinity), nests
  deeper than ``MAX_JSON_DEPTH``, holds an integer of more than ``MAX_JSON_INT_DIGITS`` digits or a lone
  surrogate: 400 FS_0003.
- A /files/ name is percent-decoded once and stored as sent; it is refused (PUT: 400 GE_0001; GET: 404,
  or 400 when it holds control characters) when it is absolute, has an empty, ``.`` or ``..`` part, a
  backslash or a control character, a part longer than the file system's ``NAME_MAX`` (255 bytes) or more
  than ``MAX_NAME_BYTES`` in all. Uploads land in a short-named temporary file first, so a name of up to
  255 bytes is stored as it is.

Protocol-level refusals carry the API's error shape with the status's name as the code (BAD_REQUEST,
LENGTH_REQUIRED, REQUEST_URI_TOO_LONG, NOT_IMPLEMENTED, ...); a body the sandbox cannot take is FS_0003,
a file name it cannot store GE_0001 (409 when a folder and a file would share it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import os
import random
import re
import secrets
import shlex
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .errors import ValidationError
from .job import JobSpec, is_loopback_host
from .settings import ENV_BASE, ENV_DEFAULT_BATCH, ENV_KEY, ENV_PROJECT, ENV_WORKFLOW

_NS = uuid.UUID("6f1c2a40-9d1e-4c51-9a55-5b1d6a0c7e11")
MAX_JSON_BODY = 1024 * 1024  # a job or batch body: real ones are a few KiB
MAX_UPLOAD = 2 * 1024 ** 3  # one /files/ PUT
CHUNK = 64 * 1024  # bodies are read at most this much at a time
MAX_JSON_DEPTH = 64  # nesting of arrays and objects in a JSON body
MAX_JSON_INT_DIGITS = 100  # digits of one JSON integer (int() of a long one is quadratic)
NAME_MAX = 255  # bytes in one part of a /files/ name (ext4, xfs, btrfs, tmpfs)
MAX_NAME_BYTES = 1024  # bytes in a whole /files/ name


@dataclass
class Faults:
    """Probabilities (0..1) of each injected fault on a job POST; ``retry_after`` seconds for 429s."""

    html_500: float = 0.0
    html_502: float = 0.0
    rate_limit: float = 0.0
    drop_before: float = 0.0
    drop_after: float = 0.0
    retry_after: float = 1.0

    @classmethod
    def spread(cls, rate: float, retry_after: float = 1.0) -> "Faults":
        """``--fault-rate F``: F split evenly over the five fault kinds."""
        each = max(0.0, min(1.0, rate)) / 5
        return cls(each, each, each, each, each, retry_after)

    def total(self) -> float:
        return self.html_500 + self.html_502 + self.rate_limit + self.drop_before + self.drop_after


class _Store:
    """Jobs and batches in SQLite (``:memory:`` or a file), safe across handler threads."""

    def __init__(self, path: str):
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL" if path != ":memory:" else "PRAGMA journal_mode=MEMORY")
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, project_id TEXT, name TEXT,
                description TEXT, created_at TEXT, UNIQUE(project_id, name));
            CREATE TABLE IF NOT EXISTS results (job_id TEXT PRIMARY KEY, result TEXT, completed_at TEXT);
            CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT UNIQUE,
                project_id TEXT, reference_id TEXT, batch_id TEXT, work_flow_id TEXT, priority_weight INTEGER,
                status TEXT, payload TEXT, created_at TEXT, UNIQUE(project_id, reference_id));
        """)

    def q(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def insert_job(self, row: tuple) -> bool:
        """False when the (project, reference_id) is taken: the check and the insert are one step."""
        with self._lock:
            try:
                self._db.execute("INSERT INTO jobs (job_id, project_id, reference_id, batch_id, work_flow_id, "
                                 "priority_weight, status, payload, created_at) VALUES (?,?,?,?,?,?,?,?,?)", row)
                return True
            except sqlite3.IntegrityError:
                return False

    def insert_batch(self, row: tuple) -> bool:
        with self._lock:
            try:
                self._db.execute("INSERT INTO batches VALUES (?,?,?,?,?)", row)
                return True
            except sqlite3.IntegrityError:
                return False

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class _SandboxHTTPServer(ThreadingHTTPServer):
    """The listening socket of one SandboxServer (``.sandbox``), answering with SandboxRequestHandler.

    A client that hangs up mid-reply (a preview download cut at its size cap, a test's dropped
    connection) is normal here, not worth a traceback on stderr; other errors are still printed."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: "SandboxServer"):
        self.sandbox = sandbox
        super().__init__(address, SandboxRequestHandler)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


class SandboxServer:
    """Run with ``start()`` (a daemon thread) / ``stop()``, or as a context manager."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None,
                 project_id: str | None = None, store: str = ":memory:", files_dir: str | Path | None = None,
                 latency_ms: float = 0.0, faults: Faults | None = None, seed: int | None = None,
                 page_size: int = 50, quiet: bool = True, complete_after: float | None = None):
        if not is_loopback_host(host):
            raise ValueError(f"the sandbox only listens on loopback addresses, not {host!r}")
        self.host = host
        self.api_key = api_key or "sandbox-" + secrets.token_hex(12)
        self.project_id = project_id or "sandbox-project"
        self.workflow_id = str(uuid.uuid5(_NS, "workflow:" + self.project_id))
        self.default_batch_id = str(uuid.uuid5(_NS, "default-batch:" + self.project_id))
        self.latency_ms = latency_ms
        self.faults = faults or Faults()
        self.page_size = page_size
        self.quiet = quiet
        self.complete_after = complete_after
        self._complete_lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._tmp = None
        if files_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="playment-sandbox-files-")
            files_dir = self._tmp.name
        self.files_dir = Path(files_dir).resolve()
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.store = _Store(store)
        self.store.insert_batch((self.default_batch_id, self.project_id, "Default", "", _now()))
        self._scripted: list[tuple[int, bytes, str, dict]] = []
        self._stats: dict[str, int] = {}
        self._stats_lock = threading.Lock()
        self._httpd = _SandboxHTTPServer((host, port), self)
        self._thread: threading.Thread | None = None
        self._results_tmp = tempfile.TemporaryDirectory(prefix="playment-sandbox-results-")
        self.results_dir = Path(self._results_tmp.name)
        self._signing_key = secrets.token_bytes(16)
        self._storage = _StorageHTTPServer((host, 0), self)
        self._storage_thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def storage_url(self) -> str:
        """The base URL of the separate storage server that signed result URLs point to."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._storage.server_address[1]}"

    def _start_storage(self) -> None:
        self._storage_thread = threading.Thread(target=self._storage.serve_forever, kwargs={"poll_interval": 0.05},
                                                name="playment-sandbox-storage", daemon=True)
        self._storage_thread.start()

    def start(self) -> "SandboxServer":
        self._start_storage()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="playment-sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._start_storage()
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._storage_thread is not None:
            self._storage.shutdown()
            self._storage_thread.join(timeout=5)
        self._storage.server_close()
        self.store.close()
        self._results_tmp.cleanup()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def export_line(self) -> str:
        """The shell line that points the tool at this sandbox: ``export PLAYMENT_BASE_URL=...
        PLAYMENT_API_KEY=... PLAYMENT_PROJECT_ID=... PLAYMENT_WORKFLOW_ID=... PLAYMENT_DEFAULT_BATCH_ID=...``
        (values shell-quoted when they need it). It holds the sandbox's key: print it, never log it."""
        pairs = ((ENV_BASE, self.base_url), (ENV_KEY, self.api_key), (ENV_PROJECT, self.project_id),
                 (ENV_WORKFLOW, self.workflow_id), (ENV_DEFAULT_BATCH, self.default_batch_id))
        return "export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in pairs)

    # ------------------------------------------------------------- helpers
    def file_url(self, name: str) -> str:
        return f"{self.base_url}/files/{quote(name)}"

    def add_file(self, source: str | Path, name: str | None = None) -> str:
        """Copy a local file into /files/ and return its URL."""
        name = name or Path(source).name
        target = self._safe_path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return self.file_url(name)

    def jobs(self) -> list[dict[str, Any]]:
        rows = self.store.q("SELECT job_id, reference_id, batch_id, payload FROM jobs WHERE project_id=? "
                            "ORDER BY seq", (self.project_id,))
        return [{"job_id": r[0], "reference_id": r[1], "batch_id": r[2], "payload": json.loads(r[3])} for r in rows]

    def job_count(self) -> int:
        return self.store.q("SELECT COUNT(*) FROM jobs")[0][0]

    def stats(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self._stats)

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self._stats[key] = self._stats.get(key, 0) + 1

    def queue_response(self, status: int, body: dict | str | bytes = b"", *, headers: dict | None = None,
                       content_type: str | None = None) -> None:
        """Answer the next job POST with exactly this (a test hook for codes the sandbox's own
        validation never produces, and for malformed bodies). Queued answers are used first-in first-out."""
        if isinstance(body, dict):
            raw, ctype = json.dumps(body).encode(), "application/json"
        else:
            raw, ctype = (body.encode() if isinstance(body, str) else body), "text/html"
        with self._rng_lock:
            self._scripted.append((status, raw, content_type or ctype, headers or {}))

    def _next_scripted(self) -> tuple[int, bytes, str, dict] | None:
        with self._rng_lock:
            return self._scripted.pop(0) if self._scripted else None

    def _roll(self) -> float:
        with self._rng_lock:
            return self._rng.random()

    def _safe_path(self, name: str) -> Path:
        """Where the /files/ name ``name`` (already decoded: no further ``%`` decoding) lives; PermissionError
        when it is not a name the sandbox stores (see _name_problem) or leads outside ``files_dir``."""
        problem = _name_problem(name)
        if problem:
            raise PermissionError(problem)
        target = (self.files_dir / name).resolve()
        if self.files_dir not in target.parents:
            raise PermissionError("The file name leads outside the sandbox's files.")
        return target

    def own_file_missing(self, url: str) -> bool:
        """True when ``url`` points into this sandbox's /files/ and no such file exists."""
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            return False
        if parts.scheme != "http" or port != self.port or not is_loopback_host(parts.hostname):
            return False
        if not parts.path.startswith("/files/"):
            return True
        try:
            return not self._safe_path(_decode(parts.path[len("/files/"):])).is_file()
        except (PermissionError, UnicodeDecodeError, OSError):
            return True

    # ------------------------------------------------------------ handlers
    def create_job(self, project_id: str, body: Any) -> tuple[int, dict, str | None]:
        """(status, body, fault-after) for a job POST; ``fault-after`` is applied after storing."""
        if not isinstance(body, dict) or not body:
            return 400, _err("FS_0004", "Job data is empty."), None
        try:
            spec = JobSpec.from_payload(body)
        except ValidationError as e:
            p = e.problems[0]
            return 400, _err(p.code, str(p)), None
        if not spec.reference_id and spec.reference_id != 0:
            return 400, _err("FS_0002", "Reference ID is missing."), None
        errors = spec.errors()
        if errors:
            p = errors[0]
            more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
            return 400, _err(p.code, f"{p}{more}"), None
        batch_id = spec.batch_id or self.default_batch_id
        if not self.store.q("SELECT 1 FROM batches WHERE batch_id=? AND project_id=?", (batch_id, project_id)):
            return 400, _err("GE_0001", f"Invalid parameter: batch_id {batch_id} does not exist in this project."), None
        urls = [spec.image_url] + [r.image_url for r in spec.references]
        if spec.prelabel is not None:
            urls.append(spec.prelabel.url)
        for u in urls:
            if self.own_file_missing(u):
                return 400, _err("FS_0007", f"Attachment not accessible: {u}"), None
        job_id = str(uuid.uuid4())
        ok = self.store.insert_job((job_id, project_id, spec.reference_id, batch_id, spec.work_flow_id,
                                    spec.priority_weight if spec.priority_weight is not None else 5, "created",
                                    json.dumps(body), _now()))
        if not ok:
            return 400, _err("FS_0001", "Reference ID for the job is already in use."), None
        return 200, {"success": True, "data": {"job_id": job_id, "reference_id": spec.reference_id,
                                               "work_flow_id": spec.work_flow_id}}, "stored"

    def get_job(self, project_id: str, job_id: str) -> tuple[int, dict]:
        rows = self.store.q("SELECT job_id, reference_id, batch_id, status, work_flow_id, priority_weight FROM jobs "
                            "WHERE project_id=? AND job_id=?", (project_id, job_id))
        if not rows:
            return 404, _err("JOB_NOT_FOUND", f"No job {job_id} in this project.")
        jid, ref, batch, status, wf, pw = rows[0]
        res = self.store.q("SELECT result FROM results WHERE job_id=?", (jid,))
        return 200, {"success": True, "data": {"project_id": project_id, "reference_id": ref, "job_id": jid,
                                               "batch_id": batch, "status": status, "work_flow_id": wf,
                                               "priority_weight": pw, "tag": wf,
                                               "result": json.loads(res[0][0]) if res else None}}

    # ------------------------------------------------------- status and results
    def advance(self) -> None:
        """Move jobs along by age when ``complete_after`` is set: "in progress" after half of it, "completed"
        (with a result) after all of it. Called before every read, so statuses move without a timer."""
        if self.complete_after is None:
            return
        now = datetime.now(timezone.utc)
        due, started = [], []
        for job_id, status, created in self.store.q("SELECT job_id, status, created_at FROM jobs WHERE project_id=? "
                                                    "AND status IN ('created', 'in progress')", (self.project_id,)):
            age = (now - datetime.fromisoformat(created)).total_seconds()
            if age >= self.complete_after:
                due.append(job_id)
            elif age >= self.complete_after / 2 and status == "created":
                started.append(job_id)
        for job_id in started:
            self.store.q("UPDATE jobs SET status='in progress' WHERE job_id=? AND status='created'", (job_id,))
        if due:
            self.complete_jobs(due)

    def complete_jobs(self, job_ids: list[str] | None = None) -> list[str]:
        """Complete these jobs (default: every open job of the project) with a derived result; returns the
        job IDs completed now (jobs already completed, or unknown, are left out)."""
        with self._complete_lock:
            rows = self.store.q("SELECT job_id, payload FROM jobs WHERE project_id=? AND status != 'completed'",
                                (self.project_id,))
            wanted = None if job_ids is None else set(job_ids)
            done = []
            for job_id, payload in rows:
                if wanted is not None and job_id not in wanted:
                    continue
                result = self._make_result(job_id, json.loads(payload))
                self.store.q("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", (job_id, json.dumps(result), _now()))
                self.store.q("UPDATE jobs SET status='completed' WHERE job_id=?", (job_id,))
                done.append(job_id)
            return done

    def result_url(self, job_id: str) -> str:
        return f"{self.base_url}/results/{quote(job_id)}.png"

    def _own_file(self, url: Any) -> Path | None:
        if not isinstance(url, str) or self.own_file_missing(url) or not url.startswith(self.base_url + "/files/"):
            return None
        try:
            return self._safe_path(_decode(urlsplit(url).path[len("/files/"):]))
        except (PermissionError, UnicodeDecodeError):
            return None

    def _make_result(self, job_id: str, payload: dict) -> dict:
        """The delivered annotation of a job: its pre-label edited (see the module docstring), as a PNG in
        ``results_dir`` and ``{legend, url}``."""
        import numpy as np
        from PIL import Image

        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        raster = (((data.get("maker_response") or {}).get("raster") or {}).get("data") or {}) \
            if isinstance(data.get("maker_response"), dict) else {}
        legend = raster.get("legend") if isinstance(raster, dict) and isinstance(raster.get("legend"), dict) else {}
        mask_file = self._own_file(raster.get("url")) if isinstance(raster, dict) else None
        rgba = None
        if mask_file is not None and legend:
            try:
                with Image.open(mask_file) as im:
                    rgba = np.array(im.convert("RGBA"))
            except (OSError, ValueError, Image.DecompressionBombError):
                rgba = None
        if rgba is None:
            legend = {}
            size = (64, 48)
            image_file = self._own_file(data.get("image_url"))
            if image_file is not None:
                try:
                    with Image.open(image_file) as im:
                        size = im.size
                except (OSError, ValueError, Image.DecompressionBombError):
                    pass
            rgba = np.zeros((size[1], size[0], 4), dtype=np.uint8)
        out_legend, rgba = derive_result(rgba, {str(k).lower(): str(v) for k, v in legend.items()})
        Image.fromarray(rgba, "RGBA").save(self.results_dir / f"{job_id}.png", format="PNG", compress_level=1)
        return {"legend": out_legend, "url": self.result_url(job_id)}

    def sign(self, name: str) -> str:
        return hmac.new(self._signing_key, name.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def details(self, project_id: str) -> tuple[int, dict]:
        """GET /details: the project and every batch, with job counts (one frame per image job)."""
        batches = []
        for bid, name, desc, created in self.store.q("SELECT batch_id, name, description, created_at FROM batches "
                                                     "WHERE project_id=? ORDER BY created_at", (project_id,)):
            total, done = self.store.q("SELECT COUNT(*), COALESCE(SUM(status='completed'), 0) FROM jobs "
                                       "WHERE project_id=? AND batch_id=?", (project_id, bid))[0]
            status = "completed" if total and done == total else ("in progress" if done else "created")
            batches.append({"id": bid, "name": name, "description": desc, "is_default": bid == self.default_batch_id,
                            "total_jobs": total, "completed_jobs": done, "total_frames": total,
                            "completed_frames": done, "annotations": done, "created_at": created,
                            "status": status})
        return 200, {"success": True, "data": {"name": f"Sandbox project {project_id}", "base": "IMAGE",
                                               "batches": batches}}

    def create_batch(self, project_id: str, body: Any) -> tuple[int, dict]:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
            return 400, _err("BATCH_CREATION", "Batch name is required.")
        batch_id = str(uuid.uuid4())
        desc = body.get("description") if isinstance(body.get("description"), str) else ""
        if not self.store.insert_batch((batch_id, project_id, body["name"].strip(), desc, _now())):
            return 400, _err("BATCH_CREATION", f"A batch named \"{body['name'].strip()}\" already exists.")
        return 200, {"success": True, "data": {"batch_id": batch_id}}

    def list_batch(self, project_id: str, batch_id: str, token: str | None) -> tuple[int, dict]:
        rows = self.store.q("SELECT name FROM batches WHERE batch_id=? AND project_id=?", (batch_id, project_id))
        if not rows:
            return 404, _err("BATCH_NOT_FOUND", f"No batch {batch_id} in this project.")
        try:
            offset = int(token[2:]) if token else 0
            if token and not token.startswith("p:"):
                raise ValueError
        except ValueError:
            return 400, _err("GE_0001", "Invalid parameter: page_token.")
        jobs = self.store.q("SELECT job_id, reference_id, status, work_flow_id, created_at FROM jobs WHERE "
                            "project_id=? AND batch_id=? ORDER BY seq LIMIT ? OFFSET ?",
                            (project_id, batch_id, self.page_size + 1, offset))
        more = len(jobs) > self.page_size
        jobs = jobs[: self.page_size]
        return 200, {"success": True, "data": {
            "id": batch_id, "project_id": project_id, "name": rows[0][0],
            "jobs": [{"id": j[0], "reference_id": j[1], "status": j[2], "work_flow_id": j[3], "created_at": j[4]}
                     for j in jobs],
            "next_page_token": f"p:{offset + self.page_size}" if more else None}}


ADDED_REGION = "Added region"


def derive_result(rgba: Any, legend: dict[str, str]) -> tuple[dict[str, str], Any]:
    """The sandbox annotator: (legend, RGBA mask) delivered for a pre-label, by deterministic edits on the
    legend's classes in order (see the module docstring): the first grown by r pixels (over whatever
    is next to it), the second shrunk by r, the third renamed, and a rectangle of a new class painted. r is 1/40 of the
    shorter side (at least 1). Pure numpy; the input is not changed."""
    import numpy as np

    out = np.array(rgba, dtype=np.uint8, copy=True)
    h, w = out.shape[:2]
    r = max(1, min(h, w) // 40)
    keys = [k for k in legend if re.fullmatch(r"#[0-9a-f]{6}", k)]
    packed = (out[..., 0].astype(np.uint32) << 16) | (out[..., 1].astype(np.uint32) << 8) | out[..., 2]
    labelled = out[..., 3] > 0

    def where(key: str) -> Any:
        return labelled & (packed == int(key[1:], 16))

    def spread(m: Any, grow: bool) -> Any:
        res = m.copy()
        for d in range(1, r + 1):
            for axis, step in ((0, d), (0, -d), (1, d), (1, -d)):
                shifted = np.zeros_like(m) if grow else np.ones_like(m)
                src = [slice(None), slice(None)]
                dst = [slice(None), slice(None)]
                src[axis] = slice(0, -step) if step > 0 else slice(-step, None)
                dst[axis] = slice(step, None) if step > 0 else slice(0, step)
                shifted[tuple(dst)] = m[tuple(src)]
                res = (res | shifted) if grow else (res & shifted)
        return res

    out_legend = dict(legend)
    if keys:
        first = keys[0]
        m = where(first)
        grown = spread(m, True) & ~m  # over its neighbours, labelled or not: a fully labelled mask grows too
        out[grown] = [*(int(first[i:i + 2], 16) for i in (1, 3, 5)), 255]
    if len(keys) > 1:
        m = where(keys[1])
        out[m & ~spread(m, False)] = 0
    if len(keys) > 2:
        out_legend[keys[2]] = legend[keys[2]] + " (renamed)"
    taken = {int(k[1:], 16) for k in keys}
    colour = next(c for c in (0x00C8FF, 0xFF00C8, 0xC8FF00, 0x123456, 0x654321) if c not in taken)
    y0, x0 = h * 5 // 8, w * 5 // 8
    out[y0:y0 + max(1, h // 5), x0:x0 + max(1, w // 5)] = [colour >> 16, (colour >> 8) & 255, colour & 255, 255]
    out_legend[f"#{colour:06x}"] = ADDED_REGION
    return out_legend, out


class _StorageHandler(BaseHTTPRequestHandler):
    """GET /{name}?signature=...: a result file of the sandbox, for a valid signature only (403 otherwise).
    Requests carrying an API key are counted (``storage with key``): the tests prove there are none."""

    protocol_version = "HTTP/1.1"
    server_version = "PlaymentSandboxStorage/1"
    server: "_StorageHTTPServer"

    def log_message(self, fmt: str, *args: Any) -> None:
        if not self.server.sandbox.quiet:
            super().log_message(fmt, *args)

    def _answer(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        sb = self.server.sandbox
        sb._count("GET storage")
        if self.headers.get("x-api-key") or self.headers.get("x-client-key"):
            sb._count("storage with key")
        parts = urlsplit(self.path)
        try:
            name = _decode(parts.path.lstrip("/"))
        except UnicodeDecodeError:
            return self._answer(400, b"Bad name")
        signature = (parse_qs(parts.query).get("signature") or [""])[0]
        if not re.fullmatch(r"[0-9A-Za-z._-]+\.png", name) or not hmac.compare_digest(signature, sb.sign(name)):
            return self._answer(403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
        target = sb.results_dir / name
        if not target.is_file():
            return self._answer(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
        self._answer(200, target.read_bytes(), "image/png")

    do_HEAD = do_GET


class _StorageHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: "SandboxServer"):
        self.sandbox = sandbox
        super().__init__(address, _StorageHandler)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


def _err(code: str, message: str) -> dict:
    return {"success": False, "error": {"code": code, "message": message}}


def _decode(text: str) -> str:
    """One round of percent-decoding; UnicodeDecodeError when the bytes are not UTF-8."""
    return unquote(text, errors="strict")


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a /files/ name, or None. Names are stored as sent or not at all."""
    if not name:
        return "The file name is empty."
    if _has_control(name):
        return "The file name holds a control character."
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "The file name is not valid Unicode."
    if size > MAX_NAME_BYTES:
        return f"The file name is longer than {MAX_NAME_BYTES} bytes."
    if "\\" in name:
        return "The file name holds a backslash."
    if name.startswith("/"):
        return "The file name is an absolute path."
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return "The file name has an empty, \".\" or \"..\" part."
        if len(part.encode("utf-8")) > NAME_MAX:
            return f"A part of the file name is longer than {NAME_MAX} bytes."
    return None


def _strict_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise ValueError(f"an integer has more than {MAX_JSON_INT_DIGITS} digits")
    return int(text)


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _json_problem(value: Any) -> str | None:
    """What makes an already parsed body unfit to store (walked without recursion), or None."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return f"it nests deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(item, dict):
                stack.extend((k, depth) for k in item)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "a string holds a lone surrogate"
    return None


def _parse_json(raw: bytes) -> tuple[Any, str | None]:
    """(value, None) for an acceptable body, else (None, the reason in a sentence)."""
    try:
        value = json.loads(raw, parse_int=_strict_int, parse_constant=_no_constant)
    except RecursionError:
        return None, f"Request body is not acceptable JSON: it nests deeper than {MAX_JSON_DEPTH} levels."
    except (ValueError, UnicodeDecodeError) as e:
        reason = str(e) if "digits" in str(e) else "it does not parse"
        return None, f"Request body is not valid JSON: {reason}."
    problem = _json_problem(value)
    if problem:
        return None, f"Request body is not acceptable JSON: {problem}."
    return value, None


# An HTTP/1.x request line, strictly: token SP origin-form-or-absolute-URI SP version (RFC 9112 3).
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TARGET = re.compile(r"(?:/|[Hh][Tt][Tt][Pp][Ss]?://)[\x21-\x7e]*")
_VERSION = re.compile(r"HTTP/([0-9])\.([0-9])")


_HTML = "<html><head><title>{code} {reason}</title></head><body><h1>{code} {reason}</h1><hr>nginx</body></html>"


class SandboxRequestHandler(BaseHTTPRequestHandler):
    """One request to a sandbox: routes it to the endpoint's method below. The sandbox whose state it
    reads and writes is ``self.server.sandbox`` (``self.sb`` for short)."""

    protocol_version = "HTTP/1.1"
    server_version = "PlaymentSandbox/1"
    # A request refused before its version is known still gets a status line and headers (0.9 gets neither).
    default_request_version = "HTTP/1.0"
    server: "_SandboxHTTPServer"
    _expect_continue = False

    @property
    def sb(self) -> SandboxServer:
        return self.server.sandbox

    def setup(self) -> None:
        super().setup()
        # Without this, a reply written as headers + body meets Nagle and delayed ACKs: +40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt: str, *args: Any) -> None:  # request lines only, never headers
        if not self.sb.quiet:
            super().log_message(fmt, *args)

    # ------------------------------------------------------------- parsing
    def parse_request(self) -> bool:
        """BaseHTTPRequestHandler's parse, stricter: the request line must be ``METHOD /target HTTP/1.x``
        (checked before any header is read, so an HTTP/0.9 line is refused at once) and every header line
        must be ``name: value``. False once a refusal has been sent (or the line was empty: hang up)."""
        self._expect_continue = False
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.command, self.request_version, self.requestline = None, self.default_request_version, line
        if not line.strip():
            self.close_connection = True
            return False
        words = line.split(" ")
        version = _VERSION.fullmatch(words[2]) if len(words) == 3 else None
        if version is None or not _METHOD.fullmatch(words[0]) or not _TARGET.fullmatch(words[1]):
            self.send_error(400, "The request line is not \"METHOD /path HTTP/1.1\".")
            return False
        if version.group(1) != "1":
            if version.group(1) == "0":
                self.send_error(400, "HTTP/0.x is not supported; use HTTP/1.1.")
            else:
                self.send_error(505, "Only HTTP/1.0 and HTTP/1.1 are supported.")
            return False
        if not super().parse_request():
            return False
        if self.headers.defects or self.headers.get_payload():
            self.send_error(400, "A header line is not \"name: value\".")
            return False
        return True

    def handle_expect_100(self) -> bool:
        """``Expect: 100-continue`` is answered only when the body is about to be read (see _continue):
        a request refused on its headers gets its refusal instead, and the body is never sent."""
        self._expect_continue = True
        return True

    def _continue(self) -> None:
        if self._expect_continue:
            self._expect_continue = False
            self.send_response_only(100)
            self.end_headers()

    # ------------------------------------------------------------- replies
    def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")  # end_headers() without its flush: one write below
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def _json(self, status: int, obj: dict, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", headers)

    def _html(self, status: int) -> None:
        reason = HTTPStatus(status).phrase
        self._send(status, _HTML.format(code=status, reason=reason).encode(), "text/html")

    def _not_found(self, path: str) -> None:
        self._json(404, _err("NOT_FOUND", f"No endpoint {path}."))

    def _refuse(self, status: int, code: str, message: str) -> None:
        """An error in the API's shape, then the connection closes: whatever body the request announced and
        the sandbox did not read is never taken for the next request."""
        self.close_connection = True
        self._json(status, _err(code, message))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """BaseHTTPRequestHandler's own refusals (414, 431, 501, ...) and the parse's above: the API's error
        shape with the status's name as code, connection closed, nothing on stderr unless not quiet."""
        status = HTTPStatus(code)
        self.log_error("code %d, message %s", code, message)
        self._refuse(code, status.name, message or status.phrase)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------ requests
    def _delay(self) -> None:
        if self.sb.latency_ms:
            time.sleep(self.sb.latency_ms / 1000)

    def _announces_body(self) -> bool:
        return "Transfer-Encoding" in self.headers or (self.headers.get("Content-Length") or "0").strip() != "0"

    def _content_length(self, limit: int, what: str) -> int | None:
        """The body size the request announces, checked before a byte of it is read: one non-negative
        decimal number, at most ``limit``. None once a refusal (411, 400 or 413) has been sent."""
        values = [v.strip() for v in self.headers.get_all("Content-Length") or []]
        if not values:
            self._refuse(411, "LENGTH_REQUIRED", "This request needs a Content-Length header (chunked transfer "
                                                 "coding is not supported).")
            return None
        value = values[0]
        if any(v != value for v in values) or not (value.isascii() and value.isdigit()):
            self._refuse(400, "BAD_REQUEST", "Content-Length must be one whole number of bytes, 0 or more.")
            return None
        length = int(value) if len(value) <= 18 else limit + 1  # no int() of a 60,000-digit header
        if length > limit:
            self._refuse(413, "FS_0003", f"{what} is larger than {limit} bytes.")
            return None
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True  # framed two ways: read by Content-Length, then hang up
        return length

    def _read_body(self, length: int) -> bytes | None:
        """``length`` bytes, read ``CHUNK`` at a time so memory follows what arrives, not what was announced;
        None (and the connection marked for closing) when the client stops short."""
        self._continue()
        parts: list[bytes] = []
        got = 0
        try:
            while got < length:
                chunk = self.rfile.read(min(CHUNK, length - got))
                if not chunk:
                    break
                parts.append(chunk)
                got += len(chunk)
        except OSError:
            pass
        if got < length:
            self.close_connection = True
            return None
        return b"".join(parts)

    def _authorised(self) -> bool:
        """The key, checked before any body is read; a 401 closes the connection with the body unread."""
        key = self.headers.get("x-api-key") or self.headers.get("x-client-key")
        if key and secrets.compare_digest(key.encode("utf-8", "surrogatepass"),
                                          self.sb.api_key.encode("utf-8", "surrogatepass")):
            return True
        self.close_connection = True
        self._send(401, b"Unauthorized", "text/plain")
        return False

    # ------------------------------------------------------------- routing
    def _route(self) -> tuple[str, list[str], dict] | None:
        """(raw path, segments decoded once, query); None once a 400 has been sent for a path that is not
        UTF-8 once decoded. A /files/ name is decoded once from the raw path (so %2F in it is a "/")."""
        try:
            parts = urlsplit(self.path)
            segs = [_decode(s) for s in parts.path.split("/") if s]
        except (ValueError, UnicodeDecodeError):
            self._refuse(400, "BAD_REQUEST", "The path is not a URL path of UTF-8 text.")
            return None
        return parts.path, segs, parse_qs(parts.query)

    @staticmethod
    def _is_project_path(segs: list[str], length: int) -> bool:
        """``/v1|v0/projects|project/{pid}/...`` with ``length`` segments in all."""
        return len(segs) == length and segs[0] in ("v1", "v0") and segs[1] in ("projects", "project")

    def _known_project(self, pid: str) -> bool:
        if pid == self.sb.project_id:
            return True
        self._json(404, _err("PROJECT_NOT_FOUND", f"Project {pid} not found."))
        return False

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if self._announces_body():
            self.close_connection = True  # a body on a GET is never read: hang up after the answer instead
        self._delay()
        route = self._route()
        if route is None:
            return
        path, segs, query = route
        if segs[:1] == ["files"]:
            return self._get_file(path)
        if not self._authorised():
            return
        if segs == ["_sandbox", "stats"]:
            return self._get_stats()
        if segs[:1] == ["results"]:
            return self._json(403, _err("FORBIDDEN", "Result files are private: ask /v1/attachments?url= for a "
                                                     "signed URL."))
        if segs[:2] == ["v1", "attachments"]:
            return self._get_attachment(query)
        if self._is_project_path(segs, 5):
            pid = segs[2]
            if not self._known_project(pid):
                return
            if segs[3] == "jobs":
                return self._get_job(pid, segs[4])
            if segs[3] == "batch":
                return self._get_batch(pid, segs[4], query)
        if self._is_project_path(segs, 4) and segs[3] == "details":
            if not self._known_project(segs[2]):
                return
            self.sb._count("GET details")
            self.sb.advance()
            return self._json(*self.sb.details(segs[2]))
        self._not_found(path)

    def do_POST(self) -> None:
        if not self._authorised():
            return
        length = self._content_length(MAX_JSON_BODY, "The request body")
        if length is None:
            return
        raw = self._read_body(length)
        if raw is None:
            return
        self._delay()
        route = self._route()
        if route is None:
            return
        path, segs, _ = route
        if segs == ["_sandbox", "complete"]:
            body, problem = _parse_json(raw) if raw else ({}, None)
            ids = body.get("job_ids") if isinstance(body, dict) else None
            if problem or (ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids))):
                return self._json(400, _err("FS_0003", problem or "job_ids must be a list of job IDs."))
            return self._json(200, {"success": True, "data": {"completed": self.sb.complete_jobs(ids)}})
        if self._is_project_path(segs, 4):
            pid = segs[2]
            if not self._known_project(pid):
                return
            body = None
            if raw:
                body, problem = _parse_json(raw)
                if problem:
                    return self._json(400, _err("FS_0003", problem))
            if segs[3] == "jobs":
                return self._post_job(pid, body)
            if segs[3] == "batch":
                return self._post_batch(pid, body)
        self._not_found(path)

    def do_PUT(self) -> None:
        if not self._authorised():
            return
        route = self._route()
        if route is None:
            return
        path, segs, _ = route
        if segs[:1] != ["files"] or len(segs) < 2:
            self.close_connection = True  # its body stays unread
            return self._not_found(path)
        self._put_file(path)

    # ----------------------------------------------------------- endpoints
    def _get_stats(self) -> None:
        """GET /_sandbox/stats"""
        self._json(200, {"success": True, "data": self.sb.stats()})

    def _get_attachment(self, query: dict) -> None:
        """GET /v1/attachments?url=...: 302 to a "signed" URL of one of the sandbox's own files."""
        sb = self.sb
        sb._count("GET attachments")
        url = (query.get("url") or [""])[0]
        prefix = sb.base_url + "/results/"
        if url.startswith(prefix):
            name = _decode(url[len(prefix):].split("?", 1)[0])
            if (sb.results_dir / name).is_file() and "/" not in name:
                return self._send(302, b"", "text/plain",
                                  {"Location": f"{sb.storage_url}/{quote(name)}?signature={sb.sign(name)}"})
            return self._json(404, _err("NOT_FOUND", "No such attachment."))
        if url and not sb.own_file_missing(url) and url.startswith(sb.base_url + "/files/"):
            return self._send(302, b"", "text/plain", {"Location": url + "?signature=sandbox"})
        self._json(404, _err("NOT_FOUND", "No such attachment."))

    def _get_job(self, pid: str, job_id: str) -> None:
        """GET /v1/projects/{pid}/jobs/{job_id}"""
        self.sb._count("GET job")
        self.sb.advance()
        self._json(*self.sb.get_job(pid, job_id))

    def _get_batch(self, pid: str, batch_id: str, query: dict) -> None:
        """GET /v1/projects/{pid}/batch/{batch_id}?page_token=..."""
        self.sb._count("GET batch")
        self.sb.advance()
        token = (query.get("page_token") or [None])[0]
        self._json(*self.sb.list_batch(pid, batch_id, token))

    def _post_batch(self, pid: str, body: Any) -> None:
        """POST /v1/projects/{pid}/batch"""
        self.sb._count("POST batch")
        self._json(*self.sb.create_batch(pid, body))

    def _post_job(self, pid: str, body: Any) -> None:
        """POST /v1/projects/{pid}/jobs: a queued answer if any, else one fault roll, else the job."""
        sb = self.sb
        sb._count("POST jobs")
        scripted = sb._next_scripted()
        if scripted is not None:
            status, raw, ctype, headers = scripted
            return self._send(status, raw, ctype, headers)
        fault = self._pick_fault()
        if fault == "html_500":
            return self._html(500)
        if fault == "rate_limit":
            ra = sb.faults.retry_after
            return self._send(429, b"<html><body>429 Too Many Requests</body></html>", "text/html",
                              {"Retry-After": str(int(ra)) if float(ra).is_integer() else str(ra)})
        if fault == "drop_before":
            return self._drop()
        status, obj, stored = sb.create_job(pid, body)
        if stored and fault == "drop_after":
            return self._drop()
        if stored and fault == "html_502":
            return self._html(502)
        self._json(status, obj)

    def _pick_fault(self) -> str | None:
        """One roll over the fault probabilities (none when they are all 0); the fault picked is counted."""
        sb = self.sb
        f = sb.faults
        roll = sb._roll() if f.total() > 0 else 1.0
        edges = [("html_500", f.html_500), ("html_502", f.html_502), ("rate_limit", f.rate_limit),
                 ("drop_before", f.drop_before), ("drop_after", f.drop_after)]
        acc = 0.0
        for name, p in edges:
            acc += p
            if roll < acc:
                sb._count("fault " + name)
                return name
        return None

    def _put_file(self, path: str) -> None:
        """PUT /files/{name} (with the key): store the body as that file (sandbox storage). The name is
        the path after /files/, percent-decoded once, and stored exactly so or refused (_name_problem)."""
        sb = self.sb
        length = self._content_length(MAX_UPLOAD, "The file")
        if length is None:
            return
        sb._count("PUT files")
        name = _decode(path[len("/files/"):])  # UTF-8: _route has decoded every segment already
        try:
            target = sb._safe_path(name)
        except PermissionError as e:
            return self._refuse(400, "GE_0001", f"Invalid file name. {e}")
        try:
            received = self._receive_file(target, length)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            return self._refuse(409, "GE_0001", "Invalid file name: a file and a folder would share it.")
        except OSError as e:
            self.log_error("could not store %s: %s", name, e)
            return self._refuse(500, "FS_0000", f"The sandbox could not store the file ({e.strerror or e}).")
        if not received:
            self.close_connection = True
            return
        self._json(201, {"success": True, "data": {"url": sb.file_url(name)}})

    def _receive_file(self, target: Path, length: int) -> bool:
        """Read ``length`` body bytes into ``target`` through a temporary file; False (and nothing left
        behind) when the client sent fewer. The temporary file has a short name of its own: the target's
        name plus a suffix could pass the file system's limit on a name. OSError for the file system's
        refusals (a file where a folder should be, a full disk)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{secrets.token_hex(8)}.part"
        try:
            with open(tmp, "xb") as out:
                self._continue()
                remaining = length
                while remaining:
                    try:
                        chunk = self.rfile.read(min(CHUNK, remaining))
                    except OSError:
                        break
                    if not chunk:
                        break
                    out.write(chunk)
                    remaining -= len(chunk)
            if remaining:
                return False
            tmp.replace(target)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def _get_file(self, path: str) -> None:
        """GET/HEAD /files/{name}: no key needed (previews and offline submissions read these). A name
        that cannot be stored is not found (404); one with control characters is malformed (400)."""
        self.sb._count("GET files")
        name = _decode(path[len("/files/"):] if path.startswith("/files/") else "")  # UTF-8: see _route
        if _has_control(name):
            return self._refuse(400, "GE_0001", "Invalid file name: it holds a control character.")
        try:
            target = self.sb._safe_path(name)
            fh = open(target, "rb") if target.is_file() else None  # noqa: SIM115 (closed by the with below)
        except OSError:  # PermissionError (a name refused) included
            fh = None
        if fh is None:
            return self._send(404, b"Not found", "text/plain")
        with fh:
            size = os.fstat(fh.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", mimetypes.guess_type(target.name)[0] or "application/octet-stream")
            self.send_header("Content-Length", str(size))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command == "HEAD":
                return
            remaining = size  # what Content-Length promised, even if the file grows meanwhile
            while remaining:
                chunk = fh.read(min(1 << 20, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)
            if remaining:
                self.close_connection = True  # the file shrank: the answer is short, so end it
