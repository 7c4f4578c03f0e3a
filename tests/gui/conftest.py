"""GUI tests keep QSettings (window geometry) in a temporary folder, never the developer's."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path, qapp):
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    qapp.setOrganizationName("playment-submit-tests")
    qapp.setApplicationName("playment-submit-tests")
    yield
