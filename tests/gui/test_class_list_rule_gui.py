"""The colour-code dialog says which reading of the class list core used (issue 22 item 3)."""

from __future__ import annotations

import json

from PySide6.QtCore import QThreadPool

from playment_submit.core.mask import parse_classes
from playment_submit.gui.widgets.class_names_dialog import ClassNamesDialog


def test_the_dialog_says_the_rule_and_reads_a_background_first_list_from_zero(qtbot, tmp_path):
    dialog = ClassNamesDialog(["car", "bus"])
    qtbot.addWidget(dialog)
    assert dialog.rule.text() == "Read as: line 1 is index 1."
    dialog.editor.setPlainText("_background_\ncar\nbus")
    qtbot.waitUntil(lambda: "background" in dialog.rule.text(), timeout=3000)
    assert "index 0 (\"_background_\") stays unlabelled" in dialog.rule.text()
    assert parse_classes(dialog.names())[0] == {1: "car", 2: "bus"}
    dialog.editor.setPlainText("1: car\n2: bus")
    qtbot.waitUntil(lambda: dialog.rule.text() == "", timeout=3000)
    (tmp_path / "c.json").write_text(json.dumps(["__ignore__", "_background_", "aeroplane"]))
    assert dialog.load_file(str(tmp_path / "c.json"))
    qtbot.waitUntil(lambda: "__ignore__" in dialog.rule.text(), timeout=3000)
    assert dialog.index_names() == {1: "aeroplane"}
    QThreadPool.globalInstance().waitForDone(5000)
