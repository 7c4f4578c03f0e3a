"""``mask check | encode | repair`` through argparse, as core/cli wires them, and the real entry."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playment_submit.core.cli import edge
from playment_submit.core.cli import mask as cli_mask

ROOT = Path(__file__).resolve().parents[2]
LEGEND = {"#ff0000": "car", "#00ff00": "person"}


def run(argv, capsys):
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true")
    parser = argparse.ArgumentParser(prog="playment-submit")
    sub = parser.add_subparsers(dest="command")
    cli_mask.add_parser(sub, parent)
    args = parser.parse_args(["mask", *map(str, argv)])
    code = edge.run(args)  # a failure is raised to the command line's one edge, which says it
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path):
    a = np.zeros((20, 30, 4), np.uint8)
    a[2:8, 2:12] = (255, 0, 0, 255)
    a[10:18, 5:25] = (0, 255, 0, 255)
    Image.fromarray(a).save(tmp_path / "ok.png")
    b = a.copy()
    b[0, 29] = (1, 2, 3, 255)
    Image.fromarray(b).save(tmp_path / "bad.png")
    Image.fromarray(a[..., :3]).save(tmp_path / "primary.jpg")
    (tmp_path / "legend.json").write_text(json.dumps(LEGEND))
    return tmp_path


def test_check_valid_prints_table_and_exits_0(files, capsys):
    code, out, err = run(["check", files / "ok.png", "--legend", files / "legend.json",
                          "--image", files / "primary.jpg"], capsys)
    assert code == 0 and err == ""
    assert "#ff0000  car" in out and "60" in out and "unlabelled" in out and "is a valid" in out


def test_check_problem_exits_1_one_sentence_per_problem(files, capsys):
    code, _, err = run(["check", files / "bad.png", "--legend", files / "legend.json"], capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(files / "bad.png") in lines[0]
    assert "#010203" in lines[0] and "x=29, y=0" in lines[0]
    assert "Traceback" not in err


def test_check_json_is_exactly_one_object(files, capsys):
    code, out, err = run(["check", files / "bad.png", "--legend", files / "legend.json", "--json"], capsys)
    assert code == 1 and err == ""
    d = json.loads(out)
    assert d["ok"] is False and d["problems"][0]["code"] == "unknown_colour" and d["exit_code"] == 1


@pytest.mark.parametrize("what", ["mask", "legend", "image"])
def test_check_unreadable_arguments_exit_2(files, capsys, what):
    (files / "broken.json").write_text("{")
    argv = ["check", files / "ok.png", "--legend", files / "legend.json"]
    if what == "mask":
        argv[1] = files / "missing.png"
    elif what == "legend":
        argv[3] = files / "missing.json"
    elif what == "bad_json":
        argv[3] = files / "broken.json"
    else:
        argv += ["--image", files / "missing.jpg"]
    code, _, err = run(argv, capsys)
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "missing" in err and "does not exist" in err


@pytest.mark.parametrize("command", ["check", "repair"])
def test_a_legend_that_reads_but_is_not_json_is_a_refused_input_exit_1(files, capsys, command):
    """A readable file with bad content is the input saying no (1), as a job file with bad JSON is; only a path
    that cannot be read is a usage error (2)."""
    (files / "broken.json").write_text("{")
    argv = [command, files / "ok.png", "--legend", files / "broken.json"]
    if command == "repair":
        argv += ["-o", files / "fixed.png"]
    code, _, err = run(argv, capsys)
    assert code == 1 and "Traceback" not in err and "broken.json:1:2" in err
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 1 and json.loads(out)["problems"][0]["code"] == "bad_legend_file"
    argv[3] = files / "missing.json"
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 2 and json.loads(out)["problems"][0]["code"] == "legend_unreadable"


def test_check_size_mismatch_and_limit(files, capsys):
    Image.new("RGB", (31, 20)).save(files / "other.png")
    code, _, err = run(["check", files / "ok.png", "--legend", files / "legend.json", "--image",
                        files / "other.png"], capsys)
    assert code == 1 and "31 x 20" in err
    code, _, err = run(["check", files / "ok.png", "--legend", files / "legend.json",
                        "--max-megapixels", "0.0001"], capsys)
    assert code == 1 and "over the limit" in err


def test_encode_writes_mask_and_legend(files, capsys):
    idx = np.zeros((20, 30), np.uint8)
    idx[1:5, 1:5] = 1
    idx[6:9, 6:9] = 2
    Image.fromarray(idx).save(files / "idx.png")
    (files / "classes.txt").write_text("car\nperson\n")
    code, out, err = run(["encode", files / "idx.png", "--classes", files / "classes.txt", "-o",
                          files / "enc.png", "--legend-out", files / "enc.json"], capsys)
    assert code == 0, err
    assert "Wrote" in out and "16" in out and "9" in out
    code, out, err = run(["check", files / "enc.png", "--legend", files / "enc.json", "--json"], capsys)
    assert code == 0 and json.loads(out)["ok"]


def test_encode_refusals(files, capsys):
    idx = np.zeros((20, 30), np.uint8)
    idx[3, 4] = 5
    np.save(files / "idx.npy", idx)
    (files / "classes.txt").write_text("car\n")
    code, _, err = run(["encode", files / "idx.npy", "--classes", files / "classes.txt", "-o",
                        files / "e.png", "--legend-out", files / "e.json"], capsys)
    assert code == 1 and "5 (1 pixel, first at x=4, y=3)" in err
    code, _, err = run(["encode", files / "idx.npy", "--classes", files / "nope.txt", "-o",
                        files / "e.png", "--legend-out", files / "e.json"], capsys)
    assert code == 2 and "does not exist" in err
    code, _, err = run(["encode", files / "idx.npy", "--classes", files / "classes.txt", "-o",
                        files / "e.jpg", "--legend-out", files / "e.json"], capsys)
    assert code == 2 and ".png" in err
    code, out, _ = run(["encode", files / "idx.npy", "--instance-of", "Car", "-o", files / "e.png",
                        "--legend-out", files / "e.json", "--json"], capsys)
    assert code == 0 and json.loads(out)["legend"][0]["name"] == "Car 5"


def test_repair_fixes_and_refuses_to_overwrite(files, capsys):
    a = np.asarray(Image.open(files / "ok.png")).copy()
    a[2, 12] = (255, 0, 0, 90)
    a[3, 12] = (250, 3, 0, 255)
    Image.fromarray(a).save(files / "soft.png")
    code, out, err = run(["repair", files / "soft.png", "--legend", files / "legend.json", "-o",
                          files / "fixed.png"], capsys)
    assert code == 0 and "every pixel is now valid" in out
    assert "snapped" in out and "made unlabelled" in out
    code, _, err = run(["repair", files / "soft.png", "--legend", files / "legend.json", "-o",
                        files / "soft.png"], capsys)
    assert code == 2 and "never overwrites" in err


def test_real_console_entry(files):
    proc = subprocess.run([sys.executable, "-m", "playment_submit.core.cli", "mask", "check", str(files / "bad.png"),
                           "--legend", str(files / "legend.json"), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["problems"][0]["code"] == "unknown_colour"
    proc = subprocess.run([sys.executable, "-m", "playment_submit.core.cli", "mask", "check", str(files / "nope.png"),
                           "--legend", str(files / "legend.json")], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "does not exist" in proc.stderr


def test_encode_classes_with_a_5001_digit_key_is_a_sentence(files, capsys):
    # int() of a 5,001-digit string raises "Exceeds the limit (4300 digits)": it used to escape as a traceback
    idx = np.zeros((20, 30), np.uint8)
    idx[3, 4] = 1
    np.save(files / "idx.npy", idx)
    key = "1" * 5001
    (files / "classes.json").write_text(json.dumps({"1": "car", key: "bus"}))
    (files / "classes.txt").write_text(f"1: car\n{key}: bus\n")
    for name, where in (("classes.json", "class index 111111...(5,001 digits)"),
                        ("classes.txt", "line 2 gives class index 111111...(5,001 digits)")):
        code, _, err = run(["encode", files / "idx.npy", "--classes", files / name, "-o", files / "e.png",
                            "--legend-out", files / "e.json"], capsys)
        assert code == 1, err
        assert where in err and "outside" in err and "Traceback" not in err, err
