"""Primary image: URL previews fetched off the GUI thread over real HTTP, with a size cap; s3:// said plainly."""

from __future__ import annotations

from PySide6.QtCore import QThreadPool

from playment_submit.gui.widgets import primary_panel as primary_module
from playment_submit.gui.widgets.primary_panel import PrimaryPanel
from playment_submit.resources import sample_job_files


def _panel(qtbot):
    panel = PrimaryPanel()
    qtbot.addWidget(panel)
    panel.show()
    return panel


def test_url_preview_shows_dimensions(qtbot, sandbox):
    panel = _panel(qtbot)
    url = sandbox.add_file(sample_job_files()["primary"])
    with qtbot.waitSignal(panel.image_loaded, timeout=10000) as loaded:
        panel.set_value(url)
    assert loaded.args[0] is not None and panel.image_size == (600, 400)
    assert "600 × 400 px" in panel.info.text()
    QThreadPool.globalInstance().waitForDone(5000)


def test_url_preview_over_the_size_cap_is_refused_with_a_sentence(qtbot, sandbox, monkeypatch):
    monkeypatch.setattr(primary_module, "MAX_PREVIEW_BYTES", 10_000)
    panel = _panel(qtbot)
    with qtbot.waitSignal(panel.image_loaded, timeout=10000) as loaded:
        panel.set_value(sandbox.add_file(sample_job_files()["primary"]))
    assert loaded.args[0] is None and panel.image_size is None
    assert "larger than" in panel.info.text()
    QThreadPool.globalInstance().waitForDone(5000)


def test_bucket_urls_are_not_previewable_here(qtbot):
    panel = _panel(qtbot)
    with qtbot.waitSignal(panel.image_loaded, timeout=10000) as loaded:
        panel.set_value("s3://my-bucket/frames/0001.png")
    assert loaded.args[0] is None
    assert "not previewable here" in panel.info.text()
    QThreadPool.globalInstance().waitForDone(5000)
