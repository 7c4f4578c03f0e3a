"""The Mask tab: legend editing (key in place, colour, add, remove, merge), duplicate names, messages in the
window's words and each once, the opacity percentage, the highlight hint, the view's placeholder and readout,
and the colour-code dialog's index counts, chosen colours and remembered names."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtGui import QImage

from playment_submit.core.settings import data_dir
from playment_submit.gui.overlay import build_overlay
from playment_submit.gui.style import status_colour
from playment_submit.gui.widgets.class_names_dialog import ClassNamesDialog
from playment_submit.gui.widgets.mask_panel import MaskPanel
from playment_submit.gui.widgets.mask_view import MaskView


def _files(tmp_path, legend, rgba=None, name="m.png"):
    if rgba is None:
        rgba = np.zeros((40, 60, 4), np.uint8)
        rgba[5:20, 5:30] = (255, 0, 0, 255)
        rgba[20:35, 5:30] = (0, 255, 0, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / name)
    (tmp_path / "m.json").write_text(json.dumps(legend), encoding="utf-8")
    return str(tmp_path / name), str(tmp_path / "m.json")


def _panel(qtbot, tmp_path, legend, rgba=None):
    panel = MaskPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.busy_changed, timeout=20000, check_params_cb=lambda busy: not busy):
        panel.load_files(*_files(tmp_path, legend, rgba))
    return panel


def _edit(qtbot, panel, op, *args):
    with qtbot.waitSignal(panel.busy_changed, timeout=20000, check_params_cb=lambda busy: not busy):
        assert panel.edit_legend(op, *args)
    return panel.state


def _cli_check(tmp_path):
    return subprocess.run([sys.executable, "-m", "playment_submit.core.cli", "mask", "check", str(tmp_path / "m.png"),
                           "--legend", str(tmp_path / "m.json")], capture_output=True, text=True, timeout=60)


def test_a_bad_key_is_shown_and_fixed_in_place(qtbot, tmp_path):
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[5:20] = (0xfd, 0xff, 0x34, 255)
    panel = _panel(qtbot, tmp_path, {"#fdffd34": "lamp", "#ff0000": "cup"}, rgba)
    table = panel.legend_table
    assert table.item(0, 1).text() == "#fdffd34"  # the bad key has its own row, marked as an error
    assert table.item(0, 1).foreground().color() == status_colour("error")
    assert "6" in table.item(0, 1).toolTip()
    assert any(p.severity == "error" for p in panel.state.report.problems)
    with qtbot.waitSignal(panel.mask_changed, timeout=20000) as changed:
        table.item(0, 1).setText("#fdff34")  # as typing in the cell does
    state = changed.args[0]
    assert list(state.legend) == ["#fdff34", "#ff0000"] and state.path == tmp_path / "m.png"
    assert not [p for p in state.report.problems if p.severity == "error"]
    assert table.item(0, 3).text() == f"{15 * 60:,}"
    QThreadPool.globalInstance().waitForDone(5000)


def test_merge_remove_add_and_change_colour(qtbot, tmp_path, monkeypatch):
    panel = _panel(qtbot, tmp_path, {"#ff0000": "cup", "#00ff00": "mug"})
    assert not panel.merge_button.isEnabled()  # nothing selected
    panel.legend_table.selectRow(1)
    assert panel.merge_button.isEnabled() and panel.colour_button.isEnabled()
    state = _edit(qtbot, panel, "merge", "#00ff00", "#ff0000")
    assert state.legend == {"#ff0000": "cup"}
    assert state.path.parent == data_dir() / "masks" / "edited" and state.path.name.startswith("m-")  # a new file
    pixels = np.asarray(Image.open(state.path))
    assert (pixels[5:35, 5:30] == (255, 0, 0, 255)).all()
    assert json.loads(state.path.with_suffix(".legend.json").read_text()) == {"#ff0000": "cup"}
    assert (np.asarray(Image.open(tmp_path / "m.png"))[25, 10] == (0, 255, 0, 255)).all()  # the original is kept
    state = _edit(qtbot, panel, "add", "#0000ff", "lid")
    assert state.legend == {"#ff0000": "cup", "#0000ff": "lid"}
    assert panel.legend_table.rowCount() == 2 and panel.legend_table.item(1, 3).text() == "0"
    state = _edit(qtbot, panel, "colour", "#ff0000", "#ffff00")
    assert (np.asarray(Image.open(state.path))[10, 10] == (255, 255, 0, 255)).all()
    state = _edit(qtbot, panel, "remove", "#ffff00")
    assert state.legend == {"#0000ff": "lid"} and (np.asarray(Image.open(state.path))[10, 10] == 0).all()
    # a refusal is a sentence in the status line, nothing changes
    with qtbot.waitSignal(panel.busy_changed, timeout=20000, check_params_cb=lambda b: not b):
        panel.edit_legend("add", "#0000ff", "again")
    assert "already the colour of \"lid\"" in panel.status.text() and panel.state.legend == {"#0000ff": "lid"}

    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QColorDialog
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor("#123456")))
    panel.legend_table.selectRow(0)
    with qtbot.waitSignal(panel.mask_changed, timeout=20000) as changed:
        qtbot.mouseClick(panel.colour_button, Qt.MouseButton.LeftButton)
    assert changed.args[0].legend == {"#123456": "lid"}
    QThreadPool.globalInstance().waitForDone(5000)


def test_duplicate_names_are_marked_in_the_window_and_reported_by_mask_check(qtbot, tmp_path):
    panel = _panel(qtbot, tmp_path, {"#ff0000": "cup", "#00ff00": "cup"})
    table = panel.legend_table
    for r in (0, 1):
        assert table.item(r, 2).foreground().color() == status_colour("warning")
        assert 'both named "cup"' in table.item(r, 2).toolTip()
    assert any('both named "cup"' in t for t in panel.problem_texts())
    assert 'both named "cup"' in _cli_check(tmp_path).stderr
    # renaming one of them clears the warning without decoding the mask again
    table.item(1, 2).setText("mug")
    assert not any("both named" in t for t in panel.problem_texts())
    assert table.item(0, 2).foreground().color() != status_colour("warning")
    QThreadPool.globalInstance().waitForDone(5000)


def test_messages_name_the_windows_buttons_and_the_cli_keeps_its_commands(qtbot, tmp_path):
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[5:20, 5:30] = (255, 0, 0, 255)
    rgba[20, 5:30] = (255, 0, 0, 100)  # soft alpha
    rgba[25, 5:30] = (0, 0, 0, 255)    # black with alpha
    panel = _panel(qtbot, tmp_path, {"#ff0000": "cup"}, rgba)
    texts = panel.problem_texts()
    assert any("soft" in t for t in texts) and any("Repair…" in t for t in texts)
    assert not any("playment-submit" in t or "--" in t for t in texts), texts
    err = _cli_check(tmp_path).stderr
    assert "`playment-submit mask repair`" in err and "Repair…" not in err
    QThreadPool.globalInstance().waitForDone(5000)


def test_a_jpeg_named_png_is_one_problem(qtbot, tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"#ff0000": "cup"}), encoding="utf-8")
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(tmp_path / "m.png", format="JPEG")
    panel = MaskPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.mask_changed, timeout=20000):
        panel.load_files(str(tmp_path / "m.png"), str(tmp_path / "m.json"))
    about_format = [t for t in panel.problem_texts() if "JPEG" in t or "RGBA" in t]
    assert len(about_format) == 1, about_format
    QThreadPool.globalInstance().waitForDone(5000)


def test_opacity_percentage_and_highlight_hint(qtbot):
    panel = MaskPanel()
    qtbot.addWidget(panel)
    assert panel.opacity_value.text() == "60 %"
    panel.opacity.setValue(25)
    assert panel.opacity_value.text() == "25 %"
    assert "highlight" in panel.legend_hint.text().lower()


def test_clicking_the_highlighted_class_again_shows_all(qtbot, tmp_path):
    panel = _panel(qtbot, tmp_path, {"#ff0000": "cup", "#00ff00": "mug"})
    panel.show()
    seen = []
    panel.class_highlighted.connect(seen.append)
    table = panel.legend_table
    rect = table.visualRect(table.model().index(1, 2))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert seen == [1, None]
    QThreadPool.globalInstance().waitForDone(5000)


def test_escape_in_the_legend_shows_every_class_again(qtbot, tmp_path):
    panel = _panel(qtbot, tmp_path, {"#ff0000": "cup", "#00ff00": "mug"})
    panel.show()
    seen = []
    panel.class_highlighted.connect(seen.append)
    table = panel.legend_table
    cup = table.visualRect(table.model().index(0, 2)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=cup)
    qtbot.keyClick(table, Qt.Key.Key_Escape)
    assert seen == [0, None] and not table.selectedIndexes()
    QThreadPool.globalInstance().waitForDone(5000)


def test_placeholder_only_on_an_empty_view_and_readout_cleared_with_its_image(qtbot):
    view = MaskView()
    qtbot.addWidget(view)
    assert view._placeholder.isVisible()
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:5] = (255, 0, 0, 255)
    view.set_overlay(build_overlay(rgba, {"#ff0000": "cup"}))
    assert not view._placeholder.isVisible()  # a mask alone: no text drawn over it
    readouts = []
    view.hovered.connect(readouts.append)
    img = QImage(10, 10, QImage.Format.Format_RGB32)
    img.fill(0)
    view.set_image(img)
    assert readouts[-1] == ""  # the readout of the previous image is gone
    view.set_overlay(None)
    view.set_image(None)
    assert view._placeholder.isVisible()


def test_colour_code_dialog_shows_indices_lets_colours_be_chosen_and_remembers_names(qtbot, tmp_path):
    idx = np.zeros((20, 30), np.uint8)
    idx[:5] = 1
    idx[5:8] = 3
    Image.fromarray(idx).save(tmp_path / "idx.png")
    dialog = ClassNamesDialog([], index_path=str(tmp_path / "idx.png"))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.counts is not None, timeout=10000)
    assert dialog.counts == {0: 20 * 30 - 8 * 30, 1: 150, 3: 90}
    assert "0 (unlabelled): 360 px" in dialog.indices.text() and "3: 90 px" in dialog.indices.text()
    dialog.editor.setPlainText("cup\nmug")
    qtbot.waitUntil(lambda: dialog.legend_list.count() == 3 and "cup" in dialog.legend_list.item(0).text(),
                    timeout=10000)
    texts = [dialog.legend_list.item(i).text() for i in range(3)]
    assert texts[0].startswith("1  #") and texts[0].endswith("cup  150 px")
    assert texts[1].endswith("mug  0 px") and texts[2] == "3  (no name)  90 px"
    auto = texts[0].split()[1]
    dialog.set_colour(1, "#123456")
    assert dialog.chosen_colours() == {auto: "#123456"}
    assert dialog.legend_list.item(0).text().startswith("1  #123456  cup")
    dialog.editor.setPlainText("cup\nmug\nlid")
    qtbot.waitUntil(lambda: dialog.legend_list.count() == 3 and "lid" in dialog.legend_list.item(2).text(),
                    timeout=10000)
    dialog.accept()
    again = ClassNamesDialog([])
    qtbot.addWidget(again)
    assert again.editor.toPlainText() == "cup\nmug\nlid"  # the names typed last time
    QThreadPool.globalInstance().waitForDone(5000)


def test_colour_code_with_a_chosen_colour(qtbot, tmp_path):
    idx = np.zeros((20, 30), np.uint8)
    idx[:5] = 1
    Image.fromarray(idx).save(tmp_path / "idx.png")
    from playment_submit.core.mask import class_colours
    auto = class_colours(["cup"])[0][1]
    panel = MaskPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.mask_changed, timeout=20000) as changed:
        panel.colour_code_files(str(tmp_path / "idx.png"), ["cup"], {auto: "#123456"})
    state = changed.args[0]
    assert state.legend == {"#123456": "cup"}
    assert (np.asarray(Image.open(state.path))[0, 0] == (0x12, 0x34, 0x56, 255)).all()
    QThreadPool.globalInstance().waitForDone(5000)
