"""The job model: JobSpec / ReferenceImage / RasterPrelabel <-> the documented create-job payload.

``to_payload()`` is pure and gives the documented JSON exactly (absent parts are absent, never null);
``from_payload()`` reads it back (including the older ``tag`` name for ``work_flow_id``), so the docs'
own example file can be submitted as is. ``validate()`` returns every problem at once, each with a field
path and a sentence; it never raises.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from .errors import Problem, ValidationError
from .jsonio import MAX_DEPTH, depth
from .legend import check_legend
from .sanitise import escaped
from .shapes.model import check_shapes

MAX_REFERENCE_ID = 255
PRIORITY_RANGE = (1, 10)
MAX_METADATA_DEPTH = MAX_DEPTH - 2  # so that the whole payload ({"data": {"metadata": ...}}) stays within MAX_DEPTH
MAX_URL_BYTES = 8 * 1024            # an image or mask URL longer than this is refused at check (UTF-8 bytes)
MAX_METADATA_BYTES = 1024 * 1024    # metadata larger than this, JSON-encoded, is refused at check
LOSSY_EXTENSIONS = {".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".avif"}

IMAGES_PATH = "data.reference_data.raster.images"
PRELABEL_PATH = "data.maker_response.raster.data"
# maker_response kinds the docs name beside ``raster`` (vector pre-labels): kept and sent as given
VECTOR_KINDS = ("rectangles", "polygons", "lines", "landmarks", "cuboids")

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_GS_BUCKET = re.compile(r"[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9]")


@dataclass(slots=True)
class ReferenceImage:
    image_url: str
    label: str


@dataclass(slots=True)
class RasterPrelabel:
    url: str
    legend: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class JobSpec:
    reference_id: str
    work_flow_id: str
    image_url: str
    references: list[ReferenceImage] = field(default_factory=list)
    prelabel: RasterPrelabel | None = None
    batch_id: str | None = None
    priority_weight: int | None = None
    metadata: dict[str, Any] | None = None
    shapes: dict[str, Any] | None = None  # maker_response kinds beside raster ({"rectangles": {"data": [...]}})

    # ---------------------------------------------------------------- payload
    def to_payload(self) -> dict[str, Any]:
        """The documented create-job body. Legend keys are normalised to lower case where valid."""
        data: dict[str, Any] = {"image_url": self.image_url}
        if self.references:
            data["reference_data"] = {"raster": {"images": [
                {"image_url": r.image_url, "label": r.label} for r in self.references]}}
        maker: dict[str, Any] = {}
        if self.prelabel is not None:
            legend = {(k.lower() if isinstance(k, str) else k): v for k, v in self.prelabel.legend.items()}
            maker["raster"] = {"data": {"legend": legend, "url": self.prelabel.url}}
        for kind, value in (self.shapes or {}).items():
            maker[kind] = copy.deepcopy(value)
        if maker:
            data["maker_response"] = maker
        if self.metadata is not None:
            data["metadata"] = self.metadata
        payload: dict[str, Any] = {"reference_id": self.reference_id, "work_flow_id": self.work_flow_id}
        if self.batch_id is not None:
            payload["batch_id"] = self.batch_id
        if self.priority_weight is not None:
            payload["priority_weight"] = self.priority_weight
        payload["data"] = data
        return payload

    @classmethod
    def from_payload(cls, payload: Any, *, source: str = "") -> JobSpec:
        """Read a documented payload. Structural problems (wrong types, unknown fields) raise
        :class:`ValidationError` listing all of them; content is checked later by :meth:`validate`."""
        problems: list[Problem] = []
        pre = f"{source}: " if source else ""

        def bad(path: str, msg: str, code: str = "FS_0003") -> None:
            problems.append(Problem(pre + path, msg, code=code))

        if not isinstance(payload, dict):
            raise ValidationError([Problem(pre + "(top level)", "the job must be a JSON object.", code="FS_0004")])
        if depth(payload) > MAX_DEPTH:  # deeper still breaks copy.deepcopy and the JSON encoder (RecursionError)
            where, limit = _deepest_field(payload)
            raise ValidationError([Problem(pre + where, _too_deep("the job" if where == "(top level)" else
                                                                  "this field", limit))])
        known = {"reference_id", "work_flow_id", "tag", "batch_id", "priority_weight", "data"}
        for key in payload:
            if key not in known:
                bad(str(key), f"unknown field \"{key}\"; the API takes {', '.join(sorted(known - {'tag'}))}.")
        wf = payload.get("work_flow_id", payload.get("tag"))
        if "work_flow_id" in payload and "tag" in payload and payload["tag"] != payload["work_flow_id"]:
            bad("tag", "both \"work_flow_id\" and its older name \"tag\" are given, with different values; keep one.",
                code="FS_0005")
        data = payload.get("data")
        if data is None:
            bad("data", "the job has no \"data\" object; it needs at least data.image_url.", code="FS_0004")
            data = {}
        elif not isinstance(data, dict):
            bad("data", "\"data\" must be an object.")
            data = {}
        for key in data:
            if key not in {"image_url", "reference_data", "maker_response", "metadata"}:
                bad(f"data.{key}", f"unknown field \"{key}\" in data; the API takes image_url, reference_data, "
                                   f"maker_response and metadata.")

        refs: list[ReferenceImage] = []
        ref_data = data.get("reference_data")
        if ref_data is not None:
            images = _dig(ref_data, ("raster", "images"))
            if not isinstance(images, list):
                bad("data.reference_data",
                    "expected {\"raster\": {\"images\": [{\"image_url\": ..., \"label\": ...}]}}.")
            else:
                for i, img in enumerate(images):
                    if not isinstance(img, dict):
                        bad(f"{IMAGES_PATH}[{i}]", "each reference image must be an object with image_url and label.")
                        continue
                    refs.append(ReferenceImage(image_url=as_given(img.get("image_url")),
                                               label=as_given(img.get("label"))))

        prelabel = None
        shapes: dict[str, Any] = {}
        maker = data.get("maker_response")
        if isinstance(maker, dict):
            for kind, value in maker.items():
                if kind in VECTOR_KINDS:
                    if isinstance(value, dict) and isinstance(value.get("data"), list):
                        shapes[kind] = value
                    else:
                        bad(f"data.maker_response.{kind}", f"expected {{\"data\": [...]}} for {kind}.")
                elif kind != "raster":
                    bad(f"data.maker_response.{kind}",
                        f"unknown pre-label kind \"{kind}\"; the API takes raster, {', '.join(VECTOR_KINDS)}.")
        if maker is not None and (not isinstance(maker, dict) or "raster" in maker or not shapes):
            raster = _dig(maker, ("raster", "data"))
            if not isinstance(raster, dict):
                bad("data.maker_response", "expected {\"raster\": {\"data\": {\"legend\": {...}, \"url\": ...}}}.")
            else:
                legend = raster.get("legend")
                if legend is None:
                    legend = {}
                if not isinstance(legend, dict):
                    bad(f"{PRELABEL_PATH}.legend", "the legend must be an object mapping \"#rrggbb\" to names.")
                    legend = {}
                prelabel = RasterPrelabel(url=as_given(raster.get("url")), legend=dict(legend))

        metadata = data.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            bad("data.metadata", "metadata must be an object.")
            metadata = None
        if problems:
            raise ValidationError(problems)
        return cls(reference_id=as_given(payload.get("reference_id")), work_flow_id=as_given(wf),
                   image_url=as_given(data.get("image_url")),
                   references=refs, prelabel=prelabel, batch_id=payload.get("batch_id"),
                   priority_weight=payload.get("priority_weight"), metadata=metadata, shapes=shapes or None)

    # ------------------------------------------------------------- validation
    def validate(self, *, allow_local_paths: bool = False) -> list[Problem]:
        """Every problem with this job, errors and warnings, in field order. Never raises.

        ``allow_local_paths``: a local file path where a URL goes is fine (a storage backend will upload
        it at submit time); otherwise it is an error that says to configure storage.
        """
        problems: list[Problem] = []
        add = problems.append

        rid = self.reference_id
        if rid is None or (isinstance(rid, str) and not rid.strip()):
            add(Problem("reference_id", "the reference ID is missing; give every job your own unique ID "
                                        "(for example the frame's file name).", code="FS_0002"))
        elif not isinstance(rid, str):
            add(Problem("reference_id", f"the reference ID must be text, not {type(rid).__name__}; "
                                        f"write it in quotes.", code="FS_0002"))
        else:
            if len(rid) > MAX_REFERENCE_ID:
                add(Problem("reference_id", f"the reference ID is {len(rid)} characters long; at most "
                                            f"{MAX_REFERENCE_ID} are allowed."))
            ctrl = [c for c in rid if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
            if ctrl:
                add(Problem("reference_id", f"the reference ID contains the control character {ctrl[0]!r} "
                                            f"(at position {rid.index(ctrl[0]) + 1}); remove it."))
            if rid != rid.strip():
                add(Problem("reference_id", "the reference ID starts or ends with spaces; they are easy to miss "
                                            "and make look-ups fail.", severity="warning"))

        wf = self.work_flow_id
        if wf is None or (isinstance(wf, str) and not wf.strip()):
            add(Problem("work_flow_id", "the workflow ID is missing; copy it from the project's workflow "
                                        "page (older docs call it \"tag\").", code="FS_0005"))
        elif not is_uuid(wf):
            add(Problem("work_flow_id", f"the workflow ID {_quote(wf)} is not a UUID "
                                        f"(like 2aae1234-acac-1234-eeff-12a22a237bbc).", code="FS_0003"))

        if self.batch_id is not None and not is_uuid(self.batch_id):
            add(Problem("batch_id", f"the batch ID {_quote(self.batch_id)} is not a UUID; leave it out to use "
                                    f"the project's default batch.", code="GE_0001"))

        pw = self.priority_weight
        if pw is not None:
            if isinstance(pw, bool) or not isinstance(pw, int):
                add(Problem("priority_weight", f"the priority weight must be a whole number from "
                                               f"{PRIORITY_RANGE[0]} to {PRIORITY_RANGE[1]}, not {_quote(pw)}.",
                            code="FS_00012"))
            elif not PRIORITY_RANGE[0] <= pw <= PRIORITY_RANGE[1]:
                add(Problem("priority_weight", f"the priority weight {pw} is out of range; use "
                                               f"{PRIORITY_RANGE[0]} to {PRIORITY_RANGE[1]} (default 5).",
                            code="FS_00012"))

        if self.metadata is not None and not isinstance(self.metadata, dict):
            add(Problem("data.metadata", "metadata must be an object."))
        elif self.metadata is not None and depth(self.metadata) > MAX_METADATA_DEPTH:
            add(Problem("data.metadata", _too_deep("the metadata", MAX_METADATA_DEPTH)))
        elif self.metadata is not None:
            size = _json_size(self.metadata)
            if size > MAX_METADATA_BYTES:
                add(Problem("data.metadata", f"the metadata is {size:,} bytes as JSON; at most {MAX_METADATA_BYTES:,} "
                                             f"(1 MiB) are sent. Keep large data in your own storage and put its "
                                             f"address in the metadata."))

        problems += url_problems(self.image_url, "data.image_url", "primary image", allow_local_paths,
                                 required=True)

        seen: dict[str, int] = {}
        for i, ref in enumerate(self.references):
            base = f"{IMAGES_PATH}[{i}]"
            problems += url_problems(ref.image_url, f"{base}.image_url", camera_name(i, ref.label),
                                     allow_local_paths, required=True)
            label = ref.label
            if not isinstance(label, str) or not label.strip():
                add(Problem(f"{base}.label", f"camera {i + 1} has no label; name the camera "
                                             f"(for example \"camera {i + 1}\")."))
                continue
            key = label.strip().casefold()
            if key in seen:
                add(Problem(f"{base}.label", f"camera {i + 1}'s label \"{label.strip()}\" is already used by "
                                             f"camera {seen[key] + 1}; every camera needs its own label."))
            else:
                seen[key] = i

        if self.prelabel is not None:
            problems += url_problems(self.prelabel.url, f"{PRELABEL_PATH}.url", "pre-label mask",
                                     allow_local_paths, required=True, mask=True)
            _, legend_problems = check_legend(self.prelabel.legend, path=f"{PRELABEL_PATH}.legend")
            problems += legend_problems
        if self.shapes:  # vector pre-labels: the one shape check (core/shapes), named by their place in the job
            problems += check_shapes(self.shapes, where="data.maker_response")
        return problems

    def errors(self, *, allow_local_paths: bool = False) -> list[Problem]:
        return [p for p in self.validate(allow_local_paths=allow_local_paths) if p.severity == "error"]

    def with_urls(self, urls: dict[str, str]) -> JobSpec:
        """A copy whose primary, reference and mask locations found in ``urls`` are replaced by their values
        (local paths by the addresses storage gave or will give them)."""
        out = copy.deepcopy(self)
        out.image_url = urls.get(out.image_url, out.image_url)
        for ref in out.references:
            ref.image_url = urls.get(ref.image_url, ref.image_url)
        if out.prelabel is not None:
            out.prelabel.url = urls.get(out.prelabel.url, out.prelabel.url)
        return out

    def local_paths(self) -> list[str]:
        """The local files this job names where URLs go (primary, references, mask), in that order."""
        urls = [self.image_url] + [r.image_url for r in self.references]
        if self.prelabel is not None:
            urls.append(self.prelabel.url)
        return [u for u in urls if isinstance(u, str) and is_local_path(u)]


# -------------------------------------------------------------------- helpers
def _too_deep(what: str, limit: int = MAX_DEPTH) -> str:
    return (f"{what} nests objects or arrays more than {limit} levels deep; no job needs that many, so flatten "
            f"it (such nesting cannot be copied or sent safely).")


def _deepest_field(payload: dict[str, Any]) -> tuple[str, int]:
    """Where ``payload`` nests too deeply (``data.metadata``, ``reference_id`` ...) and how deep that
    field may nest for the whole job to stay within MAX_DEPTH."""
    for key, value in payload.items():
        if depth(value) > MAX_DEPTH - 1:
            if key == "data" and isinstance(value, dict):
                for sub, inner in value.items():
                    if depth(inner) > MAX_DEPTH - 2:
                        return f"data.{sub}", MAX_DEPTH - 2
            return str(key), MAX_DEPTH - 1
    return "(top level)", MAX_DEPTH


def as_given(value: Any) -> Any:
    """An input value kept as the file gave it (maybe missing, maybe not a string) for a ``str`` field of
    the model: :meth:`JobSpec.validate` is what reports it, with a field path and a sentence."""
    return value


def _dig(obj: Any, keys: tuple[str, ...]) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def camera_name(index: int, label: Any) -> str:
    """How a sentence names reference image ``index`` (0-based): "camera 3 (\"left\")", 1-based, with its
    label when it has a usable one; never the field path's ``images[2]``."""
    if isinstance(label, str) and label.strip() and label.isprintable() and len(label) <= 60:
        return f"camera {index + 1} (\"{label.strip()}\")"
    return f"camera {index + 1}"


def _json_size(value: Any) -> int:
    """Bytes ``value`` takes JSON-encoded as it is sent (UTF-8); unencodable values count as 0 (said elsewhere)."""
    try:
        return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError, RecursionError):
        return 0


def _quote(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else f"\"{value}\""
    return text if len(text) <= 80 else text[:77] + "...\""


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://")
_SPACE = re.compile(r"\s")
# https://host[:port][/path?query#fragment] with no white space or control character: nothing to say about it
_PLAIN_HTTPS = re.compile(r"https://[A-Za-z0-9][A-Za-z0-9.\-]*(?::[0-9]{1,5})?(?:[/?#][^\s\x00-\x1f\x7f]*)?\Z",
                          re.IGNORECASE)


_COMMON_SCHEMES = ("https://", "http://", "s3://", "gs://")


def is_local_path(value: Any) -> bool:
    """True for a file path rather than a URL. A string is a URL only when it starts with a scheme and
    ``://`` (``https://``, ``s3://``, ``gs://``); ``file://`` URLs, Windows drive paths (``C:\\x``, one
    letter is a drive, not a scheme), UNC paths, ``~`` and relative paths are local files."""
    if not isinstance(value, str):
        return False
    if value.startswith(_COMMON_SCHEMES):  # most values: said at once (a million rows ask several times each)
        return False
    if not value.strip():
        return False
    value = value.strip()
    if value[:7].lower() == "file://":
        return True
    return not _URL_SCHEME.match(value)


def location_name(value: Any, limit: int = 80) -> str:
    """The file name a path or URL ends in, fit to show beside a label (query and fragment dropped, control
    and bidirectional characters escaped): ``https://h/a/front.jpg?sig=..`` -> ``front.jpg``."""
    text = str(value or "").strip()
    if not is_local_path(text):
        text = text.split("?", 1)[0].split("#", 1)[0]
    name = text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return escaped(name, limit)


def url_problems(url: Any, path: str, what: str, allow_local_paths: bool = False, *,
                 required: bool = True, mask: bool = False) -> list[Problem]:
    """Problems with one image/mask location. Allowed: https, s3://bucket/key, gs://bucket/key, and
    http only to a loopback host (the sandbox). Local paths only when ``allow_local_paths``."""
    if url is None or (isinstance(url, str) and not url.strip()):
        if required:
            how = ("choose a file or give an https://, s3:// or gs:// URL" if allow_local_paths
                   else "give an https://, s3:// or gs:// URL")
            return [Problem(path, f"the {what} is missing; {how}.",
                            code="FS_0004" if path == "data.image_url" else "FS_0003")]
        return []
    if not isinstance(url, str):
        return [Problem(path, f"the {what} must be a URL in quotes, not {type(url).__name__}.")]
    size = len(url.encode("utf-8", "surrogatepass"))
    if size > MAX_URL_BYTES:
        return [Problem(path, f"the {what} location is {size:,} bytes long; at most {MAX_URL_BYTES:,} (8 KiB) are "
                              f"sent. Give a shorter URL or file path.")]
    if not mask and _PLAIN_HTTPS.match(url):  # the common case, decided without urlsplit (bulk: 3 per row)
        return []
    out: list[Problem] = []
    if is_local_path(url):
        host = urlsplit(url.strip()).hostname if url.strip()[:7].lower() == "file://" else None
        if host and host.lower() != "localhost":
            return [Problem(path, f"the {what} {_quote(url)} is a file:// URL on another machine "
                                  f"({_quote(host)}); only files on this machine can be read. Copy the file here, "
                                  f"or give its https://, s3:// or gs:// URL.")]
        # A file name may hold spaces ("my frames/frame 001.png", "C:\\Users\\First Last\\..."): what is
        # sent is the URL storage gives it, checked again after upload. Only a URL must not.
        if not allow_local_paths:
            return [Problem(path, f"the {what} {_quote(url)} is a local file; Playment can only fetch URLs. "
                                  f"Configure storage (--upload-to s3://bucket/prefix, or the sandbox) so it is "
                                  f"uploaded at submit time, or give its URL.")]
        suffix = PurePosixPath(url.replace("\\", "/")).suffix.lower() if mask else ""
    else:
        if _SPACE.search(url):  # (a regex: a generator over every character cost more than the rest of the check)
            return [Problem(path, f"the {what} URL {_quote(url)} contains spaces; encode them as %20 or remove "
                                  f"them.")]
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "https":
            if not parts.hostname:
                out.append(Problem(path, f"the {what} URL {_quote(url)} has no host name."))
        elif scheme == "http":
            if not is_loopback_host(parts.hostname):
                out.append(Problem(path, f"the {what} URL {_quote(url)} uses plain http; Playment needs "
                                         f"https (plain http is only allowed to this machine, for the sandbox)."))
        elif scheme in ("s3", "gs"):
            bucket, key = parts.netloc, parts.path.lstrip("/")
            rule = _S3_BUCKET if scheme == "s3" else _GS_BUCKET
            if not bucket or not rule.fullmatch(bucket):
                out.append(Problem(path, f"the {what} URL {_quote(url)} does not name a valid bucket; write "
                                         f"{scheme}://bucket/key with a lower-case bucket name."))
            elif not key:
                out.append(Problem(path, f"the {what} URL {_quote(url)} has no object key; write "
                                         f"{scheme}://{bucket}/path/to/file."))
        else:
            out.append(Problem(path, f"the {what} URL {_quote(url)} is not https://, s3:// or gs://; "
                                     f"Playment cannot fetch it."))
        suffix = PurePosixPath(parts.path).suffix.lower() if mask else ""
    if mask and suffix in LOSSY_EXTENSIONS:
        out.append(Problem(path, f"the pre-label mask {_quote(url)} is a {suffix[1:].upper()} file; lossy or "
                                 f"palette formats change the exact colours the legend relies on. Save the "
                                 f"mask as an RGBA PNG."))
    return out
