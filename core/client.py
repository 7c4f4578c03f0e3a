"""PlaymentClient: the one place that talks HTTP to Playment (or the sandbox).

Transport rules (what the official SDK gets wrong, done right):
- one long-lived ``requests.Session`` whose connection pool is sized for concurrent use (bulk shares it);
- a total deadline on every request, connect to last byte (``timeout``, default 30 s): a watchdog shuts the
  socket when it passes, so a server that trickles one byte every few seconds cannot hold a request;
  ``Retry-After`` is capped on every request, and one job gives up after at most the policy's ``job_budget``;
- redirects are never followed: the ``x-api-key`` header goes to the configured API host only; a 3xx is
  refused with a sentence naming the other host;
- plain http refused except to loopback (the sandbox); a base URL with credentials in it is refused;
- failures are classified by what was sent: a certificate problem, a name that does not resolve or a
  refused connection sent nothing (not retried, not ambiguous); a drop after sending is ambiguous;
- server text is sanitised (:mod:`core.sanitise`) before it reaches a message, a log line or the journal;
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
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, TypeGuard
from urllib.parse import quote, urljoin, urlsplit

import requests
import urllib3

from . import __version__
from .defaults import CONNECT_TIMEOUT as CONNECT_TIMEOUT  # these four live in core.defaults (the parser
from .defaults import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT  # reads them without importing requests); the client
from .defaults import MAX_TIMEOUT as MAX_TIMEOUT  # re-exports them for its callers
from .defaults import give_up_after as give_up_after
from .errors import (
    AmbiguousOutcomeError,
    AuthError,
    ConnectionFailedError,
    DuplicateReferenceError,
    NotFoundError,
    PlaymentError,
    Problem,
    RateLimitedError,
    RedirectRefusedError,
    RequestTimeoutError,
    ServerFaultError,
    UsageError,
    ValidationError,
    error_for_code,
)
from .fetcher import MAX_ATTACHMENT_BYTES as MAX_ATTACHMENT_BYTES  # callers import these from the client
from .fetcher import KeylessFetcher as KeylessFetcher
from .fetcher import check_redirect_target
from .fetcher import check_storage_url as check_storage_url
from .fetcher import transport_reason as _reason
from .job import JobSpec, is_loopback_host
from .retry import RetryPolicy as RetryPolicy
from .sanitise import one_line, register_secret, server_text, url_for_display
from .transport import Deadline, DeadlineAdapter, DeadlineExceeded, get_retry

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.playment.io"
DEFAULT_PATHS = {
    "jobs": "/v1/projects/{project_id}/jobs",
    "job": "/v1/projects/{project_id}/jobs/{job_id}",
    "batches": "/v1/projects/{project_id}/batch",
    "batch": "/v1/projects/{project_id}/batch/{batch_id}",
    "details": "/v1/projects/{project_id}/details",
    "attachments": "/v1/attachments",
}
NIL_UUID = "00000000-0000-0000-0000-000000000000"
JOB_ID_MAX = 200
_job = threading.local()  # .budget: when the job running in this thread must give up (create_job)
MAX_ANSWER_BYTES = 8 * 2**20  # the API's answers are small JSON; nothing legitimate comes near this
FINAL_STATUSES = frozenset({"completed", "failed"})  # a job in one of these never changes again


def is_final_status(status: str | None) -> bool:
    """COMPLETED / FAILED (any case, any spacing) are final; created, in progress and anything unknown are not."""
    return status is not None and status.strip().lower().replace("_", " ") in FINAL_STATUSES


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

    def to_dict(self) -> dict[str, Any]:
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
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class BatchJob:
    job_id: str
    reference_id: str | None
    status: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class BatchPage(NamedTuple):
    """One page of a batch listing: the usable jobs, the next page token (None: the last page), the raw
    ``data``, how many entries had no usable job ID (skipped) and how many a reference ID that is not text."""

    jobs: list[BatchJob]
    token: str | None
    raw: dict[str, Any]
    skipped: int = 0
    bad_references: int = 0


@dataclass(frozen=True)
class BatchInfo:
    """One batch of ``GET /details``. Counts are None when Playment did not give a number."""

    batch_id: str
    name: str
    description: str = ""
    is_default: bool = False
    total_jobs: int | None = None
    completed_jobs: int | None = None
    total_frames: int | None = None
    completed_frames: int | None = None
    status: str | None = None
    created_at: str | None = None

    @property
    def progress(self) -> str:
        """"done / total" as the batch picker shows it ("? / ?" for counts Playment left out)."""
        done = "?" if self.completed_jobs is None else str(self.completed_jobs)
        total = "?" if self.total_jobs is None else str(self.total_jobs)
        return f"{done} / {total}"

    def to_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "name": self.name, "description": self.description,
                "is_default": self.is_default, "total_jobs": self.total_jobs,
                "completed_jobs": self.completed_jobs, "total_frames": self.total_frames,
                "completed_frames": self.completed_frames, "status": self.status, "created_at": self.created_at}


@dataclass(frozen=True)
class ProjectDetails:
    """``GET /v1/projects/{project_id}/details``: the project's name, base and every batch, sanitised."""

    project_id: str
    name: str
    base: str | None
    batches: tuple[BatchInfo, ...]

    @property
    def default_batch(self) -> BatchInfo | None:
        return next((b for b in self.batches if b.is_default), None)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text(value: Any, limit: int = 200) -> str | None:
    return server_text(value, limit) if isinstance(value, str) else None


def parse_details(project_id: str, data: dict[str, Any]) -> ProjectDetails:
    """The ``data`` of ``/details`` as typed values; every server string sanitised, entries without a usable
    id skipped (a batch the tool could not name is no use in a picker)."""
    batches = []
    for b in data.get("batches") or []:
        if not isinstance(b, dict) or not _is_id(b.get("id")):
            continue
        batches.append(BatchInfo(
            batch_id=b["id"], name=_text(b.get("name")) or b["id"], description=_text(b.get("description"), 500) or "",
            is_default=b.get("is_default") is True, total_jobs=_count(b.get("total_jobs")),
            completed_jobs=_count(b.get("completed_jobs")), total_frames=_count(b.get("total_frames")),
            completed_frames=_count(b.get("completed_frames")), status=_text(b.get("status"), 60),
            created_at=_text(b.get("created_at"), 60)))
    return ProjectDetails(project_id=project_id, name=_text(data.get("name")) or project_id,
                          base=_text(data.get("base"), 60), batches=tuple(batches))


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


def check_base_url(base_url: str) -> None:
    """Refuse a base URL that cannot work or would leak the key: not http(s), no host, a bad port,
    credentials in it, or plain http to another machine. The sentence never repeats the credentials."""
    shown = url_for_display(one_line(base_url, 200))
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:
        raise UsageError(f"The base URL \"{shown}\" has a port that is not a number from 1 to 65535.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"The base URL \"{shown}\" is not an http(s) URL; use {DEFAULT_BASE_URL} "
                         f"or the sandbox's address.")
    if port == 0:
        raise UsageError(f"The base URL \"{shown}\" has port 0; give the server's real port.")
    if parts.username is not None or parts.password is not None:
        raise UsageError(f"The base URL \"{shown}\" holds a user name or password; remove them (the API key "
                         f"is the only credential, set in the profile or PLAYMENT_API_KEY).")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise UsageError(f"The base URL \"{shown}\" uses plain http, which would send the API key "
                         f"unencrypted; use https (plain http is only allowed to this machine).")


def _was_not_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection failed before the request could reach the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                               urllib3.exceptions.NameResolutionError))


def _finite_or_none(text: str) -> float | None:
    """A JSON number from a server as a float, or None when it is too large for one (``1e400``)."""
    value = float(text)
    return value if math.isfinite(value) else None


class PlaymentClient:
    """Typed access to the four endpoints of the job API. Thread-safe for concurrent create_job calls."""

    def __init__(self, base_url: str, project_id: str, api_key: str, *,
                 timeout: float | tuple[float, float] | None = None, pool_size: int = 10,
                 retry: RetryPolicy | None = None, default_batch_id: str | None = None,
                 paths: dict[str, str] | None = None, get_retries: int | None = None,
                 sleep: Callable[[float], Any] | None = None, rng: Callable[[], float] = random.random,
                 on_default_batch: Callable[[str], Any] | None = None):
        base_url = (base_url or "").strip().rstrip("/")
        check_base_url(base_url)
        if not project_id or not str(project_id).strip():
            raise UsageError("No project ID is configured; set it in the profile, with --project-id or "
                             "PLAYMENT_PROJECT_ID.")
        if not api_key:
            raise UsageError("No API key is configured; store it in the profile (keyring) or set PLAYMENT_API_KEY.")
        register_secret(api_key)  # redacted from any text sanitised from now on, even a server's echo
        self.base_url = base_url
        self.project_id = str(project_id).strip()
        self.default_batch_id = default_batch_id
        self.on_default_batch = on_default_batch  # told the default batch once /details has named it
        self._default_lock = threading.Lock()
        self._keyless: KeylessFetcher | None = None
        # Every number comes from the policy (the Session's); ``timeout`` and ``get_retries`` override its own.
        policy = retry or RetryPolicy()
        if isinstance(timeout, tuple):
            policy = replace(policy, connect_timeout=float(min(timeout)))
        total = policy.timeout if timeout is None else max(timeout) if isinstance(timeout, tuple) else float(timeout)
        if not 0 < total <= MAX_TIMEOUT:
            raise UsageError(f"The timeout must be between 0 and {MAX_TIMEOUT:g} seconds, not {total:g}.")
        policy = policy.with_timeout(total)
        if get_retries is not None:
            policy = replace(policy, get_retries=get_retries)
        self.timeout = total
        self.retry = policy
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
        adapter = DeadlineAdapter(pool_connections=2, pool_maxsize=max(1, pool_size), pool_block=True,
                                  max_retries=get_retry(policy, policy.get_retries))
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.trust_env = False  # no proxy or .netrc credentials picked up from the environment

    def __repr__(self) -> str:  # never the key
        return f"PlaymentClient(base_url={self.base_url!r}, project_id={self.project_id!r})"

    def add_response_hook(self, hook: Callable[[requests.Response], Any]) -> None:
        """Call ``hook(response)`` for every HTTP answer (bulk uses it to share a 429 back-off)."""
        def wrapped(resp: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
            hook(resp)
            return resp
        wrapped.__wrapped__ = hook  # type: ignore[attr-defined]
        self._session.hooks.setdefault("response", []).append(wrapped)

    def remove_response_hook(self, hook: Callable[[requests.Response], Any]) -> None:
        hooks = self._session.hooks.get("response", [])
        hooks[:] = [h for h in hooks if getattr(h, "__wrapped__", None) is not hook]

    def close(self) -> None:
        self._session.close()
        if self._keyless is not None:
            self._keyless.close()

    def __enter__(self) -> PlaymentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing
    def _url(self, name: str, **kw: str) -> str:
        """An endpoint's URL; IDs are escaped, so an ID holding "/", "?" or "#" cannot reach another path."""
        ids = {k: quote(str(v), safe="") for k, v in {"project_id": self.project_id, **kw}.items()}
        return self.base_url + self.paths[name].format(**ids)

    def _wait(self, seconds: float, cancel: threading.Event | None) -> None:
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel is not None:
            cancel.wait(seconds)
        else:
            time.sleep(seconds)

    def _send(self, method: str, url: str, *, limit: float | None = None, redirect_ok: bool = False,
              **kwargs: Any) -> requests.Response:
        """One HTTP exchange within a total deadline (``self.timeout``, or ``limit`` when shorter), never
        following a redirect. Raises requests' exceptions (a passed deadline as ReadTimeout), or
        :class:`RedirectRefusedError`."""
        total = self.timeout if limit is None else max(0.2, min(self.timeout, limit))
        late = f"no complete answer within {total:g} s"
        with Deadline(total) as watch:
            try:
                resp = self._session.request(method, url, timeout=(min(self.retry.connect, total), total),
                                             allow_redirects=False, stream=True, **kwargs)
                body = bytearray()
                for chunk in resp.iter_content(65536):  # bounded: a server cannot fill the memory
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        resp.close()
                        raise ServerFaultError(f"{urlsplit(self.base_url).hostname} sent an answer larger than "
                                               f"{MAX_ANSWER_BYTES // 2**20} MiB; it was not read.",
                                               status=resp.status_code)
                resp._content = bytes(body)
            except DeadlineExceeded:
                raise requests.exceptions.ReadTimeout(late) from None
            except requests.exceptions.RequestException as e:
                if watch.expired and not isinstance(e, requests.exceptions.ConnectTimeout):
                    raise requests.exceptions.ReadTimeout(late) from None
                raise
        if watch.expired:  # the body was cut by the watchdog at the last moment
            raise requests.exceptions.ReadTimeout(late)
        if 300 <= resp.status_code < 400 and not redirect_ok:
            raise RedirectRefusedError(self.base_url, resp.headers.get("Location"), resp.status_code)
        return resp

    def _get(self, url: str, params: dict[str, str] | None = None, *,
             limit: float | None = None) -> dict[str, Any]:
        budget = getattr(_job, "budget", None)
        if budget is not None:
            left = budget - time.monotonic()
            if left < 0.2:
                raise RequestTimeoutError(f"No time is left to ask {urlsplit(self.base_url).hostname}: this job "
                                          f"has used its {self.retry.job_budget:g} s.")
            limit = left if limit is None else min(limit, left)
        try:
            resp = self._send("GET", url, params=params, limit=limit)
        except requests.exceptions.RequestException as e:
            raise self._transport_error(e, sent=False) from None
        return self._parse(resp)

    def _transport_error(self, exc: BaseException, *, sent: bool) -> PlaymentError:
        """The error for a request that got no usable answer. ``sent``: the request may have reached the
        server (for a POST that makes the outcome unknown); failures that prove nothing was sent say so."""
        host = urlsplit(self.base_url).hostname or self.base_url
        if isinstance(exc, requests.exceptions.SSLError):
            return ConnectionFailedError(f"The TLS certificate of {host} could not be verified ({_reason(exc)}); "
                                         f"nothing was sent. Check the base URL; behind a proxy that inspects "
                                         f"TLS, add your organisation's CA certificate to the system's certificates "
                                         f"or point REQUESTS_CA_BUNDLE (or SSL_CERT_FILE) at a PEM file with it.")
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return ConnectionFailedError(f"Could not connect to {host} within {self.retry.connect:g} "
                                         f"s; nothing was sent. Check the base URL and your network connection.")
        if isinstance(exc, requests.exceptions.Timeout):
            what = "the job may or may not have been created" if sent else "nothing was changed"
            return RequestTimeoutError(f"{host} gave no complete answer within {self.timeout:g} s ({what}).")
        if isinstance(exc, requests.exceptions.ConnectionError):
            reason = _reason(exc)
            if reason == "name or service not known":
                return ConnectionFailedError(f"The host name {host} does not resolve; nothing was sent. Check the "
                                             f"base URL and your network connection.")
            if _was_not_sent(exc):
                return ConnectionFailedError(f"Could not reach {url_for_display(self.base_url)}: {reason}; nothing "
                                             f"was sent. Check the base URL and that the server is running.")
            if sent:
                return ConnectionFailedError("The connection dropped after the job was sent; its outcome is unknown.")
            return ConnectionFailedError(f"The connection to {host} dropped before an answer came ({reason}).")
        return ConnectionFailedError(f"The request to {host} could not be made ({_reason(exc)}); nothing was sent.")

    @staticmethod
    def _parse(resp: requests.Response) -> dict[str, Any]:
        """The ``data`` of a successful answer, or the typed error for anything else."""
        status = resp.status_code
        try:
            # NaN, Infinity and numbers too large for a float (which json takes from a server) become null:
            # nothing read from an answer can then be written out as JSON that does not read back
            body = resp.json(parse_constant=lambda _name: None, parse_float=_finite_or_none)
        except (ValueError, RecursionError):  # not JSON, a 5000-digit number, nesting deeper than Python's stack
            body = None
        err = body.get("error") if isinstance(body, dict) else None
        code = err.get("code") if isinstance(err, dict) else None
        message = err.get("message") if isinstance(err, dict) else (err if isinstance(err, str) else None)
        code = one_line(code, 60) if isinstance(code, (str, int)) and not isinstance(code, bool) else None
        message = server_text(message) if message is not None else None
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
                                   f"{one_line(resp.reason or '', 60)} with {kind} body; this is a server-side "
                                   f"fault and usually passes.".replace("  ", " "), status=status)
        raise ServerFaultError(f"Playment answered HTTP {status} with a body this tool does not understand "
                               f"(no \"success\" field); treat the outcome as unknown.", status=status)

    # ---------------------------------------------------------------- jobs
    def create_job(self, job: JobSpec | dict[str, Any], *, cancel: threading.Event | None = None,
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
        ambiguous = prior_attempt_ambiguous
        url = self._url("jobs")
        # The policy's job_budget: every attempt's timeout and the backoff waits between them, then one share
        # more to reconcile an unknown outcome. A wait that would not fit is not started.
        budget_end = time.monotonic() + self.retry.job_budget - self.retry.reconcile_share
        _job.budget = budget_end + self.retry.reconcile_share  # look-ups (recovery) end within the budget too
        try:
            return self._create(spec, payload, url, budget_end, ambiguous, cancel, on_attempt)
        finally:
            _job.budget = None

    def _create(self, spec: JobSpec, payload: dict[str, Any], url: str, budget_end: float, ambiguous: bool,
                cancel: threading.Event | None, on_attempt: Callable[[int, str], Any] | None) -> CreatedJob:
        ref = spec.reference_id
        batch_for_lookup = spec.batch_id or self.default_batch_id
        last: PlaymentError | None = None
        unknown: PlaymentError | None = None  # the error of the attempt that may have reached Playment
        attempt = 0
        while attempt < self.retry.max_attempts:
            attempt += 1
            left = budget_end - time.monotonic()
            if (cancel is not None and cancel.is_set() and attempt > 1) or left < 0.2:
                break
            if on_attempt:
                on_attempt(attempt, "retrying" if attempt > 1 else "sending")
            delay: float | None = None
            try:
                resp = self._send("POST", url, json=payload, limit=left)
                data = self._parse(resp)
                job_id = data.get("job_id")
                if not _is_id(job_id):
                    raise ServerFaultError("Playment answered success without a usable job_id; treat the outcome "
                                           "as unknown.", status=resp.status_code)
                echoed = data.get("reference_id")
                return CreatedJob(job_id=job_id, reference_id=echoed if isinstance(echoed, str) else ref,
                                  work_flow_id=spec.work_flow_id, recovered=False, attempts=attempt)
            except DuplicateReferenceError as e:
                if ambiguous:
                    return self._recover(ref, batch_for_lookup, attempt, e)
                existing, _ = self._lookup(ref, batch_for_lookup)
                raise DuplicateReferenceError(
                    f"A job with reference ID \"{ref}\" already exists in this project"
                    + (f" (job {existing})" if existing else "")
                    + ". Choose another reference ID, or look the existing job up instead of creating it again."
                    + (f" (FS_0001: {e.server_message})" if e.server_message else ""),
                    existing_job_id=existing, code=e.code, server_message=e.server_message, status=e.status) from e
            except RateLimitedError as e:  # the request was refused before processing: not ambiguous
                last = e
                if e.retry_after is not None:
                    if e.retry_after > self.retry.max_retry_after:
                        raise RateLimitedError(f"Playment asked to wait {e.retry_after:.0f} s before trying "
                                               f"again; try later.", retry_after=e.retry_after, status=429) from e
                    delay = e.retry_after
            except ServerFaultError as e:
                last, ambiguous, unknown = e, True, e
            except requests.exceptions.RequestException as e:
                last = self._transport_error(e, sent=True)
                if not _nothing_sent(e):
                    ambiguous, unknown = True, last
                elif not isinstance(e, requests.exceptions.ConnectTimeout):
                    break  # a certificate, a name or a refused connection: trying again changes nothing
            log.info("create_job %s: attempt %d failed: %s", ref, attempt, last)
            if attempt < self.retry.max_attempts:
                wait = delay if delay is not None else self.retry.backoff(attempt, self._rng)
                if time.monotonic() + wait >= budget_end:
                    break
                self._wait(wait, cancel)
        if ambiguous:
            # The outcome is unknown: look the job up (one more timeout). Listed: recovered. Not listed in
            # a batch that could be read: it was not created (the last error stands, and a later send is
            # safe). Anything else stays unknown, never "failed".
            found, known = self._lookup(ref, batch_for_lookup)
            batch_for_lookup = batch_for_lookup or self.default_batch_id  # /details may have named it meanwhile
            if found:
                return CreatedJob(job_id=found, reference_id=ref, work_flow_id=spec.work_flow_id,
                                  recovered=True, attempts=attempt)
            if known and last is not None:  # looked up: it was not created, whatever the last error said
                raise type(last)(f"{last} It is not in batch {batch_for_lookup}, so it was not created; sending it "
                                 f"again is safe.", code=last.code, status=last.status) from last
            why = ("the job has no batch_id and Playment's project details named no default batch (set the "
                   "default batch in the profile or PLAYMENT_DEFAULT_BATCH_ID to let it reconcile)"
                   if batch_for_lookup is None
                   else f"its batch {batch_for_lookup} could not be read")
            # Say what made it unknown; a later attempt that provably was not sent is said as such, never as
            # if "nothing was sent" were the whole story.
            said = (f"an earlier attempt may have reached it ({unknown})" if unknown is not None
                    else "an earlier send of it has an unknown outcome")
            if last is not None and last is not unknown:
                said += f"; the last attempt did not reach it ({last})"
            raise AmbiguousOutcomeError(
                f"Playment may or may not have created job \"{ref}\": {said}. The tool cannot tell because {why}. "
                f"Sending it again is safe: a duplicate is refused (FS_0001) and then recovered.",
                reference_id=ref)
        if last is None:
            raise PlaymentError("Cancelled before the job was sent.")
        raise last

    def _recover(self, ref: str, batch_id: str | None, attempts: int, dup: DuplicateReferenceError) -> CreatedJob:
        batch_id = batch_id or self.known_default_batch()
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
                reference_id=ref, code=dup.code) from e
        if not found:
            raise AmbiguousOutcomeError(
                f"Playment says reference ID \"{ref}\" is in use, but it is not in batch {batch_id}; the job "
                f"may belong to another batch. Check the project before resubmitting.", reference_id=ref,
                code=dup.code)
        return CreatedJob(job_id=found, reference_id=ref, work_flow_id=None, recovered=True, attempts=attempts)

    def _lookup(self, ref: str, batch_id: str | None) -> tuple[str | None, bool]:
        """(job_id or None, whether the answer is known): False when there is no batch to look in or it
        could not be read. No batch: the project's default batch, as ``/details`` names it."""
        batch_id = batch_id or self.known_default_batch()
        if batch_id is None:
            return None, False
        try:
            return self.find_job_by_reference(ref, batch_id), True
        except PlaymentError:
            return None, False

    def get_job(self, job_id: str) -> JobInfo:
        d = self._get(self._url("job", job_id=job_id))
        return JobInfo(job_id=str(d.get("job_id", job_id)), reference_id=d.get("reference_id"),
                       project_id=d.get("project_id"), batch_id=d.get("batch_id"), status=d.get("status"),
                       work_flow_id=d.get("work_flow_id") or d.get("tag"),
                       priority_weight=d.get("priority_weight"), result=d.get("result"), raw=d)

    # ------------------------------------------------------------- project
    def get_project_details(self) -> ProjectDetails:
        """``GET /v1/projects/{project_id}/details``: name, base and every batch (made here or elsewhere).
        The default batch it names becomes :attr:`default_batch_id` when none was configured."""
        details = parse_details(self.project_id, self._get(self._url("details")))
        default = details.default_batch
        if default is not None and self.default_batch_id is None:
            self._learn_default(default.batch_id)
        return details

    def known_default_batch(self) -> str | None:
        """The project's default batch: the configured one, else the one ``/details`` names (asked once,
        then remembered, and handed to ``on_default_batch`` so the profile keeps it). None when the project
        details cannot be read or name no default batch: the caller says it cannot reconcile."""
        if self.default_batch_id is not None:
            return self.default_batch_id
        with self._default_lock:
            if self.default_batch_id is None:
                try:
                    self.get_project_details()
                except PlaymentError as e:
                    log.info("project details unavailable, default batch unknown: %s", e)
            return self.default_batch_id

    def _learn_default(self, batch_id: str) -> None:
        self.default_batch_id = batch_id
        if self.on_default_batch is not None:
            try:
                self.on_default_batch(batch_id)
            except Exception as e:  # keeping it in the profile is a convenience; the run goes on without
                log.warning("could not remember the default batch: %s", one_line(e, 200))

    # --------------------------------------------------------- attachments
    def attachment_location(self, url: str) -> str:
        """Where ``GET /v1/attachments?url=`` sends a private result or mask URL: the signed storage URL
        of its redirect. The redirect is read, never followed: the key stays with the API host. A signed
        URL that is not https (plain http only to loopback, the sandbox) or holds credentials is refused."""
        try:
            resp = self._send("GET", self._url("attachments"), params={"url": url}, redirect_ok=True)
        except requests.exceptions.RequestException as e:
            raise self._transport_error(e, sent=False) from None
        if not 300 <= resp.status_code < 400:
            self._parse(resp)  # the typed error of a refusal (404, 401, ...)
            raise ServerFaultError("Playment answered the attachment request without redirecting to the file; "
                                   "the file cannot be downloaded.", status=resp.status_code)
        location = resp.headers.get("Location") or ""
        target = urljoin(self._url("attachments"), location)
        check_storage_url(target)
        check_redirect_target(target, self.base_url)
        return target

    def fetch_attachment(self, url: str, *, max_bytes: int = MAX_ATTACHMENT_BYTES) -> bytes:
        """The bytes of a private result or mask: the API names its signed URL (:meth:`attachment_location`)
        and a separate keyless session downloads it (:class:`KeylessFetcher`), within the same total
        deadline per request and at most ``max_bytes``."""
        target = self.attachment_location(url)
        if self._keyless is None:
            self._keyless = KeylessFetcher(policy=self.retry)
        return self._keyless.fetch(target, max_bytes=max_bytes)

    # ------------------------------------------------------------- batches
    def create_batch(self, name: str, description: str = "") -> str:
        """Create a batch; returns its batch_id. Not retried after the request may have been sent
        (a retry of a batch that was created would fail as BATCH_CREATION)."""
        if not name or not name.strip():
            raise ValidationError([Problem("name", "the batch needs a name.")])
        try:
            resp = self._send("POST", self._url("batches"), json={"name": name, "description": description})
        except requests.exceptions.Timeout:
            raise RequestTimeoutError(f"Playment gave no complete answer within {self.timeout:g} s; the batch "
                                      f"may or may not exist now.") from None
        except requests.exceptions.RequestException as e:
            raise self._transport_error(e, sent=not _nothing_sent(e)) from None
        data = self._parse(resp)
        batch_id = data.get("batch_id")
        if not _is_id(batch_id):
            raise ServerFaultError("Playment answered success without a usable batch_id; the batch may or may "
                                   "not exist now.", status=resp.status_code)
        return batch_id

    def get_batch_page(self, batch_id: str, page_token: str | None = None) -> BatchPage:
        """One page of a batch listing, typed: entries whose ``id`` is not a usable ID (a number, ``true``, a
        dict) are skipped and counted in :attr:`BatchPage.skipped`; a ``reference_id`` or ``status`` that is not
        a string becomes None (counted too). A ``next_page_token`` that is not a string is a server fault."""
        params = {"page_token": page_token} if page_token else None
        d = self._get(self._url("batch", batch_id=batch_id), params=params)
        jobs, skipped, bad_refs = [], 0, 0
        entries = d.get("jobs")
        for j in entries if isinstance(entries, list) else []:
            if not isinstance(j, dict) or not _is_id(j.get("id")):
                skipped += 1
                continue
            ref = j.get("reference_id")
            if ref is not None and not isinstance(ref, str):
                bad_refs += 1
                ref = None
            status = j.get("status")
            jobs.append(BatchJob(job_id=j["id"], reference_id=ref,
                                 status=status if isinstance(status, str) else None, raw=j))
        token = d.get("next_page_token") or None
        if token is not None and not isinstance(token, str):
            raise ServerFaultError(f"Playment's listing of batch {batch_id} named a next page that is not a "
                                   f"page token ({type(token).__name__}); the listing did not end.")
        if skipped or bad_refs:
            log.warning("batch %s: a page listed %d entry(ies) without a usable job ID (skipped) and %d with a "
                        "reference ID that is not text (kept without it)", batch_id, skipped, bad_refs)
        return BatchPage(jobs, token, d, skipped, bad_refs)

    def iter_batch_jobs(self, batch_id: str) -> Iterator[BatchJob]:
        """Every job of a batch, following ``next_page_token`` until the last page, within the policy's listing
        limits (:meth:`RetryPolicy.listing`)."""
        token: str | None = None
        guard = self.retry.listing(f"batch {batch_id}")
        while True:
            jobs, token, _, _, _ = self.get_batch_page(batch_id, token)
            yield from jobs
            guard.page(len(jobs), token)
            if not token:
                return

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
        guard = self.retry.listing(f"batch {batch_id}")
        found = None
        while True:
            jobs, next_token, _, _, _ = self.get_batch_page(batch_id, token)
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
            guard.page(len(jobs), next_token)
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
        except (ConnectionFailedError, RequestTimeoutError, RedirectRefusedError) as e:
            return ConnectionReport(False, "unreachable", str(e))  # a redirect is no API: nothing is sent there
        except PlaymentError as e:
            if isinstance(e, ServerFaultError):
                return ConnectionReport(False, "error", str(e))
            return ConnectionReport(True, "reachable", f"Connected to {self.base_url}; the key is accepted.")
        return ConnectionReport(True, "reachable", f"Connected to {self.base_url}; the key is accepted.")


def _is_id(value: Any) -> TypeGuard[str]:
    """A job or batch ID as Playment gives them: a short printable string (a UUID in practice)."""
    return (isinstance(value, str) and 0 < len(value) <= JOB_ID_MAX and value.isprintable()
            and not any(c.isspace() for c in value))


def _nothing_sent(exc: BaseException) -> bool:
    """The request provably never reached the server: TLS, name resolution, a refused or timed-out connect."""
    if isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.ConnectTimeout)):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        return _was_not_sent(exc)
    return not isinstance(exc, (requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError))
