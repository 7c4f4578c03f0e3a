"""mask encode and the colour-code dialog's core calls with labelme's __ignore__ (issue 22: the ignore
value stays unlabelled when encoding, never a class sent to Playment), a list already read by the rule
(core's ClassList, the dialog's "Read the list from" choice), and core's sentences for a list against the
values a mask holds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playment_submit.core import mask as m
from playment_submit.core.errors import ValidationError

from .test_cli_mask import run

LABELME = ["__ignore__", "_background_", "aeroplane", "bicycle"]


def test_encode_leaves_labelmes_ignore_value_unlabelled_in_8_bit_and_npy():
    idx = np.array([[0, 1, 2, 255, 255]], np.uint8)
    res = m.encode_full(idx, LABELME)
    assert list(res.rgba[0, :, 3]) == [0, 255, 255, 0, 0]
    assert sorted(res.legend.values()) == ["aeroplane", "bicycle"]
    npy = np.array([[0, 1, 2, -1]], np.int32)
    assert list(m.encode_full(npy, LABELME).rgba[0, :, 3]) == [0, 255, 255, 0]
    with pytest.raises(ValidationError, match="255"):     # without __ignore__, 255 is an unnamed index
        m.encode_full(idx, LABELME[1:])


def test_mask_encode_cli_with_labelme_names_exits_0_and_sends_no_ignore_class(tmp_path, capsys):
    idx = np.zeros((4, 5), np.uint8)
    idx[1, 1:3] = 1
    idx[2, :] = 255
    np.save(tmp_path / "idx.npy", idx)
    (tmp_path / "class_names.txt").write_text("\n".join(LABELME) + "\n")
    code, out, err = run(["encode", tmp_path / "idx.npy", "--classes", tmp_path / "class_names.txt", "-o",
                          tmp_path / "e.png", "--legend-out", tmp_path / "e.json"], capsys)
    assert code == 0, err
    assert list(json.loads((tmp_path / "e.json").read_text()).values()) == ["aeroplane", "bicycle"]
    assert "__ignore__ names the ignore value" in out


def test_a_class_list_read_with_a_forced_start_encodes_as_read():
    idx = np.array([[0, 1, 2]], np.uint8)
    read = m.read_class_list(["background", "car"], start=1)
    assert m.class_list_rule(read) == read.rule
    assert list(m.encode_full(idx, read).legend.values()) == ["background", "car"]
    classes, problems = m.resolve_classes(["background", "car"], None)
    assert problems == [] and list(m.encode_full(idx[:, :2], classes).legend.values()) == ["car"]
    classes, problems = m.classes_for_text("car\nbus", 0)
    assert problems and "--classes-start 1" in str(problems[0])


def test_names_against_mask_names_unnamed_values_and_names_for_absent_indices():
    missing, absent = m.names_against_mask({1: "car", 4: "lid"}, {0: 9, 1: 3, 2: 1, 3: 5, 255: 2}, ignore=True)
    assert missing == ("The mask holds index 2 (1 px) and 3 (5 px) with no class name; name them (or write "
                       "\"n: name\" lines) before colour-coding.")
    assert absent == ("No pixel of the mask holds index 4 (\"lid\"): that name may be read from the wrong "
                      "index; check which reading of the list was used.")
    assert m.names_against_mask({1: "car"}, {0: 1, 1: 1}) == (None, None)
    assert "255 (2 px)" in m.names_against_mask({1: "car"}, {1: 1, 255: 2})[0]
