"""A bulk run whose rows are never all in memory: the command line's ``bulk`` and the window's Bulk tab, for
manifests of any length.

:class:`StreamedRun` is a :class:`~playment_submit.core.bulk_run.BulkRun` (the same steps, the same verdicts
and sentences as the in-memory run) whose rows stream:

1. :meth:`StreamedRun.open` reads the manifest a chunk of ``CHUNK`` rows at a time (core.manifest.stream_manifest)
   and checks each chunk through the same :func:`~playment_submit.core.manifest.check_manifest` as every run,
   against the run's journal (looked up per chunk) and against the reference IDs of the chunks before it
   (duplicates are found before anything is sent, whatever their distance). What each row needs later goes to
   a :class:`~playment_submit.core.row_store.RowStore` (SQLite, on disk, with a bounded cache): the payload of
   each row a send takes, the verdict of every other. Then the chunk is dropped. ``on_rows`` sees each chunk
   first (the command line prints its problems).
2. :meth:`StreamedRun.send` takes the rows a send takes from the store a page at a time and hands them to
   :meth:`BulkSubmitter.run_stream <playment_submit.core.bulk.BulkSubmitter.run_stream>`, which sends each
   exactly once through the journal as every run does (``sending`` and the payload committed before the POST).
   Results go back to the store in groups; rows a Cancel or a journal failure kept from being sent become
   ``not_sent`` there in one statement.
   Then each row's action becomes core's next action for its result (the store's ``apply_next_actions``), so
   the window can send again or retry the failed rows (:meth:`StreamedRun.mark_retry`).
3. Every row's result is read back from the store in row order (:meth:`StreamedRun.results`) for the results
   file and ``--json``; the window's table reads the store a page at a time through :attr:`StreamedRun.view`
   (core.bulk_view).

Memory: the chunk in hand, the send's queue and the store's page cache, whatever the number of rows. A folder's
rows are built one at a time from its image names, sorted in a temporary table (core.manifest_folder).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from .bulk import BulkSummary, RowResult, cancelled_message
from .bulk_rows import WOULD_SEND, dry_run_text
from .bulk_run import BulkRun
from .bulk_view import RowView
from .errors import InterruptedByUser
from .manifest import Manifest, ManifestRow, check_manifest, stream_manifest
from .row_store import RowStore
from .shapes.rows import SharedSources

CHUNK = 2000  # rows read and checked at once



def _chunks(rows: Iterable[ManifestRow], size: int) -> Iterator[list[ManifestRow]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _about(header: Manifest, rows: int) -> int:
    """How many rows the whole file holds, guessed from the share of its bytes read for ``rows`` rows."""
    try:
        read = header.position() if header.position is not None else 0
    except (OSError, ValueError):
        return 0
    return max(rows, round(rows * header.size / read)) if read > 0 and header.size else 0


class StreamedRun(BulkRun):
    """See the module's doc. ``by_ref``: the store indexes the rows by reference ID too (the window's table
    sorts by it)."""

    def __init__(self, *args: Any, by_ref: bool = False, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.store = RowStore(by_ref=by_ref)
        self.view = RowView(self.store)
        self.rows_read = 0
        self._for_send = True
        self._flying: set[int] = set()
        self._flying_lock = threading.Lock()

    def open(self, *, progress: Callable[[int, int], Any] | None = None,
             cancel: threading.Event | None = None, ask_server: bool = True,
             on_rows: Callable[[list[ManifestRow]], Any] | None = None, for_send: bool = True) -> Manifest:
        """Read and check the manifest a chunk at a time (see the module's doc); ``progress(rows, about)`` as
        a chunk's check reports its rows and after each chunk, ``about`` the rows the file holds as guessed from
        the bytes read so far (0 when it cannot be told). ``for_send``: False for a dry run, whose store keeps
        no payload. Returns the manifest's file-level part: no rows."""
        self._for_send = for_send
        opts = self.options
        header, rows = stream_manifest(self.source, workflow_id=self.session.workflow_id or None,
                                       batch_id=opts.batch_id, primary=opts.primary_dir, masks=opts.masks_dir)
        self.manifest = header
        rules = self._check_rules(ask_server)
        shared = SharedSources()  # an annotation file many rows name: parsed once for the run, not per chunk
        try:
            for chunk in _chunks(rows, CHUNK):
                part = Manifest(source=header.source, base_dir=header.base_dir, rows=chunk,
                                problems=header.problems, kind=header.kind)
                within = None if progress is None else (
                    lambda done, _total: progress(self.rows_read + done, _about(header, self.rows_read + done)))
                check_manifest(part, cancel=cancel, refs=self.store, shared=shared, progress=within, **rules)
                self.store.add_rows(chunk, payloads=for_send)
                self.rows_read += len(chunk)
                if on_rows is not None:
                    on_rows(chunk)
                if progress is not None:
                    progress(self.rows_read, _about(header, self.rows_read))
                if cancel is not None and cancel.is_set():
                    break
        finally:
            close = getattr(rows, "close", None)
            if close is not None:  # a generator: its file is closed now, not when it is collected
                close()
        if cancel is not None and cancel.is_set():
            # the store holds part of the manifest, and rows whose check was cut short: nothing may be sent from it
            raise InterruptedByUser(f"The check was cancelled after {self.rows_read:,} rows; nothing can be sent "
                                    f"from a part of a manifest. Open it again (Re-check) to check every row.")
        self.retally()
        return header

    def check(self, *, progress: Callable[[int, int], Any] | None = None,
              cancel: threading.Event | None = None, ask_server: bool = True) -> Manifest:
        raise RuntimeError("a streamed run's rows are checked as open() reads them")

    def retally(self) -> dict[str, int]:
        self.tally = self.store.actions()
        return self.tally

    def row_count(self) -> int:
        return self.rows_read

    def mark_retry(self) -> int:
        n = self.store.mark_retry()
        self.retally()
        return n

    def _any_without_batch(self) -> bool:
        return self.store.any_without_batch()

    def unsent_results(self, message: str) -> Iterator[RowResult]:  # type: ignore[override]
        """A result per row when nothing is sent, read from the store: the check's verdict, or ``not_sent``."""
        return self.store.results(pending=("not_sent", message))

    def dry_run(self, *, with_results: bool = True) -> tuple[Iterator[RowResult], str]:  # type: ignore[override]
        results = self.store.results(pending=WOULD_SEND) if with_results else iter(())
        self.view.mode = "dry"
        return results, dry_run_text(self.tally)

    # ----------------------------------------------------------------------------------- send
    def _started(self, row: ManifestRow) -> None:
        with self._flying_lock:
            self._flying.add(row.row)

    def _finished(self, result: RowResult) -> None:
        self.store.record(result)
        with self._flying_lock:
            self._flying.discard(result.row)

    def in_flight(self) -> int:
        """Rows started and without a result yet (their result counted: the send's line says "Paused." only
        once the counts stop moving). Only the rows in flight are held: at most the concurrency."""
        with self._flying_lock:
            return len(self._flying)

    def send(self) -> BulkSummary:
        """Send the rows a send takes, from the store (see the module's doc). The summary holds the rows per
        status (every row's: the check's verdicts too), not the results: :meth:`results` reads them."""
        if not self._for_send:
            raise RuntimeError("this run was opened for a dry run (for_send=False): it keeps no payload to send")
        submitter = self.submitter if self.submitter is not None else self.prepare_send()
        self.store.reset_for_send()
        self.view.mode = "sent"
        summary = submitter.run_stream(self.store.sendable(), self.sendable_count())
        self.store.mark_unsent(cancelled_message(submitter.journal_stop))
        summary.tally = self.store.statuses()
        self.store.apply_next_actions(retry_failed=self.options.retry_failed)
        self.retally()
        return summary

    def results(self, *, sendable: bool | None = None,
                statuses: Iterable[str] | None = None) -> Iterator[RowResult]:
        """Every row's result after a send, in row order (only the rows a send took, or the others; only
        these statuses)."""
        return self.store.results(sendable=sendable, statuses=statuses)

    def close(self) -> None:
        super().close()
        self.store.close()


__all__ = ["CHUNK", "StreamedRun"]
