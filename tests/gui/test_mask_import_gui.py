"""Importing masks on the Mask tab (issue 15): drop or choose a file in another tool's format, see the legend
with pixel counts before anything is written, then the mask is written to the data folder and checked as
any mask; a COCO file with several images asks which; an unknown class is refused with the closest name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

pytest.importorskip("pytestqt", reason="pytest-qt drives the widget tests")

from playment_submit.core.mask import check
from playment_submit.core.settings import data_dir

LABEL_IDS = np.array([[7, 7, 7, 26, 26, 0],
                      [7, 7, 26, 26, 24, 0],
                      [7, 7, 7, 7, 24, 24],
                      [0, 0, 7, 7, 7, 7]], np.uint8)       # road 13, car 4, person 3, unlabelled 4


def _cityscapes(tmp_path) -> Path:
    p = tmp_path / "aachen_000000_000019_gtFine_labelIds.png"
    Image.fromarray(LABEL_IDS, "L").save(p)
    return p


def _drop(widget, path: Path) -> None:
    """A real drop event carrying one local file, as a file manager sends it."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)


def _legend_rows(dialog) -> list[tuple[str, str, str]]:
    t = dialog.legend
    return [tuple(t.item(r, c).text() for c in range(3)) for r in range(t.rowCount())]


def _imported_files() -> list[str]:
    folder = data_dir() / "imported"
    return sorted(os.listdir(folder)) if folder.exists() else []


def _wait_preview(qtbot, dialog) -> None:
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=20000)


def test_dropped_cityscapes_labelids_shows_legend_with_counts_then_loads_the_mask(qtbot, window, wait_idle,
                                                                                  tmp_path):
    panel = window.mask_panel
    source = _cityscapes(tmp_path)
    _drop(panel, source)
    dialog = panel.import_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.fmt() == "cityscapes"  # told from the file name
    _wait_preview(qtbot, dialog)
    rows = _legend_rows(dialog)
    assert {name: px for _, name, px in rows} == {"road": "13", "car": "4", "person": "3"}
    assert all(colour.startswith("#") for colour, _, _ in rows)
    assert "6×4" in dialog.summary.text() and "4 pixels unlabelled" in dialog.summary.text()
    assert _imported_files() == []  # nothing written before Import
    assert dialog.ok.isEnabled()

    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    wait_idle(window)
    qtbot.waitUntil(lambda: panel.state is not None, timeout=20000)
    state = panel.state
    assert state.path.parent == data_dir() / "masks" / "imported"
    assert sorted(state.legend.values()) == ["car", "person", "road"]
    assert state.report.usable and not state.report.errors
    assert {r.name: r.pixels for r in state.report.rows} == {"road": 13, "car": 4, "person": 3}
    legend_file = state.path.with_suffix(".legend.json")
    assert json.loads(legend_file.read_text()) == state.legend
    assert not check(state.path, legend_file).errors  # core's check agrees with what the tab shows
    assert panel.legend_table.rowCount() == 3


def test_import_button_chooses_a_file_and_rgba_png_drop_keeps_loading_it_as_a_mask(qtbot, window, wait_idle,
                                                                                   tmp_path, monkeypatch):
    from playment_submit.gui.widgets import mask_panel as mp
    panel = window.mask_panel
    source = _cityscapes(tmp_path)
    monkeypatch.setattr(mp, "open_file", lambda *a, **k: str(source))
    panel.import_button.menu().actions()[0].trigger()   # "File…"
    dialog = panel.import_dialog
    assert dialog is not None and dialog.source == str(source)
    _wait_preview(qtbot, dialog)
    assert len(_legend_rows(dialog)) == 3
    dialog.reject()

    # an RGBA PNG is already Playment's form: dropped, it is loaded with the legend beside it, no dialog
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[:2] = (255, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "ready.png")
    (tmp_path / "ready.legend.json").write_text(json.dumps({"#ff0000": "car"}))
    qtbot.waitUntil(lambda: panel.import_dialog is None, timeout=5000)
    _drop(panel, tmp_path / "ready.png")
    assert panel.import_dialog is None
    wait_idle(window)
    qtbot.waitUntil(lambda: panel.state is not None, timeout=20000)
    assert panel.state.path == tmp_path / "ready.png" and panel.state.legend == {"#ff0000": "car"}


def _coco_several(tmp_path) -> Path:
    data = {
        "images": [{"id": 1, "file_name": "frames/a.jpg", "width": 8, "height": 6},
                   {"id": 2, "file_name": "frames/b.jpg", "width": 10, "height": 5}],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "road"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [0, 0, 1, 1], "area": 1,
             "segmentation": [[0, 0, 4, 0, 4, 3, 0, 3]]},
            {"id": 11, "image_id": 2, "category_id": 2, "iscrowd": 0, "bbox": [0, 0, 1, 1], "area": 1,
             "segmentation": [[0, 0, 10, 0, 10, 5, 0, 5]]},
        ],
    }
    p = tmp_path / "instances.json"
    p.write_text(json.dumps(data))
    return p


def test_coco_file_with_several_images_asks_which_and_defaults_to_the_primary(qtbot, window, tmp_path):
    panel = window.mask_panel
    source = _coco_several(tmp_path)
    dialog = panel.open_import_dialog(str(source))
    assert dialog.fmt() == "coco"
    _wait_preview(qtbot, dialog)
    assert dialog.image.currentData() is None
    assert "holds 2 images; choose the one" in dialog.summary.text()
    assert dialog.legend.rowCount() == 0 and not dialog.ok.isEnabled()
    dialog.image.setCurrentIndex(dialog.image.findData("frames/b.jpg"))
    _wait_preview(qtbot, dialog)
    assert [(n, px) for _, n, px in _legend_rows(dialog)] == [("road", "50")]
    assert dialog.imported.width == 10 and dialog.ok.isEnabled()
    dialog.reject()

    # the primary image's file name picks its entry in the COCO file
    Image.new("RGB", (8, 6)).save(tmp_path / "a.jpg")
    window.primary.set_value(str(tmp_path / "a.jpg"))
    qtbot.waitUntil(lambda: panel.import_dialog is None, timeout=5000)
    dialog = panel.open_import_dialog(str(source))
    _wait_preview(qtbot, dialog)
    assert dialog.image.currentData() == "frames/a.jpg"
    assert dialog.imported is not None and dialog.imported.width == 8
    assert [n for _, n, _ in _legend_rows(dialog)] == ["car"]
    dialog.reject()


def test_format_that_cannot_be_told_is_chosen_and_index_needs_its_classes_file(qtbot, window, tmp_path):
    values = np.array([[0, 1, 1], [2, 2, 0]], np.uint8)
    np.save(tmp_path / "pred.npy", values)
    (tmp_path / "classes.txt").write_text("car\nroad\n")
    dialog = window.mask_panel.open_import_dialog(str(tmp_path / "pred.npy"))
    _wait_preview(qtbot, dialog)
    assert dialog.fmt() == "index"
    assert "needs a classes file" in dialog.summary.text() and not dialog.ok.isEnabled()
    assert dialog.classes.isVisible() and not dialog.image.isVisible()
    dialog.classes.edit.setText(str(tmp_path / "classes.txt"))
    _wait_preview(qtbot, dialog)
    assert [(n, px) for _, n, px in _legend_rows(dialog)] == [("car", "2"), ("road", "2")]
    dialog.reject()

    Image.new("RGB", (3, 2), (9, 9, 9)).save(tmp_path / "plain.png")   # RGB, no labelmap.txt: cannot be told
    dialog = window.mask_panel.open_import_dialog(str(tmp_path / "plain.png"))
    _wait_preview(qtbot, dialog)
    assert dialog.fmt() is None and "choose it above" in dialog.summary.text()
    dialog.format.setCurrentIndex(dialog.format.findData("cvat"))
    _wait_preview(qtbot, dialog)
    assert "labelmap" in dialog.error.text().lower() and "Traceback" not in dialog.error.text()
    assert not dialog.ok.isEnabled()
    dialog.reject()


def test_unknown_class_is_refused_with_the_closest_name_and_the_rename_is_offered(qtbot, window, wait_idle,
                                                                                 tmp_path):
    window.session.profile.classes = ["Road", "vehicle", "pedestrian"]
    panel = window.mask_panel
    dialog = panel.open_import_dialog(str(_cityscapes(tmp_path)))
    _wait_preview(qtbot, dialog)
    text = dialog.error.text()
    assert "Class \"road\" (13 pixels) is not one of the project's classes" in text
    assert "closest is \"Road\"" in text and str(tmp_path) not in text   # the file is named at the top already
    assert "--map" not in text and "Rename to the closest names" in text  # the window's words, not the CLI's
    assert dialog.legend.rowCount() == 0 and not dialog.ok.isEnabled()
    assert dialog.rename_button.isVisible()
    assert "road → Road" in dialog.renames_label.text()

    # with a map file as well: the file's entries and the offered renames both apply
    (tmp_path / "map.json").write_text(json.dumps({"car": "vehicle", "person": "pedestrian"}))
    dialog.map_file.edit.setText(str(tmp_path / "map.json"))
    _wait_preview(qtbot, dialog)
    assert "closest is \"Road\"" in dialog.error.text() and "\"car\"" not in dialog.error.text()
    qtbot.mouseClick(dialog.rename_button, Qt.MouseButton.LeftButton)
    _wait_preview(qtbot, dialog)
    assert {n: px for _, n, px in _legend_rows(dialog)} == {"Road": "13", "vehicle": "4", "pedestrian": "3"}
    assert dialog.error.text() == "" and dialog.ok.isEnabled()
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    wait_idle(window)
    qtbot.waitUntil(lambda: panel.state is not None, timeout=20000)
    assert sorted(panel.state.legend.values()) == ["Road", "pedestrian", "vehicle"]
