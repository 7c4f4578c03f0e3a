"""Storage addresses in the preview are content hashes: computed in a worker, never on the GUI thread."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading

import playment_submit.core.storage  # noqa: F401  (loads core.storage, patched below)
from playment_submit import core
from playment_submit.resources import sample_job_files


def test_first_hash_of_a_file_runs_in_a_worker_then_the_preview_shows_its_url(window, wait_idle, sandbox, tmp_path,
                                                                               monkeypatch):
    threads = []
    real = hashlib.sha256

    def spy(*a, **k):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*a, **k)

    monkeypatch.setattr(core.storage.hashlib, "sha256", spy)
    primary = tmp_path / "fresh.png"  # a file core has never hashed
    shutil.copyfile(sample_job_files()["primary"], primary)
    window.primary.set_value(str(primary))
    wait_idle(window)
    url = json.loads(window.job.preview.toPlainText())["data"]["image_url"]
    assert url == window.session.storage.destination(str(primary)) and url.startswith(sandbox.base_url)
    assert threads and not any(threads), "a file was hashed on the GUI thread"
    assert window.job.submit.isEnabled(), window.job.reasons.text()
