"""The colour-code dialog shows the legend core's encode will produce, as the user types."""

from __future__ import annotations

from PySide6.QtCore import QThreadPool

from playment_submit.core.mask import encode
from playment_submit.gui.widgets.mask_panel import ClassNamesDialog
from playment_submit.resources import sample_classes, sample_job_files


def test_class_names_dialog_shows_the_generated_legend(qtbot):
    dialog = ClassNamesDialog([])
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.editor.setPlainText("\n".join(sample_classes()))
    _, legend = encode(str(sample_job_files()["index_mask"]), sample_classes())
    expected = [f"{k}  {v}" for k, v in legend.items()]
    qtbot.waitUntil(lambda: [dialog.legend_list.item(i).text() for i in range(dialog.legend_list.count())]
                    == expected, timeout=10000)
    assert dialog.error.text() == ""
    dialog.editor.appendPlainText("lid")  # a sixth class: added at the end, the others keep their colours
    qtbot.waitUntil(lambda: dialog.legend_list.count() == 6, timeout=10000)
    assert [dialog.legend_list.item(i).text() for i in range(5)] == expected
    assert dialog.legend_list.item(5).text().endswith("  lid")
    assert dialog.names() == [*sample_classes(), "lid"]
    QThreadPool.globalInstance().waitForDone(5000)


def test_clicking_a_legend_row_highlights_that_class_in_the_view(qtbot, sandbox, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import qAlpha

    from playment_submit.core.journal import Journal
    from playment_submit.gui.backend import Backend
    from playment_submit.gui.main_window import MainWindow

    backend = Backend.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
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
    from playment_submit.gui.backend import Backend
    from playment_submit.gui.main_window import MainWindow

    backend = Backend.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
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
