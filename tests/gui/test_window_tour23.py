"""The window from the second tour (issue 23): keys, wording and what the window says after edits."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def _mnemonic(text: str) -> str | None:
    i = text.replace("&&", "").find("&")
    return text.replace("&&", "")[i + 1].lower() if i >= 0 else None


def test_alt_j_opens_the_job_tab_and_no_menu_shares_a_tab_key(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    tabs = {_mnemonic(window.tabs.tabText(i)) for i in range(window.tabs.count())}
    menus = {_mnemonic(a.text()) for a in window.menuBar().actions()} - {None}
    assert not tabs & menus, tabs & menus
    window.tabs.setCurrentWidget(window.bulk)
    QTest.keyClick(window, Qt.Key.Key_J, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentIndex() == 0
