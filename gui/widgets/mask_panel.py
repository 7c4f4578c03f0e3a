"""Pre-label mask panel: load (or colour-code, or import) a mask, show core's findings, repair, export, legend.

All mask work (check, colour-coding, writing, repair, building the overlay) runs in workers through core
(core/mask_files.py decides where and under which names files are written); this panel only shows what
core found. ``mask_changed`` carries a :class:`MaskState` (or None when the mask is removed). A job's mask
that is only a URL is shown by its URL and legend; its legend keys can be fixed without the pixels.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core import mask_files
from playment_submit.core.legend import check_legend, key_problem, read_legend_data
from playment_submit.core.session import Session
from playment_submit.gui.dialogs import open_file, save_file
from playment_submit.gui.style import set_status, status_colour
from playment_submit.gui.widgets.class_names_dialog import ClassNamesDialog, sentence
from playment_submit.gui.widgets.legend_dialogs import ask_colour, ask_merge_target, ask_new_class
from playment_submit.gui.widgets.legend_table import LegendTable
from playment_submit.gui.widgets.mask_import_dialog import MaskImportDialog
from playment_submit.gui.widgets.mask_jobs import (
    MaskState,
    colour_code,
    edit_mask,
    load_mask,
    repair_mask,
    write_imported,
)
from playment_submit.gui.workers import Worker, start_worker


class MaskPanel(QWidget):
    mask_changed = Signal(object)        # MaskState | None
    preview_requested = Signal(str)      # "Fetch to preview" of a job's mask that is only a URL
    busy_changed = Signal(bool)
    opacity_changed = Signal(float)
    class_visibility_changed = Signal(int, bool)
    class_highlighted = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state: MaskState | None = None
        self.primary_size: tuple[int, int] | None = None
        self._worker: Worker | None = None
        self._keep_url: str | None = None
        self.session: Session | None = None  # the window's: the profile's class list judges imports
        lay = QVBoxLayout(self)
        buttons = QHBoxLayout()
        self.load_button = QPushButton("Load RGBA mask…")
        self.load_button.setToolTip("An RGBA PNG whose colours are named by a legend JSON file")
        self.code_button = QPushButton("Colour-code index mask…")
        self.code_button.setToolTip("A single-channel mask of class indices (0 = unlabelled), e.g. a model's output")
        for b in (self.load_button, self.code_button):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.import_button = QPushButton("Import mask…")
        self.import_button.setToolTip("A mask from another tool: COCO JSON, Pascal VOC, Cityscapes, CVAT, a folder "
                                      "of per-class masks, or an index PNG/TIFF/.npy. You can also drop it here.")
        menu = QMenu(self.import_button)
        menu.addAction("File…", self._on_import_file_clicked)
        menu.addAction("Folder of per-class masks…", self._on_import_folder_clicked)
        self.import_button.setMenu(menu)
        lay.addWidget(self.import_button)
        self.import_dialog: MaskImportDialog | None = None
        self.setAcceptDrops(True)
        self.status = QLabel("No pre-label mask (optional).")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        op = QHBoxLayout()
        op_label = QLabel("&Opacity")
        op.addWidget(op_label)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setToolTip("How strongly the mask is drawn over the image")
        op_label.setBuddy(self.opacity)
        op.addWidget(self.opacity)
        self.opacity_value = QLabel()
        self.opacity_value.setObjectName("opacityValue")
        # wide enough for "100 %" so the slider does not jump while dragging
        self.opacity_value.setMinimumWidth(self.opacity_value.fontMetrics().horizontalAdvance("100 %") + 4)
        self.opacity_value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        op.addWidget(self.opacity_value)
        lay.addLayout(op)
        self.legend_table = LegendTable()
        lay.addWidget(self.legend_table, 3)
        self.legend_hint = QLabel("Click a class to highlight it in the view (click it again to show all); "
                                  "untick Show to hide it; double-click a name or colour to edit it.")
        self.legend_hint.setObjectName("legendHint")
        self.legend_hint.setWordWrap(True)
        set_status(self.legend_hint, "muted")
        lay.addWidget(self.legend_hint)
        edit = QHBoxLayout()
        self.colour_button = QPushButton("Colour…")
        self.colour_button.setToolTip("Choose another colour for the selected class (its pixels are recoloured)")
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Add a class to the legend")
        self.merge_button = QPushButton("Merge…")
        self.merge_button.setToolTip("Merge the selected class into another: its pixels take the other's colour")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected class: its pixels become unlabelled")
        for b in (self.colour_button, self.add_button, self.merge_button, self.remove_button):
            edit.addWidget(b)
        lay.addLayout(edit)
        lay.addWidget(QLabel("Problems found in the mask"))
        self.problems = QListWidget()
        self.problems.setWordWrap(True)
        self.problems.setMaximumHeight(150)
        lay.addWidget(self.problems, 1)
        self.repair_button = QPushButton("Repair…")
        self.repair_button.setToolTip("Snap near colours to the legend, clear hidden colour, threshold soft edges; "
                                      "writes a new file")
        self.export_button = QPushButton("Export mask + legend…")
        self.fetch_button = QPushButton("Fetch to preview")
        self.fetch_button.setToolTip("Download this job's mask through Playment's attachments endpoint to show it "
                                     "over the image (the job still sends the URL)")
        self.clear_button = QPushButton("Remove mask")
        # Two rows: in a narrow side panel (1024 pixels wide, or 2x scale) three buttons in one row clip
        # their labels ("xport mask + legend.").
        more = QHBoxLayout()
        more.addWidget(self.repair_button)
        more.addWidget(self.clear_button)
        lay.addLayout(more)
        lay.addWidget(self.export_button)
        lay.addWidget(self.fetch_button)
        self._update_buttons()

        self.load_button.clicked.connect(self._on_load_clicked)
        self.code_button.clicked.connect(self._on_code_clicked)
        self.repair_button.clicked.connect(self._on_repair_clicked)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.clear_button.clicked.connect(self.clear)
        self.fetch_button.clicked.connect(lambda: self.state is not None and self.state.url is not None
                                          and self.preview_requested.emit(self.state.url))
        self.opacity.valueChanged.connect(self._on_opacity)
        self._on_opacity(self.opacity.value(), emit=False)
        self.legend_table.visibility_changed.connect(self._on_row_visibility)
        self.legend_table.class_selected.connect(self._on_row_selected)
        self.legend_table.name_edited.connect(self._on_name_edited)
        self.legend_table.colour_edited.connect(self._on_colour_typed)
        self.colour_button.clicked.connect(self._on_colour_clicked)
        self.add_button.clicked.connect(self._on_add_clicked)
        self.merge_button.clicked.connect(self._on_merge_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)

    def _on_opacity(self, value: int, emit: bool = True) -> None:
        self.opacity_value.setText(f"{value} %")
        self.opacity.setAccessibleDescription(f"{value} percent")
        if emit:
            self.opacity_changed.emit(value / 100)

    # ---------------------------------------------------------------- actions
    def set_primary_size(self, size: tuple[int, int] | None) -> None:
        self.primary_size = size
        state = self.state
        if state is not None and state.report is not None and size is not None \
                and (state.report.width, state.report.height) != size:
            self._run(load_mask, str(state.path), state.legend, size, message="Checking the mask again…")

    def load_files(self, mask_path: str, legend_path: str) -> None:
        # The legend as written (bad keys included), so core's checks name them and block submission
        # instead of the window silently dropping them.
        legend, problems = read_legend_data(legend_path)
        if problems or not isinstance(legend, dict):
            self._show_error("; ".join(str(p) for p in problems) or f"{legend_path} is not a legend object.")
            return
        self._run(load_mask, mask_path, legend, self.primary_size, message=f"Checking {Path(mask_path).name}…")

    def load(self, mask_path: str, legend: dict[str, str]) -> None:
        """A local mask with its legend as a job names them (bad keys included: core's checks name them)."""
        self._run(load_mask, mask_path, dict(legend), self.primary_size, message=f"Checking {Path(mask_path).name}…")

    def colour_code_files(self, index_path: str, classes, colours: dict[str, str] | None = None) -> None:
        """``classes``: class names in any form core's encode takes (a list, first = index 1, or {index: name});
        ``colours``: {generated colour: chosen colour} (the dialog's ``chosen_colours()``)."""
        self._run(colour_code, index_path, classes, self.primary_size, colours,
                  message=f"Colour-coding {Path(index_path).name}…")

    def show_remote(self, url: str, legend: dict[str, str]) -> None:
        """A job's mask that is only a URL: listed with its legend (keys can be fixed here), sent as it is."""
        self.state = MaskState(None, dict(legend), None, None, url=url)
        self._fill_legend(self.state)
        self._show_problems(check_legend(self.state.legend)[1])
        self.status.setText(f"The pre-label is at {url}; it is sent as it is (not shown over the image). Load, "
                            f"colour-code or import a mask to replace it.")
        self._update_buttons()

    def show_fetched(self, path: str) -> None:
        """The local copy of the job's URL mask, checked and shown over the image; the job still sends the URL."""
        if self.state is not None and self.state.url is not None:
            self._run(load_mask, path, self.state.legend, self.primary_size, message="Checking the fetched mask…",
                      keep_url=self.state.url)

    def clear(self) -> None:
        """Remove the mask (the job is sent without a pre-label)."""
        self.state = None
        self.legend_table.set_rows([])
        self.problems.clear()
        self.status.setText("No pre-label mask (optional).")
        self._update_buttons()
        self.mask_changed.emit(None)

    def _on_load_clicked(self) -> None:
        mask = open_file(self, "mask", "Pre-label mask (RGBA PNG)", "PNG images (*.png);;All files (*)")
        if not mask:
            return
        legend = open_file(self, "legend", "Legend for this mask", "Legend JSON (*.json);;All files (*)",
                           start=str(Path(mask).parent))
        if legend:
            self.load_files(mask, legend)

    # ---------------------------------------------------------------- import (drop or choose)
    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if len(urls) == 1 and urls[0].isLocalFile():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if len(urls) == 1 and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.import_path(urls[0].toLocalFile())

    def import_path(self, path: str) -> None:
        """A file (or folder) dropped or chosen: a Playment RGBA PNG is loaded with its legend, as "Load RGBA
        mask…" does; anything else opens the import dialog."""
        if self._worker is not None or (self.import_dialog is not None and self.import_dialog.isVisible()):
            self._show_error("The mask tab is busy; drop the file again when it has finished.")
            return
        if mask_files.is_rgba_png(path):
            legend = mask_files.find_legend(path) or open_file(self, "legend", "Legend for this mask",
                                                      "Legend JSON (*.json);;All files (*)",
                                                      start=str(Path(path).parent))
            if legend:
                self.load_files(path, str(legend))
            return
        self.open_import_dialog(path)

    def known_classes(self) -> list[str] | None:
        """The class list of the profile in use (None when it has none: any class name is accepted)."""
        return list(self.session.profile.classes or []) or None if self.session is not None else None

    def open_import_dialog(self, path: str) -> MaskImportDialog:
        """Show the import dialog for ``path`` (not modal to the process: tests and the event loop go on);
        Import writes the mask into the data folder and loads it here."""
        primary = getattr(self.window(), "primary", None)  # its name suggests an image in a COCO file
        dialog = MaskImportDialog(path, self.known_classes(), (primary.value() or None) if primary else None, self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda d=dialog: self._on_import_accepted(d))
        dialog.destroyed.connect(lambda *_: setattr(self, "import_dialog", None))
        self.import_dialog = dialog
        dialog.open()
        return dialog

    def _on_import_accepted(self, dialog: MaskImportDialog) -> None:
        result = dialog.imported
        if result is not None:
            self._run(write_imported, result, self.primary_size,
                      message=f"Writing and checking the mask imported from {Path(result.source).name}…")

    def _on_import_file_clicked(self) -> None:
        path = open_file(self, "mask", "Import a mask",
                         "Masks (*.json *.png *.tif *.tiff *.npy);;All files (*)")
        if path:
            self.import_path(path)

    def _on_import_folder_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder of per-class masks (one 0/255 PNG per class)")
        if path:
            self.import_path(path)

    def _on_code_clicked(self) -> None:
        index = open_file(self, "mask", "Index mask", "Index masks (*.png *.tif *.tiff *.npy)")
        if not index:
            return
        dialog = ClassNamesDialog([], self, index_path=index)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            classes = dialog.names()
            if classes:
                self.colour_code_files(index, classes, dialog.chosen_colours())

    def _on_repair_clicked(self) -> None:
        if self.state is None or self.state.path is None:
            return
        default = str(self.state.path.with_name(self.state.path.stem + "_repaired.png"))
        out = save_file(self, "export", "Save the repaired mask as", default, "PNG images (*.png)")
        if out:
            self._run(repair_mask, self.state, out, self.primary_size, message="Repairing…")

    def _on_export_clicked(self) -> None:
        if self.state is None or self.state.path is None:
            return
        out = save_file(self, "export", "Export the mask as", str(self.state.path.name), "PNG images (*.png)")
        if not out:
            return
        try:
            legend_file = mask_files.export(self.state.path, self.state.legend, out)
        except OSError as e:
            self._show_error(f"Could not export to {out}: {e.strerror}.")
            return
        self.status.setText(f"Exported {Path(out).name} and {legend_file.name}.")

    def _on_name_edited(self, hexkey: str, name: str) -> None:
        if self.state is not None:
            self.state.legend[hexkey] = name
            overlay = self.state.overlay
            if overlay is not None and hexkey.lower() in overlay.hexes:  # the hover readout names it too
                overlay.names[overlay.hexes.index(hexkey.lower())] = name
            # core's legend rules again (a name two colours now share), without decoding the mask again
            legend_problems = check_legend(self.state.legend)[1]
            report = self.state.report
            others = [p for p in report.problems if p.code not in ("bad_legend_entry",)] if report else []
            shown = [p for p in legend_problems if p.severity == "warning"] + others
            self._show_problems(shown)
            self._fill_legend(self.state)
            self.mask_changed.emit(self.state)

    def _overlay_index(self, row: int | None) -> int | None:
        """The view's class index of a legend table row (rows with a bad key have none)."""
        overlay = self.state.overlay if self.state is not None else None
        if row is None or overlay is None or not (0 <= row < self.legend_table.rowCount()):
            return None
        cell = self.legend_table.item(row, 1)
        key = cell.data(Qt.ItemDataRole.UserRole) if cell is not None else None
        if not isinstance(key, str):
            return None
        try:
            return overlay.hexes.index(key.lower())
        except ValueError:
            return None

    def _on_row_visibility(self, row: int, visible: bool) -> None:
        index = self._overlay_index(row)
        if index is not None:
            self.class_visibility_changed.emit(index, visible)

    def _on_row_selected(self, row) -> None:
        self.class_highlighted.emit(self._overlay_index(row))
        self._update_buttons(self._worker is None)

    # ---------------------------------------------------------------- legend edits
    def edit_legend(self, op: str, *args) -> bool:
        """Run one legend edit of core/mask/edit.py ("colour", "merge", "remove", "replace_key", "add") in a
        worker; False (and the reason shown) when there is no mask or the panel is busy."""
        if self.state is None or self._worker is not None:
            return False
        if self.state.path is None:  # a URL: only what needs no pixels
            try:
                legend, note = mask_files.edit_legend_only(self.state.legend, op, args)
            except ValueError:
                self._show_error("That edit needs the mask's pixels; this mask is only a URL. Load the mask file "
                                 "to recolour, merge or remove classes.")
                return False
            self.show_remote(self.state.sent_as, legend)
            self.status.setText(note + ". " + self.status.text())
            self.mask_changed.emit(self.state)
            return True
        self._run(edit_mask, self.state, op, args, self.primary_size,
                  message="Editing the legend…", failed="The legend could not be changed: ")
        return True

    def _on_colour_typed(self, old: str, new: str) -> None:
        if self.state is None:
            return
        # a key that is not a colour only needs the legend fixed; a real colour moves its pixels too
        if not self.edit_legend("replace_key" if key_problem(old) is not None else "colour", old, new):
            self._fill_legend(self.state)  # busy: the cell shows the legend as it is, not the typed text

    def _on_colour_clicked(self) -> None:
        key = self.legend_table.selected_key()
        colour = ask_colour(self, key, self.state.legend) if key is not None and self.state is not None else None
        if colour is not None and key is not None:
            self._on_colour_typed(key, colour)

    def _on_add_clicked(self) -> None:
        added = ask_new_class(self) if self.state is not None else None
        if added is not None:
            self.edit_legend("add", *added)

    def _on_merge_clicked(self) -> None:
        key = self.legend_table.selected_key()
        target = ask_merge_target(self, key, self.state.legend) if key is not None and self.state else None
        if target is not None:
            self.edit_legend("merge", key, target)

    def _on_remove_clicked(self) -> None:
        key = self.legend_table.selected_key()
        if key is not None:
            self.edit_legend("remove", key)

    # ---------------------------------------------------------------- workers
    def _run(self, fn, *args, message: str, failed: str = "The mask could not be used: ",
             keep_url: str | None = None) -> None:
        self._keep_url = keep_url
        self.status.setText(message)
        self.busy_changed.emit(True)
        self._set_enabled(False)
        self._worker = start_worker(fn, *args, owner=self)
        self._worker.returned.connect(self._on_result)
        self._worker.errored.connect(lambda e: self._show_error(f"{failed}{sentence(e)}"))
        self._worker.finished.connect(self._on_worker_finished)

    def _on_worker_finished(self) -> None:
        self._worker = None
        self._set_enabled(True)
        self.busy_changed.emit(False)

    def _on_result(self, result) -> None:
        note = ""
        if isinstance(result, tuple):
            result, note = result
        if self._keep_url is not None and result.url is None:
            result.url = self._keep_url  # a fetched preview of the job's URL mask: the URL is what is sent
        self.state = result
        report = result.report
        self._fill_legend(result)
        self._show_problems(report.problems)
        errors = sum(p.severity == "error" for p in report.problems)
        size = f"{report.width}×{report.height}" if report.width else "unreadable"
        n = len(report.rows)
        self.status.setText(f"{Path(result.path).name}: {size}, {n} class{'es' if n != 1 else ''}, "
                            + (f"{errors} error(s)" if errors else "valid") + (f". {note}" if note else ""))
        self._update_buttons()
        self.mask_changed.emit(result)

    def _fill_legend(self, state: MaskState) -> None:
        """Every legend entry as written (a bad key too, so it can be corrected in place), with the
        check's pixel counts, and core's marks on rows with something wrong."""
        stats = {r.hex: r for r in state.report.rows} if state.report is not None else {}
        rows = []
        for key, name in state.legend.items():
            r = stats.get(key.lower()) if isinstance(key, str) else None
            rows.append((key, name if isinstance(name, str) else "", r.pixels if r else None, r.share if r else None))
        self.legend_table.set_rows(rows, toggles=state.overlay is None or state.overlay.indexed,
                                   marks=mask_files.legend_marks(state.legend))

    def _show_problems(self, problems) -> None:
        """Core's problems in the window's words (its buttons, not the command line's), each once."""
        self.problems.clear()
        seen: set[str] = set()
        for p in problems:
            text = p.text("gui", with_path=False)
            if text in seen:
                continue
            seen.add(text)
            item = QListWidgetItem(f"{'Error' if p.severity == 'error' else 'Warning'}: {text}")
            item.setForeground(status_colour("error" if p.severity == "error" else "warning"))
            item.setData(Qt.ItemDataRole.UserRole, p.code)
            item.setToolTip(text)
            self.problems.addItem(item)
        if not seen and self.state is not None and self.state.report is not None:  # after a rename too
            self.problems.addItem(QListWidgetItem("None: every pixel is unlabelled or a legend colour."))

    def problem_texts(self) -> list[str]:
        """The lines of the problem list, as shown."""
        return [self.problems.item(i).text() for i in range(self.problems.count())]

    def _show_error(self, text: str) -> None:
        self.status.setText(text)
        set_status(self.status, "error")

    def _set_enabled(self, enabled: bool) -> None:
        set_status(self.status, None)
        for b in (self.load_button, self.code_button, self.import_button):
            b.setEnabled(enabled)
        self._update_buttons(enabled)

    def _update_buttons(self, enabled: bool = True) -> None:
        has = self.state is not None
        selected = has and self.legend_table.selected_key() is not None
        self.add_button.setEnabled(enabled and has)
        for b in (self.colour_button, self.merge_button, self.remove_button):
            b.setEnabled(enabled and selected)
        fixable = self.state is not None and self.state.report is not None and self.state.report.repairable
        self.repair_button.setEnabled(enabled and fixable)
        self.export_button.setEnabled(enabled and has and self.state is not None and self.state.path is not None)
        self.clear_button.setEnabled(enabled and has)
        remote = self.state is not None and self.state.url is not None and self.state.path is None
        self.fetch_button.setVisible(remote)
        self.fetch_button.setEnabled(enabled and remote)
