"""The app always opens, and a profile made from the sandbox one never uploads to the sandbox (issue 23 items 1, 2).

A profile that cannot be used as saved (sandbox storage with another server's URL) opens in the window with the
problem said on the Connection tab and Submit disabled with the sentence; "Save and use" of a new profile typed over
the sandbox profile's fields does not inherit the sandbox's own storage for a non-sandbox URL."""

from __future__ import annotations

from PySide6.QtCore import Qt, QThreadPool

from playment_submit.core.session import Session
from playment_submit.core.settings import Profile, load_profiles, save_profiles
from playment_submit.core.storage import SandboxStorage
from playment_submit.gui.main_window import MainWindow

REMOTE = "https://api.example.invalid/v1"


def test_a_profile_with_sandbox_storage_for_another_server_opens_and_says_so(qtbot, monkeypatch, wait_idle):
    save_profiles({"other": Profile("other", REMOTE, "p1", "0c6b1e2a-1f0d-4c8e-9a3b-5d7e9f1a2b3c",
                                    storage={"kind": "sandbox"})}, current="other")
    monkeypatch.setenv("PLAYMENT_API_KEY", "a-key")
    session = Session.from_settings()  # raised at start before: no window appeared
    win = MainWindow(session)
    qtbot.addWidget(win)
    win.show()
    try:
        assert "choose S3 storage" in win.connection.warning.text()
        assert win.connection.warning.isVisibleTo(win.connection)
        win.load_sample()
        qtbot.waitUntil(lambda: "choose S3 storage" in win.job.reasons.text(), timeout=20000)
        assert not win.job.submit.isEnabled()
    finally:
        win.close()
        QThreadPool.globalInstance().waitForDone(10000)
        session.close()


def test_a_profile_typed_over_the_sandbox_one_does_not_inherit_its_storage(qtbot, window, memory_keyring):
    panel = window.connection
    assert panel.storage_settings()["kind"] == "sandbox"
    panel.profile.setEditText("real")
    panel.base_url.setText(REMOTE)
    qtbot.keyClicks(panel.api_key, "a-real-key")
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.base_url == REMOTE, timeout=5000)
    assert load_profiles()[0]["real"].storage == {"kind": "none"}
    assert not isinstance(window.session.storage, SandboxStorage)  # never localhost URLs for a real server
    assert "Its storage is \"None\"" in panel.result.text()
    assert window.session.storage_refusal() is None


def test_an_unreadable_profiles_file_opens_on_the_sandbox_and_says_why(qtbot):
    from playment_submit.core.settings import profiles_path
    path = profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{broken", encoding="utf-8")
    session = Session.from_settings()  # raised UsageError before: a traceback and no window
    win = MainWindow(session)
    qtbot.addWidget(win)
    win.show()
    try:
        assert session.sandbox_mode
        assert "profiles file" in win.connection.warning.text()
        assert "opened on the sandbox" in win.connection.warning.text()
    finally:
        win.close()
        QThreadPool.globalInstance().waitForDone(10000)
        session.close()


def test_the_sandboxs_own_notices_are_said_on_the_connection_tab(qtbot, make_window, sandbox):
    said = "The kept sandbox could not be reopened; this sandbox starts empty."
    sandbox.notices.append(said)
    try:
        win = make_window(sandbox)
        assert said in win.connection.warning.text()
        assert win.connection.warning.isVisibleTo(win.connection)
    finally:
        sandbox.notices.remove(said)


def test_profiles_with_an_unusable_url_or_no_key_open_and_say_so(qtbot, monkeypatch):
    save_profiles({"bad-url": Profile("bad-url", "ht!tp:// not a url", "p1", "0c6b1e2a-1f0d-4c8e-9a3b-5d7e9f1a2b3c"),
                   "no-key": Profile("no-key", REMOTE, "p1", "0c6b1e2a-1f0d-4c8e-9a3b-5d7e9f1a2b3c")},
                  current="bad-url")
    for name, expected in (("bad-url", "is not an http(s) URL"), ("no-key", "No API key is set")):
        from playment_submit.core.settings import set_current_profile
        set_current_profile(name)
        if name == "bad-url":
            monkeypatch.setenv("PLAYMENT_API_KEY", "a-key-0123456789")
        else:
            monkeypatch.delenv("PLAYMENT_API_KEY", raising=False)
        session = Session.from_settings()
        win = MainWindow(session)
        qtbot.addWidget(win)
        win.show()
        try:
            assert session.profile.name == name
            assert expected in win.connection.warning.text(), win.connection.warning.text()
        finally:
            win.close()
            QThreadPool.globalInstance().waitForDone(10000)
            session.close()
