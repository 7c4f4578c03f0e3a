"""``playment-submit sandbox``: a local Playment-compatible server in the foreground."""

from __future__ import annotations

import argparse
import json
import signal
from typing import Any

from ..errors import UsageError


def add_parser(sub: Any, parent: argparse.ArgumentParser) -> None:
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



def cmd_sandbox(args: argparse.Namespace) -> int:
    from ..sandbox import Faults, SandboxServer
    faults = (Faults.spread(args.fault_rate, args.retry_after) if args.fault_rate
              else Faults(retry_after=args.retry_after))
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
