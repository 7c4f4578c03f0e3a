"""Pre-label review: per class IoU equal to a direct numpy computation; renames and new classes found."""

from __future__ import annotations

import numpy as np

from playment_submit.core.review import class_index, corrected_most, review_job, review_masks
from playment_submit.core.sandbox import derive_result


def _random_masks(seed):
    rng = np.random.default_rng(seed)
    colours = {"#ff0000": "car", "#00ff00": "road", "#0000ff": "sky", "#ffff00": "person"}
    keys = list(colours)
    h, w = 90, 120

    def paint():
        m = np.zeros((h, w, 4), np.uint8)
        for _ in range(12):
            k = keys[rng.integers(len(keys))]
            y, x = rng.integers(0, h - 10), rng.integers(0, w - 10)
            m[y:y + rng.integers(5, 40), x:x + rng.integers(5, 50)] = [*(int(k[i:i + 2], 16) for i in (1, 3, 5)), 255]
        return m

    return paint(), colours, paint(), colours


def _numpy_iou(pre, dele, colour):
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    a = (pre[..., :3] == rgb).all(-1) & (pre[..., 3] == 255)
    b = (dele[..., :3] == rgb).all(-1) & (dele[..., 3] == 255)
    union = (a | b).sum()
    return (a & b).sum() / union if union else None, int((b & ~a).sum()), int((a & ~b).sum())


def test_iou_equals_direct_numpy_computation():
    for seed in range(5):
        pre, pl, dele, dl = _random_masks(seed)
        r = review_masks(pre, pl, dele, dl, keep_arrays=True)
        for c in r.classes:
            colour = next(k for k, v in pl.items() if v == c.name)
            iou, added, removed = _numpy_iou(pre, dele, colour)
            assert c.kind == "kept"
            assert (c.iou is None and iou is None) or abs(c.iou - iou) < 1e-12
            assert (c.added, c.removed) == (added, removed)
        changed = ~((pre == dele).all(-1) | ((pre[..., 3] == 0) & (dele[..., 3] == 0)))
        assert r.changed_pixels == int(changed.sum()) == int(r.difference.sum())


def test_sandbox_edits_are_found(tmp_path):
    from PIL import Image
    m = np.zeros((80, 100, 4), np.uint8)
    m[10:40, 10:50] = [255, 0, 0, 255]
    m[45:75, 5:40] = [0, 255, 0, 255]
    m[5:30, 60:95] = [0, 0, 255, 255]
    legend = {"#ff0000": "car", "#00ff00": "road", "#0000ff": "sky"}
    new_legend, delivered = derive_result(m, legend)
    Image.fromarray(m, "RGBA").save(tmp_path / "p.png")
    Image.fromarray(delivered, "RGBA").save(tmp_path / "d.png")
    r = review_job(tmp_path / "p.png", legend, tmp_path / "d.png", new_legend)
    by = {c.name: c for c in r.classes}
    assert by["car"].added > 0 and by["car"].removed == 0          # grown
    assert by["road"].removed > 0 and by["road"].added == 0        # shrunk
    assert r.renamed() == [("sky", "sky (renamed)")] and by["sky"].iou == 1.0
    assert r.introduced() == ["Added region"]
    assert r.prelabel_rgba is not None and r.difference.shape == (80, 100)
    top = corrected_most([r, r])
    assert top[0].name in ("Added region", "car", "road") and top[0].jobs == 2


def test_class_index_ignores_colours_outside_the_legend():
    m = np.zeros((4, 4, 4), np.uint8)
    m[0, 0] = [255, 0, 0, 255]
    m[0, 1] = [1, 2, 3, 255]
    from playment_submit.core.review import pixel_key
    idx = class_index(m, {pixel_key("#ff0000"): 1})
    assert idx[0, 0] == 1 and idx[0, 1] == 0 and idx.sum() == 1
