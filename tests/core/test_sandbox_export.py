"""The sandbox's start-up line and its request handler's wiring (one module-level class, state per server)."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest
import requests

from playment_submit.core.sandbox import SandboxRequestHandler, SandboxServer
from playment_submit.core.settings import resolve_connection

NAMES = ["PLAYMENT_BASE_URL", "PLAYMENT_API_KEY", "PLAYMENT_PROJECT_ID", "PLAYMENT_WORKFLOW_ID",
         "PLAYMENT_DEFAULT_BATCH_ID"]


def parse(line: str) -> dict[str, str]:
    words = shlex.split(line)
    assert words[0] == "export"
    return dict(w.split("=", 1) for w in words[1:])


def test_export_line_names_every_setting_in_order(sandbox):
    line = sandbox.export_line()
    env = parse(line)
    assert list(env) == NAMES
    assert env == {"PLAYMENT_BASE_URL": sandbox.base_url, "PLAYMENT_API_KEY": sandbox.api_key,
                   "PLAYMENT_PROJECT_ID": sandbox.project_id, "PLAYMENT_WORKFLOW_ID": sandbox.workflow_id,
                   "PLAYMENT_DEFAULT_BATCH_ID": sandbox.default_batch_id}
    assert line == "export " + " ".join(f"{k}={v}" for k, v in env.items())  # plain values stay unquoted


def test_export_line_is_what_resolve_connection_reads(sandbox, memory_keyring):
    conn = resolve_connection(env=parse(sandbox.export_line()))
    assert (conn.base_url, conn.project_id, conn.workflow_id, conn.default_batch_id, conn.api_key) == (
        sandbox.base_url, sandbox.project_id, sandbox.workflow_id, sandbox.default_batch_id, sandbox.api_key)
    assert conn.key_source == "environment"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_export_line_survives_a_shell_with_awkward_values():
    with SandboxServer(project_id="my project's $HOME", api_key="k;rm -rf x") as sb:
        line = sb.export_line()
        out = subprocess.run(["bash", "-c", line + '; printf "%s\\n" "$PLAYMENT_PROJECT_ID" "$PLAYMENT_API_KEY"'],
                             capture_output=True, text=True, timeout=10, env={"PATH": "/usr/bin:/bin"})
        assert out.stdout.splitlines() == ["my project's $HOME", "k;rm -rf x"]


def test_each_server_answers_with_its_own_state():
    # The handler is one module-level class; what it knows comes from self.server, so two sandboxes in
    # one process never see each other's key, project or jobs.
    with SandboxServer(api_key="key-a", project_id="proj-a") as a, SandboxServer(api_key="key-b",
                                                                              project_id="proj-b") as b:
        assert a._httpd.RequestHandlerClass is SandboxRequestHandler is b._httpd.RequestHandlerClass
        assert a._httpd.sandbox is a and b._httpd.sandbox is b
        stats = "/_sandbox/stats"
        assert requests.get(a.base_url + stats, headers={"x-api-key": "key-b"}, timeout=5).status_code == 401
        assert requests.get(b.base_url + stats, headers={"x-api-key": "key-b"}, timeout=5).status_code == 200
        body = {"reference_id": "r", "work_flow_id": a.workflow_id, "data": {"image_url": "https://a.b/c.png"}}
        ok = requests.post(f"{a.base_url}/v1/projects/proj-a/jobs", json=body, headers={"x-api-key": "key-a"},
                           timeout=5)
        wrong = requests.post(f"{b.base_url}/v1/projects/proj-a/jobs", json=body, headers={"x-api-key": "key-b"},
                              timeout=5)
        assert ok.status_code == 200 and wrong.status_code == 404
        assert wrong.json()["error"]["code"] == "PROJECT_NOT_FOUND"
        assert (a.job_count(), b.job_count()) == (1, 0)
        assert a.stats() == {"POST jobs": 1} and b.stats() == {}


def test_faults_and_latency_are_read_from_the_server_per_request(make_sandbox):
    from playment_submit.core.sandbox import Faults

    sb = make_sandbox(faults=Faults(html_500=1.0))
    url = f"{sb.base_url}/v1/projects/{sb.project_id}/jobs"
    body = {"reference_id": "r", "work_flow_id": sb.workflow_id, "data": {"image_url": "https://a.b/c.png"}}
    first = requests.post(url, json=body, headers={"x-api-key": sb.api_key}, timeout=5)
    assert first.status_code == 500 and "nginx" in first.text
    sb.faults = Faults()  # changed on a running server: the next request sees it
    assert requests.post(url, json=body, headers={"x-api-key": sb.api_key}, timeout=5).status_code == 200
    assert sb.stats() == {"POST jobs": 2, "fault html_500": 1} and sb.job_count() == 1
