"""GUI fixtures: QSettings in a temporary folder, the application stylesheet, and main windows on sandboxes.

- ``window``: a shown MainWindow on a fresh sandbox backend (the ``sandbox`` fixture, so a test that also
  asks for ``sandbox`` gets the same server) with its own journal in tmp_path; closed afterwards, its
  workers waited for, its backend closed (the sandbox itself is stopped by the ``sandbox`` fixture).
- ``make_window``: the same, as a factory, for tests that need another sandbox (latency, faults), a
  backend set up before the window is built, or several windows in turn; ``make_window.close(win)``
  closes one early (as a user quitting), everything left is closed after the test.
- ``wait_idle``: ``wait_idle(win)`` waits until ``win.is_idle()`` (nothing loading, nothing being sent, no
  preview refresh pending).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QThreadPool
from PySide6.QtWidgets import QMessageBox

from playment_submit.core.journal import Journal
from playment_submit.core.session import Session
from playment_submit.gui.draft_files import DraftFiles
from playment_submit.gui.main_window import MainWindow
from playment_submit.gui.style import apply_stylesheet

IDLE_TIMEOUT_MS = 20000


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path, qapp):
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    qapp.setOrganizationName("playment-submit-tests")
    qapp.setApplicationName("playment-submit-tests")
    apply_stylesheet(qapp)  # as gui.app.make_app does: widgets are tested with the real status styling
    yield


@pytest.fixture(autouse=True)
def unsaved_work_is_discarded(monkeypatch):
    """The unsaved-job prompt (a modal box) answers "discard" unless a test says otherwise."""
    monkeypatch.setattr(MainWindow, "ask_unsaved", lambda self, doing: "discard")
    monkeypatch.setattr(MainWindow, "ask_copy_mask", lambda self, name, folder: "keep")  # no modal prompt
    monkeypatch.setattr(DraftFiles, "ask_restore", lambda self, summary: True)  # the autosave is restored


class WindowFactory:
    """``make_window(sandbox=None, *, show=True, setup=None)`` -> a MainWindow on ``sandbox`` (default:
    the test's ``sandbox``) with a new journal in tmp_path. ``setup(backend)`` runs before the window is
    built (e.g. to set ``backend.key_warning``)."""

    def __init__(self, qtbot, tmp_path: Path, default_sandbox):
        self._qtbot = qtbot
        self._tmp_path = tmp_path
        self._default_sandbox = default_sandbox
        self._open: list[MainWindow] = []
        self._made = 0

    def __call__(self, sandbox=None, *, show: bool = True,
                 setup: Callable[[Session], None] | None = None) -> MainWindow:
        self._made += 1
        name = "journal.sqlite" if self._made == 1 else f"journal-{self._made}.sqlite"
        backend = Session.for_sandbox(sandbox or self._default_sandbox, journal=Journal(self._tmp_path / name))
        if setup is not None:
            setup(backend)
        win = MainWindow(backend)
        self._qtbot.addWidget(win)
        self._open.append(win)
        if show:
            win.show()
        return win

    def close(self, win: MainWindow) -> None:
        """Close ``win`` as a user would (agreeing to stop a run in progress), wait for its workers, then
        close its backend; the sandbox keeps running (its fixture stops it)."""
        if win not in self._open:
            return
        self._open.remove(win)
        if win.isVisible():
            question = QMessageBox.question
            QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
            try:
                win.close()  # stops the window's timers before the journal they use is closed
                self._qtbot.waitUntil(lambda: not win.isVisible() and not win.is_sending(), timeout=30000)
            finally:
                QMessageBox.question = question
        else:
            win.close()
        QThreadPool.globalInstance().waitForDone(10000)
        self._qtbot.wait(10)  # results already queued reach their (now closed) owners
        win.session.sandbox = None  # not ours to stop
        win.session.close()

    def close_all(self) -> None:
        for win in list(reversed(self._open)):
            self.close(win)


@pytest.fixture
def make_window(qtbot, tmp_path, sandbox, make_sandbox):
    # Depends on both sandbox fixtures so that every sandbox outlives the windows using it.
    factory = WindowFactory(qtbot, tmp_path, sandbox)
    yield factory
    factory.close_all()


@pytest.fixture
def window(make_window, sandbox) -> MainWindow:
    """A shown MainWindow on the test's sandbox, with its own journal (tmp_path/journal.sqlite)."""
    return make_window(sandbox)


@pytest.fixture
def wait_idle(qtbot) -> Callable[..., None]:
    """``wait_idle(win, timeout=20000)``: wait until ``win.is_idle()``."""

    def wait(win: MainWindow, timeout: int = IDLE_TIMEOUT_MS) -> None:
        qtbot.waitUntil(win.is_idle, timeout=timeout)

    return wait


@pytest.fixture
def sample_ready(wait_idle) -> Callable[..., None]:
    """``sample_ready(win, reference_id)``: the sample job loaded and checked, under that reference ID, so
    that Submit is one click away."""

    def ready(win: MainWindow, reference_id: str) -> None:
        win.load_sample()
        wait_idle(win)
        win.job.reference_id.setText(reference_id)
        wait_idle(win)

    return ready
