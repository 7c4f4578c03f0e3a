"""Which findings make a mask unusable or repairable is core's rule (MaskReport.usable / .repairable);
the window only asks."""

from __future__ import annotations

import numpy as np
from PIL import Image

from playment_submit.core import mask as m

LEGEND = {"#ff0000": "car", "#00ff00": "person"}


def report(tmp_path, arr, name="mask.png", **kw) -> m.MaskReport:
    p = tmp_path / name
    Image.fromarray(arr).save(p, **kw)
    return m.check(p, LEGEND)


def valid() -> np.ndarray:
    a = np.zeros((10, 12, 4), np.uint8)
    a[1:4, 1:5] = (255, 0, 0, 255)
    a[5:9, 2:10] = (0, 255, 0, 255)
    return a


def test_a_valid_mask_is_usable_and_needs_no_repair(tmp_path):
    r = report(tmp_path, valid())
    assert r.ok and r.usable and not r.repairable


def test_pixel_findings_are_repairable_and_the_mask_still_usable(tmp_path):
    a = valid()
    a[0, 0] = (255, 0, 0, 100)          # soft alpha
    a[0, 1] = (0, 0, 0, 255)            # black with alpha
    r = report(tmp_path, a)
    assert not r.ok and r.usable and r.repairable
    assert {"soft_alpha", "black_with_alpha"} <= set(r.codes()) <= m.REPAIRABLE_CODES | {"empty_class"}


def test_layout_findings_make_the_mask_unusable(tmp_path):
    rgb = report(tmp_path, valid()[..., :3], "rgb.png")
    assert "not_rgba" in rgb.codes() and not rgb.usable and not rgb.repairable
    (tmp_path / "junk.png").write_bytes(b"not a png at all")
    junk = m.check(tmp_path / "junk.png", LEGEND)
    assert "corrupt" in junk.codes() and not junk.usable
    missing = m.check(tmp_path / "missing.png", LEGEND)
    assert "unreadable" in missing.codes() and not missing.usable


def test_legend_findings_alone_keep_the_mask_usable(tmp_path):
    p = tmp_path / "mask.png"
    Image.fromarray(valid()).save(p)
    r = m.check(p, {**LEGEND, "#000000": "void"})
    assert not r.ok and r.usable and not r.repairable


def test_the_code_sets_do_not_overlap():
    assert not m.UNUSABLE_CODES & m.REPAIRABLE_CODES
