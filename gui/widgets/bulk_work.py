"""The Bulk tab's background jobs: checking a manifest and sending its rows, in workers (no widget here).
Both report through the worker's progress callback; the panel (gui/widgets/bulk_panel.py) renders it."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from playment_submit.core.bulk import BulkSummary, RowResult
from playment_submit.core.bulk_run import BulkRun, time_left
from playment_submit.core.manifest import Manifest, ManifestRow
from playment_submit.gui.widgets.bulk_table import table_columns


def check_in_worker(run: BulkRun, progress_callback=None, cancel_event=None) -> tuple[Manifest, Any, str, int]:
    """Load and check the manifest (core's BulkRun.open), reporting the mask check's progress; with the table's
    columns and the check's sentence, made here so that the GUI thread only swaps them in."""
    last = [0.0]
    start = time.monotonic()

    def masks(done: int, total: int) -> None:
        # at most ten reports a second: the GUI thread handles each, and hundreds a second starve the window
        now = time.monotonic()
        if progress_callback is not None and (now - last[0] >= 0.1 or done == total):
            last[0] = now
            progress_callback({"phase": "masks", "done": done, "total": total,
                               "eta": time_left(now - start, done, total)})

    import gc
    gc.disable()  # 100,000s of new rows: full collections would hold the GIL (and the window) for 100s of ms
    try:
        manifest = run.open(progress=masks, cancel=cancel_event)
        return manifest, table_columns(manifest.rows), run.check_summary(), run.sendable_count()
    finally:
        gc.freeze()  # the rows live as long as the tab shows them: later collections need not scan them again
        gc.enable()


Outcome = tuple[list[str], list[str], list[str], dict[int, RowResult]]  # the table's columns, results by row


def outcome_columns(results: list[RowResult]) -> Outcome:
    """The table's status, job ID and message columns from a result per row (in the rows' order), and the
    results by row number: made in the worker, so that the GUI thread only swaps them in."""
    return ([r.status for r in results], [r.job_id or "" for r in results], [r.message for r in results],
            {r.row: r for r in results})


def dry_run_in_worker(run: BulkRun) -> tuple[str, Outcome]:
    """core's dry run (a result per row and its sentence), as the table's columns."""
    results, text = run.dry_run()
    return text, outcome_columns(results)


def retry_in_worker(run: BulkRun) -> tuple[Any, ...]:
    """Make the rows that failed before sendable again (core's rule); the table's columns of them."""
    run.mark_retry()
    assert run.manifest is not None
    return table_columns(run.manifest.rows)


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


def send_in_worker(run: BulkRun, feed: RowFeed | None = None, progress_callback=None) -> tuple[BulkSummary, Outcome]:
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
    summary = run.send()  # the rows' next actions are applied there, in this thread
    return summary, outcome_columns(summary.results)
