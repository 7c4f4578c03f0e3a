"""The bulk rows' results (not the results Playment delivers: those are core/delivered.py): the results CSV,
the words for a row's status, a row's details, and what each row can do next. Plain Python, no Qt.

Used by the Bulk tab (gui/widgets/bulk_panel.py) and ``playment-submit bulk --results`` (core/cli/bulk.py),
so both write the same file and both agree on what a row's outcome means.

- :func:`write_results` writes one line per :class:`~playment_submit.core.bulk.RowResult`: columns
  ``row, reference_id, job_id, status, error_code, message``, written to ``<path>.part`` then renamed over
  ``path``, so a reader never sees half a file and an interrupted write leaves the old file intact.
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
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .bulk import RowResult, unsent_result
from .errors import Problem
from .manifest import CHANGED, DONE, INVALID, RECONCILE, RETRY, SEND, SENDABLE, SKIP_FAILED, ManifestRow

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


# ---------------------------------------------------------------------------------- plain words
#: What a row's status means, in words a manager reads at a glance (the window's Status column); the
#: results CSV keeps the codes (``not_sent``, ``ambiguous`` ...) for scripts.
STATUS_WORDS: dict[str, str] = {
    # before a send: the row's action (core.manifest)
    SEND: "ready", RECONCILE: "to check again", RETRY: "to retry", DONE: "already created",
    SKIP_FAILED: "failed before", CHANGED: "changed", INVALID: "error",
    # after a send: the row's result
    "created": "created", "recovered": "created (found)", "skipped": "already created", "failed": "failed",
    "ambiguous": "unconfirmed", "not_sent": "not sent", "invalid": "error", "changed": "changed",
    "would_send": "would be sent", "in_flight": "sending…",
}

#: The group a status falls in, for a filter and for colouring: ok (created), problem (needs a look),
#: pending (still to send or left out).
_STATUS_GROUP: dict[str, str] = {
    "created": "ok", "recovered": "ok", "skipped": "ok", DONE: "ok",
    "failed": "problem", "ambiguous": "problem", "invalid": "problem", INVALID: "problem", SKIP_FAILED: "problem",
    "changed": "problem", CHANGED: "problem",
}

FILTERS = ("all", "problems", "sent")


def status_word(status: str) -> str:
    """The plain word for a row action or a result status (``not_sent`` -> "not sent")."""
    return STATUS_WORDS.get(status, status.replace("_", " "))


def status_group(status: str) -> str:
    """"ok" (created, now or before), "problem" (an error, a refusal, an unconfirmed or changed row) or
    "pending" (ready, to retry, not sent, would be sent)."""
    return _STATUS_GROUP.get(status, "pending")


def row_matches(filter_name: str, status: str, has_problems: bool) -> bool:
    """Whether a row with this status (action or result) is shown under a filter of :data:`FILTERS`:
    "problems" shows rows core found something wrong with (errors or warnings) and rows whose send did not
    succeed; "sent" shows rows whose job exists (created now, recovered, or created in an earlier run)."""
    group = status_group(status)
    if filter_name == "problems":
        return group == "problem" or has_problems
    if filter_name == "sent":
        return group == "ok"
    return True


SORTS = ("row", "status", "reference_id")
_GROUP_ORDER = {"problem": 0, "pending": 1, "ok": 2}


def is_row_order(filter_name: str, sort: str, descending: bool) -> bool:
    """Whether a filter and a sort show every row in row order (no list of positions is needed)."""
    return filter_name == "all" and sort == "row" and not descending


def status_rank(code: str) -> tuple[int, str]:
    """Where rows of status ``code`` come when sorted by status: problems first, then rows still to send, then
    rows done; the same word together (a row's number orders rows of one status)."""
    return _GROUP_ORDER[status_group(code)], status_word(code)


def mark_for_retry(rows: Sequence[ManifestRow]) -> int:
    """Make every row that failed in an earlier run (``skip_failed``) sendable again (``retry``), as the
    command line's ``--retry-failed`` does; returns how many. The send then reconciles each with the
    server first (prior_attempt_ambiguous), so a refusal whose job exists after all is never duplicated."""
    n = 0
    for r in rows:
        if r.action == SKIP_FAILED:
            r.action = RETRY
            n += 1
    return n


def dry_run(rows: Sequence[ManifestRow], *, with_results: bool = True) -> tuple[list[RowResult], str]:
    """What a send would do, without sending: a result per row (``would_send`` for the rows a send takes,
    the check's verdict for the others; none when ``with_results`` is False: only the sentence is wanted) and
    one sentence saying how many of each. Nothing is uploaded."""
    results = [would_send(r) if r.action in SENDABLE else unsent_result(r) for r in rows] if with_results else []
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.action] = counts.get(r.action, 0) + 1
    return results, dry_run_text(counts)


WOULD_SEND = ("would_send", "Dry run: this row would be sent.")  # a dry run's status and message for such a row


def would_send(r: ManifestRow) -> RowResult:
    """A dry run's result for a row a send would take."""
    return RowResult(r.reference_id, r.row, WOULD_SEND[0], message=WOULD_SEND[1])


def dry_run_text(counts: Mapping[str, int]) -> str:
    """The dry run's one sentence, from the rows per action."""
    sendable = sum(counts.get(a, 0) for a in SENDABLE)
    created = counts.get(DONE, 0)
    errors = counts.get(INVALID, 0)
    text = (f"Dry run: {sendable} row(s) would be sent, {created} already created, "
            f"{sum(counts.values()) - sendable - created} left out")
    text += f" ({errors} with errors)." if errors else "."
    return text + " Nothing was uploaded or sent."


def problem_summary(problems: Sequence[Problem]) -> str:
    """The Bulk tab's Message column for a row the check found ``problems`` in: its first error, else its first
    problem, with how many more ("" when there are none)."""
    if not problems:
        return ""
    first = next((p for p in problems if p.severity == "error"), problems[0])
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return first.text("gui") + more


def without_retry_warning(problems: Sequence[Problem]) -> list[Problem]:
    """A row's problems once a retry created it: "failed in an earlier run" no longer holds."""
    return [p for p in problems if p.fix != "retry_failed"]


_FROM_ROW: Any = object()


def row_details(row: ManifestRow, result: RowResult | None = None, *, payload: Any = _FROM_ROW) -> str:
    """What the Bulk tab shows for a selected row: its problems, its result this session, and the job it
    creates (the documented payload, as the pipeline checks and sends it: ``payload`` when the row comes from
    a row store without its spec, else the row's own)."""
    parts = []
    said: dict[str, str] = {}  # sentence -> severity, each sentence once: a result often repeats a problem
    for p in row.problems:
        said.setdefault(p.text("gui"), p.severity)
    if said:
        parts.append("\n".join(("Error: " if kind == "error" else "Warning: ") + t for t, kind in said.items()))
    if result is not None:
        message = result.message if result.message and not any(result.message in t or t in result.message
                                                                for t in said) else ""
        parts.append(f"Result: {status_word(result.status)}" + (f", job {result.job_id}" if result.job_id else "")
                     + (f" ({message})" if message else ""))
    if payload is _FROM_ROW:
        payload = row.payload()
    parts.append(json.dumps(payload, indent=2, ensure_ascii=False) if payload is not None
                 else "(this row could not be read as a job)")
    return "\n\n".join(parts)


def apply_results(rows: Sequence[ManifestRow], results: Sequence[RowResult], *, retry_failed: bool = False) -> None:
    """Update ``rows`` in place after a send: each row's ``action`` becomes :func:`next_action` of its
    result, a result's job ID replaces the row's, and a created row loses the check's "failed in an earlier
    run" warning. ``results`` are in the order of ``rows``, one per
    row, as :meth:`BulkSubmitter.run <playment_submit.core.bulk.BulkSubmitter.run>` returns them; a
    different count raises ``ValueError`` (nothing is changed)."""
    if len(rows) != len(results):
        raise ValueError(f"{len(results)} results for {len(rows)} rows")
    for row, res in zip(rows, results, strict=True):
        row.action = next_action(res.status, row.action, retry_failed=retry_failed)
        row.job_id = res.job_id or row.job_id
        if row.action == DONE and any(p.fix == "retry_failed" for p in row.problems):
            row.problems = without_retry_warning(row.problems)


__all__ = ["RESULT_COLUMNS", "write_results", "next_action", "can_send_again",
           "apply_results", "STATUS_WORDS", "FILTERS", "status_word", "status_group", "row_matches",
           "mark_for_retry", "dry_run", "row_details", "problem_summary",
           "status_rank", "without_retry_warning"]
