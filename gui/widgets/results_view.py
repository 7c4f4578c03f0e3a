"""Results: what came back from Playment, and how much the annotators changed each pre-label.

The window downloads (``core.delivered.download_results`` in a worker, the same as ``playment-submit results``)
into the output folder chosen here; this view lists the jobs with their download status and the share of pixels
the annotators changed, and for the job selected draws the pre-label or the delivered mask over the primary
image, a difference layer (red: the pixel's class changed), and the per-class table from ``core.review``
(class, IoU, pixels added and removed, kept / renamed / introduced / dropped).

It renders what core says and reads no file itself: the folder is listed by ``core.delivered.scan_results``
and a job's masks are decoded and reviewed by ``core.delivered.read_job`` (see results_canvas.py), both in a
worker; the GUI thread only wraps the QImages in pixmaps.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
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

from playment_submit.core.delivered import DeliveredJob, DownloadReport, ResultsFolder, delivered_jobs, scan_results
from playment_submit.gui.dialogs import app_settings
from playment_submit.gui.style import set_status
from playment_submit.gui.widgets.results_canvas import JobImages, ResultsCanvas, load_job
from playment_submit.gui.workers import Worker, start_worker

FOLDER_KEY = "results/folder"
JOB_COLS = ("Reference ID", "Status", "Changed")
CLASS_COLS = ("Class", "Delivered as", "Kind", "IoU", "Added", "Removed")
STATUS_WORDS = {"downloaded": "downloaded now", "unchanged": "on disk", "no_result": "no result",
                "failed": "failed", "on disk": "on disk"}
LAYERS = ("Delivered", "Pre-label", "No mask")


class ResultsView(QWidget):
    """The Results tab. The window connects ``download_requested`` / ``cancel_requested`` to its download
    worker and hands the outcome to :meth:`show_report` / :meth:`show_failure`."""

    download_requested = Signal(str)   # the output folder
    cancel_requested = Signal()
    job_shown = Signal(object)         # JobImages once the selected job is drawn (or the error)

    def __init__(self, journal: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.journal = journal
        # The session's client for the primary image when it is on the API's own host (the window sets it).
        self.preview_client: Callable[[], Any] = lambda: None
        self.rows: list[DeliveredJob] = []
        self.images: JobImages | None = None
        self._load_worker: Worker | None = None
        self._scan_worker: Worker | None = None
        self._review_html: Path | None = None  # the folder's review page, as the last scan or download said
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
        self.canvas = ResultsCanvas()
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
        self._review_html = None
        self._update_review_button()
        if out is None or self.journal is None:
            return
        worker = start_worker(scan_results, out, self.journal, owner=self)
        worker.returned.connect(lambda found, w=worker: self._on_scanned(w, found))
        self._scan_worker = worker

    def _on_scanned(self, worker: Worker, found: ResultsFolder) -> None:
        if worker is not self._scan_worker or self.cancel.isVisible():
            return  # an older folder's listing, or a download is about to list its own
        self._review_html = found.review_html
        self._update_review_button()
        self.show_rows(found.jobs)
        text = (f"{len(found.jobs)} job(s) with results in this folder; select one to compare its pre-label with "
                f"what was delivered." if found.jobs else "")
        if found.problems:
            text = " ".join([text, *found.problems]).strip()
        if text:
            self.summary.setText(text)
            set_status(self.summary, "warning" if found.problems else None)

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
        self.progress.setFormat("Stopping after the jobs being downloaded…")

    def show_report(self, report: DownloadReport, stopped: bool = False) -> None:
        """A ``DownloadReport``: the jobs listed with their status and changed share, the counts above."""
        if report.review_html is not None:
            self._review_html = report.review_html
        self.show_rows(delivered_jobs(report))
        counts = report.counts()
        parts = [f"{counts[k]} {STATUS_WORDS.get(k, k)}" for k in ("downloaded", "unchanged", "no_result", "failed")
                 if counts.get(k)]
        total = sum(counts.values())
        text = (f"{total} completed job(s): " + ", ".join(parts) + "." if total else
                "No job of this journal is completed on Playment yet; try again later.")
        if not report.listed_all:
            text += f" The first {len(report.jobs):,} are listed."
        if report.statuses is not None:
            text += " Statuses: " + report.statuses.summary()
        if report.first_failure is not None:
            text += f" First failure: {report.first_failure}"
        self.summary.setText(("Stopped. " if stopped else "") + text)
        set_status(self.summary, "warning" if report.first_failure is not None else None)
        self._update_review_button()

    def show_failure(self, message: str) -> None:
        self.summary.setText(message)
        set_status(self.summary, "error")

    def _update_review_button(self) -> None:
        self.open_review.setEnabled(self.review_page() is not None)

    def review_page(self) -> Path | None:
        """The folder's one-page review, when the last scan or download found or wrote one."""
        return self._review_html

    def open_review_page(self) -> None:
        page = self.review_page()
        if page is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(page)))

    # ------------------------------------------------------------- the list and the selected job
    def show_rows(self, rows: list[DeliveredJob]) -> None:
        selected = self.selected_row()
        keep = selected.job_id if selected is not None else None
        self.rows = rows
        self.jobs.setRowCount(0)
        self.jobs.setRowCount(len(rows))
        for n, r in enumerate(rows):
            share = "no pre-label" if r.changed_share is None else f"{r.changed_share:.1%}"
            if r.shapes:  # shapes reviewed: how many of those sent were kept
                kept, sent = sum(lr.matched for lr in r.shapes), sum(lr.prelabel for lr in r.shapes)
                shapes = f"{kept} of {sent} shapes kept"
                share = shapes if r.changed_share is None else f"{share}; {shapes}"
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

    def selected_row(self) -> DeliveredJob | None:
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
        worker = start_worker(load_job, row, self.journal, self.preview_client(), owner=self)
        worker.returned.connect(lambda images, w=worker: self._on_loaded(w, images))
        worker.errored.connect(lambda e, w=worker: self._on_load_failed(w, e))
        self._load_worker = worker

    def _on_loaded(self, worker: Worker, images: JobImages) -> None:
        if worker is not self._load_worker:
            return  # another job was selected meanwhile
        self._load_worker = None
        self._show_images(images)
        self.job_shown.emit(images)

    def _on_load_failed(self, worker: Worker, error: BaseException) -> None:
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
        if images is not None and images.delivered is not None:
            self._pixmaps["Delivered"] = QPixmap.fromImage(images.delivered)
            if images.prelabel is not None:
                self._pixmaps["Pre-label"] = QPixmap.fromImage(images.prelabel)
            if images.difference is not None:
                self._pixmaps["Difference"] = QPixmap.fromImage(images.difference)
        has_pre = images is not None and images.prelabel is not None
        sent_shapes = images is not None and images.prelabel_shapes is not None
        self.difference.setEnabled(has_pre)
        model = self.layer.model()
        if isinstance(model, QStandardItemModel):  # QComboBox's own model: a disabled item cannot be chosen
            item = model.item(LAYERS.index("Pre-label"))
            if item is not None:
                item.setEnabled(has_pre or sent_shapes)
        if not (has_pre or sent_shapes) and self.layer.currentText() == "Pre-label":
            self.layer.setCurrentIndex(0)
        self._draw_layers()
        self._show_classes(images)
        set_status(self.note, "muted")
        if images is None:
            self.note.setText("")
            return
        vector = images.delivered is None
        if vector:
            notes = ["A vector job: its delivered shapes are drawn" + (" (Show: Pre-label draws those sent)."
                                                                       if sent_shapes else ".")]
        elif has_pre:
            notes = []
        else:
            notes = ["This job had no pre-label: only the delivered mask is shown, and there is no class-by-class "
                     "comparison."]
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
        images = self.images
        sent = self.layer.currentText() == "Pre-label"
        self.canvas.show_shapes(None if images is None else images.prelabel_shapes if sent else images.shapes)

    def _show_classes(self, images: JobImages | None) -> None:
        classes = images.review.classes if images is not None and images.review is not None else []
        labels = list(images.row.shapes) if images is not None else []
        # no pre-label: nothing to compare class by class, so no empty table (the note says why)
        self.classes.setVisible(images is None or images.review is not None or bool(labels))
        self.classes.setRowCount(len(classes) + len(labels))
        for n, lr in enumerate(labels, start=len(classes)):  # shapes: matched per label and kind
            iou = "—" if lr.mean_iou is None else f"{lr.mean_iou:.3f}"
            cells = (lr.label, "", f"{lr.kind}: {lr.matched} of {lr.prelabel} kept", iou,
                     f"{lr.delivered - lr.matched:,}", f"{lr.prelabel - lr.matched:,}")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.classes.setItem(n, col, item)
        for n, c in enumerate(classes):
            delivered = c.delivered_name if c.delivered_name and c.delivered_name != c.name else ""
            iou = "—" if c.iou is None else f"{c.iou:.3f}"
            cells = (c.name, delivered, c.kind, iou, f"{c.added:,}", f"{c.removed:,}")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.classes.setItem(n, col, item)
