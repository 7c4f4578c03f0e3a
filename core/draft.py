"""The job being edited: one :class:`JobDraft`, which the window renders and hands edits to.

A draft is the documented create-job payload exactly as it was loaded (a job file, a History entry, a Bulk
row, the autosave), every field kept, with the user's edits applied to it. It answers what the window
shows: the job as the pipeline reads it (:meth:`JobDraft.spec`), what is wrong with it
(:meth:`JobDraft.blockers`: the same sentences ``submit`` prints), the payload as it will be sent
(:func:`payload_as_sent`: local files at the addresses storage gives them), its cache key for a verdict
(:func:`check_key`) and whether it holds unsaved work. The window never assembles or rewrites a payload.

- Fields the docs name pass through untouched (``priority_weight``, ``data.metadata``, ``batch_id``,
  ``maker_response`` kinds beside ``raster``). A field the pipeline does not accept (a typo such as
  ``dta``) stays in the draft and is a blocker with the sentence ``submit`` gives for it.
- A job's own ``work_flow_id`` and ``batch_id`` are kept and count as the user's work; the profile's
  workflow fills only a draft that has none (:meth:`JobDraft.workflow`).

A draft file is what ``playment-submit submit JOB.json`` reads, with local file paths allowed wherever a
URL goes. Paths inside the draft's own folder are written relative to it; other paths absolute. The window
keeps an *autosave* of unsaved work in the app's data folder (:func:`write_autosave`,
:func:`read_autosave`, :func:`clear_autosave`): the same payload JSON plus a side file naming the draft
file it belongs to. No Qt here.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Problem, UsageError, ValidationError
from .job import VECTOR_KINDS, JobSpec, ReferenceImage, is_local_path, location_name
from .jsonio import parse_json, read_json_file, write_text_atomically
from .pipeline import Verdict, outside_folder_problem, resolve_location
from .sanitise import escaped
from .settings import data_dir

if TYPE_CHECKING:
    from .session import Session

AUTOSAVE_NAME = "autosave.json"
AUTOSAVE_META = "autosave.meta.json"
TOP_FIELDS = ("reference_id", "work_flow_id", "tag", "batch_id", "priority_weight", "data")
DATA_FIELDS = ("image_url", "reference_data", "maker_response", "metadata")


def normalised_payload(data: Any) -> dict[str, Any]:
    """A job file's content after core's documented normalisations (``tag`` read as ``work_flow_id``,
    legend keys in lower case, absent parts absent): what would be sent for it, local paths aside.
    Raises ValidationError for a payload that is not a job."""
    return JobSpec.from_payload(data).to_payload()


def payload_as_sent(spec: JobSpec, destination: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """The payload ``spec`` will be sent as: each local file at the address ``destination`` gives it
    (None: not known yet, the path is shown), through :meth:`JobSpec.with_urls`."""
    urls: dict[str, str] = {}
    if destination is not None:
        for path in spec.local_paths():
            where = destination(path)
            if where:
                urls[path] = where
    return spec.with_urls(urls).to_payload()


def payload_text(payload: dict[str, Any]) -> str:
    """A payload as text ready to display (and to save): indented JSON, characters as they are."""
    return json.dumps(payload, indent=2, ensure_ascii=False)


def local_file_stats(paths: Iterable[str]) -> list[tuple[str, int | None, int | None]]:
    """(path, size, modification time in ns) of each file, (path, None, None) when it cannot be stat'ed: what
    tells a file deleted, replaced or emptied since it was checked (one stat each, no reading)."""
    stats: list[tuple[str, int | None, int | None]] = []
    for path in paths:
        try:
            st = os.stat(path)
            stats.append((path, st.st_size, st.st_mtime_ns))
        except (OSError, ValueError):  # ValueError: a NUL in a typed path
            stats.append((path, None, None))
    return stats


def check_key(spec: JobSpec, session: Session) -> str:
    """What a verdict on ``spec`` depends on, as one comparable string: the payload, where it goes, each
    local file's size and modification time, and the journal's entry for its reference ID. (It stats every
    local file and reads the journal: compute it once per refresh.)"""
    stats = local_file_stats(spec.local_paths())
    journal = session.journal
    entry = journal.get(spec.reference_id) if journal is not None and isinstance(spec.reference_id, str) \
        and spec.reference_id else None
    return json.dumps([spec.to_payload(), stats, session.base_url, session.can_upload, bool(session.api_key),
                       session.profile.name, str(journal.path) if journal is not None else None,
                       [entry.state, entry.job_id] if entry is not None else None], sort_keys=True, default=str)


def _resolved(payload: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """``payload`` with every local path made absolute against ``base_dir`` (wherever it stands, even in a
    payload with structural problems)."""
    out = copy.deepcopy(payload)
    data = out.get("data")
    if not isinstance(data, dict):
        return out
    if isinstance(data.get("image_url"), str):
        data["image_url"] = resolve_location(data["image_url"], base_dir)
    images = _dig(data, "reference_data", "raster", "images")
    for img in images if isinstance(images, list) else []:
        if isinstance(img, dict) and isinstance(img.get("image_url"), str):
            img["image_url"] = resolve_location(img["image_url"], base_dir)
    raster = _dig(data, "maker_response", "raster", "data")
    if isinstance(raster, dict) and isinstance(raster.get("url"), str):
        raster["url"] = resolve_location(raster["url"], base_dir)
    return out


def _dig(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _readable_part(payload: dict[str, Any]) -> dict[str, Any]:
    """What of a payload with structural problems the form can still show: known fields of the right kind."""
    out = {k: v for k, v in payload.items() if k in TOP_FIELDS and k != "data"}
    data = payload.get("data")
    if isinstance(data, dict):
        kept = {k: v for k, v in data.items() if k in DATA_FIELDS}
        if not isinstance(_dig(kept, "reference_data", "raster", "images"), list):
            kept.pop("reference_data", None)
        else:
            kept["reference_data"] = {"raster": {"images": [
                i for i in kept["reference_data"]["raster"]["images"] if isinstance(i, dict)]}}
        maker = kept.get("maker_response")
        if isinstance(maker, dict):
            maker = {k: v for k, v in maker.items() if (k == "raster" and isinstance(_dig(v, "data"), dict))
                     or (k in VECTOR_KINDS and isinstance(_dig(v, "data"), list))}
            if "raster" in maker and not isinstance(_dig(maker, "raster", "data", "legend"), dict):
                maker["raster"] = {"data": {**maker["raster"]["data"], "legend": {}}}
        if maker:
            kept["maker_response"] = maker
        else:
            kept.pop("maker_response", None)
        if not isinstance(kept.get("metadata"), dict):
            kept.pop("metadata", None)
        out["data"] = kept
    else:
        out["data"] = {}
    if "tag" in out and "work_flow_id" in out:
        out.pop("tag")
    return out


class JobDraft:
    """The job being edited (see the module's doc). ``path``: the job file it was read from or saved to;
    ``origin``: where it came from, as the window says it ("the job file", "History", "the Bulk tab")."""

    def __init__(self, payload: dict[str, Any] | None = None, *, path: Path | None = None, source: str = "",
                 origin: str = "") -> None:
        self._payload: dict[str, Any] = copy.deepcopy(payload) if payload is not None else {
            "reference_id": "", "data": {"image_url": ""}}
        self.path = path
        self.source = source  # prefixes structural problems, as `submit` prefixes them with the file's name
        self.origin = origin
        # Warnings about where the draft came from, said beside it (not blockers): a job file naming files
        # outside its own folder, which would be uploaded without a word otherwise.
        self.notices: list[Problem] = []
        self._saved = self.key()

    # ------------------------------------------------------------------------------------ reading
    @classmethod
    def from_data(cls, data: Any, *, source: str = "", origin: str = "", base_dir: str | Path = ".",
                  path: Path | None = None) -> JobDraft:
        """A draft from a payload (a job file's content, a History entry, a Bulk row): local paths resolved
        against ``base_dir``. Anything but a JSON object raises ValidationError (it is not a job at all)."""
        if not isinstance(data, dict):
            raise ValidationError([Problem((f"{source}: " if source else "") + "(top level)",
                                           "the job must be a JSON object.", code="FS_0004")])
        return cls(_resolved(data, Path(base_dir)), path=path, source=source, origin=origin)

    @classmethod
    def read(cls, path: str | Path) -> JobDraft:
        """Read a job file. Raises UsageError for a file that cannot be read and ValidationError for one
        that is not a JSON object; any other problem stays in the draft as a blocker."""
        p = Path(path)
        data = read_json_file(p, "job file")
        draft = cls.from_data(data, source=str(path), origin="the job file", base_dir=p.resolve().parent, path=p)
        outside = outside_folder_problem(draft.spec().local_paths(), p.resolve().parent)  # as `submit` says it
        draft.notices = [outside] if outside is not None else []
        return draft

    # ------------------------------------------------------------------------------------ answers
    @property
    def payload(self) -> dict[str, Any]:
        """A copy of the payload as loaded and edited (local paths absolute)."""
        return copy.deepcopy(self._payload)

    def structure_problems(self) -> list[Problem]:
        """What makes the payload not a job the API takes (unknown fields, wrong kinds), as ``submit``
        says it; empty for a well-formed draft."""
        try:
            JobSpec.from_payload(self._filled(""), source=self.source)
        except ValidationError as e:
            return list(e.problems)
        return []

    def workflow(self) -> str | None:
        """The job's own workflow ID (a job file's, a History entry's), or None when the profile's fills it."""
        value = self._payload.get("work_flow_id", self._payload.get("tag"))
        return value if isinstance(value, str) and value.strip() else None

    def spec(self, profile_workflow: str = "") -> JobSpec:
        """The job as the pipeline reads it, the profile's workflow filling a draft that has none. A draft
        with structural problems gives what of it can be read (its blockers say the rest)."""
        filled = self._filled(profile_workflow)
        try:
            return JobSpec.from_payload(filled)
        except ValidationError:
            pass
        try:
            return JobSpec.from_payload(_readable_part(filled))
        except ValidationError:
            return JobSpec(reference_id="", work_flow_id=profile_workflow, image_url="")

    def blockers(self, spec: JobSpec, *, can_upload: bool, verdict: Verdict | None) -> list[Problem]:
        """Why this job cannot be sent now: its structural problems, ``spec``'s own errors, then the
        pipeline's ``verdict`` (None while it is being checked), each sentence once."""
        found = self.structure_problems() + spec.errors(allow_local_paths=can_upload)
        if verdict is not None:
            found += verdict.errors
        out: list[Problem] = []
        seen: set[str] = set()
        for p in found:
            if p.text("gui") not in seen:
                seen.add(p.text("gui"))
                out.append(p)
        return out

    def batch_outside(self, project_batches: Iterable[str], project: str) -> str | None:
        """A sentence when the draft's own batch is not one of ``project_batches`` (the project's, as /details
        lists them): the job would be refused or land elsewhere. None when it is there or there is none."""
        batch = self._payload.get("batch_id")
        if not isinstance(batch, str) or not batch or batch in set(project_batches):
            return None
        where = f" (from {self.origin})" if self.origin else ""
        return (f"The job's batch {batch}{where} is not a batch of project {project}; choose one of the project's "
                f"batches above, or the project's default batch.")

    def key(self) -> str:
        """The work the draft holds, as one comparable string (the job's own workflow and batch included)."""
        return json.dumps(self._payload, sort_keys=True, ensure_ascii=False, default=str)

    def is_modified(self) -> bool:
        """Edited since it was loaded or last saved."""
        return self.key() != self._saved

    def mark_saved(self) -> None:
        self._saved = self.key()

    def mark_unsaved(self) -> None:
        """The draft is nobody's file yet (a History entry, a Bulk row, a restored autosave)."""
        self._saved = JobDraft().key()

    def summary(self) -> str:
        """The job in a few words, for a question about it: 'the job "frame-7" (frame-7.png, 2 cameras, a
        mask)'. Names are escaped and shortened: an autosave or job file is text from disk."""
        spec = self.spec()
        ref = spec.reference_id if isinstance(spec.reference_id, str) and spec.reference_id else None
        image = location_name(spec.image_url, 60)
        parts = [image] if image else []
        n = len(spec.references)
        if n:
            parts.append(f"{n} camera{'s' if n != 1 else ''}")
        if spec.prelabel is not None:
            parts.append("a mask")
        if spec.shapes:
            parts.append("shapes")
        head = f'the job "{escaped(ref, 60)}"' if ref else "a job without a reference ID"
        return head + (f" ({', '.join(parts)})" if parts else "")

    def is_blank(self) -> bool:
        """Nothing worth keeping: no reference ID, image, camera, mask, or a field beside them."""
        return self.key() == JobDraft().key()

    # -------------------------------------------------------------------------------------- edits
    def _data(self) -> dict[str, Any]:
        data = self._payload.get("data")
        if not isinstance(data, dict):
            data = self._payload["data"] = {}
        return data

    def set_reference_id(self, value: str) -> None:
        self._payload["reference_id"] = value

    def set_image(self, value: str) -> None:
        self._data()["image_url"] = value

    def set_references(self, references: list[ReferenceImage]) -> None:
        data = self._data()
        if references:
            data["reference_data"] = {"raster": {"images": [
                {"image_url": r.image_url, "label": r.label} for r in references]}}
        else:
            data.pop("reference_data", None)

    def set_prelabel(self, url: str, legend: dict[str, str]) -> None:
        """The pre-label mask (a local path or a URL) and its legend; other maker_response kinds stay."""
        data = self._data()
        maker = data.get("maker_response")
        if not isinstance(maker, dict):
            maker = data["maker_response"] = {}
        maker["raster"] = {"data": {"legend": dict(legend), "url": url}}

    def set_legend(self, legend: dict[str, str]) -> None:
        """Only the legend (a key fixed without the pixels); no mask, no change."""
        raster = _dig(self._payload, "data", "maker_response", "raster", "data")
        if isinstance(raster, dict):
            raster["legend"] = dict(legend)

    def remove_prelabel(self) -> None:
        data = self._data()
        maker = data.get("maker_response")
        if isinstance(maker, dict):
            maker.pop("raster", None)
            if not maker:
                data.pop("maker_response")

    def shapes(self) -> dict[str, Any] | None:
        """The job's vector pre-labels as a maker_response fragment ({"rectangles": {"data": [...]}, ...}), or
        None: what the Shapes tab shows."""
        maker = _dig(self._payload, "data", "maker_response")
        if not isinstance(maker, dict):
            return None
        fragment = {k: copy.deepcopy(v) for k, v in maker.items() if k in VECTOR_KINDS}
        return fragment or None

    def set_shapes(self, fragment: dict[str, Any] | None) -> None:
        """Replace the job's vector pre-labels with ``fragment`` (None: none); the raster mask stays."""
        data = self._data()
        maker = data.get("maker_response")
        if not isinstance(maker, dict):
            maker = {}
        maker = {k: v for k, v in maker.items() if k not in VECTOR_KINDS}
        maker.update({k: copy.deepcopy(v) for k, v in (fragment or {}).items() if k in VECTOR_KINDS})
        if maker:
            data["maker_response"] = maker
        else:
            data.pop("maker_response", None)

    def set_batch(self, batch_id: str | None) -> None:
        if batch_id:
            self._payload["batch_id"] = batch_id
        else:
            self._payload.pop("batch_id", None)

    def use_profile_workflow(self) -> None:
        """Drop the job's own workflow: the profile's is sent instead."""
        self._payload.pop("work_flow_id", None)
        self._payload.pop("tag", None)

    def _filled(self, profile_workflow: str) -> dict[str, Any]:
        if self.workflow() is not None or not profile_workflow:
            return self._payload
        out = {k: v for k, v in self._payload.items() if k != "tag" or v}
        out["work_flow_id"] = profile_workflow
        return out

    # ------------------------------------------------------------------------------------ writing
    def file_payload(self, folder: Path | None = None) -> dict[str, Any]:
        """The payload as written to a job file in ``folder``: local paths inside it relative to it."""
        payload = self.payload
        if folder is None:
            return payload
        data = payload.get("data")
        if not isinstance(data, dict):
            return payload
        data["image_url"] = _relative_to(data.get("image_url"), folder)
        images = _dig(data, "reference_data", "raster", "images")
        for img in images if isinstance(images, list) else []:
            if isinstance(img, dict):
                img["image_url"] = _relative_to(img.get("image_url"), folder)
        raster = _dig(data, "maker_response", "raster", "data")
        if isinstance(raster, dict):
            raster["url"] = _relative_to(raster.get("url"), folder)
        return payload

    def write(self, path: str | Path) -> Path:
        """Save as a job file at ``path``; it becomes the draft's file. Raises UsageError with a sentence
        when it cannot be written."""
        p = Path(path)
        text = payload_text(self.file_payload(p.resolve().parent)) + "\n"
        try:
            write_text_atomically(p, text)
        except OSError as e:
            raise UsageError(f"The job could not be saved to {p}: {e.strerror or e}. Choose another folder.") from e
        self.path = p
        self.source = str(p)
        self.origin = "the job file"
        self.mark_saved()
        return p


def _relative_to(value: Any, folder: Path) -> Any:
    if not isinstance(value, str) or not value or not is_local_path(value):
        return value
    try:
        return Path(os.path.relpath(value, folder)).as_posix() if Path(value).resolve().is_relative_to(
            folder.resolve()) else value
    except (ValueError, OSError):  # another drive on Windows, an unresolvable path: keep it absolute
        return value


# ----------------------------------------------------------------------------------- autosave
def autosave_dir() -> Path:
    return data_dir() / "drafts"


def write_autosave(draft: JobDraft) -> None:
    """Keep unsaved work where a restart finds it (absolute paths, every field). Never raises: an autosave
    that cannot be written must not interrupt the work it protects."""
    folder = autosave_dir()
    meta = {"source": str(draft.path) if draft.path is not None else None, "origin": draft.origin}
    try:
        write_text_atomically(folder / AUTOSAVE_NAME, payload_text(draft.payload))
        write_text_atomically(folder / AUTOSAVE_META, json.dumps(meta))
    except OSError:
        pass


def read_autosave() -> JobDraft | None:
    """The unsaved work left by the last run (a crash, a killed process), or None. A damaged autosave is
    no work to restore (None), never an error at start-up."""
    folder = autosave_dir()
    try:
        text = (folder / AUTOSAVE_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    data, problem = parse_json(text, what="autosaved job")
    if problem is not None or not isinstance(data, dict):
        return None
    source: Path | None = None
    origin = ""
    try:
        meta = json.loads((folder / AUTOSAVE_META).read_text(encoding="utf-8"))
        if isinstance(meta, dict):
            source = Path(meta["source"]) if isinstance(meta.get("source"), str) else None
            origin = meta["origin"] if isinstance(meta.get("origin"), str) else ""
    except (OSError, ValueError):
        pass
    draft = JobDraft.from_data(data, base_dir=folder, path=source, source=str(source or ""), origin=origin)
    draft.mark_unsaved()
    return None if draft.is_blank() else draft


def clear_autosave() -> None:
    for name in (AUTOSAVE_NAME, AUTOSAVE_META):
        try:
            (autosave_dir() / name).unlink(missing_ok=True)
        except OSError:
            pass


__all__ = ["JobDraft", "check_key", "clear_autosave", "local_file_stats", "normalised_payload", "payload_as_sent",
           "payload_text", "read_autosave", "write_autosave"]
