"""Live status: ask Playment where every journalled job stands, cheaply, and keep the answer in the journal.

Why batch pages first: a batch page answers up to 100 jobs in one request, ``GET job`` one. So the jobs still
open are grouped by batch (the payload's ``batch_id``, else the project's default batch), each batch is paged
until every open job of it has been seen (or the pages end), and only the jobs no page listed are asked for one
by one. 2,000 open jobs in one batch cost ceil(2000/100) requests, plus one per job the pages did not list.

Jobs already final (COMPLETED, FAILED: :func:`core.client.is_final_status`) are not asked again. Statuses are
stored as Playment says them (sanitised); unknown values count as not final and are shown as sent. On a sandbox
(:func:`core.sandbox.is_sandbox_url`), a job the sandbox does not know gets a state of its own,
``NOT_ON_SANDBOX`` ("not on this sandbox": made on an earlier, throw-away sandbox, or before a reset), stored like
a status and not asked again; and every sentence names the sandbox, not Playment. Used by
``playment-submit status``, ``results`` and the window's History (``progress`` is a plain callback; a GUI worker
turns it into signals). No Qt.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from .client import PlaymentClient, is_final_status
from .errors import NotFoundError, PlaymentError, ServerFaultError
from .journal import Journal
from .sandbox import is_sandbox_url
from .sanitise import one_line
from .status_scope import Answer, StatusScope

Progress = Callable[[int, int, str], Any]  # (done, total, what): jobs settled so far, jobs to settle

NOT_ON_SANDBOX = "not on this sandbox"
"""The state of a journalled job that the sandbox answering does not know (stored as its status)."""


def is_settled(status: str | None) -> bool:
    """Final on the server (COMPLETED, FAILED), or not on this sandbox: not asked again."""
    return is_final_status(status) or status == NOT_ON_SANDBOX


def server_name(base_url: str | None) -> str:
    """Who answers at ``base_url``, as a sentence names it: "the sandbox at http://127.0.0.1:PORT" for a
    sandbox running in this process, else "Playment"."""
    return f"the sandbox at {base_url.rstrip('/')}" if base_url and is_sandbox_url(base_url) else "Playment"


@dataclass(frozen=True)
class JobStatus:
    """One job's line in a status report."""

    reference_id: str | None
    job_id: str
    batch_id: str | None
    status: str | None         # Playment's word, or None when it could not be asked
    previous: str | None       # the status the user saw last time (None: never looked)
    checked_at: str | None
    error: str | None = None   # why this job's status is unknown now

    @property
    def changed(self) -> bool:
        """Different from what the user last saw ("new" since the last look)."""
        return self.status is not None and self.status != self.previous

    @property
    def final(self) -> bool:
        return is_settled(self.status)

    def to_dict(self) -> dict[str, Any]:
        return {"reference_id": self.reference_id, "job_id": self.job_id, "batch_id": self.batch_id,
                "status": self.status, "previous_status": self.previous, "changed": self.changed,
                "final": self.final, "checked_at": self.checked_at, "error": self.error}


@dataclass
class StatusReport:
    """What a refresh found: its jobs (in ``jobs`` when kept, else read with :meth:`each_job`), the jobs per
    status, how many changed since the last look, and the requests it took."""

    jobs: list[JobStatus] = field(default_factory=list)
    server: str = "Playment"    # who was asked, as a sentence names it (:func:`server_name`)
    requests: int = 0           # requests made to the server
    page_requests: int = 0
    job_requests: int = 0
    asked: int = 0              # jobs that were open and asked about
    errors: list[str] = field(default_factory=list)
    tally: dict[str, int] | None = None    # jobs per status, counted where they are kept
    changed_count: int = 0
    scope: StatusScope | None = None       # where each_job reads (until close)
    changes: dict[str, str | None] = field(default_factory=dict)  # refresh_and_mark_seen: job -> status seen

    def counts(self) -> dict[str, int]:
        """How many jobs are in each status ("unknown" for those not answered)."""
        if self.tally is not None:
            return dict(self.tally)
        return dict(Counter((j.status or "unknown") for j in self.jobs))

    @property
    def changed(self) -> list[JobStatus]:
        return [j for j in self.jobs if j.changed]

    def each_job(self) -> Iterator[JobStatus]:
        """Every job's line, by reference ID, read a page at a time from where the refresh kept them."""
        if self.scope is None:
            yield from self.jobs
            return
        for rs, ref, batch, error in self.scope.jobs():
            yield JobStatus(reference_id=ref or rs.reference_id, job_id=rs.job_id, batch_id=batch or rs.batch_id,
                            status=rs.status, previous=rs.seen_status, checked_at=rs.checked_at, error=error)

    def mark_seen(self) -> None:
        """The user has seen these statuses: the next refresh marks only what moves after this look."""
        if self.scope is not None:
            self.scope.mark_seen()

    def close(self) -> None:
        if self.scope is not None:
            self.scope.close()
            self.scope = None

    def summary(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts().items(), key=lambda kv: (-kv[1], kv[0])))
        total = sum(self.tally.values()) if self.tally is not None else len(self.jobs)
        changed = self.changed_count if self.tally is not None else len(self.changed)
        return f"{total} job(s): {counts or 'none'}; {changed} changed since the last look."


def _norm(status: str | None) -> str | None:
    return one_line(status, 60) if isinstance(status, str) and status.strip() else None


def refresh_statuses(journal: Journal, client: PlaymentClient, *, batch_id: str | None = None,
                     progress: Progress | None = None, cancel: threading.Event | None = None,
                     keep_jobs: bool = True) -> StatusReport:
    """Refresh and report the status of the journal's created jobs (``batch_id``: only that batch's, and also
    the jobs of that batch the journal does not know, e.g. made outside the tool). Final jobs are reported from
    the journal without a request. A batch that cannot be read falls back to ``GET job`` per open job; a job
    that cannot be read keeps its last known status and gets an ``error``. Never raises for one job.

    The jobs are kept in a temporary table of the journal's connection (core.status_scope), not in memory, and
    every answer is stored in the journal as its page comes. ``keep_jobs``: the report holds every job's line
    in ``jobs`` (the window's History); without it (``playment-submit status``, any number of jobs) read them
    with :meth:`StatusReport.each_job`, then :meth:`StatusReport.close`."""
    report = StatusReport(server=server_name(getattr(client, "base_url", None)))
    on_sandbox = report.server != "Playment"
    scope = StatusScope(journal, is_settled)
    try:
        if scope.lacks_batch():
            scope.set_default_batch(client.known_default_batch())
        if batch_id is not None:
            scope.only_batch(batch_id)
        report.asked = total = scope.mark_open()
        by_batch = scope.open_by_batch()
        done = 0

        def tell(what: str) -> None:
            if progress is not None:
                progress(done, total, what)

        if batch_id is not None:
            by_batch.setdefault(batch_id, 0)
        totals = _batch_totals(client, report) if any(b is not None for b in by_batch) else {}
        for b, wanted in by_batch.items():
            if b is None:
                continue
            remaining = wanted
            token: str | None = None
            guard = listing_guard(client, b, totals.get(b), report.server)
            kept = skipped = 0
            try:
                while True:
                    if cancel is not None and cancel.is_set():
                        break
                    try:
                        page = client.get_batch_page(b, token)
                    finally:
                        report.requests += 1
                        report.page_requests += 1
                    token = page.token
                    skipped += page.skipped
                    listed = [(j.job_id, j.reference_id, b, _norm(j.status)) for j in page.jobs]
                    if batch_id is None:  # only the open jobs of the journal
                        mine = scope.wanted([a[0] for a in listed])
                        listed = [a for a in listed if a[0] in mine]
                    first = scope.answer(listed)
                    remaining -= first
                    done += first
                    kept += len(listed)
                    tell(f"batch {b}")
                    # --batch lists the whole batch; otherwise stop as soon as every open job was seen.
                    if not token or (batch_id is None and remaining <= 0):
                        break
                    guard.page(len(page.jobs), token)
            except ServerFaultError as e:
                report.errors.append(f"{one_line(e, 400)} The listing of batch {b} did not end: kept the {kept} "
                                     f"job status(es) its pages gave"
                                     + (f"; the other {remaining} open job(s) were asked one by one."
                                        if remaining > 0 else "."))
            except PlaymentError as e:
                report.errors.append(f"Batch {b} could not be read ({e}); its jobs were asked one by one.")
            if skipped:
                report.errors.append(f"{_possessive(report.server)} listing of batch {b} held {skipped} "
                                     f"entry(ies) without a usable job ID (not text, or empty); they were skipped.")
        answers: list[Answer] = []
        for j, ref, b in scope.unanswered_open():
            if cancel is not None and cancel.is_set():
                break
            try:
                info = client.get_job(j)
                answers.append((j, ref, info.batch_id if isinstance(info.batch_id, str) else b, _norm(info.status)))
            except NotFoundError:
                if on_sandbox:  # made on an earlier sandbox (or before a reset): a state of its own, not an error
                    answers.append((j, ref, b, NOT_ON_SANDBOX))
                else:
                    scope.set_error(j, f"Playment does not know job {j} (deleted, or another project).")
            except PlaymentError as e:
                scope.set_error(j, str(e))
            finally:
                report.requests += 1
                report.job_requests += 1
            if len(answers) >= ANSWER_GROUP:
                done += scope.answer(answers)
                answers = []
            tell(f"job {j}")
        done += scope.answer(answers)
        report.tally, report.changed_count = scope.counts()
        errors, n_errors = scope.errors(MAX_ERRORS)
        report.errors.extend(f"{_ref_or(j, ref)}: {msg}" for j, ref, msg in errors)
        if n_errors > len(errors):
            report.errors.append(f"and {n_errors - len(errors)} more job(s) whose status could not be read.")
        report.scope = scope
        if keep_jobs:
            report.jobs = list(report.each_job())
            report.close()
        return report
    except BaseException:
        scope.close()
        raise


HISTORY_SHOWN = 500  # the most recent journal entries the window's History lists


def refresh_and_mark_seen(journal: Journal, client: PlaymentClient, *, shown: int = HISTORY_SHOWN,
                          progress: Progress | None = None, cancel: threading.Event | None = None) -> StatusReport:
    """The window's History refresh, in its worker: :func:`refresh_statuses` without keeping the jobs; in the
    report's ``changes``, the jobs among the ``shown`` most recent entries (what History lists) whose status
    moved since the user last looked, with the status seen then; then every job refreshed is marked seen, as
    ``playment-submit status`` does once it has printed them. Nothing that grows with the journal is left for
    the GUI thread."""
    report = refresh_statuses(journal, client, progress=progress, cancel=cancel, keep_jobs=False)
    try:
        ids = [e.job_id for e in journal.history(shown) if e.job_id]
        report.changes = {j: rs.seen_status for j, rs in journal.remote_statuses(ids).items()
                          if rs.status is not None and rs.status != rs.seen_status}
        report.mark_seen()
    finally:
        report.close()
    return report


ANSWER_GROUP = 100        # answers of GET job stored at once
MAX_ERRORS = 1000         # jobs whose error is told one by one


PAGE_SIZE = 100           # jobs on one batch page, as Playment documents it
EMPTY_PAGES = 3           # empty pages in a row that still name a next page: the listing does not end


class BoundedListing:
    """The policy's :class:`~core.retry.ListingGuard` for one batch, plus what only a batch listing knows:
    the batch's size from ``/details`` (the policy's limits lowered to it, with a margin for jobs added
    while listing) and empty pages that still name a next page."""

    def __init__(self, client: PlaymentClient, batch_id: str, total_jobs: int | None, server: str = "Playment"):
        policy = client.retry
        self._most_pages = policy.max_listing_pages
        self._items: int | None = None
        if total_jobs is not None:
            self._items = total_jobs + max(PAGE_SIZE, total_jobs // 10)
            policy = replace(policy, max_listing_items=min(policy.max_listing_items, self._items),
                             max_listing_pages=self._pages_for(PAGE_SIZE))
        self.batch_id, self.total_jobs = batch_id, total_jobs
        self._guard = policy.listing(f"batch {batch_id}" + ("" if total_jobs is None
                                                          else f" ({total_jobs} job(s) by the project's details)"))
        self._empty = 0
        self.server = server

    def _pages_for(self, page_size: int) -> int:
        """The pages a listing of the batch's jobs (with the margin) takes at ``page_size`` jobs a page."""
        assert self._items is not None
        return min(self._most_pages, -(-self._items // max(1, page_size)) + EMPTY_PAGES)

    def page(self, items: int, next_token: str | None) -> None:
        """Account one page read; raises :class:`ServerFaultError` (a sentence) when the listing does not end."""
        if self._guard.pages == 0 and next_token and items > 0 and self._items is not None:
            # the first page gives the server's own page size, which bounds the pages (documented: up to 100;
            # the sandbox pages 50)
            self._guard.policy = replace(self._guard.policy, max_listing_pages=self._pages_for(items))
        self._empty = self._empty + 1 if items == 0 and next_token else 0
        if self._empty >= EMPTY_PAGES:
            raise ServerFaultError(f"{_possessive(self.server)} listing of batch {self.batch_id} answered "
                                   f"{self._empty} empty pages in a row that each named a next page; stopped there.")
        self._guard.page(items, next_token)


def listing_guard(client: PlaymentClient, batch_id: str, total_jobs: int | None,
                  server: str = "Playment") -> BoundedListing:
    """The bound for listing ``batch_id``: see :class:`BoundedListing`."""
    return BoundedListing(client, batch_id, total_jobs, server)


def _possessive(server: str) -> str:
    """How a sentence starts that names the server's listing: "Playment's" or "The sandbox's"."""
    return "Playment's" if server == "Playment" else "The sandbox's"


def _batch_totals(client: PlaymentClient, report: StatusReport) -> dict[str, int]:
    """Each batch's ``total_jobs`` from ``/details`` (one request); empty when the details cannot be read,
    then the policy's hard limits bound the listing alone."""
    try:
        details = client.get_project_details()
    except PlaymentError:
        return {}
    finally:
        report.requests += 1
    return {b.batch_id: b.total_jobs for b in details.batches if b.total_jobs is not None}


def _ref_or(job_id: str, ref: str | None) -> str:
    return f"\"{one_line(ref, 100)}\" (job {job_id})" if ref else f"job {job_id}"
