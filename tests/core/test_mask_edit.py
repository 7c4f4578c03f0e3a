"""Legend edits on the mask array (core/mask/edit.py): recolour, merge, remove, add, fix a key."""

from __future__ import annotations

import numpy as np
import pytest

from playment_submit.core.legend import duplicate_names
from playment_submit.core.mask.edit import add_class, change_colour, merge_classes, recolour, remove_class, replace_key


def _mask():
    rgba = np.zeros((700, 9, 4), np.uint8)  # taller than one strip
    rgba[:300] = (255, 0, 0, 255)
    rgba[300:600] = (0, 255, 0, 255)
    rgba[650:] = (255, 0, 0, 120)  # soft edge of red: not a labelled red pixel, left alone
    return rgba


def test_merge_recolours_the_pixels_and_drops_the_entry():
    rgba = _mask()
    out, legend, n = merge_classes(rgba, {"#ff0000": "cup", "#00ff00": "mug"}, "#00ff00", "#FF0000")
    assert legend == {"#ff0000": "cup"} and n == 300 * 9
    assert (out[300:600] == (255, 0, 0, 255)).all() and (out[650:] == rgba[650:]).all()
    assert (rgba[300:600] == (0, 255, 0, 255)).all()  # the input is not changed


def test_change_colour_remove_and_swap():
    rgba = _mask()
    out, legend, n = change_colour(rgba, {"#ff0000": "cup", "#00ff00": "mug"}, "#ff0000", "#0000FF")
    assert list(legend) == ["#0000ff", "#00ff00"] and n == 2700 and (out[:300] == (0, 0, 255, 255)).all()
    out, legend, n = remove_class(rgba, {"#ff0000": "cup", "#00ff00": "mug"}, "#00ff00")
    assert legend == {"#ff0000": "cup"} and (out[300:600] == 0).all()
    swapped, n = recolour(rgba, {"#ff0000": "#00ff00", "#00ff00": "#ff0000"})
    assert (swapped[:300] == (0, 255, 0, 255)).all() and (swapped[300:600] == (255, 0, 0, 255)).all()


def test_refusals_are_sentences():
    legend = {"#ff0000": "cup", "#00ff00": "mug"}
    with pytest.raises(ValueError, match="already the colour of \"mug\"; merge"):
        change_colour(_mask(), legend, "#ff0000", "#00ff00")
    with pytest.raises(ValueError, match="6"):
        add_class(legend, "#12345", "lid")
    with pytest.raises(ValueError, match="unlabelled"):
        add_class(legend, "#000000", "lid")
    with pytest.raises(ValueError, match="into itself"):
        merge_classes(_mask(), legend, "#ff0000", "#ff0000")
    assert add_class(legend, "#0000FF", " lid ") == {**legend, "#0000ff": "lid"}


def test_a_bad_key_is_fixed_in_place():
    legend = {"#fdffd34": "lamp", "#ff0000": "cup"}
    assert list(replace_key(legend, "#fdffd34", "#FDFF34").items()) == [("#fdff34", "lamp"), ("#ff0000", "cup")]


def test_duplicate_names_are_found():
    assert duplicate_names({"#ff0000": "cup", "#00ff00": " cup", "#0000ff": "mug"}) == {"cup": ["#ff0000", "#00ff00"]}
