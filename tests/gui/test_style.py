"""Status colours come from gui/style.py's one stylesheet, through a dynamic property; readable colours."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from playment_submit.gui import style
from playment_submit.gui.style import STATUS_BACKGROUNDS, STATUS_COLOURS, set_status, status_colour, status_of
from playment_submit.gui.widgets.job_panel import JobPanel

GUI = Path(style.__file__).resolve().parent


def _luminance(colour: str) -> float:
    c = QColor(colour)

    def lin(v: int) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.red()) + 0.7152 * lin(c.green()) + 0.0722 * lin(c.blue())


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("status", ["error", "warning", "ok", "muted"])
def test_status_text_passes_wcag_aa_on_light_backgrounds(status):
    for background in ("#ffffff", "#efefef", STATUS_BACKGROUNDS.get(status, "#ffffff")):
        assert _contrast(STATUS_COLOURS[status], background) >= 4.5, (status, background)


def test_sandbox_badge_is_dark_text_on_orange():
    assert _contrast(STATUS_COLOURS["sandbox"], STATUS_BACKGROUNDS["sandbox"]) >= 7
    assert _luminance(STATUS_COLOURS["sandbox"]) < 0.05


def test_set_status_sets_the_property_and_the_stylesheet_colours_it(qtbot):
    assert QApplication.instance().styleSheet() == style.STYLESHEET  # applied once, as make_app does
    label = QLabel("x")
    qtbot.addWidget(label)
    label.show()
    normal = label.palette().color(QPalette.ColorRole.WindowText)
    set_status(label, "error")
    assert label.property("status") == "error" == status_of(label)
    assert label.palette().color(QPalette.ColorRole.WindowText) == status_colour("error")
    set_status(label, "ok")
    assert label.palette().color(QPalette.ColorRole.WindowText) == status_colour("ok")
    set_status(label, None)
    assert status_of(label) == "" and label.palette().color(QPalette.ColorRole.WindowText) == normal
    with pytest.raises(ValueError):
        set_status(label, "purple")


def test_job_panel_labels_carry_their_status(qtbot):
    panel = JobPanel()
    qtbot.addWidget(panel)
    assert status_of(panel.reasons) == "error" and status_of(panel.error) == "error"
    assert status_of(panel.reference_note) == "warning"


def test_badge_says_sandbox_by_property_and_drops_it_for_a_real_server(window, sandbox):
    assert status_of(window.badge) == "sandbox" and "SANDBOX" in window.badge.text()
    assert status_of(window.key_warning) == "warning"
    # as the Connection tab's Save does: jobs now go to another server
    window.connection.connection_applied.emit("http://127.0.0.1:9", sandbox.project_id, sandbox.workflow_id, None)
    assert status_of(window.badge) == "" and "SANDBOX" not in window.badge.text()


@pytest.mark.parametrize("name", ["main_window.py", "app.py", "widgets/job_panel.py", "widgets/bulk_panel.py",
                                  "widgets/primary_panel.py", "widgets/references_panel.py",
                                  "widgets/history_panel.py", "widgets/mask_panel.py", "widgets/connection_panel.py"])
def test_no_inline_status_colours(name):
    text = (GUI / name).read_text(encoding="utf-8")
    assert "setStyleSheet(" not in text
    assert not re.search(r"""QColor\(\s*["']#""", text)
