"""The project's class list (issue 15): kept with the profile from the Connection tab (pasted or loaded from a
text file), used by the Mask tab's import, and passed to the Bulk tab's check so a row whose mask_source names
another class is refused in the window exactly as `bulk` refuses it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

pytest.importorskip("pytestqt", reason="pytest-qt drives the widget tests")

from playment_submit.core.settings import Profile, load_profiles, merged_profile, save_profiles

WF = "0c6b1e2a-1f0d-4c8e-9a3b-5d7e9f1a2b3c"


def _pick(qtbot, panel, name: str) -> None:
    index = panel.profile.findText(name)
    panel.profile.setCurrentIndex(index)
    panel.profile.activated.emit(index)  # as a user picking it from the list


def test_class_list_round_trips_through_save_and_use(qtbot, window, sandbox, memory_keyring, tmp_path):
    save_profiles({"other": Profile("other", sandbox.base_url, sandbox.project_id, WF)})
    panel = window.connection
    panel.profile.setEditText("proj")
    panel.base_url.setText(sandbox.base_url)
    panel.project_id.setText(sandbox.project_id)
    panel.workflow_id.setText(WF)
    panel.classes_box.setPlainText("car\n  road \n\ncar\nperson\n")
    assert "3 classes" in panel.classes_count.text()
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    assert load_profiles()[0]["proj"].classes == ["car", "road", "person"]
    assert window.session.profile.classes == ["car", "road", "person"]   # in use at once (Mask and Bulk tabs)
    assert window.mask_panel.known_classes() == ["car", "road", "person"]

    _pick(qtbot, panel, "other")   # another profile shows its own (empty) list, then "proj" shows its list again
    assert panel.classes() == [] and "No class list" in panel.classes_count.text()
    _pick(qtbot, panel, "proj")
    assert panel.classes_box.toPlainText() == "car\nroad\nperson"

    # saving again with other connection fields keeps the list (core's merged_profile carries it)
    panel.project_id.setText("another-project")
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    assert load_profiles()[0]["proj"].classes == ["car", "road", "person"]
    assert merged_profile(load_profiles()[0]["proj"], name="proj", base_url="", project_id="",
                          workflow_id="").classes == ["car", "road", "person"]

    # Load from file…: a text file, one name per line; an unreadable one is said, the box is left alone
    (tmp_path / "classes.txt").write_text("\ufeffbus\ntruck\n", encoding="utf-8")
    assert panel.load_classes_file(str(tmp_path / "classes.txt"))
    assert panel.classes() == ["bus", "truck"] and "2 class names loaded" in panel.result.text()
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00bus")
    assert not panel.load_classes_file(str(tmp_path / "bad.txt"))
    assert "bad.txt" in panel.result.text() and "UTF-8" in panel.result.text()
    assert panel.classes() == ["bus", "truck"]
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    assert load_profiles()[0]["proj"].classes == ["bus", "truck"]
    assert json.loads((tmp_path / "config" / "profiles.json").read_text())["profiles"]["proj"]["classes"] == \
        ["bus", "truck"]


def _voc_row(tmp_path):
    """A manifest whose only row imports a VOC mask holding "car" (VOC index 7)."""
    Image.new("RGB", (8, 6), (10, 20, 30)).save(tmp_path / "a.png")
    values = np.zeros((6, 8), np.uint8)
    values[3:, :] = 7
    img = Image.fromarray(values, "P")
    img.putpalette([0] * 768)
    img.save(tmp_path / "a_voc.png")
    (tmp_path / "m.csv").write_text("reference_id,image,mask_source\nr1,a.png,a_voc.png\n")
    return tmp_path / "m.csv"


def test_bulk_tab_refuses_a_mask_source_class_outside_the_profile_list_as_bulk_does(
        qtbot, window, sandbox, memory_keyring, tmp_path, monkeypatch, capsys):
    manifest = _voc_row(tmp_path)
    bulk = window.bulk

    def check() -> str:
        with qtbot.waitSignal(bulk.manifest_checked, timeout=30000):
            bulk.open_path(str(manifest))
        row = bulk.row_at(0)[0]  # the first row, as the row store keeps it
        return " ".join(p.text("gui") for p in row.errors) if not row.ok else ""

    assert check() == ""   # no class list: the mask's own names are accepted
    panel = window.connection
    panel.classes_box.setPlainText("Car\nroad")
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)   # the sandbox profile, in use, now has the list
    assert window.session.profile.classes == ["Car", "road"]
    refused = check()
    assert "mask_source" in refused and "class \"car\"" in refused and "closest is \"Car\"" in refused
    assert bulk.model.status(0) == "error"

    # `bulk` with a saved profile holding the same list refuses the same row with the same sentence
    save_profiles({"proj": Profile("proj", sandbox.base_url, sandbox.project_id, sandbox.workflow_id,
                                   classes=["Car", "road"])}, current="proj")
    monkeypatch.setenv("PLAYMENT_API_KEY", sandbox.api_key)
    from playment_submit.core.cli import main
    capsys.readouterr()
    assert main(["bulk", str(manifest), "--dry-run", "--profile", "proj"]) == 1
    err = capsys.readouterr().err
    assert "closest is \"Car\"" in err and "mask_source" in err
