"""The command line: ``playment-submit [SUBCOMMAND] ...``.

Every subcommand runs without a display and never
imports Qt. Exit status: 0 success; 1 the input or the server said no (problems printed one per line,
naming file, row or field); 2 usage or environment trouble. A user mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..errors import PlaymentError, Problem, ValidationError
from . import batch, bulk, mask, results, sandbox, status, submit
from .common import EPILOG, _Parser, common_parent, json_line, print_problems

SUBCOMMANDS = (submit, batch, sandbox, mask, bulk, status, results)  # each adds its parser; heavy imports lazy


def build_parser() -> argparse.ArgumentParser:
    parent = common_parent()
    parser = _Parser(prog="playment-submit", epilog=EPILOG,
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
        print("error: give a subcommand (see --help); the window opens with `playment-submit` alone.",
              file=sys.stderr)
        return 2
    return run(args)


def _fail(args: argparse.Namespace, exit_code: int, message: str, *, code: str | None = None,
          problems: list[Problem] | None = None) -> int:
    """An early failure: its sentences on stderr and, with --json, one JSON object on stdout."""
    if getattr(args, "json", False):
        print(json_line({"status": "error", "code": code, "exit_code": exit_code, "message": message,
                         "problems": [p.to_dict() for p in problems or []]}), flush=True)
    return exit_code


def run(args: argparse.Namespace) -> int:
    """Run a parsed subcommand; the exception tree becomes a message and an exit status, never a traceback.
    With --json, a failure that stops the command also gives one JSON object on stdout:
    ``{"status": "error", "code", "exit_code", "message", "problems": [...]}``."""
    try:
        code: int = args.func(args)
        return code
    except ValidationError as e:
        print_problems(e.problems)
        if not e.problems:
            print(f"error: {e}", file=sys.stderr)
        return _fail(args, 1, str(e), code=e.code, problems=e.problems)
    except PlaymentError as e:
        print(f"error: {e}", file=sys.stderr)
        return _fail(args, e.exit_code, str(e), code=e.code)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return _fail(args, 130, "Interrupted.", code="interrupted")
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (stays open: replaces a closed pipe for good)
        except OSError:
            pass
        return 0
    except MemoryError:
        message = "There is not enough memory for this input; split it into smaller files."
        print(f"error: {message}", file=sys.stderr)
        return _fail(args, 1, message)
    except OSError as e:  # a file the command reads or writes (a full disk, a folder that vanished ...)
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        message = f"{where}{e.strerror or type(e).__name__}; check the path and try again."
        print(f"error: {message}", file=sys.stderr)
        return _fail(args, 2, message)
