"""``playment-submit submit JOB.json``: one job through the one pipeline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import DuplicateReferenceError, InterruptedByUser, PlaymentError, ValidationError
from .common import EPILOG, check_output, emit, print_problems, read_json_file, session_from_args, uuid_option


def add_parser(sub: Any, parent: argparse.ArgumentParser) -> None:
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
    s.add_argument("--batch-id", type=uuid_option("batch ID"),
                   help="put the job in this batch (overrides the file's batch_id)")
    s.add_argument("--default-batch-id", type=uuid_option("default batch ID"),
                   help="the batch where jobs without batch_id land; lets the tool recover a job whose creation "
                        "was interrupted")
    s.add_argument("--journal", metavar="FILE", help="the submission journal (default: the profile's, in the "
                                                    "user data folder); makes a re-submit after a crash safe, and "
                                                    "refuses a reference ID it holds as created without a request")
    from ..storage_args import add_storage_arguments
    add_storage_arguments(s)
    s.set_defaults(func=cmd_submit)



def cmd_submit(args: argparse.Namespace) -> int:
    from ..job import JobSpec
    from ..pipeline import DUPLICATE_CODE, outside_folder_problem
    if args.journal:
        check_output(args.journal, "--journal", [("job file", args.job)], folder_made=True)
    payload = read_json_file(args.job)
    spec = JobSpec.from_payload(payload, source=args.job)
    session = session_from_args(args, journal=args.journal, storage_args=args if spec.local_paths() else None)
    try:
        if not spec.work_flow_id and session.workflow_id:
            spec.work_flow_id = session.workflow_id
        if args.batch_id:
            spec.batch_id = args.batch_id
        # Local paths in the job file are relative to the file's folder, not to wherever the user stands.
        folder = Path(args.job).resolve().parent
        spec = session.resolve(spec, folder)
        verdict = session.check(spec, ask_server=True)
        outside = outside_folder_problem(spec.local_paths(), folder)
        print_problems(verdict.warnings + ([outside] if outside is not None else []), prefix=f"{args.job}: ")
        errors = [p for p in verdict.errors if p.code != DUPLICATE_CODE or p.path != "reference_id"]
        if errors:  # a reference ID already created alone is the server-style refusal below (FS_0001, its job)
            n = len(verdict.errors)
            raise ValidationError(verdict.errors, source=args.job,
                                  summary=f"Not submitted: {n} problem{'s' if n != 1 else ''} in {args.job}."
                                  ).with_context(reference_id=spec.reference_id)
        try:
            created = session.submit(spec)
        except KeyboardInterrupt:
            raise InterruptedByUser(
                f"Interrupted while sending job \"{spec.reference_id}\": Playment may have created it. Running the "
                f"same command again is safe: a job already created is refused as a duplicate (FS_0001) and "
                f"recovered, never made twice.") from None
    except DuplicateReferenceError as e:  # the journal's refusal: said as the window and `bulk` say it
        raise DuplicateReferenceError(f"{args.job}: reference_id: {e}", existing_job_id=e.existing_job_id,
                                      code=e.code, status=e.status).with_context(reference_id=spec.reference_id) \
            from None
    except PlaymentError as e:
        raise e.with_context(reference_id=spec.reference_id) from None
    finally:
        session.close()
    verb = "Recovered" if created.recovered else "Created"
    emit(args, created.to_dict(), f"{verb} job {created.job_id} for reference ID \"{created.reference_id}\".")
    return 0
