"""PlaymentClient: the one place that talks HTTP to Playment (or the sandbox).

Transport rules (what the official SDK gets wrong, done right):
- one long-lived ``requests.Session`` whose connection pool is sized for concurrent use (bulk shares it);
- explicit (connect, read) timeouts on every request; ``x-api-key``; a User-Agent with our version;
- plain http refused except to loopback (the sandbox);
- GETs are idempotent: urllib3's ``Retry`` (mounted through requests' ``HTTPAdapter``) retries them on
  429/5xx and dropped connections, honouring ``Retry-After``;
- ``create_job`` is not idempotent, so it has its own loop: it retries 429, 5xx, timeouts and dropped
  connections with capped exponential backoff and full jitter, honouring ``Retry-After``. It remembers
  whether an earlier attempt may have reached the server ("ambiguous"); if a later attempt answers
  FS_0001 (duplicate reference_id), that earlier attempt created the job, and the client recovers the
  job_id through the batch listing and returns it marked ``recovered``. When that cannot be resolved it
  raises :class:`AmbiguousOutcomeError`: never a silent duplicate, never a false failure;
- every answer is parsed defensively: HTML 502s, bodies without ``success`` and 401s with no JSON all
  become typed errors from :mod:`core.errors`, never a JSON decode error or a KeyError.

The API key lives only in the session's headers: it is in no repr, log line or exception text.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import __version__
from .errors import (AmbiguousOutcomeError, AuthError, ConnectionFailedError, DuplicateReferenceError,
                     NotFoundError, PlaymentError, RateLimitedError, RequestTimeoutError, ServerFaultError,
                     UsageError, ValidationError, error_for_code)
from .job import JobSpec, is_loopback_host

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.playment.io"
DEFAULT_PATHS = {
    "jobs": "/v1/projects/{project_id}/jobs",
    "job": "/v1/projects/{project_id}/jobs/{job_id}",
    "batches": "/v1/projects/{project_id}/batch",
    "batch": "/v1/projects/{project_id}/batch/{batch_id}",
}
NIL_UUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class RetryPolicy:
    """How create_job retries. Defaults: 5 attempts; waits of uniform(0, min(30, 0.5 * 2**n)) s
    between them (full jitter), or the server's Retry-After when it gives one (up to 60 s; a longer
    Retry-After is reported instead of waited out)."""

    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 60.0

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full-jitter wait before attempt ``attempt + 1`` (attempt counts from 1)."""
        return rng() * min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))


@dataclass(frozen=True)
class CreatedJob:
    job_id: str
    reference_id: str
    work_flow_id: str | None
    recovered: bool = False
    attempts: int = 1

    @property
    def status(self) -> str:
        return "recovered" if self.recovered else "created"

    def to_dict(self) -> dict:
        return {"reference_id": self.reference_id, "job_id": self.job_id, "status": self.status}


@dataclass(frozen=True)
class JobInfo:
    job_id: str
    reference_id: str | None
    project_id: str | None = None
    batch_id: str | None = None
    status: str | None = None
    work_flow_id: str | None = None
    priority_weight: int | None = None
    result: Any = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class BatchJob:
    job_id: str
    reference_id: str | None
    status: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ConnectionReport:
    ok: bool
    kind: str  # "reachable" | "key_rejected" | "project_unknown" | "unreachable" | "error"
    message: str


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (it may be a number or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _was_not_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection failed before the request could reach the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                               urllib3.exceptions.NameResolutionError))


class PlaymentClient:
    """Typed access to the four endpoints of the job API. Thread-safe for concurrent create_job calls."""

    def __init__(self, base_url: str, project_id: str, api_key: str, *,
                 timeout: tuple[float, float] = (5.0, 30.0), pool_size: int = 10,
                 retry: RetryPolicy | None = None, default_batch_id: str | None = None,
                 paths: dict[str, str] | None = None, get_retries: int = 4,
                 sleep: Callable[[float], Any] | None = None, rng: Callable[[], float] = random.random):
        base_url = (base_url or "").strip().rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"The base URL \"{base_url}\" is not an http(s) URL; use {DEFAULT_BASE_URL} "
                             f"or the sandbox's address.")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise UsageError(f"The base URL \"{base_url}\" uses plain http, which would send the API key "
                             f"unencrypted; use https (plain http is only allowed to this machine).")
        if not project_id or not str(project_id).strip():
            raise UsageError("No project ID is configured; set it in the profile, with --project-id or "
                             "PLAYMENT_PROJECT_ID.")
        if not api_key:
            raise UsageError("No API key is configured; store it in the profile (keyring) or set PLAYMENT_API_KEY.")
        self.base_url = base_url
        self.project_id = str(project_id).strip()
        self.default_batch_id = default_batch_id
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.paths = {**DEFAULT_PATHS, **(paths or {})}
        self._rng = rng
        self._sleep = sleep
        self._batch_index: dict[str, tuple[dict[str, str], str | None]] = {}
        self._index_lock = threading.Lock()
        self._session = requests.Session()
        self._session.headers.update({
            "x-api-key": api_key,
            "User-Agent": f"playment-submit/{__version__} python-requests/{requests.__version__}",
            "Accept": "application/json",
        })
        get_retry = Retry(total=get_retries, connect=2, read=get_retries, status=get_retries, other=0,
                          backoff_factor=0.5, backoff_max=self.retry.backoff_cap,
                          status_forcelist=(429, 500, 502, 503, 504), allowed_methods=frozenset({"GET"}),
                          respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False)
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(1, pool_size), pool_block=True,
                              max_retries=get_retry)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def __repr__(self) -> str:  # never the key
        return f"PlaymentClient(base_url={self.base_url!r}, project_id={self.project_id!r})"

    def add_response_hook(self, hook: Callable[[requests.Response], Any]) -> None:
        """Call ``hook(response)`` for every HTTP answer (bulk uses it to share a 429 back-off)."""
        def wrapped(resp, *args, **kwargs):
            hook(resp)
            return resp
        wrapped.__wrapped__ = hook  # type: ignore[attr-defined]
        self._session.hooks.setdefault("response", []).append(wrapped)

    def remove_response_hook(self, hook: Callable[[requests.Response], Any]) -> None:
        hooks = self._session.hooks.get("response", [])
        hooks[:] = [h for h in hooks if getattr(h, "__wrapped__", None) is not hook]

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "PlaymentClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing
    def _url(self, name: str, **kw: str) -> str:
        return self.base_url + self.paths[name].format(project_id=self.project_id, **kw)

    def _wait(self, seconds: float, cancel: threading.Event | None) -> None:
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel is not None:
            cancel.wait(seconds)
        else:
            time.sleep(seconds)

    def _get(self, url: str, params: dict | None = None) -> dict:
        try:
            resp = self._session.get(url, params=params, timeout=self.timeout)
        except requests.exceptions.Timeout:
            raise RequestTimeoutError(f"Playment did not answer within {self.timeout[1]:g} s ({_short(url)}).")
        except requests.exceptions.RequestException as e:
            raise ConnectionFailedError(f"Could not reach {self.base_url}: {_reason(e)}. Check the base URL "
                                        f"and your network connection.")
        return self._parse(resp)

    @staticmethod
    def _parse(resp: requests.Response) -> dict:
        """The ``data`` of a successful answer, or the typed error for anything else."""
        status = resp.status_code
        try:
            body = resp.json()
        except ValueError:
            body = None
        err = body.get("error") if isinstance(body, dict) else None
        code = err.get("code") if isinstance(err, dict) else None
        message = err.get("message") if isinstance(err, dict) else (err if isinstance(err, str) else None)
        code = str(code) if code is not None else None
        message = str(message) if message is not None else None
        if status in (401, 403):
            raise AuthError(code=code, server_message=message, status=status)
        if status == 429:
            raise RateLimitedError(code=code, server_message=message, status=status,
                                   retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        if isinstance(body, dict) and body.get("success") is True and 200 <= status < 300:
            data = body.get("data")
            if isinstance(data, dict):
                return data
            raise ServerFaultError("Playment answered success but without the expected data; this is a "
                                   "server-side problem.", status=status)
        if isinstance(body, dict) and body.get("success") is False and code:
            exc = error_for_code(code, message, status)
            if status >= 500 and type(exc) is PlaymentError:
                exc = ServerFaultError(code=code, server_message=message, status=status)
            raise exc
        if status == 404:
            raise NotFoundError(status=status, server_message=message)
        if status >= 500:
            kind = "a non-JSON" if body is None else "an unexpected"
            raise ServerFaultError(f"Playment (or a gateway in front of it) answered HTTP {status} "
                                   f"{resp.reason or ''} with {kind} body; this is a server-side fault and "
                                   f"usually passes.".replace("  ", " "), status=status)
        raise ServerFaultError(f"Playment answered HTTP {status} with a body this tool does not understand "
                               f"(no \"success\" field); treat the outcome as unknown.", status=status)

    # ---------------------------------------------------------------- jobs
    def create_job(self, job: JobSpec | dict, *, cancel: threading.Event | None = None,
                   prior_attempt_ambiguous: bool = False,
                   on_attempt: Callable[[int, str], Any] | None = None) -> CreatedJob:
        """Create one job; see the module docstring for the retry and recovery rules.

        ``prior_attempt_ambiguous``: an earlier run (say, one that crashed) may already have sent this
        job, so FS_0001 means "recover" rather than "duplicate". ``on_attempt(n, note)`` is told about
        each attempt (for progress lines). ``cancel`` stops waiting between attempts.
        """
        spec = job if isinstance(job, JobSpec) else JobSpec.from_payload(job)
        errors = spec.errors()
        if errors:
            raise ValidationError(errors)
        payload = spec.to_payload()
        ref = spec.reference_id
        batch_for_lookup = spec.batch_id or self.default_batch_id
        ambiguous = prior_attempt_ambiguous
        last: PlaymentError | None = None
        url = self._url("jobs")
        for attempt in range(1, self.retry.max_attempts + 1):
            if cancel is not None and cancel.is_set() and attempt > 1:
                break
            if on_attempt:
                on_attempt(attempt, "retrying" if attempt > 1 else "sending")
            delay: float | None = None
            try:
                resp = self._session.post(url, json=payload, timeout=self.timeout)
                data = self._parse(resp)
                job_id = data.get("job_id")
                if not job_id:
                    raise ServerFaultError("Playment answered success without a job_id; treat the outcome "
                                           "as unknown.", status=resp.status_code)
                return CreatedJob(job_id=str(job_id), reference_id=str(data.get("reference_id", ref)),
                                  work_flow_id=data.get("work_flow_id", spec.work_flow_id),
                                  recovered=False, attempts=attempt)
            except DuplicateReferenceError as e:
                if ambiguous:
                    return self._recover(ref, batch_for_lookup, attempt, e)
                existing = self._lookup_quietly(ref, batch_for_lookup)
                raise DuplicateReferenceError(
                    f"A job with reference ID \"{ref}\" already exists in this project"
                    + (f" (job {existing})" if existing else "")
                    + ". Choose another reference ID, or look the existing job up instead of creating it again."
                    + (f" (FS_0001: {e.server_message})" if e.server_message else ""),
                    existing_job_id=existing, code=e.code, server_message=e.server_message, status=e.status)
            except RateLimitedError as e:  # the request was refused before processing: not ambiguous
                last = e
                if e.retry_after is not None:
                    if e.retry_after > self.retry.max_retry_after:
                        raise RateLimitedError(f"Playment asked to wait {e.retry_after:.0f} s before trying "
                                               f"again; try later.", retry_after=e.retry_after, status=429)
                    delay = e.retry_after
            except ServerFaultError as e:
                last, ambiguous = e, True
            except requests.exceptions.Timeout as e:
                if isinstance(e, requests.exceptions.ConnectTimeout):
                    last = ConnectionFailedError(f"Could not connect to {self.base_url} within "
                                                 f"{self.timeout[0]:g} s.")
                else:
                    last, ambiguous = RequestTimeoutError(
                        f"Playment did not answer within {self.timeout[1]:g} s."), True
            except requests.exceptions.ConnectionError as e:
                if _was_not_sent(e):
                    last = ConnectionFailedError(f"Could not reach {self.base_url}: {_reason(e)}. Check the "
                                                 f"base URL and your network connection.")
                else:
                    last, ambiguous = ConnectionFailedError(
                        "The connection dropped after the job was sent; its outcome is unknown."), True
            except requests.exceptions.RequestException as e:
                last, ambiguous = ConnectionFailedError(f"The request failed: {_reason(e)}."), True
            log.info("create_job %s: attempt %d failed: %s", ref, attempt, last)
            if attempt < self.retry.max_attempts:
                self._wait(delay if delay is not None else self.retry.backoff(attempt, self._rng), cancel)
        assert last is not None or (cancel is not None and cancel.is_set())
        if ambiguous:
            found = self._lookup_quietly(ref, batch_for_lookup)
            if found:
                return CreatedJob(job_id=found, reference_id=ref, work_flow_id=spec.work_flow_id,
                                  recovered=True, attempts=self.retry.max_attempts)
            if batch_for_lookup is None:
                raise AmbiguousOutcomeError(
                    f"Playment may or may not have created job \"{ref}\": {last} The tool cannot check because "
                    f"the job has no batch_id (set one, or a default batch in the profile, to let it reconcile). "
                    f"Resubmitting is safe: a duplicate is refused with FS_0001.", reference_id=ref)
        if last is None:
            raise PlaymentError("Cancelled before the job was sent.")
        raise last

    def _recover(self, ref: str, batch_id: str | None, attempts: int, dup: DuplicateReferenceError) -> CreatedJob:
        if batch_id is None:
            raise AmbiguousOutcomeError(
                f"An earlier attempt most likely created job \"{ref}\" (the retry was refused as a duplicate, "
                f"FS_0001), but the job has no batch_id to look its job ID up in. Find it in the project's "
                f"default batch, or set a default batch in the profile.", reference_id=ref, code=dup.code)
        try:
            found = self.find_job_by_reference(ref, batch_id)
        except PlaymentError as e:
            raise AmbiguousOutcomeError(
                f"An earlier attempt most likely created job \"{ref}\", but looking up its job ID failed: {e}",
                reference_id=ref, code=dup.code)
        if not found:
            raise AmbiguousOutcomeError(
                f"Playment says reference ID \"{ref}\" is in use, but it is not in batch {batch_id}; the job "
                f"may belong to another batch. Check the project before resubmitting.", reference_id=ref,
                code=dup.code)
        return CreatedJob(job_id=found, reference_id=ref, work_flow_id=None, recovered=True, attempts=attempts)

    def _lookup_quietly(self, ref: str, batch_id: str | None) -> str | None:
        if batch_id is None:
            return None
        try:
            return self.find_job_by_reference(ref, batch_id)
        except PlaymentError:
            return None

    def get_job(self, job_id: str) -> JobInfo:
        d = self._get(self._url("job", job_id=job_id))
        return JobInfo(job_id=str(d.get("job_id", job_id)), reference_id=d.get("reference_id"),
                       project_id=d.get("project_id"), batch_id=d.get("batch_id"), status=d.get("status"),
                       work_flow_id=d.get("work_flow_id") or d.get("tag"),
                       priority_weight=d.get("priority_weight"), result=d.get("result"), raw=d)

    # ------------------------------------------------------------- batches
    def create_batch(self, name: str, description: str = "") -> str:
        """Create a batch; returns its batch_id. Not retried after the request may have been sent
        (a retry of a batch that was created would fail as BATCH_CREATION)."""
        if not name or not name.strip():
            raise ValidationError([_problem("name", "the batch needs a name.")])
        try:
            resp = self._session.post(self._url("batches"), json={"name": name, "description": description},
                                      timeout=self.timeout)
        except requests.exceptions.Timeout:
            raise RequestTimeoutError("Playment did not answer in time; the batch may or may not exist now.")
        except requests.exceptions.RequestException as e:
            raise ConnectionFailedError(f"Could not reach {self.base_url}: {_reason(e)}.")
        data = self._parse(resp)
        batch_id = data.get("batch_id")
        if not batch_id:
            raise ServerFaultError("Playment answered success without a batch_id.", status=resp.status_code)
        return str(batch_id)

    def get_batch_page(self, batch_id: str, page_token: str | None = None) -> tuple[list[BatchJob], str | None, dict]:
        params = {"page_token": page_token} if page_token else None
        d = self._get(self._url("batch", batch_id=batch_id), params=params)
        jobs = []
        for j in d.get("jobs") or []:
            if isinstance(j, dict) and j.get("id"):
                jobs.append(BatchJob(job_id=str(j["id"]), reference_id=j.get("reference_id"),
                                     status=j.get("status"), raw=j))
        token = d.get("next_page_token") or None
        return jobs, token, d

    def iter_batch_jobs(self, batch_id: str) -> Iterator[BatchJob]:
        """Every job of a batch, following ``next_page_token`` until the last page."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            jobs, token, _ = self.get_batch_page(batch_id, token)
            yield from jobs
            if not token:
                return
            if token in seen:
                raise ServerFaultError("Playment's batch listing repeated a page token; stopped to avoid a loop.")
            seen.add(token)

    def find_job_by_reference(self, reference_id: str, batch_id: str | None = None) -> str | None:
        """The job_id of ``reference_id`` in a batch (the API has no direct look-up), or None.

        Pages already read are remembered per batch: a later look-up re-reads only from the last page on
        (new jobs are appended there), so reconciling many jobs of one batch costs one pass over it, not
        one pass per job. If resuming from a remembered page token fails, it starts over from page one."""
        batch_id = batch_id or self.default_batch_id
        if batch_id is None:
            return None
        with self._index_lock:
            index, resume = self._batch_index.setdefault(batch_id, ({}, None))
            if reference_id in index:
                return index[reference_id]
        try:
            return self._scan_batch(batch_id, reference_id, resume)
        except PlaymentError:
            if resume is None:
                raise
            return self._scan_batch(batch_id, reference_id, None)

    def _scan_batch(self, batch_id: str, reference_id: str, token: str | None) -> str | None:
        seen: set[str] = set()
        found = None
        while True:
            jobs, next_token, _ = self.get_batch_page(batch_id, token)
            with self._index_lock:
                index, _ = self._batch_index[batch_id]
                for j in jobs:
                    if j.reference_id is not None:
                        index[j.reference_id] = j.job_id
                if not next_token:
                    self._batch_index[batch_id] = (index, token)  # re-read this last page next time
                found = index.get(reference_id)
            if not next_token:
                return found
            if next_token in seen:
                raise ServerFaultError("Playment's batch listing repeated a page token; stopped to avoid a loop.")
            seen.add(next_token)
            token = next_token

    # -------------------------------------------------------------- checks
    def test_connection(self) -> ConnectionReport:
        """Key rejected / project unknown / reachable, from one harmless GET (a job that cannot exist)."""
        try:
            self.get_job(NIL_UUID)
        except AuthError:
            return ConnectionReport(False, "key_rejected", "Playment rejected the API key.")
        except NotFoundError as e:
            if (e.code or "").upper().startswith("PROJECT"):
                return ConnectionReport(False, "project_unknown",
                                        f"Playment does not know project {self.project_id}.")
            return ConnectionReport(True, "reachable", f"Connected to {self.base_url}; the key is accepted.")
        except (ConnectionFailedError, RequestTimeoutError) as e:
            return ConnectionReport(False, "unreachable", str(e))
        except PlaymentError as e:
            if isinstance(e, ServerFaultError):
                return ConnectionReport(False, "error", str(e))
            return ConnectionReport(True, "reachable", f"Connected to {self.base_url}; the key is accepted.")
        return ConnectionReport(True, "reachable", f"Connected to {self.base_url}; the key is accepted.")


def _problem(path: str, message: str):
    from .errors import Problem
    return Problem(path, message)


def _short(url: str) -> str:
    return urlsplit(url).path


def _reason(exc: BaseException) -> str:
    """A short, key-free reason for a transport failure."""
    inner = exc.args[0] if exc.args else exc
    if isinstance(inner, urllib3.exceptions.MaxRetryError) and inner.reason is not None:
        inner = inner.reason
    text = str(inner)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset",
                   "Remote end closed connection"):
        if marker in text:
            return marker.lower()
    return type(inner).__name__
