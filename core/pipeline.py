"""The one way in: a job as the user described it -> resolved, checked, uploaded, created, journalled.

The window, ``playment-submit submit`` and every ``bulk`` row go through these functions, so the same job
gets the same verdict and the same sentence wherever it enters:

1. :func:`resolve_spec`: local paths become absolute files (``~``, ``file://`` URLs, Windows drive paths,
   paths relative to the job file's or manifest's folder; spaces and any Unicode are fine in a path). A
   string is a URL only when it has a scheme (``https://``, ``s3://``, ``gs://``).
2. :func:`check_job`: the job rules (:meth:`JobSpec.validate`, where a URL with spaces is still refused),
   then every local file for what it must be: the primary image and each reference a decodable image
   within the pixel cap; the mask the full mask check (PNG, RGBA, colours in the legend, the primary's
   size); then the payload as it will be sent (local paths replaced by the addresses storage will give
   them); then the journal (a reference ID already created from this profile is refused, naming its job,
   unless the server says that job no longer exists).
3. :func:`submit_job`: check (file checks are cached by path, size and mtime, so a check the window already
   ran costs nothing), upload, validate the uploaded payload once more, journal "sending", POST, journal
   the outcome. A refused job uploads nothing and sends nothing.

The journal order is what keeps "exactly once" true: "sending" is written with the final payload before
the POST. If the journal says the reference was being sent (a crash, a closed window) or ended ambiguous,
the POST is made with ``prior_attempt_ambiguous=True`` so a FS_0001 answer recovers the job ID instead of
being reported as a duplicate.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .client import CreatedJob, PlaymentClient
from .defaults import job_max_pixels
from .errors import (
    AmbiguousOutcomeError,
    DuplicateReferenceError,
    NotFoundError,
    PlaymentError,
    Problem,
    ValidationError,
)
from .job import IMAGES_PATH, LOSSY_EXTENSIONS, PRELABEL_PATH, JobSpec, camera_name, is_local_path
from .journal import Journal

Progress = Callable[[dict[str, Any]], Any]

PRIMARY_FIELD = "data.image_url"
MASK_FIELD = f"{PRELABEL_PATH}.url"
DUPLICATE_CODE = "FS_0001"


# ------------------------------------------------------------------------------------------- paths
def resolve_location(value: Any, base_dir: str | Path) -> Any:
    """A URL (or anything that is not a string) stays as it is; a local path or ``file://`` URL becomes an
    absolute path: ``~`` expanded, relative to ``base_dir``. The file need not exist (checked later)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text or not is_local_path(text):
        return value
    if text[:7].lower() == "file://":
        if not is_local_file_url(text):
            return value  # a file on another machine: JobSpec.validate refuses it, never read as a local path
        text = unquote(urlsplit(text).path)
        if len(text) > 2 and text[0] == "/" and text[2] == ":":  # file:///C:/Users/... on Windows
            text = text[1:]
    p = Path(os.path.expanduser(text))
    if not p.is_absolute():
        p = Path(base_dir) / p
    return os.path.normpath(str(p))


def is_local_file_url(text: str) -> bool:
    """A ``file://`` URL naming this machine: no host, or ``localhost`` (``file://server/share/x.png`` names
    another machine and is never read as the local ``/share/x.png``)."""
    try:
        host = urlsplit(text.strip()).hostname
    except ValueError:
        return False
    return not host or host.lower() == "localhost"


def resolve_spec(spec: JobSpec, base_dir: str | Path) -> JobSpec:
    """A copy of ``spec`` whose local paths are absolute (see :func:`resolve_location`)."""
    out = copy.deepcopy(spec)
    out.image_url = resolve_location(out.image_url, base_dir)
    for ref in out.references:
        ref.image_url = resolve_location(ref.image_url, base_dir)
    if out.prelabel is not None:
        out.prelabel.url = resolve_location(out.prelabel.url, base_dir)
    return out


def local_files(spec: JobSpec) -> Iterator[tuple[str, str, str]]:
    """(field path, what, path) for every local file the job names: primary, references, mask."""
    if is_local_path(spec.image_url):
        yield PRIMARY_FIELD, "primary image", spec.image_url
    for i, ref in enumerate(spec.references):
        if is_local_path(ref.image_url):
            yield f"{IMAGES_PATH}[{i}].image_url", camera_name(i, ref.label), ref.image_url
    if spec.prelabel is not None and is_local_path(spec.prelabel.url):
        yield MASK_FIELD, "pre-label mask", spec.prelabel.url


def outside_folder_problem(paths: Iterable[str], folder: str | Path, what: str = "the job file") -> Problem | None:
    """One warning (not a refusal) when local files named by ``what`` lie outside its ``folder``: a job or
    manifest from someone else can name any image on this disk, and it would be uploaded without a word.
    Said once per run (the count and the first path), or None when every file is inside."""
    outside: list[str] = []
    for path in paths:
        if not isinstance(path, str) or path[:7].lower() == "file://":
            continue
        # inside as written or once links are followed: a folder of links into a dataset is not "outside",
        # nor is /tmp/x against a folder given as /private/tmp
        inside = any(_within(how(path), how(folder)) for how in (os.path.abspath, os.path.realpath))
        if not inside and path not in outside:
            outside.append(path)
    if not outside:
        return None
    more = f" and {len(outside) - 1} more" if len(outside) > 1 else ""
    return Problem("(local files)", f"{what} names {len(outside)} local file(s) outside its folder {folder} "
                                    f"(first: {outside[0]}{more}); they will be uploaded. Check that you meant "
                                    f"to send them.", severity="warning", code="outside_folder")


def _within(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([folder, path]) == folder
    except ValueError:  # another drive on Windows
        return False


# ---------------------------------------------------------------------------------------- verdict
@dataclass
class Verdict:
    """What :func:`check_job` found. ``problems`` holds errors and warnings, each with a field path and a
    sentence; the job may be sent only when there is no error."""

    spec: JobSpec
    problems: list[Problem] = field(default_factory=list)
    primary_size: tuple[int, int] | None = None
    mask_report: Any = None          # core.mask.MaskReport for a local mask, when it was checked

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


class _FileChecks:
    """Results of the slow file checks, keyed by what they depend on (path, size, mtime, legend, the
    primary's size), so the window's check, the submit that follows and a bulk re-run decode each file
    once. Bounded; thread-safe."""

    def __init__(self, limit: int = 512):
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._limit = limit

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


file_checks = _FileChecks()


def _stat_key(path: str) -> tuple[Any, ...]:
    try:
        st = os.stat(path)
    except OSError:
        return (path, None, None)
    return (path, st.st_size, st.st_mtime_ns)


def _probe(path: str) -> tuple[tuple[int, int] | None, list[Problem]]:
    """The image's size and why it cannot be used. A refused image (over the pixel cap, damaged past its
    header) still has the size its header gives, so the mask's size is checked against the primary anyway."""
    from .mask import header_size, probe_image
    try:
        return probe_image(path, max_pixels=job_max_pixels()), []
    except ValidationError as e:
        return header_size(path), list(e.problems)


def _check_mask(path: str, legend: dict[str, Any], size: tuple[int, int] | None) -> Any:
    from .mask import check
    return check(path, legend, size)


def _refield(fieldname: str, problems: list[Problem]) -> list[Problem]:
    return [Problem(fieldname, p.message, severity=p.severity, code=p.code, fix=p.fix) for p in problems]


def check_files(spec: JobSpec, *, check_masks: bool = True) -> tuple[list[Problem], tuple[int, int] | None, Any]:
    """Check every local file ``spec`` names (paths already resolved): images decode within the pixel cap,
    the mask passes the full mask check against its legend and the primary's size. Returns (problems,
    primary size, mask report)."""
    problems: list[Problem] = []
    primary_size: tuple[int, int] | None = None
    report = None
    for fieldname, _what, path in local_files(spec):
        if fieldname == MASK_FIELD or path[:7].lower() == "file://":  # a remote file:// URL: validate says it
            continue
        size, found = file_checks.get(("image", *_stat_key(path), job_max_pixels()),
                                      functools.partial(_probe, path))
        problems += _refield(fieldname, found)
        if fieldname == PRIMARY_FIELD:
            primary_size = size
    if (check_masks and spec.prelabel is not None and is_local_path(spec.prelabel.url)
            and spec.prelabel.url[:7].lower() != "file://"):
        path = spec.prelabel.url
        legend = spec.prelabel.legend if isinstance(spec.prelabel.legend, dict) else {}
        if not os.path.isfile(path):
            _, found = _probe(path)  # the same sentence as for a missing or odd image file
            problems += _refield(MASK_FIELD, found)
        else:
            key = ("mask", *_stat_key(path), json.dumps(legend, sort_keys=True, default=str), primary_size)
            report = file_checks.get(key, lambda: _check_mask(path, legend, primary_size))
            seen = {p.message for p in problems}
            # JobSpec.validate already refuses a mask named .jpg/.webp/...: the check's "not a PNG" is not said twice
            lossy_name = os.path.splitext(path)[1].lower() in LOSSY_EXTENSIONS
            for p in report.problems:
                if lossy_name and p.code == "not_png":
                    continue
                if p.severity in ("error", "warning") and p.message not in seen and not _is_legend_rule(p):
                    problems.append(Problem(MASK_FIELD, name_the_mask(os.path.basename(path), p.message),
                                            severity=p.severity, code=p.code, fix=p.fix))
    return problems, primary_size, report


def name_the_mask(name: str, message: str) -> str:
    """The mask check's sentence naming the file: "the mask X is 50 x 40 pixels ...", not "the mask X: the mask
    is ..." (the check's own sentences say "the mask" without a name)."""
    if message.startswith("the mask "):
        return f"the mask {name} {message[len('the mask '):]}"
    return f"the mask {name}: {message}"


def _is_legend_rule(p: Problem) -> bool:
    """The mask check also reads the legend; JobSpec.validate already says what is wrong with its keys and
    names (with the field path of the key), so those are not said twice."""
    return str(getattr(p, "path", "")).startswith(("legend", f"{PRELABEL_PATH}.legend"))


def duplicate_problem(journal: Journal | None, ref: Any, client: PlaymentClient | None = None) -> Problem | None:
    """The refusal for a reference ID the journal holds as created, or None. With a client, the server is
    asked first: a job it no longer has (JOB_NOT_FOUND, deleted on Playment) may be created again."""
    if journal is None or not isinstance(ref, str) or not ref:
        return None
    entry = journal.get(ref)
    if entry is None or entry.state != "created" or not entry.job_id:
        return None
    if client is not None:
        try:
            client.get_job(entry.job_id)
        except NotFoundError:
            return None
        except PlaymentError:
            pass  # cannot ask the server; the journal's record stands
    when = entry.updated_at[:16].replace("T", " ") + " UTC" if entry.updated_at else "earlier"
    return Problem("reference_id", f"Reference ID \"{ref}\" was already submitted from this profile ({when}): it "
                                   f"is job {entry.job_id}, and it is not sent again. Choose another reference ID "
                                   f"for a new job.", code=DUPLICATE_CODE)


def sent_payload_problems(spec: JobSpec, destinations: dict[str, str]) -> list[Problem]:
    """Validate the payload as it will be sent: each local path replaced by its storage address."""
    if not destinations:
        return []
    sent = spec.with_urls(destinations)
    problems = []
    for p in sent.validate(allow_local_paths=False):
        if p.severity == "error":
            problems.append(Problem(p.path, f"after upload, {p.message}", code=p.code))
    return problems


def uploads(storage: Any) -> bool:
    """Local files may stand where URLs go: ``storage`` will upload them first (not "none" storage)."""
    return storage is not None and getattr(storage, "kind", "none") != "none"


def check_job(spec: JobSpec, *, storage: Any = None, journal: Journal | None = None,
              client: PlaymentClient | None = None, check_masks: bool = True,
              can_upload: bool | None = None) -> Verdict:
    """Every problem with ``spec`` (paths already resolved), errors and warnings. Never raises for a user
    mistake. ``storage`` decides whether local files may stand where URLs go (they are uploaded first;
    ``can_upload`` overrides that for a check without storage at hand, e.g. a dry run); ``journal`` (and
    ``client``, to confirm with the server) refuses a reference already created."""
    if can_upload is None:
        can_upload = uploads(storage)
    verdict = Verdict(spec=spec, problems=list(spec.validate(allow_local_paths=can_upload)))
    if can_upload:
        found, verdict.primary_size, verdict.mask_report = check_files(spec, check_masks=check_masks)
        verdict.problems += found
        if not verdict.errors and storage is not None and hasattr(storage, "destination"):
            try:
                destinations = {path: storage.destination(path) for _f, _w, path in local_files(spec)
                                if getattr(storage, "url_style", "") != "presigned"}
            except PlaymentError as e:
                verdict.problems.append(Problem("(storage)", str(e)))
            else:
                verdict.problems += sent_payload_problems(spec, destinations)
    dup = duplicate_problem(journal, spec.reference_id, client)
    if dup is not None:
        verdict.problems.append(dup)
    return verdict


# ----------------------------------------------------------------------------------------- submit
def submit_job(spec: JobSpec, client: PlaymentClient, *, storage: Any = None, journal: Journal | None = None,
               progress: Progress | None = None, cancel: threading.Event | None = None,
               check_masks: bool = True) -> CreatedJob:
    """Check, upload, create and journal ``spec`` (paths already resolved: :func:`resolve_spec`). Returns the
    created (or recovered) job. Raises core errors only: ValidationError with every problem when the job
    is refused (nothing uploaded, nothing sent), DuplicateReferenceError when only the journal refuses it."""
    def report(phase: str, done: int, total: int, message: str) -> None:
        if progress is not None:
            progress({"phase": phase, "done": done, "total": total, "message": message})

    report("check", 0, 1, "Checking the job")
    verdict = check_job(spec, storage=storage, journal=journal, client=client, check_masks=check_masks)
    errors = verdict.errors
    if errors:
        if all(p.code == DUPLICATE_CODE and p.path == "reference_id" for p in errors) and journal is not None:
            entry = journal.get(spec.reference_id)
            raise DuplicateReferenceError(errors[0].message, existing_job_id=entry.job_id if entry else None,
                                          code=DUPLICATE_CODE)
        raise ValidationError(errors)

    if spec.local_paths():
        from .storage import upload_local_files  # imported late: boto3 and friends only when needed

        def on_bytes(done: int, total: int) -> None:
            report("upload", done, total, f"Uploading files ({done * 100 // max(total, 1)} %)")

        report("upload", 0, 1, "Uploading files")
        spec = upload_local_files(spec, storage, progress=on_bytes, cancel=cancel)
        after = [p for p in spec.validate(allow_local_paths=False) if p.severity == "error"]
        if after:  # storage gave an address Playment cannot fetch: say so instead of creating a broken job
            raise ValidationError([Problem(p.path, f"after upload, {p.message}", code=p.code) for p in after])
    if cancel is not None and cancel.is_set():
        raise PlaymentError("Cancelled before the job was sent; nothing was created.")
    return create_journalled(spec, client, journal, report=report, cancel=cancel)


def create_journalled(spec: JobSpec, client: PlaymentClient, journal: Journal | None, *,
                      report: Callable[[str, int, int, str], None] | None = None,
                      cancel: threading.Event | None = None, prior_attempt_ambiguous: bool = False,
                      hash_of: dict[str, Any] | None = None) -> CreatedJob:
    """POST an uploaded, checked job with the journal around it: "sending" before, the outcome after."""
    payload = spec.to_payload()
    ref = spec.reference_id
    ambiguous_before = prior_attempt_ambiguous
    if journal is not None:
        entry = journal.get(ref)
        ambiguous_before = ambiguous_before or (entry is not None and entry.maybe_sent)
        journal.mark_sending(ref, payload, hash_of=hash_of)
    if report is not None:
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
    if report is not None:
        report("send", 1, 1, f"Job {created.job_id} {created.status}")
    return created


__all__ = ["Verdict", "check_files", "check_job", "create_journalled", "duplicate_problem", "file_checks",
           "local_files", "name_the_mask", "outside_folder_problem", "resolve_location", "resolve_spec",
           "sent_payload_problems", "submit_job"]
