"""``playment-submit status [--journal FILE | --batch ID] [--json]``: Playment's status of every journalled job
(on a sandbox: the sandbox's, and "not on this sandbox" for a job it does not know)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import EPILOG, emit, id_option, session_from_args


def add_parser(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("status", parents=[parent], help="refresh and show the status of the journal's jobs",
                       description="Ask Playment for the status of every journalled job that is not final yet "
                                   "(batch pages first, 100 jobs a request; GET job only for jobs no page listed), "
                                   "store status and time in the journal, and print counts by status and one line "
                                   "per job. A '*' marks a status that changed since the last `status`. On a "
                                   "sandbox, a job it does not know is 'not on this sandbox' (made on an earlier "
                                   "sandbox, or before a reset) and is not asked again.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--journal", metavar="FILE", help="the journal to read and update (default: the profile's)")
    g.add_argument("--batch", metavar="ID", type=id_option("batch ID"),
                   help="every job of this batch (also those made outside the tool), with the profile's journal")
    p.set_defaults(func=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    from ..status import refresh_statuses
    session = session_from_args(args, journal=args.journal)
    try:
        assert session.journal is not None
        report = refresh_statuses(session.journal, session.client, batch_id=args.batch, keep_jobs=False)
        try:  # every job's line read from where the refresh kept them, a page at a time
            for j in report.each_job():
                mark = "*" if j.changed else " "
                emit(args, j.to_dict(), f"{mark} {j.reference_id or '-'}  {j.job_id}  {j.status or 'unknown'}"
                                        + (f"  (was {j.previous})" if j.changed and j.previous else "")
                                        + (f"  [{j.error}]" if j.error else ""))
            report.mark_seen()
        finally:
            report.close()
    finally:
        session.close()
    for e in report.errors:
        print(f"warning: {e}", file=sys.stderr)
    print(report.summary() + f" ({report.requests} request(s) to {report.server}.)", file=sys.stderr)
    return 0
