"""Outputs that would overwrite an input are refused before anything is sent or written (through symbolic
and hard links too), and an output's folder must exist and be writable: said at once, naming the path."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from playment_submit.core.cli import main
from playment_submit.core.cli.common import output_problem, same_file
from tests.conftest import mask_bytes

MANIFEST = "reference_id,image\nr1,https://x.io/1.png\nr2,https://x.io/2.png\n"


@pytest.fixture
def point_at_sandbox(sandbox, monkeypatch):
    monkeypatch.setenv("PLAYMENT_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("PLAYMENT_API_KEY", sandbox.api_key)
    monkeypatch.setenv("PLAYMENT_PROJECT_ID", sandbox.project_id)
    monkeypatch.setenv("PLAYMENT_WORKFLOW_ID", sandbox.workflow_id)
    return sandbox


def _alias(kind, target, tmp_path):
    if kind == "same":
        return target
    alias = tmp_path / f"alias-{kind}.csv"
    (os.symlink if kind == "symlink" else os.link)(target, alias)
    return alias


@pytest.mark.parametrize("kind", ["same", "symlink", "hardlink"])
def test_bulk_results_over_the_manifest_is_refused_before_sending(point_at_sandbox, tmp_path, capsys, kind):
    manifest = tmp_path / "m.csv"
    manifest.write_text(MANIFEST)
    results = _alias(kind, manifest, tmp_path)
    assert main(["bulk", str(manifest), "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert f"--results {results} is the manifest" in err and "never overwrites" in err
    assert manifest.read_text() == MANIFEST and point_at_sandbox.job_count() == 0
    assert not (tmp_path / "m.csv.journal.sqlite").exists()


def test_bulk_results_in_a_missing_folder_fails_at_once(point_at_sandbox, tmp_path, capsys):
    manifest = tmp_path / "m.csv"
    manifest.write_text(MANIFEST)
    assert main(["bulk", str(manifest), "--results", str(tmp_path / "missing" / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert f"the folder {tmp_path / 'missing'} does not exist" in err
    assert point_at_sandbox.job_count() == 0


def test_bulk_outputs_over_the_journal_a_row_file_or_each_other_are_refused(point_at_sandbox, tmp_path, capsys):
    manifest = tmp_path / "m.csv"
    (tmp_path / "mask.png").write_bytes(mask_bytes())
    (tmp_path / "legend.json").write_text('{"#ff0000": "car"}')
    manifest.write_text("reference_id,image,mask,legend\nr1,https://x.io/1.png,mask.png,legend.json\n")
    journal = tmp_path / "j.sqlite"
    cases = [(["--journal", str(journal), "--results", str(journal)], "is the journal"),
             (["--results", str(tmp_path / "legend.json")], "row 2 of"),
             (["--write-manifest", str(tmp_path / "mask.png")], "row 2 of"),
             (["--write-manifest", str(tmp_path / "w.csv"), "--results", str(tmp_path / "w.csv")],
              "is the manifest written by --write-manifest"),
             (["--journal", str(manifest)], "--journal"),
             (["--results", str(tmp_path)], "is a folder")]
    for extra, words in cases:
        assert main(["bulk", str(manifest), *extra]) == 2, extra
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (extra, err)
    assert (tmp_path / "legend.json").read_text() == '{"#ff0000": "car"}'
    assert point_at_sandbox.job_count() == 0


def test_submit_journal_over_the_job_file_is_refused(point_at_sandbox, tmp_path, capsys):
    job = tmp_path / "job.json"
    text = json.dumps({"reference_id": "r", "data": {"image_url": "https://x.io/a.png"}})
    job.write_text(text)
    assert main(["submit", str(job), "--journal", str(job)]) == 2
    assert "is the job file" in capsys.readouterr().err
    assert job.read_text() == text and point_at_sandbox.job_count() == 0


@pytest.fixture
def index(tmp_path):
    idx = np.zeros((6, 8), np.uint8)
    idx[1:3, 1:3] = 1
    Image.fromarray(idx).save(tmp_path / "idx.png")
    (tmp_path / "classes.json").write_text('["car"]')
    return tmp_path


@pytest.mark.parametrize(("output", "legend_out", "words"), [
    ("out.png", "classes.json", "--legend-out {d}/classes.json is the classes file"),
    ("out.png", "idx.png", "--legend-out {d}/idx.png is the index mask"),
    ("out.png", "out.png", "--legend-out {d}/out.png is the output mask (-o)"),
    ("idx.png", "legend.json", "-o {d}/idx.png is the index mask"),
    ("link.png", "legend.json", "-o {d}/link.png is the index mask"),
])
def test_mask_encode_never_overwrites_its_inputs(index, capsys, output, legend_out, words):
    os.link(index / "idx.png", index / "link.png")
    before = {p.name: p.read_bytes() for p in index.iterdir()}
    code = main(["mask", "encode", str(index / "idx.png"), "--classes", str(index / "classes.json"),
                 "-o", str(index / output), "--legend-out", str(index / legend_out)])
    err = capsys.readouterr().err
    assert code == 2 and words.format(d=index) in err and "never overwrites" in err
    assert {p.name: p.read_bytes() for p in index.iterdir()} == before


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_mask_outputs_in_a_missing_folder_name_the_output_not_a_temp_file(index, capsys, json_flag):
    out = index / "missing" / "x.png"
    code = main(["mask", "encode", str(index / "idx.png"), "--classes", str(index / "classes.json"), "-o", str(out),
                 "--legend-out", str(index / "legend.json"), *json_flag])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert code == 2 and f"-o {out}: the folder {out.parent} does not exist" in text and ".tmp" not in text
    legend_out = index / "gone" / "legend.json"
    code = main(["mask", "encode", str(index / "idx.png"), "--classes", str(index / "classes.json"),
                 "-o", str(index / "ok.png"), "--legend-out", str(legend_out)])
    err = capsys.readouterr().err
    assert code == 2 and f"--legend-out {legend_out}: the folder" in err and ".tmp" not in err
    assert not (index / "ok.png").exists()  # nothing was written: the legend's folder was checked first
    (index / "mask.png").write_bytes(mask_bytes())
    (index / "legend.json").write_text('{"#ff0000": "car"}')
    code = main(["mask", "repair", str(index / "mask.png"), "--legend", str(index / "legend.json"),
                 "-o", str(index / "nowhere" / "fixed.png")])
    err = capsys.readouterr().err
    assert code == 2 and "-o " + str(index / "nowhere" / "fixed.png") + ": the folder" in err and ".tmp" not in err


def test_same_file_and_output_problem(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("x")
    os.symlink(a, tmp_path / "s.txt")
    assert same_file(a, tmp_path / "s.txt") and same_file(tmp_path / "." / "a.txt", a)
    assert not same_file(a, tmp_path / "b.txt")
    assert output_problem(tmp_path / "b.txt", "--out", [("input", a)]) is None
    assert output_problem(tmp_path / "s.txt", "--out", [("input", a), ("other", None)]).startswith(
        f"--out {tmp_path / 's.txt'} is the input ({a})")
