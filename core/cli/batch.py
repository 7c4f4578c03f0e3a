"""``playment-submit batch create NAME``."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import PlaymentError
from .common import EPILOG, emit, session_from_args


def add_parser(sub: Any, parent: argparse.ArgumentParser) -> None:
    b = sub.add_parser("batch", help="create a batch, or list every batch of the project with its progress")
    bsub = b.add_subparsers(dest="batch_command", metavar="ACTION", required=True)
    bc = bsub.add_parser("create", parents=[parent], help="create a batch and print its ID", epilog=EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    bc.add_argument("name", metavar="NAME")
    bc.add_argument("--description", default="")
    bc.set_defaults(func=cmd_batch_create)
    bl = bsub.add_parser("list", parents=[parent], help="list every batch of the project with \"done / total\"",
                         description="List every batch of the project (made here or elsewhere) from Playment's "
                                     "project details: ID, name, completed / total jobs, status; the default "
                                     "batch is marked.", epilog=EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    bl.set_defaults(func=cmd_batch_list)


def cmd_batch_create(args: argparse.Namespace) -> int:
    session = session_from_args(args, with_journal=False)
    try:
        batch_id = session.client.create_batch(args.name, args.description or "")
    except PlaymentError as e:
        raise e.with_context(name=args.name) from None
    finally:
        session.close()
    emit(args, {"name": args.name, "batch_id": batch_id, "status": "created"},
         f"Created batch \"{args.name}\": {batch_id}")
    return 0


def cmd_batch_list(args: argparse.Namespace) -> int:
    """One line (or JSON object) per batch; the default batch is also cached in the profile."""
    session = session_from_args(args, with_journal=False)
    try:
        details = session.project_details()
    finally:
        session.close()
    if not getattr(args, "json", False):
        print(f"Project {details.name} ({details.project_id}): {len(details.batches)} batch(es)")
    for b in details.batches:
        mark = "  (default)" if b.is_default else ""
        emit(args, b.to_dict(), f"{b.batch_id}  {b.progress:>11}  {b.status or '':<12} {b.name}{mark}")
    return 0
