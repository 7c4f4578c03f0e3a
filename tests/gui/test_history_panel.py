"""History: search, filter, copy the job ID, reopen a job into the form, a context menu, Ctrl+Tab out."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from playment_submit.gui.widgets.history_panel import LIVE


def _fill(journal) -> None:
    for ref, job in (("frame-1", "job-aaaa-1111"), ("frame-2", "job-bbbb-2222")):
        journal.mark_sending(ref, {"reference_id": ref, "work_flow_id": "w",
                                   "data": {"image_url": f"https://example.com/{ref}.png"}})
        journal.mark_created(ref, job)
    journal.mark_sending("broken-3", {"reference_id": "broken-3", "data": {"image_url": "https://x/y.png"}})
    journal.mark_failed("broken-3", "FS_0003", "bad image")


def test_search_filter_copy_and_reopen(qtbot, window):
    _fill(window.session.journal)
    window.tabs.setCurrentWidget(window.history)
    h = window.history
    qtbot.waitUntil(lambda: h.rowCount() == 3)
    assert h.table.isColumnHidden(LIVE)  # room for Playment's live status, hidden until known
    h.set_live_status({"frame-1": "completed"})
    assert not h.table.isColumnHidden(LIVE)
    qtbot.keyClicks(h.search, "bbbb")
    assert h.rowCount() == 1 and h.item(0, 1).text() == "frame-2"
    h.search.clear()
    h.filter.setCurrentIndex(2)  # problems
    assert [h.item(r, 1).text() for r in range(h.rowCount())] == ["broken-3"]
    h.filter.setCurrentIndex(0)
    row = [h.item(r, 1).text() for r in range(h.rowCount())].index("frame-1")
    h.table.selectRow(row)
    h.table.setFocus()
    QTest.keySequence(h.table, "Ctrl+C")
    assert QGuiApplication.clipboard().text() == "job-aaaa-1111"
    menu = h.context_menu()
    assert [a.text() for a in menu.actions() if a.text()] == ["Copy &job ID", "Copy &reference ID",
                                                              "&Open in the Job tab"]
    h.reopen_action.trigger()
    assert window.tabs.currentIndex() == 0
    assert window.primary.value() == "https://example.com/frame-1.png"
    assert window.job.reference_id.text() == "frame-1"


def test_ctrl_tab_and_ctrl_pgup_leave_the_history_table(qtbot, window):
    window.tabs.setCurrentWidget(window.history)
    window.activateWindow()
    window.history.table.setFocus()
    qtbot.waitUntil(lambda: window.history.table.hasFocus() or QGuiApplication.focusWindow() is None, timeout=2000)
    QTest.keyClick(window.history.table, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.results  # the next tab (Results, the last one)
    QTest.keyClick(window.focusWidget() or window, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.history
    QTest.keyClick(window.history.table, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.results
    QTest.keyClick(window.focusWidget() or window, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 0  # wraps around from the last tab
