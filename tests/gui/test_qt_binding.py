"""The Qt binding itself: a PySide6 release that drops a reference to None on every void call (6.12.0 on
Python < 3.12) aborts the window after a few thousand calls ("Fatal Python error: none_dealloc"), so the
binding the project installs is checked here."""

from __future__ import annotations

import sys

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel


def test_void_qt_calls_keep_the_reference_to_none(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    colour = QColor("#102030")
    before = sys.getrefcount(None)
    for _ in range(200):   # well below the few thousand that would abort the process
        label.setText("x")
        colour.setAlpha(10)
    assert sys.getrefcount(None) - before > -50, (
        "this PySide6 drops a reference to None on every void call; install a release without that bug "
        "(see the PySide6 pin in pyproject.toml)")
