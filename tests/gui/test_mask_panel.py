"""The colour-code dialog shows the legend core's encode will produce, as the user types, index by index,
and follows the same classes rule as ``mask encode --classes``."""

from __future__ import annotations

import argparse
import json

import numpy as np
from PySide6.QtCore import QThreadPool

from playment_submit.core.cli import mask as cli_mask
from playment_submit.core.mask import CLASSES_HELP, encode, load_classes, parse_classes
from playment_submit.gui.widgets.class_names_dialog import ClassNamesDialog
from playment_submit.resources import sample_classes, sample_job_files


def rows(dialog) -> list[str]:
    return [dialog.legend_list.item(i).text() for i in range(dialog.legend_list.count())]


def test_class_names_dialog_shows_the_generated_legend(qtbot):
    dialog = ClassNamesDialog([])
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.editor.setPlainText("\n".join(sample_classes()))
    _, legend = encode(str(sample_job_files()["index_mask"]), sample_classes())
    expected = [f"{i}  {k}  {v}" for i, (k, v) in enumerate(legend.items(), 1)]
    qtbot.waitUntil(lambda: rows(dialog) == expected, timeout=10000)
    assert dialog.error.text() == ""
    dialog.editor.appendPlainText("lid")  # a sixth class: added at the end, the others keep their colours
    qtbot.waitUntil(lambda: dialog.legend_list.count() == 6, timeout=10000)
    assert rows(dialog)[:5] == expected
    assert rows(dialog)[5].startswith("6  #") and rows(dialog)[5].endswith("  lid")
    assert dialog.index_names() == dict(enumerate([*sample_classes(), "lid"], 1))
    QThreadPool.globalInstance().waitForDone(5000)


def test_a_json_file_with_explicit_indices_keeps_them(qtbot, tmp_path):
    path = tmp_path / "classes.json"
    path.write_text(json.dumps({"3": "car", "7": "bus"}))
    dialog = ClassNamesDialog([])
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.load_file(str(path))
    assert dialog.editor.toPlainText() == "3: car\n7: bus"
    assert dialog.index_names() == {3: "car", 7: "bus"}
    _, legend = encode(np.array([[0, 3, 7]], np.uint8), {"3": "car", "7": "bus"})
    expected = [f"{i}  {k}  {v}" for i, (k, v) in zip((3, 7), legend.items(), strict=True)]
    qtbot.waitUntil(lambda: rows(dialog) == expected, timeout=10000)
    assert dialog.error.text() == ""
    # Edited, the text still keeps the indices it shows.
    dialog.editor.appendPlainText("9: lid")
    qtbot.waitUntil(lambda: len(rows(dialog)) == 3, timeout=10000)
    assert dialog.index_names() == {3: "car", 7: "bus", 9: "lid"}
    assert [r.split("  ")[0] for r in rows(dialog)] == ["3", "7", "9"]
    QThreadPool.globalInstance().waitForDone(5000)


def test_a_loaded_file_pinning_colours_keeps_them_until_edited(qtbot, tmp_path):
    path = tmp_path / "pinned.json"
    path.write_text(json.dumps({"car": "#123456", "bus": None}))
    dialog = ClassNamesDialog([])
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.load_file(str(path))
    assert dialog.names() == load_classes(path)[0]     # exactly what `mask encode --classes` would use
    qtbot.waitUntil(lambda: len(rows(dialog)) == 2, timeout=10000)
    assert rows(dialog)[0] == "1  #123456  car"
    QThreadPool.globalInstance().waitForDone(5000)


def test_a_blank_line_is_refused_with_its_number_like_mask_encode(qtbot, tmp_path):
    dialog = ClassNamesDialog([])
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.editor.setPlainText("car\n\nbus")
    qtbot.waitUntil(lambda: "Line 2 is empty" in dialog.error.text(), timeout=10000)
    assert dialog.legend_list.count() == 0
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted and dialog.isVisible()
    (tmp_path / "c.txt").write_text("car\n\nbus\n")
    _, problems = load_classes(tmp_path / "c.txt")
    assert [p.message for p in problems] == [p.message for p in dialog.problems()]
    dialog.editor.setPlainText("car\nbus\n")       # a trailing newline is fine
    qtbot.waitUntil(lambda: len(rows(dialog)) == 2, timeout=10000)
    assert dialog.error.text() == ""
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert parse_classes(dialog.names())[0] == {1: "car", 2: "bus"}
    QThreadPool.globalInstance().waitForDone(5000)


def test_the_dialog_and_mask_encode_show_the_same_help(qtbot):
    dialog = ClassNamesDialog([])
    qtbot.addWidget(dialog)
    assert dialog.help.text() == CLASSES_HELP
    parent = argparse.ArgumentParser(add_help=False)
    parser = argparse.ArgumentParser()
    cli_mask.add_parser(parser.add_subparsers(), parent)
    encode_parser = parser._subparsers._group_actions[0].choices["mask"]._subparsers._group_actions[0].choices["encode"]
    [classes] = [a for a in encode_parser._actions if "--classes" in a.option_strings]
    assert classes.help is CLASSES_HELP
    QThreadPool.globalInstance().waitForDone(5000)


def test_clicking_a_legend_row_highlights_that_class_in_the_view(qtbot, sandbox, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import qAlpha

    from playment_submit.core.journal import Journal
    from playment_submit.core.session import Session
    from playment_submit.gui.main_window import MainWindow

    backend = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    win = MainWindow(backend)
    qtbot.addWidget(win)
    win.show()
    win.load_sample()
    qtbot.waitUntil(lambda: win.view.overlay_item is not None, timeout=20000)
    table = win.mask_panel.legend_table
    row = sample_classes().index("saucer")
    rect = table.visualRect(table.model().index(row, 2))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    colours = win.view.overlay_item._images[0][1].colorTable()
    alphas = [qAlpha(c) for c in colours[1:len(sample_classes()) + 1]]
    assert alphas[row] == 255 and all(a < 255 for i, a in enumerate(alphas) if i != row)
    table.clearSelection()  # nothing selected: every class drawn fully again
    colours = win.view.overlay_item._images[0][1].colorTable()
    assert all(qAlpha(c) == 255 for c in colours[1:len(sample_classes()) + 1])
    win.close()
    QThreadPool.globalInstance().waitForDone(5000)
    backend.sandbox = None
    backend.close()


def test_renaming_a_class_keeps_view_toggles_and_renames_it_everywhere(qtbot, sandbox, tmp_path):
    import json

    from PySide6.QtCore import QPointF, Qt

    from playment_submit.core.journal import Journal
    from playment_submit.core.session import Session
    from playment_submit.gui.main_window import MainWindow

    backend = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    win = MainWindow(backend)
    qtbot.addWidget(win)
    win.show()
    win.load_sample()
    qtbot.waitUntil(lambda: win.view.overlay_item is not None and not win._busy, timeout=20000)
    table = win.mask_panel.legend_table
    row = sample_classes().index("coffee")
    table.item(sample_classes().index("table"), 0).setCheckState(Qt.CheckState.Unchecked)
    item_before = win.view.overlay_item
    table.item(row, 2).setText("espresso")  # as an in-place edit commits
    assert win.view.overlay_item is item_before and item_before.visible[sample_classes().index("table")] is False
    assert "espresso" in win.view.describe(QPointF(288.5, 144.5))  # a coffee pixel
    qtbot.waitUntil(lambda: "espresso" in win.job.preview.toPlainText(), timeout=5000)
    legend = json.loads(win.job.preview.toPlainText())["data"]["maker_response"]["raster"]["data"]["legend"]
    assert "espresso" in legend.values() and "coffee" not in legend.values()
    win.close()
    QThreadPool.globalInstance().waitForDone(5000)
    backend.sandbox = None
    backend.close()


def test_more_classes_than_a_colour_table_greys_out_the_show_boxes(qtbot, tmp_path):
    import json

    import numpy as np
    from PIL import Image
    from PySide6.QtCore import Qt

    from playment_submit.gui.widgets.mask_panel import MaskPanel

    colours = [(i // 256, i % 256, 200) for i in range(1, 301)]
    rgba = np.zeros((15, 20, 4), np.uint8)
    for i, (r, g, b) in enumerate(colours):
        rgba[i // 20, i % 20] = (r, g, b, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "many.png")
    (tmp_path / "many.json").write_text(json.dumps({f"#{r:02x}{g:02x}{b:02x}": f"c{i}"
                                                    for i, (r, g, b) in enumerate(colours)}))
    panel = MaskPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.mask_changed, timeout=20000) as changed:
        panel.load_files(str(tmp_path / "many.png"), str(tmp_path / "many.json"))
    state = changed.args[0]
    assert not state.overlay.indexed and panel.legend_table.rowCount() == 300
    assert not panel.legend_table.item(0, 0).flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert "253" in panel.legend_table.item(0, 0).toolTip()
    QThreadPool.globalInstance().waitForDone(5000)


def test_repair_offers_a_fixed_copy_and_the_problems_go_away(qtbot, tmp_path, monkeypatch):
    import json

    import numpy as np
    from PIL import Image
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    from playment_submit.gui.widgets.mask_panel import MaskPanel

    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[5:30, 5:30] = (255, 0, 0, 255)
    rgba[30, 5:30] = (255, 0, 0, 120)      # an anti-aliased edge: soft alpha
    rgba[5:30, 40:50] = (0, 250, 2, 255)   # almost the legend's green
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    (tmp_path / "m.json").write_text(json.dumps({"#ff0000": "car", "#00ff00": "tree"}))
    panel = MaskPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.mask_changed, timeout=20000):
        panel.load_files(str(tmp_path / "m.png"), str(tmp_path / "m.json"))
    codes = set(panel.state.report.codes())
    assert {"soft_alpha"} <= codes and panel.repair_button.isEnabled()
    out = tmp_path / "m_repaired.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    with qtbot.waitSignal(panel.mask_changed, timeout=20000) as changed:
        qtbot.mouseClick(panel.repair_button, Qt.MouseButton.LeftButton)
    state = changed.args[0]
    assert state.path == out and out.is_file()
    assert not {"soft_alpha", "near_colours"} & set(state.report.codes())
    assert "Repaired" in panel.status.text()
    QThreadPool.globalInstance().waitForDone(5000)


def test_export_writes_the_coded_mask_and_its_legend(qtbot, tmp_path, monkeypatch):
    import json

    import numpy as np
    from PIL import Image
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    from playment_submit.gui.widgets.mask_panel import MaskPanel

    panel = MaskPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.mask_changed, timeout=20000) as changed:
        panel.colour_code_files(str(sample_job_files()["index_mask"]), sample_classes())
    state = changed.args[0]
    out = tmp_path / "export" / "coffee_mask.png"
    out.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    exported = np.asarray(Image.open(out))
    assert exported.shape == (400, 600, 4) and (exported == np.asarray(Image.open(state.path))).all()
    legend = json.loads(out.with_suffix(".legend.json").read_text())
    assert legend == state.legend and sorted(legend.values()) == sorted(sample_classes())
    assert "Exported" in panel.status.text()
    QThreadPool.globalInstance().waitForDone(5000)


def test_the_window_decodes_a_loaded_mask_once_for_its_overlay_and_the_check_before_sending(
        qtbot, window, wait_idle, monkeypatch, tmp_path):
    """The Mask tab's load (check + overlay) and the pipeline's check of the same job share one decode."""
    import importlib

    from PIL import Image

    check_module = importlib.import_module("playment_submit.core.mask.check")
    files = sample_job_files()
    window.primary.set_value(str(files["primary"]))
    wait_idle(window)
    w, h = Image.open(files["primary"]).size
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[: h // 2] = [200, 30, 30, 255]
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    (tmp_path / "m.json").write_text(json.dumps({"#c81e1e": "car"}))
    decoded = []
    real = check_module._check

    def counting(mask, *args, **kwargs):
        decoded.append(str(mask))
        return real(mask, *args, **kwargs)

    monkeypatch.setattr(check_module, "_check", counting)
    window.mask_panel.load_files(str(tmp_path / "m.png"), str(tmp_path / "m.json"))
    window.job.reference_id.setText("decode-once")
    wait_idle(window)
    window.refresh()
    wait_idle(window)
    assert window.mask_panel.state is not None and window.mask_panel.state.overlay is not None
    assert window.checks.verdict is not None and not window.checks.verdict.errors, window.checks.verdict.errors
    assert [m for m in decoded if m.endswith("m.png")] == [str(tmp_path / "m.png")]
