"""Sandbox storage is never mispaired (issue 23 items 1, 2): it is the sandbox's own /files/, derived from the
base URL the jobs go to, and only when that API is a local sandbox. Any other pairing is refused in core before
anything is uploaded or sent, with a sentence saying which storage to choose; a bad profile never raises at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from playment_submit.core.errors import UsageError
from playment_submit.core.journal import Journal
from playment_submit.core.session import Session
from playment_submit.core.settings import Profile, save_profiles
from playment_submit.core.storage import (
    NoStorage,
    SandboxStorage,
    is_sandbox_api,
    storage_for_api,
    storage_mispaired,
)
from playment_submit.resources import sample_job_files

REMOTE = "https://api.example.invalid/v1"


def test_sandbox_storage_only_for_a_local_sandbox_api():
    assert is_sandbox_api("http://127.0.0.1:5000/v1")
    assert not is_sandbox_api(REMOTE)
    assert not is_sandbox_api("https://127.0.0.1:5000")  # the sandbox serves plain http only
    assert not is_sandbox_api("ht!tp:// not a url")
    with pytest.raises(UsageError, match="choose S3 storage"):
        storage_for_api({"kind": "sandbox"}, REMOTE, "k")
    own = storage_for_api({"kind": "sandbox"}, "http://127.0.0.1:5000/", "k")
    assert isinstance(own, SandboxStorage) and own.base_url == "http://127.0.0.1:5000"
    assert storage_mispaired(own, "http://127.0.0.1:5000") is None
    assert "cannot read" in (storage_mispaired(own, "http://127.0.0.1:6000") or "")
    assert "choose S3 storage" in (storage_mispaired(own, REMOTE) or "")
    assert storage_mispaired(NoStorage(), REMOTE) is None


def test_a_profile_with_sandbox_storage_and_another_url_opens_and_refuses_with_a_sentence(monkeypatch):
    save_profiles({"other": Profile("other", REMOTE, "p1", "w1", storage={"kind": "sandbox"})}, current="other")
    monkeypatch.setenv("PLAYMENT_API_KEY", "a-key")
    session = Session.from_settings()  # raised UsageError before: the app did not start
    try:
        assert isinstance(session.storage, NoStorage)
        assert "choose S3 storage" in (session.storage_refusal() or "")
        spec = session.resolve(_sample_spec())
        verdict = session.check(spec)
        assert any(p.code == "STORAGE_UNUSABLE" for p in verdict.problems)
        with pytest.raises(UsageError, match="choose S3 storage"):
            session.submit(spec)
    finally:
        session.close()


def test_switching_the_embedded_sandbox_session_to_another_url_never_uploads_to_the_sandbox(sandbox, tmp_path):
    session = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    try:
        assert session.storage_refusal() is None
        session.apply_connection(REMOTE, "p1", "w1", "a-key")  # the Connection tab pointed it elsewhere
        assert not isinstance(session.storage, SandboxStorage)
        assert "choose S3 storage" in (session.storage_refusal() or "")
        spec = session.resolve(_sample_spec())
        assert any(p.code == "STORAGE_UNUSABLE" for p in session.check(spec).problems)
        with pytest.raises(UsageError):
            session.submit(spec)
        session.apply_connection(sandbox.base_url, sandbox.project_id, sandbox.workflow_id, sandbox.api_key)
        assert session.storage_refusal() is None and isinstance(session.storage, SandboxStorage)
    finally:
        session.sandbox = None  # the fixture stops it
        session.close()


def test_the_command_line_refuses_sandbox_storage_for_a_remote_api_with_exit_2(tmp_path):
    job = tmp_path / "job.json"
    files = sample_job_files()
    job.write_text(json.dumps({"reference_id": "r1", "work_flow_id": "0c6b1e2a-1f0d-4c8e-9a3b-5d7e9f1a2b3c",
                                "data": {"image_url": str(files["primary"])}}))
    env = {**os.environ, "PLAYMENT_API_KEY": "a-key", "PLAYMENT_BASE_URL": REMOTE,
           "PLAYMENT_PROJECT_ID": "p1", "PLAYMENT_WORKFLOW_ID": "0c6b1e2a-1f0d-4c8e-9a3b-5d7e9f1a2b3c"}
    out = subprocess.run([sys.executable, "-m", "playment_submit.core.cli", "submit", str(job), "--upload-to",
                          "sandbox"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "choose S3 storage" in out.stderr and "Traceback" not in out.stderr


def _sample_spec():
    from playment_submit.core.job import JobSpec
    return JobSpec("pairing-1", "0c6b1e2a-1f0d-4c8e-9a3b-5d7e9f1a2b3c", str(Path(sample_job_files()["primary"])))


def _bulk_manifest(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.csv"
    path.write_text(f"reference_id,image\nlocal-1,{sample_job_files()['primary']}\n"
                    f"url-1,https://cdn.example.com/frame-1.jpg\n", encoding="utf-8")
    return path


def test_a_bulk_run_is_refused_once_with_the_storage_sentence_as_the_window_s_submit_is(sandbox, tmp_path):
    from playment_submit.core.bulk_run import BulkOptions, BulkRun
    session = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    try:
        session.apply_connection(REMOTE, "p1", "w1", "a-key")  # the profile now points elsewhere
        refusal = session.storage_refusal()
        assert refusal and "choose S3 storage" in refusal
        run = BulkRun(session, _bulk_manifest(tmp_path), BulkOptions(valid_only=True))
        run.open(ask_server=False)
        assert run.blocked() == f"Nothing was sent. {refusal}"  # even with valid_only: the window refuses too
        assert refusal in run.check_summary()
        session.apply_connection(sandbox.base_url, sandbox.project_id, sandbox.workflow_id, sandbox.api_key)
        run = BulkRun(session, _bulk_manifest(tmp_path))
        run.open(ask_server=False)
        assert run.blocked() is None
        summary = run.send()
        assert summary.ok and sandbox.job_count() == 2  # the same rows go once the storage is the sandbox's own
    finally:
        session.sandbox = None  # the fixture stops it
        session.close()


def test_bulk_on_the_command_line_refuses_a_profile_whose_storage_cannot_serve_its_api_with_exit_2(tmp_path):
    save_profiles({"other": Profile("other", REMOTE, "p1", "0c6b1e2a-1f0d-4c8e-9a3b-5d7e9f1a2b3c",
                                    storage={"kind": "sandbox"})}, current="other")
    env = {**os.environ, "PLAYMENT_API_KEY": "a-key"}
    for extra in ([], ["--dry-run"]):
        out = subprocess.run([sys.executable, "-m", "playment_submit.core.cli", "bulk", str(_bulk_manifest(tmp_path)),
                              *extra], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 2, out.stderr
        assert out.stderr.count("choose S3 storage") == 1 and "Traceback" not in out.stderr, out.stderr
        assert "local-1" not in out.stderr  # refused before any row is read: no row error repeats it
