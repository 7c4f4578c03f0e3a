"""Submit one job: validate, upload local files, journal, create. Shared by the window and the CLI.

The order is what keeps "nothing is half-submitted" and "exactly once" true:
1. validate (local paths allowed only when a storage can upload them): errors stop here;
2. upload every local file through the storage; a failed upload stops here, before any POST;
3. journal "sending" with the final payload, *then* POST; journal the outcome afterwards.
If the journal already says this reference_id was being sent (a crash, a closed window) or ended
ambiguous, the POST is made with ``prior_attempt_ambiguous=True`` so a FS_0001 answer recovers the
job_id instead of being reported as a duplicate. If it says the job was created, nothing is uploaded or
sent and the journal keeps that job: the refusal names it. Only when the server answers that the job no
longer exists (JOB_NOT_FOUND: deleted on Playment) is it created again.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .client import CreatedJob, PlaymentClient
from .errors import AmbiguousOutcomeError, DuplicateReferenceError, NotFoundError, PlaymentError, ValidationError
from .job import JobSpec

Progress = Callable[[dict[str, Any]], Any]


def submit_job(spec: JobSpec, client: PlaymentClient, *, storage: Any = None, journal: Any = None,
               progress: Progress | None = None, cancel: threading.Event | None = None) -> CreatedJob:
    """Create ``spec`` on Playment; returns the created (or recovered) job. Raises core.errors only."""
    def report(phase: str, done: int, total: int, message: str) -> None:
        if progress is not None:
            progress({"phase": phase, "done": done, "total": total, "message": message})

    errors = [p for p in spec.validate(allow_local_paths=storage is not None) if p.severity == "error"]
    if errors:
        raise ValidationError(errors)

    if journal is not None:
        _refuse_if_created(journal, spec.reference_id, client)

    if spec.local_paths():
        from .storage import upload_local_files  # imported late: boto3 and friends only when needed

        def on_bytes(done: int, total: int) -> None:
            report("upload", done, total, f"Uploading files ({done * 100 // max(total, 1)} %)")

        report("upload", 0, 1, "Uploading files")
        spec = upload_local_files(spec, storage, progress=on_bytes, cancel=cancel)
    if cancel is not None and cancel.is_set():
        raise PlaymentError("Cancelled before the job was sent; nothing was created.")

    payload = spec.to_payload()
    ref = spec.reference_id
    ambiguous_before = False
    if journal is not None:
        entry = journal.get(ref)
        ambiguous_before = entry is not None and entry.state in ("sending", "ambiguous")
        journal.mark_sending(ref, payload)
    report("send", 0, 1, f"Sending job \"{ref}\"")
    try:
        created = client.create_job(spec, cancel=cancel, prior_attempt_ambiguous=ambiguous_before)
    except AmbiguousOutcomeError as e:
        if journal is not None:
            journal.mark_failed(ref, e.code, str(e), ambiguous=True)
        raise
    except PlaymentError as e:
        if journal is not None:
            journal.mark_failed(ref, e.code, str(e))
        raise
    if journal is not None:
        journal.mark_created(ref, created.job_id, status=created.status)
    report("send", 1, 1, f"Job {created.job_id} {created.status}")
    return created


def _refuse_if_created(journal: Any, ref: str, client: PlaymentClient) -> None:
    """Raise DuplicateReferenceError, without a POST, when the journal holds a job created for ``ref``
    that the server still has; a second POST would only be refused (FS_0001) and overwrite the record."""
    entry = journal.get(ref)
    if entry is None or entry.state != "created" or not entry.job_id:
        return
    try:
        client.get_job(entry.job_id)
    except NotFoundError:
        return  # deleted on Playment since: creating it again is what the user asks for
    except PlaymentError:
        pass  # cannot ask the server; the journal's record stands
    when = entry.updated_at[:16].replace("T", " ") + " UTC" if entry.updated_at else "earlier"
    raise DuplicateReferenceError(
        f"Reference ID \"{ref}\" was already submitted from this profile ({when}): it is job {entry.job_id}. "
        f"Nothing was sent; choose another reference ID for a new job.",
        existing_job_id=entry.job_id, code="FS_0001")
