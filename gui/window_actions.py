"""The main window's chrome: menus, toolbar, tab shortcuts, status bar and badge, geometry, About."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMessageBox

from playment_submit.core import __version__
from playment_submit.core.sandbox import reset_sandbox
from playment_submit.gui.dialogs import app_settings, recent_files
from playment_submit.gui.style import set_status
from playment_submit.resources import resource_path

if TYPE_CHECKING:
    from playment_submit.gui.main_window import MainWindow


def icon(name: str) -> QIcon:
    return QIcon(str(resource_path("icons", f"{name}.svg")))


def build_actions(self: MainWindow) -> None:
    """The menus, the toolbar and the tab shortcuts of ``self`` (its actions become its attributes)."""
    def action(text, name, shortcut, slot, tip):
        a = QAction(icon(name) if name else QIcon(), text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(tip)
        a.setStatusTip(tip)
        a.triggered.connect(slot)
        return a

    self.new_action = action("&New job", None, QKeySequence.StandardKey.New, self.files.new_job,
                             "Start an empty job (asks first when the current one is not saved)")
    self.open_action = action("&Open…", "open", QKeySequence.StandardKey.Open, self.files.choose_and_open,
                              "Open a job file (JSON), or an image as the primary image")
    self.open_image_action = action("Open primary &image…", None, None, self.primary.choose_file,
                                    "Choose the image to label")
    self.save_action = action("&Save job", None, QKeySequence.StandardKey.Save, lambda: self.files.save_job(),
                              "Save this job as a job file (the API's JSON; local paths allowed)")
    self.save_as_action = action("Save job &as…", None, "Ctrl+Shift+S", lambda: self.files.save_job(ask=True),
                                 "Save this job under another name")
    self.sample_action = action("Load &sample", "sample", "Ctrl+L", self.load_sample,
                                "Fill in a complete sample job (photo, two cameras, colour-coded mask)")
    self.submit_action = action("&Submit job", "submit", "Ctrl+Return", self.submit, "Create the job on Playment")
    zin = action("Zoom &in", "zoom-in", QKeySequence.StandardKey.ZoomIn, lambda: self.view.zoom(1.25), "Zoom in")
    zout = action("Zoom &out", "zoom-out", QKeySequence.StandardKey.ZoomOut, lambda: self.view.zoom(0.8),
                  "Zoom out")
    zfit = action("&Fit to window", "zoom-fit", "Ctrl+0", self.view.fit, "Show the whole image")
    quit_action = action("&Quit", None, QKeySequence.StandardKey.Quit, self.close, "Quit")
    about = action("&About", None, None, lambda: show_about(self), "Version and credits")
    menu = self.menuBar()
    f = menu.addMenu("&File")
    for a in (self.new_action, self.open_action, self.open_image_action):
        f.addAction(a)
    self.recent_menu = f.addMenu("Open &recent image")
    self.recent_menu.setToolTipsVisible(True)
    self.recent_menu.aboutToShow.connect(lambda: fill_recent_menu(self))
    f.addSeparator()
    f.addAction(self.save_action)
    f.addAction(self.save_as_action)
    f.addSeparator()
    f.addAction(self.sample_action)
    reset = action("&Reset sandbox…", None, None, lambda: reset_embedded_sandbox(self),
                   "Remove every job and file of the embedded sandbox, and its history")
    reset.setObjectName("resetSandboxAction")
    f.addAction(reset)
    f.addSeparator()
    f.addAction(quit_action)
    v = menu.addMenu("&View")
    for a in (zin, zout, zfit):
        v.addAction(a)
    # No mnemonic: Alt+J is the Job tab's (the menu's one action has Ctrl+Return and a toolbar button).
    menu.addMenu("Job").addAction(self.submit_action)
    menu.addMenu("&Help").addAction(about)
    tb = self.addToolBar("Main")
    tb.setObjectName("main-toolbar")
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for a in (self.open_action, self.sample_action, zin, zout, zfit, self.submit_action):
        tb.addAction(a)
    self.zoom_actions = (zin, zout, zfit)
    # Tabs from anywhere, the History table included (item views would otherwise keep Ctrl+Tab to
    # themselves): Ctrl+Tab / Ctrl+PgDown the next tab, Ctrl+Shift+Tab / Ctrl+PgUp the previous one.
    self.tab_shortcuts = []
    for keys, step in (("Ctrl+Tab", 1), ("Ctrl+PgDown", 1), ("Ctrl+Shift+Tab", -1), ("Ctrl+Backtab", -1),
                       ("Ctrl+PgUp", -1)):
        sc = QShortcut(QKeySequence(keys), self)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(lambda s=step: self.step_tab(s))
        self.tab_shortcuts.append(sc)


def build_status_bar(self: MainWindow) -> None:
    bar = self.statusBar()
    self.key_warning = QLabel("  ⚠ API key: no keyring  ")
    self.key_warning.setObjectName("keyWarning")  # bold, by gui/style.py
    set_status(self.key_warning, "warning")
    self.key_warning.setToolTip(self.session.key_warning or "")
    self.key_warning.setVisible(bool(self.session.key_warning))
    bar.addPermanentWidget(self.key_warning)
    self.badge = QLabel()
    bar.addPermanentWidget(self.badge)
    update_badge(self)
    bar.showMessage("Ready. Load the sample (Ctrl+L) to see the whole flow.", 8000)

def confirm_reset(self: MainWindow) -> bool:
    """Asks before "Reset sandbox…" (tests replace it)."""
    answer = QMessageBox.question(self, "Reset sandbox", "Remove every job and file of the embedded sandbox, "
                                  "and its history? This cannot be undone.")
    return answer == QMessageBox.StandardButton.Yes


def reset_embedded_sandbox(self: MainWindow) -> None:
    """File > Reset sandbox…: empty the embedded sandbox and the sandbox profile's journal (core's
    reset_sandbox), then show the emptied History. Only while jobs go to the embedded sandbox."""
    sb = self.session.sandbox
    if sb is None or not self.session.sandbox_mode or self.is_sending() or not confirm_reset(self):
        return
    report = reset_sandbox(sb, self.session.journal)
    self.history.refresh()
    self.statusBar().showMessage(report.sentence(), 10000)


def update_badge(self: MainWindow) -> None:
    """Where jobs go, always in sight: the sandbox badge only while jobs really go to the sandbox."""
    sandbox = self.session.sandbox_mode
    reset = self.findChild(QAction, "resetSandboxAction")
    if reset is not None:
        reset.setEnabled(sandbox)
    self.files.update_title()
    refused = self.session.storage_refusal()
    files = ("Local files: not uploaded — " + refused) if refused else (
        "Local files: " + (self.session.storage.describe() if self.session.storage is not None else "not uploaded"))
    if sandbox:
        self.badge.setText("  SANDBOX: nothing goes to Playment  ")
        set_status(self.badge, "sandbox")
        self.badge.setToolTip(f"Jobs go to a local sandbox at {self.session.base_url}. Configure a profile and "
                              f"an API key in the Connection tab to use Playment.\n{files}")
    else:
        self.badge.setText(f"  {self.session.base_url} · project {self.session.project_id}  ")
        set_status(self.badge, None)
        self.badge.setToolTip(f"Jobs go to this server and project.\n{files}")

def show_about(self: MainWindow) -> None:
    QMessageBox.about(self, "About playment-submit",
                      f"<b>playment-submit {__version__}</b><br>Create Playment labelling jobs with "
                      f"reference cameras and pre-label masks.<br><br>Sample photo: scikit-image data "
                      f"(coffee.png, CC0, Rachel Michetti).")

def restore_geometry(self: MainWindow) -> None:
    geometry = app_settings().value("window/geometry")
    screen = self.screen().availableGeometry() if self.screen() is not None else None
    if geometry is None or not self.restoreGeometry(geometry):
        w, h = (1280, 780) if screen is None else (min(1280, screen.width()), min(780, screen.height()))
        self.resize(w, h)
    elif screen is not None and not screen.contains(self.frameGeometry().topLeft()):
        self.move(screen.topLeft())  # saved on a screen that is gone

def fill_recent_menu(self: MainWindow) -> None:
    self.recent_menu.clear()
    paths = recent_files()
    for path in paths:
        a = self.recent_menu.addAction(Path(path).name)
        a.setToolTip(path)
        a.triggered.connect(lambda _checked=False, p=path: self.primary.set_value(p))
    if not paths:
        self.recent_menu.addAction("No recent images").setEnabled(False)
