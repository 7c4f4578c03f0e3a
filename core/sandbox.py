"""A local Playment-compatible server: the app's embedded default and the tests' double.

Loopback only. It answers the four endpoints of the API notes with the same validation (core.job's, so
the two can never disagree), the same error codes and the same bodies:

    POST /v1/projects/{pid}/jobs            (also /v0/...)        create a job
    GET  /v1/projects/{pid}/jobs/{job_id}                          read a job back
    POST /v1/projects/{pid}/batch           (also /v1/project/...) create a batch
    GET  /v1/projects/{pid}/batch/{batch_id}?page_token=...        list a batch, paged
    GET  /v1/attachments?url=...                                   302 to a "signed" URL

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
"""

from __future__ import annotations

import json
import mimetypes
import random
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
MAX_BODY = 16 * 1024 * 1024
MAX_UPLOAD = 2 * 1024 ** 3


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
                 page_size: int = 50, quiet: bool = True):
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

    # ------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "SandboxServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="playment-sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()
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
        target = (self.files_dir / unquote(name).lstrip("/")).resolve()
        if self.files_dir not in target.parents:
            raise PermissionError(name)
        return target

    def own_file_missing(self, url: str) -> bool:
        """True when ``url`` points into this sandbox's /files/ and no such file exists."""
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.port != self.port or not is_loopback_host(parts.hostname):
            return False
        if not parts.path.startswith("/files/"):
            return True
        try:
            return not self._safe_path(parts.path[len("/files/"):]).is_file()
        except PermissionError:
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
        return 200, {"success": True, "data": {"project_id": project_id, "reference_id": ref, "job_id": jid,
                                               "batch_id": batch, "status": status, "work_flow_id": wf,
                                               "priority_weight": pw, "tag": wf, "result": None}}

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


def _err(code: str, message: str) -> dict:
    return {"success": False, "error": {"code": code, "message": message}}


_HTML = "<html><head><title>{code} {reason}</title></head><body><h1>{code} {reason}</h1><hr>nginx</body></html>"


class SandboxRequestHandler(BaseHTTPRequestHandler):
    """One request to a sandbox: routes it to the endpoint's method below. The sandbox whose state it
    reads and writes is ``self.server.sandbox`` (``self.sb`` for short)."""

    protocol_version = "HTTP/1.1"
    server_version = "PlaymentSandbox/1"
    server: "_SandboxHTTPServer"

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

    # ------------------------------------------------------------- replies
    def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
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

    def _body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(413, _err("FS_0003", "Request body too large."))
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _authorised(self) -> bool:
        key = self.headers.get("x-api-key") or self.headers.get("x-client-key")
        if key and secrets.compare_digest(key, self.sb.api_key):
            return True
        self._send(401, b"Unauthorized", "text/plain")
        return False

    # ------------------------------------------------------------- routing
    def _route(self) -> tuple[str, list[str], dict]:
        parts = urlsplit(self.path)
        segs = [unquote(s) for s in parts.path.split("/") if s]
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
        self._delay()
        path, segs, query = self._route()
        if segs[:1] == ["files"]:
            return self._get_file("/".join(segs[1:]))
        if not self._authorised():
            return
        if segs == ["_sandbox", "stats"]:
            return self._get_stats()
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
        self._not_found(path)

    def do_POST(self) -> None:
        raw = self._body()
        if raw is None:
            return
        self._delay()
        path, segs, _ = self._route()
        if not self._authorised():
            return
        if self._is_project_path(segs, 4):
            pid = segs[2]
            if not self._known_project(pid):
                return
            try:
                body = json.loads(raw) if raw else None
            except (ValueError, UnicodeDecodeError):
                return self._json(400, _err("FS_0003", "Request body is not valid JSON."))
            if segs[3] == "jobs":
                return self._post_job(pid, body)
            if segs[3] == "batch":
                return self._post_batch(pid, body)
        self._not_found(path)

    def do_PUT(self) -> None:
        path, segs, _ = self._route()
        if segs[:1] != ["files"] or len(segs) < 2:
            self._body()
            return self._not_found(path)
        self._put_file("/".join(segs[1:]))

    # ----------------------------------------------------------- endpoints
    def _get_stats(self) -> None:
        """GET /_sandbox/stats"""
        self._json(200, {"success": True, "data": self.sb.stats()})

    def _get_attachment(self, query: dict) -> None:
        """GET /v1/attachments?url=...: 302 to a "signed" URL of one of the sandbox's own files."""
        sb = self.sb
        sb._count("GET attachments")
        url = (query.get("url") or [""])[0]
        if url and not sb.own_file_missing(url) and url.startswith(sb.base_url + "/files/"):
            return self._send(302, b"", "text/plain", {"Location": url + "?signature=sandbox"})
        self._json(404, _err("NOT_FOUND", "No such attachment."))

    def _get_job(self, pid: str, job_id: str) -> None:
        """GET /v1/projects/{pid}/jobs/{job_id}"""
        self.sb._count("GET job")
        self._json(*self.sb.get_job(pid, job_id))

    def _get_batch(self, pid: str, batch_id: str, query: dict) -> None:
        """GET /v1/projects/{pid}/batch/{batch_id}?page_token=..."""
        self.sb._count("GET batch")
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

    def _put_file(self, name: str) -> None:
        """PUT /files/{name} (with the key): store the body as that file (sandbox storage)."""
        sb = self.sb
        length = int(self.headers.get("Content-Length") or 0)
        if not self._authorised():
            self.close_connection = True
            return
        if length > MAX_UPLOAD:
            self.close_connection = True
            return self._json(413, _err("FS_0003", "File too large for the sandbox."))
        sb._count("PUT files")
        try:
            target = sb._safe_path(name)
        except PermissionError:
            self.close_connection = True
            return self._json(400, _err("GE_0001", "Invalid file name."))
        if not self._receive_file(target, length):
            self.close_connection = True
            return
        self._json(201, {"success": True, "data": {"url": sb.file_url(name)}})

    def _receive_file(self, target: Path, length: int) -> bool:
        """Read ``length`` body bytes into ``target`` through a temporary file; False (and nothing left
        behind) when the client sent fewer."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + f".part{threading.get_ident()}")
        remaining = length
        with open(tmp, "wb") as out:
            while remaining:
                chunk = self.rfile.read(min(1 << 20, remaining))
                if not chunk:
                    break
                out.write(chunk)
                remaining -= len(chunk)
        if remaining:
            tmp.unlink(missing_ok=True)
            return False
        tmp.replace(target)
        return True

    def _get_file(self, name: str) -> None:
        """GET/HEAD /files/{name}: no key needed (previews and offline submissions read these)."""
        self.sb._count("GET files")
        try:
            target = self.sb._safe_path(name)
        except PermissionError:
            return self._send(404, b"Not found", "text/plain")
        if not target.is_file():
            return self._send(404, b"Not found", "text/plain")
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        size = target.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(target, "rb") as fh:
            shutil.copyfileobj(fh, self.wfile, 1 << 20)
