"""Results: what came back from Playment, and how much the annotators changed each pre-label.

The window downloads (``core.results_download.download_results`` in a worker, the same as ``playment-submit
results``) into the output folder chosen here; this view lists the jobs with their download status and the share
of pixels the annotators changed, and for the job selected draws the pre-label or the delivered mask over the
primary image, a difference layer (red: the pixel's class changed), and the per-class table from
``core.review.review_job`` (class, IoU, pixels added and removed, kept / renamed / introduced / dropped).

Everything read from disk (the folder listing, the two masks, the primary image) is read in a worker, and the
masks are turned into QImages there too; the GUI thread only wraps them in pixmaps. The files are the ones core
wrote per job: ``<folder>/<reference id>-<job id>/`` with ``delivered.png``, ``legend.json`` and, for a job with
a pre-label, ``prelabel.png`` and ``prelabel_legend.json`` (see core/results_download.py).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core.results_download import folder_name
from playment_submit.core.review import JobReview, decode_rgba, review_job
from playment_submit.gui.dialogs import app_settings
from playment_submit.gui.style import set_status
from playment_submit.gui.widgets.primary_panel import load_image, qimage_from_array
from playment_submit.gui.workers import start_worker

FOLDER_KEY = "results/folder"
JOB_COLS = ("Reference ID", "Status", "Changed")
CLASS_COLS = ("Class", "Delivered as", "Kind", "IoU", "Added", "Removed")
STATUS_WORDS = {"downloaded": "downloaded now", "unchanged": "on disk", "no_result": "no result",
                "failed": "failed", "on disk": "on disk"}
LAYERS = ("Delivered", "Pre-label", "No mask")
DIFF_RGBA = (255, 30, 30, 200)


@dataclass
class ResultRow:
    """One job of the list: where its files are and what the download or review said about it."""

    reference_id: str | None
    job_id: str
    folder: Path
    status: str                   # core's JobDownload.status, or "on disk" for a folder found on disk
    message: str | None = None
    changed_share: float | None = None  # None: no pre-label, so nothing to compare

    @property
    def label(self) -> str:
        return self.reference_id or self.job_id


@dataclass
class JobImages:
    """A selected job, read and converted in a worker: QImages ready to become pixmaps, and its review."""

    row: ResultRow
    delivered: QImage
    prelabel: QImage | None
    difference: QImage | None
    primary: QImage | None
    primary_note: str
    review: JobReview | None      # arrays dropped; None without a pre-label


# ------------------------------------------------------------------------------------ worker functions
def scan_folder(out: Path, journal) -> list[ResultRow]:
    """The jobs whose results are already in ``out`` (named as core names them), with the changed share from
    ``review.csv``: what the view lists before (or without) a download. Runs in a worker."""
    shares: dict[str, float] = {}
    try:
        with open(out / "review.csv", newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                try:
                    shares[r["job_id"]] = float(r["changed_share"])
                except (KeyError, TypeError, ValueError):
                    continue
    except OSError:
        pass
    rows = []
    for rs in (journal.remote_statuses() if journal is not None else {}).values():
        folder = out / folder_name(rs.reference_id, rs.job_id)
        if (folder / "delivered.png").is_file():
            rows.append(ResultRow(rs.reference_id, rs.job_id, folder, "on disk", None, shares.get(rs.job_id)))
    return sorted(rows, key=lambda r: (r.reference_id or "", r.job_id))


def rows_from_report(report) -> list[ResultRow]:
    """The rows of a ``core.results_download.DownloadReport``."""
    return [ResultRow(j.reference_id, j.job_id, Path(j.folder) if j.folder else Path(), j.status, j.message,
                      j.review.changed_share if j.review is not None else None) for j in report.jobs]


def _difference_image(difference: np.ndarray) -> QImage:
    layer = np.zeros((*difference.shape, 4), dtype=np.uint8)
    layer[difference] = DIFF_RGBA
    return qimage_from_array(layer)


def _read_legend(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def load_job(row: ResultRow, image_url: str | None) -> JobImages:
    """Read a job's masks (and review it when it had a pre-label) and its primary image. Runs in a worker;
    raises ValueError with a sentence for files that cannot be read."""
    folder = row.folder
    try:
        review = None
        if (folder / "prelabel.png").is_file():
            review = review_job(folder / "prelabel.png", _read_legend(folder / "prelabel_legend.json"),
                                folder / "delivered.png", _read_legend(folder / "legend.json"),
                                reference_id=row.reference_id, job_id=row.job_id, keep_arrays=True)
            assert review.prelabel_rgba is not None and review.delivered_rgba is not None
            assert review.difference is not None
            delivered = qimage_from_array(review.delivered_rgba)
            prelabel: QImage | None = qimage_from_array(review.prelabel_rgba)
            difference: QImage | None = _difference_image(review.difference)
            review.prelabel_rgba = review.delivered_rgba = None  # the QImages hold what is drawn
            review.difference = None
        else:
            delivered, prelabel, difference = qimage_from_array(decode_rgba(folder / "delivered.png")), None, None
    except (OSError, ValueError) as e:
        raise ValueError(f"The results of \"{row.label}\" in {folder} could not be read ({e}); download them "
                         f"again.") from None
    primary, note = None, ""
    if image_url:
        try:
            primary = load_image(image_url)
        except ValueError as e:
            note = f"Primary image not shown: {e}"
    else:
        note = "Primary image not shown: the journal has no image URL for this job."
    return JobImages(row, delivered, prelabel, difference, primary, note, review)


# ------------------------------------------------------------------------------------ the view
class _Canvas(QGraphicsView):
    """The primary image with one mask layer and the difference layer over it; fits the view when resized."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(Qt.GlobalColor.darkGray)
        self.setMinimumSize(200, 150)
        self.base_layer = QGraphicsPixmapItem()
        self.mask_layer = QGraphicsPixmapItem()
        self.diff_layer = QGraphicsPixmapItem()
        for z, item in enumerate((self.base_layer, self.mask_layer, self.diff_layer)):
            item.setZValue(z)
            self.scene().addItem(item)

    def show_job(self, images: JobImages | None) -> None:
        if images is None:
            for item in (self.base_layer, self.mask_layer, self.diff_layer):
                item.setPixmap(QPixmap())
            return
        size = images.delivered.size()
        primary = images.primary
        if primary is not None and primary.size() != size:  # drawn under the mask at the mask's size
            primary = primary.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio)
        self.base_layer.setPixmap(QPixmap.fromImage(primary) if primary is not None else QPixmap())
        self.scene().setSceneRect(QRectF(0, 0, size.width(), size.height()))
        self.fit()

    def fit(self) -> None:
        if not self.scene().sceneRect().isEmpty():
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()


class ResultsView(QWidget):
    """The Results tab. The window connects ``download_requested`` / ``cancel_requested`` to its download
    worker and hands the outcome to :meth:`show_report` / :meth:`show_failure`."""

    download_requested = Signal(str)   # the output folder
    cancel_requested = Signal()
    job_shown = Signal(object)         # JobImages once the selected job is drawn (or the error)

    def __init__(self, journal, parent=None):
        super().__init__(parent)
        self.journal = journal
        self.rows: list[ResultRow] = []
        self.images: JobImages | None = None
        self._load_worker = None
        self._scan_worker = None
        self._pixmaps: dict[str, QPixmap] = {}  # the selected job's layers, by LAYERS name and "Difference"
        lay = QVBoxLayout(self)

        top = QHBoxLayout()
        label = QLabel("Output &folder")
        self.folder = QLineEdit(str(app_settings().value(FOLDER_KEY, "") or ""))
        self.folder.setPlaceholderText("Where results are downloaded (one folder per job)")
        label.setBuddy(self.folder)
        self.choose = QPushButton("Choose…")
        self.download = QPushButton("&Download results")
        self.download.setToolTip("Ask Playment for every journalled job's status, then download the completed "
                                 "jobs' results (only what is new) and review them against their pre-labels")
        self.cancel = QPushButton("Cancel")
        self.cancel.setVisible(False)
        self.open_review = QPushButton("Open review.html")
        self.open_review.setToolTip("The one-page review of every job with a pre-label, in the web browser")
        self.open_review.setEnabled(False)
        top.addWidget(label)
        top.addWidget(self.folder, 1)
        top.addWidget(self.choose)
        top.addWidget(self.download)
        top.addWidget(self.cancel)
        top.addWidget(self.open_review)
        lay.addLayout(top)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        lay.addWidget(self.progress)
        self.summary = QLabel("Choose a folder and download the results of the jobs Playment has completed.")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)

        self.jobs = QTableWidget(0, len(JOB_COLS))
        self.jobs.setHorizontalHeaderLabels(JOB_COLS)
        self.jobs.verticalHeader().setVisible(False)
        self.jobs.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.jobs.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.jobs.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.jobs.setTabKeyNavigation(False)
        header = self.jobs.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.jobs.setMinimumWidth(220)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        show = QLabel("Sho&w")
        self.layer = QComboBox()
        self.layer.addItems(LAYERS)
        self.layer.setToolTip("The mask drawn over the primary image")
        show.setBuddy(self.layer)
        self.difference = QCheckBox("Diff&erence")
        self.difference.setChecked(True)
        self.difference.setToolTip("Red where the annotators changed the pixel's class")
        opacity = QLabel("O&pacity")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setMaximumWidth(140)
        opacity.setBuddy(self.opacity)
        for w in (show, self.layer, self.difference, opacity, self.opacity):
            controls.addWidget(w)
        controls.addStretch(1)
        rl.addLayout(controls)
        self.canvas = _Canvas()
        self.note = QLabel("")
        self.note.setWordWrap(True)
        set_status(self.note, "muted")
        self.classes = QTableWidget(0, len(CLASS_COLS))
        self.classes.setHorizontalHeaderLabels(CLASS_COLS)
        self.classes.verticalHeader().setVisible(False)
        self.classes.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.classes.setTabKeyNavigation(False)
        ch = self.classes.horizontalHeader()
        ch.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        ch.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.addWidget(self.canvas)
        vsplit.addWidget(self.classes)
        vsplit.setStretchFactor(0, 3)
        vsplit.setStretchFactor(1, 1)
        vsplit.setSizes([420, 150])  # the overlay gets the room; the table scrolls
        vsplit.setChildrenCollapsible(False)
        rl.addWidget(vsplit, 1)
        rl.addWidget(self.note)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.jobs)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([280, 700])
        split.setChildrenCollapsible(False)
        lay.addWidget(split, 1)

        self.choose.clicked.connect(self._on_choose_clicked)
        self.folder.editingFinished.connect(lambda: self.set_folder(self.folder.text().strip()))
        self.download.clicked.connect(self._on_download_clicked)
        self.cancel.clicked.connect(self.cancel_requested)
        self.open_review.clicked.connect(self.open_review_page)
        self.jobs.itemSelectionChanged.connect(self._on_selection_changed)
        self.layer.currentIndexChanged.connect(lambda _i: self._draw_layers())
        self.difference.toggled.connect(lambda _b: self._draw_layers())
        self.opacity.valueChanged.connect(lambda _v: self._draw_layers())
        self._update_review_button()

    # ------------------------------------------------------------- folder and download
    def folder_path(self) -> Path | None:
        text = self.folder.text().strip()
        return Path(text).expanduser() if text else None

    def set_folder(self, path: str) -> None:
        """The output folder (remembered in the window's settings); lists what it already holds."""
        self.folder.setText(path)
        app_settings().setValue(FOLDER_KEY, path)
        self.rescan()

    def rescan(self) -> None:
        """List the results already in the folder (no request to Playment), in a worker."""
        out = self.folder_path()
        self._update_review_button()
        if out is None or self.journal is None or not out.is_dir():
            return
        worker = start_worker(scan_folder, out, self.journal, owner=self)
        worker.returned.connect(lambda rows, w=worker: self._on_scanned(w, rows))
        self._scan_worker = worker

    def _on_scanned(self, worker, rows: list[ResultRow]) -> None:
        if worker is not self._scan_worker or self.cancel.isVisible():
            return  # an older folder's listing, or a download is about to list its own
        self.show_rows(rows)
        if rows:
            self.summary.setText(f"{len(rows)} job(s) with results in this folder; select one to compare its "
                                 f"pre-label with what was delivered.")

    def _on_choose_clicked(self) -> None:
        from PySide6.QtWidgets import QFileDialog
        start = self.folder.text().strip() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Download results into", start)
        if path:
            self.set_folder(path)

    def _on_download_clicked(self) -> None:
        if self.folder_path() is None:
            self._on_choose_clicked()
        out = self.folder_path()
        if out is None:
            self.show_failure("Choose the folder to download the results into first.")
            return
        app_settings().setValue(FOLDER_KEY, str(out))
        self.download_requested.emit(str(out))

    def set_busy(self, busy: bool) -> None:
        self.download.setEnabled(not busy)
        self.choose.setEnabled(not busy)
        self.folder.setEnabled(not busy)
        self.cancel.setVisible(busy)
        self.cancel.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
            self.progress.setFormat("Asking Playment for the statuses…")
            self.summary.setText("")
            set_status(self.summary, None)

    def show_progress(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} of {total} completed jobs")
        self.progress.setToolTip(f"Last: job {what}")

    def stopping(self) -> None:
        self.cancel.setEnabled(False)
        self.progress.setFormat("Stopping after the current job…")

    def show_report(self, report, stopped: bool = False) -> None:
        """A ``DownloadReport``: the jobs listed with their status and changed share, the counts above."""
        self.show_rows(rows_from_report(report))
        counts = report.counts()
        parts = [f"{counts[k]} {STATUS_WORDS.get(k, k)}" for k in ("downloaded", "unchanged", "no_result", "failed")
                 if counts.get(k)]
        text = (f"{len(report.jobs)} completed job(s): " + ", ".join(parts) + "." if report.jobs else
                "No job of this journal is completed on Playment yet; try again later.")
        if report.statuses is not None:
            text += " Statuses: " + report.statuses.summary()
        failed = [j for j in report.jobs if j.status == "failed"]
        if failed:
            text += f" First failure: {failed[0].message}"
        self.summary.setText(("Stopped. " if stopped else "") + text)
        set_status(self.summary, "warning" if failed else None)
        self._update_review_button()

    def show_failure(self, message: str) -> None:
        self.summary.setText(message)
        set_status(self.summary, "error")

    def _update_review_button(self) -> None:
        self.open_review.setEnabled(self.review_page() is not None)

    def review_page(self) -> Path | None:
        out = self.folder_path()
        return out / "review.html" if out is not None and (out / "review.html").is_file() else None

    def open_review_page(self) -> None:
        page = self.review_page()
        if page is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(page)))

    # ------------------------------------------------------------- the list and the selected job
    def show_rows(self, rows: list[ResultRow]) -> None:
        selected = self.selected_row()
        keep = selected.job_id if selected is not None else None
        self.rows = rows
        self.jobs.setRowCount(0)
        self.jobs.setRowCount(len(rows))
        for n, r in enumerate(rows):
            share = "no pre-label" if r.changed_share is None else f"{r.changed_share:.1%}"
            cells = (r.label, STATUS_WORDS.get(r.status, r.status), share)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                tip = [f"Job {r.job_id}", str(r.folder)] + ([r.message] if r.message else [])
                item.setToolTip("\n".join(tip))
                if c == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.jobs.setItem(n, c, item)
        index = next((n for n, r in enumerate(rows) if r.job_id == keep), 0 if rows else -1)
        if index >= 0:
            self.jobs.selectRow(index)
        else:
            self._show_images(None)

    def selected_row(self) -> ResultRow | None:
        picked = self.jobs.selectionModel().selectedRows()
        return self.rows[picked[0].row()] if picked and picked[0].row() < len(self.rows) else None

    def _on_selection_changed(self) -> None:
        row = self.selected_row()
        if row is None:
            self._show_images(None)
            return
        if row.status in ("failed", "no_result"):
            self._show_images(None)
            self.note.setText(row.message or "Playment has no result for this job.")
            return
        self.note.setText(f"Reading the results of \"{row.label}\"…")
        entry = self._journal_entry(row)
        image_url = entry.payload.get("data", {}).get("image_url") if entry is not None and isinstance(
            entry.payload, dict) and isinstance(entry.payload.get("data"), dict) else None
        worker = start_worker(load_job, row, image_url if isinstance(image_url, str) else None, owner=self)
        worker.returned.connect(lambda images, w=worker: self._on_loaded(w, images))
        worker.errored.connect(lambda e, w=worker: self._on_load_failed(w, e))
        self._load_worker = worker

    def _journal_entry(self, row: ResultRow):
        if self.journal is None or not row.reference_id:
            return None
        entry = self.journal.get(row.reference_id)
        return entry if entry is not None and entry.job_id == row.job_id else None

    def _on_loaded(self, worker, images: JobImages) -> None:
        if worker is not self._load_worker:
            return  # another job was selected meanwhile
        self._load_worker = None
        self._show_images(images)
        self.job_shown.emit(images)

    def _on_load_failed(self, worker, error) -> None:
        if worker is not self._load_worker:
            return
        self._load_worker = None
        self._show_images(None)
        self.note.setText(str(error))
        set_status(self.note, "error")
        self.job_shown.emit(error)

    def _show_images(self, images: JobImages | None) -> None:
        self.images = images
        self.canvas.show_job(images)
        self._pixmaps = {}
        if images is not None:
            self._pixmaps["Delivered"] = QPixmap.fromImage(images.delivered)
            if images.prelabel is not None:
                self._pixmaps["Pre-label"] = QPixmap.fromImage(images.prelabel)
            if images.difference is not None:
                self._pixmaps["Difference"] = QPixmap.fromImage(images.difference)
        has_pre = images is not None and images.prelabel is not None
        self.difference.setEnabled(has_pre)
        self.layer.model().item(LAYERS.index("Pre-label")).setEnabled(has_pre)
        if not has_pre and self.layer.currentText() == "Pre-label":
            self.layer.setCurrentIndex(0)
        self._draw_layers()
        self._show_classes(images)
        set_status(self.note, "muted")
        if images is None:
            self.note.setText("")
            return
        notes = [] if has_pre else ["This job had no pre-label: only the delivered mask is shown."]
        r = images.review
        if r is not None:
            notes.append(f"{r.changed_share:.1%} of the pixels changed class.")
            if r.renamed():
                notes.append("Renamed: " + ", ".join(f"{a} → {b}" for a, b in r.renamed()) + ".")
            if r.introduced():
                notes.append("Introduced: " + ", ".join(r.introduced()) + ".")
        if images.primary_note:
            notes.append(images.primary_note)
        self.note.setText(" ".join(notes))

    def _draw_layers(self) -> None:
        pixmaps = self._pixmaps
        self.canvas.mask_layer.setPixmap(pixmaps.get(self.layer.currentText(), QPixmap()))
        self.canvas.mask_layer.setOpacity(self.opacity.value() / 100)
        show_diff = self.difference.isChecked() and self.difference.isEnabled()
        self.canvas.diff_layer.setPixmap(pixmaps.get("Difference", QPixmap()) if show_diff else QPixmap())
        self.canvas.diff_layer.setOpacity(max(0.3, self.opacity.value() / 100))

    def _show_classes(self, images: JobImages | None) -> None:
        classes = images.review.classes if images is not None and images.review is not None else []
        self.classes.setRowCount(len(classes))
        for n, c in enumerate(classes):
            delivered = c.delivered_name if c.delivered_name and c.delivered_name != c.name else ""
            iou = "—" if c.iou is None else f"{c.iou:.3f}"
            cells = (c.name, delivered, c.kind, iou, f"{c.added:,}", f"{c.removed:,}")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.classes.setItem(n, col, item)
