"""Delivered results: download every completed job's annotation, convert it, and review it against its pre-label.

Per job, in ``<out>/<reference id>-<job id>/``:

- ``delivered.png`` + ``legend.json``: the delivered mask and its legend, as Playment gave them;
- ``classes.png`` + ``classes.txt``: the same as a class-index PNG (0 unlabelled, then one number per legend
  colour, in legend order) and its class names, one per line (Playment's how-to "convert a segmentation mask to
  grayscale" as one step);
- ``prelabel.png`` + ``prelabel_legend.json`` when the job had a pre-label; ``result.json`` (the result as
  received, sanitised).

Downloads go through ``GET /v1/attachments?url=`` and a keyless fetch of the signed URL it redirects to
(:meth:`core.client.PlaymentClient.fetch_attachment`: the API key never reaches the storage host). A job whose
result was already downloaded (its URL recorded in the journal, its folder present) is not asked for again, so a
re-run fetches only what is new. Then ``review.csv`` (one line per job and class) and ``review.html`` (one page:
the batch's most corrected classes, a table and a thumbnail per job: pre-label, delivered, difference; every
server-provided string escaped).

Reading a results folder back (the window's Results view, which renders what this module says and reads no file
itself): :func:`scan_results` lists the jobs a folder holds as :class:`DeliveredJob` records (file paths, the
review rows from ``review.csv``, sanitised; bounded by :data:`MAX_LISTED_JOBS` and :data:`MAX_REVIEW_CSV_BYTES`;
a damaged file is a sentence in :attr:`ResultsFolder.problems`, never an exception), :func:`delivered_jobs` the
same records for a :class:`DownloadReport`, and :func:`read_job` decodes one job's masks and reviews them. No Qt.
"""

from __future__ import annotations

import csv
import html
import io
import re
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import PlaymentClient
from .defaults import DEFAULT_MAX_PIXELS
from .errors import PlaymentError, Problem, ValidationError
from .journal import REMOTE_COLUMNS, Entry, Journal, RemoteStatus, remote_status, unkey
from .jsonio import parse_json, write_json_file
from .review import (
    KINDS,
    ClassReview,
    JobReview,
    class_index,
    corrected_most,
    decode_rgba,
    pixel_key,
    review_job,
    review_masks,
)
from .sanitise import one_line
from .shapes.delivered import PRELABEL_SHAPES_JSON, SHAPES_JSON, prelabel_shapes, shapes_of, write_shapes
from .shapes.delivered import review_folder as review_shapes_folder
from .shapes.review import LabelReview, ShapesReview
from .status import StatusReport, refresh_statuses

Progress = Callable[[int, int, str], Any]
# One row per job and class (annotation "mask": pixel counts) or per job, label and shape kind (annotation
# "shapes": `kind` is the shape kind, `iou` the mean IoU of the matched shapes, then counts, precision, recall).
REVIEW_COLUMNS = ("reference_id", "job_id", "changed_share", "class", "delivered_name", "kind", "iou",
                  "prelabel_pixels", "delivered_pixels", "added", "removed", "annotation", "prelabel_shapes",
                  "delivered_shapes", "matched", "precision", "recall")
MASK_REVIEW_COLUMNS = REVIEW_COLUMNS[:11]   # what earlier versions wrote: still read
THUMB_WIDTH = 240
DOWNLOAD_WORKERS = 4  # completed jobs downloaded, decoded and reviewed at once (the client has 10 connections)
# The files of one job's folder (written by download_results, read back by scan_results / read_job).
DELIVERED_PNG, LEGEND_JSON = "delivered.png", "legend.json"
CLASSES_PNG, CLASSES_TXT = "classes.png", "classes.txt"
PRELABEL_PNG, PRELABEL_LEGEND_JSON = "prelabel.png", "prelabel_legend.json"
RESULT_JSON, REVIEW_PNG = "result.json", "review.png"
REVIEW_CSV, REVIEW_HTML = "review.csv", "review.html"
MAX_LISTED_JOBS = 10_000            # jobs a scan looks for; a folder (or journal) with more lists the first ones
MAX_REVIEW_CSV_BYTES = 64 << 20     # a review.csv larger than this is not read (a batch of 10,000 jobs: ~5 MB)
MAX_REVIEW_ROWS = 500_000           # review.csv lines read (one per job and class: 10,000 jobs of 50 classes)
MAX_LEGEND_BYTES = 1 << 20          # a legend file larger than this is damaged (real ones are a few KB)


@dataclass
class JobDownload:
    reference_id: str | None
    job_id: str
    status: str                     # "downloaded" | "unchanged" | "no_result" | "failed"
    folder: str | None = None
    message: str | None = None
    review: JobReview | None = field(default=None, repr=False)
    prelabel: bool = False          # the folder holds the job's pre-label (prelabel.png and its legend)
    shapes: bool = False            # the folder holds delivered shapes (shapes.json)
    shapes_review: ShapesReview | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        r = self.review
        return {"reference_id": self.reference_id, "job_id": self.job_id, "status": self.status,
                "folder": self.folder, "message": self.message,
                "changed_share": None if r is None else round(r.changed_share, 6),
                "classes": [] if r is None else [c.to_dict() for c in r.classes]}


@dataclass
class DownloadReport:
    """What ``results`` did: every job's outcome (in ``jobs`` when kept), the jobs per outcome, the refreshed
    statuses, and the review files written."""

    jobs: list[JobDownload] = field(default_factory=list)
    statuses: StatusReport | None = None
    review_csv: Path | None = None
    review_html: Path | None = None
    tally: dict[str, int] = field(default_factory=dict)
    first_failure: str | None = None   # the first failed job's sentence (kept or not)
    listed_all: bool = True             # False when ``list_limit`` left jobs out of ``jobs``

    def counts(self) -> dict[str, int]:
        return dict(self.tally)


PAGE = 500  # completed jobs read from the journal at a time


def _completed(journal: Journal, batch_id: str | None) -> tuple[int, Iterator[tuple[RemoteStatus, Entry | None]]]:
    """How many jobs the journal holds as completed (of ``batch_id``), and each with its entry (for the payload's
    pre-label), by reference ID then job ID, read a page at a time."""
    if not journal.has_remote():
        return 0, iter(())
    where = "lower(trim(r.status)) = 'completed' AND (? IS NULL OR r.batch_id = ?)"
    total = journal.select(f"SELECT COUNT(*) FROM remote r WHERE {where}", (batch_id, batch_id))[0][0]

    def pages() -> Iterator[tuple[RemoteStatus, Entry | None]]:
        after: tuple[Any, ...] = ()
        while True:
            more = "AND (COALESCE(r.reference_id, ''), r.job_id) > (?, ?)" if after else ""
            sql = (f"SELECT COALESCE(r.reference_id, '') AS k, {', '.join('r.' + c for c in REMOTE_COLUMNS)}, "
                   f"e.reference_id, e.payload FROM remote r LEFT JOIN entries e ON e.job_id = r.job_id "
                   f"WHERE {where} {more} ORDER BY k, r.job_id LIMIT ?")
            page = journal.select(sql, (batch_id, batch_id, *after, PAGE))
            if not page:
                return
            for row in page:
                ref, payload = row[1 + len(REMOTE_COLUMNS):]
                entry = None if ref is None else Entry(reference_id=unkey(ref), state="created", payload_json=payload)
                yield remote_status(row[1:1 + len(REMOTE_COLUMNS)]), entry
            after = (page[-1][0], page[-1][1])

    return int(total), pages()


def folder_name(reference_id: str | None, job_id: str) -> str:
    """A folder name safe on every file system, unique per job."""
    ref = re.sub(r"[^A-Za-z0-9._-]+", "_", reference_id or "").strip("._")[:80]
    job = re.sub(r"[^A-Za-z0-9-]+", "_", job_id)[:40]
    return f"{ref}-{job}" if ref else job


def result_of(result: Any) -> tuple[str, dict[str, str]] | None:
    """(url, legend) of a segmentation result: ``{legend, url}``, or the same under ``raster.data`` /
    ``maker_response.raster.data`` (the pre-label's nesting). None when it has no usable URL."""
    for path in ((), ("raster", "data"), ("maker_response", "raster", "data")):
        node = result
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get("url"), str) and node["url"].strip():
            raw = node.get("legend")
            legend: dict[Any, Any] = raw if isinstance(raw, dict) else {}
            return node["url"].strip(), {one_line(k, 20): one_line(v, 200) for k, v in legend.items()}
    return None


def png_bytes_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the IHDR of PNG bytes, or None when they do not start like a PNG."""
    if len(data) < 24 or not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def _decode_png(data: bytes, what: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Any:
    """The RGBA pixels of a downloaded PNG. Its size is read from the header first: over ``max_pixels`` it is
    refused before anything is decoded (a small file can claim 13000 x 13000 pixels and take gigabytes)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError
    size = png_bytes_size(data)
    if size is None:
        raise ValidationError([Problem(what, f"the {what} is not a PNG (it does not start with a PNG "
                                             f"header); nothing was written for this job.")])
    w, h = size
    if w * h > max_pixels:
        raise ValidationError([Problem(what, f"the {what} is {w:,} x {h:,} pixels ({w * h / 1e6:,.0f} megapixels), "
                                             f"over the limit of {max_pixels / 1e6:,.0f} megapixels; it was not "
                                             f"decoded and nothing was written for this job. Raise "
                                             f"--max-megapixels to accept it.")])
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG":
                raise ValidationError([Problem(what, f"the {what} is {im.format or 'not an image'}, not a PNG.")])
            return np.asarray(im.convert("RGBA"))
    except UnidentifiedImageError:
        raise ValidationError([Problem(what, f"the {what} is not a readable PNG (Pillow cannot identify it).")]) \
            from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        why = one_line(re.sub(r"<[^>]*>", "the file", str(e)), 80)
        raise ValidationError([Problem(what, f"the {what} is not a readable PNG ({why}).")]) from None


def _write_classes(folder: Path, rgba: Any, legend: dict[str, str]) -> None:
    """classes.png (uint8 when it fits, else 16-bit) and classes.txt, numbered in legend order."""
    import numpy as np
    from PIL import Image

    from .legend import check_legend
    clean, _ = check_legend(legend)
    keys = {pixel_key(c): i for i, c in enumerate(clean, 1)}
    idx = class_index(rgba, keys)
    img = Image.fromarray(idx.astype(np.uint8)) if len(keys) < 256 else Image.fromarray(idx.astype(np.uint16))
    img.save(folder / CLASSES_PNG, format="PNG", compress_level=1)
    (folder / CLASSES_TXT).write_text("".join(f"{clean[c]}\n" for c in clean), encoding="utf-8")


def download_results(journal: Journal, client: PlaymentClient, out_dir: str | Path, *, batch_id: str | None = None,
                     progress: Progress | None = None, cancel: threading.Event | None = None,
                     refresh: bool = True, review: bool = True,
                     max_pixels: int = DEFAULT_MAX_PIXELS, keep_jobs: bool = True,
                     on_job: Callable[[JobDownload], Any] | None = None,
                     list_limit: int | None = None) -> DownloadReport:
    """Download, convert and review every completed job (``batch_id``: of that batch). ``refresh``: ask
    Playment for statuses first (:func:`core.status.refresh_statuses`). Per-job failures are reported on the
    job, never raised; the review files are rewritten from every job on disk, old and new, when one of them
    was sent with a pre-label (else none is written: there is nothing to compare). A mask over
    ``max_pixels`` (from its PNG header) is refused before decoding: that job writes nothing and is not
    recorded as fetched. The completed jobs are read from the journal a page at a time; each outcome goes to
    ``on_job`` as it comes, and is kept in the report's ``jobs`` only when ``keep_jobs`` (the window's table):
    without it, memory holds the jobs under way and the reviews (one small record a job with a pre-label).
    ``list_limit``: at most that many jobs kept (the window's table); the counts cover them all."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = DownloadReport()
    if refresh:  # the statuses' counts only: their jobs stay in the journal
        report.statuses = refresh_statuses(journal, client, batch_id=batch_id, cancel=cancel, keep_jobs=False)
        report.statuses.close()
    total, done = _completed(journal, batch_id)

    def one(item: tuple[RemoteStatus, Entry | None]) -> JobDownload:
        rs, entry = item
        ref = rs.reference_id or (entry.reference_id if entry else None)
        folder = out / folder_name(ref, rs.job_id)
        job = JobDownload(ref, rs.job_id, "unchanged", str(folder))
        try:
            masks = None  # (pre-label, delivered) just decoded: the review does not read them back from disk
            if not (rs.fetched_url and ((folder / DELIVERED_PNG).is_file() or (folder / SHAPES_JSON).is_file())):
                job.status, masks = _download_one(client, journal, rs.job_id, folder,
                                                  entry.payload if entry else None, max_pixels)
            job.prelabel = job.status in ("downloaded", "unchanged") and (folder / PRELABEL_PNG).is_file()
            if review and job.prelabel:
                job.review = _review_folder(folder, ref, rs.job_id, masks)
            job.shapes = job.status in ("downloaded", "unchanged") and (folder / SHAPES_JSON).is_file()
            if review and job.shapes:
                job.shapes_review = review_shapes_folder(folder)
        except ValidationError as e:  # the problems themselves, not "must be fixed before submitting"
            job.status, job.message = "failed", " ".join(
                p.message if p.path in p.message else f"{p.path}: {p.message}" for p in e.problems) or str(e)
        except PlaymentError as e:
            job.status, job.message = "failed", str(e)
        except OSError as e:
            job.status, job.message = "failed", f"{e.filename or folder}: {e.strerror or type(e).__name__}."
        return job

    # DOWNLOAD_WORKERS jobs at once (a download waits on the network, a decode releases the GIL), at most twice
    # that many asked ahead: memory stays that of a few jobs whatever their number, and the jobs are reported
    # in order. Cancel stops asking; the jobs under way finish.
    reviews: list[Any] = []
    shape_reviews: list[tuple[str | None, str, ShapesReview]] = []
    finished = 0
    ahead: deque[Future[JobDownload]] = deque()
    with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS) as pool:
        while True:
            while len(ahead) < 2 * DOWNLOAD_WORKERS and not (cancel is not None and cancel.is_set()):
                item = next(done, None)
                if item is None:
                    break
                ahead.append(pool.submit(one, item))
            if not ahead:
                break
            job = ahead.popleft().result()
            finished += 1
            report.tally[job.status] = report.tally.get(job.status, 0) + 1
            if job.review is not None:
                reviews.append(job.review)
            if job.shapes_review is not None:
                shape_reviews.append((job.reference_id, job.job_id, job.shapes_review))
            if job.status == "failed" and report.first_failure is None:
                report.first_failure = job.message
            if keep_jobs and (list_limit is None or len(report.jobs) < list_limit):
                report.jobs.append(job)
            elif keep_jobs:
                report.listed_all = False
            if on_job is not None:
                on_job(job)
            if progress is not None:
                progress(finished, total, job.job_id)
    if review and (reviews or shape_reviews):  # no job with a pre-label: no empty page offered to open
        report.review_csv = write_review_csv(reviews, out / REVIEW_CSV, shape_reviews)
        report.review_html = write_review_html(reviews, out / REVIEW_HTML, out, shape_reviews)
    return report


def _download_one(client: PlaymentClient, journal: Journal, job_id: str, folder: Path,
                  payload: dict[str, Any] | None,
                  max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[str, tuple[Any, Any] | None]:
    """Fetch, check and write one job's result: its status word, and (pre-label, delivered) RGBA arrays when
    both were written."""
    info = client.get_job(job_id)
    found = result_of(info.result)
    shapes = shapes_of(info.result)  # bounded and sanitised; refused whole when too large
    if found is None and shapes is None:
        return "no_result", None
    if shapes is not None:
        write_shapes(folder, shapes, prelabel_shapes(payload))
    if found is None:  # a vector job: its shapes are its whole result
        journal.record_fetched(job_id, SHAPES_JSON)
        return "downloaded", None
    url, legend = found
    rgba = _decode_png(client.fetch_attachment(url), "delivered mask", max_pixels)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DELIVERED_PNG).write_bytes(_png(rgba))
    write_json_file(folder / LEGEND_JSON, legend)
    write_json_file(folder / RESULT_JSON, {"url": one_line(url, 2000), "legend": legend})
    _write_classes(folder, rgba, legend)
    pre = result_of((payload or {}).get("data", {}).get("maker_response")) if isinstance(payload, dict) else None
    pre_rgba = None
    if pre is not None:
        pre_url, pre_legend = pre
        try:
            pre_rgba = _decode_png(client.fetch_attachment(pre_url), "pre-label mask", max_pixels)
        except PlaymentError:
            pre_rgba = None  # the delivered result is still worth having; the review skips this job
        if pre_rgba is not None:
            (folder / PRELABEL_PNG).write_bytes(_png(pre_rgba))
            write_json_file(folder / PRELABEL_LEGEND_JSON, pre_legend)
    journal.record_fetched(job_id, url)
    return "downloaded", ((pre_rgba, rgba) if pre_rgba is not None else None)


def _png(rgba: Any) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _review_folder(folder: Path, ref: str | None, job_id: str,
                   masks: tuple[Any, Any] | None = None) -> JobReview | None:
    """The review of a job folder; ``masks``: its (pre-label, delivered) arrays when already in memory."""
    if not (folder / PRELABEL_PNG).is_file():
        return None
    pre_legend = read_legend(folder / PRELABEL_LEGEND_JSON)
    legend = read_legend(folder / LEGEND_JSON)
    if masks is not None:
        r = review_masks(masks[0], pre_legend, masks[1], legend, reference_id=ref, job_id=job_id, keep_arrays=True)
    else:
        r = review_job(folder / PRELABEL_PNG, pre_legend, folder / DELIVERED_PNG, legend, reference_id=ref,
                       job_id=job_id)
    _write_thumbnail(r, folder / REVIEW_PNG)
    r.prelabel_rgba = r.delivered_rgba = None  # a batch's reviews are kept; their full arrays are not
    r.difference = None
    return r


def _write_thumbnail(r: JobReview, path: Path) -> None:
    """Pre-label | delivered | difference (red where the class changed), each THUMB_WIDTH wide."""
    import numpy as np
    from PIL import Image
    assert r.prelabel_rgba is not None and r.delivered_rgba is not None and r.difference is not None
    step = max(1, r.width // THUMB_WIDTH)
    tiles = []
    for arr in (r.prelabel_rgba, r.delivered_rgba):
        t = np.array(arr[::step, ::step])
        t[t[..., 3] == 0] = [40, 40, 40, 255]
        tiles.append(t)
    d = r.difference[::step, ::step]
    diff = np.full((*d.shape, 4), [40, 40, 40, 255], dtype=np.uint8)
    diff[d] = [255, 40, 40, 255]
    tiles.append(diff)
    gap = np.full((tiles[0].shape[0], 4, 4), 255, dtype=np.uint8)
    Image.fromarray(np.concatenate([tiles[0], gap, tiles[1], gap, tiles[2]], axis=1), "RGBA").save(path, "PNG")


ShapeReviews = list[tuple[str | None, str, ShapesReview]]   # (reference ID, job ID, review) per job


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def write_review_csv(reviews: list[JobReview], path: Path, shapes: ShapeReviews | None = None) -> Path:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(REVIEW_COLUMNS)
        for r in reviews:
            for c in r.classes:
                w.writerow([_cell(r.reference_id), _cell(r.job_id), f"{r.changed_share:.6f}", _cell(c.name),
                            _cell(c.delivered_name), c.kind, "" if c.iou is None else f"{c.iou:.6f}",
                            c.prelabel_pixels, c.delivered_pixels, c.added, c.removed, "mask", "", "", "", "", ""])
        for ref, job_id, sr in shapes or []:
            for lr in sr.labels:
                w.writerow([_cell(ref), _cell(job_id), "", _cell(lr.label), "", lr.kind, _ratio(lr.mean_iou),
                            "", "", "", "", "shapes", lr.prelabel, lr.delivered, lr.matched,
                            _ratio(lr.precision), _ratio(lr.recall)])
    tmp.replace(path)
    return path


def _cell(text: str | None) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    t = one_line(text or "", 300)
    return "'" + t if t[:1] in ("=", "+", "-", "@") else t


def _shapes_html(shapes: ShapeReviews) -> str:
    """The review page's section for vector pre-labels: per job, per label and kind, counts and matches."""
    e = html.escape
    if not shapes:
        return ""
    parts = []
    for ref, job_id, sr in shapes:
        rows = "".join(f"<tr><td>{e(lr.label)}</td><td>{lr.kind}</td><td>{lr.prelabel}</td><td>{lr.delivered}</td>"
                       f"<td>{lr.matched}</td><td>{'' if lr.precision is None else f'{lr.precision:.2f}'}</td>"
                       f"<td>{'' if lr.recall is None else f'{lr.recall:.2f}'}</td>"
                       f"<td>{'' if lr.mean_iou is None else f'{lr.mean_iou:.3f}'}</td></tr>" for lr in sr.labels)
        notes = "".join(f"<p>{e(n)}</p>" for n in sr.left_out)
        parts.append(f"<section><h3>{e(ref or '')} <small>{e(job_id)}</small></h3>{notes}<table><tr><th>label</th>"
                     f"<th>kind</th><th>pre-label</th><th>delivered</th><th>matched</th><th>precision</th>"
                     f"<th>recall</th><th>mean IoU</th></tr>{rows}</table></section>")
    return (f"<h2>Shapes</h2><p>Pre-label and delivered shapes matched per label (IoU at least 0.5, best first); "
            f"lines and landmarks are not reviewed.</p>{''.join(parts)}")


def write_review_html(reviews: list[JobReview], path: Path, out: Path, shapes: ShapeReviews | None = None) -> Path:
    e = html.escape
    rows = []
    for c in corrected_most(reviews)[:20]:
        iou = "" if c.mean_iou is None else f"{c.mean_iou:.3f}"
        rows.append(f"<tr><td>{e(c.name)}</td><td>{c.corrected}</td><td>{c.added}</td><td>{c.removed}</td>"
                    f"<td>{c.jobs}</td><td>{iou}</td></tr>")
    jobs = []
    for r in sorted(reviews, key=lambda r: -r.changed_share):
        folder = folder_name(r.reference_id, r.job_id or "")
        cls = "".join(f"<tr><td>{e(c.name)}</td><td>{e(c.delivered_name or '')}</td><td>{c.kind}</td>"
                      f"<td>{'' if c.iou is None else f'{c.iou:.3f}'}</td><td>{c.added}</td><td>{c.removed}</td></tr>"
                      for c in r.classes)
        jobs.append(f"<section><h3>{e(r.reference_id or '')} <small>{e(r.job_id or '')}</small></h3>"
                    f"<p>{r.changed_share:.2%} of pixels changed</p>"
                    f"<img src=\"{e(folder)}/{REVIEW_PNG}\" alt=\"pre-label, delivered, difference\">"
                    f"<table><tr><th>class</th><th>delivered as</th><th>kind</th><th>IoU</th><th>added</th>"
                    f"<th>removed</th></tr>{cls}</table></section>")
    mean = sum(r.changed_share for r in reviews) / len(reviews) if reviews else 0.0
    page = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Pre-label review</title><style>"
            f"body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;"
            f"padding:2px 6px}}section{{margin:1.5em 0}}</style></head><body><h1>Pre-label review</h1>"
            f"<p>{len(reviews)} job(s) with a pre-label; on average {mean:.2%} of pixels changed. Thumbnails: "
            f"pre-label, delivered, difference (red: class changed).</p><h2>Classes corrected most</h2><table><tr>"
            f"<th>class</th><th>pixels corrected</th><th>added</th><th>removed</th><th>jobs</th><th>mean IoU</th>"
            f"</tr>{''.join(rows)}</table><h2>Jobs</h2>{''.join(jobs)}{_shapes_html(shapes or [])}</body></html>\n")
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path




# ------------------------------------------------------------------------------------ reading a folder back
@dataclass(frozen=True)
class DeliveredJob:
    """One downloaded job: where its files are, and what its download or the folder's ``review.csv`` says.
    Every text in it is sanitised (one line, bounded)."""

    reference_id: str | None
    job_id: str
    folder: Path
    status: str = "on disk"         # a JobDownload status, or "on disk" for a job scan_results found
    message: str | None = None      # why it failed, or what is wrong with its files
    has_prelabel: bool = False
    changed_share: float | None = None           # None: no pre-label (or no review of it), nothing compared
    classes: tuple[ClassReview, ...] = ()        # its review rows (review.csv, or the download's review)
    has_mask: bool = True                        # delivered.png (a vector job has shapes only)
    has_shapes: bool = False                     # shapes.json
    shapes: tuple[LabelReview, ...] = ()         # its shapes review rows, per label and kind

    @property
    def shapes_file(self) -> Path | None:
        return self.folder / SHAPES_JSON if self.has_shapes else None

    @property
    def prelabel_shapes_file(self) -> Path | None:
        path = self.folder / PRELABEL_SHAPES_JSON
        return path if self.has_shapes and _is_file(path) else None

    @property
    def label(self) -> str:
        return self.reference_id or self.job_id

    @property
    def delivered(self) -> Path:
        return self.folder / DELIVERED_PNG

    @property
    def legend(self) -> Path:
        return self.folder / LEGEND_JSON

    @property
    def classes_png(self) -> Path:
        return self.folder / CLASSES_PNG

    @property
    def class_names(self) -> Path:
        return self.folder / CLASSES_TXT

    @property
    def prelabel(self) -> Path | None:
        return self.folder / PRELABEL_PNG if self.has_prelabel else None

    @property
    def prelabel_legend(self) -> Path | None:
        return self.folder / PRELABEL_LEGEND_JSON if self.has_prelabel else None


@dataclass
class ResultsFolder:
    """What :func:`scan_results` found: the jobs (by reference ID, then job ID), and a sentence per damaged
    or skipped file."""

    jobs: list[DeliveredJob] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    review_html: Path | None = None


def delivered_jobs(report: DownloadReport) -> list[DeliveredJob]:
    """The records of a download's jobs (no file is read: the download knows what it wrote)."""
    out = []
    for j in report.jobs:
        r = j.review
        folder = Path(j.folder) if j.folder else Path()
        out.append(DeliveredJob(j.reference_id, j.job_id, folder, j.status,
                                j.message, j.prelabel, None if r is None else r.changed_share,
                                () if r is None else tuple(r.classes), has_mask=_is_file(folder / DELIVERED_PNG),
                                has_shapes=j.shapes,
                                shapes=() if j.shapes_review is None else tuple(j.shapes_review.labels)))
    return out


def _is_file(path: Path) -> bool:
    """A regular file (not a folder, FIFO or device: opening those could block); False when it cannot be told."""
    try:
        return path.is_file()
    except OSError:
        return False


def read_legend(path: Path, what: str = "legend") -> dict[str, str]:
    """A legend file this module wrote (``{"#rrggbb": name}``), read back sanitised. A missing, huge or damaged
    file is a ValidationError whose sentence names the file."""
    def refuse(why: str) -> ValidationError:
        return ValidationError([Problem(str(path), f"the {what} {why}")], message=f"{path}: the {what} {why}")

    if not _is_file(path):
        raise refuse("is missing; download the job again.")
    try:
        if path.stat().st_size > MAX_LEGEND_BYTES:
            raise refuse(f"is larger than {MAX_LEGEND_BYTES >> 20} MB, so it is not a legend; download the job "
                         f"again.")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise refuse("is not UTF-8 text; download the job again.") from None
    except OSError as e:
        raise refuse(f"cannot be read ({e.strerror or type(e).__name__}).") from None
    data, problem = parse_json(text, what=what)
    if problem is not None:
        raise refuse(f"is damaged ({problem.message.rstrip('.')}); download the job again.")
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise refuse("is not an object of colours and class names; download the job again.")
    return {one_line(k, 20): one_line(v, 200) for k, v in data.items()}


def _cell_text(text: str | None, limit: int = 300) -> str:
    """A review.csv cell as written by :func:`_cell`, back to its text (the formula guard removed)."""
    t = one_line(text or "", limit)
    return t[1:] if t[:1] == "'" and t[1:2] in ("=", "+", "-", "@") else t


def _class_of_row(row: dict[str, str | None]) -> ClassReview:
    """One review.csv row as the ClassReview it was written from; ValueError when a cell is not what
    :func:`write_review_csv` writes."""
    kind = (row.get("kind") or "").strip()
    if kind not in KINDS:
        raise ValueError(f"kind {one_line(kind, 30)!r} is not one of {', '.join(KINDS)}")
    pre, dl, added = (int(row.get(k) or "") for k in ("prelabel_pixels", "delivered_pixels", "added"))
    inter = dl - added
    if min(pre, dl, added, inter) < 0 or inter > pre:
        raise ValueError("its pixel counts contradict each other")
    name = _cell_text(row.get("class"), 200)
    if not name:
        raise ValueError("it has no class name")
    return ClassReview(name, _cell_text(row.get("delivered_name"), 200) or None, kind, pre, dl, inter)


Reviewed = tuple[str | None, float, list[ClassReview]]  # (reference ID, changed share, classes) of one job


ShapeRows = dict[str, tuple[str | None, list[LabelReview]]]  # job ID -> (reference ID, its labels' rows)


def _label_of_row(row: dict[str, str | None]) -> LabelReview:
    """One review.csv shapes row as the LabelReview it was written from; ValueError for anything else."""
    kind = (row.get("kind") or "").strip()
    if kind not in ("rectangles", "polygons"):
        raise ValueError(f"shape kind {one_line(kind, 30)!r}")
    pre, dl, matched = (int(row.get(k) or "") for k in ("prelabel_shapes", "delivered_shapes", "matched"))
    if min(pre, dl, matched) < 0 or matched > min(pre, dl):
        raise ValueError("its shape counts contradict each other")
    iou_text = row.get("iou")
    iou = float(iou_text) if iou_text else None
    if iou is not None and not 0.0 <= iou <= 1.0:
        raise ValueError("a mean IoU outside 0..1")
    label = _cell_text(row.get("class"), 200)
    if not label:
        raise ValueError("it has no label")
    return LabelReview(label, kind, pre, dl, matched, iou)


def _read_review_csv(path: Path, problems: list[str], shape_rows: ShapeRows | None = None) -> dict[str, Reviewed]:
    """review.csv as {job ID: (reference ID, changed share, classes)}; a damaged file or row adds a sentence to
    ``problems`` (the other rows are kept)."""
    found: dict[str, Reviewed] = {}
    if not _is_file(path):
        return found
    try:
        size = path.stat().st_size
        if size > MAX_REVIEW_CSV_BYTES:
            problems.append(f"{path} is larger than {MAX_REVIEW_CSV_BYTES >> 20} MB, so its changed shares are not "
                            f"shown; download the results again to rewrite it.")
            return found
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) not in (REVIEW_COLUMNS, MASK_REVIEW_COLUMNS):
                problems.append(f"{path} does not have the columns this tool writes ({', '.join(REVIEW_COLUMNS)}); "
                                f"download the results again to rewrite it.")
                return found
            bad: list[int] = []
            for n, row in enumerate(reader):
                if n >= MAX_REVIEW_ROWS:
                    problems.append(f"{path} has more than {MAX_REVIEW_ROWS:,} lines; only the first ones are "
                                    f"read, so some jobs show no changed share.")
                    break
                try:
                    job_id = _cell_text(row.get("job_id"), 100)
                    if (row.get("annotation") or "mask") == "shapes":
                        if not job_id:
                            raise ValueError("no job ID")
                        label = _label_of_row(row)
                        if shape_rows is not None:
                            shape_rows.setdefault(job_id, (_cell_text(row.get("reference_id")) or None, []))[1].append(
                                label)
                        continue
                    share = float(row.get("changed_share") or "")
                    if not job_id or not 0.0 <= share <= 1.0:
                        raise ValueError("no job ID or a changed share outside 0..1")
                    ref = _cell_text(row.get("reference_id")) or None
                    cls = _class_of_row(row)
                except (ValueError, TypeError):
                    bad.append(reader.line_num)
                    continue
                found.setdefault(job_id, (ref, share, []))[2].append(cls)
            if bad:
                problems.append(f"{path}: {len(bad)} line(s) are damaged (first: line {bad[0]}) and were skipped; "
                                f"download the results again to rewrite it.")
    except UnicodeDecodeError:
        problems.append(f"{path} is not UTF-8 text; download the results again to rewrite it.")
    except (OSError, csv.Error) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else one_line(e, 120)
        problems.append(f"{path} cannot be read ({why}); download the results again to rewrite it.")
    return found


def scan_results(out_dir: str | Path, journal: Journal | None = None) -> ResultsFolder:
    """The jobs whose results are in ``out_dir``: those the journal knows a status of and those ``review.csv``
    lists, wherever their folder (named by :func:`folder_name`) holds a delivered mask. No request to Playment;
    a few file checks per job, at most :data:`MAX_LISTED_JOBS` jobs. Never raises for what the folder holds."""
    out = Path(out_dir)
    found = ResultsFolder()
    shape_rows: ShapeRows = {}
    reviews = _read_review_csv(out / REVIEW_CSV, found.problems, shape_rows)
    known: dict[str, str | None] = {job: r[0] for job, r in reviews.items()}
    known.update({job: r[0] for job, r in shape_rows.items() if job not in known})
    count = len(known)
    if journal is not None and journal.has_remote():
        # the journal's first jobs only (SQLite keeps the first MAX_LISTED_JOBS while it orders them), not every
        # stored status: a journal of 100,000 jobs is not read whole to look for a bounded number of folders
        in_journal = journal.remote_statuses(list(known))  # the review file's jobs the journal knows too
        count += journal.select("SELECT COUNT(*) FROM remote")[0][0] - len(in_journal)
        first = journal.select("SELECT job_id, reference_id FROM remote ORDER BY COALESCE(reference_id, ''), "
                               "job_id LIMIT ?", (MAX_LISTED_JOBS,))
        for job_id, ref in [*first, *((rs.job_id, rs.reference_id) for rs in in_journal.values())]:
            known[job_id] = unkey(ref) if ref is not None else known.get(job_id)
    ids = sorted(known, key=lambda j: (known[j] or "", j))[:MAX_LISTED_JOBS]
    if count > MAX_LISTED_JOBS:
        found.problems.append(f"{count:,} jobs are known; only the first {MAX_LISTED_JOBS:,} are looked for in "
                              f"{out}.")
    for job_id in ids:
        ref = known[job_id]
        folder = out / folder_name(ref, job_id)
        has_mask, has_shapes = _is_file(folder / DELIVERED_PNG), _is_file(folder / SHAPES_JSON)
        if not (has_mask or has_shapes):
            continue
        has_pre = has_mask and _is_file(folder / PRELABEL_PNG)
        message = None
        if has_mask and (not _is_file(folder / LEGEND_JSON)
                         or (has_pre and not _is_file(folder / PRELABEL_LEGEND_JSON))):
            message = f"A legend file is missing in {folder}; download the job again."
        _, share, classes = reviews.get(job_id, (None, None, []))
        found.jobs.append(DeliveredJob(one_line(ref, 300) if ref else None, one_line(job_id, 100), folder,
                                       message=message, has_prelabel=has_pre,
                                       changed_share=share if has_pre else None,
                                       classes=tuple(classes) if has_pre else (), has_mask=has_mask,
                                       has_shapes=has_shapes,
                                       shapes=tuple(shape_rows.get(job_id, (None, []))[1])))
    found.review_html = out / REVIEW_HTML if _is_file(out / REVIEW_HTML) else None
    return found


@dataclass
class DeliveredMasks:
    """One job's masks decoded for display: the delivered RGBA mask, and with a pre-label its review (carrying
    both masks and the difference layer)."""

    delivered: Any                  # (H, W, 4) uint8
    review: JobReview | None


def read_job(job: DeliveredJob) -> DeliveredMasks:
    """Decode a job's masks and review it against its pre-label. A missing or damaged file is a
    ValidationError with one sentence that names the job and its folder."""
    try:
        if job.prelabel is not None and job.prelabel_legend is not None:
            review = review_job(job.prelabel, read_legend(job.prelabel_legend, "pre-label legend"), job.delivered,
                                read_legend(job.legend), reference_id=job.reference_id, job_id=job.job_id,
                                keep_arrays=True)
            return DeliveredMasks(review.delivered_rgba, review)
        return DeliveredMasks(decode_rgba(job.delivered), None)
    except PlaymentError as e:
        problems = e.problems if isinstance(e, ValidationError) else []
        why = "; ".join(f"{Path(p.path).name}: {p.message.rstrip('.')}" if p.path else p.message.rstrip(".")
                        for p in problems) or str(e).rstrip(".")
        raise ValidationError([Problem(str(job.folder), why)],
                              message=f"The results of \"{job.label}\" in {job.folder} could not be read ({why}); "
                                      f"download them again.") from None


def primary_image_url(journal: Journal | None, job: DeliveredJob) -> str | None:
    """The primary image URL the job was sent with (its journalled payload's ``data.image_url``), or None when
    the journal does not hold this job."""
    if journal is None or not job.reference_id:
        return None
    entry = journal.get(job.reference_id)
    if entry is None or entry.job_id != job.job_id or not isinstance(entry.payload, dict):
        return None
    data = entry.payload.get("data")
    url = data.get("image_url") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url.strip() else None
