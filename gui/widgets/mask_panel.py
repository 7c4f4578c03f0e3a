"""Pre-label mask panel: load (or colour-code) a mask, show core's findings, repair, export, legend.

All mask work (check, colour-coding, repair, building the overlay) runs in workers; this panel only shows
what core found. ``mask_changed`` carries a :class:`MaskState` (or None when the mask is removed).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core.legend import check_legend, read_legend_data
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
from playment_submit.core.settings import data_dir
from playment_submit.gui.dialogs import open_file, save_file
from playment_submit.gui.overlay import Overlay, build_overlay
from playment_submit.gui.style import set_status, status_colour
from playment_submit.gui.widgets.legend_table import LegendTable, swatch
from playment_submit.gui.workers import start_worker


@dataclass
class MaskState:
    path: Path
    legend: dict[str, str]
    report: MaskReport
    overlay: Overlay | None


# ---------------------------------------------------------------- worker jobs (no widgets)
def _overlay_for(path: Path, legend: dict[str, str], report: MaskReport) -> Overlay | None:
    if not report.usable:
        return None
    with Image.open(path) as img:
        rgba = np.asarray(img if img.mode == "RGBA" else img.convert("RGBA"))
    good, _ = check_legend(legend)
    return build_overlay(rgba, good)


def load_mask(path: str, legend: dict[str, str], primary_size) -> MaskState:
    report = check(path, legend, primary_size, interactive=True)
    return MaskState(Path(path), dict(legend), report, _overlay_for(Path(path), legend, report))


def colour_code(index_path: str, classes, primary_size, out_dir: Path) -> MaskState:
    """``classes`` in any form core accepts: the dialog's {index: name}, a list (first = index 1), ..."""
    rgba, legend = encode(index_path, classes)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{Path(index_path).stem}_coded.png"
    save_png(rgba, out)
    write_legend(legend, out.with_suffix(".legend.json"))
    report = check(out, legend, primary_size, interactive=True)
    return MaskState(out, legend, report, build_overlay(rgba, legend))


def repair_mask(state: MaskState, out_path: str, primary_size) -> tuple[MaskState, str]:
    summary = repair(state.path, state.legend, out_path)
    new = load_mask(out_path, state.legend, primary_size)
    kinds = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in summary.changed.items() if k != "total" and v)
    note = f"Repaired {summary.changed_pixels:,} pixels ({kinds or 'none'})"
    if summary.left_pixels:
        note += f"; {summary.left_pixels:,} pixels of unknown colours were left as they were"
    return new, note + "."


def legend_preview(classes) -> list[tuple[int, str, str]]:
    """(index, colour, name) rows of the legend core's encode will produce for these classes (runs in a
    worker: the first call for many classes computes the palette). Core's own answer, so the dialog never
    re-implements the palette, the index rule or the naming rules."""
    return class_colours(classes) if classes else []


class ClassNamesDialog(QDialog):
    """Asks for the class names of an index mask and shows, per index, the legend entry it makes.

    The editor follows core's classes rule (``CLASSES_HELP``, the same as ``mask encode --classes``):
    line n names index n, or ``n: name`` on every line. A loaded classes file is shown in that form
    and, while the text is left as loaded, used as it is (so colours it pins are kept too).
    """

    def __init__(self, names=(), parent=None):
        super().__init__(parent)
        self.setWindowTitle("Colour-code an index mask")
        self.resize(560, 380)
        lay = QVBoxLayout(self)
        self.help = QLabel(CLASSES_HELP)
        self.help.setWordWrap(True)
        lay.addWidget(self.help)
        cols = QHBoxLayout()
        self._loaded: tuple[str, Any] | None = None   # (text as loaded, the file's classes)
        self.editor = QPlainTextEdit(classes_to_text(names) if names else "")
        self.editor.setToolTip("One class name per line (line n is index n), or \"n: name\" on every line")
        cols.addWidget(self.editor, 1)
        right = QVBoxLayout()
        right.addWidget(QLabel("Generated legend (index, colour, name)"))
        self.legend_list = QListWidget()
        self.legend_list.setToolTip("The index each class names, the colour it will get in the coded mask, "
                                    "and its legend entry")
        right.addWidget(self.legend_list)
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
        self._worker = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(250)
        self._preview_timer.timeout.connect(self._on_preview_due)
        self.editor.textChanged.connect(self._preview_timer.start)
        self._on_preview_due()

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
        for index, hexkey, name in rows:
            self.legend_list.addItem(QListWidgetItem(swatch(hexkey), f"{index}  {hexkey}  {name}"))
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
        self.status = QLabel("No pre-label mask (optional).")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        op = QHBoxLayout()
        op.addWidget(QLabel("Opacity"))
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setToolTip("How strongly the mask is drawn over the image")
        op.addWidget(self.opacity)
        lay.addLayout(op)
        self.legend_table = LegendTable()
        lay.addWidget(self.legend_table, 3)
        lay.addWidget(QLabel("Problems found in the mask"))
        self.problems = QListWidget()
        self.problems.setWordWrap(True)
        self.problems.setMaximumHeight(150)
        lay.addWidget(self.problems, 1)
        more = QHBoxLayout()
        self.repair_button = QPushButton("Repair…")
        self.repair_button.setToolTip("Snap near colours to the legend, clear hidden colour, threshold soft edges; "
                                      "writes a new file")
        self.export_button = QPushButton("Export mask + legend…")
        self.clear_button = QPushButton("Remove mask")
        for b in (self.repair_button, self.export_button, self.clear_button):
            more.addWidget(b)
        lay.addLayout(more)
        self._update_buttons()

        self.load_button.clicked.connect(self._on_load_clicked)
        self.code_button.clicked.connect(self._on_code_clicked)
        self.repair_button.clicked.connect(self._on_repair_clicked)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.clear_button.clicked.connect(self.clear)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100))
        self.legend_table.visibility_changed.connect(self.class_visibility_changed)
        self.legend_table.class_selected.connect(self.class_highlighted)
        self.legend_table.name_edited.connect(self._on_name_edited)

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

    def colour_code_files(self, index_path: str, classes) -> None:
        """``classes``: class names in any form core's encode takes (a list, first = index 1, or {index: name})."""
        self._run(colour_code, index_path, classes, self.primary_size, data_dir() / "coded",
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

    def _on_code_clicked(self) -> None:
        index = open_file(self, "mask", "Index mask", "Index masks (*.png *.tif *.tiff *.npy)")
        if not index:
            return
        dialog = ClassNamesDialog([], self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            classes = dialog.names()
            if classes:
                self.colour_code_files(index, classes)

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
            self.mask_changed.emit(self.state)

    # ---------------------------------------------------------------- workers
    def _run(self, fn, *args, message: str) -> None:
        self.status.setText(message)
        self.busy_changed.emit(True)
        self._set_enabled(False)
        self._worker = start_worker(fn, *args, owner=self)
        self._worker.returned.connect(self._on_result)
        self._worker.errored.connect(lambda e: self._show_error(f"The mask could not be used: {e}"))
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
        rows = [(r.hex, r.name, r.pixels, r.share) for r in report.rows]
        self.legend_table.set_rows(rows, toggles=result.overlay is None or result.overlay.indexed)
        self.problems.clear()
        for p in report.problems:
            item = QListWidgetItem(f"{p.severity}: {p.message}")
            item.setForeground(status_colour("error" if p.severity == "error" else "warning"))
            item.setData(Qt.ItemDataRole.UserRole, p.code)
            self.problems.addItem(item)
        if not report.problems:
            self.problems.addItem(QListWidgetItem("None: every pixel is unlabelled or a legend colour."))
        errors = sum(p.severity == "error" for p in report.problems)
        size = f"{report.width}×{report.height}" if report.width else "unreadable"
        self.status.setText(f"{result.path.name}: {size}, {len(report.rows)} classes, "
                            + (f"{errors} error(s)" if errors else "valid") + (f". {note}" if note else ""))
        self._update_buttons()
        self.mask_changed.emit(result)

    def _show_error(self, text: str) -> None:
        self.status.setText(text)
        set_status(self.status, "error")

    def _set_enabled(self, enabled: bool) -> None:
        set_status(self.status, None)
        for b in (self.load_button, self.code_button):
            b.setEnabled(enabled)
        self._update_buttons(enabled)

    def _update_buttons(self, enabled: bool = True) -> None:
        has = self.state is not None
        fixable = self.state is not None and self.state.report.repairable
        self.repair_button.setEnabled(enabled and fixable)
        self.export_button.setEnabled(enabled and has)
        self.clear_button.setEnabled(enabled and has)
