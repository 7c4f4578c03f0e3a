"""The window's job files: New, Open, Save, Save as, the unsaved-work prompt, autosave and restore.

The job itself is core's :class:`~playment_submit.core.draft.JobDraft` (it reads, writes and autosaves the
documented payload; core.mask_files says which masks live in the app's folder). This is the Qt side: file
dialogs, prompts, the window title, and when an autosave is due.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from playment_submit.core import draft as drafts
from playment_submit.core import mask_files
from playment_submit.core.errors import PlaymentError, ValidationError
from playment_submit.core.job import RasterPrelabel, is_local_path
from playment_submit.gui.dialogs import open_file, save_file
from playment_submit.gui.workers import start_worker
from playment_submit.resources import sample_classes, sample_job_files

if TYPE_CHECKING:
    from playment_submit.gui.main_window import MainWindow

JOB_FILTER = "Job files (*.json)"
OPEN_FILTER = ("Jobs and images (*.json *.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp);;" + JOB_FILTER
               + ";;Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)")


class DraftFiles(QObject):
    """Opening, saving and autosaving ``window``'s draft."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self._autosaved: str | None = None
        # Masks the app wrote that no draft refers to any more, old or over the size cap, go (in a worker).
        QTimer.singleShot(0, self._clean_unused_masks)

    def _clean_unused_masks(self) -> None:
        found = drafts.read_autosave()
        keep = [p for p in (found.spec().local_paths() if found is not None else [])]
        keep += self.w.draft.spec().local_paths()
        start_worker(mask_files.clean_unused, keep, owner=self.w)

    # ------------------------------------------------------------------------------ prompts
    def ask_unsaved(self, doing: str) -> str:
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved job",
                          f"The job in the form is not saved. Save it before {doing}?", parent=self.w)
        box.setInformativeText("Discarding loses the images, cameras and mask chosen for it.")
        box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                               | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(QMessageBox.StandardButton(answer), "cancel")

    def confirm_unsaved(self, doing: str) -> bool:
        """True when the form may be replaced (nothing unsaved, saved now, or discarded on purpose)."""
        if not self.w.is_modified():
            return True
        answer = self.w.ask_unsaved(doing)  # the window's: tests replace that one method
        if answer == "save":
            return self.save_job()
        return answer == "discard"

    # ------------------------------------------------------------------------------ state
    def mark_saved(self) -> None:
        self.w.draft.mark_saved()
        drafts.clear_autosave()
        self._autosaved = None
        self.update_title()

    def update_title(self) -> None:
        path = self.w.draft.path
        name = path.name if path is not None else "new job"
        sandbox = " — Sandbox" if self.w.session.sandbox_mode else ""
        self.w.setWindowTitle(f"{name}[*] — playment-submit{sandbox}")
        self.w.setWindowModified(self.w.is_modified())

    def when_loaded(self, step: Any) -> None:
        """Run ``step`` once nothing is loading any more (image, mask, file addresses)."""
        def poll() -> None:
            if self.w.loading() or self.w.after_primary is not None:
                QTimer.singleShot(50, self, poll)
            else:
                step()
        # ``self`` as the timers' context: a window closed (and deleted) meanwhile is not polled any more
        QTimer.singleShot(0, self, poll)

    def autosave(self) -> None:
        """Keep unsaved work where the next start finds it (only when it changed since the last write)."""
        if self.w.after_primary is not None or self.w.loading() or self.w.close_when_idle.isActive():
            return  # half loaded (not the user's work yet), or closing after the user chose
        draft = self.w.draft
        if not draft.is_modified():
            if self._autosaved is not None:
                drafts.clear_autosave()
                self._autosaved = None
        elif draft.key() != self._autosaved:
            drafts.write_autosave(draft)
            self._autosaved = draft.key()
        self.update_title()

    # ------------------------------------------------------------------------------ actions
    def new_job(self) -> bool:
        if not self.confirm_unsaved("starting a new job"):
            return False
        self.show(drafts.JobDraft())
        self.mark_saved()
        self.w.inputs.setCurrentWidget(self.w.primary)
        self.w.statusBar().showMessage("New job.", 5000)
        return True

    def choose_and_open(self) -> None:
        path = open_file(self.w, "jobs", "Open a job file or an image", OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        """A job file (.json) replaces the form (after asking); an image becomes the primary image."""
        if not path.lower().endswith(".json"):
            self.w.tabs.setCurrentIndex(0)
            self.w.primary.set_value(path)
            return True
        if not self.confirm_unsaved("opening another job"):
            return False
        try:
            draft = drafts.JobDraft.read(path)
        except PlaymentError as e:
            self._say_not_opened(e)
            return False
        self.show(draft)
        self.when_loaded(self.mark_saved)
        self.w.statusBar().showMessage(f"Opened {Path(path).name}.", 8000)
        return True

    def open_job_data(self, data: dict[str, Any], source: str) -> bool:
        """A job handed over as payload data (a Bulk row, a History entry): replaces the form after asking,
        stays unsaved (it is not a file of its own)."""
        if not self.confirm_unsaved("opening another job"):
            return False
        try:
            draft = drafts.JobDraft.from_data(data, source=source, origin=source, base_dir=Path.cwd())
        except PlaymentError as e:
            self._say_not_opened(e)
            return False
        draft.mark_unsaved()
        self.show(draft)
        self.w.statusBar().showMessage(f"Opened a job from {source}; it is not saved as a file yet.", 8000)
        return True

    def _say_not_opened(self, error: PlaymentError) -> None:
        text = ("\n".join(p.text("gui") for p in error.problems) if isinstance(error, ValidationError)
                else str(error))
        QMessageBox.warning(self.w, "Job not opened", f"The job was not opened:\n{text}")

    def load_prelabel(self, prelabel: RasterPrelabel) -> None:
        """A job's local mask and legend, checked by the mask panel as if chosen there."""
        legend = prelabel.legend if isinstance(prelabel.legend, dict) else {}
        self.w.mask_panel.load(str(prelabel.url), legend)

    def save_job(self, ask: bool = False) -> bool:
        """Save the draft as a job file (File > Save job; asks for a name the first time). True when saved."""
        draft = self.w.draft
        path = draft.path
        if ask or path is None:
            suggested = (self.w.job.reference_id.text().strip() or "job") + ".json"
            chosen = save_file(self.w, "jobs", "Save the job as", suggested, JOB_FILTER)
            if not chosen:
                return False
            path = Path(chosen if chosen.lower().endswith(".json") else chosen + ".json")
        return self.save_job_as(path)

    def save_job_as(self, path: Path) -> bool:
        """Save the draft as the job file ``path`` (offering to copy an app-kept mask beside it)."""
        draft = self.w.draft
        self._offer_mask_copy(path.parent)
        try:
            draft.write(path)
        except PlaymentError as e:
            QMessageBox.warning(self.w, "Job not saved", str(e))
            return False
        self.mark_saved()
        self.w.statusBar().showMessage(f"Saved {path}.", 8000)
        return True

    def _offer_mask_copy(self, folder: Path) -> None:
        """A mask kept in the app's own folder would tie a shared job file to this computer: offer to copy
        it beside the job file."""
        state = self.w.mask_state
        if state is None or state.path is None or state.url is not None or not mask_files.in_app_folder(state.path):
            return
        if self.w.ask_copy_mask(state.path.name, folder) != "copy":
            return
        try:
            copy = mask_files.copy_beside(state.path, folder)
        except OSError as e:
            QMessageBox.warning(self.w, "Mask not copied", f"The mask could not be copied to {folder}: "
                                f"{e.strerror or e}. The job file names it where the app keeps it.")
            return
        self.w.draft.set_prelabel(str(copy), state.legend)
        state.path = copy

    def restore_autosave(self) -> bool:
        """Bring back the unsaved job a crash or a killed process left (start-up). True when one was."""
        found = drafts.read_autosave()
        if found is None:
            return False
        if not self.ask_restore(found.summary()):
            drafts.clear_autosave()  # declined: not offered again at the next start
            return False
        self.show(found)
        self.w.statusBar().showMessage("Restored the job that was not saved when the app last closed.", 15000)
        return True

    def ask_restore(self, summary: str) -> bool:
        """Offer the unsaved work back (tests replace this one method): True to restore it."""
        box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved work?",
                          f"{summary[:1].upper()}{summary[1:]} was not saved when the app last closed. Restore it?",
                          parent=self.w)
        restore = box.addButton("&Restore", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("&Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(restore)
        box.exec()
        return box.clickedButton() is restore

    # ------------------------------------------------------------------------------ the form from the draft
    def show(self, draft: drafts.JobDraft) -> None:
        """Make ``draft`` the job being edited and fill the form from it; the mask is loaded after the primary
        image (its size checks the mask), a URL mask is listed by its URL and legend."""
        self.w.after_primary = None
        self.w.suggested_ref = ""
        self.w.filling = True
        try:
            self.w.draft = draft
            spec = draft.spec(self.w.session.workflow_id)
            self.w.primary.set_value("")
            self.w.references.clear()
            self.w.mask_panel.clear()
            self.w.shapes.set_fragment(draft.shapes())
            self.w.job.reference_id.setText(spec.reference_id if isinstance(spec.reference_id, str) else "")
            self.select_batch(spec.batch_id)
            for r in spec.references:
                self.w.references.add(str(r.image_url or ""), str(r.label or ""))
            self.w.job.clear_outcome()
            self.w.hover.setText(" ")
            self.w.failure_key = None
        finally:
            self.w.filling = False
        prelabel = spec.prelabel
        if prelabel is not None and isinstance(prelabel.url, str) and is_local_path(prelabel.url):
            self.w.after_primary = lambda p=prelabel: self.load_prelabel(p)
        elif prelabel is not None:
            self.w.filling = True
            try:
                self.w.mask_panel.show_remote(str(prelabel.url or ""), prelabel.legend)
            finally:
                self.w.filling = False
        image = str(spec.image_url or "")
        self.w.filling = True
        try:
            if image:
                self.w.primary.set_value(image)
        finally:
            self.w.filling = False
        if not image and self.w.after_primary is not None:
            step, self.w.after_primary = self.w.after_primary, None
            step()
        self.w.tabs.setCurrentIndex(0)
        self.w.inputs.setCurrentWidget(self.w.primary)
        self.w.schedule_refresh()

    def select_batch(self, batch_id) -> None:
        if not batch_id:
            self.w.job.batch.setCurrentIndex(0)
            return
        index = self.w.job.batch.findData(batch_id)
        if index < 0:
            self.w.job.add_batch(f"from {self.w.draft.origin or 'the job'}", str(batch_id))
        else:
            self.w.job.batch.setCurrentIndex(index)

    def load_sample(self) -> None:
        """Replace the form with the sample job (asks first when the current job is not saved). The mask is
        colour-coded once the sample photo is loaded, so it is checked against that photo's size."""
        if not self.confirm_unsaved("loading the sample"):
            return
        files = sample_job_files()
        self.show(drafts.JobDraft())

        def then_mask() -> None:
            self.w.mask_panel.colour_code_files(str(files["index_mask"]), sample_classes())
            self.when_loaded(self.mark_saved)  # nobody's unsaved work until it is edited

        self.w.after_primary = then_mask
        self.w.primary.set_value(str(files["primary"]))
        for label, path in files["references"]:
            self.w.references.add(str(path), label)
        self.w.inputs.setCurrentWidget(self.w.mask_panel)
        self.w.tabs.setCurrentIndex(0)
        self.w.statusBar().showMessage("Sample job loaded: a photo, two reference cameras and a colour-coded mask.",
                                       8000)
        self.w.sample_loaded.emit()
