"""COCO files that used to crash or mislead ``mask import`` (issue 21 items 1 and 5), and the property that
polygons are rasterised bit for bit as pycocotools' ``frPyObjects`` + ``decode`` on the full image
(issue 22 item 1). Crashing cases run the real command line in a subprocess, so that a SIGSEGV fails the
test instead of killing pytest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playment_submit.core.errors import ValidationError
from playment_submit.core.mask.formats import import_mask

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, segmentation, *, width=40, height=30, category_id=1, categories=None,
           name="coco.json") -> Path:
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": width, "height": height}],
            "annotations": [{"id": 7, "image_id": 1, "category_id": category_id, "segmentation": segmentation,
                             "iscrowd": 0, "area": 1.0, "bbox": [0, 0, 1, 1]}],
            "categories": categories if categories is not None else [{"id": 1, "name": "car"}]}
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _cli(tmp_path: Path, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "playment_submit.core.cli", "mask", "import", str(path),
                           "--from", "coco", "-o", str(tmp_path / "out.png"), "--legend-out",
                           str(tmp_path / "legend.json")], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("vertex", [3e9, 1e300, -1e9, 81.0, -41.0])
def test_a_far_away_vertex_is_refused_with_a_sentence_not_a_signal(tmp_path, vertex):
    # 3e9, 1e300 and -1e9 killed the process with SIGSEGV inside pycocotools (exit -11 / 139); 81 and -41 are
    # just past the bound for a 40-pixel-wide image ([-40, 80])
    path = _write(tmp_path, [[1, 1, vertex, 2, 5, 9]])
    proc = _cli(tmp_path, path)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "annotation 7: polygon 1 has the vertex 2 at x" in proc.stderr
    assert "[-40, 80] for x" in proc.stderr
    assert not (tmp_path / "out.png").exists()


def test_vertices_on_the_bound_are_drawn_as_pycocotools_draws_them(tmp_path):
    from pycocotools import mask as api
    poly = [-40.0, -30.0, 80.0, 5.5, 3.3, 60.0]
    res = import_mask(_write(tmp_path, [poly]), "coco")
    expected = api.decode(api.merge(api.frPyObjects([poly], 30, 40))).astype(bool)
    assert ((res.classes > 0) == expected).all() and expected.any()


@pytest.mark.parametrize("segmentation, words", [
    ([[1, 1, "x", 2, 5, 9]], "has \"x\" as its x coordinate number 2"),
    ([[1, 1, True, 2, 5, 9]], "has true as its x coordinate number 2"),
    ({"size": [30, 40], "counts": [10, -5, 1195]}, "negative run length (-5, run 2)"),
    ({"size": [30, 40], "counts": [10, 5, 1190]}, "runs cover 1,205 pixels but the image (40 x 30) has 1,200"),
    ({"size": [30, 40], "counts": [10, 5, 100]}, "stops before the end of the image"),
    ({"size": [30, 40], "counts": [10, [5], 1185]}, "its RLE counts hold [5]"),
    ({"size": [30, 40], "counts": "0000000000"}, "runs cover 0 pixels"),
    ({"size": [30, 40], "counts": "Q"}, "ends in the middle of a number"),
    ({"size": [30, 40], "counts": "a~"}, "not one of RLE's characters"),
    ({"size": [30, 40], "counts": 12}, "its RLE counts are 12"),
    ({"size": [True, 40], "counts": [1200]}, "its RLE is for [true, 40]"),
])
def test_damaged_segmentations_are_refused_naming_the_annotation(tmp_path, segmentation, words):
    with pytest.raises(ValidationError) as e:
        import_mask(_write(tmp_path, segmentation), "coco")
    text = str(e.value)
    assert "annotation 7" in text and words in text, text


def test_a_compressed_rle_whose_runs_pass_the_end_of_the_image_is_refused(tmp_path):
    from pycocotools import mask as api
    m = np.zeros((60, 40), np.uint8, order="F")
    m[5:50, 3:30] = 1
    counts = api.encode(m)["counts"].decode()      # an RLE of a 60-row image given for a 30-row one
    with pytest.raises(ValidationError, match="runs past the end of the image"):
        import_mask(_write(tmp_path, {"size": [30, 40], "counts": counts}), "coco")


@pytest.mark.parametrize("kwargs, words", [
    ({"category_id": [1]}, "annotation 7 has [1] as its category_id"),
    ({"categories": [{"id": [1], "name": "car"}]}, "category 1 has [1] as its id"),
    ({"width": True}, "no usable width and height (true x 30)"),
    ({"height": True}, "no usable width and height (40 x true)"),
])
def test_wrong_types_give_sentences_through_the_command_line(tmp_path, kwargs, words):
    proc = _cli(tmp_path, _write(tmp_path, [[1, 1, 9, 2, 5, 9]], **kwargs))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and words in proc.stderr, proc.stderr


def test_rle_strings_decode_as_pycocotools_decodes_them():
    from pycocotools import mask as api

    from playment_submit.core.mask.formats.coco import rle_counts
    rng = np.random.default_rng(3)
    for _ in range(200):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        m = np.asfortranarray((rng.random((h, w)) < rng.random()).astype(np.uint8))
        m[: int(rng.integers(0, h)), :] = 0
        rle = api.encode(m)
        cnts = rle_counts(rle["counts"].decode())
        assert cnts.sum() == h * w
        flat = np.repeat(np.arange(cnts.size) % 2, cnts).astype(np.uint8)
        assert (api.decode(rle) == flat.reshape(w, h).T).all()


_grid = st.integers(0, 400).map(lambda k: k / 10)               # the .1/.3/.7/.9 grid and every tenth
_free = st.floats(0, 40, allow_nan=False, allow_infinity=False)  # any non-integer vertex


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(polys=st.lists(st.lists(st.tuples(st.one_of(_grid, _free), st.one_of(_grid, _free)), min_size=3,
                               max_size=9), min_size=1, max_size=3),
       origin=st.tuples(st.integers(0, 200), st.integers(0, 120)))
def test_polygons_are_rasterised_bit_for_bit_as_pycocotools_on_the_full_image(tmp_path, polys, origin):
    from pycocotools import mask as api
    h, w = 160, 260
    seg = [[c for x, y in p for c in (x + origin[0] + 0.1, y + origin[1] + 0.3)] for p in polys]
    res = import_mask(_write(tmp_path, seg, width=w, height=h), "coco")
    expected = api.decode(api.merge(api.frPyObjects(seg, h, w))).astype(bool)
    assert ((res.classes > 0) == expected).all()

