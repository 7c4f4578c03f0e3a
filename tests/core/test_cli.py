"""The command line as a user runs it: real subprocesses, real sandbox, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources as ir
from pathlib import Path

import pytest

EXAMPLES = Path(str(ir.files("playment_submit.resources") / "examples"))


def run(args, env=None, timeout=60, **kw):
    # No connection settings from the developer's shell; the test's own config and data folders are kept,
    # so journals never land in the real ~/.local/share.
    keep = ("PLAYMENT_CONFIG_DIR", "PLAYMENT_DATA_DIR")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYMENT_") or k in keep}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "playment_submit.core.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, **kw)


def sandbox_env(sb):
    return {"PLAYMENT_BASE_URL": sb.base_url, "PLAYMENT_API_KEY": sb.api_key, "PLAYMENT_PROJECT_ID": sb.project_id,
            "PLAYMENT_WORKFLOW_ID": sb.workflow_id, "PLAYMENT_CONFIG_DIR": os.environ["PLAYMENT_CONFIG_DIR"]}


def test_readme_flow_sandbox_subcommand_then_submit(tmp_path):
    """What the README tells a newcomer: start `playment-submit sandbox`, submit the docs' example."""
    proc = subprocess.Popen([sys.executable, "-m", "playment_submit.core.cli", "sandbox", "--port", "0", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        env = {"PLAYMENT_BASE_URL": info["base_url"], "PLAYMENT_API_KEY": info["api_key"],
               "PLAYMENT_PROJECT_ID": info["project_id"], "PLAYMENT_CONFIG_DIR": str(tmp_path)}
        typo = run(["submit", str(EXAMPLES / "docs_example.json")], env)
        assert typo.returncode == 1
        assert "#fdffd34" in typo.stderr and "Traceback" not in typo.stderr
        ok = run(["submit", str(EXAMPLES / "docs_example_fixed.json"), "--json"], env)
        assert ok.returncode == 0, ok.stderr
        out = json.loads(ok.stdout)
        assert out["reference_id"] == "001" and out["status"] == "created" and out["job_id"]
        dup = run(["submit", str(EXAMPLES / "docs_example_fixed.json")], env)
        # The journal knows this reference: refused without a request, naming the job it became.
        assert dup.returncode == 1 and "already submitted" in dup.stderr and out["job_id"] in dup.stderr
        dup_json = json.loads(run(["submit", str(EXAMPLES / "docs_example_fixed.json"), "--json"], env).stdout)
        assert (dup_json["status"], dup_json["code"], dup_json["details"]["existing_job_id"]) == \
            ("error", "FS_0001", out["job_id"])
        assert dup_json["details"]["reference_id"] == "001" and dup_json["exit_code"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_submit_uses_workflow_from_environment(sandbox, tmp_path):
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"reference_id": "no-wf", "data": {"image_url": "https://cdn.example.com/a.png"}}))
    res = run(["submit", str(job), "--json"], sandbox_env(sandbox))
    assert res.returncode == 0, res.stderr
    assert sandbox.jobs()[0]["payload"]["work_flow_id"] == sandbox.workflow_id


@pytest.mark.parametrize("content,code,fragment", [
    ("{not json", 1, "not valid JSON"),
    ("[1, 2]", 1, "must be a JSON object"),
    ('{"reference_id": "a", "data": {"image_url": "ftp://x/y.png"}}', 1, "not https://"),
])
def test_submit_bad_files_exit_1_with_sentences(sandbox, tmp_path, content, code, fragment):
    job = tmp_path / "job.json"
    job.write_text(content)
    res = run(["submit", str(job)], sandbox_env(sandbox))
    assert res.returncode == code and fragment in res.stderr and "Traceback" not in res.stderr
    assert str(job) in res.stderr
    assert sandbox.job_count() == 0


def test_usage_and_environment_errors_exit_2(sandbox, tmp_path):
    missing = run(["submit", str(tmp_path / "absent.json")], sandbox_env(sandbox))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    env = sandbox_env(sandbox)
    del env["PLAYMENT_API_KEY"]
    nokey = run(["submit", str(EXAMPLES / "docs_example_fixed.json")], env)
    assert nokey.returncode == 2 and "No API key" in nokey.stderr
    env = sandbox_env(sandbox) | {"PLAYMENT_BASE_URL": "http://127.0.0.1:9"}
    down = run(["batch", "create", "b"], env)
    assert down.returncode == 2 and "Could not reach" in down.stderr
    bad_usage = run(["submit"])
    assert bad_usage.returncode == 2 and "usage:" in bad_usage.stderr
    for res in (missing, nokey, down, bad_usage):
        assert "Traceback" not in res.stderr


def test_key_rejected_exits_1(sandbox):
    res = run(["submit", str(EXAMPLES / "docs_example_fixed.json")], sandbox_env(sandbox) | {"PLAYMENT_API_KEY": "x"})
    assert res.returncode == 1 and "rejected the API key" in res.stderr


def test_batch_create_json(sandbox):
    res = run(["batch", "create", "night drive", "--description", "d", "--json"], sandbox_env(sandbox))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["status"] == "created" and out["name"] == "night drive"
    again = run(["batch", "create", "night drive", "--json"], sandbox_env(sandbox))
    assert again.returncode == 1 and json.loads(again.stdout)["code"] == "BATCH_CREATION"


def test_help_is_true_to_the_commands():
    res = run(["--help"])
    assert res.returncode == 0
    for word in ("submit", "batch", "sandbox", "PLAYMENT_API_KEY", "exit status"):
        assert word in res.stdout
    sub = run(["submit", "--help"])
    assert "--json" in sub.stdout and "--project-id" in sub.stdout


def test_no_display_gives_a_sentence_not_a_crash(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "PLAYMENT_CONFIG_DIR": str(tmp_path), "HOME": str(tmp_path)}
    res = subprocess.run([sys.executable, "-m", "playment_submit.gui.launch"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert res.returncode == 2 and "no display" in res.stderr and "Traceback" not in res.stderr
