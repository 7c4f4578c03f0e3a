"""What every subcommand shares: output, problems, reading a JSON file, the session, common options."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Problem, UsageError, ValidationError

if TYPE_CHECKING:
    from ..session import Session

EPILOG = """\
environment:
  PLAYMENT_API_KEY      the API key (when no keyring entry exists for the profile)
  PLAYMENT_PROJECT_ID   the project ID
  PLAYMENT_WORKFLOW_ID  the workflow ID used when a job does not name one
  PLAYMENT_BASE_URL     the API's base URL (default https://api.playment.io)
  PLAYMENT_DEFAULT_BATCH_ID  the project's default batch (lets an interrupted send be recovered)

exit status: 0 success, 1 input or server refused (one problem per line), 2 usage or environment error.
"""


# ------------------------------------------------------------------ output
def emit(args: argparse.Namespace, obj: dict[str, Any], human: str, *, err: bool = False) -> None:
    """One result: a JSON object on stdout with --json, else a human line (stderr for failures)."""
    if getattr(args, "json", False):
        print(json.dumps(obj, ensure_ascii=False), flush=True)
        if err:
            print(human, file=sys.stderr)
    else:
        print(human, file=sys.stderr if err else sys.stdout, flush=True)


def print_problems(problems: list[Problem], prefix: str = "") -> None:
    for p in problems:
        tag = "warning: " if p.severity == "warning" else "error: "
        print(f"{tag}{prefix}{p}", file=sys.stderr)


def read_json_file(path: str, what: str = "job file") -> Any:
    """Parse a JSON file; an unreadable file is a usage error (2), bad JSON a rejected input (1)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise UsageError(f"The {what} {p} does not exist.") from e
    except IsADirectoryError as e:
        raise UsageError(f"The {what} {p} is a folder, not a file.") from e
    except UnicodeDecodeError as e:
        raise ValidationError([Problem(str(p), f"the {what} is not UTF-8 text (bad byte at offset {e.start}).")]) from e
    except OSError as e:
        raise UsageError(f"The {what} {p} cannot be read: {e.strerror}.") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValidationError([Problem(f"{p}:{e.lineno}:{e.colno}", f"the {what} is not valid JSON: {e.msg}.")]) from e


# ------------------------------------------------------------------ session
def session_from_args(args: argparse.Namespace, **kw: Any) -> Session:
    """The command's :class:`core.session.Session`: options > environment > profile; warnings to stderr."""
    from ..session import from_options
    return from_options(profile=getattr(args, "profile", None), base_url=getattr(args, "base_url", None),
                        project_id=getattr(args, "project_id", None), workflow_id=getattr(args, "workflow_id", None),
                        default_batch_id=getattr(args, "default_batch_id", None),
                        warn=lambda w: print(f"warning: {w}", file=sys.stderr), **kw)


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one sentence (its default), and keeps our epilog formatting."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        kw.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*a, **kw)


def common_parent() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection and output")
    g.add_argument("--base-url", help="API base URL (env PLAYMENT_BASE_URL; default https://api.playment.io)")
    g.add_argument("--project-id", help="project ID (env PLAYMENT_PROJECT_ID)")
    g.add_argument("--workflow-id", help="workflow ID for jobs that do not name one (env PLAYMENT_WORKFLOW_ID)")
    g.add_argument("--profile", help="a saved profile (made in the app); default: the current one")
    g.add_argument("--json", action="store_true", help="print one JSON object per result on stdout")
    return p
