"""Where the app writes masks (core.mask_files): names from content, clean-up of what nothing refers to,
copies beside a job file, and the limits on fetching a job's URL mask."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from playment_submit.core import mask_files
from playment_submit.core.errors import ValidationError
from playment_submit.core.mask import save_png


def _index_mask(path, value: int = 1):
    arr = np.zeros((6, 8), np.uint8)
    arr[1:4, 2:5] = value
    np.save(path, arr)
    return path


def test_the_same_content_is_one_file_and_other_content_another_whatever_the_names(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _index_mask(tmp_path / "a" / "mask.npy", 1)
    b = _index_mask(tmp_path / "b" / "mask.npy", 2)
    out_a, legend_a = mask_files.colour_code(a, ["cup", "mug"])
    out_b, _ = mask_files.colour_code(b, ["cup", "mug"])
    assert out_a != out_b and out_a.is_file() and out_b.is_file()  # two mask.npy, two files
    assert out_a.parent == out_b.parent == mask_files.masks_dir("coded") and out_a.name.startswith("mask-")
    again, _ = mask_files.colour_code(a, ["cup", "mug"])
    assert again == out_a  # the same content is the same file
    assert json.loads(mask_files.legend_file_for(out_a).read_text()) == legend_a
    assert mask_files.find_legend(out_a) == mask_files.legend_file_for(out_a)
    assert mask_files.is_rgba_png(out_a) and not mask_files.is_rgba_png(a)


def test_unreferenced_masks_go_when_old_or_over_the_cap_and_referenced_ones_stay(tmp_path):
    folder = mask_files.masks_dir("coded")
    folder.mkdir(parents=True)
    rgba = np.zeros((4, 4, 4), np.uint8)
    paths = []
    for n in range(4):
        p = folder / f"m{n}.png"
        save_png(rgba, p)
        mask_files.legend_file_for(p).write_text("{}")
        paths.append(p)
    old = time.time() - 40 * 86400
    for p in paths[:3]:
        os.utime(p, (old, old))
    removed = mask_files.clean_unused([paths[0]])
    assert removed == 2 and paths[0].is_file() and paths[3].is_file()  # kept: referenced, recent
    assert not paths[1].exists() and not mask_files.legend_file_for(paths[1]).exists()
    assert mask_files.clean_unused([], max_bytes=0) == 2  # over the cap: even the recent ones go


def test_a_mask_kept_by_the_app_is_copied_beside_a_job_file_with_its_legend(tmp_path):
    out, _ = mask_files.colour_code(_index_mask(tmp_path / "i.npy"), ["cup"])
    assert mask_files.in_app_folder(out) and not mask_files.in_app_folder(tmp_path / "i.npy")
    copy = mask_files.copy_beside(out, tmp_path)
    assert copy.parent == tmp_path and copy.read_bytes() == out.read_bytes()
    assert mask_files.legend_file_for(copy).is_file()
    legend_file = mask_files.export(out, {"#ff0000": "cup"}, tmp_path / "exported.png")
    assert json.loads(legend_file.read_text()) == {"#ff0000": "cup"}


def test_a_fetched_mask_must_be_a_png_within_the_pixel_cap(tmp_path):
    class Attachments:
        def __init__(self, data):
            self.data = data

        def fetch_attachment(self, url, max_bytes):
            assert max_bytes == mask_files.MAX_FETCH_BYTES
            return self.data

    with pytest.raises(ValidationError, match="not a PNG"):
        mask_files.fetch_preview(Attachments(b"<html>"), "https://example.com/m.png")
    png = tmp_path / "m.png"
    save_png(np.zeros((3, 5, 4), np.uint8), png)
    got = mask_files.fetch_preview(Attachments(png.read_bytes()), "https://example.com/m.png")
    assert got.parent == mask_files.masks_dir("fetched") and got.read_bytes() == png.read_bytes()
    with pytest.raises(ValidationError, match="megapixels"):
        mask_files.fetch_preview(Attachments(png.read_bytes()), "https://example.com/m.png", max_pixels=10)


def test_legend_only_edits_need_no_pixels_and_pixel_edits_are_refused_without_them():
    legend, note = mask_files.edit_legend_only({"#fdffd34": "Sky"}, "replace_key", ("#fdffd34", "#fdff34"))
    assert legend == {"#fdff34": "Sky"} and note == "Legend key fixed"
    with pytest.raises(ValueError):
        mask_files.edit_legend_only({"#ff0000": "a"}, "merge", ("#ff0000", "#00ff00"))
