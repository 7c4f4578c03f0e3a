"""The colour-code dialog against the mask it codes (issue 23 item 3, issue 22's class-list rule in the
window): core's sentence for the list given, a "Read the list from" choice equal to --classes-start,
OK disabled (and the typed names kept) while the mask holds an index no class names, and labelme's
__ignore__ left unlabelled."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QThreadPool

from playment_submit.core.mask import ClassList
from playment_submit.gui.widgets import mask_jobs
from playment_submit.gui.widgets.class_names_dialog import ClassNamesDialog


def _mask(tmp_path, values, name="index.png"):
    path = tmp_path / name
    Image.fromarray(np.array([values], np.uint8), "L").save(path)
    return str(path)


def _dialog(qtbot, path, text):
    dialog = ClassNamesDialog([], index_path=path)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.counts is not None, timeout=5000)
    dialog.editor.setPlainText(text)
    return dialog


def test_an_unnamed_index_disables_ok_says_so_and_keeps_the_typed_names(qtbot, tmp_path):
    dialog = _dialog(qtbot, _mask(tmp_path, [0, 1, 2, 3, 3]), "car\nbus")
    qtbot.waitUntil(lambda: "with no class name" in dialog.coverage.text(), timeout=5000)
    assert "3 (2 px)" in dialog.coverage.text()
    assert not dialog.ok.isEnabled()
    dialog.accept()                       # even if OK is triggered (Enter), the dialog stays open
    assert dialog.result() != dialog.DialogCode.Accepted and dialog.editor.toPlainText() == "car\nbus"
    dialog.editor.appendPlainText("lid")
    qtbot.waitUntil(dialog.ok.isEnabled, timeout=5000)
    assert dialog.coverage.text() == ""
    QThreadPool.globalInstance().waitForDone(5000)


def test_an_unlabelled_first_line_is_read_from_zero_and_the_choice_forces_index_1(qtbot, tmp_path):
    dialog = _dialog(qtbot, _mask(tmp_path, [0, 1, 2]), "unlabelled\ncar\nbus")
    qtbot.waitUntil(lambda: "unlabelled" in dialog.rule.text(), timeout=5000)
    assert "stays unlabelled" in dialog.rule.text()
    assert dialog.index_names() == {1: "car", 2: "bus"} and dialog.coverage.text() == ""
    dialog.start.setCurrentIndex(dialog.start.findData(1))      # as --classes-start 1
    qtbot.waitUntil(lambda: "--classes-start 1" in dialog.rule.text(), timeout=5000)
    assert dialog.index_names() == {1: "unlabelled", 2: "car", 3: "bus"}
    # core's sentence: a name for an index the mask does not hold
    qtbot.waitUntil(lambda: 'index 3 ("bus")' in dialog.coverage.text(), timeout=5000)
    assert "wrong index" in dialog.coverage.text() and dialog.ok.isEnabled()
    QThreadPool.globalInstance().waitForDone(5000)


def test_ignore_first_leaves_255_unlabelled_in_the_dialog_and_the_coded_mask(qtbot, tmp_path):
    path = _mask(tmp_path, [0, 1, 2, 255])
    dialog = _dialog(qtbot, path, "__ignore__\n_background_\ncar\nbus")
    qtbot.waitUntil(dialog.ok.isEnabled, timeout=5000)
    qtbot.waitUntil(lambda: dialog.legend_list.count() == 2, timeout=5000)
    assert "(no name)" not in " ".join(dialog.legend_list.item(i).text() for i in range(2))
    assert "ignore value" in dialog.indices.text()
    classes = dialog.names()
    assert isinstance(classes, ClassList) and classes.ignore
    state = mask_jobs.colour_code(path, classes, None)
    rgba = np.asarray(Image.open(state.path))
    assert list(rgba[0, :, 3]) == [0, 255, 255, 0]      # the ignore value: alpha 0, no class
    assert sorted(state.legend.values()) == ["bus", "car"]
    QThreadPool.globalInstance().waitForDone(5000)
