"""Property (issue 21): whatever COCO, VOC, .npy or classes file ``mask import`` / ``mask encode`` is given,
it answers with sentences and an exit status in {0, 1, 2}, never a traceback. Runs ``core.cli.main``
in-process (a signal would kill pytest: the crash cases themselves run in a subprocess in
test_mask_coco_hostile.py). ``PROPS_N=600`` searches longer."""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from playment_submit.core.cli import main

PROPS = settings(max_examples=int(os.environ.get("PROPS_N", "60")), deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])
_counter = itertools.count()

_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 12, 10 ** 12),
                       st.floats(allow_nan=False), st.text(max_size=8))
_any_json = st.recursive(_json_leaf, lambda c: st.one_of(st.lists(c, max_size=4),
                                                         st.dictionaries(st.text(max_size=6), c, max_size=4)),
                         max_leaves=12)
_coord = st.one_of(st.floats(-100, 200, allow_nan=False), st.sampled_from([3e9, 1e300, -1e9, 2.5, 0.1]),
                   _json_leaf)
_polygon = st.lists(_coord, min_size=0, max_size=12)
_rle_counts = st.one_of(st.lists(st.one_of(st.integers(-5, 400), _json_leaf), max_size=8),
                        st.text(alphabet="0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmno~ ",
                                max_size=12))
_segmentation = st.one_of(st.lists(_polygon, max_size=3),
                          st.fixed_dictionaries({"size": st.one_of(st.just([12, 16]), _any_json),
                                                 "counts": _rle_counts}),
                          _any_json)
_size = st.one_of(st.integers(1, 20), st.just(True), st.integers(-3, 0), _json_leaf)
_category_id = st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), max_size=2), _json_leaf)


def _codes(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as e:      # argparse's usage errors
        code = e.code if isinstance(e.code, int) else 2
    _, err = capsys.readouterr()
    return code, err


@PROPS
@given(width=_size, height=_size, anns=st.lists(st.fixed_dictionaries(
    {"id": st.integers(1, 9), "image_id": st.sampled_from([1, 1, 1, 2, "1"]), "category_id": _category_id,
     "segmentation": _segmentation}), max_size=4),
       cats=st.lists(st.fixed_dictionaries({"id": _category_id, "name": st.one_of(st.text(max_size=5),
                                                                                   _json_leaf)}), max_size=3))
def test_coco_files_give_sentences_never_tracebacks(capsys, width, height, anns, cats):
    tmp = Path(tempfile.mkdtemp(prefix=f"coco{next(_counter)}-"))
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": width, "height": height}],
            "annotations": anns, "categories": cats}
    (tmp / "c.json").write_text(json.dumps(data))
    code, err = _codes(["mask", "import", str(tmp / "c.json"), "--from", "coco", "-o", str(tmp / "o.png"),
                        "--legend-out", str(tmp / "o.json")], capsys)
    assert code in (0, 1, 2), err
    assert "Traceback" not in err


@PROPS
@given(values=st.lists(st.integers(-3, 300), min_size=1, max_size=30),
       dtype=st.sampled_from(["<i4", ">i4", "<i2", "u1", ">u2", "<i8", "f4"]),
       lines=st.lists(st.one_of(st.sampled_from(["__ignore__", "_background_", "background", "void", "car"]),
                                st.text(max_size=6), st.from_regex(r"[0-9]{1,12}: ?[a-z]{0,4}", fullmatch=True)),
                      max_size=6),
       ignore=st.lists(st.integers(-3, 300), max_size=2), start=st.sampled_from([None, "0", "1", "2"]),
       kind=st.sampled_from(["npy", "png", "voc"]))
def test_index_voc_npy_and_classes_files_give_sentences(capsys, values, dtype, lines, ignore, start, kind):
    tmp = Path(tempfile.mkdtemp(prefix=f"idx{next(_counter)}-"))
    arr = np.array(values).reshape(1, -1)
    if kind == "npy":
        src = tmp / "m.npy"
        np.save(src, arr.astype(dtype))
    else:
        src = tmp / "m.png"
        Image.fromarray(arr.clip(0, 255).astype(np.uint8), "P" if kind == "voc" else "L").save(src)
    (tmp / "c.txt").write_text("\n".join(lines))
    argv = ["mask", "import", str(src), "--from", "voc" if kind == "voc" else "index", "--classes",
            str(tmp / "c.txt"), "-o", str(tmp / "o.png"), "--legend-out", str(tmp / "o.json")]
    if ignore:
        argv += ["--ignore", *map(str, ignore)]
    if start is not None:
        argv += ["--classes-start", start]
    code, err = _codes(argv, capsys)
    assert code in (0, 1, 2), err
    assert "Traceback" not in err
