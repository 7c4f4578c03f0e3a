"""One classes rule for ``mask encode --classes`` and the window's colour-code dialog: the same text or
file gives the same {index: name} whichever way it comes in, with the same problems."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from PIL import Image

from playment_submit.core import mask as m
from playment_submit.core.cli import mask as cli_mask


def cli_names(path) -> dict[int, str]:
    """What `mask encode --classes PATH` colour-codes with."""
    classes, problems = m.load_classes(path)
    assert classes is not None and problems == [], problems
    names, _, problems = m.parse_classes(classes)
    assert problems == []
    return names


def dialog_names(text: str) -> dict[int, str]:
    """What the dialog colour-codes with when this text is typed in its editor."""
    names, problems = m.classes_from_text(text)
    assert problems == [], problems
    return names


@pytest.mark.parametrize("text, expected", [
    ("car\nperson\nroad\n", {1: "car", 2: "person", 3: "road"}),
    ("  car  \r\nperson\r\n\r\n", {1: "car", 2: "person"}),
    ("3: car\n7: bus\n", {3: "car", 7: "bus"}),
    ("7:bus\n  3 :  car", {7: "bus", 3: "car"}),
    ("1: 10:30 train\n2: a: b", {1: "10:30 train", 2: "a: b"}),
    ("\ufeffcar\nbus", {1: "car", 2: "bus"}),
])
def test_the_same_text_gives_the_same_indices_on_both_paths(tmp_path, text, expected):
    (tmp_path / "classes.txt").write_text(text, encoding="utf-8", newline="")
    assert cli_names(tmp_path / "classes.txt") == dialog_names(text) == expected


@pytest.mark.parametrize("data, expected", [
    (["car", "bus"], {1: "car", 2: "bus"}),
    ({"3": "car", "7": "bus"}, {3: "car", 7: "bus"}),
    ({"classes": {"2": "car"}}, {2: "car"}),
    ({"car": "#ff0000", "bus": None}, {1: "car", 2: "bus"}),
    (["10:30 train", "bus"], {1: "10:30 train", 2: "bus"}),
])
def test_a_json_file_shown_as_text_keeps_its_indices(tmp_path, data, expected):
    (tmp_path / "classes.json").write_text(json.dumps(data))
    classes, _ = m.load_classes(tmp_path / "classes.json")
    text = m.classes_to_text(classes)                    # what the dialog's editor shows after loading it
    assert cli_names(tmp_path / "classes.json") == dialog_names(text) == expected


def test_explicit_indices_in_a_txt_file_through_mask_encode(tmp_path, capsys):
    idx = np.zeros((4, 5), np.uint8)
    idx[0, 0], idx[1, 1] = 3, 7
    Image.fromarray(idx).save(tmp_path / "idx.png")
    (tmp_path / "classes.txt").write_text("3: car\n7: bus\n")
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true")
    parser = argparse.ArgumentParser(prog="playment-submit")
    cli_mask.add_parser(parser.add_subparsers(dest="command"), parent)
    args = parser.parse_args(["mask", "encode", str(tmp_path / "idx.png"), "--classes", str(tmp_path / "classes.txt"),
                              "-o", str(tmp_path / "out.png"), "--legend-out", str(tmp_path / "legend.json")])
    assert args.func(args) == 0, capsys.readouterr().err
    legend = json.loads((tmp_path / "legend.json").read_text())
    assert list(legend.values()) == ["car", "bus"]
    items = list(legend.items())
    assert [(i, c, n) for i, c, n in m.class_colours(dialog_names("3: car\n7: bus"))] == \
        [(3, *items[0]), (7, *items[1])]
    rgba = np.asarray(Image.open(tmp_path / "out.png"))
    assert "#" + bytes(rgba[0, 0, :3].tolist()).hex() == items[0][0]
    assert "#" + bytes(rgba[1, 1, :3].tolist()).hex() == items[1][0]


@pytest.mark.parametrize("text, sentence", [
    ("car\n\nbus", "line 2 is empty; every line names the class whose index is its line number"),
    ("3: car\n\n7: bus", "line 2 is empty; remove the blank line"),
    ("3: car\nbus", "line 2 (\"bus\") gives no index while other lines do (\"3: car\")"),
    ("0: background\n1: car", "line 1 gives class index 0, outside 1..65535; 0 means unlabelled"),
    ("3: car\n3: bus", "line 2 gives index 3 again (line 1 already names it \"car\")"),
    ("3: car\n4:", "line 2 gives index 4 but no name"),
])
def test_the_same_problems_on_both_paths(tmp_path, text, sentence):
    (tmp_path / "classes.txt").write_text(text)
    _, file_problems = m.load_classes(tmp_path / "classes.txt")
    _, text_problems = m.classes_from_text(text)
    assert [p.message for p in file_problems] == [p.message for p in text_problems]
    assert any(p.message.startswith(sentence) for p in text_problems), [p.message for p in text_problems]
    assert all(p.path.startswith(f"{tmp_path / 'classes.txt'}:") for p in file_problems)
    assert all(p.path == "" for p in text_problems)


def test_empty_text_and_empty_file():
    names, problems = m.classes_from_text("\n\n")
    assert names == {} and "no class names" in problems[0].message


def test_classes_to_text_round_trips_and_class_colours_match_encode():
    for classes in (["a", "b", "c"], {"2": "x", "5": "y"}, {"car": "#00ff00", "bus": None}):
        names = m.parse_classes(classes)[0]
        assert m.classes_from_text(m.classes_to_text(classes))[0] == names
        idx = np.array([[0, *sorted(names)]], np.uint8)
        _, legend = m.encode(idx, classes)
        assert [(c, n) for _, c, n in m.class_colours(classes)] == list(legend.items())
        assert [i for i, _, _ in m.class_colours(classes)] == sorted(names)


def test_one_help_sentence():
    parent = argparse.ArgumentParser(add_help=False)
    parser = argparse.ArgumentParser()
    cli_mask.add_parser(parser.add_subparsers(), parent)
    helps = []
    for action in parser._subparsers._group_actions[0].choices["mask"]._subparsers._group_actions:
        enc = action.choices["encode"]
        helps += [a.help for a in enc._actions if "--classes" in a.option_strings]
    assert helps == [m.CLASSES_HELP]
    assert "line 1 is index 1" in m.CLASSES_HELP and "n: name" in m.CLASSES_HELP
    # the one class-list rule is the --classes help (and the colour-code dialog's), said once
    assert m.CLASS_LIST_RULE is m.CLASSES_HELP and "__ignore__" in m.CLASSES_HELP
