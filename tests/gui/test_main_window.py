"""The window driven as a user would (pytest-qt, offscreen), against a real sandbox over HTTP."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import requests
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QFileDialog

from playment_submit.core.journal import Journal
from playment_submit.core.session import Session
from playment_submit.gui.widgets import mask_panel as mask_panel_module
from playment_submit.resources import sample_classes, sample_job_files

SAMPLE = sample_job_files()


def key_of(sandbox):
    """The header that reads the sandbox's files (it serves them only with the key or a signed URL)."""
    return {"x-api-key": sandbox.api_key}


def build_job_as_a_user(qtbot, win, monkeypatch, wait_idle):
    """Browse for the primary, add two cameras at once, colour-code the sample index mask."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(SAMPLE["primary"]), "")))
    qtbot.mouseClick(win.primary.browse, Qt.MouseButton.LeftButton)
    cams = [str(p) for _, p in SAMPLE["references"]]
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: (cams, "")))
    qtbot.mouseClick(win.references.add_files, Qt.MouseButton.LeftButton)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(SAMPLE["index_mask"]), "")))
    monkeypatch.setattr(mask_panel_module.ClassNamesDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(mask_panel_module.ClassNamesDialog, "names", lambda self: sample_classes())
    qtbot.mouseClick(win.mask_panel.code_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.mask_state is not None, timeout=20000)
    wait_idle(win)


def test_build_and_submit_a_job_with_two_cameras_and_a_coded_mask(qtbot, window, sandbox, monkeypatch, wait_idle):
    build_job_as_a_user(qtbot, window, monkeypatch, wait_idle)
    assert [label for label, _ in window.references.references()] == ["camera 1", "camera 2"]
    assert window.job.reference_id.text() == "primary"  # suggested from the file name
    assert window.job.submit.isEnabled(), window.job.reasons.text()
    preview = json.loads(window.job.preview.toPlainText())
    with qtbot.waitSignal(window.submit_succeeded, timeout=20000) as blocker:
        qtbot.mouseClick(window.job.submit, Qt.MouseButton.LeftButton)
    created = blocker.args[0]
    [stored] = sandbox.jobs()
    assert stored["payload"] == preview  # exactly what the preview showed
    assert stored["job_id"] == created.job_id and created.job_id in window.job.result.text()
    data = stored["payload"]["data"]
    assert requests.get(data["image_url"], headers=key_of(sandbox), timeout=5).content == SAMPLE["primary"].read_bytes()
    for img, (_, path) in zip(data["reference_data"]["raster"]["images"], SAMPLE["references"], strict=True):
        assert requests.get(img["image_url"], headers=key_of(sandbox), timeout=5).content == path.read_bytes()
    mask_url = data["maker_response"]["raster"]["data"]["url"]
    mask_bytes = requests.get(mask_url, headers=key_of(sandbox), timeout=5).content
    assert mask_bytes == window.mask_state.path.read_bytes()
    assert set(data["maker_response"]["raster"]["data"]["legend"].values()) == set(sample_classes())
    window.tabs.setCurrentWidget(window.history)
    qtbot.waitUntil(lambda: window.history.rowCount() == 1)
    assert window.history.item(0, 2).text() == created.job_id


def _submit_and_fail(qtbot, win) -> str:
    with qtbot.waitSignal(win.submit_failed, timeout=30000):
        qtbot.mouseClick(win.job.submit, Qt.MouseButton.LeftButton)
    assert win.job.error.isVisible()
    return win.job.error.text()


def _url_job(win, sandbox, wait_idle):
    """A job of URLs only (sandbox files), so refusals come from the API, not from storage."""
    win.primary.set_value(sandbox.add_file(SAMPLE["primary"]))
    for label, path in SAMPLE["references"]:
        win.references.add(sandbox.add_file(path), label)
    win.job.reference_id.setText("refusal-test")
    wait_idle(win)
    assert win.job.submit.isEnabled(), win.job.reasons.text()


def assert_form_kept(win, sandbox):
    assert win.job.reference_id.text() == "refusal-test"
    assert win.primary.value().startswith(sandbox.base_url)
    assert [label for label, _ in win.references.references()] == ["camera 1", "camera 2"]


def test_duplicate_reference_shows_fs_0001_and_keeps_the_form(qtbot, window, sandbox, wait_idle):
    _url_job(window, sandbox, wait_idle)
    with qtbot.waitSignal(window.submit_succeeded, timeout=20000):
        qtbot.mouseClick(window.job.submit, Qt.MouseButton.LeftButton)
    wait_idle(window)
    # Said once: core's refusal under Submit, not also the note beside the reference ID.
    assert not window.job.reference_note.isVisibleTo(window)
    job_id = window.session.journal.get("refusal-test").job_id
    posts = sandbox.stats()["POST jobs"]
    # The journal knows it: Submit is disabled before any click, with the sentence `submit` prints.
    assert not window.job.submit.isEnabled()
    reasons = window.job.reasons.text()
    assert job_id in reasons and "not sent again" in reasons and "already submitted" in reasons
    window.submit()  # asked anyway (a shortcut, a script): refused without a request
    assert sandbox.stats()["POST jobs"] == posts and window.session.journal.get("refusal-test").state == "created"
    assert_form_kept(window, sandbox)
    window.session.journal.forget("refusal-test")  # as if submitted from elsewhere: the server must refuse
    window.refresh()
    wait_idle(window)
    message = _submit_and_fail(qtbot, window)
    assert "already exists" in message and "FS_0001" in message
    assert_form_kept(window, sandbox)
    assert sandbox.job_count() == 1


def test_rejected_key_shows_the_message_and_keeps_the_form(qtbot, window, sandbox, wait_idle):
    _url_job(window, sandbox, wait_idle)
    window.session.apply_connection(sandbox.base_url, sandbox.project_id, sandbox.workflow_id, "wrong-key")
    message = _submit_and_fail(qtbot, window)
    assert "rejected the API key" in message
    assert_form_kept(window, sandbox)
    assert sandbox.job_count() == 0


def test_server_down_shows_the_message_and_keeps_the_form(qtbot, window, sandbox, wait_idle):
    _url_job(window, sandbox, wait_idle)
    window.session.apply_connection("http://127.0.0.1:9", sandbox.project_id, sandbox.workflow_id, None)
    message = _submit_and_fail(qtbot, window)
    assert "Could not reach" in message
    assert_form_kept(window, sandbox)


def _scene_to_view(win, x, y):
    return win.view.mapFromScene(QPointF(x + 0.5, y + 0.5))


def test_overlay_shows_the_legend_colour_at_a_known_pixel_and_hover_names_it(qtbot, window, wait_idle):
    window.load_sample()
    qtbot.waitUntil(lambda: window.mask_state is not None and window.view.image_item is not None, timeout=20000)
    wait_idle(window)
    window.mask_panel.opacity.setValue(100)
    index = np.asarray(Image.open(SAMPLE["index_mask"]))
    x, y = 288, 144
    name = sample_classes()[int(index[y, x]) - 1]
    assert name == "coffee"
    hexkey = next(k for k, v in window.mask_state.legend.items() if v == name)
    expected = tuple(int(hexkey[i:i + 2], 16) for i in (1, 3, 5))
    window.view.resetTransform()  # 4 screen pixels per image pixel: the mapping below is exact
    window.view.scale(4, 4)
    window.view.centerOn(x + 0.5, y + 0.5)
    qtbot.wait(50)
    shot = window.view.viewport().grab().toImage()
    p = _scene_to_view(window, x, y)
    c = shot.pixelColor(p)
    assert max(abs(a - b) for a, b in zip((c.red(), c.green(), c.blue()), expected, strict=True)) <= 3
    # Hiding the class shows the photo again (a colour-table change, no recompositing).
    window.mask_panel.legend_table.item(sample_classes().index(name), 0).setCheckState(Qt.CheckState.Unchecked)
    qtbot.wait(50)
    hidden = window.view.viewport().grab().toImage().pixelColor(p)
    assert (hidden.red(), hidden.green(), hidden.blue()) != (c.red(), c.green(), c.blue())
    QTest.mouseMove(window.view.viewport(), p)
    qtbot.waitUntil(lambda: name in window.hover.text())
    assert f"x {x}, y {y}" in window.hover.text() and hexkey in window.hover.text()


def test_invalid_legend_keeps_submit_disabled_with_the_reason(qtbot, window, tmp_path, wait_idle):
    window.primary.set_value(str(SAMPLE["primary"]))
    mask = np.zeros((400, 600, 4), np.uint8)
    mask[10:50, 10:50] = (253, 255, 52, 255)
    Image.fromarray(mask, "RGBA").save(tmp_path / "m.png")
    (tmp_path / "legend.json").write_text(json.dumps({"#fdffd34": "Person 1"}))
    window.mask_panel.load_files(str(tmp_path / "m.png"), str(tmp_path / "legend.json"))
    qtbot.waitUntil(lambda: window.mask_state is not None, timeout=20000)
    wait_idle(window)
    assert not window.job.submit.isEnabled()
    assert not window.submit_action.isEnabled()
    assert "#fdffd34" in window.job.reasons.text()
    assert window.mask_panel.problems.count() >= 1


def test_file_dialogs_start_in_the_last_folder_used(qtbot, window, monkeypatch, tmp_path):
    seen = []
    picked = tmp_path / "frames" / "a.png"
    picked.parent.mkdir()
    Image.new("RGB", (4, 4)).save(picked)

    def fake(parent, title, start, filters):
        seen.append(start)
        return str(picked), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake))
    qtbot.mouseClick(window.primary.browse, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.primary.browse, Qt.MouseButton.LeftButton)
    assert seen[1] == str(picked.parent)


def test_storage_settings_switch_uploads_off_and_back(qtbot, window, sandbox, wait_idle):
    window.primary.set_value(str(SAMPLE["primary"]))
    wait_idle(window)
    assert window.job.submit.isEnabled(), window.job.reasons.text()
    panel = window.connection
    panel.storage_kind.setCurrentIndex(panel.storage_kind.findData("none"))
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    wait_idle(window)
    assert not window.job.submit.isEnabled() and "local file" in window.job.reasons.text()
    panel.storage_kind.setCurrentIndex(panel.storage_kind.findData("s3"))
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)  # no bucket: said, old storage kept
    assert "bucket" in panel.result.text()
    panel.storage_kind.setCurrentIndex(panel.storage_kind.findData("sandbox"))
    qtbot.mouseClick(panel.save, Qt.MouseButton.LeftButton)
    wait_idle(window)
    assert window.job.submit.isEnabled()
    assert "api_key" not in (Path(os.environ["PLAYMENT_CONFIG_DIR"]) / "profiles.json").read_text()


def test_reference_rows_get_thumbnails_for_files_and_urls(qtbot, window, sandbox):
    window.references.add(str(SAMPLE["references"][0][1]))
    window.references.add(sandbox.add_file(SAMPLE["references"][1][1]))
    window.references.add("s3://bucket-a/cam3.png")
    items = [window.references.list.item(i) for i in range(3)]
    qtbot.waitUntil(lambda: not items[0].icon().isNull() and not items[1].icon().isNull(), timeout=10000)
    assert items[2].icon().isNull()  # not previewable here; still a valid reference
    assert [label for label, _ in window.references.references()] == ["camera 1", "camera 2", "camera 3"]


def test_new_batch_is_created_through_the_api_and_used(qtbot, window, sandbox, monkeypatch, wait_idle):
    from PySide6.QtWidgets import QInputDialog
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("night drive", True)))
    qtbot.mouseClick(window.job.new_batch, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.job.batch.count() == 2, timeout=10000)
    batch_id = window.job.batch.currentData()
    assert window.session.profile.batches == {"night drive": batch_id}
    _url_job(window, sandbox, wait_idle)
    assert json.loads(window.job.preview.toPlainText())["batch_id"] == batch_id
    with qtbot.waitSignal(window.submit_succeeded, timeout=20000):
        qtbot.mouseClick(window.job.submit, Qt.MouseButton.LeftButton)
    assert sandbox.jobs()[0]["batch_id"] == batch_id


def test_profile_batches_are_offered_and_saved(tmp_path):
    from playment_submit.core.settings import Profile, load_profiles, save_profiles
    save_profiles({"work": Profile(name="work", project_id="p", batches={"b": "00000000-0000-4000-8000-000000000001"})},
                  current="work")
    profiles, current = load_profiles()
    assert current == "work" and profiles["work"].batches == {"b": "00000000-0000-4000-8000-000000000001"}


def test_backend_remembers_batches_in_a_saved_profile_but_not_in_sandbox_mode(sandbox, tmp_path):
    from playment_submit.core.settings import Profile, load_profiles, save_profiles
    save_profiles({"work": Profile(name="work", project_id="p")}, current="work")
    b = Session("https://api.playment.io", "p", "wf", "key", profile=load_profiles()[0]["work"])
    b.remember_batch("night", "00000000-0000-4000-8000-000000000002")
    assert load_profiles()[0]["work"].batches == {"night": "00000000-0000-4000-8000-000000000002"}
    sb = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    sb.remember_batch("temp", "00000000-0000-4000-8000-000000000003")
    assert "sandbox" not in load_profiles()[0]
    assert sb.profile.batches == {"temp": "00000000-0000-4000-8000-000000000003"}
    sb.journal.close()


def test_closing_during_a_bulk_run_finishes_what_is_in_flight_and_loses_nothing(qtbot, make_sandbox, make_window,
                                                                                 tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    slow = make_sandbox(latency_ms=100)
    win = make_window(slow)
    backend = win.session
    manifest = tmp_path / "m.csv"
    manifest.write_text("reference_id,image\n" + "".join(f"r{i:03d},https://example.com/{i}.png\n"
                                                         for i in range(200)))
    win.bulk.concurrency.setValue(2)
    with qtbot.waitSignal(win.bulk.manifest_checked, timeout=20000):
        win.bulk.open_path(str(manifest))
    win.bulk.submit()
    qtbot.waitUntil(lambda: slow.job_count() >= 2, timeout=10000)

    answers = iter([QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: next(answers)))
    win.close()  # "No": keeps the window and the run going
    assert win.isVisible() and win.is_sending()
    win.close()  # "Yes": stop, let the requests on their way finish, then close (at once when none is on its way)
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=20000)
    assert not win.is_sending()
    created = {j["reference_id"]: j["job_id"] for j in slow.jobs()}
    assert 0 < len(created) < 200  # it stopped early...
    journalled = {e.reference_id: e.job_id for e in backend.journal.entries() if e.state == "created"}
    assert journalled == created  # ...and every job the server holds is recorded with its job_id


def test_is_idle_only_once_the_image_is_loaded_and_the_preview_refreshed(qtbot, window, wait_idle):
    wait_idle(window)
    assert window.is_idle()
    window.primary.set_value(str(SAMPLE["primary"]))
    assert not window.is_idle()  # loading the image
    wait_idle(window)
    assert window.view.image_item is not None
    shown = json.loads(window.job.preview.toPlainText())  # final: the file's upload address, not its path
    assert shown["reference_id"] == "primary" and shown["data"]["image_url"].endswith("/primary.png")
    assert shown["data"]["image_url"] != window.primary.value()


# ------------------------------------------------------------------ honest state, layout and keyboard
def test_submit_is_disabled_for_a_missing_file_and_a_used_reference_id(qtbot, window, tmp_path, wait_idle):
    import shutil
    primary = tmp_path / "p.png"
    shutil.copy(SAMPLE["primary"], primary)
    window.primary.set_value(str(primary))
    window.job.reference_id.setText("ok-1")
    window.refresh()
    wait_idle(window)
    qtbot.waitUntil(lambda: window.job.submit.isEnabled() and window.submit_action.isEnabled(), timeout=10000)
    primary.unlink()  # the file goes away: Submit follows core's verdict, before any click
    window.refresh()
    qtbot.waitUntil(lambda: not window.job.submit.isEnabled() and window.is_idle(), timeout=10000)
    assert not window.submit_action.isEnabled() and "p.png" in window.job.reasons.text()
    shutil.copy(SAMPLE["primary"], primary)
    window.refresh()
    qtbot.waitUntil(lambda: window.job.submit.isEnabled(), timeout=10000)
    with qtbot.waitSignal(window.submit_succeeded, timeout=20000):
        qtbot.mouseClick(window.job.submit, Qt.MouseButton.LeftButton)
    window.job.clear_outcome()
    window.refresh()  # the same reference ID again: refused before any click
    qtbot.waitUntil(lambda: window.is_idle() and "already submitted" in window.job.reasons.text(), timeout=10000)
    assert not window.job.submit.isEnabled() and not window.submit_action.isEnabled()
    window.job.reference_id.setText("fresh-1")  # the cause is gone: so is the message
    window.refresh()
    qtbot.waitUntil(lambda: window.job.submit.isEnabled(), timeout=10000)
    assert "already submitted" not in window.job.reasons.text() + window.job.reference_note.text()


def test_toolbar_submit_only_on_the_job_tab(qtbot, window):
    window.tabs.setCurrentWidget(window.bulk)
    assert not window.submit_action.isVisible() and not window.submit_action.isEnabled()
    window.tabs.setCurrentIndex(0)
    assert window.submit_action.isVisible()


def test_result_shows_the_whole_job_id_selectable_with_copy(qtbot, window):
    from PySide6.QtGui import QGuiApplication
    job_id = "5f0c3e76-efa5-4a7f-9f6c-b708117f9051"
    window.job.show_success(job_id, "created", "chelsea")
    assert job_id in window.job.result.text() and window.job.result.isVisible()
    assert window.job.result.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert window.job.result.wordWrap()
    qtbot.mouseClick(window.job.copy_job_id, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == job_id


def test_a_failure_message_goes_when_the_connection_changes(qtbot, window, sandbox, wait_idle):
    _url_job(window, sandbox, wait_idle)
    window.session.apply_connection("http://127.0.0.1:9", sandbox.project_id, sandbox.workflow_id, None)
    text = _submit_and_fail(qtbot, window)
    assert "127.0.0.1:9" in text
    window.on_connection_applied(sandbox.base_url, sandbox.project_id, sandbox.workflow_id, sandbox.api_key)
    window.refresh()
    assert not window.job.error.isVisible()


def test_primary_error_goes_when_another_image_is_chosen(qtbot, window, tmp_path):
    window.primary.set_value(str(tmp_path / "missing.png"))
    qtbot.waitUntil(lambda: "does not exist" in window.primary.info.text(), timeout=5000)
    window.primary.set_value(str(SAMPLE["primary"]))
    assert "does not exist" not in window.primary.info.text()
    qtbot.waitUntil(lambda: "600" in window.primary.info.text(), timeout=5000)


def test_tabs_have_mnemonics_and_the_splitter_cannot_collapse(window):
    inner = [window.inputs.tabText(i) for i in range(window.inputs.count())]
    outer = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert all("&" in t for t in inner + outer)
    letters = [t[t.index("&") + 1].lower() for t in inner + outer]
    assert len(set(letters)) == len(letters)  # no two tabs share a key
    assert not window.split.childrenCollapsible()
    window.split.setSizes([0, 0, 2000])
    assert window.split.sizes()[1] >= window.view.minimumWidth()


def test_delete_removes_the_selected_camera(qtbot, window):
    window.references.add(str(SAMPLE["references"][0][1]), "a")
    window.references.add(str(SAMPLE["references"][1][1]), "b")
    window.inputs.setCurrentWidget(window.references)
    window.references.list.setCurrentRow(0)
    window.references.list.setFocus()
    QTest.keyClick(window.references.list, Qt.Key.Key_Delete)
    assert [label for label, _ in window.references.references()] == ["b"]


def test_nothing_clipped_at_1024x700(qtbot, window):
    window.resize(1024, 700)
    assert window.minimumSizeHint().width() <= 1024 and window.width() == 1024  # the whole window fits
    window.load_sample()
    qtbot.waitUntil(lambda: window.mask_state is not None and window.is_idle(), timeout=20000)
    combo = window.job.batch
    need = combo.fontMetrics().horizontalAdvance(combo.itemText(0))
    assert combo.width() >= need + 20, (combo.width(), need)  # "Default batch" whole, not "... bat"
    assert window.view.width() >= window.view.minimumWidth()


def test_after_a_send_the_taken_reference_id_is_news_not_an_error(qtbot, window, wait_idle, sample_ready):
    """Right after Submit the same core sentence stops a second send, shown as information; a different
    problem, or another job with a used ID, stays an error."""
    sample_ready(window, "sent-once")
    with qtbot.waitSignal(window.submit_succeeded, timeout=30000):
        qtbot.mouseClick(window.job.submit, Qt.MouseButton.LeftButton)
    wait_idle(window)
    window.refresh()
    wait_idle(window)
    text = window.job.reasons.text()
    assert text.startswith("Sent. To send another job") and "already submitted" in text
    assert window.job.reasons.property("status") == "muted" and not window.job.submit.isEnabled()
    window.job.reference_id.setText("")
    wait_idle(window)
    window.refresh()
    wait_idle(window)
    assert window.job.reasons.text().startswith("Cannot submit yet")
    assert window.job.reasons.property("status") == "error"


def test_once_a_submit_s_outcome_is_shown_quitting_asks_nothing(qtbot, window, sandbox, wait_idle):
    """The failure is on screen: the job is no longer being sent, even before its worker's "finished" arrives
    (quitting then asked "Jobs are being sent" for a job that had failed; under load a test hung on it)."""
    _url_job(window, sandbox, wait_idle)
    window.session.apply_connection("http://127.0.0.1:9", sandbox.project_id, sandbox.workflow_id, None)
    window._on_submit_finished, finished = (lambda: None), window._on_submit_finished  # "finished" held back
    try:
        with qtbot.waitSignal(window.submit_failed, timeout=30000):
            qtbot.mouseClick(window.job.submit, Qt.MouseButton.LeftButton)
        assert window._submit_worker is not None and not window.is_sending()
    finally:
        window._on_submit_finished = finished
        finished()
