"""The one retry policy: every number that decides how often and how long the client retries, waits and reads.

:class:`RetryPolicy` is handed out by the :class:`~core.session.Session` to the API client (POST attempts,
GET retries, deadlines, listing limits), to the signed-URL fetcher and to the window's connection test;
none of them picks a number of its own. The job's time budget is derived from the numbers
(:attr:`RetryPolicy.job_budget`), so more attempts or a longer timeout give a job more time. The defaults the
command line's parser shows live in :mod:`core.defaults` (which imports nothing); this module imports no
requests either.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from .defaults import (
    CONNECT_TIMEOUT,
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TIMEOUT,
    job_budget,
)
from .errors import ServerFaultError


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries and how long it waits.

    - ``create_job`` (POST, not idempotent) makes at most ``max_attempts`` attempts on ``retry_statuses``,
      timeouts and dropped connections; it waits uniform(0, min(backoff_cap, backoff_base * 2**(n-1))) s
      (full jitter), or the server's Retry-After up to ``max_retry_after`` (a longer one is reported
      instead of waited out).
    - GETs retry ``get_retries`` times on ``retry_statuses`` and dropped reads, the same backoff, a
      Retry-After capped at ``get_retry_after_cap``, never past the request's deadline. The signed-URL
      fetcher retries ``fetch_retries`` times the same way.
    - every request: ``connect_timeout`` to connect, ``timeout`` in all, connect to last byte.
    - a batch listing reads at most ``max_listing_pages`` pages and ``max_listing_items`` jobs, then stops
      with a sentence: a server that answers every page with a fresh page token cannot keep it going.
    - the window's connection test: ``probe_timeout`` in all and ``probe_retries`` GET retries.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    max_retry_after: float = 60.0
    get_retries: int = 4
    get_retry_after_cap: float = 30.0
    fetch_retries: int = 2
    retry_statuses: tuple[int, ...] = (429, 500, 502, 503, 504)
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = CONNECT_TIMEOUT
    max_listing_pages: int = 5000
    max_listing_items: int = 1_000_000
    probe_timeout: float = 10.0
    probe_retries: int = 1

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full-jitter wait before attempt ``attempt + 1`` (attempt counts from 1)."""
        return rng() * min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))

    @property
    def connect(self) -> float:
        """Seconds to connect: ``connect_timeout``, never more than the whole request's ``timeout``."""
        return min(self.connect_timeout, self.timeout)

    @property
    def job_budget(self) -> float:
        """The longest one job takes before the client gives up: every attempt's ``timeout``, the longest
        backoff waits between them, and one ``timeout`` more to reconcile an unknown outcome."""
        return job_budget(self.timeout, self.max_attempts, self.backoff_base, self.backoff_cap)

    @property
    def reconcile_share(self) -> float:
        """The part of :attr:`job_budget` kept for looking up a job whose creation had an unknown outcome."""
        return self.timeout

    def with_timeout(self, timeout: float) -> RetryPolicy:
        return self if timeout == self.timeout else replace(self, timeout=float(timeout))

    def listing(self, what: str) -> ListingGuard:
        """The bound for one paged listing of ``what`` (e.g. "batch b-1"): see :class:`ListingGuard`."""
        return ListingGuard(self, what)

    def for_probe(self) -> RetryPolicy:
        """The connection test's policy: a quick answer (``probe_timeout``, ``probe_retries``)."""
        return replace(self, timeout=min(self.timeout, self.probe_timeout), get_retries=self.probe_retries)


class ListingGuard:
    """Bounds one paged listing: call :meth:`page` after every page read, with how many items it held and
    the next page token it named. It raises :class:`~core.errors.ServerFaultError` (a sentence) when the
    server repeats a page token, or when the listing has read the policy's ``max_listing_pages`` pages or
    ``max_listing_items`` items and the server still names a next page."""

    def __init__(self, policy: RetryPolicy, what: str):
        self.policy, self.what = policy, what
        self.pages = self.items = 0
        self._seen: set[str] = set()

    def page(self, items: int, next_token: str | None) -> None:
        self.pages += 1
        self.items += items
        if not next_token:
            return
        if next_token in self._seen:
            raise ServerFaultError(f"Playment's listing of {self.what} repeated a page token; stopped to avoid "
                                   f"a loop.")
        self._seen.add(next_token)
        if self.pages >= self.policy.max_listing_pages or self.items >= self.policy.max_listing_items:
            raise ServerFaultError(f"Playment's listing of {self.what} still named a next page after {self.pages} "
                                   f"pages and {self.items} jobs (the most one listing reads is "
                                   f"{self.policy.max_listing_pages} pages or {self.policy.max_listing_items} "
                                   f"jobs); stopped there. Try again later, or ask Playment about the listing.")


__all__ = ["ListingGuard", "RetryPolicy"]
