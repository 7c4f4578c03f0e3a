"""The Bulk tab's background jobs: checking a manifest and sending its rows, in workers (no widget here).
Both report through the worker's progress callback; the panel (gui/widgets/bulk_panel.py) renders it."""

from __future__ import annotations

from typing import Any

from playment_submit.core.bulk import BulkSummary, RowResult
from playment_submit.core.bulk_rows import row_columns
from playment_submit.core.bulk_run import BulkRun
from playment_submit.core.manifest import Manifest, ManifestRow


def check_in_worker(run: BulkRun, progress_callback=None, cancel_event=None) -> tuple[Manifest, Any, str, int]:
    """Load and check the manifest (core's BulkRun.open), reporting the mask check's progress; with the table's
    columns and the check's sentence, made here so that the GUI thread only swaps them in."""
    def masks(done: int, total: int) -> None:
        if progress_callback is not None:
            progress_callback({"phase": "masks", "done": done, "total": total})

    import gc
    gc.disable()  # 100,000s of new rows: full collections would hold the GIL (and the window) for 100s of ms
    try:
        manifest = run.open(progress=masks, cancel=cancel_event)
        index = {r.row: i for i, r in enumerate(manifest.rows)}  # the table's row number -> position
        return manifest, (*row_columns(manifest.rows), index), run.check_summary(), len(manifest.sendable())
    finally:
        gc.freeze()  # the rows live as long as the tab shows them: later collections need not scan them again
        gc.enable()


def send_in_worker(run: BulkRun, progress_callback=None) -> BulkSummary:
    """The connection test and its notes, then the send (the submitter was made on the GUI thread, so Pause
    and Cancel reach it at once); everything is reported through Qt."""
    notes = run.preflight()
    submitter = run.submitter
    assert submitter is not None
    if progress_callback is not None:
        progress_callback({"phase": "notes", "notes": notes})
        submitter.on_progress = lambda p: progress_callback({"phase": "send", "progress": p})
        finished = submitter.on_result
        started = submitter.on_start

        def on_result(r: RowResult) -> None:
            if finished is not None:
                finished(r)
            progress_callback({"phase": "result", "result": r})

        def on_start(row: ManifestRow) -> None:
            if started is not None:
                started(row)
            progress_callback({"phase": "start", "row": row.row})

        submitter.on_result, submitter.on_start = on_result, on_start
    return run.send()
