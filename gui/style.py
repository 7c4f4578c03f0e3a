"""The application's one stylesheet. Status colours are keyed on a dynamic property, never set inline.

A widget shows a status by ``set_status(widget, "error")`` (or "warning", "ok", "muted", "sandbox"; ""
clears it); :data:`STYLESHEET`, applied once to the QApplication by ``gui.app.make_app``, colours it.
Item views (list rows, table cells) cannot be styled by a property: they take the same colours from
:func:`status_colour` / :func:`status_background`, so every status colour lives in this file.

Colours are chosen for contrast on the light default palette (WCAG AA, at least 4.5:1 against white and
against the #efefef window background): error #b00020 (7.3:1), warning #7a5c00 (6.3:1), ok #176b32
(6.5:1), muted #5f6368 (6.0:1); the sandbox badge is dark text #1a1a1a on orange #ffb000 (9.5:1).
"""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QWidget

STATUS_PROPERTY = "status"
STATUSES = ("error", "warning", "ok", "muted", "sandbox")

STATUS_COLOURS = {"error": "#b00020", "warning": "#7a5c00", "ok": "#176b32", "muted": "#5f6368", "sandbox": "#1a1a1a"}
STATUS_BACKGROUNDS = {"error": "#fde7ea", "sandbox": "#ffb000"}
# The keyboard focus ring: a 2 px blue frame (5.9:1 against white), not the style's faint dotted line.
FOCUS = "#1a5fb4"

STYLESHEET = f"""
QLabel[status="error"] {{ color: {STATUS_COLOURS["error"]}; }}
QLabel[status="warning"] {{ color: {STATUS_COLOURS["warning"]}; }}
QLabel[status="ok"] {{ color: {STATUS_COLOURS["ok"]}; }}
QLabel[status="muted"] {{ color: {STATUS_COLOURS["muted"]}; }}
QLabel[status="sandbox"] {{
    color: {STATUS_COLOURS["sandbox"]}; background: {STATUS_BACKGROUNDS["sandbox"]};
    font-weight: bold; border-radius: 3px;
}}
QLabel#jobError, QLabel#keyWarning {{ font-weight: bold; }}
QLabel#primaryPreview {{ background: #f3f3f3; border: 1px dashed #bbb; }}
QLineEdit:focus, QPlainTextEdit:focus, QComboBox:focus, QAbstractItemView:focus, QAbstractSpinBox:focus {{
    border: 2px solid {FOCUS}; border-radius: 2px;
}}
QPushButton:focus, QToolButton:focus, QCheckBox:focus, QRadioButton:focus, QSlider:focus {{
    outline: none; border: 2px solid {FOCUS}; border-radius: 3px;
}}
/* Buttons keep one box in every state (1 px border + 4 px padding = 2 px focus border + 3 px padding):
   a frame added on focus alone would eat into the text, which is sized without it ("Refresh statu"). */
QPushButton {{ border: 1px solid #a8a8a8; border-radius: 3px; padding: 4px 10px; background: #f7f7f7; }}
QPushButton:hover {{ background: #eef3fb; }}
QPushButton:pressed {{ background: #dde6f5; }}
QPushButton:disabled {{ color: #9a9a9a; border-color: #d0d0d0; background: #f3f3f3; }}
QPushButton:focus {{ padding: 3px 9px; background: #e8f0fe; }}
"""


def set_status(widget: QWidget, status: str | None) -> None:
    """Show ``status`` ("error", "warning", "ok", "muted", "sandbox"; None or "" for none) on ``widget``
    through :data:`STYLESHEET`: sets the dynamic property and re-polishes so the new rule applies now."""
    status = status or ""
    if status and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    if widget.property(STATUS_PROPERTY) == status:
        return
    widget.setProperty(STATUS_PROPERTY, status)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


def status_of(widget: QWidget) -> str:
    """The status last given by :func:`set_status` ("" when none)."""
    return widget.property(STATUS_PROPERTY) or ""


def status_colour(status: str) -> QColor:
    """The text colour of ``status`` for item views (invalid QColor for an unknown status)."""
    hexcode = STATUS_COLOURS.get(status)
    return QColor(hexcode) if hexcode else QColor()


def status_background(status: str) -> QColor:
    """The background tint of ``status`` for item views (invalid QColor when it has none)."""
    hexcode = STATUS_BACKGROUNDS.get(status)
    return QColor(hexcode) if hexcode else QColor()


def apply_stylesheet(app: QApplication) -> None:
    """Install :data:`STYLESHEET` on ``app`` (once; calling again does not stack it)."""
    if app.styleSheet() != STYLESHEET:
        app.setStyleSheet(STYLESHEET)
