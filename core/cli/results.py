"""``playment-submit results [--journal FILE | --batch ID] -o DIR [--json]``: download, convert, review."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..defaults import DEFAULT_MAX_PIXELS
from ..errors import UsageError
from .common import EPILOG, emit, id_option, number_option, session_from_args
from .mask import MAX_MEGAPIXELS


def add_parser(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("results", parents=[parent], help="download completed jobs' results and review pre-labels",
                       description="Refresh statuses, then download each completed job's result through "
                                   "/v1/attachments (the key never goes to the storage host) into DIR/<reference "
                                   "id>-<job id>/: delivered.png, legend.json, classes.png (class indices, 0 "
                                   "unlabelled) and classes.txt, plus prelabel.png when the job had one. Writes "
                                   "DIR/review.csv and DIR/review.html (per class IoU, pixels added and removed, "
                                   "renamed and introduced classes). Re-runs fetch only what is new.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--journal", metavar="FILE", help="the journal of the jobs (default: the profile's)")
    g.add_argument("--batch", metavar="ID", type=id_option("batch ID"), help="only the jobs of this batch")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="folder to write into (created)")
    p.add_argument("--max-megapixels", metavar="N", default=DEFAULT_MAX_PIXELS / 1e6,
                   type=number_option("a number of megapixels", 0, MAX_MEGAPIXELS, low_open=True),
                   help="refuse a delivered or pre-label mask larger than this, from its PNG header before "
                        "decoding; that job writes nothing and is not recorded as fetched (default: %(default)g)")
    p.set_defaults(func=cmd_results)


def cmd_results(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..delivered import JobDownload, download_results
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {out} is a file; give a folder (it is created when missing).")
    session = session_from_args(args, journal=args.journal)

    def said(j: JobDownload) -> None:  # each job's line as it is done, in order: no job is kept for the end
        share = f"  {j.review.changed_share:.1%} changed" if j.review is not None else ""
        human = f"{j.reference_id or '-'}  {j.job_id}  {j.status}{share}" + (f"  {j.message}" if j.message else "")
        emit(args, j.to_dict(), human, err=j.status == "failed")

    try:
        assert session.journal is not None
        report = download_results(session.journal, session.client, out, batch_id=args.batch,
                                  max_pixels=int(args.max_megapixels * 1e6), keep_jobs=False, on_job=said)
    finally:
        session.close()
    failed = report.counts().get("failed", 0)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items())) or "no completed jobs"
    print(f"Results in {out}: {counts}." + (f" Review: {report.review_html}" if report.review_html else ""),
          file=sys.stderr)
    return 1 if failed else 0
