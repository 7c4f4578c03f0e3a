"""Property (issue 21, "Done when"): the command line given generated Cityscapes, CVAT, VOC, index, ``.npy``,
COCO and classes/legend files answers ``mask import``, ``mask check`` and ``mask encode`` with sentences and
an exit status in {0, 1, 2}: no traceback (a signal would kill pytest itself). COCO's own fields are fuzzed
in test_mask_import_fuzz.py; this file covers the other readers and the check/encode commands.

``PLAYMENT_FUZZ_EXAMPLES`` sets the examples per property (default 40, so the suite stays quick; run once
with 2000 to search longer)."""

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

FUZZ = settings(max_examples=int(os.environ.get("PLAYMENT_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
_n = itertools.count()
_text = st.text(max_size=10)
_line = st.one_of(_text, st.from_regex(r"[a-z_]{0,6}:[0-9, -]{0,12}:[a-z]{0,3}:[a-z]{0,3}", fullmatch=True),
                  st.sampled_from(["background:0,0,0::", "# label:color_rgb:parts:actions", "car:255,0,0::",
                                   "car:300,-1,0::", "\x1b[31mred:1,2,3::", "x:" + "9" * 5001 + ",0,0::"]))
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 30, 10 ** 30), st.floats(allow_nan=False),
                       _text)
_legend = st.one_of(st.dictionaries(st.one_of(st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True), _text),
                                    _json_leaf, max_size=4), _json_leaf, st.lists(_json_leaf, max_size=3))


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's usage errors
        code = e.code if isinstance(e.code, int) else 2
    _, err = capsys.readouterr()
    return code, err


def _ok(code: int, err: str) -> None:
    assert code in (0, 1, 2), err
    assert "Traceback" not in err


def _image(values: list[int], mode: str, width: int) -> Image.Image:
    arr = np.array(values + [0] * (-len(values) % width))
    arr = arr.reshape(-1, width)
    if mode == "I;16":
        return Image.fromarray(arr.clip(0, 65535).astype(np.uint16))
    if mode == "RGB":
        return Image.fromarray(np.stack([arr.clip(0, 255).astype(np.uint8)] * 3, axis=-1), "RGB")
    if mode == "RGBA":
        return Image.fromarray(np.stack([arr.clip(0, 255).astype(np.uint8)] * 4, axis=-1), "RGBA")
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8), mode)


@FUZZ
@given(values=st.lists(st.integers(-5, 70000), min_size=1, max_size=24), width=st.integers(1, 6),
       mode=st.sampled_from(["L", "P", "I;16", "RGB", "RGBA"]),
       suffix=st.sampled_from(["_labelIds", "_labelTrainIds", "_trainIds", "_instanceIds", "_color", ""]),
       ids=st.sampled_from([None, "label", "train", "instance", "bogus"]), instances=st.booleans())
def test_cityscapes_files_give_sentences(capsys, values, width, mode, suffix, ids, instances):
    tmp = Path(tempfile.mkdtemp(prefix=f"cs{next(_n)}-"))
    src = tmp / f"f{suffix}.png"
    _image(values, mode, width).save(src)
    argv = ["mask", "import", str(src), "--from", "cityscapes", "-o", str(tmp / "o.png"),
            "--legend-out", str(tmp / "o.json")]
    if ids is not None:
        argv += ["--ids", ids]
    if instances:
        argv += ["--instances"]
    _ok(*_run(argv, capsys))


@FUZZ
@given(values=st.lists(st.integers(0, 255), min_size=1, max_size=24), width=st.integers(1, 6),
       mode=st.sampled_from(["RGB", "RGBA", "L", "P"]), lines=st.lists(_line, max_size=6),
       where=st.sampled_from(["beside", "above", "option", "none"]))
def test_cvat_exports_give_sentences(capsys, values, width, mode, lines, where):
    tmp = Path(tempfile.mkdtemp(prefix=f"cvat{next(_n)}-"))
    (tmp / "SegmentationClass").mkdir()
    src = tmp / "SegmentationClass" / "f.png"
    _image(values, mode, width).save(src)
    labelmap = {"beside": tmp / "SegmentationClass" / "labelmap.txt", "above": tmp / "labelmap.txt",
                "option": tmp / "lm.txt", "none": None}[where]
    if labelmap is not None:
        labelmap.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    argv = ["mask", "import", str(src), "--from", "cvat", "-o", str(tmp / "o.png"), "--legend-out",
            str(tmp / "o.json")]
    if where == "option":
        argv += ["--labelmap", str(labelmap)]
    _ok(*_run(argv, capsys))


@FUZZ
@given(values=st.lists(st.integers(-3, 70000), min_size=1, max_size=24), width=st.integers(1, 6),
       kind=st.sampled_from(["png8", "png16", "npy", "rgb"]),
       classes=st.one_of(st.lists(_line, max_size=5).map("\n".join),
                         st.dictionaries(st.one_of(_text, st.integers(-3, 70000).map(str)), _json_leaf,
                                         max_size=4).map(json.dumps),
                         _json_leaf.map(json.dumps)),
       classes_ext=st.sampled_from(["txt", "json"]), start=st.sampled_from([None, "0", "1"]))
def test_mask_encode_gives_sentences(capsys, values, width, kind, classes, classes_ext, start):
    tmp = Path(tempfile.mkdtemp(prefix=f"enc{next(_n)}-"))
    if kind == "npy":
        src = tmp / "m.npy"
        np.save(src, np.array(values + [0] * (-len(values) % width)).reshape(-1, width))
    else:
        src = tmp / "m.png"
        _image(values, {"png8": "L", "png16": "I;16", "rgb": "RGB"}[kind], width).save(src)
    (tmp / f"c.{classes_ext}").write_text(classes, encoding="utf-8", errors="surrogatepass")
    argv = ["mask", "encode", str(src), "--classes", str(tmp / f"c.{classes_ext}"), "-o", str(tmp / "o.png"),
            "--legend-out", str(tmp / "o.json")]
    if start is not None:
        argv += ["--classes-start", start]
    _ok(*_run(argv, capsys))


@FUZZ
@given(values=st.lists(st.integers(0, 255), min_size=1, max_size=24), width=st.integers(1, 6),
       mode=st.sampled_from(["RGBA", "RGB", "L", "P", "I;16"]), legend=_legend,
       image=st.sampled_from([None, "same", "other", "garbage"]), mp=st.sampled_from([None, "0", "-1", "1e-9",
                                                                                    "abc", "100", "1e400"]))
def test_mask_check_gives_sentences(capsys, values, width, mode, legend, image, mp):
    tmp = Path(tempfile.mkdtemp(prefix=f"chk{next(_n)}-"))
    img = _image(values, mode, width)
    img.save(tmp / "m.png")
    (tmp / "l.json").write_text(json.dumps(legend))
    argv = ["mask", "check", str(tmp / "m.png"), "--legend", str(tmp / "l.json")]
    if image == "same":
        Image.new("RGB", img.size).save(tmp / "p.png")
    elif image == "other":
        Image.new("RGB", (img.size[0] + 1, img.size[1])).save(tmp / "p.png")
    elif image == "garbage":
        (tmp / "p.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(40)))
    if image is not None:
        argv += ["--image", str(tmp / "p.png")]
    if mp is not None:
        argv += ["--max-megapixels", mp]
    _ok(*_run(argv, capsys))
