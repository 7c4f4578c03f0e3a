"""The command line's one edge (core/cli/edge.py): every subcommand's failure, with --json, is the same
object on stdout (one line), its sentence on stderr, and the exit status the README gives: 1 when the input
or the server said no, 2 for usage or environment."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from playment_submit.core.cli import main
from playment_submit.core.cli.edge import FAILURE_KEYS, INTERRUPTED, REFUSED, USAGE
from playment_submit.core.errors import (
    AuthError,
    ConnectionFailedError,
    OutOfMemoryError,
    StoppedError,
    UsageError,
    ValidationError,
)


@pytest.fixture
def files(tmp_path):
    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[1:3, 1:4] = (255, 0, 0, 255)
    Image.fromarray(rgba).save(tmp_path / "mask.png")
    (tmp_path / "legend.json").write_text('{"#ff0000": "car"}')
    Image.new("RGB", (4, 4)).save(tmp_path / "city_gtFine_color.png")
    (tmp_path / "invalid.json").write_text(json.dumps({"reference_id": "r1", "data": {"image_url": "ftp://x"}}))
    (tmp_path / "a file").write_text("x")
    return tmp_path


def _connect(monkeypatch, sandbox, key=None):
    for name, value in {"PLAYMENT_BASE_URL": sandbox.base_url, "PLAYMENT_API_KEY": key or sandbox.api_key,
                        "PLAYMENT_PROJECT_ID": sandbox.project_id,
                        "PLAYMENT_WORKFLOW_ID": sandbox.workflow_id}.items():
        monkeypatch.setenv(name, value)


# (id, argv with {d} for the test's folder, connection: None / "sandbox" / "bad key", expected exit status)
FAILURES = [
    ("submit-missing-file", ["submit", "{d}/absent.json"], None, 2),
    ("submit-invalid-job", ["submit", "{d}/invalid.json"], "sandbox", 1),
    ("batch-create-refused-key", ["batch", "create", "night"], "bad key", 1),
    ("batch-list-no-configuration", ["batch", "list"], None, 2),
    ("status-no-configuration", ["status"], None, 2),
    ("results-output-is-a-file", ["results", "-o", "{d}/a file"], "sandbox", 2),
    ("bulk-missing-manifest", ["bulk", "{d}/absent.csv"], "sandbox", 2),
    ("sandbox-store-is-a-folder", ["sandbox", "--port", "0", "--store", "{d}"], None, 2),
    ("mask-check-missing-mask", ["mask", "check", "{d}/absent.png", "--legend", "{d}/legend.json"], None, 2),
    ("mask-encode-missing-index", ["mask", "encode", "{d}/absent.png", "--classes", "{d}/legend.json", "-o",
                                   "{d}/o.png", "--legend-out", "{d}/o.json"], None, 2),
    ("mask-repair-missing-legend", ["mask", "repair", "{d}/mask.png", "--legend", "{d}/absent.json", "-o",
                                    "{d}/o.png"], None, 2),
    ("mask-import-colour-png", ["mask", "import", "{d}/city_gtFine_color.png", "-o", "{d}/o.png",
                                "--legend-out", "{d}/o.json"], None, 1),
    ("mask-import-missing-source", ["mask", "import", "{d}/absent.png", "-o", "{d}/o.png",
                                    "--legend-out", "{d}/o.json"], None, 2),
]


@pytest.mark.parametrize("argv, connection, expected", [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
def test_every_subcommand_fails_with_the_one_json_shape(argv, connection, expected, files, sandbox, monkeypatch,
                                                       capsys):
    if connection is not None:
        _connect(monkeypatch, sandbox, key="wrong-key" if connection == "bad key" else None)
    capsys.readouterr()
    code = main([a.format(d=files) for a in argv] + ["--json"])
    out, err = capsys.readouterr()
    assert code == expected, (code, err)
    lines = out.splitlines()
    assert len(lines) == 1, out  # one object, one line, nothing else on stdout
    d = json.loads(lines[0])
    assert tuple(d) == FAILURE_KEYS
    assert d["ok"] is False and d["status"] == "error" and d["exit_code"] == code
    assert isinstance(d["error"], str) and d["error"] and isinstance(d["message"], str) and d["message"]
    assert isinstance(d["details"], dict) and isinstance(d["problems"], list)
    for p in d["problems"]:
        assert {"path", "message", "severity", "code"} <= set(p)
    assert err.strip() and "Traceback" not in err  # the sentence is said to a human too
    assert err.splitlines()[0].startswith("error: ")


def test_the_human_lines_are_the_same_without_json(files, capsys):
    argv = ["mask", "check", str(files / "absent.png"), "--legend", str(files / "legend.json")]
    assert main(argv) == 2
    plain = capsys.readouterr()
    assert main([*argv, "--json"]) == 2
    with_json = capsys.readouterr()
    assert plain.out == "" and plain.err == with_json.err and "does not exist" in plain.err


def test_a_refused_job_names_its_file_problem_by_problem_then_sums_up(files, sandbox, monkeypatch, capsys):
    _connect(monkeypatch, sandbox)
    assert main(["submit", str(files / "invalid.json"), "--json"]) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"error: {files / 'invalid.json'}: ") and "ftp://x" in lines[0]
    assert lines[-1] == f"Not submitted: {len(lines) - 1} problem{'s' if len(lines) != 2 else ''} in " \
                        f"{files / 'invalid.json'}."
    d = json.loads(out)
    assert d["error"] == "ValidationError" and d["details"]["reference_id"] == "r1" and d["problems"]


def test_a_server_refusal_carries_the_servers_words_in_details(sandbox, monkeypatch, capsys):
    _connect(monkeypatch, sandbox, key="wrong-key")
    assert main(["batch", "create", "night", "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["error"] == "AuthError" and d["details"]["name"] == "night" and d["details"]["http_status"] == 401


@pytest.mark.parametrize("exc, code, words", [
    (KeyboardInterrupt(), INTERRUPTED, "Interrupted."),
    (MemoryError(), REFUSED, "not enough memory"),
    (FileNotFoundError(2, "No such file or directory", "/gone/x"), USAGE, "/gone/x: No such file or directory"),
    (UsageError("a usage sentence."), USAGE, "a usage sentence."),
    (OutOfMemoryError("x.png: too big."), REFUSED, "x.png: too big."),
    (ValidationError([], "no problems listed."), REFUSED, "no problems listed."),
    (StoppedError("stopped because the key was refused.", AuthError(status=401)), REFUSED, "stopped because"),
    (StoppedError("stopped because Playment is unreachable.", ConnectionFailedError()), USAGE, "unreachable"),
])
def test_exceptions_that_are_not_ours_become_a_sentence_and_a_status(exc, code, words, capsys):
    import argparse

    from playment_submit.core.cli import edge

    def boom(args):
        raise exc

    args = argparse.Namespace(json=True, func=boom)
    assert edge.run(args) == code
    out, err = capsys.readouterr()
    assert words in err and json.loads(out)["exit_code"] == code and words in json.loads(out)["message"]
    assert (INTERRUPTED, REFUSED, USAGE) == (130, 1, 2)  # the README's numbers


@pytest.mark.parametrize("case", ["order-file-names-no-mask", "classes-not-json", "classes-not-utf8"])
def test_a_readable_file_with_bad_content_is_exit_1_and_a_missing_one_exit_2(case, tmp_path, capsys):
    """The README's line between 1 and 2: a file that reads but says the wrong thing is a refused input; a
    path that cannot be read is a usage error."""
    out = ["-o", str(tmp_path / "o.png"), "--legend-out", str(tmp_path / "o.json")]
    if case == "order-file-names-no-mask":
        folder = tmp_path / "masks"
        folder.mkdir()
        Image.fromarray(np.full((4, 4), 255, np.uint8)).save(folder / "car.png")
        (tmp_path / "order.txt").write_text("car\nbus\n")
        argv = ["mask", "import", str(folder), "--from", "binary", "--order", str(tmp_path / "order.txt"), *out]
        bad, missing = tmp_path / "order.txt", tmp_path / "absent.txt"
    else:
        Image.fromarray(np.ones((4, 4), np.uint8)).save(tmp_path / "index.png")
        classes = tmp_path / "classes.json"
        classes.write_bytes(b"{" if case == "classes-not-json" else b"\xff\xfe car")
        argv = ["mask", "import", str(tmp_path / "index.png"), "--from", "index", "--classes", str(classes), *out]
        bad, missing = classes, tmp_path / "absent.json"
    assert main(argv) == 1, capsys.readouterr().err
    assert str(bad) in capsys.readouterr().err
    assert main([str(missing) if a == str(bad) else a for a in argv]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_help_and_the_readme_name_the_one_shape():
    """--help's epilog and the README say the failure object's keys as the edge writes them."""
    from pathlib import Path

    from playment_submit.core.cli.common import EPILOG

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for text in (" ".join(EPILOG.split()), " ".join(readme.split())):
        assert '"ok": false, "status": "error", ' + ", ".join(f'"{k}"' for k in FAILURE_KEYS[2:]) in text
        assert "130 interrupted" in text


def test_problems_a_command_already_printed_are_not_said_twice(capsys):
    """bulk prints each row's error as it checks the manifest; stopping, it hands the edge the problems for
    --json and only its closing sentence for the human."""
    import argparse

    from playment_submit.core.cli import edge
    from playment_submit.core.errors import Problem

    def stop(args):
        raise ValidationError([Problem("m.csv", "the header has no reference_id column.")],
                              "Nothing was sent: the manifest has errors.",
                              summary="Nothing was sent: the manifest has errors.", already_said=True)

    assert edge.run(argparse.Namespace(json=True, func=stop)) == REFUSED
    out, err = capsys.readouterr()
    assert err == "Nothing was sent: the manifest has errors.\n"
    assert json.loads(out)["problems"][0]["path"] == "m.csv"
