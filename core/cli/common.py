"""What every subcommand shares: output, problems, reading a JSON file, the session, common options."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..defaults import DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT, MAX_TIMEOUT, give_up_after
from ..errors import Problem, UsageError
from ..sanitise import one_line, url_for_display

# Building the parser must not import the client (requests) or the job model: every command, --help and
# --version included, builds it. What an option needs from them is imported when a value is parsed.

if TYPE_CHECKING:
    from ..session import Session

JOB_BUDGET_TEXT = (f"a job gives up after at most {DEFAULT_MAX_ATTEMPTS} attempts of --timeout, the waits between "
                   f"them and one more --timeout to look up an unknown outcome "
                   f"({give_up_after(DEFAULT_TIMEOUT):g} s by default)")
TIMEOUT_HELP = (f"seconds one request may take, connect to last byte (default {DEFAULT_TIMEOUT:g}, at most "
                f"{MAX_TIMEOUT:g}); {JOB_BUDGET_TEXT}")

EPILOG = f"""\
environment:
  PLAYMENT_API_KEY      the API key (when no keyring entry exists for the profile)
  PLAYMENT_PROJECT_ID   the project ID
  PLAYMENT_WORKFLOW_ID  the workflow ID used when a job does not name one
  PLAYMENT_BASE_URL     the API's base URL (default https://api.playment.io)
  PLAYMENT_DEFAULT_BATCH_ID  the project's default batch (lets an interrupted send be recovered)
  PLAYMENT_MAX_MEGAPIXELS  the largest primary or camera image checked and sent (default 100)

time limits: one request takes at most --timeout seconds (default {DEFAULT_TIMEOUT:g}); {JOB_BUDGET_TEXT}.

exit status: 0 success; 1 the input or the server said no (a file with bad content, a refused job; one
problem per line); 2 usage or environment error (a missing or unreadable path, a missing or contradictory
option, no connection); 130 interrupted. With --json, every outcome is one JSON object on stdout, failures
included: {{"ok": false, "status": "error", "error", "code", "exit_code", "message", "problems",
"details"}}; only mistakes in the options themselves (argparse's "usage:" lines) are on stderr alone.
"""


# ------------------------------------------------------------------ output
_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_line(obj: Any) -> str:
    """``obj`` as one line of JSON (UTF-8 text kept readable): the characters that JSON leaves raw but that
    line-splitting readers take for a line break (NEL, U+2028, U+2029) are escaped, so one object stays one line."""
    text = json.dumps(obj, ensure_ascii=False)
    for raw, escaped in _LINE_BREAKS.items():
        text = text.replace(raw, escaped)
    # a lone surrogate (a file name's undecodable byte) cannot be written as UTF-8: escaped as JSON escapes it,
    # so a reader gets the same string and the line is written, not a traceback
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def emit(args: argparse.Namespace, obj: dict[str, Any], human: str, *, err: bool = False) -> None:
    """One result: a JSON object on stdout with --json, else a human line (stderr for failures)."""
    if getattr(args, "json", False):
        print(json_line(obj), flush=True)
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
    from ..jsonio import read_json_file as read
    return read(path, what)


# ------------------------------------------------------------------ session
def session_from_args(args: argparse.Namespace, **kw: Any) -> Session:
    """The command's :class:`core.session.Session`: options > environment > profile; warnings to stderr."""
    from ..session import from_options
    kw.setdefault("timeout", getattr(args, "timeout", None) or DEFAULT_TIMEOUT)
    session = from_options(profile=getattr(args, "profile", None), base_url=getattr(args, "base_url", None),
                           project_id=getattr(args, "project_id", None), workflow_id=getattr(args, "workflow_id", None),
                           default_batch_id=getattr(args, "default_batch_id", None),
                           warn=lambda w: print(f"warning: {w}", file=sys.stderr), **kw)
    if kw.get("need_key", True):
        # The client checks the base URL (from the environment or the profile too), the project ID and the
        # timeout; built now, before the command reads or writes anything else, not at its first request.
        try:
            session.client  # noqa: B018 (the property builds the client)
        except BaseException:
            session.close()
            raise
    return session


class Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one sentence (its default), and keeps our epilog formatting."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        kw.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*a, **kw)


def common_parent() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection and output")
    g.add_argument("--base-url", type=base_url_option,
                   help="API base URL (env PLAYMENT_BASE_URL; default https://api.playment.io)")
    g.add_argument("--project-id", type=id_option("project ID"), help="project ID (env PLAYMENT_PROJECT_ID)")
    g.add_argument("--workflow-id", type=uuid_option("workflow ID"),
                   help="workflow ID for jobs that do not name one (env PLAYMENT_WORKFLOW_ID)")
    g.add_argument("--profile", help="a saved profile (made in the app); default: the current one")
    g.add_argument("--timeout", type=number_option("a number of seconds", 0, MAX_TIMEOUT, low_open=True),
                   default=DEFAULT_TIMEOUT, metavar="SECONDS", help=TIMEOUT_HELP)
    g.add_argument("--json", action="store_true",
                   help="print one JSON object per result on stdout (failures too; option mistakes only on stderr)")
    return p


# ------------------------------------------------------------------ option values
# argparse ``type=`` functions: a bad value is refused while parsing, before any request or file write, with
# argparse's "argument --name: " followed by our sentence, and exit status 2.
def _shown(text: str, limit: int = 60) -> str:
    return "\"" + one_line(url_for_display(text), limit) + "\""


def number_option(what: str, low: float | None = None, high: float | None = None, *, low_open: bool = False,
                  integer: bool = False) -> Callable[[str], float]:
    """A finite number in [low, high] (``low_open``: greater than ``low``); ``integer``: a whole number."""
    if low is None:
        rng = f"at most {high:g}" if high is not None else ""
    elif high is None:
        rng = f"greater than {low:g}" if low_open else f"{low:g} or more"
    elif low_open:
        rng = f"greater than {low:g} and at most {high:g}"
    else:
        rng = f"from {low:g} to {high:g}"

    def parse(text: str) -> float:
        why = f"must be {what} {rng}".rstrip() + f", not {_shown(text)}"
        try:
            value = float(text) if not integer else int(text.strip(), 10)
        except (ValueError, TypeError):
            raise argparse.ArgumentTypeError(why + ".") from None
        if not math.isfinite(value) or (low is not None and (value <= low if low_open else value < low)) \
                or (high is not None and value > high):
            raise argparse.ArgumentTypeError(why + ".")
        return value

    parse.__name__ = "number"
    return parse


def int_option(what: str, low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """A whole number in [low, high]."""
    inner = number_option(what, low, high, integer=True)

    def parse(text: str) -> int:
        return int(inner(text))

    parse.__name__ = "integer"
    return parse


def base_url_option(text: str) -> str:
    """``--base-url``: through :func:`core.client.check_base_url` (the sentence never repeats a password)."""
    from ..client import check_base_url
    try:
        check_base_url(text.strip())
    except UsageError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text.strip().rstrip("/")


def uuid_option(what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        from ..job import is_uuid
        if not is_uuid(text.strip()):
            raise argparse.ArgumentTypeError(f"the {what} {_shown(text)} is not a UUID (like "
                                             f"2aae1234-acac-1234-eeff-12a22a237bbc); copy it from Playment.")
        return text.strip()

    parse.__name__ = "uuid"
    return parse


def id_option(what: str) -> Callable[[str], str]:
    """An ID that goes into a URL path: not blank, no spaces, slashes, ``?``, ``#``, ``%`` or control characters."""
    def parse(text: str) -> str:
        value = text.strip()
        bad = next((c for c in value if c in "/\\?#%" or c.isspace() or not c.isprintable()), None)
        if not value or bad is not None:
            why = "is empty" if not value else f"holds {bad!r}, which no ID contains"
            raise argparse.ArgumentTypeError(f"the {what} {_shown(text)} {why}; copy the ID from the project's "
                                             f"page in Playment.")
        return value

    parse.__name__ = "id"
    return parse


# ------------------------------------------------------------------ outputs and inputs
def same_file(a: str | Path, b: str | Path) -> bool:
    """The same file: by inode when both exist (symbolic and hard links included), else by resolved path."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    try:
        return pa.resolve() == pb.resolve()
    except (OSError, RuntimeError):
        return False


def output_problem(path: str | Path, option: str, inputs: Sequence[tuple[str, str | Path | None]] = (), *,
                   folder_made: bool = False) -> str | None:
    """Why ``path`` (given with ``option``) cannot be written, as a sentence; None when it can. Checked before
    anything is sent or written: it must not be one of ``inputs`` ((what, path) pairs, None skipped), and its
    folder must exist and be writable (``folder_made``: the writer creates a missing folder itself)."""
    out = Path(path)
    for what, other in inputs:
        if other is not None and str(other) != "" and same_file(out, other):
            return (f"{option} {out} is the {what} ({other}); the tool never overwrites its inputs, so choose "
                    f"another file.")
    if out.is_dir():
        return f"{option} {out} is a folder; give the name of a file to write."
    folder = out.parent if str(out.parent) else Path(".")
    if folder_made and not folder.exists():
        return None
    if not folder.is_dir():
        return f"{option} {out}: the folder {folder} does not exist; create it first or choose another place."
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{option} {out}: the folder {folder} is not writable; choose another place."
    if out.exists() and not os.access(out, os.W_OK):
        return f"{option} {out} exists and cannot be overwritten (permission denied); choose another file."
    return None


def check_output(path: str | Path | None, option: str, inputs: Sequence[tuple[str, str | Path | None]] = (), *,
                 folder_made: bool = False) -> None:
    """:func:`output_problem` as a UsageError (exit status 2)."""
    if path is None:
        return
    why = output_problem(path, option, inputs, folder_made=folder_made)
    if why:
        raise UsageError(why)
