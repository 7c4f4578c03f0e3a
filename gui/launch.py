"""The console script ``playment-submit``: the command line for a subcommand, the window otherwise.

A subcommand (``submit``, ``bulk``, ``mask ...``) runs :mod:`playment_submit.core.cli` and never imports
Qt, so it works without a display and starts quickly. Without one (or with ``--sandbox`` /
``--self-test``) the window opens; ``playment-submit JOB.json`` opens that job file in the window.
This module is the only place where the command line and the window meet; core never imports gui.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # the one answer that needs no parser (argparse's own words, without building it)
        from playment_submit.core import __version__
        print(f"playment-submit {__version__}")
        return 0
    from playment_submit.core import cli

    parser = cli.build_parser()
    job_file, argv = _job_file(parser, argv)
    if job_file is not None and not Path(job_file).is_file():
        print(f"error: \"{job_file}\" is neither a subcommand nor an existing job file (see --help).",
              file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if getattr(args, "command", None):
        return cli.run(args)
    try:  # Qt's own libraries may be missing on a bare machine: say so, not a traceback
        if args.self_test:
            from playment_submit.gui.self_test import run_self_test
            return run_self_test()
        from playment_submit.gui.app import main as gui_main
    except ImportError as e:
        print(f"error: the window cannot start: {e}. The subcommands still work (see --help); on Linux, "
              f"install Qt's system libraries (see the README).", file=sys.stderr)
        return 2
    return gui_main((["--sandbox"] if args.sandbox else []) + (["--open", job_file] if job_file else []))


def _job_file(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[str | None, list[str]]:
    """``playment-submit [--sandbox] JOB.json``: the first word that is not an option and not a
    subcommand is a job file to open in the window; returns (it or None, the other arguments)."""
    commands: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands.update(action.choices)
    for i, word in enumerate(argv):
        if word == "--":
            break
        if not word.startswith("-"):
            return (word, argv[:i] + argv[i + 1:]) if word not in commands else (None, argv)
    return None, argv


def entry() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
