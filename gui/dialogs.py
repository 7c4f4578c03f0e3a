"""File dialogs that remember the last folder per purpose (QSettings "dirs/<key>")."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog


def _start(key: str, default: str = "") -> str:
    return str(QSettings().value(f"dirs/{key}", default) or default)


def _remember(key: str, path: str) -> None:
    if path:
        QSettings().setValue(f"dirs/{key}", str(Path(path).parent))


def open_file(parent, key: str, title: str, filters: str, start: str = "") -> str:
    path, _ = QFileDialog.getOpenFileName(parent, title, start or _start(key), filters)
    _remember(key, path)
    return path


def open_files(parent, key: str, title: str, filters: str) -> list[str]:
    paths, _ = QFileDialog.getOpenFileNames(parent, title, _start(key), filters)
    if paths:
        _remember(key, paths[0])
    return list(paths)


def save_file(parent, key: str, title: str, suggested: str, filters: str) -> str:
    start = str(Path(_start(key)) / Path(suggested).name) if _start(key) else suggested
    path, _ = QFileDialog.getSaveFileName(parent, title, start, filters)
    _remember(key, path)
    return path
