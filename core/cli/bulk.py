"""``playment-submit bulk MANIFEST``: check a manifest, then send its rows concurrently, exactly once.

Registered by core/cli.py through :func:`add_parser`. Exit status: 0 every row created (or created in an
earlier run); 1 rows with errors (nothing sent unless --valid-only), rows refused by the server, changed or
left failed; 2 usage or environment trouble; 130 stopped by Ctrl-C (in-flight jobs finished and journalled;
run the same command again to continue).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .common import int_option, json_line, number_option, uuid_option

if TYPE_CHECKING:
    from ..bulk import BulkProgress

DESCRIPTION = """\
Create many jobs from a manifest: a CSV file, a JSONL file (one API payload per line) or a folder.

CSV columns (header row required): reference_id, image, references (label=url pairs separated by |),
mask, legend (a legend JSON file or inline JSON), batch_id, work_flow_id, priority_weight. Local paths
are allowed wherever a URL goes (relative to the manifest's folder) when storage is configured.

Folder mode: images/ holds the primary images; every other sub-folder holding files of the same name is
a reference camera named after the folder; masks/ holds masks with the same stem; legend.json the legend.

Every row is checked first (job rules, masks, duplicate reference IDs); nothing is sent while a row has
an error, unless --valid-only. Each row is journalled before and after its request, so a re-run of the
same command resumes: created rows are skipped without a request, interrupted ones are reconciled,
failed ones are retried only with --retry-failed.
"""

EPILOG = """\
journal: by default MANIFEST.journal.sqlite next to the manifest (for a folder, FOLDER.journal.sqlite
next to it); keep it to resume, and use the same one for every run of the same jobs.

exit status: 0 all rows created, 1 rows with errors or refused, 2 usage or environment error,
130 stopped by Ctrl-C (run the same command again to continue).

--json: one JSON line per row on stdout; a failure that stops the command before its rows (a missing
manifest, an output that would overwrite an input, a refused connection) is one line
{"status": "error", "code", "exit_code", "message", "problems"}. Only mistakes in the options
themselves (argparse's "usage:" lines) are printed on stderr alone.
"""


MAX_CONCURRENCY = 256
MIN_RATE, MAX_RATE = 0.001, 10_000.0


def add_parser(subparsers: Any, common_parent: argparse.ArgumentParser | None) -> None:
    parents = [common_parent] if common_parent is not None else []
    p = subparsers.add_parser("bulk", parents=parents, help="create many jobs from a CSV/JSONL manifest or a folder",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("manifest", metavar="MANIFEST", help="a .csv or .jsonl manifest, or a folder")
    p.add_argument("--concurrency", type=int_option("a whole number of requests", 1, MAX_CONCURRENCY), default=8,
                   metavar="N", help=f"requests in flight, 1 to {MAX_CONCURRENCY} (default 8)")
    p.add_argument("--journal", metavar="FILE", help="the journal (default: MANIFEST.journal.sqlite)")
    p.add_argument("--rate", type=number_option("a number of jobs per second", MIN_RATE, MAX_RATE), metavar="R",
                   help=f"at most R jobs per second, {MIN_RATE:g} to {MAX_RATE:g} (default: no limit)")
    p.add_argument("--dry-run", action="store_true", help="check everything and say what would be sent; send nothing")
    p.add_argument("--valid-only", action="store_true", help="send the valid rows even if others have errors")
    p.add_argument("--retry-failed", action="store_true", help="send again rows that failed in an earlier run")
    p.add_argument("--results", metavar="OUT.csv",
                   help="write reference_id, job_id, status, error code, message for every row")
    p.add_argument("--batch-id", type=uuid_option("batch ID"), help="batch for rows that do not name one")
    p.add_argument("--default-batch-id", type=uuid_option("default batch ID"),
                   help="the batch where jobs without batch_id land (lets the tool recover jobs whose creation "
                        "was interrupted)")
    p.add_argument("--no-mask-check", action="store_true", help="do not check local masks before sending")
    g = p.add_argument_group("folder mode")
    g.add_argument("--primary-dir", metavar="NAME", help="the primary images' sub-folder (default images)")
    g.add_argument("--masks-dir", metavar="NAME", default="masks", help="the masks' sub-folder (default masks)")
    g.add_argument("--write-manifest", metavar="OUT.csv", help="write the manifest built from the folder (for review)")
    from ..storage_args import add_storage_arguments
    add_storage_arguments(p)
    p.set_defaults(func=run_bulk)


def default_journal_for(manifest: str | Path) -> Path:
    """``<manifest>.journal.sqlite`` next to the manifest (or next to the folder)."""
    m = Path(manifest).resolve()
    return m.with_name(m.name + ".journal.sqlite")


def _clock(seconds: float) -> str:
    """Seconds as HH:MM:SS, as the terminal's bars say the time left."""
    return time.strftime("%H:%M:%S", time.gmtime(seconds))


class _Bar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._lock = threading.Lock()
        self._last = ""
        self._t0 = 0.0  # when the check's first progress came

    def draw(self, p: BulkProgress) -> None:
        if not self.enabled:
            return
        width = 30
        finished = p.done + p.failed
        filled = int(width * finished / p.total) if p.total else width
        eta = "--" if p.eta is None else _clock(p.eta)
        line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {finished}/{p.total} "
                f"ok {p.done} failed {p.failed} {p.rate:5.1f} jobs/s ETA {eta}"
                + (" (stopping)" if p.cancelled else " (paused)" if p.paused else ""))
        with self._lock:
            if line != self._last:
                sys.stderr.write(line)
                sys.stderr.flush()
                self._last = line

    def checking(self, rows: int, about: int) -> None:
        """The check's line: rows checked, of about how many (told from the bytes read), and the time left."""
        if not self.enabled:
            return
        from ..bulk_run import time_left  # imported here: building the parser imports no bulk engine
        now = time.monotonic()
        self._t0 = self._t0 or now
        line = f"\rChecking: {rows:,} rows"
        left = time_left(now - self._t0, rows, about) if about > rows else None
        if left is not None:
            line += f" of about {about:,}, ETA {_clock(left)}"
        with self._lock:
            sys.stderr.write(line.ljust(len(self._last)))
            sys.stderr.flush()
            self._last = line

    def end(self) -> None:
        """End the line drawn, if any (the next line starts a new one)."""
        with self._lock:
            if self.enabled and self._last:
                sys.stderr.write("\n")
                sys.stderr.flush()
            self._last = ""


def _refuse_outputs_over_rows(source: str, rows: list[Any], outputs: list[tuple[str, str | None]]) -> None:
    """A results or manifest file that is one of the rows' own files (an image, a mask, a legend) would be
    overwritten: refused before anything is sent or written (checked a chunk of rows at a time)."""
    from ..storage import local_file
    from .common import same_file
    given = [(opt, out) for opt, out in outputs if out]
    if not given:
        return
    files: dict[str, int] = {}
    for r in rows:
        for v in ([r.legend_source] if r.legend_source else []) + (r.spec.local_paths() if r.spec else []):
            files.setdefault(str(local_file(v)), r.row)
    for opt, out in given:
        for path, row in files.items():
            if same_file(out, path):
                raise UsageError(f"{opt} {out} is a file that row {row} of {source} reads ({path}); "
                                 f"the tool never overwrites its inputs, so choose another file.")


def run_bulk(args: argparse.Namespace) -> int:
    """The command line's front end of core.bulk_run.BulkRun: the same steps as the window's Bulk tab, with
    the terminal's progress bar, Ctrl-C and --json lines; failures go to the command line's one edge."""
    from ..bulk import RowResult
    from ..bulk_rows import write_results
    from ..bulk_run import BulkOptions
    from ..bulk_stream import StreamedRun
    from ..errors import InterruptedByUser, StoppedError, ValidationError
    from ..journal import Journal
    from ..manifest import ManifestWriter, problem_sentences
    from .common import check_output, session_from_args
    from .edge import OK, REFUSED

    if not 1 <= args.concurrency <= MAX_CONCURRENCY:  # argparse checked it; a caller building args may not have
        raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}.")
    if args.rate is not None and not MIN_RATE <= args.rate <= MAX_RATE:
        raise UsageError(f"--rate must be a number of jobs per second from {MIN_RATE:g} to {MAX_RATE:g}.")
    as_json = getattr(args, "json", False)
    out_lock = threading.Lock()

    journal_path = Path(args.journal) if args.journal else default_journal_for(args.manifest)
    # Every output is checked before the manifest is read or anything is sent: none may be an input (or
    # another output), and each folder must exist and be writable.
    manifest_input = None if Path(args.manifest).is_dir() else args.manifest
    check_output(journal_path, "--journal" if args.journal else "The journal", [("manifest", manifest_input)],
                 folder_made=True)
    if args.write_manifest:
        check_output(args.write_manifest, "--write-manifest",
                     [("manifest", manifest_input), ("journal", journal_path)])
    if args.results:
        check_output(args.results, "--results", [("manifest", manifest_input), ("journal", journal_path),
                                                 ("manifest written by --write-manifest", args.write_manifest)])
    session = session_from_args(args, storage_args=args, need_key=not args.dry_run, pool_size=args.concurrency,
                                with_journal=False)
    options = BulkOptions(concurrency=args.concurrency, rate=args.rate, valid_only=args.valid_only,
                          retry_failed=args.retry_failed, check_masks=not args.no_mask_check, batch_id=args.batch_id,
                          primary_dir=args.primary_dir, masks_dir=args.masks_dir)
    run: StreamedRun | None = None
    writer: ManifestWriter | None = None
    try:
        journal = session.journal = Journal(journal_path)
        run = StreamedRun(session, args.manifest, options, journal=journal,
                          client=None if args.dry_run else session.client)
        writer = ManifestWriter(args.write_manifest) if args.write_manifest else None
        said = 0  # file-level problems printed so far
        outputs = [("--results", args.results), ("--write-manifest", args.write_manifest)]
        bar = _Bar(sys.stderr.isatty() and not as_json)

        def on_rows(rows: list[Any]) -> None:  # each chunk as it is checked: nothing is sent before the last
            nonlocal said
            assert run is not None and run.manifest is not None
            man = run.manifest
            _refuse_outputs_over_rows(man.source, rows, outputs)
            if writer is not None:
                writer.write(rows)
            if len(man.problems) > said or any(r.problems for r in rows):
                bar.end()  # the problems start on a line of their own
            for severity, text in problem_sentences(man.source, man.problems[said:], rows):
                print(f"{'error' if severity == 'error' else 'warning'}: {text}", file=sys.stderr)
            said = len(man.problems)

        manifest = run.open(ask_server=not args.dry_run, on_rows=on_rows, progress=bar.checking,
                            for_send=not args.dry_run)
        bar.end()
        on_rows([])  # the file-level problems found at the end (an empty manifest, a missing header)
        if writer is not None:
            out = writer.close()
            writer = None
            print(f"Wrote the manifest ({run.row_count()} rows) to {out}.", file=sys.stderr)
        blocked = run.blocked()
        if blocked is not None or args.dry_run:
            wanted = bool(args.results or as_json)  # a result per row only when one is written out

            def row_results() -> Iterable[RowResult]:
                assert run is not None
                return run.dry_run(with_results=wanted)[0] if blocked is None else run.unsent_results(
                    "Not sent: other rows have errors.")
            if args.results:
                write_results(args.results, row_results())
            if as_json:
                for r in row_results():
                    print(json_line(r.to_dict()))
            if blocked is None:
                print(run.dry_run(with_results=False)[1], file=sys.stderr)
                return OK
            valid = run.sendable_count()
            message = blocked + (f" Fix them, or pass --valid-only to send the {valid} valid row(s)." if valid
                                 else " Fix them.")
            raise ValidationError([p for p in manifest.problems if p.severity == "error"], summary=message,
                                  already_said=True)

        for note in run.preflight():  # the connection test raises, with "Nothing was sent."
            print(("warning: " if "default batch" in note else "") + note, file=sys.stderr)

        def on_result(r: RowResult) -> None:
            if as_json:
                with out_lock:
                    print(json_line(r.to_dict()), flush=True)

        submitter = run.prepare_send(progress=bar.draw, on_result=on_result)
        interrupts = {"n": 0}

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            interrupts["n"] += 1
            if interrupts["n"] == 1:
                submitter.cancel()
                bar.end()
                print("Stopping: letting the jobs in flight finish (Ctrl-C again to quit at once).",
                      file=sys.stderr, flush=True)
            else:
                raise KeyboardInterrupt

        on_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, on_sigint) if on_main_thread else None
        try:
            summary = run.send()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            bar.end()
        if as_json:  # the rows that were not sent this run (skipped, invalid ...) get their line too
            for res in run.results(sendable=False):
                print(json_line(res.to_dict()))
        if args.results:
            write_results(args.results, run.results())
        for r in run.results(statuses=("failed", "ambiguous")):
            print(f"error: {manifest.source} row {r.row} ({r.reference_id}): {r.message}", file=sys.stderr)
        print(f"{run.summary_text(summary)} Journal: {journal_path}", file=sys.stderr)
        if submitter.journal_stop is not None:
            stop = submitter.journal_stop
            print(f"error: stopped because the journal {journal_path} could not be written "
                  f"({stop.sqlite_message or stop}); nothing more was sent. Free space (or fix the journal's "
                  f"folder), then run the same command again: rows already created are skipped and the rest "
                  f"are sent.", file=sys.stderr)
            return REFUSED
        if submitter.fatal is not None:
            raise StoppedError(f"stopped because {submitter.fatal} Run the same command again once this is fixed.",
                               submitter.fatal)
        if summary.cancelled:
            raise InterruptedByUser("Stopped before the end; run the same command again to continue.")
        return OK if summary.ok else REFUSED
    finally:
        if writer is not None:  # refused or stopped before the manifest was written whole
            writer.discard()
        if run is not None:
            run.close()
        session.close()
