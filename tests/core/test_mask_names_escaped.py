"""Class names from files never reach the terminal raw (issue 21, item 6): `mask import` and `mask encode`
show a name with ESC or U+202E escaped in their tables."""

from __future__ import annotations

import numpy as np

from playment_submit.core.cli import main


def test_a_name_with_control_and_bidi_characters_is_shown_escaped(tmp_path, capsys):
    index = tmp_path / "idx.npy"
    arr = np.zeros((4, 6), np.uint8)
    arr[1:3, 1:4] = 1
    np.save(index, arr)
    classes = tmp_path / "classes.txt"
    classes.write_text("\x1b[31mcar\u202e\n", encoding="utf-8")
    for argv in (["mask", "import", str(index), "--from", "index", "--classes", str(classes),
                  "-o", str(tmp_path / "a.png"), "--legend-out", str(tmp_path / "a.json")],
                 ["mask", "encode", str(index), "--classes", str(classes), "-o", str(tmp_path / "b.png"),
                  "--legend-out", str(tmp_path / "b.json")]):
        capsys.readouterr()
        assert main(argv) in (0, 1)  # written (a name with such characters is refused later, at check)
        out = capsys.readouterr()
        text = out.out + out.err
        assert "\x1b" not in text and "\u202e" not in text, text
        assert "\\x1b[31mcar\\u202e" in text, text
