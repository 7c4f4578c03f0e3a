"""Every option value is checked while the command line is parsed, before any request or file write:
a bad one exits 2 with one sentence naming the option (argparse's "argument --name: ..."), no traceback."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from playment_submit.core.cli import build_parser, main
from playment_submit.core.cli.common import session_from_args
from playment_submit.core.cli.sandbox import store_problem
from playment_submit.core.client import DEFAULT_TIMEOUT, give_up_after
from playment_submit.core.journal import Journal
from tests.hostile import HostileServer

WF = "2aae1234-acac-1234-eeff-12a22a237bbc"


def refused(argv, capsys) -> str:
    """Run ``argv``; it must stop while parsing (SystemExit 2); the sentence argparse printed."""
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    assert e.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err and "usage:" in err
    return err


@pytest.fixture
def files(tmp_path):
    (tmp_path / "job.json").write_text(json.dumps({"reference_id": "r", "data": {"image_url": "https://x.io/a.png"}}))
    (tmp_path / "m.csv").write_text("reference_id,image\nr,https://x.io/a.png\n")
    (tmp_path / "mask.png").write_bytes(b"")
    (tmp_path / "legend.json").write_text('{"#ff0000": "car"}')
    return tmp_path


def commands(files):
    """One command line per subcommand that talks to the API."""
    return {"submit": ["submit", files / "job.json"], "batch": ["batch", "create", "night"],
            "bulk": ["bulk", files / "m.csv"]}


# ------------------------------------------------------------------ --timeout
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "601", "soon", "1e999"])
@pytest.mark.parametrize("command", ["submit", "batch", "bulk"])
def test_timeout_is_checked_on_every_command_that_talks_to_the_api(files, capsys, command, value):
    err = refused([*commands(files)[command], "--timeout", value], capsys)
    assert "argument --timeout: must be a number of seconds greater than 0 and at most 600" in err


def test_timeout_reaches_the_client(files, monkeypatch):
    monkeypatch.setenv("PLAYMENT_API_KEY", "k")
    monkeypatch.setenv("PLAYMENT_PROJECT_ID", "p")
    for argv in (["batch", "create", "b"], ["bulk", str(files / "m.csv")], ["submit", str(files / "job.json")]):
        args = build_parser().parse_args([*argv, "--timeout", "7.5"])
        session = session_from_args(args, with_journal=False)
        try:
            assert session.timeout == 7.5 and session.client.timeout == 7.5
            assert session.make_client(2).timeout == 7.5
        finally:
            session.close()
        args = build_parser().parse_args(argv)
        assert args.timeout == DEFAULT_TIMEOUT


def test_a_silent_server_is_given_up_on_after_the_timeout(monkeypatch, capsys):
    with HostileServer(lambda server, conn, req: time.sleep(20)) as silent:
        monkeypatch.setenv("PLAYMENT_BASE_URL", silent.base_url)
        monkeypatch.setenv("PLAYMENT_API_KEY", "k")
        monkeypatch.setenv("PLAYMENT_PROJECT_ID", "p")
        start = time.monotonic()
        code = main(["batch", "create", "b", "--timeout", "0.5", "--json"])
        elapsed = time.monotonic() - start
    assert code == 2 and elapsed < give_up_after(0.5) + 3
    out = json.loads(capsys.readouterr().out)
    assert (out["status"], out["exit_code"], out["details"]["name"]) == ("error", 2, "b")  # the edge's one shape


@pytest.mark.parametrize("argv", [["submit", "--help"], ["batch", "create", "--help"], ["bulk", "--help"]])
def test_help_says_how_long_a_job_can_take(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    text = " ".join(capsys.readouterr().out.split())
    assert (f"a job gives up after at most 5 attempts of --timeout, the waits between them and one more --timeout "
            f"to look up an unknown outcome ({give_up_after(DEFAULT_TIMEOUT):g} s by default)") in text


# ------------------------------------------------------------------ the other values
@pytest.mark.parametrize(("argv", "words"), [
    (["mask", "check", "{mask}", "--legend", "{legend}", "--max-megapixels", "inf"], "--max-megapixels: must be"),
    (["mask", "check", "{mask}", "--legend", "{legend}", "--max-megapixels", "nan"], "--max-megapixels: must be"),
    (["mask", "check", "{mask}", "--legend", "{legend}", "--max-megapixels", "-3"], "--max-megapixels: must be"),
    (["mask", "repair", "{mask}", "--legend", "{legend}", "-o", "{out}", "--max-megapixels", "1e309"],
     "--max-megapixels: must be"),
    (["mask", "repair", "{mask}", "--legend", "{legend}", "-o", "{out}", "--tolerance", "inf"], "--tolerance: must"),
    (["mask", "repair", "{mask}", "--legend", "{legend}", "-o", "{out}", "--alpha-threshold", "0"],
     "--alpha-threshold: must be a whole number from 1 to 255"),
    (["sandbox", "--port", "99999"], "--port: must be a port number from 0 to 65535"),
    (["sandbox", "--port", "-1"], "--port: must be a port number from 0 to 65535"),
    (["sandbox", "--latency-ms", "-5"], "--latency-ms: must be a number of milliseconds from 0"),
    (["sandbox", "--fault-rate", "2"], "--fault-rate: must be a probability from 0 to 1"),
    (["sandbox", "--drop-after", "1.5"], "--drop-after: must be a probability from 0 to 1"),
    (["sandbox", "--html-500", "-0.1"], "--html-500: must be a probability from 0 to 1"),
    (["sandbox", "--retry-after", "nan"], "--retry-after: must be"),
    (["sandbox", "--host", "0.0.0.0"], "loopback address"),
    (["sandbox", "--api-key", "has space"], "--api-key: the API key must be"),
    (["submit", "{job}", "--s3-endpoint-url", "not a url"], "--s3-endpoint-url: The S3 endpoint URL \"not a url\""),
    (["submit", "{job}", "--presign-expiry", "0"], "--presign-expiry: must be a whole number of seconds from 1"),
    (["bulk", "{csv}", "--presign-expiry", "604801"], "--presign-expiry: must be a whole number of seconds from 1"),
    (["bulk", "{csv}", "--concurrency", "0"], "--concurrency: must be a whole number of requests from 1 to 256"),
    (["bulk", "{csv}", "--concurrency", "1000"], "--concurrency: must be a whole number of requests from 1 to 256"),
    (["bulk", "{csv}", "--concurrency", "two"], "--concurrency: must be a whole number"),
    (["bulk", "{csv}", "--rate", "0"], "--rate: must be a number of jobs per second"),
    (["bulk", "{csv}", "--rate", "inf"], "--rate: must be a number of jobs per second"),
    (["bulk", "{csv}", "--rate", "-2"], "--rate: must be a number of jobs per second"),
    (["bulk", "{csv}", "--base-url", "http://localhost:99999"], "port that is not a number from 1 to 65535"),
    (["batch", "create", "b", "--base-url", "ftp://api.example.com"], "is not an http(s) URL"),
    (["submit", "{job}", "--base-url", "http://api.example.com"], "uses plain http"),
    (["submit", "{job}", "--workflow-id", "not-a-uuid"], "--workflow-id: the workflow ID \"not-a-uuid\" is not a UUID"),
    (["bulk", "{csv}", "--default-batch-id", "x"], "--default-batch-id: the default batch ID \"x\" is not a UUID"),
    (["submit", "{job}", "--project-id", "../../other"], "--project-id: the project ID"),
    (["submit", "{job}", "--upload-to", "s3://Bad_Bucket/x"], "is not a valid bucket name"),
])
def test_bad_option_values_are_refused_while_parsing(files, capsys, argv, words):
    paths = {"mask": files / "mask.png", "legend": files / "legend.json", "out": files / "out.png",
             "job": files / "job.json", "csv": files / "m.csv"}
    err = refused([a.format(**paths) for a in argv], capsys)
    assert words in err


def test_a_base_url_with_a_password_is_refused_without_echoing_it(files, capsys):
    err = refused(["submit", files / "job.json", "--base-url", "https://bob:hunter2-secret@api.example.com"], capsys)
    assert "user name or password" in err and "hunter2-secret" not in err


def test_fault_probabilities_adding_up_to_more_than_one_are_refused(capsys):
    code = main(["sandbox", "--port", "0", "--html-500", "0.6", "--drop-after", "0.6"])
    err = capsys.readouterr().err
    assert code == 2 and "add up to 1.2" in err and "--html-500 0.6" in err and "Traceback" not in err


def test_sandbox_store_must_be_a_sqlite_file_in_an_existing_folder(tmp_path, capsys):
    assert main(["sandbox", "--port", "0", "--store", str(tmp_path / "missing" / "s.sqlite")]) == 2
    assert "the folder" in capsys.readouterr().err
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 10)
    assert main(["sandbox", "--port", "0", "--store", str(text)]) == 2
    assert "is not a SQLite database" in capsys.readouterr().err
    assert text.read_text() == "not a database\n" * 10
    journal = Journal(tmp_path / "j.sqlite")
    journal.close()
    assert main(["sandbox", "--port", "0", "--store", str(tmp_path / "j.sqlite")]) == 2
    assert "another program's data" in capsys.readouterr().err
    assert main(["sandbox", "--port", "0", "--store", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    (tmp_path / "files").write_text("x")
    assert main(["sandbox", "--port", "0", "--files-dir", str(tmp_path / "files")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    # What can be a store: a new file, an empty one, an earlier sandbox store.
    assert store_problem(str(tmp_path / "new.sqlite")) is None
    (tmp_path / "empty.sqlite").write_bytes(b"")
    assert store_problem(str(tmp_path / "empty.sqlite")) is None
    db = sqlite3.connect(tmp_path / "old.sqlite")
    db.execute("CREATE TABLE jobs (x)")
    db.close()
    assert store_problem(str(tmp_path / "old.sqlite")) is None


def test_a_bad_stored_base_url_is_said_before_anything_is_written(files, monkeypatch, capsys):
    monkeypatch.setenv("PLAYMENT_BASE_URL", "https://user:pw-in-env@api.example.com")
    monkeypatch.setenv("PLAYMENT_API_KEY", "k")
    monkeypatch.setenv("PLAYMENT_PROJECT_ID", "p")
    assert main(["bulk", str(files / "m.csv"), "--write-manifest", str(files / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert "user name or password" in err and "pw-in-env" not in err
    assert not (files / "out.csv").exists() and not (files / "m.csv.journal.sqlite").exists()


# ------------------------------------------------------------------ --json for early failures
def _one_json(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def test_json_early_failures_are_one_object_on_stdout(files, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PLAYMENT_API_KEY", "k")
    monkeypatch.setenv("PLAYMENT_PROJECT_ID", "p")
    # a usage error raised inside the subcommand
    assert main(["submit", str(tmp_path / "absent.json"), "--json"]) == 2
    out = _one_json(capsys.readouterr().out)
    assert out["status"] == "error" and out["exit_code"] == 2 and "does not exist" in out["message"]
    assert out["problems"] == [] and "code" in out
    # rejected input
    (tmp_path / "bad.json").write_text('{"reference_id": "a", "reference_id": "b"}')
    assert main(["submit", str(tmp_path / "bad.json"), "--json"]) == 1
    out = _one_json(capsys.readouterr().out)
    assert out["status"] == "error" and out["exit_code"] == 1
    assert '"reference_id" twice' in out["problems"][0]["message"]
    # bulk: a manifest that is not there, an output that cannot be written
    assert main(["bulk", str(tmp_path / "absent.csv"), "--json"]) == 2
    assert "does not exist" in _one_json(capsys.readouterr().out)["message"]
    assert main(["bulk", str(files / "m.csv"), "--results", str(files / "m.csv"), "--json"]) == 2
    assert "never overwrites" in _one_json(capsys.readouterr().out)["message"]
    # no API key
    monkeypatch.delenv("PLAYMENT_API_KEY")
    assert main(["batch", "create", "b", "--json"]) == 2
    assert "No API key" in _one_json(capsys.readouterr().out)["message"]


def test_json_server_refusals_are_one_object_too(sandbox, files, monkeypatch, capsys):
    monkeypatch.setenv("PLAYMENT_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("PLAYMENT_API_KEY", "wrong-key")
    monkeypatch.setenv("PLAYMENT_PROJECT_ID", sandbox.project_id)
    monkeypatch.setenv("PLAYMENT_WORKFLOW_ID", WF)
    assert main(["bulk", str(files / "m.csv"), "--json"]) == 1
    out = _one_json(capsys.readouterr().out)
    assert out["status"] == "error" and out["exit_code"] == 1 and "Nothing was sent" in out["message"]
