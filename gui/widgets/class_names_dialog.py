"""The colour-code dialog: class names for an index mask, by core's classes rule, with the legend it makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from playment_submit.core.mask import (
    CLASSES_HELP,
    IGNORE_VALUE_8BIT,
    class_colours,
    class_list_rule,
    classes_for_text,
    classes_text_rule,
    classes_to_text,
    load_classes,
    names_against_mask,
    names_ignore_value,
    parse_classes,
    resolve_classes,
)
from playment_submit.core.mask.encode import index_counts
from playment_submit.core.mask_files import remember_classes, remembered_classes
from playment_submit.gui.style import set_status, status_colour
from playment_submit.gui.widgets.legend_table import swatch
from playment_submit.gui.workers import Worker, start_worker


def legend_preview(classes: Any) -> list[tuple[int, str, str]]:
    """(index, colour, name) rows of the legend core's encode will produce for these classes (runs in a
    worker: the first call for many classes computes the palette). Core's own answer, so the dialog never
    re-implements the palette, the index rule or the naming rules."""
    return class_colours(classes) if classes else []


def sentence(problem: object) -> str:
    """A problem as a sentence starting with a capital."""
    text = str(problem)
    return text[0].upper() + text[1:] if text else text


class ClassNamesDialog(QDialog):
    """Asks for the class names of an index mask and shows, per index, the legend entry it makes.

    The editor follows core's class-list rule (``CLASSES_HELP``, the same as ``mask encode --classes``):
    line 1 is index 1 unless it names background or is ``__ignore__``, or ``n: name`` on every line; "Read
    the list from" forces index 0 or 1 (``--classes-start``), and the sentence under the editor is core's
    reading. A loaded classes file is shown in that form and, while the text is left as loaded, used as it
    is (so colours it pins are kept too). With the mask's values counted, OK stays disabled while the mask
    holds an index no class names (the typed names are kept), and names for indices the mask does not
    hold are pointed out.

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
        self.editor = QPlainTextEdit(classes_to_text(names) if names else remembered_classes())
        self.editor.setToolTip("One class name per line (line 1 is index 1, or index 0 when it names "
                               "background or is __ignore__), or \"n: name\" on every line")
        left = QVBoxLayout()
        left.addWidget(self.editor, 1)
        start_row = QHBoxLayout()
        start_row.addWidget(QLabel("Read the list from"))
        self.start = QComboBox()
        self.start.setObjectName("classesStart")
        self.start.addItem("index 0 or 1, by its first line", None)
        self.start.addItem("index 0 (line 1 is index 0)", 0)
        self.start.addItem("index 1 (line 1 is index 1)", 1)
        self.start.setToolTip("Like --classes-start on the command line: force the first line to be index 0 or 1")
        self.start.currentIndexChanged.connect(lambda _i: self._on_preview_due())
        start_row.addWidget(self.start, 1)
        left.addLayout(start_row)
        cols.addLayout(left, 1)
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
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        row = QHBoxLayout()
        row.addWidget(load)
        row.addStretch(1)
        row.addWidget(buttons)
        lay.addLayout(row)
        self.rule = QLabel("")   # which reading of the class list core used (background first, __ignore__)
        self.rule.setObjectName("classListRule")
        self.rule.setWordWrap(True)
        lay.addWidget(self.rule)
        self.coverage = QLabel("")   # core's sentences: indices the mask holds unnamed, names for absent ones
        self.coverage.setObjectName("maskCoverage")
        self.coverage.setWordWrap(True)
        set_status(self.coverage, "warning")
        lay.addWidget(self.coverage)
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
            self._count_worker.errored.connect(lambda e: self.indices.setText(sentence(str(e))))

    def _on_counts(self, counts: dict[int, int]) -> None:
        self.counts = counts
        self._show_preview(self.editor.toPlainText(), self._rows)

    def _show_counts(self) -> None:
        """The index values the mask holds and their pixels (0 unlabelled; __ignore__'s value when named)."""
        counts = self.counts or {}
        ignore = not self.problems() and names_ignore_value(self.names())

        def what(i: int) -> str:
            return " (unlabelled)" if i == 0 else (" (ignore value)" if ignore and i == IGNORE_VALUE_8BIT else "")
        parts = [f"{i}{what(i)}: {n:,} px" for i, n in sorted(counts.items())[:20]]
        more = len(counts) - 20
        self.indices.setText("The mask holds index " + ", ".join(parts) + (f" and {more} more" if more > 0 else "")
                             + ".")

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
        if self._as_loaded() and self._loaded is not None:
            rule = class_list_rule(self._loaded[1], self.start_index())
        else:
            rule = classes_text_rule(text, self.start_index()) if text.strip() else None
        self.rule.setText(f"Read as: {rule}" if rule else "")
        if not text.strip():
            self._show_preview(text, [])
            return
        problems = self.problems()
        if problems:
            self.legend_list.clear()
            self.error.setText(" ".join(sentence(p) for p in problems))
            self._update_ok()
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
            if names_ignore_value(self.names()):
                named.add(IGNORE_VALUE_8BIT)   # __ignore__'s value stays unlabelled, no name needed
            for index in sorted(i for i in self.counts if i and i not in named)[:20]:
                item = QListWidgetItem(f"{index}  (no name)  {self.counts[index]:,} px")
                item.setForeground(status_colour("error"))
                item.setToolTip(f"Index {index} is in the mask but has no class name; add it on the left.")
                self.legend_list.addItem(item)
        if not rows:
            self.legend_list.addItem("Type the class names on the left.")
        self._update_ok()

    def missing(self) -> str | None:
        """Core's sentence for index values the mask holds without a class name (None: nothing missing, or
        the mask's values are not counted yet)."""
        if self.counts is None or self.problems():
            return None
        return names_against_mask(self.index_names(), self.counts, names_ignore_value(self.names()))[0]

    def _update_ok(self) -> None:
        """OK only for names core accepts and that name every index the mask holds; the reason is shown."""
        absent = None
        if self.counts is not None:
            self._show_counts()
        if self.counts is not None and not self.problems():
            absent = names_against_mask(self.index_names(), self.counts, names_ignore_value(self.names()))[1]
        missing = self.missing()
        self.coverage.setText(" ".join(s for s in (missing, absent) if s))
        set_status(self.coverage, "error" if missing else "warning")
        self.ok.setEnabled(not self.problems() and missing is None and bool(self.editor.toPlainText().strip()))

    def _on_preview_failed(self, text: str, error: Exception) -> None:
        if text == self.editor.toPlainText():
            self.legend_list.clear()
            self.error.setText(str(error))
            self.ok.setEnabled(False)

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

    def start_index(self) -> int | None:
        """The "Read the list from" choice: 0 or 1 (``--classes-start``), or None for core's rule."""
        value = self.start.currentData()
        return value if value in (0, 1) else None

    def names(self):
        """The classes to colour-code with, in a form core's encode takes, read once by core's class-list
        rule with the chosen start (a plain list becomes core's ClassList, its __ignore__ kept): the loaded
        file's classes while the editor still shows them unchanged, otherwise what the editor holds."""
        if self._loaded is not None and self._as_loaded():
            return resolve_classes(self._loaded[1], self.start_index())[0]
        return classes_for_text(self.editor.toPlainText(), self.start_index())[0]

    def index_names(self) -> dict[int, str]:
        """{index: name} as core reads the current classes."""
        return parse_classes(self.names())[0]

    def problems(self) -> list:
        if self._loaded is not None and self._as_loaded():
            return resolve_classes(self._loaded[1], self.start_index())[1]
        return classes_for_text(self.editor.toPlainText(), self.start_index())[1]

    def accept(self) -> None:
        problems = self.problems()
        if not problems and not self.index_names():
            self.error.setText("Write at least one class name, or load a classes file.")
            return
        if problems:
            self.error.setText(" ".join(sentence(p) for p in problems))
            return
        missing = self.missing()
        if missing:   # the dialog stays open with the names typed, saying what is missing
            self.coverage.setText(missing)
            set_status(self.coverage, "error")
            return
        if not self._as_loaded():
            remember_classes(self.editor.toPlainText())  # for next time
        super().accept()
