"""Sending job after job from the window must not wear the process down.

PySide6 6.12.0 loses a reference to ``True`` on every ``Signal.emit()``; on Python 3.10/3.11 (where ``True`` is
not immortal) the window lost about 25 per job sent and CPython aborted the process after about 150 jobs
("Fatal Python error: bool_dealloc"), found by ``tests/benchmarks/bench_gui.py``. ``gui.qt_refcounts`` gives
``True`` and ``False`` enough references to outlast any session. These tests fail without it on an affected
PySide6, and pass trivially (nothing lost) on a sound one or on Python >= 3.12.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import Qt

from playment_submit.gui import qt_refcounts
from playment_submit.resources import sample_job_files

JOBS = 12
HEADROOM = 10**9  # jobs the window must be able to send before True's count could reach zero
# References True may lose in all, whatever the number of jobs: objects that held True being freed between the two
# counts (CI saw 4 over 12 jobs on a sound PySide6). The defect this guards against loses one per Signal.emit(), and a
# job sent emits dozens of signals (about 25 references a job on 6.12.0), so a leak shows as hundreds here.
SLACK = JOBS // 2


def _send(qtbot, win, reference_id: str, wait_idle) -> None:
    win.job.reference_id.clear()
    qtbot.keyClicks(win.job.reference_id, reference_id)  # typed, as a user does (setText is not an edit)
    wait_idle(win)
    assert win.job.submit.isEnabled(), win.job.reasons.text()
    with qtbot.waitSignal(win.submit_succeeded, timeout=20000):
        qtbot.mouseClick(win.job.submit, Qt.MouseButton.LeftButton)
    wait_idle(win)


def _true_count() -> int:
    gc.collect()
    return sys.getrefcount(True)


def test_sending_many_jobs_cannot_exhaust_true(qtbot, window, sandbox, wait_idle):
    window.primary.set_value(sandbox.add_file(sample_job_files()["primary"]))
    wait_idle(window)
    _send(qtbot, window, "warm-up", wait_idle)  # first-time caches and imports hold references of their own
    before = _true_count()
    for i in range(JOBS):
        _send(qtbot, window, f"many-{i}", wait_idle)
    after = _true_count()
    assert sandbox.job_count() == JOBS + 1
    lost_per_job = (before - after) / JOBS
    # Unprotected on PySide6 6.12.0 / Python 3.11: ~25 lost per job from a count of a few thousand, 300 here.
    # Fewer than one a job on average is noise (an object that held True freed between the two counts).
    assert before - after <= SLACK or after / lost_per_job > HEADROOM, (
        f"each job sent loses {lost_per_job:.1f} references to True; {after} left: the process would abort "
        f"after about {after / lost_per_job:.0f} more jobs")


def test_signal_emits_cannot_exhaust_true_or_false():
    lost = qt_refcounts.references_lost_per_emit()
    if lost:
        assert qt_refcounts.protect_bools()  # already done on import of gui.workers; reports it
        assert min(sys.getrefcount(True), sys.getrefcount(False)) / lost > 100 * HEADROOM


def test_references_are_added_only_where_the_header_is_understood():
    obj = object()
    count = sys.getrefcount(obj)
    assert qt_refcounts._add_references(obj, 5)
    assert sys.getrefcount(obj) == count + 5
    assert qt_refcounts._add_references(obj, -5)  # give them back, so that obj can be freed
    assert sys.getrefcount(obj) == count
