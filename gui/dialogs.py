"""File dialogs that remember the last folder per purpose ("dirs/<key>"), recent files, and the window's own
settings file.

Everything the window remembers (geometry, folders, recent files) lives in one INI file in the app's config
folder (``PLAYMENT_CONFIG_DIR`` or the platform's, see :func:`core.settings.config_dir`), beside the profiles,
not in Qt's default place (~/.config/<organisation>/...), so one setting moves or isolates all of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog

from playment_submit.core.settings import config_dir

SETTINGS_FILE = "window.ini"


def app_settings() -> QSettings:
    """The window's settings (geometry, last folders, recent files) in the app's config folder."""
    return QSettings(str(config_dir() / SETTINGS_FILE), QSettings.Format.IniFormat)


def _start(key: str, default: str = "") -> str:
    return str(app_settings().value(f"dirs/{key}", default) or default)


def _remember(key: str, path: str) -> None:
    if path:
        app_settings().setValue(f"dirs/{key}", str(Path(path).parent))


def open_file(parent, key: str, title: str, filters: str, start: str = "") -> str:
    path, _ = QFileDialog.getOpenFileName(parent, title, start or _start(key), filters)
    _remember(key, path)
    return path


def open_files(parent, key: str, title: str, filters: str, default: str = "") -> list[str]:
    """Files chosen in a dialog opening where the last one for ``key`` was chosen, else in ``default``."""
    paths, _ = QFileDialog.getOpenFileNames(parent, title, _start(key, default), filters)
    if paths:
        _remember(key, paths[0])
    return list(paths)


def save_file(parent, key: str, title: str, suggested: str, filters: str) -> str:
    start = str(Path(_start(key)) / Path(suggested).name) if _start(key) else suggested
    path, _ = QFileDialog.getSaveFileName(parent, title, start, filters)
    _remember(key, path)
    return path


RECENT_KEY = "recent/primary"
MAX_RECENT = 8


def recent_files() -> list[str]:
    """Primary images opened lately, newest first, only those still on disk."""
    value = app_settings().value(RECENT_KEY, []) or []
    paths = [value] if isinstance(value, str) else list(cast("list[str]", value))  # what remember_recent stored
    return [p for p in paths if Path(p).is_file()]


def remember_recent(path: str) -> None:
    paths = [path, *(p for p in recent_files() if p != path)][:MAX_RECENT]
    app_settings().setValue(RECENT_KEY, paths)
