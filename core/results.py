"""What a bulk send leaves behind: the results CSV, and what each row can do next. Plain Python, no Qt.

Used by the Bulk tab (gui/widgets/bulk_panel.py) and meant for ``playment-submit bulk --results``
(core/cli_bulk.py), so both write the same file and both agree on what a row's outcome means.

- :func:`write_results` writes one line per :class:`~playment_submit.core.bulk.RowResult`: columns
  ``row, reference_id, job_id, status, error_code, message``, written to ``<path>.part`` then renamed over
  ``path``, so a reader never sees half a file and an interrupted write leaves the old file intact.
- :func:`results_for_rows` gives every manifest row its result line, whether or not it was sent.
- :func:`next_action` is the rule "a send ended with this status; what is the row now?": created,
  recovered and skipped rows are done; an ambiguous row is reconciled on the next send (its job ID is
  recovered, it is never created twice); a failed row waits for an explicit retry (the CLI's
  ``--retry-failed``), as :func:`~playment_submit.core.manifest.check_manifest` decides from the journal;
  any other status (not_sent, invalid, changed) leaves the row as it was, so a row cancelled before it was
  sent is still to send.
- :func:`apply_results` applies that rule to the rows of a manifest after a send.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .bulk import RowResult, _static_result
from .manifest import DONE, RECONCILE, RETRY, SENDABLE, SKIP_FAILED, ManifestRow

RESULT_COLUMNS = ("row", "reference_id", "job_id", "status", "error_code", "message")

_DONE_STATUSES = frozenset({"created", "recovered", "skipped"})


def write_results(path: str | Path, results: Iterable[RowResult]) -> Path:
    """Write the results CSV (header :data:`RESULT_COLUMNS`, one line per result, in the order given).

    The file is written as ``<path>.part`` and renamed over ``path`` only once complete (atomic on the
    same file system). ``None`` job IDs, codes and reference IDs are written as empty cells. Returns the
    path written. Raises ``OSError`` when the folder cannot be written (the ``.part`` file is removed)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(RESULT_COLUMNS)
            for r in results:
                w.writerow([r.row, r.reference_id or "", r.job_id or "", r.status, r.code or "", r.message])
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def results_for_rows(rows: Sequence[ManifestRow], known: Mapping[int, RowResult]) -> list[RowResult]:
    """One result per row, in row order: the result in ``known`` (keyed by the row's ``row`` number) when
    the row was sent or reported this session, otherwise what the check says about it: ``skipped``
    (created in an earlier run), ``changed``, ``invalid`` (with its first error's code and messages),
    ``not_sent`` (to send, or failed in an earlier run)."""
    return [known.get(r.row) or _static_result(r) for r in rows]


def next_action(status: str, action: str, *, retry_failed: bool = False) -> str:
    """The manifest action (``core.manifest``: send, reconcile, retry, done, skip_failed, ...) of a row
    whose action was ``action`` after a send that ended with result ``status``.

    - ``created``, ``recovered``, ``skipped`` -> ``done``: nothing more to do;
    - ``ambiguous`` -> ``reconcile``: may have been created; sending again recovers its job ID;
    - ``failed`` -> ``skip_failed`` (or ``retry`` when ``retry_failed``): refused by the server, so it is
      sent again only when asked, as a later check of the journal would also say;
    - anything else (``not_sent``, ``invalid``, ``changed``) -> ``action`` unchanged.

    Whether the row can be sent again is ``next_action(...) in SENDABLE`` (see :func:`can_send_again`)."""
    if status in _DONE_STATUSES:
        return DONE
    if status == "ambiguous":
        return RECONCILE
    if status == "failed":
        return RETRY if retry_failed else SKIP_FAILED
    return action


def can_send_again(status: str, action: str, *, retry_failed: bool = False) -> bool:
    """True when a row whose send ended with ``status`` is picked up by the next send."""
    return next_action(status, action, retry_failed=retry_failed) in SENDABLE


def apply_results(rows: Sequence[ManifestRow], results: Sequence[RowResult], *, retry_failed: bool = False) -> None:
    """Update ``rows`` in place after a send: each row's ``action`` becomes :func:`next_action` of its
    result, and a result's job ID replaces the row's. ``results`` are in the order of ``rows``, one per
    row, as :meth:`BulkSubmitter.run <playment_submit.core.bulk.BulkSubmitter.run>` returns them; a
    different count raises ``ValueError`` (nothing is changed)."""
    if len(rows) != len(results):
        raise ValueError(f"{len(results)} results for {len(rows)} rows")
    for row, res in zip(rows, results, strict=True):
        row.action = next_action(res.status, row.action, retry_failed=retry_failed)
        row.job_id = res.job_id or row.job_id


__all__ = ["RESULT_COLUMNS", "write_results", "results_for_rows", "next_action", "can_send_again",
           "apply_results"]
