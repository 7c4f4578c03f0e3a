"""The command line: ``playment-submit [SUBCOMMAND] ...``.

Every subcommand runs without a display and never
imports Qt. Exit status (picked in one place, :mod:`.edge`): 0 success; 1 the input or the server said no (problems
printed one per line, naming file, row or field); 2 usage or environment trouble; 130 interrupted. A user
mistake never prints a traceback.
"""

from __future__ import annotations

import argparse

from .. import __version__
from ..errors import UsageError
from . import batch, bulk, edge, mask, results, sandbox, shapes, status, submit
from .common import EPILOG, Parser, common_parent

SUBCOMMANDS = (submit, batch, sandbox, mask, shapes, bulk, status, results)  # each adds its parser; heavy imports lazy


def build_parser() -> argparse.ArgumentParser:
    parent = common_parent()
    parser = Parser(prog="playment-submit", epilog=EPILOG,
                     description="Create Playment labelling jobs. Without a subcommand, opens the window;\n"
                                 "`playment-submit JOB.json` opens that job file in it.")
    parser.add_argument("--version", action="version", version=f"playment-submit {__version__}")
    parser.add_argument("--sandbox", action="store_true", help="open the window against a fresh local sandbox")
    parser.add_argument("--self-test", action="store_true",
                        help="run the sample job end to end offscreen against the sandbox and exit")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(sub, parent)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command line alone (``python -m playment_submit.core.cli``); the console script is
    :mod:`playment_submit.gui.launch`, which opens the window when no subcommand is given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        return edge.run(args, _no_subcommand)
    return run(args)


def _no_subcommand(args: argparse.Namespace) -> int:
    raise UsageError("give a subcommand (see --help); the window opens with `playment-submit` alone.")


def run(args: argparse.Namespace) -> int:
    """Run a parsed subcommand through the command line's one edge (:mod:`.edge`): a raised error becomes its
    sentences on stderr, with --json one object on stdout (``{"ok": false, "status": "error", "error", "code",
    "exit_code", "message", "problems": [...], "details": {...}}``), and its exit status; never a traceback."""
    return edge.run(args)
