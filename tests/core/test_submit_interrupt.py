"""Ctrl-C while `submit` waits for Playment's answer (issue 21 item 10): the message says the job may exist and
that running the command again is safe, not only "Interrupted."."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.hostile import HostileServer, answer


def test_ctrl_c_during_submit_says_the_job_may_exist_and_rerunning_is_safe(tmp_path):
    def script(server, conn, req):
        if req.method == "POST":
            time.sleep(20)  # the job went out; no answer comes before the user presses Ctrl-C
            return
        answer(conn, 404, {"success": False, "error": {"code": "JOB_NOT_FOUND", "message": "no"}})

    job = tmp_path / "job.json"
    job.write_text(json.dumps({"reference_id": "ctrl-c-1", "work_flow_id": "7f0b8c5e-0000-4000-8000-000000000001",
                               "data": {"image_url": "https://cdn.example.com/a.jpg"}}))
    with HostileServer(script) as server:
        env = {**os.environ, "PLAYMENT_BASE_URL": server.base_url, "PLAYMENT_API_KEY": "k-0123456789abc",
               "PLAYMENT_PROJECT_ID": "p", "PLAYMENT_CONFIG_DIR": str(tmp_path / "c"),
               "PLAYMENT_DATA_DIR": str(tmp_path / "d")}
        proc = subprocess.Popen([sys.executable, "-m", "playment_submit.core.cli", "submit", str(job)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        end = time.monotonic() + 30
        while not any(r.method == "POST" for r in server.requests) and time.monotonic() < end:
            time.sleep(0.05)
        assert any(r.method == "POST" for r in server.requests), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Playment may have created it" in err and "again is safe" in err and "Traceback" not in err
