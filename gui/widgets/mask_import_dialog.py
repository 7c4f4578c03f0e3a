"""Import a mask written in another tool's format (COCO, VOC, Cityscapes, CVAT, binary masks, index).

The dialog only gathers the options and shows core's answer: the format (core's ``infer_format``, or the
user's pick where it cannot be told), the inputs that format needs, and the legend with pixel counts that
:func:`core.mask.formats.import_mask` produced, before anything is written. Every conversion runs in a
worker (an 8K file takes about a second); a refusal shows core's sentence. Accepting keeps the
:class:`ImportResult` in ``imported``; the Mask tab writes it and checks it as any mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core.defaults import CLASSES_HELP
from playment_submit.core.errors import PlaymentError, ValidationError
from playment_submit.core.mask.formats import (
    FORMAT_HELP,
    FORMATS,
    OPTION_BY_KEY,
    ImportOptions,
    ImportResult,
    dialog_fields,
    import_mask,
    infer_format,
    load_mapping,
)
from playment_submit.gui.dialogs import open_file
from playment_submit.gui.style import set_status
from playment_submit.gui.widgets.legend_table import swatch
from playment_submit.gui.workers import start_worker

#: options each format reads in the dialog (the rest are hidden), from core's one table of formats
FIELDS: dict[str, tuple[str, ...]] = {fmt: dialog_fields(fmt) for fmt in FORMATS}
IDS = (("from the file name", None), *((label, value) for value, label in OPTION_BY_KEY["ids"].choices))


# ---------------------------------------------------------------- worker jobs (no widgets)
@dataclass
class CocoImages:
    images: list[tuple[str, str]]     # (label shown, value for ImportOptions.image)
    primary: str | None               # the value of the image matching the primary image, if any


def coco_images(path: str, primary_name: str | None) -> CocoImages:
    """The images a COCO file lists, and the one core's own rule (file name, base name or id) matches
    with the primary image's file name."""
    from playment_submit.core.errors import UsageError
    from playment_submit.core.mask.formats.coco import load_coco, pick_image

    data = load_coco(path)
    images = []
    for im in data["images"]:
        if not isinstance(im, dict):
            continue
        value = str(im.get("file_name") or im.get("id"))
        w, h = im.get("width"), im.get("height")
        images.append((f"{value}  ({w}×{h}, id {im.get('id')})", value))
    primary = None
    if primary_name:
        try:
            im = pick_image(data, Path(primary_name).name, path)
            primary = str(im.get("file_name") or im.get("id"))
        except (UsageError, ValidationError):
            primary = None
    return CocoImages(images, primary)


def preview_import(source: str, fmt: str, opts: ImportOptions, map_file: str | None,
                   renames: dict[str, str | None]) -> ImportResult:
    """core's conversion with the renames chosen in the dialog and the map file's entries (which win: the
    dialog only offers renames for the classes still refused)."""
    mapping: dict[str, str | None] = dict(renames)
    if map_file:
        mapping.update(load_mapping(map_file))
    from dataclasses import replace
    return import_mask(source, fmt, replace(opts, mapping=mapping or None))


def error_text(error: BaseException, source: str | None = None) -> str:
    """Core's sentences in the window's words (its problems rendered for the GUI), never a traceback; a
    problem about ``source`` itself (named at the top of the dialog) is shown without its path."""
    if isinstance(error, ValidationError) and error.problems:
        errors = [p for p in error.problems if p.severity == "error"] or error.problems
        texts = [_capital(p.text("gui", with_path=p.path != source)) for p in errors[:5]]
        return " ".join(texts) + (f" And {len(errors) - 5} more." if len(errors) > 5 else "")
    if isinstance(error, PlaymentError):
        return str(error)
    return f"The mask could not be imported: {error}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def unknown_classes(error: BaseException) -> dict[str, str]:
    """{class name: closest known name} of the classes core refused as unknown to the project."""
    out: dict[str, str] = {}
    for p in getattr(error, "problems", ()):
        if getattr(p, "code", None) != "unknown_class":
            continue
        for d in getattr(p, "details", ()):
            if d.get("name") and d.get("closest"):
                out[str(d["name"])] = str(d["closest"])
    return out


# ---------------------------------------------------------------- the dialog
class FileField(QWidget):
    """A path box with a Browse… button."""

    def __init__(self, key: str, title: str, filters: str, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.browse = QPushButton("Browse…")
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.browse)
        self.browse.clicked.connect(lambda: self._browse(key, title, filters))

    def _browse(self, key: str, title: str, filters: str) -> None:
        path = open_file(self, key, title, filters)
        if path:
            self.edit.setText(path)

    def value(self) -> str | None:
        return self.edit.text().strip() or None


class MaskImportDialog(QDialog):
    """``source``: the file (or folder, for binary masks) to import; ``known``: the profile's class list
    (None: any name is accepted); ``primary_name``: the primary image's file name (picks a COCO image)."""

    def __init__(self, source: str, known: list[str] | None = None, primary_name: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.known = list(known) if known else None
        self.primary_name = primary_name
        self.imported: ImportResult | None = None
        self.renames: dict[str, str | None] = {}
        self._suggested: dict[str, str] = {}
        self._generation = 0
        self._images_loaded = False
        self._pending = False   # a conversion is running in a worker
        self.setWindowTitle("Import a mask")
        self.resize(640, 560)
        lay = QVBoxLayout(self)
        name = QLabel(f"<b>{_escape(Path(source).name)}</b> &nbsp; {_escape(str(Path(source).parent))}")
        name.setObjectName("importSource")
        name.setWordWrap(True)
        name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(name)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.format = QComboBox()
        inferred = infer_format(source)
        if inferred is None:
            self.format.addItem("Choose the format…", None)
        for fmt in FORMATS:
            self.format.addItem(f"{fmt}: {FORMAT_HELP[fmt]}", fmt)
        self.format.setCurrentIndex(max(0, self.format.findData(inferred)) if inferred else 0)
        self.format.setToolTip("How the file was written; chosen from the file where it can be told")
        form.addRow("&Format", self.format)
        self.image = QComboBox()
        self.image.setToolTip("The image of the COCO file this mask is for; the mask gets its size")
        self.instances = QCheckBox("One legend entry per instance (\"car #1\", \"car #2\", …)")
        self.ids = QComboBox()
        for label, value in IDS:
            self.ids.addItem(label, value)
        self.classes = FileField("classes", "Class names", "Class names (*.txt *.json);;All files (*)",
                                 "a text file, one class name per line")
        self.classes.setToolTip(CLASSES_HELP)
        self.classes_start = QComboBox()
        starts: tuple[tuple[str, int | None], ...] = (
            ("index 0 or 1, by its first line", None), ("index 0 (line 1 is index 0)", 0),
            ("index 1 (line 1 is index 1)", 1))
        for start_label, start in starts:
            self.classes_start.addItem(start_label, start)
        self.classes_start.setToolTip("Which index line 1 of the class names is (--classes-start on the command "
                                      "line); by default index 0 when it names background or is __ignore__")
        self.labelmap = FileField("classes", "CVAT labelmap", "labelmap.txt (*.txt);;All files (*)",
                                  "labelmap.txt next to the mask is used when empty")
        self.unlabelled = QSpinBox()
        self.unlabelled.setRange(0, 65535)
        self.unlabelled.setToolTip("The pixel value meaning \"no class\"")
        self.map_file = FileField("classes", "Class map", "Class map (*.json);;All files (*)",
                                  "optional: {\"old name\": \"new name\"} or {\"old name\": null}")
        self.map_file.setToolTip("Renames, merges (two old names, one new name) or drops (null) classes")
        self._rows: dict[str, tuple[QWidget | None, QWidget]] = {}
        for key, label, widget in (("image", "&Image", self.image), ("instances", "", self.instances),
                                   ("ids", "&IDs", self.ids), ("classes", "&Classes file", self.classes),
                                   ("classes_start", "Read the list &from", self.classes_start),
                                   ("labelmap", "&Labelmap", self.labelmap),
                                   ("unlabelled", "&Unlabelled value", self.unlabelled),
                                   ("map", "Class &map", self.map_file)):
            form.addRow(label, widget)
            self._rows[key] = (form.labelForField(widget), widget)
        lay.addLayout(form)

        renames = QHBoxLayout()
        self.renames_label = QLabel("")
        self.renames_label.setObjectName("importRenames")
        self.renames_label.setWordWrap(True)
        self.rename_button = QPushButton("Rename to the closest names")
        self.rename_button.setToolTip("Map each class the project does not know to the closest name in the "
                                      "profile's class list")
        self.clear_renames = QPushButton("Undo renames")
        renames.addWidget(self.renames_label, 1)
        renames.addWidget(self.rename_button)
        renames.addWidget(self.clear_renames)
        lay.addLayout(renames)

        lay.addWidget(QLabel("Legend of the imported mask (nothing is written before Import)"))
        self.legend = QTableWidget(0, 3)
        self.legend.setObjectName("importLegend")
        self.legend.setHorizontalHeaderLabels(("Colour", "Name", "Pixels"))
        self.legend.verticalHeader().setVisible(False)
        self.legend.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.legend.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.legend.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.legend, 1)
        self.summary = QLabel("")
        self.summary.setObjectName("importSummary")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.error = QLabel("")
        self.error.setObjectName("importError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_status(self.error, "error")
        lay.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setToolTip("Write the mask and its legend to the app's data folder and load them on the Mask tab")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.refresh)
        self.format.currentIndexChanged.connect(self._on_format_changed)
        self.image.currentIndexChanged.connect(self._changed)
        self.instances.toggled.connect(self._changed)
        self.ids.currentIndexChanged.connect(self._changed)
        self.classes_start.currentIndexChanged.connect(self._changed)
        self.unlabelled.valueChanged.connect(self._changed)
        for f in (self.classes, self.labelmap, self.map_file):
            f.edit.textChanged.connect(self._changed)
        self.rename_button.clicked.connect(self.apply_suggested_renames)
        self.clear_renames.clicked.connect(self._on_clear_renames)
        self._on_format_changed()

    # ------------------------------------------------------------- options
    def fmt(self) -> str | None:
        return self.format.currentData()

    def options(self) -> ImportOptions:
        fmt = self.fmt()
        fields = FIELDS.get(fmt or "", ())
        return ImportOptions(
            image=self.image.currentData() if "image" in fields else None,
            instances=self.instances.isChecked() if "instances" in fields else False,
            ids=self.ids.currentData() if "ids" in fields else None,
            classes=self.classes.value() if "classes" in fields else None,
            labelmap=self.labelmap.value() if "labelmap" in fields else None,
            classes_start=self.classes_start.currentData() if "classes_start" in fields else None,
            unlabelled=self.unlabelled.value() if "unlabelled" in fields else 0,
            known=self.known)

    def _on_format_changed(self, *_args: object) -> None:
        fields = FIELDS.get(self.fmt() or "", ())
        for key, (label, widget) in self._rows.items():
            shown = key == "map" or key in fields
            widget.setVisible(shown)
            if label is not None:
                label.setVisible(shown)
        if self.fmt() == "coco" and not self._images_loaded:
            self._load_images()
            return
        self._changed()

    def _changed(self, *_args: object) -> None:
        self._generation += 1  # a preview on its way is now stale
        self.ok.setEnabled(False)
        self._timer.start()

    # ------------------------------------------------------------- COCO images
    def _load_images(self) -> None:
        self._images_loaded = True
        self._pending = True
        self.summary.setText("Reading the COCO file's images…")
        w = start_worker(coco_images, self.source, self.primary_name, owner=self)
        w.returned.connect(self._on_images)
        w.errored.connect(self._on_failed_now)

    def _on_images(self, found: CocoImages) -> None:
        self._pending = False
        self.image.blockSignals(True)
        self.image.clear()
        if len(found.images) != 1 and found.primary is None:
            self.image.addItem("Choose the image…", None)
        for label, value in found.images:
            self.image.addItem(label, value)
        if found.primary is not None:
            self.image.setCurrentIndex(max(0, self.image.findData(found.primary)))
        self.image.blockSignals(False)
        self._changed()

    # ------------------------------------------------------------- preview
    def waiting_for(self) -> str | None:
        """What the user must choose before a preview can be made (None: nothing)."""
        fmt = self.fmt()
        if fmt is None:
            return "The format cannot be told from the file; choose it above."
        if fmt == "coco" and self.image.currentData() is None:
            n = self.image.count() - 1
            return (f"The COCO file holds {n} images; choose the one this mask is for." if n > 0
                    else "Reading the COCO file's images…")
        if fmt == "index" and not self.classes.value():
            return ("An index mask needs a classes file: one class name per line (line 1 is value 1, or 0 when it "
                    "names background).")
        return None

    def refresh(self) -> None:
        """Convert again with the options shown (in a worker); the legend follows when it is done."""
        self._timer.stop()
        self._generation += 1
        generation = self._generation
        self.imported = None
        self.ok.setEnabled(False)
        self.error.setText("")
        self._show_suggestions({})
        waiting = self.waiting_for()
        if waiting is not None:
            self._pending = False
            self.legend.setRowCount(0)
            self.summary.setText(waiting)
            return
        self.summary.setText(f"Reading {Path(self.source).name}…")
        try:
            opts = self.options()
        except PlaymentError as e:
            self._on_failed(generation, e)
            return
        self._pending = True
        w = start_worker(preview_import, self.source, self.fmt(), opts, self.map_file.value(), dict(self.renames),
                         owner=self)
        w.returned.connect(lambda r, g=generation: self._on_preview(g, r))
        w.errored.connect(lambda e, g=generation: self._on_failed(g, e))

    def busy(self) -> bool:
        """True while a preview is due or on its way (or the COCO file's images are being read)."""
        return self._timer.isActive() or self._pending

    def _on_preview(self, generation: int, result: ImportResult) -> None:
        if generation != self._generation:
            return
        self._pending = False
        self.imported = result
        rows = result.rows()
        self.legend.setRowCount(len(rows))
        for i, (colour, name, pixels) in enumerate(rows):
            self.legend.setItem(i, 0, QTableWidgetItem(swatch(colour), colour))
            self.legend.setItem(i, 1, QTableWidgetItem(name))
            count = QTableWidgetItem(f"{pixels:,}")
            count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.legend.setItem(i, 2, count)
        n = len(rows)
        self.summary.setText(f"{result.width}×{result.height}, {n} class{'es' if n != 1 else ''}, "
                             f"{result.unlabelled:,} pixels unlabelled."
                             + (f" Class names read as: {result.classes_rule}" if result.classes_rule else ""))
        warnings = [_capital(p.text("gui", with_path=p.path != self.source)) for p in result.problems]
        set_status(self.error, "warning" if warnings else "error")
        self.error.setText(" ".join(warnings))
        self.ok.setEnabled(n > 0)
        if n == 0:
            set_status(self.error, "error")
            self.error.setText("Every pixel of this mask is unlabelled; there is nothing to import.")

    def _on_failed_now(self, error: BaseException) -> None:
        self._on_failed(self._generation, error)

    def _on_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._pending = False
        self.imported = None
        self.legend.setRowCount(0)
        self.summary.setText("")
        set_status(self.error, "error")
        self.error.setText(error_text(error, self.source))
        self._show_suggestions(unknown_classes(error))

    # ------------------------------------------------------------- renames
    def _show_suggestions(self, suggested: dict[str, str]) -> None:
        self._suggested = suggested
        self.rename_button.setVisible(bool(suggested))
        self.clear_renames.setVisible(bool(self.renames))
        parts = [f"{old} → {new if new is not None else '(dropped)'}" for old, new in self.renames.items()]
        if suggested:
            offer = ", ".join(f"{old} → {new}" for old, new in suggested.items())
            self.renames_label.setText(f"Rename: {offer}?")
        else:
            self.renames_label.setText(f"Renamed: {', '.join(parts)}." if parts else "")
        self.renames_label.setVisible(bool(suggested or parts))

    def apply_suggested_renames(self) -> None:
        """Map each refused class to the closest known name (core's suggestion), then convert again."""
        self.renames.update(self._suggested)
        self._changed()

    def _on_clear_renames(self) -> None:
        self.renames.clear()
        self._changed()

    def accept(self) -> None:
        if self.imported is None:
            return
        super().accept()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["MaskImportDialog", "coco_images", "error_text", "preview_import", "unknown_classes"]
