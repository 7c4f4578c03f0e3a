"""Without a keyring the key typed for a profile is kept for the session (issue 23 item 9), and after "Save and
use" the key box never says "No key stored for this profile yet" for the key in use (item 11). Memory only."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError
from PySide6.QtCore import Qt

from playment_submit.core.settings import Profile, forget_session_keys, save_profiles


class NoKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service, username):
        raise KeyringError("no backend")

    def set_password(self, service, username, password):
        raise KeyringError("no backend")

    def delete_password(self, service, username):
        raise KeyringError("no backend")


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    yield
    keyring.set_keyring(previous)
    forget_session_keys()


def test_the_key_typed_without_a_keyring_is_kept_when_switching_profiles_and_back(qtbot, window, sandbox,
                                                                                 no_keyring, tmp_path):
    save_profiles({"prod": Profile("prod", sandbox.base_url, sandbox.project_id, sandbox.workflow_id),
                   "other": Profile("other", sandbox.base_url, "p2", sandbox.workflow_id)}, current=None)
    panel = window.connection

    def pick(name: str) -> None:
        panel.profile.setEditText(name)  # as typed; the handler reads the text shown
        panel.profile.activated.emit(panel.profile.currentIndex())

    pick("prod")
    qtbot.keyClicks(panel.api_key, "typed-key-0123456789")
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.profile.name == "prod", timeout=5000)
    assert window.session.api_key == "typed-key-0123456789"
    assert "No key stored" not in panel.key_source.text() and "this session only" in panel.key_source.text()

    pick("other")
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.profile.name == "other", timeout=5000)
    assert window.session.api_key != "typed-key-0123456789"  # never another profile's key

    pick("prod")
    assert "this session only" in panel.key_source.text()
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.profile.name == "prod", timeout=5000)
    assert window.session.api_key == "typed-key-0123456789"  # was forgotten before the fix
    written = "".join(p.read_text(errors="replace") for p in Path(os.environ["PLAYMENT_CONFIG_DIR"]).rglob("*")
                      if p.is_file())
    assert "typed-key-0123456789" not in written
