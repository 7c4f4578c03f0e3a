"""What the window's Bulk tab shows of a streamed bulk run (core.bulk_stream.StreamedRun): its rows as they
are kept in the run's :class:`~playment_submit.core.row_store.RowStore`, read a page at a time, so that the
tab shows a million rows holding only the pages on screen and, for a filter or a sort, one compact array of
positions (4 bytes a row). No Qt here.

- :meth:`RowView.page` is a page of rows as the table shows them: row number, reference ID, status code, job
  ID and message, by core's rule (:func:`shown`), read by position (the store's key), in milliseconds
  wherever the page is.
- :meth:`RowView.order` finds the rows a filter of core.bulk_rows.FILTERS shows, in the order a sort of
  core.bulk_rows.SORTS asks, reading the store ``SCAN`` rows at a time (its lock is free between reads, so a
  page the table asks meanwhile waits for one read at most). It walks every row: a worker calls it.
- :meth:`RowView.row_at` is one row with its problems, its job (the payload) and its result: the row's details,
  "open in the Job tab".
- :attr:`RowView.mode` says what the Status column says: the check's verdict ("check"), a dry run's ("dry"),
  or each row's result once a send ran ("sent").
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterator
from typing import Any

from .bulk import RowResult
from .bulk_rows import WOULD_SEND, is_row_order, row_matches, status_rank
from .journal import unkey
from .manifest import SENDABLE, ManifestRow
from .pacing import breathe
from .row_store import RowStore, problems_of

VIEW_PAGE = 200   # rows the table reads at once
SCAN = 5000       # rows read at once when finding a filter's rows
MODES = ("check", "dry", "sent")

ShownRow = tuple[int, str, str, str, str]  # row number, reference ID, status code, job ID, message


def shown(mode: str, action: str, status: str | None, job_id: str | None, message: str | None,
          summary: str | None) -> tuple[str, str, str]:
    """A row's status code, job ID and message as the table shows them in ``mode`` (see the module's doc):
    before a send, its action and the summary of its problems; in a dry run, "would be sent" for a row a send
    takes and the check's verdict for the others; after a send, its result (a row the send has not reached
    yet: its action)."""
    if mode == "dry":
        if action in SENDABLE:
            return WOULD_SEND[0], "", WOULD_SEND[1]
        return status or action, job_id or "", _said(message)
    if mode == "sent" and status is not None:
        return status, job_id or "", _said(message)
    return action, job_id or "", _said(summary)


def _said(text: str | bytes | None) -> str:
    """A stored message as text (one quoting a file name's undecodable bytes was kept as bytes)."""
    return unkey(text) if text else ""


_COLUMNS = "pos, row, ref, action, status, job_id, message, summary, problems IS NOT NULL"


class RowView:
    """See the module's doc. ``len(view)`` is the number of rows."""

    def __init__(self, store: RowStore) -> None:
        self.store = store
        self.mode = "check"

    def __len__(self) -> int:
        return self.store.count

    # ------------------------------------------------------------------------------- the table
    def page(self, start: int, size: int = VIEW_PAGE, *, wait: float | None = None) -> list[ShownRow] | None:
        """The rows at positions ``start`` to ``start + size`` (fewer at the end), as the table shows them.
        ``wait``: seconds to wait for the store at most, else None (core.row_store.RowStore.read: the results
        a send has not written yet are not in such a page)."""
        mode = self.mode
        found = self.store.read(f"SELECT {_COLUMNS} FROM rows WHERE pos >= ? ORDER BY pos LIMIT ?", (start, size),
                                wait=wait)
        if found is None:
            return None
        return [(row, _said(ref), *shown(mode, action, status, job_id, message, summary))
                for _pos, row, ref, action, status, job_id, message, summary, _p in found]

    def row_at(self, pos: int) -> tuple[ManifestRow, dict[str, Any] | None, RowResult | None] | None:
        """The row at ``pos`` (its number, reference ID, action, job ID and problems; no spec), its job (the
        documented payload as the check built it; None when the row could not be read as a job) and, once a
        send ran, its result. None when there is no such row."""
        found = self.store.read("SELECT row, ref, action, job_id, block, slot, problems, status, code, message "
                                "FROM rows WHERE pos = ?", (pos,)) or []
        if not found:
            return None
        row, ref, action, job_id, block, slot, problems, status, code, message = found[0]
        ref = None if ref is None else unkey(ref)
        r = ManifestRow(row=row, reference_id=ref, action=action, job_id=job_id, problems=problems_of(problems))
        job = self.store.job(block, slot) if block is not None else None
        result = (RowResult(ref, row, status, job_id, code, _said(message))
                  if self.mode == "sent" and status is not None else None)
        return r, job, result

    def results(self) -> Iterator[RowResult]:
        """Every row's result line (core.bulk_rows.RESULT_COLUMNS), in row order: its result when a send ran,
        else what the check says of it (a row still to send: ``not_sent``)."""
        return self.store.results(pending=("not_sent", ""))

    # ------------------------------------------------------------------------------- filter and sort
    def order(self, filter_name: str, sort: str, descending: bool,
              cancel: threading.Event | None = None) -> tuple[array[int] | None, array[int] | None]:
        """The positions of the rows ``filter_name`` shows in the order ``sort`` asks (``descending``: the other
        way), and its inverse (position -> place shown, -1 when hidden); (None, None) when every row is shown in
        row order. By status: problems first, then rows still to send, then rows done, a status's rows
        together, in row order (core.bulk_rows.status_rank); by reference ID: as SQLite orders them (code
        point order; an ID with a file name's undecodable bytes after all others), rows without one last."""
        if is_row_order(filter_name, sort, descending):
            return None, None
        buckets: dict[str, array[int]] = {}
        kept = array("i")
        for pos, code in self._scan(filter_name, by_ref=sort == "reference_id", cancel=cancel):
            if sort == "status":
                buckets.setdefault(code, array("i")).append(pos)
            else:
                kept.append(pos)
        if sort == "status":
            for code in sorted(buckets, key=status_rank):
                kept.extend(buckets.pop(code))
        if descending:
            kept.reverse()
        inverse = array("i", [-1]) * len(self)
        for place, pos in enumerate(kept):
            inverse[pos] = place
        return kept, inverse

    def _scan(self, filter_name: str, *, by_ref: bool,
              cancel: threading.Event | None) -> Iterator[tuple[int, str]]:
        """(position, status code) of each row ``filter_name`` shows: in row order, or by
        reference ID (then the rows without one, in row order), ``SCAN`` rows per read."""
        mode = self.mode
        queries = ([(f"SELECT {_COLUMNS} FROM rows WHERE ref IS NOT NULL AND (ref, pos) > (?, ?) "
                     f"ORDER BY ref, pos LIMIT ?", "ref"),
                    (f"SELECT {_COLUMNS} FROM rows WHERE ref IS NULL AND pos > ? ORDER BY pos LIMIT ?", "pos")]
                   if by_ref else
                   [(f"SELECT {_COLUMNS} FROM rows WHERE pos > ? ORDER BY pos LIMIT ?", "pos")])
        for sql, key in queries:
            after: tuple[Any, ...] = ("", -1) if key == "ref" else (-1,)
            while True:
                if cancel is not None and cancel.is_set():
                    return
                page = self.store.read(sql, (*after, SCAN)) or []
                if not page:
                    break
                for pos, _row, _ref, action, status, job_id, message, summary, has_problems in page:
                    code = shown(mode, action, status, job_id, message, summary)[0]
                    if row_matches(filter_name, code, bool(has_problems)):
                        yield pos, code
                last = page[-1]
                after = (last[2], last[0]) if key == "ref" else (last[0],)
                breathe()


__all__ = ["MODES", "RowView", "SCAN", "VIEW_PAGE", "shown"]
