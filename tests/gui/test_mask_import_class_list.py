"""The import dialog reads a class list by core's one rule and says which reading it used, with "Read the
list from" as the command line's --classes-start (issue 22: every reading says which rule it used)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt", reason="pytest-qt drives the widget tests")

from playment_submit.gui.widgets.mask_import_dialog import MaskImportDialog

DATA = Path(__file__).resolve().parents[1] / "data" / "labelme_rules"


def _names(dialog) -> list[str]:
    return sorted(dialog.legend.item(r, 1).text() for r in range(dialog.legend.rowCount()))


def test_labelme_class_names_are_read_from_ignore_and_the_reading_is_said(qtbot):
    dialog = MaskImportDialog(str(DATA / "2011_000003.png"))
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("index"))
    assert dialog.classes_start.isVisible() or not dialog.isVisible()
    dialog.classes.edit.setText(str(DATA / "class_names.txt"))
    qtbot.waitUntil(lambda: dialog.legend.rowCount() == 3, timeout=20000)
    assert _names(dialog) == ["bottle", "car", "person"]
    assert "Class names read as: line 1 is __ignore__" in dialog.summary.text()
    dialog.classes_start.setCurrentIndex(dialog.classes_start.findData(1))     # as --classes-start 1
    qtbot.waitUntil(lambda: "--classes-start 1" in dialog.summary.text() or dialog.error.text() != "",
                    timeout=20000)
    # read from index 1, _background_ names value 1 and every class moves by one: core's reading, said
    qtbot.waitUntil(lambda: _names(dialog) == ["boat", "bus", "motorbike"], timeout=20000)
