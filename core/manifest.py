"""Bulk manifests: CSV, JSONL or a folder layout -> rows of JobSpecs, each checked before anything is sent.

CSV (UTF-8, header row required; row numbers are spreadsheet rows, the header being row 1):

    reference_id     required; your unique ID for the job
    image            required; the primary image: https://, s3://, gs:// URL or a local path
    references       optional; reference cameras as ``label=url`` pairs separated by ``|``
                     (``front=https://.../f.jpg|rear=cams/rear/001.jpg``)
    mask             optional; the pre-label mask (RGBA PNG), URL or local path
    legend           optional; the mask's legend: a legend JSON file path, or inline JSON
                     (``{"#ff0000": "car"}``); required when mask is given
    mask_source      optional, instead of mask + legend: a mask as a model or dataset wrote it (COCO JSON,
                     VOC/Cityscapes/index PNG, CVAT RGB mask, a folder of binary masks), converted on the
                     fly by core.mask.formats (for COCO, the entry whose file_name is the row's image)
    mask_format      optional; coco, voc, cityscapes, cvat, binary or index (default: inferred)
    shapes           optional; a shapes file (a maker_response fragment, what ``shapes import -o`` writes):
                     the row's vector pre-labels, checked as ``shapes check`` checks them
    shapes_source    optional, instead of shapes: an annotation file converted on the fly by core.shapes
                     (YOLO .txt, COCO JSON: the entry of the row's image, LabelMe, VOC XML, CVAT XML, Label
                     Studio); a COCO file shared by many rows is parsed once
    shapes_format    optional; yolo, coco, labelme, voc, cvat or labelstudio (default: inferred)
    batch_id         optional; the batch (UUID); else --batch-id, else the project's default batch
    work_flow_id     optional; else --workflow-id / PLAYMENT_WORKFLOW_ID / the profile
    priority_weight  optional; 1..10

JSONL: one documented create-job payload per line (the same JSON as ``playment-submit submit`` takes);
blank lines are skipped; row numbers are line numbers.

Local paths are allowed wherever a URL goes, relative to the manifest's folder; they are uploaded through
the configured storage at submit time (without storage they are reported as errors by JobSpec.validate).

Folder mode (:func:`from_folder`): primary images in one folder (``images/`` by default), reference
cameras in sibling folders holding files of the same name (the folder name is the camera label), masks in
``masks/`` matched by stem (``masks/001.png`` for ``images/001.jpg``), and ``legend.json`` at the top.
A mask there that is not an RGBA mask is converted on the fly when its format can be told
(``masks/001.png`` as a VOC palette or index PNG, ``masks/001_labelIds.png`` from Cityscapes, or the
image's entry in the one COCO JSON in ``masks/``); an index mask takes its names from ``classes.txt``
(or ``classes.json``) beside it, else at the top.
:func:`write_csv` writes such a manifest out for review.

Checking (:func:`check_manifest`) reuses JobSpec.validate for every rule, runs core.mask.check on local
masks in parallel, flags duplicate reference_ids within the manifest, and compares each row with the
journal (already created, changed since created, failed earlier, maybe sent). Every problem names the
row, the field and says what to do.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from .errors import Problem, UsageError, ValidationError
from .job import JobSpec, RasterPrelabel, ReferenceImage, as_given, is_local_path
from .jsonio import parse_json
from .localfile import regular_file_problem
from .manifest_folder import from_folder, stream_folder
from .manifest_refs import RefIndex, flag_duplicates, flag_duplicates_in
from .pacing import breathe
from .pipeline import check_job, duplicate_problem, outside_folder_problem, resolve_location, resolve_spec
from .shapes.rows import SharedSources, shapes_for_row

COLUMNS = ("reference_id", "image", "references", "mask", "legend", "batch_id", "work_flow_id",
           "priority_weight", "mask_source", "mask_format", "shapes", "shapes_source", "shapes_format")
REQUIRED_COLUMNS = ("reference_id", "image")
MAX_ROW_CHARS = 1 << 20          # a row longer than 1 MiB is a mistake (a pasted file, a missing newline)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}

# What check_manifest decides for each row.
SEND = "send"                  # valid, never sent: send it
RECONCILE = "reconcile"        # a previous run may have sent it: send with prior_attempt_ambiguous=True
RETRY = "retry"                # failed before, --retry-failed given: send again
DONE = "done"                  # created before with the same payload: skip without a request
SKIP_FAILED = "skip_failed"    # failed before; needs --retry-failed
CHANGED = "changed"            # created before, payload differs now: reported, not resent
INVALID = "invalid"            # has errors: not sent
SENDABLE = (SEND, RECONCILE, RETRY)


@dataclass(slots=True)
class ManifestRow:
    """One row of a manifest: where it came from, the job it describes, and what is wrong with it."""

    row: int                                  # spreadsheet row (CSV) or line number (JSONL); 1-based
    reference_id: str | None = None
    spec: JobSpec | None = None
    problems: list[Problem] = field(default_factory=list)
    legend_source: str | None = None          # the legend file (for the mask check), when one was named
    action: str = SEND                        # set by check_manifest
    job_id: str | None = None                 # from the journal (done/changed) or after sending
    mask_checked: bool = False
    mask_import: tuple[str, str, dict[str, Any]] | None = None   # (source, format, options): converted at check
    # (shapes file, source, format, classes file): read and checked at check time, in the check's worker
    shapes_import: tuple[str | None, str | None, str | None, str | None] | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, fieldname: str, message: str, severity: str = "error", code: str = "FS_0003") -> None:
        self.problems.append(Problem(fieldname, message, severity=severity, code=code))

    def payload(self) -> dict[str, Any] | None:
        return self.spec.to_payload() if self.spec is not None else None

    def describe(self, p: Problem, source: str = "", front: str = "cli") -> str:
        """One sentence for one problem: ``jobs.csv row 12, mask: ...`` (its fix hint in ``front``'s words)."""
        where = f"{source} row {self.row}" if source else f"row {self.row}"
        body = p.text(front, with_path=False)
        return f"{where}, {p.path}: {body}" if p.path else f"{where}: {body}"


@dataclass
class Manifest:
    """The rows of one manifest plus file-level problems (unreadable file, missing columns)."""

    source: str
    base_dir: Path
    rows: list[ManifestRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    kind: str = "csv"
    # a streamed manifest's file: its size and how far it has been read (bytes), for a check's progress
    size: int = 0
    position: Callable[[], int] | None = None

    @property
    def errors(self) -> list[str]:
        """Every error as a sentence, file-level first."""
        return [text for severity, text in problem_sentences(self.source, self.problems, self.rows)
                if severity == "error"]

    @property
    def warnings(self) -> list[str]:
        """Every other problem as a sentence, file-level first."""
        return [text for severity, text in problem_sentences(self.source, self.problems, self.rows)
                if severity != "error"]

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems) and all(r.ok for r in self.rows)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.action] = out.get(r.action, 0) + 1
        return out

    def sendable(self) -> list[ManifestRow]:
        return [r for r in self.rows if r.action in SENDABLE]


def problem_sentences(source: str, problems: Iterable[Problem],
                      rows: Iterable[ManifestRow]) -> Iterator[tuple[str, str]]:
    """(severity, sentence) for each file-level problem (``jobs.csv: ...``), then each problem of each row
    (``jobs.csv row 12, mask: ...``), in order: what the command line prints, a chunk of rows at a time."""
    for p in problems:
        yield p.severity, f"{source}: {p}"
    for r in rows:
        for p in r.problems:
            yield p.severity, r.describe(p, source)


# ------------------------------------------------------------------------------------------- paths
_SURROGATE = re.compile("[\udc80-\udcff]")


def _has_surrogates(text: str) -> int:
    """Position (1-based) of the first undecodable byte, kept as a surrogate escape; 0 when none."""
    found = _SURROGATE.search(text)
    return found.start() + 1 if found else 0


# --------------------------------------------------------------------------------------------- CSV
def _parse_references(text: str, base_dir: Path, row: ManifestRow) -> list[ReferenceImage]:
    refs: list[ReferenceImage] = []
    for n, part in enumerate(p for p in text.split("|") if p.strip()):
        if "=" not in part:
            row.add("references", f"reference {n + 1} \"{part.strip()[:60]}\" is not written label=url; write "
                                  f"for example front=https://example.com/front.jpg, pairs separated by |.")
            continue
        label, url = part.split("=", 1)
        # camera labels repeat on every row ("left", "right"): one string each, not one per row
        refs.append(ReferenceImage(image_url=resolve_location(url, base_dir), label=sys.intern(label.strip())))
    return refs


_LegendCache = dict[str, tuple[object, list[Problem]]]  # legend file -> read_legend_data's answer


def _parse_legend(text: str, base_dir: Path, row: ManifestRow, cache: _LegendCache) -> dict[str, str]:
    text = text.strip()
    if text.startswith("{"):
        data, problem = parse_json(text, what="inline legend")
        if problem is not None:
            row.add("legend", problem.message.rstrip(".") + "; write {\"#rrggbb\": \"class\"} or give a legend "
                                                           "file's path.")
            return {}
        if isinstance(data, dict) and isinstance(data.get("legend"), dict) and len(data) <= 2:
            data = data["legend"]
        if not isinstance(data, dict):
            row.add("legend", "the inline legend must be a JSON object mapping \"#rrggbb\" to class names.")
            return {}
        return data
    from .legend import read_legend_data
    path = resolve_location(text, base_dir)
    row.legend_source = path
    if path not in cache:
        cache[path] = read_legend_data(path)
    data, problems = cache[path]
    for p in problems:
        row.add("legend", f"{p.path}: {p.message}" if p.path else p.message)
    if not problems and not isinstance(data, dict):
        row.add("legend", f"the legend file {path} must hold a JSON object mapping \"#rrggbb\" to class names.")
        return {}
    return dict(data) if isinstance(data, dict) else {}


def _row_from_fields(rownum: int, rec: dict[str, str], base_dir: Path, *, workflow_id: str | None,
                     batch_id: str | None, legend_cache: _LegendCache) -> ManifestRow:
    row = ManifestRow(row=rownum)

    def get(k: str) -> str:
        return (rec.get(k) or "").strip()

    row.reference_id = get("reference_id") or None
    refs = _parse_references(get("references"), base_dir, row) if get("references") else []
    prelabel = None
    if get("mask_source"):
        if get("mask") or get("legend"):
            row.add("mask_source", "give either mask_source (converted on the fly) or mask and legend, not both.")
        else:
            prelabel = _mask_import(row, resolve_location(get("mask_source"), base_dir), get("mask_format"),
                                    get("image"), base_dir)
    elif get("mask_format"):
        row.add("mask_format", "a mask_format is given but no mask_source; add the mask's path or clear it.",
                severity="warning")
    elif get("mask"):
        legend = _parse_legend(get("legend"), base_dir, row, legend_cache) if get("legend") else {}
        if not get("legend"):
            row.add("legend", "a mask is given but no legend; name a legend JSON file or write the legend inline.")
        prelabel = RasterPrelabel(url=resolve_location(get("mask"), base_dir), legend=legend)
    elif get("legend"):
        row.add("legend", "a legend is given but no mask; add the mask's path or URL, or clear the legend.",
                severity="warning")
    _note_shapes(row, get, base_dir)
    pw: Any = None
    if get("priority_weight"):
        try:
            pw = int(get("priority_weight"))
        except ValueError:
            pw = get("priority_weight")  # JobSpec.validate words the error
    row.spec = JobSpec(reference_id=as_given(row.reference_id),
                       work_flow_id=as_given(get("work_flow_id") or workflow_id),
                       image_url=as_given(resolve_location(get("image"), base_dir) or None), references=refs,
                       prelabel=prelabel, batch_id=get("batch_id") or batch_id, priority_weight=pw)
    return row


def _note_shapes(row: ManifestRow, get: Callable[[str], str], base_dir: Path) -> None:
    """Note the row's shapes (``shapes`` file, or ``shapes_source`` + ``shapes_format``) to read at check time."""
    from .shapes.readers import FORMATS as SHAPE_FORMATS
    file, source, fmt = get("shapes"), get("shapes_source"), get("shapes_format").lower()
    if file and source:
        row.add("shapes_source", "give either shapes (a shapes file) or shapes_source (converted on the fly), "
                                 "not both.")
        return
    if fmt and fmt not in SHAPE_FORMATS:
        row.add("shapes_format", f"\"{fmt}\" is not a shapes format; use one of {', '.join(SHAPE_FORMATS)}.")
        return
    if fmt and not source:
        row.add("shapes_format", "a shapes_format is given but no shapes_source; add the annotation file or "
                                 "clear it.", severity="warning")
    if not file and not source:
        return
    location = resolve_location(file or source, base_dir)
    if not is_local_path(location):
        row.add("shapes" if file else "shapes_source", f"{file or source} is not a local file; shapes are read "
                                                       f"from files on this machine.")
        return
    classes = get("shapes_classes") or None  # folder mode: labels/classes.txt
    if source and classes is None:
        near = [Path(location).parent, base_dir]
        found = next((d / n for d in near for n in ("classes.txt", "data.yaml") if (d / n).is_file()), None)
        classes = str(found) if found is not None else None
    row.shapes_import = (location if file else None, location if source else None, fmt or None, classes)


def _mask_import(row: ManifestRow, source: str, fmt: str, image: str, base_dir: Path,
                 options: dict[str, Any] | None = None) -> RasterPrelabel | None:
    """Note a mask to convert at check time (see :func:`convert_masks`); its format inferred when not given."""
    from .mask.formats import FORMATS, infer_format

    fmt = fmt.strip().lower()
    if fmt and fmt not in FORMATS:
        row.add("mask_format", f"\"{fmt}\" is not a mask format; use one of {', '.join(FORMATS)}.")
        return None
    if not fmt:
        if is_local_path(source) and not os.path.lexists(source):  # said as convert says it, not "cannot be told"
            row.add("mask_source", f"{source}: the mask file does not exist.")
            return None
        fmt = infer_format(source) or ""
        if not fmt:
            row.add("mask_format", f"the format of {source} cannot be told from the file; write it in the "
                                   f"mask_format column ({', '.join(FORMATS)}).")
            return None
    opts = dict(options or {})
    if fmt == "coco" and "image" not in opts and image.strip():
        opts["image"] = Path(image.strip()).name  # the row's image is the COCO entry's file_name
    if fmt == "index" and "classes" not in opts:  # the names beside the index mask, else at the manifest's top
        folders = [Path(source).parent, base_dir] if is_local_path(source) else [base_dir]
        found = next((d / n for d in folders for n in ("classes.txt", "classes.json") if (d / n).is_file()), None)
        if found is not None:
            opts["classes"] = str(found)
    row.mask_import = (source, fmt, opts)
    return RasterPrelabel(url=source, legend={})


def convert_masks(rows: list[ManifestRow], classes: list[str] | None = None) -> None:
    """Convert each row's mask_source to an RGBA mask and legend (core.mask.formats, the same code as
    ``mask import`` and the window), pointing the row's pre-label at the result; a refusal becomes the
    row's problem, named by the source file."""
    from .errors import PlaymentError
    from .mask.formats import ImportOptions
    from .mask.formats.convert import convert_to_file
    from .settings import data_dir

    for r in rows:
        if r.mask_import is None or r.spec is None or r.spec.prelabel is None:
            continue
        source, fmt, opts = r.mask_import
        try:
            out, legend = convert_to_file(source, fmt, ImportOptions(known=classes, **opts), data_dir() / "imported")
        except ValidationError as e:
            for p in e.problems:
                r.add("mask_source", str(p) if p.path else f"{source}: {p.message}")
            continue
        except PlaymentError as e:
            r.add("mask_source", str(e))
            continue
        except OSError as e:
            r.add("mask_source", f"{source}: the converted mask cannot be written ({e.strerror or e}).")
            continue
        r.spec.prelabel = RasterPrelabel(url=str(out), legend=legend)
        r.legend_source = None
        r.mask_import = None


def _unreadable(path: Path, e: OSError) -> UsageError:
    """The sentence for a manifest that cannot be opened."""
    if isinstance(e, FileNotFoundError):
        return UsageError(f"The manifest {path} does not exist.")
    if isinstance(e, IsADirectoryError):
        return UsageError(f"The manifest {path} is a folder; pass a CSV or JSONL file, or use folder mode.")
    return UsageError(f"The manifest {path} cannot be read: {e.strerror}.")


def read_csv(path: str | Path, *, workflow_id: str | None = None, batch_id: str | None = None) -> Manifest:
    """Read a CSV manifest (see the module docstring). Never raises for a bad row: each row carries its
    problems. An unreadable file raises UsageError."""
    man, rows = stream_csv(path, workflow_id=workflow_id, batch_id=batch_id)
    man.rows.extend(rows)
    return man


def stream_csv(path: str | Path, *, workflow_id: str | None = None,
               batch_id: str | None = None) -> tuple[Manifest, Iterator[ManifestRow]]:
    """The CSV manifest's file-level part (its ``problems`` filled as the rows are read) and its rows, read one
    at a time as they are asked for: no row is held here. An unreadable file raises UsageError at once."""
    path = Path(path)
    man = Manifest(source=str(path), base_dir=path.resolve().parent, kind="csv")
    special = regular_file_problem(path, "manifest")
    if special is not None:  # /dev/zero would be read forever, /proc/self/environ into jobs
        raise UsageError(special)
    try:  # read as it is parsed, line by line: the file is never held whole (nor copied) in memory
        fh = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115 (closed below)
    except OSError as e:
        raise _unreadable(path, e) from None
    man.size, man.position = _size(fh), cast(Any, fh).buffer.tell
    return man, _csv_rows(man, path, fh, workflow_id=workflow_id, batch_id=batch_id)


def _size(fh: Any) -> int:
    try:
        return os.fstat(fh.fileno()).st_size
    except (OSError, ValueError):
        return 0


def _csv_rows(man: Manifest, path: Path, fh: Any, *, workflow_id: str | None,
              batch_id: str | None) -> Iterator[ManifestRow]:
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, 64 * MAX_ROW_CHARS))
    reader = csv.reader(fh)
    try:
        try:
            header = next(reader)
        except StopIteration:
            man.problems.append(Problem("", "the manifest is empty; it needs a header row with at least "
                                            "reference_id and image."))
            return
        header = [h.strip().lower().lstrip("\ufeff") for h in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            man.problems.append(Problem("header", f"the header row lacks the column{'s' if len(missing) > 1 else ''} "
                                                  f"{', '.join(missing)}; the columns are {', '.join(COLUMNS)}."))
        unknown = [h for h in header if h and h not in COLUMNS]
        if unknown:
            man.problems.append(Problem("header", f"column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                                                  f"{'are' if len(unknown) > 1 else 'is'} not used; known columns: "
                                                  f"{', '.join(COLUMNS)}.", severity="warning"))
        legend_cache: _LegendCache = {}
        while True:
            breathe()  # a window in this process keeps its event loop (core.pacing)
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                row = ManifestRow(row=start)
                row.add("(row)", f"the row cannot be read as CSV ({e}); check its quotes.")
                yield row
                continue
            if not fields or all(not f.strip() for f in fields):
                continue
            length = sum(len(f) for f in fields)
            if length > MAX_ROW_CHARS:
                row = ManifestRow(row=start)
                row.add("(row)", f"the row is {length:,} characters long (at most {MAX_ROW_CHARS:,}); a file may "
                                 f"have been pasted into a cell or a line break is missing.")
                yield row
                continue
            bad = next(((h, _has_surrogates(f)) for h, f in zip(header, fields, strict=False)
                        if _has_surrogates(f)), None)
            if bad:
                row = ManifestRow(row=start)
                row.reference_id = None
                row.add(bad[0] or "(row)", f"contains bytes that are not UTF-8 (at character {bad[1]}); save "
                                           f"the manifest as UTF-8.")
                yield row
                continue
            if missing:  # one file-level sentence is enough: no row of its own
                continue
            if len(fields) != len(header):
                row = ManifestRow(row=start)
                row.add("(row)", f"the row has {len(fields)} cells but the header has {len(header)} columns; "
                                 f"check for a missing or extra comma (quote cells that contain commas).")
                yield row
                continue
            yield _row_from_fields(start, dict(zip(header, fields, strict=True)), man.base_dir,
                                   workflow_id=workflow_id, batch_id=batch_id, legend_cache=legend_cache)
    except OSError as e:  # the disk or network share failed while reading
        raise _unreadable(path, e) from None
    finally:
        csv.field_size_limit(old_limit)
        fh.close()


# ------------------------------------------------------------------------------------------- JSONL
def read_jsonl(path: str | Path, *, workflow_id: str | None = None, batch_id: str | None = None) -> Manifest:
    """Read a JSONL manifest: one documented payload per line."""
    man, rows = stream_jsonl(path, workflow_id=workflow_id, batch_id=batch_id)
    man.rows.extend(rows)
    return man


def stream_jsonl(path: str | Path, *, workflow_id: str | None = None,
                 batch_id: str | None = None) -> tuple[Manifest, Iterator[ManifestRow]]:
    """The JSONL manifest's file-level part and its rows, read one at a time (see :func:`stream_csv`)."""
    path = Path(path)
    man = Manifest(source=str(path), base_dir=path.resolve().parent, kind="jsonl")
    special = regular_file_problem(path, "manifest")
    if special is not None:
        raise UsageError(special)
    try:
        fh = open(path, "rb")  # noqa: SIM115 (closed by the rows' generator; opened here to tell open errors apart)
    except OSError as e:
        raise _unreadable(path, e) from None

    man.size, man.position = _size(fh), fh.tell

    def rows() -> Iterator[ManifestRow]:
        with fh:
            for lineno, raw in enumerate(fh, start=1):
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if raw.strip():
                    yield _jsonl_row(lineno, raw, man.base_dir, workflow_id=workflow_id, batch_id=batch_id)

    return man, rows()


def _jsonl_row(lineno: int, raw: bytes, base_dir: Path, *, workflow_id: str | None,
               batch_id: str | None) -> ManifestRow:
    row = ManifestRow(row=lineno)
    if len(raw) > MAX_ROW_CHARS:
        row.add("(line)", f"the line is {len(raw):,} bytes long (at most {MAX_ROW_CHARS:,}); a file may "
                          f"have been pasted in or line breaks are missing.")
        return row
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        row.add("(line)", f"contains bytes that are not UTF-8 (at byte {e.start + 1}); save the manifest "
                          f"as UTF-8.")
        return row
    payload, problem = parse_json(text, what="line")
    if problem is not None:
        row.add("(line)", problem.message.rstrip(".") + "; each line must be one job's JSON object.")
        return row
    if isinstance(payload, dict):
        row.reference_id = payload.get("reference_id") if isinstance(payload.get("reference_id"), str) else None
        if workflow_id and not payload.get("work_flow_id") and not payload.get("tag"):
            payload["work_flow_id"] = workflow_id
        if batch_id and "batch_id" not in payload:
            payload["batch_id"] = batch_id
    try:
        spec = JobSpec.from_payload(payload)
    except ValidationError as e:
        row.problems += e.problems
        return row
    row.spec = resolve_spec(spec, base_dir)
    return row


def write_csv(manifest: Manifest, out: str | Path) -> Path:
    """Write a manifest as CSV for review; local paths are written relative to the CSV's folder when
    they are under it."""
    writer = ManifestWriter(out)
    try:
        writer.write(manifest.rows)
    except BaseException:
        writer.discard()
        raise
    return writer.close()


class ManifestWriter:
    """:func:`write_csv` a chunk of rows at a time (a streamed run's): written to ``<out>.part``, renamed over
    ``out`` by :meth:`close`, removed by :meth:`discard`."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self._base = self.out.resolve().parent
        self._tmp = self.out.with_name(self.out.name + ".part")
        self._fh = open(self._tmp, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed by close/discard)
        self._csv = csv.writer(self._fh)
        self._csv.writerow(COLUMNS)
        self.count = 0

    def _rel(self, v: str | None) -> str:
        if not v:
            return ""
        if is_local_path(v):
            try:
                return Path(v).resolve().relative_to(self._base).as_posix()
            except ValueError:
                return v
        return v

    def write(self, rows: Iterable[ManifestRow]) -> None:
        rel = self._rel
        for r in rows:
            s = r.spec
            if s is None:
                continue
            legend = mask = ""
            source = fmt = ""
            if r.mask_import is not None:  # not converted yet: the source as given
                source, fmt = rel(r.mask_import[0]), r.mask_import[1]
            elif s.prelabel is not None:
                mask = rel(s.prelabel.url)
                legend = rel(r.legend_source) if r.legend_source else json.dumps(s.prelabel.legend)
            shapes_file, shapes_source, shapes_format, _ = r.shapes_import or (None, None, None, None)
            self._csv.writerow([s.reference_id or "", rel(s.image_url),
                                "|".join(f"{x.label}={rel(x.image_url)}" for x in s.references),
                                mask, legend, s.batch_id or "", s.work_flow_id or "",
                                "" if s.priority_weight is None else s.priority_weight, source, fmt,
                                rel(shapes_file or ""), rel(shapes_source or ""), shapes_format or ""])
            self.count += 1

    def close(self) -> Path:
        self._fh.close()
        os.replace(self._tmp, self.out)
        return self.out

    def discard(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)


def load_manifest(path: str | Path, *, workflow_id: str | None = None, batch_id: str | None = None,
                  primary: str | None = None, masks: str = "masks") -> Manifest:
    """CSV, JSONL (``.jsonl``/``.ndjson``/``.json``) or a folder, by what ``path`` is; every row in memory."""
    man, rows = stream_manifest(path, workflow_id=workflow_id, batch_id=batch_id, primary=primary, masks=masks)
    man.rows.extend(rows)
    return man


def stream_manifest(path: str | Path, *, workflow_id: str | None = None, batch_id: str | None = None,
                    primary: str | None = None, masks: str = "masks") -> tuple[Manifest, Iterator[ManifestRow]]:
    """:func:`load_manifest`, its rows read (or, for a folder, built) one at a time as they are asked for."""
    p = Path(path)
    if p.is_dir():
        return stream_folder(p, primary=primary, masks=masks, workflow_id=workflow_id, batch_id=batch_id)
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return stream_jsonl(p, workflow_id=workflow_id, batch_id=batch_id)
    if p.suffix.lower() in (".csv", ".txt") or not p.exists():
        return stream_csv(p, workflow_id=workflow_id, batch_id=batch_id)
    raise UsageError(f"The manifest {p} is neither .csv nor .jsonl; rename it to say which it is.")


# ------------------------------------------------------------------------------------------- check
def read_row_shapes(r: ManifestRow, shared: SharedSources, known: list[str] | None) -> list[Problem]:
    """The row's shapes (core.shapes.rows) become its job's; their problems (a refused file, a shape the check
    refuses) are returned under the column that named them, notes kept as warnings on the row."""
    assert r.spec is not None and r.shapes_import is not None
    file, source, fmt, classes = r.shapes_import
    image = r.spec.image_url if isinstance(r.spec.image_url, str) else ""
    found = shapes_for_row(image=image, shapes_file=file, source=source, fmt=fmt, classes=classes, known=known,
                           shared=shared)
    column = "shapes" if file else "shapes_source"
    for note in found.notes:
        r.add(column, note, severity="warning")
    r.spec.shapes = found.fragment
    return [Problem(column, p.text("cli"), severity=p.severity, code=p.code) for p in found.problems]


CHECK_CHUNK = 256  # URL-only rows checked between two progress reports (and cancel checks)
JOURNAL_CHUNK = 2000  # rows whose journal entries are read at once


def check_manifest(manifest: Manifest, *, journal: Any = None, storage: Any = None,
                   allow_local_paths: bool | None = None, history: Any = None, client: Any = None,
                   check_masks: bool = True, retry_failed: bool = False, workers: int = 4,
                   progress: Callable[[int, int], Any] | None = None,
                   cancel: threading.Event | None = None, classes: list[str] | None = None,
                   refs: RefIndex | None = None, shared: SharedSources | None = None) -> Manifest:
    """Check every row through the one pipeline (:func:`core.pipeline.check_job`: job rules, local files,
    masks, the payload as it will be sent), flag duplicate reference IDs within the manifest, refuse a
    reference ``history`` (the profile's journal) holds as created, and decide each row's action against
    ``journal`` (this manifest's: resume). Mutates and returns ``manifest``. Rows are checked in parallel
    (decoding releases the GIL); ``progress(done, total)`` is told as rows finish. ``refs``: the reference IDs
    of the rows checked before these (a streamed manifest checked a chunk at a time, core.bulk_stream); the
    rows' own are added to it; ``shared``: the annotation files parsed for them (a COCO file many rows name is
    parsed once for the whole manifest, not once per chunk)."""
    rows = manifest.rows
    # 1. every row through the pipeline, as the window and `submit` check a job
    todo = [r for r in rows if r.spec is not None and not r.mask_checked]
    total = len(todo)

    shared = shared if shared is not None else SharedSources()  # a COCO file named by many rows: parsed once

    def one(r: ManifestRow) -> list[Problem]:
        assert r.spec is not None
        if r.shapes_import is not None:  # read and checked here, in the worker, then part of the job
            found = read_row_shapes(r, shared, classes)
            if found:
                return found
        if r.mask_import is not None:  # mask_source: converted here, in the worker, then checked as any mask
            before = len(r.problems)
            convert_masks([r], classes)
            if len(r.problems) > before:
                found, r.problems[before:] = r.problems[before:], []
                return found
        return check_job(r.spec, storage=storage, can_upload=allow_local_paths, check_masks=check_masks).problems

    if todo:
        done = 0
        # Imported here, once, not by the first rows' threads at the same moment: a cross-thread import of
        # Pillow's plugins could hand one thread a half-initialised PIL.Image ("partially initialized module").
        import PIL.Image
        PIL.Image.init()
        def chunk(part: list[ManifestRow]) -> list[list[Problem]]:
            out = []
            for r in part:
                if cancel is not None and cancel.is_set():
                    break
                breathe()
                out.append(one(r))
            return out

        # Rows with a file to decode (a mask, a local image, shapes to convert) go to the workers one per task:
        # decoding releases the GIL, so those run in parallel. URL-only rows are pure Python (GIL-bound): they
        # are checked right here, CHECK_CHUNK between progress reports, while the workers decode.
        heavy: list[ManifestRow] = []
        light: list[ManifestRow] = []
        for r in todo:
            decodes = r.mask_import is not None or r.shapes_import is not None or bool(r.spec and r.spec.local_paths())
            (heavy if decodes else light).append(r)

        def record(r: ManifestRow, found: list[Problem]) -> None:
            nonlocal done
            r.problems += found
            r.mask_checked = True
            done += 1

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [(pool.submit(chunk, [r]), r) for r in heavy]
            for start in range(0, len(light), CHECK_CHUNK):
                part = light[start:start + CHECK_CHUNK]
                for r, found in zip(part, chunk(part), strict=False):
                    record(r, found)
                if progress is not None:
                    progress(done, total)
            for fut, r in futures:
                if cancel is not None and cancel.is_set():
                    for f, _ in futures:
                        f.cancel()
                    break
                for found in fut.result():
                    record(r, found)
                if progress is not None:
                    progress(done, total)
    # local files outside the manifest's folder: one warning for the whole run, not one per row
    if not any(p.code == "outside_folder" for p in manifest.problems):
        outside = outside_folder_problem((path for r in rows if r.spec is not None for path in r.spec.local_paths()),
                                         manifest.base_dir, "the manifest")
        if outside is not None:
            manifest.problems.append(outside)
    # 2. duplicates within the manifest
    if refs is None:
        flag_duplicates(rows)
    else:
        flag_duplicates_in(rows, refs)
    # 3. the journal, looked up a chunk of rows at a time
    from .journal import payload_hash
    entries: dict[str, Any] = {}
    before: dict[str, Any] = {}  # the profile's history: created from the window or `submit`
    other = history if history is not None and history is not journal else None
    for n, r in enumerate(rows):
        breathe()
        if n % JOURNAL_CHUNK == 0:
            refs_here = [x.reference_id for x in rows[n:n + JOURNAL_CHUNK] if isinstance(x.reference_id, str)]
            entries = journal.get_many(refs_here, payloads=False) if journal is not None else {}
            before = other.get_many(refs_here, payloads=False) if other is not None else {}
        e = entries.get(r.reference_id) if isinstance(r.reference_id, str) else None
        if e is None and other is not None and r.reference_id in before:
            dup = duplicate_problem(other, r.reference_id, client)
            if dup is not None:
                r.problems.append(dup)
        r.action = INVALID if not r.ok else SEND
        if e is None or r.action == INVALID:
            continue
        r.job_id = e.job_id
        if e.state == "created":
            if e.payload_hash and r.spec is not None and e.payload_hash != payload_hash(r.spec.to_payload()):
                r.action = CHANGED
                r.add("(journal)", f"job {e.job_id} was created from a different version of this row; it is "
                                   f"not sent again. Give the row a new reference ID to create a new job.",
                      severity="warning", code="changed")
            else:
                r.action = DONE
        elif e.state in ("sending", "ambiguous"):
            r.action = RECONCILE
            if e.payload_hash and r.spec is not None and e.payload_hash != payload_hash(r.spec.to_payload()):
                r.add("(journal)", "this row changed since an interrupted send; if that send created the job, "
                                   "the job keeps the earlier version (its ID is recovered, it is not sent twice).",
                      severity="warning", code="changed")
        elif e.state == "failed":
            if retry_failed:
                r.action = RETRY
            else:
                r.action = SKIP_FAILED
                r.problems.append(Problem("(journal)", f"failed in an earlier run ({e.code or 'no code'}: "
                                                       f"{e.message}).", severity="warning",
                                          code=e.code or "failed", fix="retry_failed"))
    return manifest


def manifest_hash(row: ManifestRow) -> str | None:
    """The hash the journal keeps for a row (of the manifest's payload, before local files are uploaded)."""
    from .journal import payload_hash
    return payload_hash(row.spec.to_payload()) if row.spec is not None else None


__all__ = ["COLUMNS", "Manifest", "ManifestRow", "read_csv", "read_jsonl", "from_folder", "write_csv",
           "load_manifest", "check_manifest", "resolve_location", "SEND", "RECONCILE", "RETRY", "DONE",
           "SKIP_FAILED", "CHANGED", "INVALID", "SENDABLE"]
