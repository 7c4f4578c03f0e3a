"""``playment-submit sandbox``: a local Playment-compatible server in the foreground."""

from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..sanitise import one_line
from .common import id_option, int_option, number_option

FAULT_KINDS = (("html_500", "an HTML 500 before storing"), ("html_502", "an HTML 502 after storing"),
               ("rate_limit", "a 429 with Retry-After"), ("drop_before", "a dropped connection before storing"),
               ("drop_after", "a dropped connection after storing"))
MAX_LATENCY_MS = 600_000.0
MAX_RETRY_AFTER = 3600.0


def _host(text: str) -> str:
    from ..job import is_loopback_host
    if not is_loopback_host(text.strip()):
        raise argparse.ArgumentTypeError(f"the sandbox only listens on this machine; give a loopback address such "
                                         f"as 127.0.0.1 or ::1, not \"{one_line(text, 60)}\".")
    return text.strip()


def _key(text: str) -> str:
    if not text or len(text) > 200 or not all("!" <= c <= "~" for c in text):
        raise argparse.ArgumentTypeError("the API key must be 1 to 200 visible ASCII characters (letters, digits, "
                                         "punctuation; no spaces), as an HTTP header can carry it.")
    return text


def add_parser(sub: Any, parent: argparse.ArgumentParser) -> None:
    sb = sub.add_parser("sandbox", help="run a local Playment-compatible server",
                        description="Run a local Playment-compatible server on loopback (for trying the tool, "
                                    "demos and tests). Prints its base URL, API key, project and workflow IDs.")
    probability = number_option("a probability", 0, 1)
    sb.add_argument("--host", type=_host, default="127.0.0.1",
                    help="loopback address to listen on (default 127.0.0.1)")
    sb.add_argument("--port", type=int_option("a port number", 0, 65535), default=8765,
                    help="port, 0 to 65535 (default 8765; 0 picks a free one)")
    sb.add_argument("--api-key", type=_key, default="sandbox", help="the key clients must send (default \"sandbox\")")
    sb.add_argument("--project-id", type=id_option("project ID"), default="sandbox-project")
    sb.add_argument("--store", metavar="FILE",
                    help="keep jobs in this SQLite file instead of memory (created when missing)")
    sb.add_argument("--files-dir", metavar="FOLDER", help="serve /files/ from this folder (default: a temporary one)")
    sb.add_argument("--latency-ms", type=number_option("a number of milliseconds", 0, MAX_LATENCY_MS), default=0.0,
                    help="added latency per request, 0 or more (default 0)")
    sb.add_argument("--fault-rate", type=probability, default=0.0,
                    help="probability (0 to 1) of a fault on a job POST, split evenly over the five kinds")
    for kind, text in FAULT_KINDS:
        sb.add_argument("--" + kind.replace("_", "-"), dest=kind, type=probability, default=None,
                        help=f"probability (0 to 1) of {text}")
    sb.add_argument("--retry-after", type=number_option("a number of seconds", 0, MAX_RETRY_AFTER), default=1.0,
                    help="Retry-After seconds sent with 429s (default 1)")
    sb.add_argument("--seed", type=int_option("a whole number"), help="seed for fault injection")
    sb.add_argument("--complete-after", type=number_option("a number of seconds", 0, 86400.0), metavar="SECONDS",
                    help="jobs go 'in progress' after half of SECONDS and 'completed' (with a result derived from "
                         "the pre-label) after SECONDS; default: never (POST /_sandbox/complete completes them)")
    sb.add_argument("--verbose", action="store_true", help="log each request line")
    sb.add_argument("--json", action="store_true", help="print the connection details as one JSON object")
    sb.set_defaults(func=cmd_sandbox)


def store_problem(path: str) -> str | None:
    """Why ``--store PATH`` cannot be the sandbox's SQLite file, as a sentence; None when it can: its folder
    exists and is writable, and the file is missing (it will be created), empty, or a SQLite database that is
    not something else's (a journal, say: it must hold no tables, or the sandbox's own)."""
    import sqlite3
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        return f"--store {p} is a folder; give the name of a SQLite file (it is created when missing)."
    if not folder.is_dir():
        return f"--store {p}: the folder {folder} does not exist; create it first or choose another place."
    if not p.exists():
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"--store {p}: the folder {folder} is not writable; choose another place."
        return None
    if not os.access(p, os.R_OK | os.W_OK):
        return f"--store {p} cannot be read and written (permission denied)."
    try:
        with open(p, "rb") as fh:
            head = fh.read(16)
    except OSError as e:
        return f"--store {p} cannot be read: {e.strerror}."
    if not head:
        return None  # an empty file: SQLite makes it a database
    if head != b"SQLite format 3\x00":
        return f"--store {p} is not a SQLite database; give a new file name (it is created) or an earlier store."
    try:
        db = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
    except sqlite3.Error as e:
        return f"--store {p} is a damaged SQLite database ({one_line(e, 80)}); give a new file name."
    others = tables - {"jobs", "batches", "results", "meta", "sqlite_sequence"}
    if others:
        return (f"--store {p} holds another program's data (tables {', '.join(sorted(others)[:5])}); give a new "
                f"file name or an earlier sandbox store.")
    return None


def cmd_sandbox(args: argparse.Namespace) -> int:
    from ..sandbox import Faults, SandboxServer
    faults = (Faults.spread(args.fault_rate, args.retry_after) if args.fault_rate
              else Faults(retry_after=args.retry_after))
    for kind, _text in FAULT_KINDS:
        value = getattr(args, kind)
        if value is not None:
            setattr(faults, kind, value)
    if faults.total() > 1 + 1e-9:
        given = ", ".join(f"--{k.replace('_', '-')} {getattr(faults, k):g}" for k, _ in FAULT_KINDS
                          if getattr(faults, k))
        raise UsageError(f"The fault probabilities add up to {faults.total():g} ({given}), more than 1; lower "
                         f"them so that their sum is at most 1.")
    if args.store:
        why = store_problem(args.store)
        if why:
            raise UsageError(why)
    if args.files_dir:
        files = Path(args.files_dir)
        if files.exists() and not files.is_dir():
            raise UsageError(f"--files-dir {files} is a file, not a folder; give a folder (it is created when "
                             f"missing).")
    try:
        server = SandboxServer(host=args.host, port=args.port, api_key=args.api_key, project_id=args.project_id,
                               store=args.store or ":memory:", files_dir=args.files_dir,
                               latency_ms=args.latency_ms, faults=faults, seed=args.seed, quiet=not args.verbose,
                               complete_after=args.complete_after)
    except OSError as e:
        raise UsageError(f"The sandbox cannot listen on {args.host}:{args.port}: {e.strerror}.") from e
    except ValueError as e:
        raise UsageError(f"The sandbox cannot start: {e}.") from e
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
              + (f"  jobs complete after {args.complete_after:g} s\n" if args.complete_after is not None else "")
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
