"""The Bulk tab's background jobs: checking a manifest and sending its rows, in workers (no widget here).
Both report through the worker's progress callback; the panel (gui/widgets/bulk_panel.py) renders it."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

from playment_submit.core.bulk import BulkSummary, RowResult
from playment_submit.core.bulk_rows import write_results
from playment_submit.core.bulk_run import time_left
from playment_submit.core.bulk_stream import StreamedRun
from playment_submit.core.manifest import Manifest, ManifestRow


def check_in_worker(run: StreamedRun, progress_callback=None, cancel_event=None) -> tuple[Manifest, str, int]:
    """Read and check the manifest a chunk at a time into the run's row store (core's StreamedRun.open),
    reporting the rows checked and the time left; with the check's sentence and how many rows a send takes,
    made here so that the GUI thread only shows them."""
    last = [0.0]
    start = time.monotonic()

    def checked(done: int, about: int) -> None:
        # at most ten reports a second: the GUI thread handles each, and hundreds a second starve the window
        now = time.monotonic()
        if progress_callback is not None and now - last[0] >= 0.1:
            last[0] = now
            # ``about`` is 0 when the total cannot be told (a folder): the rows checked so far are said alone
            progress_callback({"phase": "rows", "done": done, "total": about,
                               "eta": time_left(now - start, done, about) if about else None})

    header = run.open(progress=checked, cancel=cancel_event)
    if progress_callback is not None:
        progress_callback({"phase": "rows", "done": run.rows_read, "total": run.rows_read, "eta": 0.0})
    return header, run.check_summary(), run.sendable_count()


def write_run_results(run: StreamedRun, path: str | Path) -> Path:
    """Write the results CSV (core.bulk_rows: row, reference_id, job_id, status, error_code, message; the same
    file as ``playment-submit bulk --results``) for every row, sent or not, read from the run's row store.
    Raises OSError. It reads every row: the Bulk tab calls it in a worker."""
    return write_results(path, run.view.results())


def dry_run_in_worker(run: StreamedRun) -> str:
    """core's dry run: its sentence (the rows show "would be sent" from the store)."""
    return run.dry_run(with_results=False)[1]


def retry_in_worker(run: StreamedRun) -> int:
    """Make the rows that failed before sendable again (core's rule, in the row store); how many."""
    return run.mark_retry()


class RowFeed:
    """Rows started and rows' results, in the order they happened, from the send's threads to the panel's
    timer (which drains it every 150 ms): no signal per row, whose two a job at hundreds of jobs a second would
    keep the GUI thread from its own events."""

    def __init__(self) -> None:
        self._events: deque[tuple[str, Any]] = deque()  # append and popleft are thread-safe

    def add(self, kind: str, what: Any) -> None:
        self._events.append((kind, what))

    def drain(self) -> list[tuple[str, Any]]:
        """What happened since the last drain: ("start", row number) and ("result", RowResult)."""
        out = []
        for _ in range(len(self._events)):
            out.append(self._events.popleft())
        return out


def send_in_worker(run: StreamedRun, feed: RowFeed | None = None, progress_callback=None) -> BulkSummary:
    """The connection test and its notes, then the send (the submitter was made on the GUI thread, so Pause
    and Cancel reach it at once). Notes and counts are reported through Qt; rows started and their results go
    into ``feed``."""
    notes = run.preflight()
    submitter = run.submitter
    assert submitter is not None
    if progress_callback is not None:
        progress_callback({"phase": "notes", "notes": notes})
        submitter.on_progress = lambda p: progress_callback({"phase": "send", "progress": p})
    if feed is not None:
        finished, started = submitter.on_result, submitter.on_start

        def on_result(r: RowResult) -> None:
            if finished is not None:
                finished(r)
            feed.add("result", r)

        def on_start(row: ManifestRow) -> None:
            if started is not None:
                started(row)
            feed.add("start", row.row)

        submitter.on_result, submitter.on_start = on_result, on_start
    return run.send()  # the rows' results and next actions go to the store there, in this thread
