"""Legend keys and the palette used to colour-code masks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playment_submit.core.legend import (
    check_legend,
    distinct_colours,
    hex_to_rgb,
    key_problem,
    load_legend_file,
    normalise_key,
    read_legend_data,
    rgb_to_hex,
    srgb_to_oklab,
)


def test_keys_parse_and_normalise():
    assert normalise_key("#FDFF34") == "#fdff34"
    assert hex_to_rgb("#0a0B0c") == (10, 11, 12)
    assert rgb_to_hex(10, 11, 12) == "#0a0b0c"
    assert key_problem("#fdff34") is None


def test_docs_seven_digit_key_is_refused_with_a_quote():
    why = key_problem("#fdffd34")
    assert '"#fdffd34"' in why and "7 hex digits" in why
    with pytest.raises(ValueError):
        normalise_key("#fdffd34")


def test_black_cannot_be_a_class():
    assert "unlabelled" in key_problem("#000000")


def test_check_legend_reports_every_problem():
    legend, probs = check_legend({"#FF0000": "car", "#ff0000": "car again", "#fdffd34": "x", "#00ff00": ""})
    assert legend == {"#ff0000": "car"}
    assert len(probs) == 3


def test_load_and_read_legend_file(tmp_path):
    p = tmp_path / "l.json"
    p.write_text(json.dumps({"legend": {"#FF0000": "car"}}))
    assert load_legend_file(p) == ({"#ff0000": "car"}, [])
    assert read_legend_data(p) == ({"#FF0000": "car"}, [])
    p.write_text('{"#ff0000": "car",}')
    data, probs = read_legend_data(p)
    assert data is None and probs[0].path == f"{p}:1:19"
    data, probs = read_legend_data(tmp_path / "none.json")
    assert data is None and "does not exist" in probs[0].message
    assert load_legend_file(tmp_path / "none.json")[0] == {}


def _lab(colours):
    return srgb_to_oklab(np.array([hex_to_rgb(c) for c in colours]))


def test_distinct_colours_are_distinct_deterministic_and_never_black():
    a = distinct_colours(40)
    assert a == distinct_colours(40)
    assert len(set(a)) == 40 and "#000000" not in a
    assert all(key_problem(c) is None for c in a)


def test_distinct_colours_are_prefix_stable():
    assert distinct_colours(10) == distinct_colours(200)[:10]


def test_distinct_colours_are_far_apart_and_far_from_black():
    cols = distinct_colours(20)
    lab = _lab(cols)
    d = np.sqrt(((lab[:, None] - lab[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    assert d.min() > 0.15                                    # OKLab: 0.02 is a just-noticeable difference
    assert np.sqrt(((lab[1:] - lab[:-1]) ** 2).sum(-1)).min() > 0.15   # neighbours in index order
    black = srgb_to_oklab(np.zeros((1, 3)))
    assert np.sqrt(((lab - black) ** 2).sum(-1)).min() > 0.15


def test_no_class_is_white_or_near_white_so_it_shows_over_bright_photos():
    """Class 1 used to be white: the colour farthest from black. A white cup's white pre-label vanished."""
    white = srgb_to_oklab(np.full((1, 3), 255))
    lab = _lab(distinct_colours(20))
    assert np.sqrt(((lab - white) ** 2).sum(-1)).min() > 0.15
    assert "#ffffff" not in distinct_colours(2000)


def test_excluded_colours_are_not_reused_and_kept_at_a_distance():
    cols = distinct_colours(30, exclude=["#FFFFFF", "#ff0000"])
    assert "#ffffff" not in cols and "#ff0000" not in cols
    lab, ex = _lab(cols), _lab(["#ffffff", "#ff0000"])
    assert np.sqrt(((lab[:, None] - ex[None]) ** 2).sum(-1)).min() > 0.1


def test_the_full_range_of_65535_colours():
    cols = distinct_colours(65535)
    assert len(set(cols)) == 65535 and "#000000" not in cols
    with pytest.raises(ValueError):
        distinct_colours(65536)


# ----------------------------------------------------- names with control / bidi characters (issue 21 item 6)
def test_names_with_escape_or_bidi_characters_are_refused_shown_escaped():
    from playment_submit.core.legend import check_legend
    clean, problems = check_legend({"#ff0000": "car\x1b[2J", "#00ff00": "ok", "#0000ff": "x\u202ey"})
    assert clean == {"#00ff00": "ok"}
    assert [p.severity for p in problems] == ["error", "error"]
    assert "\"car\\x1b[2J\"" in problems[0].message and "(\\x1b)" in problems[0].message
    assert "(\\u202e)" in problems[1].message and "Remove them from the name" in problems[1].message
    assert not any("\x1b" in p.message or "\u202e" in p.message for p in problems)


def test_submit_refuses_a_name_with_escape_characters_before_sending(tmp_path, monkeypatch, capsys):
    from playment_submit.core.cli import main
    from tests.hostile import HostileServer, answer

    def script(server, conn, req):
        answer(conn, 200, {"success": True, "data": {"job_id": "j-1", "reference_id": "r-1"}})

    job = tmp_path / "job.json"
    job.write_text(json.dumps({"reference_id": "r-1", "work_flow_id": "7f0b8c5e-0000-4000-8000-000000000001",
                               "data": {"image_url": "https://cdn.example.com/a.jpg", "maker_response": {
                                   "raster": {"data": {"url": "https://cdn.example.com/m.png",
                                                       "legend": {"#ff0000": "car\x1b]0;pwned\x07"}}}}}}))
    with HostileServer(script) as server:
        for k, v in {"PLAYMENT_BASE_URL": server.base_url, "PLAYMENT_API_KEY": "k-0123456789",
                     "PLAYMENT_PROJECT_ID": "p"}.items():
            monkeypatch.setenv(k, v)
        code = main(["submit", str(job)])
        out = capsys.readouterr()
        assert [r for r in server.requests if r.method == "POST"] == []
    assert code == 1
    assert "holds control or direction-changing characters (\\x1b, \\x07)" in out.err
    assert "\x1b" not in out.err + out.out
