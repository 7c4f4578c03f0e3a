"""Workers deliver results in the GUI thread, and drop them once their owner widget is gone."""

from __future__ import annotations

import threading

import shiboken6
from PySide6.QtWidgets import QLabel

from playment_submit.gui import workers
from playment_submit.gui.workers import start_worker


def _wait_then(gate: threading.Event, value):
    gate.wait(10)
    return value


def test_result_reaches_a_live_owner_in_the_gui_thread(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    seen = []
    gate = threading.Event()
    worker = start_worker(_wait_then, gate, "decoded", owner=label)
    worker.returned.connect(lambda v: seen.append((v, threading.current_thread() is threading.main_thread())))
    gate.set()
    qtbot.waitUntil(lambda: worker not in workers._alive, timeout=5000)
    assert seen == [("decoded", True)]


def test_result_after_the_owner_was_deleted_is_dropped(qtbot):
    label = QLabel()
    calls = []
    gate = threading.Event()
    worker = start_worker(_wait_then, gate, "decoded", owner=label)
    # The preview's slot would call label.setText(v) here: on a deleted label that raises.
    worker.returned.connect(calls.append)
    worker.errored.connect(calls.append)
    qtbot.wait(20)  # the job has started and is waiting on the gate
    shiboken6.delete(label)
    assert not shiboken6.isValid(label)
    gate.set()
    qtbot.waitUntil(lambda: worker not in workers._alive, timeout=5000)
    qtbot.wait(20)
    assert calls == []


def test_errors_are_delivered_as_values(qtbot):
    def fail():
        raise ValueError("The file is not an image.")

    errors = []
    worker = start_worker(fail)
    worker.errored.connect(errors.append)
    qtbot.waitUntil(lambda: worker not in workers._alive, timeout=5000)
    assert [str(e) for e in errors] == ["The file is not an image."]
