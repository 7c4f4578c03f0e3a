"""Reference cameras: files dropped from outside become rows labelled camera 1, camera 2, ..."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QThreadPool, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from playment_submit.gui.widgets.references_panel import ReferencesPanel


def test_dropping_files_adds_camera_rows_with_thumbnails(qtbot, tmp_path):
    files = []
    for n in ("front", "rear"):
        files.append(tmp_path / f"{n}.png")
        Image.new("RGB", (40, 30), "red").save(files[-1])
    panel = ReferencesPanel()
    qtbot.addWidget(panel)
    panel.show()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    viewport = panel.list.viewport()
    pos = QPointF(viewport.rect().center())
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(panel.references_changed):
        QApplication.sendEvent(viewport, drop)
    assert panel.references() == [("camera 1", str(files[0])), ("camera 2", str(files[1]))]
    qtbot.waitUntil(lambda: not panel.list.item(1).icon().isNull(), timeout=10000)
    QThreadPool.globalInstance().waitForDone(5000)


def test_duplicate_and_empty_labels_are_marked_on_their_rows_with_cores_message(qtbot, window):
    from playment_submit.gui.style import status_colour
    from playment_submit.resources import sample_job_files

    win = window
    win.primary.set_value(str(sample_job_files()["primary"]))
    cams = [str(p) for _, p in sample_job_files()["references"]]
    win.references.add(cams[0], "front")
    win.references.add(cams[1], "Front")  # the same label, other case
    qtbot.waitUntil(lambda: "already used" in win.references.list.item(1).toolTip(), timeout=10000)
    assert win.references.list.item(1).foreground().color() == status_colour("error")
    assert win.references.list.item(0).foreground().color() != status_colour("error")
    assert "already used" not in win.references.list.item(0).toolTip()
    assert not win.job.submit.isEnabled() and "already used" in win.job.reasons.text()
    win.references.list.item(1).setText("   ")  # as if the user cleared the label in place
    qtbot.waitUntil(lambda: "no label" in win.references.list.item(1).toolTip(), timeout=10000)
    win.references.list.item(1).setText("rear")
    qtbot.waitUntil(lambda: win.references.list.item(1).toolTip() == cams[1], timeout=10000)
    qtbot.waitUntil(lambda: win.job.submit.isEnabled(), timeout=10000)
    assert win.references.list.item(1).foreground().color() != status_colour("error")
