"""Primary image: URL previews fetched off the GUI thread over real HTTP, with a size cap; s3:// said plainly."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PySide6.QtCore import QThreadPool

from playment_submit.core.client import PlaymentClient
from playment_submit.gui.widgets import primary_panel as primary_module
from playment_submit.gui.widgets.primary_panel import PrimaryPanel
from playment_submit.resources import sample_job_files


def _panel(qtbot, sandbox=None):
    panel = PrimaryPanel()
    qtbot.addWidget(panel)
    panel.show()
    if sandbox is not None:  # as the window does: the session's client reads the sandbox's own files
        client = PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key)
        panel.preview_client = lambda: client
    return panel


def test_url_preview_shows_dimensions(qtbot, sandbox):
    panel = _panel(qtbot, sandbox)
    url = sandbox.add_file(sample_job_files()["primary"])
    with qtbot.waitSignal(panel.image_loaded, timeout=10000) as loaded:
        panel.set_value(url)
    assert loaded.args[0] is not None and panel.image_size == (600, 400)
    assert "600 × 400 px" in panel.info.text()
    QThreadPool.globalInstance().waitForDone(5000)


def test_url_preview_over_the_size_cap_is_refused_with_a_sentence(qtbot, sandbox, monkeypatch):
    monkeypatch.setattr(primary_module, "MAX_PREVIEW_BYTES", 10_000)
    panel = _panel(qtbot, sandbox)
    with qtbot.waitSignal(panel.image_loaded, timeout=10000) as loaded:
        panel.set_value(sandbox.add_file(sample_job_files()["primary"]))
    assert loaded.args[0] is None and panel.image_size is None
    assert "larger than" in panel.info.text()
    QThreadPool.globalInstance().waitForDone(5000)


def test_the_sandbox_files_are_not_read_without_its_key(qtbot, sandbox):
    """The sandbox serves its files only with the key (or a signed URL): a panel without the session's client
    says the fetch failed instead of showing a file any web page could read."""
    panel = _panel(qtbot)
    with qtbot.waitSignal(panel.image_loaded, timeout=10000) as loaded:
        panel.set_value(sandbox.add_file(sample_job_files()["primary"]))
    assert loaded.args[0] is None and "could not be fetched" in panel.info.text()
    QThreadPool.globalInstance().waitForDone(5000)


def test_a_url_off_the_api_host_is_fetched_without_the_key(qtbot, sandbox):
    """Another host's image is fetched directly, and the key is never sent there."""
    body = sample_job_files()["primary"].read_bytes()
    seen: list[str | None] = []

    class Files(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("x-api-key"))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        panel = _panel(qtbot, sandbox)
        with qtbot.waitSignal(panel.image_loaded, timeout=10000) as loaded:
            panel.set_value(f"http://127.0.0.1:{server.server_address[1]}/cdn/primary.png")
        assert loaded.args[0] is not None and panel.image_size == (600, 400)
        assert seen == [None]
    finally:
        server.shutdown()
        server.server_close()
    QThreadPool.globalInstance().waitForDone(5000)


def test_bucket_urls_are_not_previewable_here(qtbot):
    panel = _panel(qtbot)
    with qtbot.waitSignal(panel.image_loaded, timeout=10000) as loaded:
        panel.set_value("s3://my-bucket/frames/0001.png")
    assert loaded.args[0] is None
    assert "not previewable here" in panel.info.text()
    QThreadPool.globalInstance().waitForDone(5000)
