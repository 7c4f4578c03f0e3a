"""Project details: every batch listed (also those made outside the tool), the default batch discovered and
cached, so an interrupted send is reconciled with no --default-batch-id."""

from __future__ import annotations

import json

import requests

from playment_submit.core.cli import main
from playment_submit.core.client import PlaymentClient
from playment_submit.core.session import from_options
from playment_submit.core.settings import Profile, load_profiles, save_profiles


def _env(monkeypatch, sb, *, default_batch=False):
    monkeypatch.setenv("PLAYMENT_BASE_URL", sb.base_url)
    monkeypatch.setenv("PLAYMENT_API_KEY", sb.api_key)
    monkeypatch.setenv("PLAYMENT_PROJECT_ID", sb.project_id)
    monkeypatch.setenv("PLAYMENT_WORKFLOW_ID", sb.workflow_id)
    if default_batch:
        monkeypatch.setenv("PLAYMENT_DEFAULT_BATCH_ID", sb.default_batch_id)


def test_batch_list_shows_a_batch_made_outside_the_tool(sandbox, monkeypatch, capsys):
    made = requests.post(f"{sandbox.base_url}/v1/projects/{sandbox.project_id}/batch",
                         json={"name": "Made <elsewhere>"}, headers={"x-api-key": sandbox.api_key}, timeout=10)
    batch_id = made.json()["data"]["batch_id"]
    _env(monkeypatch, sandbox)
    assert main(["batch", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_id = {r["batch_id"]: r for r in rows}
    assert by_id[batch_id]["name"] == "Made <elsewhere>" and by_id[batch_id]["is_default"] is False
    assert by_id[sandbox.default_batch_id]["is_default"] is True
    assert by_id[batch_id]["total_jobs"] == 0 and by_id[batch_id]["completed_jobs"] == 0
    assert main(["batch", "list"]) == 0
    text = capsys.readouterr().out
    assert "Made <elsewhere>" in text and "0 / 0" in text and "(default)" in text


def test_interrupted_send_recovered_without_default_batch_flag(sandbox):
    job = {"reference_id": "crash-1", "work_flow_id": sandbox.workflow_id,
           "data": {"image_url": "https://example.com/a.jpg"}}
    # The earlier run sent the job and died before hearing the answer: the job exists, the journal says "sending".
    first = requests.post(f"{sandbox.base_url}/v1/projects/{sandbox.project_id}/jobs", json=job,
                          headers={"x-api-key": sandbox.api_key}, timeout=10).json()["data"]["job_id"]
    learnt = []
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key, on_default_batch=learnt.append) as c:
        assert c.default_batch_id is None
        got = c.create_job(job, prior_attempt_ambiguous=True)
    assert got.recovered and got.job_id == first
    assert learnt == [sandbox.default_batch_id]
    assert sandbox.stats().get("GET details") == 1


def test_session_caches_discovered_default_batch_in_the_profile(sandbox, memory_keyring):
    save_profiles({"work": Profile(name="work", base_url=sandbox.base_url, project_id=sandbox.project_id,
                                   workflow_id=sandbox.workflow_id)}, "work")
    memory_keyring.set_password("playment-submit", "work", sandbox.api_key)
    s = from_options(profile="work", with_journal=False)
    s.api_key = sandbox.api_key
    try:
        assert s.default_batch_id is None
        details = s.project_details()
        assert details.default_batch is not None
        assert s.default_batch_id == sandbox.default_batch_id
    finally:
        s.close()
    profiles, _ = load_profiles()
    assert sandbox.default_batch_id in profiles["work"].known_default_batches.values()
    again = from_options(profile="work", with_journal=False, need_key=False)
    assert again.default_batch_id == sandbox.default_batch_id  # next run: no request, no flag
    again.close()


def test_explicit_default_batch_still_wins(sandbox):
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key, default_batch_id="x" * 8) as c:
        assert c.known_default_batch() == "x" * 8
    assert "GET details" not in sandbox.stats()
