"""Job drafts: a job being put together, saved and reopened as the documented payload JSON.

A draft file is exactly what ``playment-submit submit JOB.json`` reads: the create-job body of the API, with
local file paths allowed wherever a URL goes. Paths inside the draft's own folder are written relative to
it (the folder can be moved or shared as a whole, and ``submit`` resolves them against the file's folder as
well); other paths are written absolute. A draft may be incomplete (no reference ID yet, no image): the
rules that decide whether it can be *sent* are :func:`core.pipeline.check_job`'s, not this module's.

The window keeps an *autosave* of unsaved work in the app's data folder, so a crash or a power cut loses
nothing: :func:`write_autosave` after every change, :func:`read_autosave` at start-up,
:func:`clear_autosave` once the work is saved or deliberately discarded. The autosave is the same payload
JSON plus a small side file saying which draft file (if any) it belongs to. No Qt here.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError, ValidationError
from .job import JobSpec, is_local_path
from .jsonio import parse_json, read_json_file
from .pipeline import resolve_spec
from .settings import data_dir

AUTOSAVE_NAME = "autosave.json"
AUTOSAVE_META = "autosave.meta.json"


@dataclass
class Draft:
    """A job draft: the job (local paths absolute) and the file it was read from or saved to (None when it
    has never been saved)."""

    spec: JobSpec
    path: Path | None = None


def empty_spec(work_flow_id: str = "") -> JobSpec:
    """A new, empty job (File > New job)."""
    return JobSpec(reference_id="", work_flow_id=work_flow_id, image_url="")


def is_blank(spec: JobSpec) -> bool:
    """Nothing worth keeping: no reference ID, no image, no camera, no mask (the workflow and batch come from
    the profile, so they alone are not work)."""
    return (not str(spec.reference_id or "").strip() and not str(spec.image_url or "").strip()
            and not spec.references and spec.prelabel is None)


def draft_key(spec: JobSpec) -> str:
    """What the user has put into a draft, as one comparable string: two specs with the same key hold the
    same work. The workflow ID is left out (it is the profile's, not the user's work)."""
    payload = spec.to_payload()
    payload.pop("work_flow_id", None)
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)


# ------------------------------------------------------------------------------------ reading
def draft_from_data(data: Any, *, source: str = "", base_dir: str | Path = ".") -> JobSpec:
    """A draft from a payload dict (a job file's content, a Bulk row): local paths resolved against
    ``base_dir``. Raises ValidationError naming every structural problem (``source`` prefixes the paths)."""
    if isinstance(data, dict) and "work_flow_id" not in data and "tag" not in data:
        data = {**data, "work_flow_id": ""}  # a draft may leave it to the profile, as `submit` does
    spec = JobSpec.from_payload(data, source=source)
    return resolve_spec(spec, base_dir)


def read_draft(path: str | Path) -> Draft:
    """Read a draft (or any job file). Raises UsageError for a file that cannot be read, ValidationError
    (one sentence per problem, naming the file and field) for one that is not a job."""
    p = Path(path)
    data = read_json_file(p, "job file")
    return Draft(draft_from_data(data, source=str(p), base_dir=p.resolve().parent), p)


# ------------------------------------------------------------------------------------ writing
def _relative_to(value: Any, folder: Path) -> Any:
    if not isinstance(value, str) or not value or not is_local_path(value):
        return value
    try:
        return Path(os.path.relpath(value, folder)).as_posix() if Path(value).resolve().is_relative_to(
            folder.resolve()) else value
    except (ValueError, OSError):  # another drive on Windows, an unresolvable path: keep it absolute
        return value


def draft_payload(spec: JobSpec, folder: Path | None = None) -> dict[str, Any]:
    """The payload written for ``spec``; with ``folder``, local paths inside it are made relative to it."""
    payload = spec.to_payload()
    if folder is None:
        return payload
    data = payload["data"]
    data["image_url"] = _relative_to(data.get("image_url"), folder)
    for img in data.get("reference_data", {}).get("raster", {}).get("images", []):
        img["image_url"] = _relative_to(img.get("image_url"), folder)
    raster = data.get("maker_response", {}).get("raster", {}).get("data")
    if isinstance(raster, dict):
        raster["url"] = _relative_to(raster.get("url"), folder)
    return payload


def _write_atomically(path: Path, text: str) -> None:
    """Temp file + rename in the same folder: a crash never leaves half a draft."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".draft-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_draft(spec: JobSpec, path: str | Path) -> Path:
    """Save ``spec`` as a job file at ``path``. Raises UsageError with a sentence when it cannot be written."""
    p = Path(path)
    text = json.dumps(draft_payload(spec, p.resolve().parent), indent=2, ensure_ascii=False) + "\n"
    try:
        _write_atomically(p, text)
    except OSError as e:
        raise UsageError(f"The job could not be saved to {p}: {e.strerror or e}. Choose another folder.") from e
    return p


# ----------------------------------------------------------------------------------- autosave
def autosave_dir() -> Path:
    return data_dir() / "drafts"


def write_autosave(spec: JobSpec, source: Path | None) -> None:
    """Keep unsaved work where a restart finds it (absolute paths; ``source``: the draft file it belongs to).
    Never raises: an autosave that cannot be written must not interrupt the work it protects."""
    folder = autosave_dir()
    meta = {"source": str(source) if source is not None else None}
    try:
        _write_atomically(folder / AUTOSAVE_NAME, json.dumps(spec.to_payload(), indent=2, ensure_ascii=False))
        _write_atomically(folder / AUTOSAVE_META, json.dumps(meta))
    except OSError:
        pass


def read_autosave() -> Draft | None:
    """The unsaved work left by the last run (a crash, a killed process), or None. A damaged autosave is
    no work to restore (None), never an error at start-up."""
    folder = autosave_dir()
    try:
        text = (folder / AUTOSAVE_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    data, problem = parse_json(text, what="autosaved job")
    if problem is not None:
        return None
    try:
        spec = draft_from_data(data, base_dir=folder)
    except ValidationError:
        return None
    source = None
    try:
        meta = json.loads((folder / AUTOSAVE_META).read_text(encoding="utf-8"))
        source = Path(meta["source"]) if isinstance(meta, dict) and isinstance(meta.get("source"), str) else None
    except (OSError, ValueError):
        pass
    return None if is_blank(spec) else Draft(spec, source)


def clear_autosave() -> None:
    for name in (AUTOSAVE_NAME, AUTOSAVE_META):
        try:
            (autosave_dir() / name).unlink(missing_ok=True)
        except OSError:
            pass


__all__ = ["Draft", "clear_autosave", "draft_from_data", "draft_key", "draft_payload", "empty_spec", "is_blank",
           "read_autosave", "read_draft", "write_autosave", "write_draft"]
