"""The one class-list rule (issue 22 item 3): a plain list whose line 1 names background starts at index 0
(background unlabelled), labelme's __ignore__ names the ignore value, --classes-start forces either reading;
the same rule in mask import (index, voc), mask encode and the classes text the window edits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from playment_submit.core import mask as m
from playment_submit.core.errors import ValidationError
from playment_submit.core.mask.formats import import_mask

from .test_cli_mask import run

# labelme's class_names.txt for VOC (its examples/semantic_segmentation/labels.txt), first lines
LABELME = ["__ignore__", "_background_", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus"]


def _names_per_value(res, values):
    legend = list(res.legend.values())
    return {int(v): (legend[int(res.classes[values == v][0]) - 1] if res.classes[values == v][0] else None)
            for v in np.unique(values)}


@pytest.fixture
def mask8(tmp_path):
    values = np.zeros((6, 8), np.uint8)
    values[1, 1:3] = 5      # labelme: bottle (VOC index 5); the old rule said "bird"
    values[2, 2:5] = 1      # aeroplane
    values[4, :] = 255      # labelme's ignore value in an 8-bit PNG
    path = tmp_path / "mask.png"
    Image.fromarray(values, "L").save(path)
    return path, values


def test_labelme_class_names_keep_voc_indices_and_ignore_255(tmp_path, mask8, capsys):
    path, values = mask8
    (tmp_path / "class_names.txt").write_text("\n".join(LABELME) + "\n")
    res = import_mask(path, "index", classes=str(tmp_path / "class_names.txt"))
    assert _names_per_value(res, values) == {0: None, 1: "aeroplane", 5: "bottle", 255: None}
    assert "__ignore__" in res.classes_rule and "index 0 (\"_background_\") stays unlabelled" in res.classes_rule
    assert "background" not in {n.lower() for n in res.legend.values()}


@pytest.mark.parametrize("first", ["background", "_background_", "__background__", "Unlabeled", "unlabelled",
                                   "VOID"])
def test_a_background_first_line_starts_the_list_at_zero_and_stays_unlabelled(tmp_path, mask8, first):
    path, values = mask8
    (tmp_path / "c.txt").write_text(f"{first}\naeroplane\nb\nc\nd\nbottle\n")
    res = import_mask(path, "index", classes=str(tmp_path / "c.txt"), ignore=(255,))
    assert _names_per_value(res, values) == {0: None, 1: "aeroplane", 5: "bottle", 255: None}
    assert res.classes_rule.startswith(f"line 1 names background (\"{first}\"), so it is index 0")


def test_classes_start_1_forces_the_old_reading_and_json_lists_follow_the_rule(tmp_path, mask8):
    path, values = mask8
    (tmp_path / "c.json").write_text(json.dumps(["background", "aeroplane", "b", "c", "d", "bottle"]))
    res = import_mask(path, "index", classes=str(tmp_path / "c.json"), ignore=(255,))
    assert _names_per_value(res, values)[5] == "bottle"
    res = import_mask(path, "index", classes=str(tmp_path / "c.json"), ignore=(255,), classes_start=1)
    assert _names_per_value(res, values) == {0: None, 1: "background", 5: "d", 255: None}
    assert res.classes_rule == "--classes-start 1: the first class line is index 1."


def test_a_plain_list_reads_as_before_and_says_so(tmp_path, mask8):
    path, values = mask8
    (tmp_path / "c.txt").write_text("aeroplane\nb\nc\nd\nbottle\n")
    res = import_mask(path, "index", classes=str(tmp_path / "c.txt"), ignore=(255,))
    assert _names_per_value(res, values)[5] == "bottle" and res.classes_rule == "line 1 is index 1."


def test_classes_start_0_on_a_mask_whose_zero_is_unlabelled_is_a_sentence(tmp_path, mask8):
    path, _ = mask8
    (tmp_path / "c.txt").write_text("aeroplane\nbottle\n")
    with pytest.raises(ValidationError, match=r"index 0 is unlabelled in this mask, so \"aeroplane\" cannot name"):
        import_mask(path, "index", classes=str(tmp_path / "c.txt"), classes_start=0)


def test_voc_with_a_labelme_list(tmp_path):
    values = np.zeros((4, 4), np.uint8)
    values[1, 1] = 5
    values[2, 2] = 255
    img = Image.fromarray(values, "P")
    img.putpalette([0, 0, 0] * 256)
    img.save(tmp_path / "voc.png")
    (tmp_path / "class_names.txt").write_text("\n".join(LABELME))
    res = import_mask(tmp_path / "voc.png", "voc", classes=str(tmp_path / "class_names.txt"))
    assert list(res.legend.values()) == ["bottle"] and "__ignore__" in res.classes_rule


def test_mask_encode_reads_a_background_first_list_from_zero_and_says_the_rule(tmp_path, capsys):
    idx = np.zeros((5, 6), np.uint8)
    idx[1, 1:4] = 1
    idx[3, 2:5] = 2
    np.save(tmp_path / "idx.npy", idx)
    (tmp_path / "classes.txt").write_text("background\ncar\nperson\n")
    code, out, err = run(["encode", tmp_path / "idx.npy", "--classes", tmp_path / "classes.txt", "-o",
                          tmp_path / "e.png", "--legend-out", tmp_path / "e.json"], capsys)
    assert code == 0, err
    assert sorted(json.loads((tmp_path / "e.json").read_text()).values()) == ["car", "person"]
    assert "Classes: line 1 names background (\"background\"), so it is index 0" in out
    code, out, err = run(["encode", tmp_path / "idx.npy", "--classes", tmp_path / "classes.txt",
                          "--classes-start", "1", "-o", tmp_path / "e.png", "--legend-out", tmp_path / "e.json",
                          "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["classes_rule"] == "--classes-start 1: the first class line is index 1."
    assert sorted(json.loads((tmp_path / "e.json").read_text()).values()) == ["background", "car", "person"]


def test_mask_import_prints_the_rule_and_refuses_a_bad_classes_start(tmp_path, mask8, capsys):
    path, _ = mask8
    (tmp_path / "class_names.txt").write_text("\n".join(LABELME))
    code, out, err = run(["import", path, "--from", "index", "--classes", tmp_path / "class_names.txt", "-o",
                          tmp_path / "o.png", "--legend-out", tmp_path / "o.json"], capsys)
    assert code == 0, err
    assert "Classes: line 1 is __ignore__ (the ignore value), so line 2 is index 0" in out
    with pytest.raises(SystemExit) as e:
        run(["import", path, "--from", "index", "--classes-start", "2", "-o", tmp_path / "o.png",
             "--legend-out", tmp_path / "o.json"], capsys)
    assert e.value.code == 2


def test_classes_text_round_trips_a_class_named_background_at_index_1():
    names = {1: "background", 2: "car"}
    text = m.classes_to_text(names)
    assert text == "1: background\n2: car"
    assert m.classes_from_text(text)[0] == names
    assert m.classes_from_text("background\ncar")[0] == {1: "car"}
