"""The sandbox itself: :class:`SandboxServer` (its lifecycle, state and the endpoints' logic) and the
:class:`Faults` it can inject. Its two listening sockets are ``api``'s and ``storage``'s servers."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import shlex
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import ValidationError
from ..job import JobSpec, is_loopback_host
from ..settings import ENV_BASE, ENV_DEFAULT_BATCH, ENV_KEY, ENV_PROJECT, ENV_WORKFLOW
from .api import SandboxHTTPServer
from .home import RUNNING, DiskCap
from .results import render_result, vector_result
from .storage import StorageHTTPServer
from .store import Store
from .wire import JsonObject, decode_once, error_body, name_problem, now_iso

_NS = uuid.UUID("6f1c2a40-9d1e-4c51-9a55-5b1d6a0c7e11")

Reply = tuple[int, JsonObject]
"""An endpoint's answer: HTTP status and JSON body."""

ScriptedReply = tuple[int, bytes, str, dict[str, str]]
"""A queued answer to a job POST: status, body, content type, extra headers."""


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
    def spread(cls, rate: float, retry_after: float = 1.0) -> Faults:
        """``--fault-rate F``: F split evenly over the five fault kinds."""
        each = max(0.0, min(1.0, rate)) / 5
        return cls(each, each, each, each, each, retry_after)

    def total(self) -> float:
        return self.html_500 + self.html_502 + self.rate_limit + self.drop_before + self.drop_after


class SandboxServer:
    """Run with ``start()`` (a daemon thread) / ``stop()``, or as a context manager."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None,
                 project_id: str | None = None, store: str = ":memory:", files_dir: str | Path | None = None,
                 latency_ms: float = 0.0, faults: Faults | None = None, seed: int | None = None,
                 page_size: int = 50, quiet: bool = True, complete_after: float | None = None,
                 results_dir: str | Path | None = None, max_disk_bytes: int | None = None):
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
        self._tmp = tempfile.TemporaryDirectory(prefix="playment-sandbox-", ignore_cleanup_errors=True)
        self.scratch_dir = Path(self._tmp.name)  # a throw-away folder of this sandbox's own, gone at stop()
        if files_dir is None:
            files_dir = self.scratch_dir / "files"
        self.files_dir = Path(files_dir).resolve()
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(store)
        self.store.insert_batch((self.default_batch_id, self.project_id, "Default", "", now_iso()))
        self._scripted: list[ScriptedReply] = []
        self._stats: dict[str, int] = {}
        self._stats_lock = threading.Lock()
        # A kept store keeps its port where it can (the URLs its jobs hold name it) and knows its former ones.
        former = [int(p) for p in (self.store.meta("ports") or "").split() if p.isdigit()]
        self._httpd = self._listen(host, port, former[-1:] if port == 0 else [])
        self.own_ports = {*former, self.port}
        if store != ":memory:":
            self.store.set_meta("ports", " ".join(str(p) for p in [*(p for p in former if p != self.port),
                                                                   self.port][-20:]))
        self._thread: threading.Thread | None = None
        if results_dir is None:
            results_dir = self.scratch_dir / "results"
        self.results_dir = Path(results_dir).resolve()
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.max_disk_bytes = max_disk_bytes
        self.notices: list[str] = []  # what the sandbox did on its own (files pruned at the disk cap), to be said
        self._disk = DiskCap(self, max_disk_bytes)
        self._signing_key = self._key_for_signing(store)
        self._storage = StorageHTTPServer((host, 0), self)
        self._storage_thread: threading.Thread | None = None

    def _listen(self, host: str, port: int, preferred: list[int]) -> SandboxHTTPServer:
        """The API's listening socket: on ``preferred`` ports first (a kept sandbox's last one), else ``port``."""
        for p in preferred:
            try:
                return SandboxHTTPServer((host, p), self)
            except OSError:
                continue
        return SandboxHTTPServer((host, port), self)

    def _key_for_signing(self, store: str) -> bytes:
        """A kept store keeps its signing key (signed URLs handed out stay valid across restarts)."""
        kept = self.store.meta("signing_key") if store != ":memory:" else None
        if kept:
            return bytes.fromhex(kept)
        key = secrets.token_bytes(16)
        if store != ":memory:":
            self.store.set_meta("signing_key", key.hex())
        return key

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

    def start(self) -> SandboxServer:
        RUNNING.add(self.base_url)
        self._disk.check()
        self._start_storage()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="playment-sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        RUNNING.add(self.base_url)
        self._disk.check()
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
        RUNNING.discard(self.base_url)
        self.store.close()
        self._tmp.cleanup()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
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
        target = self.safe_path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return self.file_url(name)

    def jobs(self) -> list[dict[str, Any]]:
        rows = self.store.q("SELECT job_id, reference_id, batch_id, payload FROM jobs WHERE project_id=? "
                            "ORDER BY seq", (self.project_id,))
        return [{"job_id": r[0], "reference_id": r[1], "batch_id": r[2], "payload": json.loads(r[3])} for r in rows]

    def job_count(self) -> int:
        return int(self.store.q("SELECT COUNT(*) FROM jobs")[0][0])

    def stats(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self._stats)

    def count(self, key: str) -> None:
        """Add one to the request count ``key`` (``GET /_sandbox/stats``, :meth:`stats`)."""
        with self._stats_lock:
            self._stats[key] = self._stats.get(key, 0) + 1

    def queue_response(self, status: int, body: JsonObject | str | bytes = b"", *,
                       headers: dict[str, str] | None = None, content_type: str | None = None) -> None:
        """Answer the next job POST with exactly this (a test hook for codes the sandbox's own
        validation never produces, and for malformed bodies). Queued answers are used first-in first-out."""
        if isinstance(body, dict):
            raw, ctype = json.dumps(body).encode(), "application/json"
        else:
            raw, ctype = (body.encode() if isinstance(body, str) else body), "text/html"
        with self._rng_lock:
            self._scripted.append((status, raw, content_type or ctype, headers or {}))

    def next_scripted(self) -> ScriptedReply | None:
        """The oldest answer queued by :meth:`queue_response`, taken off the queue; None when it is empty."""
        with self._rng_lock:
            return self._scripted.pop(0) if self._scripted else None

    def roll(self) -> float:
        """One draw in [0, 1) from the sandbox's seeded random source (the fault roll of a job POST)."""
        with self._rng_lock:
            return self._rng.random()

    def safe_path(self, name: str) -> Path:
        """Where the /files/ name ``name`` (already decoded: no further ``%`` decoding) lives; PermissionError
        when it is not a name the sandbox stores (see wire.name_problem) or leads outside ``files_dir``."""
        problem = name_problem(name)
        if problem:
            raise PermissionError(problem)
        target = (self.files_dir / name).resolve()
        if self.files_dir not in target.parents:
            raise PermissionError("The file name leads outside the sandbox's files.")
        return target

    def _own_path(self, url: Any, prefix: str) -> str | None:
        """The raw path after ``prefix`` when ``url`` is http on loopback at one of this sandbox's ports (its
        current one, or a former one of a kept store), else None."""
        if not isinstance(url, str):
            return None
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            return None
        if parts.scheme != "http" or port not in self.own_ports or not is_loopback_host(parts.hostname):
            return None
        return parts.path[len(prefix):] if parts.path.startswith(prefix) else None

    def own_file_missing(self, url: str) -> bool:
        """True when ``url`` points into this sandbox's /files/ and no such file exists."""
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            return False
        if parts.scheme != "http" or port not in self.own_ports or not is_loopback_host(parts.hostname):
            return False
        return self.own_file_name(url) is None

    def own_file_name(self, url: Any) -> str | None:
        """The /files/ name (decoded) behind ``url`` when it is an existing file of this sandbox, else None."""
        raw = self._own_path(url, "/files/")
        if raw is None:
            return None
        try:
            name = decode_once(raw)
            return name if self.safe_path(name).is_file() else None
        except (PermissionError, UnicodeDecodeError, OSError):
            return None

    def own_result_name(self, url: Any) -> str | None:
        """The result file name behind a result URL of this sandbox (``/results/<job>.png``) when it exists."""
        raw = self._own_path(url, "/results/")
        if raw is None:
            return None
        try:
            name = decode_once(raw)
        except UnicodeDecodeError:
            return None
        return name if "/" not in name and name and (self.results_dir / name).is_file() else None

    def sign_file(self, name: str) -> str:
        """The signature of the /files/ name ``name`` (decoded) in its signed URL: a namespace of its own,
        so a result's signature never opens a file of the same name."""
        return self.sign("files/" + name)

    def reset(self) -> tuple[int, int]:
        """Empty the sandbox: every job, result and batch but the default one, every file of /files/ and of
        the results. Returns (jobs removed, files removed)."""
        jobs = self.job_count()
        with self._complete_lock:
            self.store.q("DELETE FROM results")
            self.store.q("DELETE FROM jobs")
            self.store.q("DELETE FROM batches WHERE batch_id != ?", (self.default_batch_id,))
        files = self._disk.clear()
        return jobs, files

    def stored(self, length: int) -> None:
        """A /files/ upload of ``length`` bytes was stored: the disk cap prunes the oldest files if passed."""
        self._disk.added(length)

    # ------------------------------------------------------------ handlers
    def create_job(self, project_id: str, body: Any) -> tuple[int, JsonObject, str | None]:
        """(status, body, fault-after) for a job POST; ``fault-after`` is applied after storing."""
        if not isinstance(body, dict) or not body:
            return 400, error_body("FS_0004", "Job data is empty."), None
        try:
            spec = JobSpec.from_payload(body)
        except ValidationError as e:
            p = e.problems[0]
            return 400, error_body(p.code, str(p)), None
        rid: object = spec.reference_id  # as the body gave it (JobSpec keeps it unchecked): maybe 0, maybe None
        if not rid and rid != 0:
            return 400, error_body("FS_0002", "Reference ID is missing."), None
        errors = spec.errors()
        if errors:
            p = errors[0]
            more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
            return 400, error_body(p.code, f"{p}{more}"), None
        batch_id = spec.batch_id or self.default_batch_id
        if not self.store.q("SELECT 1 FROM batches WHERE batch_id=? AND project_id=?", (batch_id, project_id)):
            return 400, error_body("GE_0001", f"Invalid parameter: batch_id {batch_id} does not exist in this "
                                              "project."), None
        urls = [spec.image_url] + [r.image_url for r in spec.references]
        if spec.prelabel is not None:
            urls.append(spec.prelabel.url)
        for u in urls:
            if self.own_file_missing(u):
                return 400, error_body("FS_0007", f"Attachment not accessible: {u}"), None
        job_id = str(uuid.uuid4())
        ok = self.store.insert_job((job_id, project_id, spec.reference_id, batch_id, spec.work_flow_id,
                                    spec.priority_weight if spec.priority_weight is not None else 5, "created",
                                    json.dumps(body), now_iso()))
        if not ok:
            return 400, error_body("FS_0001", "Reference ID for the job is already in use."), None
        return 200, {"success": True, "data": {"job_id": job_id, "reference_id": spec.reference_id,
                                               "work_flow_id": spec.work_flow_id}}, "stored"

    def get_job(self, project_id: str, job_id: str) -> Reply:
        rows = self.store.q("SELECT job_id, reference_id, batch_id, status, work_flow_id, priority_weight FROM jobs "
                            "WHERE project_id=? AND job_id=?", (project_id, job_id))
        if not rows:
            return 404, error_body("JOB_NOT_FOUND", f"No job {job_id} in this project.")
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
                self.store.q("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", (job_id, json.dumps(result), now_iso()))
                self.store.q("UPDATE jobs SET status='completed' WHERE job_id=?", (job_id,))
                done.append(job_id)
            return done

    def result_url(self, job_id: str) -> str:
        return f"{self.base_url}/results/{quote(job_id)}.png"

    def own_file(self, url: Any) -> Path | None:
        """The file behind ``url`` when it is an existing file of this sandbox's /files/, else None."""
        name = self.own_file_name(url)
        return None if name is None else self.safe_path(name)

    def _make_result(self, job_id: str, payload: JsonObject) -> JsonObject:
        """The delivered annotation of a job: its mask (``results.render_result``, a PNG in ``results_dir``)
        and its shapes (``results.vector_result``), each when the pre-label had them."""
        shapes = vector_result(payload)
        maker = payload.get("data", {}).get("maker_response") if isinstance(payload.get("data"), dict) else None
        if shapes is not None and not (isinstance(maker, dict) and "raster" in maker):
            return shapes  # a vector job: its delivered shapes, no mask
        result = render_result(payload, self.own_file, self.results_dir / f"{job_id}.png", self.result_url(job_id))
        return result if shapes is None else {**result, **shapes}

    def sign(self, name: str) -> str:
        return hmac.new(self._signing_key, name.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def details(self, project_id: str) -> Reply:
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

    def create_batch(self, project_id: str, body: Any) -> Reply:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
            return 400, error_body("BATCH_CREATION", "Batch name is required.")
        batch_id = str(uuid.uuid4())
        desc = body.get("description") if isinstance(body.get("description"), str) else ""
        if not self.store.insert_batch((batch_id, project_id, body["name"].strip(), desc, now_iso())):
            return 400, error_body("BATCH_CREATION", f"A batch named \"{body['name'].strip()}\" already exists.")
        return 200, {"success": True, "data": {"batch_id": batch_id}}

    def list_batch(self, project_id: str, batch_id: str, token: str | None) -> Reply:
        rows = self.store.q("SELECT name FROM batches WHERE batch_id=? AND project_id=?", (batch_id, project_id))
        if not rows:
            return 404, error_body("BATCH_NOT_FOUND", f"No batch {batch_id} in this project.")
        try:  # the token names the last job listed (its seq): each page is read from the index, not counted to
            after = int(token[2:]) if token else 0
            if token and not token.startswith("p:"):
                raise ValueError
        except ValueError:
            return 400, error_body("GE_0001", "Invalid parameter: page_token.")
        jobs = self.store.q("SELECT job_id, reference_id, status, work_flow_id, created_at, seq FROM jobs WHERE "
                            "project_id=? AND batch_id=? AND seq > ? ORDER BY seq LIMIT ?",
                            (project_id, batch_id, after, self.page_size + 1))
        more = len(jobs) > self.page_size
        jobs = jobs[: self.page_size]
        return 200, {"success": True, "data": {
            "id": batch_id, "project_id": project_id, "name": rows[0][0],
            "jobs": [{"id": j[0], "reference_id": j[1], "status": j[2], "work_flow_id": j[3], "created_at": j[4]}
                     for j in jobs],
            "next_page_token": f"p:{jobs[-1][5]}" if more else None}}

