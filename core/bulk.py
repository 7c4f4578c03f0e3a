"""The bulk engine: many jobs, concurrently, exactly once, resumable, with progress.

- N worker threads (default 8) share one :class:`PlaymentClient` (build it with ``pool_size=N`` so every
  worker has a pooled connection) and take rows from a bounded queue fed by the caller's thread.
- Every row goes through the journal: ``mark_sending`` before the POST, ``mark_created``/``mark_failed``
  after it. A row the journal says may have been sent already (``sending``/``ambiguous``), and a row
  retried with --retry-failed, is sent with ``prior_attempt_ambiguous=True``, so FS_0001 recovers its
  job_id instead of counting as a duplicate.
- One run per journal: ``run`` holds :meth:`Journal.claim` for its duration (a second run waits
  ``claim_wait`` seconds, then gets :class:`~core.journal.JournalClaimedError` naming the first). A row
  another process created meanwhile is reported "skipped" and not sent: ``mark_sending`` refuses a created
  row in SQL, atomically.
- Every row gets a result, whatever a worker meets: a journal that stays locked past its wait makes that
  row "failed" (nothing sent) or "ambiguous" (sent, outcome not recorded), with a sentence; an unexpected
  error makes it "ambiguous"; a progress or result callback that raises stops the run (nothing new starts)
  and is raised again from ``run`` once every started row is finished.
- An optional global rate (jobs/s) spaces job starts; a 429 from the server (seen by a response hook on
  the client's session) pauses every worker's next start for the Retry-After, not just the unlucky one's.
- Cancel is cooperative: nothing new starts, the client stops waiting between retries, and whatever was
  in flight is journalled (an unfinished retry as ``ambiguous``, so the next run reconciles it).
- ``progress`` is a plain callable given a :class:`BulkProgress` (no Qt here; the window wraps it).
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .client import CreatedJob, PlaymentClient, parse_retry_after
from .errors import AmbiguousOutcomeError, AuthError, NotFoundError, PlaymentError
from .journal import CLAIM_WAIT, AlreadyCreatedError, Journal, JournalError
from .manifest import CHANGED, DONE, INVALID, RECONCILE, RETRY, SENDABLE, SKIP_FAILED, Manifest, ManifestRow
from .pipeline import create_journalled
from .sanitise import one_line

if TYPE_CHECKING:
    import requests

DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class RowResult:
    """What happened to one row. ``status``: created, recovered, skipped (created in an earlier run),
    failed, ambiguous, invalid, changed, not_sent (cancelled or failed earlier without --retry-failed)."""

    reference_id: str | None
    row: int
    status: str
    job_id: str | None = None
    code: str | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "reference_id": self.reference_id, "job_id": self.job_id,
                "status": self.status, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class BulkProgress:
    done: int                 # rows finished this run (created, recovered or skipped as already created)
    failed: int               # rows that failed or ended ambiguous this run
    total: int                # rows this run handles
    in_flight: int
    rate: float               # jobs per second (recent)
    eta: float | None         # seconds left at that rate
    elapsed: float
    last: RowResult | None = None
    paused: bool = False
    cancelled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"done": self.done, "failed": self.failed, "total": self.total, "in_flight": self.in_flight,
                "rate": round(self.rate, 2), "eta": None if self.eta is None else round(self.eta, 1),
                "elapsed": round(self.elapsed, 2)}


@dataclass
class BulkSummary:
    """How a send ended: a result per row, or (a streamed run, whose results are in its row store) only the
    rows per status in ``tally``."""

    results: list[RowResult] = field(default_factory=list)
    elapsed: float = 0.0
    cancelled: bool = False
    tally: dict[str, int] | None = None

    def counts(self) -> dict[str, int]:
        if self.tally is not None:
            return dict(self.tally)
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    @property
    def ok(self) -> bool:
        """True when every row ended created, recovered or skipped as created before."""
        return not self.cancelled and all(status in ("created", "recovered", "skipped")
                                          for status, n in self.counts().items() if n)


class RateGate:
    """Spaces job starts to at most ``rate`` per second (None: no limit), and holds every start while a
    shared back-off (after a 429) is in force. Thread-safe; waits are cut short by ``cancel``."""

    def __init__(self, rate: float | None = None):
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate if rate else 0.0
        self._lock = threading.Lock()
        self._next = 0.0
        self._hold_until = 0.0
        self.backoffs = 0

    def back_off(self, seconds: float) -> None:
        with self._lock:
            self._hold_until = max(self._hold_until, time.monotonic() + max(0.0, seconds))
            self.backoffs += 1

    def acquire(self, cancel: threading.Event) -> bool:
        """Wait for this start's slot; False when cancelled while waiting."""
        while True:
            with self._lock:
                now = time.monotonic()
                hold = self._hold_until - now
                if hold <= 0:
                    slot = max(now, self._next)
                    self._next = slot + self.interval
                    wait = slot - now
                    break
            if cancel.wait(min(hold, 0.5)):
                return False
        if wait > 0 and cancel.wait(wait):
            return False
        return not cancel.is_set()


class BulkSubmitter:
    """Send the sendable rows of a checked manifest. Use once: ``run(rows)``; ``cancel()``, ``pause()``
    and ``resume()`` may be called from any thread while it runs."""

    def __init__(self, client: PlaymentClient, journal: Any = None, *, concurrency: int = DEFAULT_CONCURRENCY,
                 rate: float | None = None, storage: Any = None,
                 progress: Callable[[BulkProgress], Any] | None = None,
                 on_result: Callable[[RowResult], Any] | None = None,
                 on_start: Callable[[ManifestRow], Any] | None = None,
                 cancel_event: threading.Event | None = None, progress_interval: float = 0.2,
                 claim_wait: float = CLAIM_WAIT, description: str | None = None):
        """``claim_wait``: seconds to wait for another run's claim on the journal; ``description``: what this
        run is, as another run waiting for the journal is told (default: "bulk run of N row(s) by <program>")."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = client
        self.journal = journal
        self.concurrency = concurrency
        self.storage = storage
        self.gate = RateGate(rate)
        self.on_progress = progress   # may be replaced before run() (the window sets its own)
        self.on_result = on_result
        self.on_start = on_start       # a row starts being sent (its upload first): the run's live row state
        self.cancel_event = cancel_event or threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()
        self._done = self._failed = self._in_flight = 0
        self._total = 0
        self._finish_times: deque[float] = deque(maxlen=200)  # on the active clock (pauses left out)
        self._t0 = 0.0
        self._paused_at = 0.0
        self._paused_total = 0.0
        self._frozen: tuple[float, float | None, float] | None = None
        self._last_emit = 0.0
        self._interval = progress_interval
        self.fatal: PlaymentError | None = None  # set when an error means no other row can succeed
        self.journal_stop: JournalError | None = None  # the first journal write that failed: nothing more is sent
        self.claim_wait = claim_wait
        self.description = description
        self._callback_error: BaseException | None = None

    # ------------------------------------------------------------ controls
    def cancel(self) -> None:
        self.cancel_event.set()
        self._running.set()  # a paused run must wake up to stop

    def pause(self) -> None:
        """Hold every new start (rows already queued included); rows in flight finish and are counted.
        Rate, ETA and elapsed time are frozen at this moment until :meth:`resume`."""
        with self._lock:
            if not self._running.is_set():
                return
            frozen = self._measure(time.monotonic())
            self._paused_at = time.monotonic()
            self._frozen = frozen
            self._running.clear()

    def resume(self) -> None:
        with self._lock:
            if self._running.is_set():
                return
            self._paused_total += time.monotonic() - self._paused_at
            self._frozen = None
            self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    # ------------------------------------------------------------ progress
    def _active(self, now: float) -> float:
        """Seconds of this run spent not paused (the clock rate and ETA are measured on)."""
        if not self._t0:
            return 0.0
        held = self._paused_total + (now - self._paused_at if not self._running.is_set() else 0.0)
        return max(0.0, now - self._t0 - held)

    def _measure(self, now: float) -> tuple[float, float | None, float]:
        """(rate, eta, elapsed) on the active clock; the caller holds the lock."""
        active = self._active(now)
        times = [t for t in self._finish_times if active - t <= 10.0]
        if len(times) >= 2 and times[-1] > times[0]:
            rate = (len(times) - 1) / max(active - times[0], 1e-6)
        else:
            rate = (self._done + self._failed) / active if active > 0 else 0.0
        left = self._total - self._done - self._failed
        eta = left / rate if rate > 0 else None
        return rate, eta, active

    def snapshot(self, last: RowResult | None = None) -> BulkProgress:
        """Counts now; while paused, rate, ETA and elapsed are those of the moment Pause was pressed."""
        with self._lock:
            if self._frozen is not None and not self._running.is_set():
                rate, eta, elapsed = self._frozen
            else:
                rate, eta, elapsed = self._measure(time.monotonic())
            return BulkProgress(self._done, self._failed, self._total, self._in_flight, rate, eta, elapsed,
                                last, paused=self.paused, cancelled=self.cancel_event.is_set())

    def _emit(self, last: RowResult | None, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last_emit < self._interval:
            return
        self._last_emit = now
        self.on_progress(self.snapshot(last))

    def _finish(self, result: RowResult) -> None:
        with self._lock:
            if result.status in ("created", "recovered", "skipped"):
                self._done += 1
            elif result.status in ("failed", "ambiguous"):
                self._failed += 1
            self._finish_times.append(self._active(time.monotonic()))
        if self.on_result is not None:
            self.on_result(result)
        self._emit(result)

    # ----------------------------------------------------------------- run
    def _hook(self, resp: requests.Response) -> None:
        if resp.status_code == 429:
            ra = parse_retry_after(resp.headers.get("Retry-After"))
            self.gate.back_off(ra if ra is not None else 1.0)

    def run(self, rows: Iterable[ManifestRow]) -> BulkSummary:
        """Send every row whose action is send/reconcile/retry; returns a result per row given (rows that
        are not to be sent get their status from the check: skipped, invalid, changed, not_sent)."""
        rows = list(rows)
        summary = BulkSummary()
        results: dict[int, RowResult] = {}
        todo: list[tuple[int, ManifestRow]] = []
        for i, r in enumerate(rows):
            if r.action in SENDABLE:
                todo.append((i, r))
            else:
                results[i] = unsent_result(r)
        self._total = len(todo)
        claim = self._claim(len(todo)) if todo else None  # raises JournalClaimedError before anything is sent
        self._start_clock()
        try:
            self._run(todo, results)
        finally:
            if claim is not None:
                claim.release()
        summary.results = [results[i] if i in results else _missing(rows[i]) for i in range(len(rows))]
        return self._close(summary)

    def run_stream(self, rows: Iterable[ManifestRow], total: int) -> BulkSummary:
        """Send ``rows`` (``total`` of them, each one a send takes) as they come from an iterator (a streamed
        run's row store, core.bulk_stream), holding none: each result goes to ``on_result`` only, and the
        summary has none. Rows are taken from ``rows`` only while the run goes on: after Cancel (or a journal
        that cannot be written) the rest are never taken, and the caller says they were not sent."""
        self._total = total
        claim = self._claim(total) if total else None
        self._start_clock()
        try:
            self._run(enumerate(rows), None)
        finally:
            if claim is not None:
                claim.release()
        return self._close(BulkSummary())

    def _start_clock(self) -> None:
        with self._lock:
            self._t0 = time.monotonic()
            if not self._running.is_set():  # paused before it started: the pause starts now
                self._paused_at, self._frozen = self._t0, (0.0, None, 0.0)

    def _close(self, summary: BulkSummary) -> BulkSummary:
        summary.elapsed = self._active(time.monotonic())
        summary.cancelled = self.cancel_event.is_set()
        if self._callback_error is not None:
            raise self._callback_error
        self._emit(None, force=True)
        return summary

    def _claim(self, n: int) -> Any:
        claim = getattr(self.journal, "claim", None)
        if claim is None:
            return None
        what = self.description
        if what is None:
            program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
            if program in ("", "-c", "__main__.py"):
                program = "playment-submit"
            what = f"bulk run of {n} row(s) by {program}"
        return claim(what, wait=self.claim_wait)

    def _run(self, todo: Iterable[tuple[int, ManifestRow]], results: dict[int, RowResult] | None) -> None:
        """Feed ``todo`` to the workers; each result into ``results`` when given. Without ``results`` (a stream)
        the feeding stops at Cancel, so the rows after it are never taken from ``todo``."""
        q: queue.Queue[Any] = queue.Queue(maxsize=self.concurrency * 2)
        stop = object()
        self.client.add_response_hook(self._hook)

        def worker() -> None:
            while True:
                item = q.get()
                if item is stop:
                    return
                i, row = item
                try:
                    res = self._one(row)
                except Exception as e:  # never lose a row's result (a dead worker meant a KeyError, or a hang)
                    res = _lost(row, e)
                if results is not None:
                    results[i] = res
                try:
                    self._finish(res)
                except Exception as e:  # a callback's fault: stop starting rows, raise it once all are done
                    with self._lock:
                        if self._callback_error is None:
                            self._callback_error = e
                    self.cancel()

        threads = [threading.Thread(target=worker, name=f"bulk-{k}", daemon=True)
                   for k in range(min(self.concurrency, max(1, self._total)))]
        for t in threads:
            t.start()
        self._emit(None, force=True)
        try:
            for item in todo:
                while not self._running.is_set() and not self.cancel_event.is_set():
                    self._running.wait(0.2)
                    self._emit(None)
                if results is None and self.cancel_event.is_set():
                    break
                q.put(item)
        except BaseException:
            self.cancel()  # KeyboardInterrupt in the feeding thread: stop cleanly, then re-raise
            raise
        finally:
            for _ in threads:
                q.put(stop)
            for t in threads:
                while t.is_alive():
                    t.join(0.2)
            self.client.remove_response_hook(self._hook)

    def _one(self, row: ManifestRow) -> RowResult:
        # A row already queued when Pause was pressed waits here: Pause holds every new start, not only
        # the feeding of the queue (which holds up to twice the concurrency).
        while not self._running.wait(0.2):
            if self.cancel_event.is_set():
                break
        if self.cancel_event.is_set():
            return _cancelled(row, self.journal_stop)
        with self._lock:
            self._in_flight += 1
        try:
            if self.on_start is not None:
                self.on_start(row)
            return self._send(row)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _send(self, row: ManifestRow) -> RowResult:
        ref, spec = row.reference_id, row.spec
        assert spec is not None and ref is not None
        manifest_payload = spec.to_payload()
        # A retried row may have been created by a send whose answer was lost: FS_0001 then recovers it.
        prior = row.action in (RECONCILE, RETRY)
        journal: Any = self.journal
        if self.journal is not None:
            try:
                entry = self.journal.get(ref)
            except JournalError as e:
                return self._journal_trouble(row, e)
            if entry is not None and entry.state == "created":  # another run finished it meanwhile
                return _created_elsewhere(row, entry.job_id)
            prior = prior or (entry is not None and entry.maybe_sent)
            if isinstance(self.journal, Journal):
                journal = _RunJournal(self.journal)
        try:
            if spec.local_paths():
                if self.storage is None:
                    return self._fail(row, None, "The row names local files but no storage is configured to "
                                                 "upload them; configure storage or give URLs.")
                from .storage import upload_local_files
                spec = upload_local_files(spec, self.storage, cancel=self.cancel_event)
                after = [p for p in spec.validate(allow_local_paths=False) if p.severity == "error"]
                if after:
                    return self._fail(row, after[0].code, f"after upload, {after[0]}")
        except PlaymentError as e:
            if self.cancel_event.is_set():  # the upload stopped by Cancel: nothing was sent, not a failure
                return _cancelled(row, self.journal_stop)
            return self._fail(row, e.code, f"Upload failed: {e}")
        if not self.gate.acquire(self.cancel_event):
            return _cancelled(row, self.journal_stop)
        try:
            created: CreatedJob = create_journalled(spec, self.client, journal, cancel=self.cancel_event,
                                                    prior_attempt_ambiguous=prior, hash_of=manifest_payload)
        except AlreadyCreatedError as e:  # created by another process since the check: not sent
            return _created_elsewhere(row, e.existing_job_id)
        except JournalError as e:
            return self._journal_trouble(row, e)
        except AmbiguousOutcomeError as e:
            return self._fail(row, e.code, str(e), ambiguous=True)
        except PlaymentError as e:
            if self._stop_if_fatal(e):
                return self._fail(row, e.code, str(e), ambiguous=False)
            if self.cancel_event.is_set() and e.retryable:
                return self._fail(row, e.code, f"Stopped by cancel while retrying: {e} The next run checks "
                                               f"whether it was created.", ambiguous=True)
            return self._fail(row, e.code, str(e))
        except Exception as e:  # never lose a row to an unexpected error: the next run reconciles it
            return self._fail(row, None, f"Unexpected error while sending ({type(e).__name__}); the next run "
                                         f"checks whether it was created.", ambiguous=True)
        return RowResult(ref, row.row, created.status, created.job_id)

    def _fail(self, row: ManifestRow, code: str | None, message: str, ambiguous: bool = False) -> RowResult:
        if self.journal is not None:
            try:
                self.journal.mark_failed(row.reference_id, code, message, ambiguous=ambiguous)
            except JournalError as e:
                message += (f" This could not be recorded in the journal ({e.sqlite_message or e}); the next run "
                            f"checks the row again.")
        return RowResult(row.reference_id, row.row, "ambiguous" if ambiguous else "failed", None, code, message)

    def _stop_if_fatal(self, e: BaseException | None) -> bool:
        """An error every other row would meet too (the key, the project): stop starting new rows."""
        if not (isinstance(e, AuthError) or (isinstance(e, NotFoundError) and e.code == "PROJECT_NOT_FOUND")):
            return False
        with self._lock:
            if self.fatal is None:
                self.fatal = e
        self.cancel()
        return True

    def _journal_trouble(self, row: ManifestRow, e: JournalError) -> RowResult:
        """A journal that could not be read or written (locked past its wait, damaged, disk full): the row
        ends with a sentence, and the journal is not asked again for it."""
        code = getattr(e, "journal_code", "journal")
        with self._lock:  # the first failed journal write stops the run: no further POST leaves
            if self.journal_stop is None:
                self.journal_stop = e
        self.cancel()
        if e.operation in ("read", "sending"):  # before the POST: nothing was sent, so not a failure
            text = str(e) if e.operation == "sending" else f"{e} Nothing was sent for this row."
            return RowResult(row.reference_id, row.row, "not_sent", None, code, text)
        before = e.__context__ if e.operation == "failed" else None  # the refusal that was being recorded
        text = str(e)
        if isinstance(before, PlaymentError):
            text = f"{before} {text}"
            self._stop_if_fatal(before)
        return RowResult(row.reference_id, row.row, "ambiguous", e.job_id, code, text)


class _RunJournal:
    """The journal as :func:`create_journalled` sees it during a run: ``mark_sending`` refuses a row that
    another process created meanwhile (:class:`AlreadyCreatedError`, before anything is sent)."""

    def __init__(self, journal: Journal):
        self._journal = journal

    def get(self, reference_id: str) -> Any:
        return self._journal.get(reference_id)

    def mark_sending(self, reference_id: str, payload: dict[str, Any], *,
                     hash_of: dict[str, Any] | None = None) -> None:
        self._journal.mark_sending(reference_id, payload, hash_of=hash_of, refuse_created=True)

    def mark_created(self, reference_id: str, job_id: str, status: str = "created") -> None:
        self._journal.mark_created(reference_id, job_id, status)

    def mark_failed(self, reference_id: str, code: str | None, message: str, ambiguous: bool = False) -> bool:
        return self._journal.mark_failed(reference_id, code, message, ambiguous)


def _cancelled(row: ManifestRow, journal_stop: JournalError | None = None) -> RowResult:
    """A row Cancel (or a journal that could not be written) stopped before its job was requested: not a
    failure, it stays to send."""
    return RowResult(row.reference_id, row.row, "not_sent", message=cancelled_message(journal_stop))


def cancelled_message(journal_stop: JournalError | None = None) -> str:
    """What a row that Cancel (or a journal that could not be written) kept from being sent says."""
    if journal_stop is not None:
        return "Not sent: the journal could not be written; it is sent with the next run."
    return "Cancelled before it was sent; it is sent with the next run."


def _created_elsewhere(row: ManifestRow, job_id: str | None) -> RowResult:
    return RowResult(row.reference_id, row.row, "skipped", job_id,
                     message=f"Created by another run meanwhile (job {job_id}); not sent again.")


def _lost(row: ManifestRow, e: BaseException) -> RowResult:
    return RowResult(row.reference_id, row.row, "ambiguous", None, None,
                     f"Unexpected error while sending ({type(e).__name__}: {one_line(e, 200)}); the next run checks "
                     f"whether it was created.")


def _missing(row: ManifestRow) -> RowResult:
    return RowResult(row.reference_id, row.row, "ambiguous", None, None,
                     "No result was recorded for this row (an internal error); the next run checks whether it was "
                     "created.")


def unsent_result(r: ManifestRow) -> RowResult:
    if r.action == DONE:
        return RowResult(r.reference_id, r.row, "skipped", r.job_id, message="Created in an earlier run.")
    if r.action == CHANGED:
        return RowResult(r.reference_id, r.row, "changed", r.job_id, "changed",
                         "Changed since it was created; not sent again.")
    if r.action == SKIP_FAILED:
        p = next((p for p in r.problems if p.path == "(journal)"), None)
        return RowResult(r.reference_id, r.row, "not_sent", None, p.code if p else None,
                         p.text(with_path=False) if p else "Failed in an earlier run.")
    if r.action == INVALID:
        errs = r.errors
        return RowResult(r.reference_id, r.row, "invalid", None, errs[0].code if errs else None,
                         "; ".join(str(p) for p in errs[:3]) + (f"; and {len(errs) - 3} more" if len(errs) > 3 else ""))
    return RowResult(r.reference_id, r.row, "not_sent")


def submit_manifest(manifest: Manifest, client: PlaymentClient, journal: Any = None, **kw: Any) -> BulkSummary:
    """Convenience: send a checked manifest's rows with :class:`BulkSubmitter` (keywords go to it)."""
    return BulkSubmitter(client, journal, **kw).run(manifest.rows)


__all__ = ["BulkSubmitter", "BulkProgress", "BulkSummary", "RowResult", "RateGate", "submit_manifest",
           "DEFAULT_CONCURRENCY"]
