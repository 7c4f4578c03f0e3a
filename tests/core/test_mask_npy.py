"""``.npy`` index masks (issue 22 item 4): labelme's SegmentationClassNpy (int32, -1 ignored), any integer
type in either byte order, the size checked from the header, float and object arrays refused, and
``--ignore -1`` accepted by the command line."""

from __future__ import annotations

import numpy as np
import pytest

from playment_submit.core.errors import ValidationError
from playment_submit.core.mask.formats import import_mask

from .test_cli_mask import run


def _labelme_like():
    values = np.zeros((5, 7), np.int32)
    values[1, 1:4] = 5
    values[3, 2:6] = 1
    values[0, :] = -1
    return values


@pytest.mark.parametrize("dtype", ["<i4", ">i4", "<i2", ">i8", "i1"])
def test_a_signed_npy_with_minus_one_imports_with_ignore(tmp_path, dtype):
    values = _labelme_like().astype(dtype)
    np.save(tmp_path / "m.npy", values)
    (tmp_path / "c.txt").write_text("a\nb\nc\nd\nbottle\n")
    res = import_mask(tmp_path / "m.npy", "index", classes=str(tmp_path / "c.txt"), ignore=(-1,))
    legend = list(res.legend.values())
    got = np.array([[legend[c - 1] if c else "" for c in row] for row in res.classes])
    expected = np.where(values == 5, "bottle", np.where(values == 1, "a", ""))
    assert (got == expected).all()
    assert res.counts == {"bottle": 3, "a": 4}


def test_labelme_class_names_make_minus_one_the_ignore_value(tmp_path):
    values = _labelme_like()
    np.save(tmp_path / "m.npy", values)
    (tmp_path / "class_names.txt").write_text("__ignore__\n_background_\naeroplane\nb\nc\nd\nbottle\n")
    res = import_mask(tmp_path / "m.npy", "index", classes=str(tmp_path / "class_names.txt"))
    assert res.counts == {"bottle": 3, "aeroplane": 4}
    assert res.unlabelled == values.size - 7


def test_without_ignore_minus_one_is_refused_with_the_fix(tmp_path):
    np.save(tmp_path / "m.npy", _labelme_like())
    (tmp_path / "c.txt").write_text("a\nb\nc\nd\nbottle\n")
    with pytest.raises(ValidationError, match=r"index -1 at x=0, y=0 is outside 0..\d+ \(a negative ignore value: "
                                              r"pass it to --ignore\)"):
        import_mask(tmp_path / "m.npy", "index", classes=str(tmp_path / "c.txt"))


def test_float_object_and_oversized_arrays_are_refused_before_reading(tmp_path):
    (tmp_path / "c.txt").write_text("a\n")
    np.save(tmp_path / "f.npy", np.zeros((4, 4), np.float32))
    with pytest.raises(ValidationError, match="holds float32 values"):
        import_mask(tmp_path / "f.npy", "index", classes=str(tmp_path / "c.txt"))
    np.save(tmp_path / "o.npy", np.array([[{"a": 1}]], dtype=object), allow_pickle=True)
    with pytest.raises(ValidationError, match=r"the \.npy file cannot be read"):
        import_mask(tmp_path / "o.npy", "index", classes=str(tmp_path / "c.txt"))
    # a header that claims 200 megapixels with no data behind it: refused from the header alone
    big = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.uint8, shape=(20000, 10000))
    del big
    with pytest.raises(ValidationError, match=r"over the limit of 100 megapixels"):
        import_mask(tmp_path / "big.npy", "index", classes=str(tmp_path / "c.txt"))


def test_the_command_line_takes_ignore_minus_one_and_says_one_range(tmp_path, capsys):
    np.save(tmp_path / "m.npy", _labelme_like())
    (tmp_path / "c.txt").write_text("a\nb\nc\nd\nbottle\n")
    code, _, err = run(["import", tmp_path / "m.npy", "--from", "index", "--classes", tmp_path / "c.txt",
                          "--ignore", "-1", "-o", tmp_path / "o.png", "--legend-out", tmp_path / "o.json"], capsys)
    assert code == 0, err
    with pytest.raises(SystemExit):
        run(["import", tmp_path / "m.npy", "--ignore", "70000", "-o", tmp_path / "o.png", "--legend-out",
             tmp_path / "o.json"], capsys)
    err = capsys.readouterr().err
    assert err.count("65535") == 1, err
