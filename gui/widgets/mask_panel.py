"""Pre-label mask panel: load (or colour-code) a mask, show core's findings, repair, export, legend.

All mask work (check, colour-coding, repair, building the overlay) runs in workers; this panel only shows
what core found. ``mask_changed`` carries a :class:`MaskState` (or None when the mask is removed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core.legend import check_legend, duplicate_names, key_problem, read_legend_data
from playment_submit.core.mask import (
    CLASSES_HELP,
    MaskReport,
    check,
    class_colours,
    classes_from_text,
    classes_to_text,
    encode,
    load_classes,
    parse_classes,
    repair,
    save_png,
    write_legend,
)
from playment_submit.core.mask.edit import add_class, change_colour, merge_classes, remove_class, replace_key
from playment_submit.core.mask.encode import index_counts
from playment_submit.core.mask.formats import ImportResult
from playment_submit.core.settings import config_dir, data_dir
from playment_submit.gui.dialogs import open_file, save_file
from playment_submit.gui.overlay import Overlay, build_overlay, load_overlay
from playment_submit.gui.style import set_status, status_colour
from playment_submit.gui.widgets.legend_table import LegendTable, swatch
from playment_submit.gui.widgets.mask_import_dialog import MaskImportDialog
from playment_submit.gui.workers import Worker, start_worker


@dataclass
class MaskState:
    path: Path
    legend: dict[str, str]
    report: MaskReport
    overlay: Overlay | None


# ---------------------------------------------------------------- worker jobs (no widgets)
def load_mask(path: str, legend: dict[str, str], primary_size) -> MaskState:
    """Check the mask and build its overlay from one decode (core's fast path; the report is kept, so the
    pipeline's check before sending does not decode it again)."""
    report, overlay = load_overlay(path, legend, primary_size)
    return MaskState(Path(path), dict(legend), report, overlay)


def colour_code(index_path: str, classes, primary_size, out_dir: Path,
                colours: dict[str, str] | None = None) -> MaskState:
    """``classes`` in any form core accepts: the dialog's {index: name}, a list (first = index 1), ...
    ``colours``: {generated colour: chosen colour} for classes the user gave their own colour."""
    rgba, legend = encode(index_path, classes)
    for auto, chosen in (colours or {}).items():
        if auto in legend and chosen != auto:
            rgba, legend, _ = change_colour(rgba, legend, auto, chosen)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{Path(index_path).stem}_coded.png"
    save_png(rgba, out)
    write_legend(legend, out.with_suffix(".legend.json"))
    report = check(out, legend, primary_size, interactive=True)
    return MaskState(out, legend, report, build_overlay(rgba, legend))


def imported_paths(result: ImportResult, out_dir: Path) -> tuple[Path, Path]:
    """Where an imported mask and its legend are written: named after the source, with a short hash of its
    full path so two sources of one name (two folders' ``mask.png``) never overwrite each other."""
    source = Path(result.source)
    tag = hashlib.sha256(os.path.abspath(result.source).encode()).hexdigest()[:8]
    out = out_dir / f"{source.stem or 'mask'}-{result.format}-{tag}.png"
    return out, out.with_suffix(".legend.json")


def write_imported(result: ImportResult, out_dir: Path, primary_size) -> MaskState:
    """Write an import the user accepted (mask + legend), then check it as any mask loaded from disk."""
    out, legend_file = imported_paths(result, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result.write(out, legend_file)
    return load_mask(str(out), dict(result.legend), primary_size)


def is_rgba_png(path: str) -> bool:
    """A PNG already in Playment's form (RGBA): dropped, it is loaded as it is, with its legend."""
    if Path(path).suffix.lower() != ".png" or not Path(path).is_file():
        return False
    try:
        with Image.open(path) as img:
            return img.mode == "RGBA"
    except (OSError, ValueError, SyntaxError):
        return False


def legend_beside(mask: str) -> Path | None:
    """The legend written next to a mask by this tool (``x.legend.json``) or by hand (``x.json``)."""
    p = Path(mask)
    for candidate in (p.with_suffix(".legend.json"), p.with_suffix(".json")):
        if candidate.is_file():
            return candidate
    return None


def repair_mask(state: MaskState, out_path: str, primary_size) -> tuple[MaskState, str]:
    summary = repair(state.path, state.legend, out_path)
    new = load_mask(out_path, state.legend, primary_size)
    kinds = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in summary.changed.items() if k != "total" and v)
    note = f"Repaired {summary.changed_pixels:,} pixels ({kinds or 'none'})"
    if summary.left_pixels:
        note += f"; {summary.left_pixels:,} pixels of unknown colours were left as they were"
    return new, note + "."


_PIXEL_EDITS: dict[str, Callable[..., tuple[np.ndarray, dict[str, str], int]]] = {
    "colour": change_colour, "merge": merge_classes, "remove": remove_class}


def edit_mask(state: MaskState, op: str, args: tuple, primary_size, out_dir: Path) -> tuple[MaskState, str]:
    """A legend edit (core/mask/edit.py), checked again. Edits that move pixels (colour, merge, remove)
    write the edited mask and its legend to ``out_dir``; the original file is never changed."""
    path = state.path
    if op in _PIXEL_EDITS:
        with Image.open(state.path) as img:
            rgba = np.asarray(img if img.mode == "RGBA" else img.convert("RGBA"))
        out, legend, changed = _PIXEL_EDITS[op](rgba, state.legend, *args)
        if changed:
            out_dir.mkdir(parents=True, exist_ok=True)
            stem = state.path.stem.removesuffix("_edited")
            path = out_dir / f"{stem}_edited.png"
            save_png(out, path)
            write_legend(legend, path.with_suffix(".legend.json"))
        note = (f"{changed:,} pixels changed; the edited mask is {path}" if changed
                else "no pixels had that colour; only the legend changed")
    elif op == "replace_key":
        legend, note = replace_key(state.legend, *args), "legend key fixed"
    elif op == "add":
        legend, note = add_class(state.legend, *args), "class added (it has no pixels yet)"
    else:
        raise ValueError(f"unknown legend edit {op!r}")
    return load_mask(str(path), legend, primary_size), note[0].upper() + note[1:]


def legend_marks(legend: dict[str, str]) -> dict[str, tuple[str, str]]:
    """key -> (status, sentence) for the legend rows core finds something wrong with (a key that is not a
    colour, a name two colours share)."""
    marks: dict[str, tuple[str, str]] = {}
    for name, keys in duplicate_names(legend).items():
        for k in keys:
            others = ", ".join(o for o in keys if o != k)
            marks[k] = ("warning", f"{k} and {others} are both named \"{name}\"; give each colour its own name, "
                                   f"or merge the classes if they are one.")
    for k in legend:
        why = key_problem(k)
        if why:
            marks[k] = ("error", why[0].upper() + why[1:] + " Double-click the colour to correct it.")
    return marks


def legend_preview(classes) -> list[tuple[int, str, str]]:
    """(index, colour, name) rows of the legend core's encode will produce for these classes (runs in a
    worker: the first call for many classes computes the palette). Core's own answer, so the dialog never
    re-implements the palette, the index rule or the naming rules."""
    return class_colours(classes) if classes else []


def last_classes_path() -> Path:
    """Where the dialog keeps the class names typed last (the app's config folder)."""
    return config_dir() / "last-classes.txt"


def _remembered_classes() -> str:
    try:
        return last_classes_path().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


class ClassNamesDialog(QDialog):
    """Asks for the class names of an index mask and shows, per index, the legend entry it makes.

    The editor follows core's classes rule (``CLASSES_HELP``, the same as ``mask encode --classes``):
    line n names index n, or ``n: name`` on every line. A loaded classes file is shown in that form
    and, while the text is left as loaded, used as it is (so colours it pins are kept too).

    With ``index_path`` the dialog also shows which index values the mask holds and their pixel counts
    (core's ``index_counts``, in a worker). Double-clicking a row of the generated legend chooses that
    class's colour. Without ``names`` the editor starts with the names accepted last time.
    """

    def __init__(self, names=(), parent=None, index_path: str | None = None):
        super().__init__(parent)
        self.counts: dict[int, int] | None = None
        self.colours: dict[int, str] = {}   # index -> colour the user chose
        self._rows: list[tuple[int, str, str]] = []
        self.setWindowTitle("Colour-code an index mask")
        self.resize(560, 380)
        lay = QVBoxLayout(self)
        self.help = QLabel(CLASSES_HELP)
        self.help.setWordWrap(True)
        lay.addWidget(self.help)
        cols = QHBoxLayout()
        self._loaded: tuple[str, Any] | None = None   # (text as loaded, the file's classes)
        self.editor = QPlainTextEdit(classes_to_text(names) if names else _remembered_classes())
        self.editor.setToolTip("One class name per line (line n is index n), or \"n: name\" on every line")
        cols.addWidget(self.editor, 1)
        right = QVBoxLayout()
        right.addWidget(QLabel("Generated legend (index, colour, name, pixels)"))
        self.legend_list = QListWidget()
        self.legend_list.setToolTip("The index each class names, the colour it will get in the coded mask, "
                                    "and its legend entry; double-click a row to choose its colour")
        self.legend_list.itemDoubleClicked.connect(self._choose_colour)
        right.addWidget(self.legend_list)
        self.indices = QLabel("")
        self.indices.setObjectName("indicesFound")
        self.indices.setWordWrap(True)
        right.addWidget(self.indices)
        cols.addLayout(right, 1)
        lay.addLayout(cols)
        load = QPushButton("Load names from file…")
        load.clicked.connect(self._on_load_clicked)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(load)
        row.addStretch(1)
        row.addWidget(buttons)
        lay.addLayout(row)
        self.error = QLabel()
        self.error.setWordWrap(True)
        set_status(self.error, "error")
        lay.addWidget(self.error)
        self._worker: Worker | None = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(250)
        self._preview_timer.timeout.connect(self._on_preview_due)
        self.editor.textChanged.connect(self._preview_timer.start)
        self._on_preview_due()
        if index_path:
            self.indices.setText(f"Reading the index values in {Path(index_path).name}…")
            self._count_worker = start_worker(index_counts, index_path, owner=self)
            self._count_worker.returned.connect(self._on_counts)
            self._count_worker.errored.connect(lambda e: self.indices.setText(_sentence(str(e))))

    def _on_counts(self, counts: dict[int, int]) -> None:
        self.counts = counts
        parts = [f"{i}{' (unlabelled)' if i == 0 else ''}: {n:,} px" for i, n in sorted(counts.items())[:20]]
        more = len(counts) - 20
        self.indices.setText("The mask holds index " + ", ".join(parts) + (f" and {more} more" if more > 0 else "")
                             + ".")
        self._show_preview(self.editor.toPlainText(), self._rows)

    def _choose_colour(self, item: QListWidgetItem) -> None:
        index = item.data(Qt.ItemDataRole.UserRole)
        row = next((r for r in self._rows if r[0] == index), None)
        if row is None:
            return
        colour = QColorDialog.getColor(QColor(self.colours.get(index, row[1])), self, f"Colour for {row[2]}")
        if colour.isValid():
            self.set_colour(index, colour.name())

    def set_colour(self, index: int, colour: str) -> None:
        """Choose the colour of class ``index`` (instead of the generated one)."""
        self.colours[index] = colour.lower()
        self._show_preview(self.editor.toPlainText(), self._rows)

    def chosen_colours(self) -> dict[str, str]:
        """{generated colour: chosen colour} for the classes given their own colour (for ``colour_code``)."""
        return {auto: self.colours[i] for i, auto, _ in self._rows if i in self.colours and self.colours[i] != auto}

    def _on_preview_due(self) -> None:
        text = self.editor.toPlainText()
        if not text.strip():
            self._show_preview(text, [])
            return
        problems = self.problems()
        if problems:
            self.legend_list.clear()
            self.error.setText(" ".join(_sentence(p) for p in problems))
            return
        self._worker = start_worker(legend_preview, self.names(), owner=self)
        self._worker.returned.connect(lambda rows, t=text: self._show_preview(t, rows))
        self._worker.errored.connect(lambda e, t=text: self._on_preview_failed(t, e))

    def _show_preview(self, text: str, rows: list[tuple[int, str, str]]) -> None:
        if text != self.editor.toPlainText():
            return  # the user kept typing; a newer preview is on its way
        self.error.setText("")
        self.legend_list.clear()
        self._rows = list(rows)
        counts = self.counts or {}
        for index, hexkey, name in rows:
            colour = self.colours.get(index, hexkey)
            px = f"  {counts.get(index, 0):,} px" if self.counts is not None else ""
            item = QListWidgetItem(swatch(colour), f"{index}  {colour}  {name}{px}")
            item.setData(Qt.ItemDataRole.UserRole, index)
            self.legend_list.addItem(item)
        if self.counts is not None:
            named = {r[0] for r in rows}
            for index in sorted(i for i in self.counts if i and i not in named)[:20]:
                item = QListWidgetItem(f"{index}  (no name)  {self.counts[index]:,} px")
                item.setForeground(status_colour("error"))
                item.setToolTip(f"Index {index} is in the mask but has no class name; add it on the left.")
                self.legend_list.addItem(item)
        if not rows:
            self.legend_list.addItem("Type the class names on the left.")

    def _on_preview_failed(self, text: str, error: Exception) -> None:
        if text == self.editor.toPlainText():
            self.legend_list.clear()
            self.error.setText(str(error))

    def _on_load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Class names", "", "Class names (*.json *.txt)")
        if path:
            self.load_file(path)

    def load_file(self, path: str) -> bool:
        """Show a classes file in the editor by core's rule; False (and the reason shown) if it is unusable."""
        classes, problems = load_classes(path)
        if classes is not None and not problems:
            problems = parse_classes(classes, str(path))[2]
        if classes is None or problems:
            self.error.setText(" ".join(str(p) for p in problems))
            return False
        text = classes_to_text(classes)
        self._loaded = (text, classes)
        self.editor.setPlainText(text)
        return True

    def _as_loaded(self) -> bool:
        return self._loaded is not None and self.editor.toPlainText() == self._loaded[0]

    def names(self):
        """The classes to colour-code with, in a form core's encode takes: the loaded file's classes while
        the editor still shows them unchanged, otherwise {index: name} read from the editor."""
        if self._as_loaded():
            return self._loaded[1]
        return classes_from_text(self.editor.toPlainText())[0]

    def index_names(self) -> dict[int, str]:
        """{index: name} as core reads the current classes."""
        return parse_classes(self.names())[0]

    def problems(self) -> list:
        if self._loaded is not None and self._as_loaded():
            return parse_classes(self._loaded[1])[2]
        return classes_from_text(self.editor.toPlainText())[1]

    def accept(self) -> None:
        problems = self.problems()
        if not problems and not self.index_names():
            self.error.setText("Write at least one class name, or load a classes file.")
            return
        if problems:
            self.error.setText(" ".join(_sentence(p) for p in problems))
            return
        if not self._as_loaded():
            try:  # remembered for next time; a read-only config folder only loses the convenience
                last_classes_path().parent.mkdir(parents=True, exist_ok=True)
                last_classes_path().write_text(self.editor.toPlainText(), encoding="utf-8")
            except OSError:
                pass
        super().accept()


def _sentence(problem) -> str:
    text = str(problem)
    return text[0].upper() + text[1:] if text else text


class MaskPanel(QWidget):
    mask_changed = Signal(object)        # MaskState | None
    busy_changed = Signal(bool)
    opacity_changed = Signal(float)
    class_visibility_changed = Signal(int, bool)
    class_highlighted = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state: MaskState | None = None
        self.primary_size: tuple[int, int] | None = None
        self._worker = None
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
        self.clear_button = QPushButton("Remove mask")
        # Two rows: in a narrow side panel (1024 pixels wide, or 2x scale) three buttons in one row clip
        # their labels ("xport mask + legend.").
        more = QHBoxLayout()
        more.addWidget(self.repair_button)
        more.addWidget(self.clear_button)
        lay.addLayout(more)
        lay.addWidget(self.export_button)
        self._update_buttons()

        self.load_button.clicked.connect(self._on_load_clicked)
        self.code_button.clicked.connect(self._on_code_clicked)
        self.repair_button.clicked.connect(self._on_repair_clicked)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.clear_button.clicked.connect(self.clear)
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
        if self.state is not None and size is not None and (self.state.report.width, self.state.report.height) != size:
            self._run(load_mask, str(self.state.path), self.state.legend, size, message="Checking the mask again…")

    def load_files(self, mask_path: str, legend_path: str) -> None:
        # The legend as written (bad keys included), so core's checks name them and block submission
        # instead of the window silently dropping them.
        legend, problems = read_legend_data(legend_path)
        if problems or not isinstance(legend, dict):
            self._show_error("; ".join(str(p) for p in problems) or f"{legend_path} is not a legend object.")
            return
        self._run(load_mask, mask_path, legend, self.primary_size, message=f"Checking {Path(mask_path).name}…")

    def colour_code_files(self, index_path: str, classes, colours: dict[str, str] | None = None) -> None:
        """``classes``: class names in any form core's encode takes (a list, first = index 1, or {index: name});
        ``colours``: {generated colour: chosen colour} (the dialog's ``chosen_colours()``)."""
        self._run(colour_code, index_path, classes, self.primary_size, data_dir() / "coded", colours,
                  message=f"Colour-coding {Path(index_path).name}…")

    def clear(self) -> None:
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
        if is_rgba_png(path):
            legend = legend_beside(path) or open_file(self, "legend", "Legend for this mask",
                                                      "Legend JSON (*.json);;All files (*)",
                                                      start=str(Path(path).parent))
            if legend:
                self.load_files(path, str(legend))
            return
        self.open_import_dialog(path)

    def _window_backend(self):
        return getattr(self.window(), "backend", None)

    def known_classes(self) -> list[str] | None:
        """The class list of the profile in use (None when it has none: any class name is accepted)."""
        profile = getattr(self._window_backend(), "profile", None)
        return list(getattr(profile, "classes", None) or []) or None

    def _primary_name(self) -> str | None:
        primary = getattr(self.window(), "primary", None)
        value = primary.value() if primary is not None and hasattr(primary, "value") else ""
        return value or None

    def open_import_dialog(self, path: str) -> MaskImportDialog:
        """Show the import dialog for ``path`` (not modal to the process: tests and the event loop go on);
        Import writes the mask into the data folder and loads it here."""
        dialog = MaskImportDialog(path, self.known_classes(), self._primary_name(), self)
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
            self._run(write_imported, result, data_dir() / "imported", self.primary_size,
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
        if self.state is None:
            return
        default = str(self.state.path.with_name(self.state.path.stem + "_repaired.png"))
        out = save_file(self, "export", "Save the repaired mask as", default, "PNG images (*.png)")
        if out:
            self._run(repair_mask, self.state, out, self.primary_size, message="Repairing…")

    def _on_export_clicked(self) -> None:
        if self.state is None:
            return
        out = save_file(self, "export", "Export the mask as", str(self.state.path.name), "PNG images (*.png)")
        if not out:
            return
        try:
            if Path(out).resolve() != self.state.path.resolve():
                shutil.copyfile(self.state.path, out)
            Path(out).with_suffix(".legend.json").write_text(json.dumps(self.state.legend, indent=2), encoding="utf-8")
        except OSError as e:
            self._show_error(f"Could not export to {out}: {e.strerror}.")
            return
        self.status.setText(f"Exported {Path(out).name} and {Path(out).with_suffix('.legend.json').name}.")

    def _on_name_edited(self, hexkey: str, name: str) -> None:
        if self.state is not None:
            self.state.legend[hexkey] = name
            overlay = self.state.overlay
            if overlay is not None and hexkey.lower() in overlay.hexes:  # the hover readout names it too
                overlay.names[overlay.hexes.index(hexkey.lower())] = name
            # core's legend rules again (a name two colours now share), without decoding the mask again
            legend_problems = check_legend(self.state.legend)[1]
            others = [p for p in self.state.report.problems if p.code not in ("bad_legend_entry",)]
            shown = [p for p in legend_problems if p.severity == "warning"] + others
            self._show_problems(shown)
            self._fill_legend(self.state)
            self.mask_changed.emit(self.state)

    def _overlay_index(self, row: int | None) -> int | None:
        """The view's class index of a legend table row (rows with a bad key have none)."""
        overlay = self.state.overlay if self.state is not None else None
        if row is None or overlay is None or not (0 <= row < self.legend_table.rowCount()):
            return None
        key = self.legend_table.item(row, 1).data(Qt.ItemDataRole.UserRole)
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
        self._run(edit_mask, self.state, op, args, self.primary_size, data_dir() / "edited",
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
        if key is None or self.state is None:
            return
        start = QColor(key) if key_problem(key) is None else QColor(Qt.GlobalColor.white)
        colour = QColorDialog.getColor(start, self, f"Colour for \"{self.state.legend.get(key, key)}\"")
        if colour.isValid() and colour.name() != key.lower():
            self._on_colour_typed(key, colour.name())

    def _on_add_clicked(self) -> None:
        if self.state is None:
            return
        colour = QColorDialog.getColor(QColor(Qt.GlobalColor.white), self, "Colour of the new class")
        if not colour.isValid():
            return
        name, ok = QInputDialog.getText(self, "New class", f"Name of the class coloured {colour.name()}:")
        if ok:
            self.edit_legend("add", colour.name(), name)

    def _on_merge_clicked(self) -> None:
        key = self.legend_table.selected_key()
        if key is None or self.state is None:
            return
        others = [f"{name} ({k})" for k, name in self.state.legend.items() if k != key]
        if not others:
            return
        choice, ok = QInputDialog.getItem(self, "Merge classes", f"Merge \"{self.state.legend[key]}\" ({key}) "
                                          f"into:", others, 0, False)
        if ok and choice:
            target = choice.rsplit(" (", 1)[1].rstrip(")")
            self.edit_legend("merge", key, target)

    def _on_remove_clicked(self) -> None:
        key = self.legend_table.selected_key()
        if key is not None:
            self.edit_legend("remove", key)

    # ---------------------------------------------------------------- workers
    def _run(self, fn, *args, message: str, failed: str = "The mask could not be used: ") -> None:
        self.status.setText(message)
        self.busy_changed.emit(True)
        self._set_enabled(False)
        self._worker = start_worker(fn, *args, owner=self)
        self._worker.returned.connect(self._on_result)
        self._worker.errored.connect(lambda e: self._show_error(f"{failed}{_sentence(str(e))}"))
        self._worker.finished.connect(self._on_worker_finished)

    def _on_worker_finished(self) -> None:
        self._worker = None
        self._set_enabled(True)
        self.busy_changed.emit(False)

    def _on_result(self, result) -> None:
        note = ""
        if isinstance(result, tuple):
            result, note = result
        self.state = result
        report = result.report
        self._fill_legend(result)
        self._show_problems(report.problems)
        if not report.problems:
            self.problems.addItem(QListWidgetItem("None: every pixel is unlabelled or a legend colour."))
        errors = sum(p.severity == "error" for p in report.problems)
        size = f"{report.width}×{report.height}" if report.width else "unreadable"
        self.status.setText(f"{result.path.name}: {size}, {len(report.rows)} classes, "
                            + (f"{errors} error(s)" if errors else "valid") + (f". {note}" if note else ""))
        self._update_buttons()
        self.mask_changed.emit(result)

    def _fill_legend(self, state: MaskState) -> None:
        """Every legend entry as written (a bad key too, so it can be corrected in place), with the
        check's pixel counts, and core's marks on rows with something wrong."""
        stats = {r.hex: r for r in state.report.rows}
        rows = []
        for key, name in state.legend.items():
            r = stats.get(key.lower()) if isinstance(key, str) else None
            rows.append((key, name if isinstance(name, str) else "", r.pixels if r else None, r.share if r else None))
        self.legend_table.set_rows(rows, toggles=state.overlay is None or state.overlay.indexed,
                                   marks=legend_marks(state.legend))

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
        fixable = self.state is not None and self.state.report.repairable
        self.repair_button.setEnabled(enabled and fixable)
        self.export_button.setEnabled(enabled and has)
        self.clear_button.setEnabled(enabled and has)
