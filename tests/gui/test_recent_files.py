"""File > Open recent: primary images opened before, newest first, kept in QSettings across windows."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QThreadPool

from playment_submit.core.journal import Journal
from playment_submit.gui.backend import Backend
from playment_submit.gui.main_window import MainWindow


def _window(qtbot, sandbox, tmp_path, name):
    backend = Backend.for_sandbox(sandbox, journal=Journal(tmp_path / f"{name}.sqlite"))
    win = MainWindow(backend)
    qtbot.addWidget(win)
    return win, backend


def _close(win, backend):
    win.close()
    QThreadPool.globalInstance().waitForDone(5000)
    backend.sandbox = None
    backend.close()


def test_recent_primary_images_survive_a_restart(qtbot, sandbox, tmp_path):
    paths = []
    for n in ("a", "b"):
        paths.append(tmp_path / f"{n}.png")
        Image.new("RGB", (8, 6)).save(paths[-1])
    win, backend = _window(qtbot, sandbox, tmp_path, "one")
    for p in (paths[0], paths[1], paths[0]):
        win.primary.set_value(str(p))
    _close(win, backend)

    win, backend = _window(qtbot, sandbox, tmp_path, "two")  # a new window: read back from QSettings
    win.recent_menu.aboutToShow.emit()
    actions = win.recent_menu.actions()
    assert [a.text() for a in actions] == ["a.png", "b.png"]  # newest first, no duplicates
    paths[1].unlink()
    win.recent_menu.aboutToShow.emit()
    assert [a.text() for a in win.recent_menu.actions()] == ["a.png"]  # gone from disk: not offered
    win.recent_menu.actions()[0].trigger()
    assert win.primary.value() == str(paths[0].resolve())
    _close(win, backend)
