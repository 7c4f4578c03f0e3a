"""Connection tab: pick a saved profile, store its key in the keyring (never in profiles.json), test it."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool

from playment_submit.core.journal import Journal
from playment_submit.core.session import Session
from playment_submit.core.settings import KEYRING_SERVICE, Profile, load_profiles, save_profiles
from playment_submit.gui.widgets.connection_panel import ConnectionPanel
from playment_submit.resources import sample_job_files

SAMPLE_PRIMARY = sample_job_files()["primary"]
WF_PROD, WF_OTHER = "0c6b1e2a-1f0d-4c8e-9a3b-5d7e9f1a2b3c", "7f3e2d1c-0b9a-4876-8543-210fedcba987"


def test_pick_a_profile_save_its_key_and_test_it(qtbot, sandbox, memory_keyring, tmp_path):
    save_profiles({"prod": Profile("prod", sandbox.base_url, sandbox.project_id, WF_PROD,
                                   batches={"week 1": "b-1"}),
                   "other": Profile("other", "https://example.invalid", "p2", WF_OTHER)}, current="prod")
    backend = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    backend.apply_connection(sandbox.base_url, sandbox.project_id, "wf", "an-old-key")
    panel = ConnectionPanel(backend)
    panel.connection_applied.connect(backend.apply_connection)  # as the main window wires it
    qtbot.addWidget(panel)
    panel.show()
    names = [panel.profile.itemText(i) for i in range(panel.profile.count())]
    assert set(names) == {"sandbox", "prod", "other"}

    panel.profile.setCurrentIndex(names.index("prod"))
    panel.profile.activated.emit(names.index("prod"))  # as a user picking it from the list
    assert (panel.base_url.text(), panel.workflow_id.text()) == (sandbox.base_url, WF_PROD)
    assert "No key stored" in panel.key_source.text()

    qtbot.keyClicks(panel.api_key, sandbox.api_key)
    with qtbot.waitSignal(panel.connection_applied) as applied:
        qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    assert applied.args[3] == sandbox.api_key  # the key just typed is the one used from now on
    assert memory_keyring.store[(KEYRING_SERVICE, "prod")] == sandbox.api_key
    assert panel.api_key.text() == "" and "OS keyring" in panel.key_source.text()
    text = (Path(os.environ["PLAYMENT_CONFIG_DIR"]) / "profiles.json").read_text()
    assert sandbox.api_key not in text
    assert load_profiles()[0]["prod"].batches == {"week 1": "b-1"}  # not dropped by saving

    qtbot.mouseClick(panel.test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.result.text().startswith(("✔", "✖")), timeout=15000)
    assert panel.result.text().startswith("✔"), panel.result.text()
    QThreadPool.globalInstance().waitForDone(5000)
    backend.journal.close()
    backend.sandbox = None


def test_switching_profile_shows_its_history_and_batches(qtbot, sandbox, tmp_path):
    from playment_submit.core.journal import default_journal_path
    from playment_submit.gui.main_window import MainWindow

    prod = Journal(default_journal_path("prod"))
    prod.mark_sending("frame-0042", {"reference_id": "frame-0042"})
    prod.mark_created("frame-0042", "job-prod-1")
    prod.close()
    save_profiles({"prod": Profile("prod", "http://127.0.0.1:9", "p-prod", WF_PROD,
                                   batches={"week 1": "b-1"})}, current="prod")
    backend = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "sandbox.sqlite"))
    win = MainWindow(backend)
    assert "SANDBOX" in win.badge.text() and "Sandbox" in win.windowTitle()
    qtbot.addWidget(win)
    win.show()
    panel = win.connection
    index = panel.profile.findText("prod")
    panel.profile.setCurrentIndex(index)
    panel.profile.activated.emit(index)
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    win.tabs.setCurrentWidget(win.history)
    qtbot.waitUntil(lambda: win.history.rowCount() == 1)
    assert win.history.item(0, 1).text() == "frame-0042" and win.history.item(0, 2).text() == "job-prod-1"
    assert [win.job.batch.itemData(i) for i in range(win.job.batch.count())] == [None, "b-1"]
    win.job.reference_id.setText("frame-0042")
    win.refresh()
    assert "job-prod-1" in win.job.reference_note.text()  # duplicate check uses the new profile's journal
    # Jobs now go to the profile's server, not the sandbox: the badge must stop saying "nothing goes out".
    assert "SANDBOX" not in win.badge.text() and "127.0.0.1:9" in win.badge.text()
    assert "Sandbox" not in win.windowTitle()
    win.close()
    QThreadPool.globalInstance().waitForDone(5000)
    backend.sandbox = None
    backend.close()


def test_a_workflow_id_that_is_not_a_uuid_is_said_and_nothing_is_saved_or_applied(qtbot, sandbox, memory_keyring,
                                                                                 tmp_path):
    default_batch = "11111111-1111-4111-8111-111111111111"
    save_profiles({"prod": Profile("prod", "https://api.example.com", "p-prod", WF_PROD,
                                   default_batch_id=default_batch, batches={"week 1": "b-1"})}, current="prod")
    backend = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    panel = ConnectionPanel(backend)
    qtbot.addWidget(panel)
    panel.show()
    applied = []
    panel.connection_applied.connect(lambda *args: applied.append(args))
    panel.profile_applied.connect(applied.append)
    index = panel.profile.findText("prod")
    panel.profile.setCurrentIndex(index)
    panel.profile.activated.emit(index)
    panel.workflow_id.setText("wf-prod")
    qtbot.keyClicks(panel.api_key, "typed-key")
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    text = panel.result.text()
    assert text.startswith('Profile "prod" was not saved.') and '"wf-prod" is not a UUID' in text
    assert applied == [] and (KEYRING_SERVICE, "prod") not in memory_keyring.store
    assert load_profiles()[0]["prod"].workflow_id == WF_PROD
    assert panel.api_key.text() == "typed-key"  # nothing to type again once the ID is fixed

    panel.workflow_id.setText(f" {WF_OTHER} ")
    panel.project_id.setText("p-new")
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    saved = load_profiles()[0]["prod"]
    assert (saved.workflow_id, saved.project_id) == (WF_OTHER, "p-new")
    assert (saved.default_batch_id, saved.batches) == (default_batch, {"week 1": "b-1"})  # kept by the merge
    assert memory_keyring.store[(KEYRING_SERVICE, "prod")] == "typed-key"
    assert [a.workflow_id if isinstance(a, Profile) else a[2] for a in applied] == [WF_OTHER, WF_OTHER]
    backend.journal.close()
    backend.sandbox = None


def test_no_keyring_warning_stays_visible_in_the_status_bar(qtbot, sandbox, tmp_path):
    from playment_submit.gui.main_window import MainWindow

    backend = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    backend.key_warning = ("No system keyring is available, so the API key is taken from PLAYMENT_API_KEY "
                           "and cannot be saved by this app.")
    win = MainWindow(backend)
    qtbot.addWidget(win)
    win.show()
    assert win.key_warning.isVisible() and "PLAYMENT_API_KEY" in win.key_warning.toolTip()
    assert not win.connection.warning.isHidden() and "PLAYMENT_API_KEY" in win.connection.warning.text()
    win.close()
    backend.sandbox = None
    backend.close()


def test_delete_a_profile_after_confirming_but_never_the_one_in_use(qtbot, sandbox, memory_keyring, tmp_path,
                                                                    monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from playment_submit.core.settings import set_api_key

    save_profiles({"old": Profile("old", "https://old.example.com", "p-old", "wf-old")}, current=None)
    set_api_key("old", "k-old")
    backend = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    panel = ConnectionPanel(backend)
    qtbot.addWidget(panel)
    panel.show()
    asked = []

    def answer(reply):
        def question(parent, title, text, *a, **k):
            asked.append(text)
            return reply
        monkeypatch.setattr(QMessageBox, "question", staticmethod(question))

    def pick(name):
        i = panel.profile.findText(name)
        panel.profile.setCurrentIndex(i)
        panel.profile.activated.emit(i)

    pick("sandbox")  # the profile in use: refused with the reason, nothing asked
    answer(QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(panel.delete, Qt.MouseButton.LeftButton)
    assert asked == [] and "in use" in panel.result.text()

    pick("old")
    answer(QMessageBox.StandardButton.No)  # the user changes their mind: nothing is deleted
    qtbot.mouseClick(panel.delete, Qt.MouseButton.LeftButton)
    assert '"old"' in asked[-1] and "old" in load_profiles()[0]

    answer(QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(panel.delete, Qt.MouseButton.LeftButton)
    assert "old" not in load_profiles()[0] and (KEYRING_SERVICE, "old") not in memory_keyring.store
    assert panel.profile.findText("old") == -1 and panel.profile.currentText() == "sandbox"
    assert panel.base_url.text() == sandbox.base_url  # the form shows the profile in use again
    assert "Deleted profile" in panel.result.text()
    backend.journal.close()
    backend.sandbox = None


def test_save_and_use_shows_the_real_key_state_and_keeps_the_sandbox_entry(qtbot, window, sandbox, memory_keyring,
                                                                          wait_idle):
    panel = window.connection
    assert panel.api_key.placeholderText() == "sandbox key in use"
    panel.profile.setEditText("staging")
    panel.base_url.setText("https://api.example.com")
    panel.project_id.setText("p-staging")
    panel.workflow_id.setText(WF_PROD)
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    names = [panel.profile.itemText(i) for i in range(panel.profile.count())]
    assert "sandbox" in names and "staging" in names  # the sandbox stays one pick away
    assert panel.api_key.placeholderText() == "paste the profile's API key"  # not "sandbox key in use"
    assert "No key stored" in panel.key_source.text()
    assert not window.session.api_key  # the sandbox's key is not carried over to another server
    window.primary.set_value(sandbox.add_file(SAMPLE_PRIMARY))
    window.job.reference_id.setText("k-1")
    window.refresh()
    qtbot.waitUntil(lambda: window.is_idle() and "No API key is set" in window.job.reasons.text(), timeout=10000)
    assert not window.job.submit.isEnabled() and "Connection tab" in window.job.reasons.text()
    assert load_profiles()[1] == "staging"  # the profile in use persists

    qtbot.keyClicks(panel.api_key, "staging-key")
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    assert panel.api_key.text() == "" and "OS keyring" in panel.api_key.placeholderText()
    assert window.session.api_key == "staging-key"

    index = panel.profile.findText("sandbox")  # and back to the sandbox, remembered as in use
    panel.profile.setCurrentIndex(index)
    panel.profile.activated.emit(index)
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    assert window.session.sandbox_mode and window.session.api_key == sandbox.api_key
    assert load_profiles()[1] == "sandbox" and "sandbox" not in load_profiles()[0]
    assert panel.api_key.placeholderText() == "sandbox key in use"


def test_the_connection_test_follows_the_sessions_retry_policy(qtbot, sandbox, memory_keyring, tmp_path):
    """The panel's test takes the Session's policy (made quick): no timeout or retry numbers of its own. A server
    that never answers is given up on after the policy's probe_timeout, asked probe_retries + 1 times."""
    import time

    from playment_submit.core.retry import RetryPolicy
    from tests.hostile import HostileServer, answer

    backend = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    backend.retry = RetryPolicy(probe_timeout=0.4, probe_retries=2, backoff_base=0.001, backoff_cap=0.01)
    panel = ConnectionPanel(backend)
    qtbot.addWidget(panel)
    def click_test() -> float:
        start = time.monotonic()
        panel.result.setText("")
        qtbot.mouseClick(panel.test, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.result.text().startswith(("✔", "✖")), timeout=15000)
        assert panel.result.text().startswith("✖"), panel.result.text()
        return time.monotonic() - start

    with HostileServer(lambda s, conn, req: time.sleep(5)) as silent:
        panel.base_url.setText(silent.base_url)
        elapsed = click_test()
        assert elapsed < 3, elapsed  # the policy's 0.4 s, not the fixed (5 s, 10 s) the panel used to pick
    with HostileServer(lambda s, conn, req: answer(conn, 503, b"busy", reason="Unavailable")) as busy:
        panel.base_url.setText(busy.base_url)
        qtbot.waitUntil(lambda: panel.test.isEnabled(), timeout=5000)
        click_test()
        assert len(busy.requests) == 3  # probe_retries + 1 (the panel used to retry once whatever the policy)
    QThreadPool.globalInstance().waitForDone(5000)
    backend.journal.close()
    backend.sandbox = None


def test_the_connection_tab_says_which_certificates_and_proxy_the_base_url_gets(qtbot, window, monkeypatch):
    monkeypatch.delenv("https_proxy", raising=False)  # lower case would win, as curl has it
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    panel = window.connection
    panel.base_url.setText("https://api.playment.io")
    assert "Proxy: http://proxy.example.com:3128 (HTTPS_PROXY)" in panel.network.text()
    assert panel.network.text().startswith("Trust: the system's certificates")
    panel.base_url.setText("http://127.0.0.1:8765")
    assert "a local server is never proxied" in panel.network.text()
