"""The one edge between the command line and its user: how a failure is said, and the exit status.

Subcommands raise core errors (:mod:`core.errors`) and return 0, or :data:`REFUSED` when their own outcome
(a mask check's report, a download with failed jobs) says no. :func:`run` turns every raised error, and the
few exceptions that are not ours (Ctrl-C, a full disk, memory), into:

- human lines on stderr: each problem as ``error: PATH: sentence`` (``warning: ...`` for warnings), or the
  error's sentence as ``error: ...``, then the error's closing summary when it has one;
- with ``--json``, one object on stdout, the same for every subcommand (:func:`failure_object`);
- the exit status: :data:`OK` 0; :data:`REFUSED` 1, the input or the server said no (a readable file with
  bad content, a refused job); :data:`USAGE` 2, usage or environment (a missing or unreadable path, a missing
  or contradictory option, no connection); :data:`INTERRUPTED` 130.

Nothing else in the command line prints a failure's JSON or picks its exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from ..errors import InterruptedByUser, OutOfMemoryError, PlaymentError, UsageError
from .common import json_line, print_problems

OK, REFUSED, USAGE, INTERRUPTED = 0, 1, 2, 130

FAILURE_KEYS = ("ok", "status", "error", "code", "exit_code", "message", "problems", "details")
"""The keys of :func:`failure_object`, in order (the help's epilog and the README name them)."""


def failure_object(error: PlaymentError) -> dict[str, Any]:
    """The one ``--json`` object of a command that failed: ``{"ok": false, "status": "error", "error": the
    error's kind, "code": Playment's error code or null, "exit_code", "message": the sentence, "problems":
    [{"path", "message", "severity", "code"}...], "details": {context, e.g. "existing_job_id"}}``."""
    return {"ok": False, "status": "error", "error": type(error).__name__, "code": error.code,
            "exit_code": error.exit_code, "message": error.user_message,
            "problems": [p.to_dict() for p in error.problems], "details": error.details()}


def say(error: PlaymentError) -> None:
    """The human lines of ``error`` on stderr."""
    source = getattr(error, "source", None)
    summary = getattr(error, "summary", None)
    if getattr(error, "already_said", False) and summary:
        print(summary, file=sys.stderr)
        return
    if error.problems:
        print_problems(error.problems, prefix=f"{source}: " if source else "")
    else:
        print(f"error: {error}", file=sys.stderr)
    if summary:
        print(summary, file=sys.stderr)


def report(args: argparse.Namespace, error: PlaymentError) -> int:
    """Say ``error`` (stderr; with --json also its object on stdout) and return its exit status."""
    say(error)
    if getattr(args, "json", False):
        print(json_line(failure_object(error)), flush=True)
    return error.exit_code


def as_error(exc: BaseException) -> PlaymentError | None:
    """The core error standing for an exception that is not ours; None for one to let through."""
    if isinstance(exc, PlaymentError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return InterruptedByUser()
    if isinstance(exc, MemoryError):
        return OutOfMemoryError()
    if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
        # a file the command reads or writes (a full disk, a folder that vanished ...)
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return UsageError(f"{where}{exc.strerror or type(exc).__name__}; check the path and try again.")
    return None


def run(args: argparse.Namespace, func: Callable[[argparse.Namespace], int] | None = None) -> int:
    """Run a parsed subcommand (``args.func``, or ``func``): its exit status, or its failure said and
    turned into one. Never a traceback for anything a user can cause."""
    try:
        code: int = (func or args.func)(args)
        return code
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say to it
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (stays open: replaces a closed pipe for good)
        except OSError:
            pass
        return OK
    except (PlaymentError, KeyboardInterrupt, MemoryError, OSError) as exc:
        error = as_error(exc)
        assert error is not None
        return report(args, error)
