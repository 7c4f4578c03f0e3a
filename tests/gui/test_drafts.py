"""Drafts in the window: New / Save / Open (job file or image), the unsaved-work prompt before anything
replaces or quits the job, autosave and its restore, and Load sample on top of a job."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from playment_submit.core import draft as drafts
from playment_submit.gui import launch
from playment_submit.resources import sample_classes, sample_job_files

SAMPLE = sample_job_files()


def _loaded(win) -> bool:
    return win.mask_state is not None and win.is_idle() and win.after_primary is None


def test_save_then_open_the_job_file_gives_the_same_job(qtbot, make_window, wait_idle, tmp_path, monkeypatch):
    win = make_window()
    win.load_sample()
    qtbot.waitUntil(lambda: _loaded(win), timeout=20000)
    win.job.reference_id.setText("coffee-1")
    win.references.list.item(0).setText("left")
    win.refresh()
    assert win.is_modified() and win.isWindowModified() and "new job" in win.windowTitle()
    target = tmp_path / "drafts" / "coffee.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    win.save_action.trigger()
    assert not win.is_modified() and win.draft.path == target
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["reference_id"] == "coffee-1"
    assert data["data"]["reference_data"]["raster"]["images"][0]["label"] == "left"
    assert set(data["data"]["maker_response"]["raster"]["data"]["legend"].values()) == set(sample_classes())
    saved_payload = json.loads(win.job.preview.toPlainText())

    win.new_action.trigger()  # saved: no prompt, an empty form
    assert win.primary.value() == "" and win.references.references() == [] and win.mask_state is None
    assert win.job.reference_id.text() == ""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(target), "")))
    win.open_action.trigger()
    qtbot.waitUntil(lambda: _loaded(win), timeout=20000)
    wait_idle(win)
    assert json.loads(win.job.preview.toPlainText()) == saved_payload
    assert not win.is_modified() and "coffee.json" in win.windowTitle()


def test_every_replacement_and_quitting_asks_first_and_cancel_keeps_the_job(qtbot, make_window, tmp_path):
    win = make_window()
    asked = []
    answer = ["cancel"]
    win.ask_unsaved = lambda doing: (asked.append(doing), answer[0])[1]
    win.primary.set_value(str(SAMPLE["primary"]))
    win.job.reference_id.setText("mine")
    for trigger in (win.new_action.trigger, win.sample_action.trigger, win.close):
        trigger()
    assert asked == ["starting a new job", "loading the sample", "quitting"]
    assert win.isVisible() and win.job.reference_id.text() == "mine"  # nothing replaced, still open
    other = tmp_path / "other.json"
    drafts.JobDraft().write(other)
    assert win.files.open_path(str(other)) is False and win.job.reference_id.text() == "mine"
    answer[0] = "discard"
    win.new_action.trigger()
    assert win.job.reference_id.text() == "" and not win.is_modified()
    win.close()  # nothing unsaved any more: no question
    assert len(asked) == 5 and not win.isVisible()


def test_unsaved_work_is_autosaved_and_restored_by_the_next_window(qtbot, make_window, wait_idle, tmp_path):
    win = make_window()
    win.primary.set_value(str(SAMPLE["primary"]))
    win.references.add(str(SAMPLE["references"][0][1]), "front")
    win.job.reference_id.setText("crash-test")
    wait_idle(win)
    qtbot.waitUntil(lambda: drafts.read_autosave() is not None, timeout=5000)
    # A crash: the window never gets to close; the next start finds the work.
    win2 = make_window()
    assert win2.files.restore_autosave()
    qtbot.waitUntil(lambda: win2.is_idle() and win2.after_primary is None, timeout=20000)
    assert win2.primary.value() == str(SAMPLE["primary"])
    assert win2.references.references() == [("front", str(SAMPLE["references"][0][1]))]
    assert win2.job.reference_id.text() == "crash-test" and win2.is_modified()
    win2.files.new_job()  # discarded on purpose (the tests' prompt answers "discard"): nothing left to restore
    assert drafts.read_autosave() is None
    win.ask_unsaved = lambda doing: "discard"


def test_load_sample_on_top_of_a_job_leaves_no_stale_mask_size_error(qtbot, make_window, wait_idle, tmp_path):
    from PIL import Image
    other = tmp_path / "big.png"
    Image.new("RGB", (512, 512), "white").save(other)
    win = make_window()
    win.load_sample()
    qtbot.waitUntil(lambda: _loaded(win), timeout=20000)
    win.primary.set_value(str(other))  # the sample's 600x400 mask on a 512x512 image: a real size error
    qtbot.waitUntil(lambda: win.is_idle() and "512" in win.job.reasons.text(), timeout=20000)
    win.load_sample()
    qtbot.waitUntil(lambda: _loaded(win), timeout=20000)
    wait_idle(win)
    qtbot.waitUntil(lambda: win.job.submit.isEnabled(), timeout=10000)
    assert "512" not in win.mask_panel.status.text() + win.job.reasons.text()
    problems = [win.mask_panel.problems.item(i).text() for i in range(win.mask_panel.problems.count())]
    assert not any("512" in p for p in problems), problems


def test_a_job_file_on_the_command_line_opens_in_the_window(tmp_path, monkeypatch):
    job = tmp_path / "j.json"
    drafts.JobDraft().write(job)
    seen = []
    import playment_submit.gui.app as app_module
    monkeypatch.setattr(app_module, "main", lambda argv: seen.append(argv) or 0)
    assert launch.main([str(job)]) == 0 and seen == [["--open", str(job)]]
    assert launch.main(["--sandbox", str(job)]) == 0 and seen[-1] == ["--sandbox", "--open", str(job)]
    assert launch.main([str(tmp_path / "nope.json")]) == 2  # said on stderr, no window


def test_open_accepts_an_image_as_the_primary_without_replacing_the_job(qtbot, window, monkeypatch):
    window.job.reference_id.setText("keep")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(SAMPLE["primary"]), "")))
    window.ask_unsaved = lambda doing: "cancel"
    window.open_action.trigger()
    assert window.primary.value() == str(SAMPLE["primary"]) and window.job.reference_id.text() == "keep"
    window.ask_unsaved = lambda doing: "discard"


def test_new_job_shortcut_is_ctrl_n(window):
    assert window.new_action.shortcut().toString() == "Ctrl+N"
    assert window.save_action.shortcut().toString() == "Ctrl+S"
    assert window.open_action.shortcut().toString() == "Ctrl+O"


def test_a_job_just_sent_is_not_unsaved_work(qtbot, window, sample_ready):
    """The journal keeps what was sent (History reopens it): quitting right after Submit asks nothing and
    leaves no autosave to offer back at the next start."""
    asked = []
    window.ask_unsaved = lambda doing: (asked.append(doing), "cancel")[1]
    sample_ready(window, "sent-then-quit")
    assert window.is_modified()
    with qtbot.waitSignal(window.submit_succeeded, timeout=30000):
        qtbot.mouseClick(window.job.submit, Qt.MouseButton.LeftButton)
    assert not window.is_modified() and drafts.read_autosave() is None
    # the worker ends just after its result: until then closing asks about "jobs being sent" (a modal box)
    qtbot.waitUntil(lambda: not window.is_sending(), timeout=10000)
    window.close()
    assert asked == [] and not window.isVisible()


def test_a_window_deleted_while_a_step_waits_for_loading_is_not_polled_again(qtbot, sandbox, tmp_path):
    from PySide6.QtCore import QThreadPool
    from shiboken6 import delete

    from playment_submit.core.journal import Journal
    from playment_submit.core.session import Session
    from playment_submit.gui.main_window import MainWindow

    session = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    win = MainWindow(session)  # not the fixtures': this test deletes it
    ran: list[bool] = []
    # something is always loading: the step waits, polled every 50 ms (asking the window, as loading() does)
    win.loading = lambda: win.objectName() is not None
    win.files.when_loaded(lambda: ran.append(True))
    qtbot.wait(120)
    win.close()
    QThreadPool.globalInstance().waitForDone(10000)
    delete(win)  # the C++ window goes (as when the app quits): a poll left behind would call into it
    qtbot.wait(200)  # pytest-qt fails the test on an exception raised in the event loop
    session.sandbox = None  # the fixture stops it
    session.close()
    assert ran == []
