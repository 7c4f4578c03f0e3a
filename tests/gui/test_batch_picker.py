"""The Job tab's batch picker lists every batch of the project (Playment's /details), with "done / total", the
default batch first and marked, a Refresh that keeps the choice, and the error sentence when /details fails."""

from __future__ import annotations

from PySide6.QtCore import Qt

from playment_submit.core.client import PlaymentClient


def _items(win) -> list[tuple[str, object]]:
    combo = win.job.batch
    return [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]


def _outside_batch(sandbox, name: str, jobs: int = 0, complete: int = 0) -> str:
    """A batch made with another tool (the API directly), with ``jobs`` image jobs of which ``complete`` done."""
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key) as c:
        batch_id = c.create_batch(name)
        made = []
        for n in range(jobs):
            job = {"reference_id": f"{name}-{n}", "work_flow_id": sandbox.workflow_id, "batch_id": batch_id,
                   "data": {"image_url": "https://example.com/a.png"}}
            made.append(c.create_job(job).job_id)
    if complete:
        sandbox.complete_jobs(made[:complete])
    return batch_id


def test_picker_lists_a_batch_made_outside_the_tool_with_done_total(qtbot, make_window, sandbox):
    batch_id = _outside_batch(sandbox, "made elsewhere", jobs=3, complete=1)
    win = make_window(sandbox, show=False)
    with qtbot.waitSignal(win.batches_listed, timeout=10000) as got:
        win.show()
    assert not isinstance(got.args[0], Exception), got.args[0]
    items = _items(win)
    assert items[0][1] is None and items[0][0].startswith("Default batch · ")  # the default batch, marked, first
    assert ("made elsewhere · 1 / 3", batch_id) in items
    assert win.job.batch.itemData(items.index(("made elsewhere · 1 / 3", batch_id)),
                                  Qt.ItemDataRole.ToolTipRole).count(batch_id) == 1
    assert not win.job.batch_note.isVisible()
    # The default batch /details named is used for reconciliation from now on (no flag needed).
    assert win.session.default_batch_id == sandbox.default_batch_id


def test_refresh_keeps_the_choice_and_shows_new_progress(qtbot, window, sandbox):
    qtbot.waitUntil(lambda: window.remote.batches_worker is None and window.job.refresh_batches.isEnabled(),
                    timeout=10000)
    first = _outside_batch(sandbox, "week 1", jobs=2)
    with qtbot.waitSignal(window.batches_listed, timeout=10000):
        qtbot.mouseClick(window.job.refresh_batches, Qt.MouseButton.LeftButton)
    window.job.batch.setCurrentIndex(window.job.batch.findData(first))
    assert window.job.batch.currentData() == first
    second = _outside_batch(sandbox, "week 2")
    sandbox.complete_jobs()
    with qtbot.waitSignal(window.batches_listed, timeout=10000):
        qtbot.mouseClick(window.job.refresh_batches, Qt.MouseButton.LeftButton)
    assert window.job.batch.currentData() == first  # kept across the refresh
    assert window.job.batch.currentText() == "week 1 · 2 / 2"
    assert window.job.batch.findData(second) > 0


def test_details_failure_is_a_sentence_not_a_crash(qtbot, window, sandbox):
    qtbot.waitUntil(lambda: window.remote.batches_worker is None, timeout=10000)
    before = _items(window)
    with qtbot.waitSignal(window.batches_listed, timeout=10000) as got:
        window.on_connection_applied(sandbox.base_url, sandbox.project_id, sandbox.workflow_id, "not-the-key")
    assert isinstance(got.args[0], Exception)
    note = window.job.batch_note
    assert note.isVisible() and note.text().startswith("The project's batches could not be listed: ")
    assert str(got.args[0]) in note.text() and "Traceback" not in note.text()
    assert _items(window) == before  # what was listed stays offered
    assert window.job.refresh_batches.isEnabled()


def test_new_batch_flow_still_adds_and_selects(qtbot, window, sandbox, monkeypatch):
    from PySide6.QtWidgets import QInputDialog
    qtbot.waitUntil(lambda: window.remote.batches_worker is None, timeout=10000)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("night drive", True)))
    qtbot.mouseClick(window.job.new_batch, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.job.batch.count() == 2, timeout=10000)
    made = window.job.batch.currentData()
    with qtbot.waitSignal(window.batches_listed, timeout=10000):
        qtbot.mouseClick(window.job.refresh_batches, Qt.MouseButton.LeftButton)
    assert window.job.batch.currentData() == made and window.job.batch.count() == 2  # listed once, still chosen
    assert window.job.batch.currentText() == "night drive · 0 / 0"


def test_a_job_sent_from_the_window_is_counted_in_the_picker(qtbot, window, sandbox, sample_ready):
    qtbot.waitUntil(lambda: window.remote.batches_worker is None and window.job.refresh_batches.isEnabled(),
                    timeout=10000)
    assert window.job.batch.itemText(0).endswith("· 0 / 0")
    sample_ready(window, "counted")
    with qtbot.waitSignal(window.batches_listed, timeout=30000):
        qtbot.mouseClick(window.job.submit, Qt.MouseButton.LeftButton)
    assert window.job.batch.itemText(0).endswith("· 0 / 1")  # the default batch holds the new job
