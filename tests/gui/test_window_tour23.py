"""The window from the second tour (issue 23): keys, wording and what the window says after edits."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def _mnemonic(text: str) -> str | None:
    i = text.replace("&&", "").find("&")
    return text.replace("&&", "")[i + 1].lower() if i >= 0 else None


def test_alt_j_opens_the_job_tab_and_no_menu_shares_a_tab_key(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    tabs = {_mnemonic(window.tabs.tabText(i)) for i in range(window.tabs.count())}
    menus = {_mnemonic(a.text()) for a in window.menuBar().actions()} - {None}
    assert not tabs & menus, tabs & menus
    window.tabs.setCurrentWidget(window.bulk)
    QTest.keyClick(window, Qt.Key.Key_J, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentIndex() == 0


def test_renaming_a_class_keeps_the_problem_list_saying_none(qtbot, window, wait_idle):
    from playment_submit.resources import sample_classes
    window.load_sample()
    wait_idle(window)
    panel = window.mask_panel
    assert panel.problem_texts() == ["None: every pixel is unlabelled or a legend colour."]
    panel.legend_table.item(sample_classes().index("coffee"), 2).setText("espresso")
    assert panel.problem_texts() == ["None: every pixel is unlabelled or a legend colour."]


def test_one_class_is_one_class_not_one_classes(qtbot, window, wait_idle, tmp_path):
    from PIL import Image
    Image.new("RGBA", (8, 6), (255, 0, 0, 255)).save(tmp_path / "m.png")
    window.mask_panel.load(str(tmp_path / "m.png"), {"#ff0000": "car"})
    qtbot.waitUntil(lambda: window.mask_state is not None, timeout=10000)
    wait_idle(window)
    assert ", 1 class," in window.mask_panel.status.text(), window.mask_panel.status.text()


def test_job_created_goes_when_another_job_is_edited(qtbot, window, wait_idle):
    window.load_sample()
    wait_idle(window)
    with qtbot.waitSignal(window.submit_succeeded, timeout=20000):
        window.submit()
    wait_idle(window)
    assert window.job.result.isVisible() and "Job created" in window.job.result.text()
    window.refresh()
    assert window.job.result.isVisible()  # nothing changed: the news stays
    window.job.reference_id.setText("another-job")
    wait_idle(window)
    window.refresh()
    assert not window.job.result.isVisible() and window.job.result.text() == ""


def test_ctrl_n_after_zooming_leaves_the_empty_view_unzoomed(qtbot, window, wait_idle):
    window.load_sample()
    wait_idle(window)
    window.view.zoom(4.0)
    assert window.view.transform().m11() > 1
    assert window.files.new_job()
    wait_idle(window)
    assert window.view.image_item is None and window.view.overlay_item is None
    assert window.view.transform().isIdentity()
    assert window.view._placeholder.isVisible()


def test_the_autosave_is_offered_and_declining_forgets_it(qtbot, make_window, wait_idle):
    from playment_submit.core import draft as drafts
    from playment_submit.resources import sample_job_files
    win = make_window()
    win.primary.set_value(str(sample_job_files()["primary"]))
    win.job.reference_id.setText("crash-test")
    wait_idle(win)
    qtbot.waitUntil(lambda: drafts.read_autosave() is not None, timeout=5000)
    asked: list[str] = []
    win2 = make_window()
    win2.files.ask_restore = lambda summary: asked.append(summary) or False
    assert win2.files.restore_autosave() is False
    assert asked == [f'the job "crash-test" ({sample_job_files()["primary"].name})']
    assert win2.job.reference_id.text() == "" and drafts.read_autosave() is None
    wait_idle(win2)


def test_cameras_list_marks_a_duplicate_shows_file_names_and_hints_when_empty(qtbot, window, wait_idle, tmp_path):
    from PySide6.QtGui import QColor

    from playment_submit.gui.style import status_colour
    from playment_submit.gui.widgets.references_panel import row_text
    from playment_submit.resources import sample_job_files
    refs = window.references
    window.inputs.setCurrentWidget(refs)
    assert refs.list.count() == 0 and "Add files" in refs.list.empty_hint
    shot = refs.list.grab().toImage()  # the hint is painted on the empty list
    assert any(QColor(shot.pixel(x, y)) != QColor(shot.pixel(0, 0)) for x in range(5, shot.width() - 5, 3)
               for y in range(5, min(60, shot.height() - 5), 3))
    a, b = sample_job_files()["references"][0][1], sample_job_files()["references"][1][1]
    refs.add(str(a), "front")
    refs.add(str(b), "Front")
    wait_idle(window)
    window.refresh()
    assert refs.list.item(1).foreground().color() == status_colour("error")
    assert "already used" in refs.list.item(1).toolTip()
    assert row_text(refs.list.item(0)) == f"front\n{a.name}"  # the file name shown, not only in a tooltip
    assert refs.list.item(0).text() == "front"  # what is edited and sent is the label alone


def test_the_first_add_files_dialog_opens_in_the_primary_images_folder(qtbot, window, wait_idle, monkeypatch):
    from playment_submit.gui import dialogs
    from playment_submit.resources import sample_job_files
    primary = sample_job_files()["primary"]
    window.primary.set_value(str(primary))
    wait_idle(window)
    seen: list[str] = []
    monkeypatch.setattr(dialogs.QFileDialog, "getOpenFileNames",
                        staticmethod(lambda parent, title, start, filters: (seen.append(start), ([], ""))[1]))
    window.references.add_files.click()
    assert seen == [str(primary.parent)]


def test_unusable_storage_chosen_leaves_no_storage_and_says_why(qtbot, window, wait_idle):
    """Storage the Connection tab chose that cannot be used (S3 without a bucket) does not leave the previous
    storage (the sandbox's) in use: nothing is uploaded, the tab's warning and Submit say why."""
    from playment_submit.core.storage import SandboxStorage
    assert isinstance(window.session.storage, SandboxStorage)
    window.connection.storage_applied.emit({"kind": "s3"})
    refusal = window.session.storage_refusal()
    assert refusal and not isinstance(window.session.storage, SandboxStorage)
    assert refusal in window.connection.warning.text() and window.connection.warning.isVisibleTo(window.connection)
    assert refusal.split(".")[0] in window.badge.toolTip()
    window.load_sample()
    wait_idle(window)
    assert not window.job.submit.isEnabled()
    assert refusal.split(".")[0] in window.job.reasons.text()


def test_a_primary_over_the_pixel_cap_is_not_shown_as_fine_and_the_mask_size_is_still_checked(
        qtbot, window, wait_idle, monkeypatch, tmp_path):
    monkeypatch.setenv("PLAYMENT_MAX_MEGAPIXELS", "0.1")  # the sample's 600 x 400 primary is over it
    window.load_sample()
    wait_idle(window)
    assert "PLAYMENT_MAX_MEGAPIXELS" in window.primary.info.text()
    assert window.primary.image_size == (600, 400) and window.view.image_item is None
    assert not window.job.submit.isEnabled() and "over the limit" in window.job.reasons.text()
    # a mask of another size is still said (the header's size), beside the size blocker
    from PIL import Image
    Image.new("RGBA", (300, 200), (255, 0, 0, 255)).save(tmp_path / "small.png")
    window.mask_panel.load(str(tmp_path / "small.png"), {"#ff0000": "car"})
    wait_idle(window)
    assert any("600 x 400" in t for t in window.mask_panel.problem_texts()), window.mask_panel.problem_texts()
    qtbot.waitUntil(lambda: "600 x 400" in window.job.reasons.text(), timeout=10000)


def test_a_file_deleted_or_emptied_after_it_was_chosen_disables_submit_within_seconds(qtbot, window, wait_idle,
                                                                                      tmp_path):
    import shutil

    from playment_submit.resources import sample_job_files
    window.load_sample()
    wait_idle(window)
    camera = tmp_path / "cam.png"
    shutil.copy(sample_job_files()["references"][0][1], camera)
    window.references.add(str(camera), "extra")
    wait_idle(window)
    qtbot.waitUntil(lambda: window.job.submit.isEnabled(), timeout=20000)
    camera.write_bytes(b"")  # emptied by another program; nothing in the window is touched
    qtbot.waitUntil(lambda: not window.job.submit.isEnabled() and "empty" in window.job.reasons.text(),
                    timeout=6000)
    camera.unlink()
    qtbot.waitUntil(lambda: "does not exist" in window.job.reasons.text(), timeout=6000)
    shutil.copy(sample_job_files()["references"][0][1], camera)  # put back: Submit comes back
    qtbot.waitUntil(lambda: window.job.submit.isEnabled(), timeout=20000)


def test_at_1024x700_the_image_view_gets_a_fair_share(qtbot, window, wait_idle):
    window.resize(1280, 800)
    window.load_sample()
    wait_idle(window)
    window.resize(1024, 700)
    qtbot.wait(50)
    inputs, view, job = window.split.sizes()
    assert view >= 0.35 * (inputs + view + job), window.split.sizes()
    assert inputs <= 360 and window.inputs.minimumSizeHint().width() <= 360  # no tab forces a wide panel


def test_a_job_file_naming_files_outside_its_folder_is_said_beside_the_job(qtbot, window, wait_idle, tmp_path):
    import json
    import shutil

    from playment_submit.resources import sample_job_files
    (tmp_path / "jobs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(sample_job_files()["primary"], tmp_path / "elsewhere" / "p.png")
    job = tmp_path / "jobs" / "job.json"
    job.write_text(json.dumps({"reference_id": "far", "data": {"image_url": "../elsewhere/p.png"}}))
    assert window.files.open_path(str(job))
    wait_idle(window)
    window.refresh()
    note = window.job.reference_note
    assert note.isVisibleTo(window.job) and "outside its folder" in note.text() and "p.png" in note.text()
    assert window.job.submit.isEnabled() or "outside" not in window.job.reasons.text()  # a warning, no blocker
