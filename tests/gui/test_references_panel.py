"""Reference cameras: files dropped from outside become rows labelled camera 1, camera 2, ..."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QThreadPool, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from gui.widgets.references_panel import ReferencesPanel


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
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(panel.references_changed):
        QApplication.sendEvent(viewport, drop)
    assert panel.references() == [("camera 1", str(files[0])), ("camera 2", str(files[1]))]
    qtbot.waitUntil(lambda: not panel.list.item(1).icon().isNull(), timeout=10000)
    QThreadPool.globalInstance().waitForDone(5000)
