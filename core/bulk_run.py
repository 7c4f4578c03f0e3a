"""One bulk run: the sequence every front end goes through to send a manifest (``playment-submit bulk`` and
the window's Bulk tab call this, nothing else).

1. :meth:`BulkRun.open` loads the manifest (CSV, JSONL or a folder) and checks every row through the one
   pipeline, against the run's journal (resume), the profile's history (a reference ID created from the
   window or ``submit`` is refused here too; it is the run's journal when the front end writes to it),
   the storage that uploads local files, and the profile's class list.
2. :meth:`BulkRun.blocked` says why nothing may be sent (file errors, or rows with errors without
   ``valid_only``); :meth:`BulkRun.dry_run` is the dry run's results and its one sentence.
3. :meth:`BulkRun.preflight` tests the connection (a refusal raises, with "Nothing was sent.") and gives the
   notes a user should read before the send: rows created in an earlier run, and the default batch that
   cannot be looked up.
4. :meth:`BulkRun.send` sends, exactly once per row (core.bulk.BulkSubmitter), with pause and cancel; the
   rows' live state (queued, in flight, then their result) is kept in :attr:`BulkRun.states`, so a front
   end asks core how many rows are in flight instead of counting them itself.
5. :meth:`BulkRun.summary_text` is the closing sentence.

The steps are methods rather than one call so that a front end can show each step's outcome as it comes
(the window runs each in a worker); their order and their rules are here. The command line and the window run
the streamed form, :class:`core.bulk_stream.StreamedRun`, which replaces the inside of :meth:`open` and
:meth:`send` (rows checked a chunk at a time and kept in a SQLite row store) and keeps every rule here; this
in-memory form is the reference the streamed one is tested against, and what a script holding a
:class:`Manifest` uses. No Qt here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bulk import DEFAULT_CONCURRENCY, BulkProgress, BulkSubmitter, BulkSummary, RowResult, unsent_result
from .bulk_rows import apply_results, dry_run, mark_for_retry, status_word
from .errors import ConnectionFailedError, PlaymentError
from .journal import Journal, default_journal_path
from .manifest import INVALID, SENDABLE, Manifest, ManifestRow, check_manifest, load_manifest

if TYPE_CHECKING:
    from .client import PlaymentClient
    from .session import Session

QUEUED, IN_FLIGHT = "queued", "in_flight"


@dataclass
class BulkOptions:
    """How a run reads its manifest and sends its rows (the command line's options; the Bulk tab's controls)."""

    concurrency: int = DEFAULT_CONCURRENCY
    rate: float | None = None
    valid_only: bool = False
    retry_failed: bool = False
    check_masks: bool = True
    batch_id: str | None = None       # for rows that name none
    primary_dir: str | None = None    # folder mode
    masks_dir: str = "masks"


class RowStates:
    """Each sendable row's live state during a send: queued, in flight, or its result's status. Thread-safe:
    the send's workers write, a front end reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[int, str] = {}

    def reset(self, rows: list[ManifestRow]) -> None:
        with self._lock:
            self._state = {r.row: QUEUED for r in rows if r.action in SENDABLE}

    def set(self, row: int, state: str) -> None:
        with self._lock:
            self._state[row] = state

    def get(self, row: int) -> str | None:
        with self._lock:
            return self._state.get(row)

    def count(self, state: str) -> int:
        with self._lock:
            return sum(1 for s in self._state.values() if s == state)

    def word(self, row: int) -> str | None:
        """The row's live state in the words the Bulk tab shows ("sending…" while in flight)."""
        state = self.get(row)
        return None if state is None else "sending…" if state == IN_FLIGHT else status_word(state)


class BulkRun:
    """One bulk run of ``source`` through ``session`` (see the module's doc). ``journal``: the journal the
    run writes (the command line's is the manifest's own; the window's is the profile's)."""

    def __init__(self, session: Session, source: str | Path, options: BulkOptions | None = None, *,
                 journal: Journal | None = None, client: PlaymentClient | None = None) -> None:
        self.session = session
        self._client = client        # None: one of the run's own, with a connection per request in flight
        self._own_client: PlaymentClient | None = None
        self.source = str(source)
        self.options = options or BulkOptions()
        self.journal = journal if journal is not None else session.journal
        self.manifest: Manifest | None = None
        self.states = RowStates()
        self.submitter: BulkSubmitter | None = None
        self._history: Journal | None = None
        # rows per action, counted where the rows change (the check, a send, a retry: in the front end's worker),
        # so that a front end asking what may be sent walks no row (the window asks on its GUI thread)
        self.tally: dict[str, int] = {}

    # ------------------------------------------------------------------------------------ 1. open
    def open(self, *, progress: Callable[[int, int], Any] | None = None,
             cancel: threading.Event | None = None, ask_server: bool = True) -> Manifest:
        """Load and check the manifest (see the module's doc). ``ask_server``: a reference ID the profile's
        history holds as created may be confirmed with Playment (not in a dry run)."""
        opts = self.options
        manifest = load_manifest(self.source, workflow_id=self.session.workflow_id or None, batch_id=opts.batch_id,
                                 primary=opts.primary_dir, masks=opts.masks_dir)
        self.manifest = manifest
        return self.check(progress=progress, cancel=cancel, ask_server=ask_server)

    def check(self, *, progress: Callable[[int, int], Any] | None = None,
              cancel: threading.Event | None = None, ask_server: bool = True) -> Manifest:
        """Check the loaded manifest's rows (again)."""
        assert self.manifest is not None, "open() first"
        check_manifest(self.manifest, progress=progress, cancel=cancel, **self._check_rules(ask_server))
        self.retally()
        return self.manifest

    def _check_rules(self, ask_server: bool) -> dict[str, Any]:
        """What every row is checked against (core.manifest.check_manifest's keywords), whoever checks it."""
        session = self.session
        storage = session.storage if session.can_upload else None  # URLs only: local paths are row errors
        return {"journal": self.journal, "storage": storage, "history": self._profile_history(),
                "client": session.client if ask_server and session.api_key else None,
                "check_masks": self.options.check_masks, "retry_failed": self.options.retry_failed,
                "workers": min(4, os.cpu_count() or 2), "classes": session.profile.classes or None}

    def row_count(self) -> int:
        """The manifest's rows."""
        return len(self._manifest().rows)

    def retally(self) -> dict[str, int]:
        """Count the rows per action again (after the rows changed) into :attr:`tally`."""
        self.tally = self._manifest().counts()
        return self.tally

    def sendable_count(self) -> int:
        """How many rows a send takes, from :attr:`tally`."""
        return sum(self.tally.get(a, 0) for a in SENDABLE)

    def mark_retry(self) -> int:
        """Make the rows that failed in an earlier run sendable again (``--retry-failed``; core.bulk_rows
        .mark_for_retry); returns how many."""
        n = mark_for_retry(self._manifest().rows)
        self.retally()
        return n

    def _profile_history(self) -> Journal | None:
        """The profile's journal when it is not the run's own (jobs created from the window or ``submit``)."""
        if self._history is not None:
            return self._history
        history_path = default_journal_path(self.session.profile.name)
        own = getattr(self.journal, "path", None)
        if not history_path.exists() or (own is not None and Path(own).resolve() == history_path.resolve()):
            return None
        self._history = Journal(history_path)
        return self._history

    def check_summary(self) -> str:
        """What the check found, in one line: rows, to send, already created, with errors, changed, failed
        before; then the manifest's own errors."""
        man = self._manifest()
        c = self.tally
        parts = [f"{self.row_count()} rows", f"{self.sendable_count()} to send"]
        for key, words in (("done", "already created"), ("invalid", "with errors"), ("changed", "changed"),
                           ("skip_failed", "failed before (Retry failed sends them)")):
            if c.get(key):
                parts.append(f"{c[key]} {words}")
        text = ", ".join(parts) + "."
        file_errors = [p.text("gui") for p in man.problems if p.severity == "error"]
        refusal = self.session.storage_refusal()
        return text + "".join(" " + t for t in [*file_errors, refusal] if t)

    # -------------------------------------------------------------------------------- 2. verdict
    def blocked(self) -> str | None:
        """Why nothing may be sent (a sentence), or None when the valid rows may go. Storage the session
        refuses (core.session.Session.storage_refusal) refuses the whole run, as it refuses the window's submit:
        said once here, not as a row error per local file."""
        refusal = self.session.storage_refusal()
        if refusal is not None:
            return f"Nothing was sent. {refusal}"
        m = self._manifest()
        n_invalid = self.tally.get(INVALID, 0)
        file_errors = [p for p in m.problems if p.severity == "error"]
        if not file_errors and not (n_invalid and not self.options.valid_only):
            return None
        what = f"{n_invalid} row(s) have errors" if n_invalid else "the manifest has errors"
        return f"Nothing was sent: {what}."

    def unsent_results(self, message: str) -> list[RowResult]:
        """A result per row when nothing is sent: the check's verdict, or ``not_sent`` with ``message``."""
        return [unsent_result(r) if r.action not in SENDABLE else
                RowResult(r.reference_id, r.row, "not_sent", message=message) for r in self._manifest().rows]

    def dry_run(self, *, with_results: bool = True) -> tuple[list[RowResult], str]:
        """What a send would do (a result per row, unless ``with_results`` is False) and the one sentence every
        front end says for it."""
        return dry_run(self._manifest().rows, with_results=with_results)

    # ------------------------------------------------------------------------------ 3. preflight
    def preflight(self) -> list[str]:
        """Test the connection (raises ConnectionFailedError, or the server's refusal, with "Nothing was
        sent."), then the notes to show before sending."""
        report = self.client().test_connection()
        if not report.ok:
            error_type = ConnectionFailedError if report.kind == "unreachable" else PlaymentError
            raise error_type(f"{report.message} Nothing was sent.")
        notes = []
        done = self.tally.get("done", 0)
        if done:
            where = getattr(self.journal, "path", None)
            notes.append(f"{done} row(s) were created in an earlier run" + (f" (journal {where})" if where else "")
                         + "; they are skipped.")
        if self._any_without_batch() and self.client().known_default_batch() is None:
            notes.append("Rows without batch_id go to the project's default batch, which the project details do "
                         "not name; a job whose creation is interrupted cannot be looked up. Set the default batch "
                         "ID (--default-batch-id, or in the profile) to let re-runs recover such jobs.")
        return notes

    def _any_without_batch(self) -> bool:
        """Whether a row a send takes names no batch (it goes to the project's default batch)."""
        return any(r.spec is not None and not r.spec.batch_id for r in self._manifest().sendable())

    # ----------------------------------------------------------------------------------- 4. send
    def prepare_send(self, *, progress: Callable[[BulkProgress], Any] | None = None,
                     on_result: Callable[[RowResult], Any] | None = None,
                     progress_interval: float = 0.2) -> BulkSubmitter:
        """The submitter of the coming send, made before :meth:`send` so that Pause and Cancel can reach it
        from another thread at once."""
        storage = self.session.storage if self.session.can_upload else None

        def started(row: ManifestRow) -> None:
            self._started(row)

        def finished(result: RowResult) -> None:
            self._finished(result)
            if on_result is not None:
                on_result(result)

        self.submitter = BulkSubmitter(self.client(), self.journal, concurrency=self.options.concurrency,
                                       rate=self.options.rate, storage=storage, progress=progress, on_result=finished,
                                       progress_interval=progress_interval, on_start=started)
        return self.submitter

    def _started(self, row: ManifestRow) -> None:
        self.states.set(row.row, IN_FLIGHT)

    def _finished(self, result: RowResult) -> None:
        self.states.set(result.row, result.status)

    def send(self) -> BulkSummary:
        """Send the sendable rows with the submitter :meth:`prepare_send` made (exactly once each)."""
        m = self._manifest()
        submitter = self.submitter if self.submitter is not None else self.prepare_send()
        self.states.reset(m.rows)
        summary = submitter.run(m.rows)
        apply_results(m.rows, summary.results, retry_failed=self.options.retry_failed)  # the rows' next actions
        self.retally()
        return summary

    def client(self) -> PlaymentClient:
        """The client the run sends with (the front end's, or one of its own sized for its concurrency)."""
        if self._client is not None:
            return self._client
        if self._own_client is None:
            self._own_client = self.session.make_client(pool_size=self.options.concurrency)
        return self._own_client

    def in_flight(self) -> int:
        """Rows being sent right now (uploads included), from the rows' live state."""
        return self.states.count(IN_FLIGHT)

    # -------------------------------------------------------------------------------- 5. summary
    @staticmethod
    def summary_text(summary: BulkSummary) -> str:
        """The closing sentence: how many rows ended how, and in how long."""
        c = summary.counts()
        parts = [f"{c[k]} {status_word(k)}" for k in ("created", "recovered", "skipped", "failed", "ambiguous",
                                                       "invalid", "changed", "not_sent") if c.get(k)]
        return f"{', '.join(parts) or 'nothing to do'} in {summary.elapsed:.1f} s."

    def close(self) -> None:
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None
        if self._history is not None:
            self._history.close()
            self._history = None

    def _manifest(self) -> Manifest:
        if self.manifest is None:
            raise RuntimeError("BulkRun.open() must come first")
        return self.manifest


def time_left(elapsed: float, done: int, total: int) -> float | None:
    """Seconds left for ``total`` at the pace of the ``done`` in ``elapsed`` seconds (None before the first)."""
    return elapsed * (total - done) / done if done > 0 else None


def left_words(seconds: float) -> str:
    """", about 2 min 5 s left": the time left as the window's lines say it."""
    return f", about {int(seconds // 60)} min {int(seconds % 60)} s left"


def progress_text(p: BulkProgress, in_flight: int) -> str:
    """The Bulk tab's line under its progress bar during a send; ``in_flight``: the rows being sent now
    (:meth:`BulkRun.in_flight`, the rows' live state)."""
    eta = "" if p.eta is None else left_words(p.eta)
    text = (f"Sent {p.done} of {p.total}, {p.failed} failed, {in_flight} in flight, "
            f"{p.rate:.1f} jobs/s{eta}.")
    if p.cancelled:
        return text + " Stopping after the jobs in flight…"
    if p.paused:
        return text + (f" Pausing: {in_flight} in flight finishing…" if in_flight else " Paused.")
    return text


__all__ = ["IN_FLIGHT", "QUEUED", "BulkOptions", "BulkRun", "RowStates", "left_words", "progress_text",
           "time_left"]
