"""The legend editor's small questions: a class's colour, a new class, the class to merge into."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QInputDialog, QWidget

from playment_submit.core.legend import key_problem


def ask_colour(parent: QWidget, key: str, legend: dict[str, str]) -> str | None:
    """Another colour for the class ``key`` ("#rrggbb"), or None when cancelled or unchanged."""
    start = QColor(key) if key_problem(key) is None else QColor(Qt.GlobalColor.white)
    colour = QColorDialog.getColor(start, parent, f"Colour for \"{legend.get(key, key)}\"")
    return colour.name() if colour.isValid() and colour.name() != key.lower() else None


def ask_new_class(parent: QWidget) -> tuple[str, str] | None:
    """(colour, name) of a class to add, or None when cancelled."""
    colour = QColorDialog.getColor(QColor(Qt.GlobalColor.white), parent, "Colour of the new class")
    if not colour.isValid():
        return None
    name, ok = QInputDialog.getText(parent, "New class", f"Name of the class coloured {colour.name()}:")
    return (colour.name(), name) if ok else None


def ask_merge_target(parent: QWidget, key: str, legend: dict[str, str]) -> str | None:
    """The key of the class that ``key``'s pixels should join, or None when cancelled (or no other class)."""
    others = [f"{name} ({k})" for k, name in legend.items() if k != key]
    if not others:
        return None
    choice, ok = QInputDialog.getItem(parent, "Merge classes", f"Merge \"{legend[key]}\" ({key}) into:", others, 0,
                                      False)
    return choice.rsplit(" (", 1)[1].rstrip(")") if ok and choice else None
