"""The console script ``playment-submit``: the command line for a subcommand, the window otherwise.

A subcommand (``submit``, ``bulk``, ``mask ...``) runs :mod:`playment_submit.core.cli` and never imports
Qt, so it works without a display and starts quickly. Without one (or with ``--sandbox`` /
``--self-test``) the window opens. This module is the only place where the command line and the window
meet; core never imports gui.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from playment_submit.core import cli

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = cli.build_parser()
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
    return gui_main(["--sandbox"] if args.sandbox else [])


def entry() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
