"""Storage addresses in the preview are content hashes: computed in a worker, never on the GUI thread."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading

from PySide6.QtCore import QThreadPool

import playment_submit.core.storage

from playment_submit import core
from playment_submit.core.journal import Journal
from playment_submit.gui.backend import Backend
from playment_submit.gui.main_window import MainWindow
from playment_submit.resources import sample_job_files


def test_first_hash_of_a_file_runs_in_a_worker_then_the_preview_shows_its_url(qtbot, sandbox, tmp_path, monkeypatch):
    threads = []
    real = hashlib.sha256

    def spy(*a, **k):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*a, **k)

    monkeypatch.setattr(core.storage.hashlib, "sha256", spy)
    primary = tmp_path / "fresh.png"  # a file core has never hashed
    shutil.copyfile(sample_job_files()["primary"], primary)
    backend = Backend.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    win = MainWindow(backend)
    qtbot.addWidget(win)
    win.show()
    win.primary.set_value(str(primary))
    qtbot.waitUntil(lambda: not win._busy and not win._refresh_timer.isActive(), timeout=20000)
    url = json.loads(win.job.preview.toPlainText())["data"]["image_url"]
    assert url == backend.storage.destination(str(primary)) and url.startswith(sandbox.base_url)
    assert threads and not any(threads), "a file was hashed on the GUI thread"
    assert win.job.submit.isEnabled(), win.job.reasons.text()
    win.close()
    QThreadPool.globalInstance().waitForDone(5000)
    backend.sandbox = None
    backend.close()
