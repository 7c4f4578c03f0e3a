"""JSON that Python's parser cannot hold (or holds wrongly) gets a sentence wherever a person's JSON is read:
a job file, a JSONL manifest row, a legend file, a classes file (one reader: core.jsonio.parse_json)."""

from __future__ import annotations

import copy
import json

import pytest

from playment_submit.core import mask as engine
from playment_submit.core.cli import main
from playment_submit.core.errors import ValidationError
from playment_submit.core.job import JobSpec
from playment_submit.core.jsonio import MAX_DEPTH, parse_json
from playment_submit.core.legend import load_legend_file, read_legend_data
from playment_submit.core.manifest import read_jsonl

WF = "2aae1234-acac-1234-eeff-12a22a237bbc"
BIG_INT = "9" * 5000
DEEP_ARRAYS = "[" * 100_000 + "]" * 100_000
DUPLICATE = '{"#ff0000": "car", "#00ff00": "person", "#ff0000": "bus"}'

# (text, words the sentence must hold)
HOSTILE = [
    (BIG_INT, "5,000 digits long"),
    ('{"n": ' + BIG_INT + "}", "5,000 digits long"),
    (DEEP_ARRAYS, f"more than {MAX_DEPTH} levels deep"),
    ("[" * 600 + "]" * 600, f"more than {MAX_DEPTH} levels deep"),
    ('{"a": 1, "a": 2}', 'the key "a" twice'),
    ('{"x": NaN}', "NaN, which is not a JSON number"),
    ('{"x": -Infinity}', "-Infinity, which is not a JSON number"),
    ('{"x": 1e999}', "too large for a JSON number"),
    ('{"x": "\\ud800"}', "\\ud800"),
    ("{not json", "not valid JSON"),
]


@pytest.mark.parametrize(("text", "words"), HOSTILE)
def test_the_reader_gives_a_sentence_never_an_exception(text, words):
    data, problem = parse_json(text, what="job file", where="job.json")
    assert data is None and problem is not None
    assert words in problem.message and problem.path.startswith("job.json")
    assert problem.message.startswith("the job file ") and problem.message.endswith(".")


def test_the_reader_places_syntax_errors_and_duplicates():
    _, problem = parse_json('{\n  "a": 1,\n  "a": 2\n}', what="legend file", where="l.json")
    assert problem.path == "l.json:3:3"  # the second "a", where the duplicate is
    _, problem = parse_json('{"a": }', what="line")
    assert problem.path == "" and "(at character 7)" in problem.message


def test_good_json_reads_as_json_does():
    text = '\ufeff{"a": [1, 2.5, null, true, "é"], "b": {"c": -3}, "big": ' + "9" * 100 + "}"
    data, problem = parse_json(text, what="job file")
    assert problem is None and data == json.loads(text.lstrip("\ufeff"))


@pytest.mark.parametrize(("text", "words"), [(BIG_INT, "digits long"), (DEEP_ARRAYS, "levels deep"),
                                             ('{"reference_id": "a", "reference_id": "b"}', '"reference_id" twice')])
def test_a_job_file_the_parser_cannot_hold_exits_1_with_a_sentence(tmp_path, capsys, monkeypatch, text, words):
    monkeypatch.setenv("PLAYMENT_API_KEY", "k")
    job = tmp_path / "job.json"
    job.write_text(text)
    assert main(["submit", str(job)]) == 1
    err = capsys.readouterr().err
    assert words in err and str(job) in err and "Traceback" not in err


@pytest.mark.parametrize(("text", "words"), [(BIG_INT, "digits long"), (DEEP_ARRAYS, "levels deep"),
                                             ('{"reference_id": "a", "reference_id": "b"}', '"reference_id" twice')])
def test_a_jsonl_row_the_parser_cannot_hold_is_a_row_problem(tmp_path, text, words):
    good = json.dumps({"reference_id": "ok", "work_flow_id": WF, "data": {"image_url": "https://x.io/a.png"}})
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(good + "\n" + text + "\n")
    man = read_jsonl(manifest)
    assert man.rows[0].ok
    assert [p.path for p in man.rows[1].errors] == ["(line)"]
    assert words in man.rows[1].errors[0].message and "each line must be one job's JSON object" in man.errors[0]


@pytest.mark.parametrize(("text", "words"), [(BIG_INT, "digits long"), (DEEP_ARRAYS, "levels deep"),
                                             (DUPLICATE, '"#ff0000" twice')])
def test_a_legend_file_the_parser_cannot_hold(tmp_path, text, words):
    legend = tmp_path / "legend.json"
    legend.write_text(text)
    data, problems = read_legend_data(legend)
    assert data is None and words in problems[0].message and problems[0].path.startswith(str(legend))
    assert load_legend_file(legend)[0] == {}


@pytest.mark.parametrize(("text", "words"), [(BIG_INT, "digits long"), (DEEP_ARRAYS, "levels deep"),
                                             ('{"1": "car", "1": "bus"}', '"1" twice')])
def test_a_classes_file_the_parser_cannot_hold(tmp_path, capsys, text, words):
    classes = tmp_path / "classes.json"
    classes.write_text(text)
    data, problems = engine.load_classes(classes)
    assert data is None and words in problems[0].message and problems[0].path.startswith(str(classes))
    import numpy as np
    np.save(tmp_path / "idx.npy", np.ones((2, 2), np.uint8))
    code = main(["mask", "encode", str(tmp_path / "idx.npy"), "--classes", str(classes), "-o",
                 str(tmp_path / "out.png"), "--legend-out", str(tmp_path / "legend.json")])
    err = capsys.readouterr().err
    assert code == 1 and words in err and "Traceback" not in err


def test_duplicate_legend_keys_in_a_csv_row_are_refused(tmp_path):
    from playment_submit.core.manifest import read_csv
    (tmp_path / "m.png").write_bytes(b"")
    manifest = tmp_path / "m.csv"
    manifest.write_text('reference_id,image,mask,legend\na,https://x.io/a.png,m.png,"{""#ff0000"": ""car"", '
                        '""#ff0000"": ""bus""}"\n')
    row = read_csv(manifest, workflow_id=WF).rows[0]
    assert any('"#ff0000" twice' in p.message and p.path == "legend" for p in row.errors)


def _nested(levels: int) -> dict:
    root: dict = {}
    node = root
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


def test_metadata_nested_600_deep_is_refused_not_a_recursion_error():
    deep = _nested(600)
    with pytest.raises(RecursionError):
        copy.deepcopy(deep)  # what uploading such a job used to do
    payload = {"reference_id": "r", "work_flow_id": WF, "data": {"image_url": "https://x.io/a.png", "metadata": deep}}
    with pytest.raises(ValidationError) as e:
        JobSpec.from_payload(payload, source="job.json")
    assert [p.path for p in e.value.problems] == ["job.json: data.metadata"]
    assert "levels deep" in e.value.problems[0].message
    spec = JobSpec("r", WF, "https://x.io/a.png", metadata=deep)  # built in code, not read from a file
    assert any(p.path == "data.metadata" and "levels deep" in p.message for p in spec.validate())


def test_sane_metadata_nesting_is_fine():
    payload = {"reference_id": "r", "work_flow_id": WF, "data": {"image_url": "https://x.io/a.png",
                                                                 "metadata": _nested(20)}}
    spec = JobSpec.from_payload(payload)
    assert spec.errors() == []
