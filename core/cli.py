"""The command line: ``playment-submit [SUBCOMMAND] ...``.

Every subcommand runs without a display and never
imports Qt. Exit status: 0 success; 1 the input or the server said no (problems printed one per line,
naming file, row or field); 2 usage or environment trouble. A user mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable

from . import __version__
from .errors import DuplicateReferenceError, PlaymentError, Problem, UsageError, ValidationError

EPILOG = """\
environment:
  PLAYMENT_API_KEY      the API key (when no keyring entry exists for the profile)
  PLAYMENT_PROJECT_ID   the project ID
  PLAYMENT_WORKFLOW_ID  the workflow ID used when a job does not name one
  PLAYMENT_BASE_URL     the API's base URL (default https://api.playment.io)
  PLAYMENT_DEFAULT_BATCH_ID  the project's default batch (lets an interrupted send be recovered)

exit status: 0 success, 1 input or server refused (one problem per line), 2 usage or environment error.
"""

# Subcommand modules that register themselves: module name -> optional (absent until built).
PLUGINS = ("playment_submit.core.cli_mask", "playment_submit.core.cli_bulk")


# ------------------------------------------------------------------ output
def emit(args: argparse.Namespace, obj: dict, human: str, *, err: bool = False) -> None:
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
    except FileNotFoundError:
        raise UsageError(f"The {what} {p} does not exist.")
    except IsADirectoryError:
        raise UsageError(f"The {what} {p} is a folder, not a file.")
    except UnicodeDecodeError as e:
        raise ValidationError([Problem(str(p), f"the {what} is not UTF-8 text (bad byte at offset {e.start}).")])
    except OSError as e:
        raise UsageError(f"The {what} {p} cannot be read: {e.strerror}.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValidationError([Problem(f"{p}:{e.lineno}:{e.colno}", f"the {what} is not valid JSON: {e.msg}.")])


# ------------------------------------------------------------------ session
def session_from_args(args: argparse.Namespace, **kw: Any) -> Any:
    """The command's :class:`core.session.Session`: options > environment > profile; warnings to stderr."""
    from .session import from_options
    return from_options(profile=getattr(args, "profile", None), base_url=getattr(args, "base_url", None),
                        project_id=getattr(args, "project_id", None), workflow_id=getattr(args, "workflow_id", None),
                        default_batch_id=getattr(args, "default_batch_id", None),
                        warn=lambda w: print(f"warning: {w}", file=sys.stderr), **kw)


# --------------------------------------------------------------- commands
def cmd_submit(args: argparse.Namespace) -> int:
    from .job import JobSpec
    from .pipeline import DUPLICATE_CODE
    payload = read_json_file(args.job)
    spec = JobSpec.from_payload(payload, source=args.job)
    session = session_from_args(args, journal=args.journal, storage_args=args if spec.local_paths() else None)
    try:
        if not spec.work_flow_id and session.workflow_id:
            spec.work_flow_id = session.workflow_id
        if args.batch_id:
            spec.batch_id = args.batch_id
        # Local paths in the job file are relative to the file's folder, not to wherever the user stands.
        spec = session.resolve(spec, Path(args.job).resolve().parent)
        verdict = session.check(spec, ask_server=True)
        print_problems(verdict.warnings, prefix=f"{args.job}: ")
        errors = [p for p in verdict.errors if p.code != DUPLICATE_CODE or p.path != "reference_id"]
        if errors:  # a reference ID already created alone is the server-style refusal below (FS_0001, its job)
            print_problems(verdict.errors, prefix=f"{args.job}: ")
            n = len(verdict.errors)
            emit(args, {"reference_id": spec.reference_id, "job_id": None, "status": "invalid",
                        "problems": [p.to_dict() for p in verdict.errors]},
                 f"Not submitted: {n} problem{'s' if n != 1 else ''} in {args.job}.", err=True)
            return 1
        created = session.submit(spec)
    except ValidationError:
        raise
    except DuplicateReferenceError as e:  # the journal's refusal: said as the window and `bulk` say it
        emit(args, {"reference_id": spec.reference_id, "job_id": e.existing_job_id, "status": "failed",
                    "code": e.code, "message": str(e)}, f"error: {args.job}: reference_id: {e}", err=True)
        return e.exit_code
    except PlaymentError as e:
        emit(args, {"reference_id": spec.reference_id, "job_id": getattr(e, "existing_job_id", None),
                    "status": "failed", "code": e.code, "message": str(e)}, f"error: {e}", err=True)
        return e.exit_code
    finally:
        session.close()
    verb = "Recovered" if created.recovered else "Created"
    emit(args, created.to_dict(), f"{verb} job {created.job_id} for reference ID \"{created.reference_id}\".")
    return 0


def cmd_batch_create(args: argparse.Namespace) -> int:
    session = session_from_args(args, with_journal=False)
    try:
        batch_id = session.client.create_batch(args.name, args.description or "")
    except PlaymentError as e:
        emit(args, {"name": args.name, "batch_id": None, "status": "failed", "code": e.code, "message": str(e)},
             f"error: {e}", err=True)
        return e.exit_code
    finally:
        session.close()
    emit(args, {"name": args.name, "batch_id": batch_id, "status": "created"},
         f"Created batch \"{args.name}\": {batch_id}")
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Faults, SandboxServer
    faults = Faults.spread(args.fault_rate, args.retry_after) if args.fault_rate else Faults(retry_after=args.retry_after)
    for kind in ("html_500", "html_502", "rate_limit", "drop_before", "drop_after"):
        value = getattr(args, kind)
        if value is not None:
            setattr(faults, kind, value)
    if faults.total() > 1:
        raise UsageError("The fault probabilities add up to more than 1.")
    try:
        server = SandboxServer(host=args.host, port=args.port, api_key=args.api_key, project_id=args.project_id,
                               store=args.store or ":memory:", files_dir=args.files_dir,
                               latency_ms=args.latency_ms, faults=faults, seed=args.seed, quiet=not args.verbose)
    except OSError as e:
        raise UsageError(f"The sandbox cannot listen on {args.host}:{args.port}: {e.strerror}.")
    except ValueError as e:
        raise UsageError(f"The sandbox cannot start: {e}.")
    info = {"base_url": server.base_url, "api_key": server.api_key, "project_id": server.project_id,
            "workflow_id": server.workflow_id, "default_batch_id": server.default_batch_id,
            "files_dir": str(server.files_dir)}
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        print(f"Playment sandbox listening on {server.base_url} (Ctrl-C stops it)\n"
              f"  project ID        {server.project_id}\n  workflow ID       {server.workflow_id}\n"
              f"  default batch ID  {server.default_batch_id}\n  API key           {server.api_key}\n"
              f"  files served from {server.files_dir}\n"
              + (f"  faults            {faults}\n" if faults.total() else "")
              + (f"  latency           {args.latency_ms:g} ms\n" if args.latency_ms else "")
              + "Point the tool at it from another terminal:\n"
              f"  {server.export_line()}", flush=True)
    try:
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


# ------------------------------------------------------------------ parser
class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one sentence (its default), and keeps our epilog formatting."""

    def __init__(self, *a, **kw):
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


def build_parser() -> argparse.ArgumentParser:
    parent = common_parent()
    parser = _Parser(prog="playment-submit", epilog=EPILOG,
                     description="Create Playment labelling jobs. Without a subcommand, opens the window.")
    parser.add_argument("--version", action="version", version=f"playment-submit {__version__}")
    parser.add_argument("--sandbox", action="store_true", help="open the window against a fresh local sandbox")
    parser.add_argument("--self-test", action="store_true",
                        help="run the sample job end to end offscreen against the sandbox and exit")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")

    s = sub.add_parser("submit", parents=[parent], help="submit one job from a JSON payload file",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Submit one job. JOB.json is the API payload exactly as documented "
                                   "(work_flow_id may be left out when --workflow-id or PLAYMENT_WORKFLOW_ID "
                                   "gives it). Local file paths may stand wherever a URL goes (relative to "
                                   "JOB.json's folder); they are uploaded first (see --upload-to). Prints the "
                                   "job ID; with --json, "
                                   "{\"reference_id\", \"job_id\", \"status\": \"created\" | \"recovered\"}.",
                       epilog=EPILOG)
    s.add_argument("job", metavar="JOB.json")
    s.add_argument("--batch-id", help="put the job in this batch (overrides the file's batch_id)")
    s.add_argument("--default-batch-id", help="the batch where jobs without batch_id land; lets the tool "
                                              "recover a job whose creation was interrupted")
    s.add_argument("--journal", metavar="FILE", help="the submission journal (default: the profile's, in the "
                                                    "user data folder); makes a re-submit after a crash safe, and "
                                                    "refuses a reference ID it holds as created without a request")
    from .storage import add_storage_arguments
    add_storage_arguments(s)
    s.set_defaults(func=cmd_submit)

    b = sub.add_parser("batch", help="batches")
    bsub = b.add_subparsers(dest="batch_command", metavar="ACTION", required=True)
    bc = bsub.add_parser("create", parents=[parent], help="create a batch and print its ID")
    bc.add_argument("name", metavar="NAME")
    bc.add_argument("--description", default="")
    bc.set_defaults(func=cmd_batch_create)

    sb = sub.add_parser("sandbox", help="run a local Playment-compatible server",
                        description="Run a local Playment-compatible server on loopback (for trying the tool, "
                                    "demos and tests). Prints its base URL, API key, project and workflow IDs.")
    sb.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    sb.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    sb.add_argument("--api-key", default="sandbox", help="the key clients must send (default \"sandbox\")")
    sb.add_argument("--project-id", default="sandbox-project")
    sb.add_argument("--store", help="keep jobs in this SQLite file instead of memory")
    sb.add_argument("--files-dir", help="serve /files/ from this folder (default: a temporary one)")
    sb.add_argument("--latency-ms", type=float, default=0.0, help="added latency per request")
    sb.add_argument("--fault-rate", type=float, default=0.0,
                    help="probability of a fault on a job POST, split evenly over the five kinds")
    for kind, text in (("html_500", "an HTML 500 before storing"), ("html_502", "an HTML 502 after storing"),
                       ("rate_limit", "a 429 with Retry-After"), ("drop_before", "a dropped connection before storing"),
                       ("drop_after", "a dropped connection after storing")):
        sb.add_argument("--" + kind.replace("_", "-"), dest=kind, type=float, default=None,
                        help=f"probability of {text}")
    sb.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429s")
    sb.add_argument("--seed", type=int, help="seed for fault injection")
    sb.add_argument("--verbose", action="store_true", help="log each request line")
    sb.add_argument("--json", action="store_true", help="print the connection details as one JSON object")
    sb.set_defaults(func=cmd_sandbox)

    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
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


def run(args: argparse.Namespace) -> int:
    """Run a parsed subcommand; the exception tree becomes a message and an exit status, never a traceback."""
    try:
        return args.func(args)
    except ValidationError as e:
        print_problems(e.problems)
        if not e.problems:
            print(f"error: {e}", file=sys.stderr)
        return 1
    except PlaymentError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


def entry() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
