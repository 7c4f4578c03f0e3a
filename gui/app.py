"""QApplication bootstrap: ``playment-submit`` (no subcommand) and ``--sandbox`` (``--self-test`` is
:mod:`playment_submit.gui.self_test`, which uses :func:`make_app`; the launcher picks one).

Hidden switches for tooling (documented here, not in --help):
- ``PLAYMENT_SUBMIT_SCREENSHOT=path.png``: load the sample, wait until the mask is shown, save a
  screenshot of the window and quit (used to check the window under Xvfb);
- ``PLAYMENT_SUBMIT_EXIT_AFTER_SHOW=1``: quit as soon as the window is shown (start-up timing).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import cast

from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from playment_submit.core import __version__
from playment_submit.gui.style import apply_stylesheet


def make_app(argv: list[str] | None = None) -> QApplication:
    app = cast(QApplication, QApplication.instance() or QApplication([sys.argv[0], *(argv or [])]))
    app.setApplicationName("playment-submit")
    app.setOrganizationName("playment-submit")
    app.setApplicationVersion(__version__)
    from playment_submit.resources import resource_path
    app.setWindowIcon(QIcon(str(resource_path("icons", "app.svg"))))
    apply_stylesheet(app)
    from playment_submit.core.pacing import share_with_gui
    share_with_gui()  # core's long loops in workers leave the GUI thread its turns (core/pacing.py)
    return app


def _screenshot_when_ready(window, path: str) -> None:
    window.load_sample()

    def ready() -> bool:
        return window.mask_state is not None and window.view.image_item is not None and window.is_idle()

    tries = [0]

    def poll() -> None:
        tries[0] += 1
        if ready() or tries[0] > 100:
            QTimer.singleShot(300, lambda: (window.grab().save(path), QApplication.quit()))
        else:
            QTimer.singleShot(100, poll)

    QTimer.singleShot(100, poll)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="playment-submit", add_help=False)
    parser.add_argument("--sandbox", action="store_true")
    parser.add_argument("--open", metavar="JOB.json")  # from `playment-submit JOB.json` (gui.launch)
    args, rest = parser.parse_known_args(argv or [])

    if (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
        print("error: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset). The "
              "subcommands work without one: see playment-submit --help.", file=sys.stderr)
        return 2
    app = make_app(rest)
    from playment_submit.core.errors import PlaymentError
    from playment_submit.core.session import Session
    from playment_submit.gui.main_window import MainWindow
    try:  # a profile unusable as saved opens and is said on the Connection tab; this is only the last resort
        session = Session.from_settings(force_sandbox=args.sandbox)
    except PlaymentError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    window = MainWindow(session)
    window.show()
    window.files.restore_autosave()  # work a crash or a killed process left unsaved comes back first
    if args.open:
        window.files.open_path(args.open)  # asks first when there was restored work
    shot = os.environ.get("PLAYMENT_SUBMIT_SCREENSHOT")
    if shot:
        _screenshot_when_ready(window, shot)
    if os.environ.get("PLAYMENT_SUBMIT_EXIT_AFTER_SHOW"):
        QTimer.singleShot(0, app.quit)
    try:
        return app.exec()
    finally:
        # Workers still running (a preview fetch, a file hash) end within their timeouts; the window
        # does not close while jobs are being sent. Then the journal and the sandbox can go.
        QThreadPool.globalInstance().waitForDone(15000)
        session.close()
