"""Overlay data: class indices from an RGBA mask, unknown colours, levels of detail, many classes."""

from __future__ import annotations

import numpy as np

from playment_submit.gui.overlay import UNKNOWN, build_overlay


def test_indices_unknown_and_unlabelled():
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)
    rgba[1, 1] = (0, 255, 0, 255)
    rgba[2, 2] = (1, 2, 3, 255)      # not in the legend
    rgba[3, 3] = (255, 0, 0, 128)    # soft edge: not a valid legend pixel
    ov = build_overlay(rgba, {"#00ff00": "grass", "#ff0000": "car"})
    index = ov.levels[0][1]
    assert index[0, 0] == 2 and index[1, 1] == 1  # legend order: grass = 1, car = 2
    assert index[2, 2] == UNKNOWN and index[3, 3] == UNKNOWN and index[0, 4] == 0
    assert ov.describe(0, 0) == "#ff0000 car"
    assert ov.describe(2, 2) == "#010203 (not in the legend)"
    assert ov.describe(4, 0) == "unlabelled"
    assert "soft edge" in ov.describe(3, 3)
    assert ov.describe(99, 0) == ""


def test_empty_legend_marks_everything_labelled_unknown():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (9, 9, 9, 255)
    ov = build_overlay(rgba, {})
    assert ov.levels[0][1].tolist() == [[UNKNOWN, 0], [0, 0]]


def test_levels_of_detail_for_large_masks():
    rgba = np.zeros((1000, 5000, 4), np.uint8)
    ov = build_overlay(rgba, {"#ff0000": "a"}, max_preview=1024)
    steps = [s for s, _ in ov.levels]
    assert steps == [1, 2, 4, 8]
    assert ov.levels[-1][1].shape == (125, 625)
    assert ov.levels[0][1].flags["C_CONTIGUOUS"]
    assert max(build_overlay(rgba, {}).levels[-1][1].shape) <= 1024  # default: zoomed-out draws stay small


def test_more_classes_than_a_byte_draws_the_rgba_itself():
    legend = {f"#{i:06x}": f"c{i}" for i in range(1, 301)}
    rgba = np.zeros((3, 3, 4), np.uint8)
    rgba[1, 1] = (0, 1, 44, 255)
    ov = build_overlay(rgba, legend)
    assert not ov.indexed and ov.levels[0][1] is not None
    assert ov.describe(1, 1) == "#00012c c300"
