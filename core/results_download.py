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
server-provided string escaped). No Qt.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import PlaymentClient
from .errors import PlaymentError, Problem, ValidationError
from .journal import Journal
from .review import JobReview, _pixel_key, class_index, corrected_most, review_job, review_masks
from .sanitise import one_line
from .status import StatusReport, refresh_statuses

Progress = Callable[[int, int, str], Any]
REVIEW_COLUMNS = ("reference_id", "job_id", "changed_share", "class", "delivered_name", "kind", "iou",
                  "prelabel_pixels", "delivered_pixels", "added", "removed")
THUMB_WIDTH = 240


@dataclass
class JobDownload:
    reference_id: str | None
    job_id: str
    status: str                     # "downloaded" | "unchanged" | "no_result" | "failed"
    folder: str | None = None
    message: str | None = None
    review: JobReview | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        r = self.review
        return {"reference_id": self.reference_id, "job_id": self.job_id, "status": self.status,
                "folder": self.folder, "message": self.message,
                "changed_share": None if r is None else round(r.changed_share, 6),
                "classes": [] if r is None else [c.to_dict() for c in r.classes]}


@dataclass
class DownloadReport:
    jobs: list[JobDownload] = field(default_factory=list)
    statuses: StatusReport | None = None
    review_csv: Path | None = None
    review_html: Path | None = None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in self.jobs:
            out[j.status] = out.get(j.status, 0) + 1
        return out


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


def _decode_png(data: bytes, what: str) -> Any:
    import numpy as np
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG":
                raise ValidationError([Problem(what, f"the {what} is {im.format or 'not an image'}, not a PNG.")])
            return np.asarray(im.convert("RGBA"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise ValidationError([Problem(what, f"the {what} is not a readable PNG ({one_line(e, 80)}).")]) from None


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_classes(folder: Path, rgba: Any, legend: dict[str, str]) -> None:
    """classes.png (uint8 when it fits, else 16-bit) and classes.txt, numbered in legend order."""
    import numpy as np
    from PIL import Image

    from .legend import check_legend
    clean, _ = check_legend(legend)
    keys = {_pixel_key(c): i for i, c in enumerate(clean, 1)}
    idx = class_index(rgba, keys)
    img = Image.fromarray(idx.astype(np.uint8)) if len(keys) < 256 else Image.fromarray(idx.astype(np.uint16))
    img.save(folder / "classes.png", format="PNG", compress_level=1)
    (folder / "classes.txt").write_text("".join(f"{clean[c]}\n" for c in clean), encoding="utf-8")


def download_results(journal: Journal, client: PlaymentClient, out_dir: str | Path, *, batch_id: str | None = None,
                     progress: Progress | None = None, cancel: threading.Event | None = None,
                     refresh: bool = True, review: bool = True) -> DownloadReport:
    """Download, convert and review every completed job (``batch_id``: of that batch). ``refresh``: ask
    Playment for statuses first (:func:`core.status.refresh_statuses`). Per-job failures are reported on the
    job, never raised; the review files are rewritten from every job on disk, old and new."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = DownloadReport()
    if refresh:
        report.statuses = refresh_statuses(journal, client, batch_id=batch_id, cancel=cancel)
    remote = journal.remote_statuses()
    payloads = {e.job_id: e for e in journal.entries() if e.job_id}
    done = [rs for rs in remote.values()
            if (rs.status or "").strip().lower() == "completed" and (batch_id is None or rs.batch_id == batch_id)]
    done.sort(key=lambda rs: (rs.reference_id or "", rs.job_id))
    for n, rs in enumerate(done):
        if cancel is not None and cancel.is_set():
            break
        entry = payloads.get(rs.job_id)
        ref = rs.reference_id or (entry.reference_id if entry else None)
        folder = out / folder_name(ref, rs.job_id)
        job = JobDownload(ref, rs.job_id, "unchanged", str(folder))
        try:
            masks = None  # (pre-label, delivered) just decoded: the review does not read them back from disk
            if not (rs.fetched_url and (folder / "delivered.png").is_file()):
                job.status, masks = _download_one(client, journal, rs.job_id, folder,
                                                  entry.payload if entry else None)
            if review and job.status in ("downloaded", "unchanged"):
                job.review = _review_folder(folder, ref, rs.job_id, masks)
        except PlaymentError as e:
            job.status, job.message = "failed", str(e)
        except OSError as e:
            job.status, job.message = "failed", f"{e.filename or folder}: {e.strerror or type(e).__name__}."
        report.jobs.append(job)
        if progress is not None:
            progress(n + 1, len(done), rs.job_id)
    if review:
        reviews = [j.review for j in report.jobs if j.review is not None]
        report.review_csv = write_review_csv(reviews, out / "review.csv")
        report.review_html = write_review_html(reviews, out / "review.html", out)
    return report


def _download_one(client: PlaymentClient, journal: Journal, job_id: str, folder: Path,
                  payload: dict[str, Any] | None) -> tuple[str, tuple[Any, Any] | None]:
    """Fetch, check and write one job's result: its status word, and (pre-label, delivered) RGBA arrays when
    both were written."""
    info = client.get_job(job_id)
    found = result_of(info.result)
    if found is None:
        return "no_result", None
    url, legend = found
    rgba = _decode_png(client.fetch_attachment(url), "delivered mask")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "delivered.png").write_bytes(_png(rgba))
    _write_json(folder / "legend.json", legend)
    _write_json(folder / "result.json", {"url": one_line(url, 2000), "legend": legend})
    _write_classes(folder, rgba, legend)
    pre = result_of((payload or {}).get("data", {}).get("maker_response")) if isinstance(payload, dict) else None
    pre_rgba = None
    if pre is not None:
        pre_url, pre_legend = pre
        try:
            pre_rgba = _decode_png(client.fetch_attachment(pre_url), "pre-label mask")
        except PlaymentError:
            pre_rgba = None  # the delivered result is still worth having; the review skips this job
        if pre_rgba is not None:
            (folder / "prelabel.png").write_bytes(_png(pre_rgba))
            _write_json(folder / "prelabel_legend.json", pre_legend)
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
    if not (folder / "prelabel.png").is_file():
        return None
    pre_legend = json.loads((folder / "prelabel_legend.json").read_text(encoding="utf-8"))
    legend = json.loads((folder / "legend.json").read_text(encoding="utf-8"))
    if masks is not None:
        r = review_masks(masks[0], pre_legend, masks[1], legend, reference_id=ref, job_id=job_id, keep_arrays=True)
    else:
        r = review_job(folder / "prelabel.png", pre_legend, folder / "delivered.png", legend, reference_id=ref,
                       job_id=job_id)
    _write_thumbnail(r, folder / "review.png", pre_legend, legend)
    r.prelabel_rgba = r.delivered_rgba = None  # a batch's reviews are kept; their full arrays are not
    r.difference = None
    return r


def _write_thumbnail(r: JobReview, path: Path, pre_legend: dict[str, str], legend: dict[str, str]) -> None:
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


def write_review_csv(reviews: list[JobReview], path: Path) -> Path:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(REVIEW_COLUMNS)
        for r in reviews:
            for c in r.classes:
                w.writerow([_cell(r.reference_id), r.job_id, f"{r.changed_share:.6f}", _cell(c.name),
                            _cell(c.delivered_name), c.kind, "" if c.iou is None else f"{c.iou:.6f}",
                            c.prelabel_pixels, c.delivered_pixels, c.added, c.removed])
    tmp.replace(path)
    return path


def _cell(text: str | None) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    t = one_line(text or "", 300)
    return "'" + t if t[:1] in ("=", "+", "-", "@") else t


def write_review_html(reviews: list[JobReview], path: Path, out: Path) -> Path:
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
                    f"<img src=\"{e(folder)}/review.png\" alt=\"pre-label, delivered, difference\">"
                    f"<table><tr><th>class</th><th>delivered as</th><th>kind</th><th>IoU</th><th>added</th>"
                    f"<th>removed</th></tr>{cls}</table></section>")
    mean = sum(r.changed_share for r in reviews) / len(reviews) if reviews else 0.0
    page = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Pre-label review</title><style>"
            f"body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;"
            f"padding:2px 6px}}section{{margin:1.5em 0}}</style></head><body><h1>Pre-label review</h1>"
            f"<p>{len(reviews)} job(s) with a pre-label; on average {mean:.2%} of pixels changed. Thumbnails: "
            f"pre-label, delivered, difference (red: class changed).</p><h2>Classes corrected most</h2><table><tr>"
            f"<th>class</th><th>pixels corrected</th><th>added</th><th>removed</th><th>jobs</th><th>mean IoU</th>"
            f"</tr>{''.join(rows)}</table><h2>Jobs</h2>{''.join(jobs)}</body></html>\n")
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


