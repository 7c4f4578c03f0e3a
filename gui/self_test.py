"""``playment-submit --self-test``: prove this build works, end to end, offscreen, with no network.

It builds the main window, starts the embedded sandbox, and runs the sample job through every layer:
colour-coding and checking the mask, uploading the files to sandbox storage, submitting, reading the job
back and fetching the uploaded mask again. It also proves that a frozen bundle carries what it needs:
its resources, Qt's image and SVG plugins, and CA certificates. One line per check; exit 0 only when
every check passed (a missing piece fails its line, it is never skipped).
"""

from __future__ import annotations

import os
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t0 = time.perf_counter()
    failures: list[str] = []
    passed: list[str] = []
    state: dict = {}

    def check(name: str, fn: Callable[[], str]) -> None:
        try:
            detail = fn()
        except Exception as e:  # a failing check reports and the run goes on to the next
            failures.append(name)
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
        else:
            passed.append(name)
            print(f"ok   {name}: {detail}", flush=True)

    tmp = tempfile.TemporaryDirectory(prefix="playment-self-test-")
    os.environ.setdefault("PLAYMENT_DATA_DIR", str(Path(tmp.name) / "data"))
    os.environ.setdefault("PLAYMENT_CONFIG_DIR", str(Path(tmp.name) / "config"))

    def resources_present() -> str:
        from playment_submit.resources import resource_path, sample_job_files
        files = sample_job_files()
        paths = [files["primary"], files["index_mask"], files["classes"], *[p for _, p in files["references"]],
                 resource_path("icons", "app.svg")]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(", ".join(missing))
        state["files"] = files
        return f"{len(paths)} files under {resource_path()}"

    def qt_plugins() -> str:
        from PySide6.QtGui import QImage, QImageReader, QPainter
        from PySide6.QtSvg import QSvgRenderer
        from PySide6.QtWidgets import QApplication

        from playment_submit.gui.app import make_app
        state["app"] = make_app([])
        from PySide6.QtCore import QSettings  # window geometry and recent files go to the temp folder too
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(Path(tmp.name) / "qsettings"))
        formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
        needed = {"png", "jpg", "svg", "tiff", "webp"}  # what the primary image picker offers
        if not needed <= formats:
            raise RuntimeError(f"image formats missing: {sorted(needed - formats)}")
        from playment_submit.resources import resource_path
        renderer = QSvgRenderer(str(resource_path("icons", "app.svg")))
        if not renderer.isValid():
            raise RuntimeError("the app icon SVG does not render")
        image = QImage(64, 64, QImage.Format.Format_ARGB32)
        image.fill(0)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        if image.pixelColor(32, 8).alpha() == 0:
            raise RuntimeError("the rendered icon is empty")
        return f"platform {QApplication.platformName()}, formats include {', '.join(sorted(needed))}"

    def certificates() -> str:
        import certifi
        import truststore  # a hidden import in the spec file: this proves it is inside the bundle

        from playment_submit.core import network
        context = network.ssl_context()  # what every HTTPS session uses (no network needed)
        if not isinstance(context, truststore.SSLContext):
            raise RuntimeError(f"HTTPS would not trust the system's certificates ({type(context).__name__})")
        if "the system's certificates" not in network.describe("https://api.playment.io/v1"):
            raise RuntimeError("the Network line would not name the system's certificates")
        where = certifi.where()
        count = len(ssl.create_default_context(cafile=where).get_ca_certs())
        if count == 0:
            raise RuntimeError(f"no CA certificates loaded from {where}")
        return f"the system's certificates (truststore), {count} fallback CA certificates from {Path(where).name}"

    def window_and_sandbox() -> str:
        from playment_submit.core.journal import Journal
        from playment_submit.core.sandbox import SandboxServer
        from playment_submit.core.session import Session
        from playment_submit.gui.main_window import MainWindow
        # Its own journal: the self-test's job is not the user's history, and no profile is read.
        session = Session.for_sandbox(SandboxServer().start(), journal=Journal(Path(tmp.name) / "journal.sqlite"))
        state["session"] = session
        window = MainWindow(session)
        window.show()
        state["window"] = window
        state["app"].processEvents()
        return f"main window {window.width()}x{window.height()}, sandbox at {session.base_url}"

    def colour_code() -> str:
        from playment_submit.core.mask import check as check_mask
        from playment_submit.core.mask import encode, save_png
        from playment_submit.resources import sample_classes
        files = state["files"]
        rgba, legend = encode(str(files["index_mask"]), sample_classes())
        out = Path(tmp.name) / "mask.png"
        save_png(rgba, out)
        from PIL import Image
        with Image.open(files["primary"]) as im:
            size = im.size
        report = check_mask(out, legend, size)
        if not report.ok:
            raise RuntimeError("; ".join(p.message for p in report.problems))
        state["mask"], state["legend"] = out, legend
        return f"{len(legend)} classes, {report.width}x{report.height}, valid"

    def submit_and_read_back() -> str:

        from playment_submit.core.job import JobSpec, RasterPrelabel, ReferenceImage
        from playment_submit.core.pipeline import submit_job
        files, session = state["files"], state["session"]
        spec = JobSpec("self-test-" + str(int(time.time())), session.workflow_id, str(files["primary"]),
                       [ReferenceImage(str(p), label) for label, p in files["references"]],
                       RasterPrelabel(str(state["mask"]), state["legend"]))
        created = submit_job(spec, session.client, storage=session.storage, journal=session.journal)
        info = session.client.get_job(created.job_id)
        if info.reference_id != spec.reference_id:
            raise RuntimeError(f"read back {info.reference_id!r}, expected {spec.reference_id!r}")
        [stored] = [j for j in session.sandbox.jobs() if j["job_id"] == created.job_id]
        url = stored["payload"]["data"]["maker_response"]["raster"]["data"]["url"]
        if session.client.fetch_attachment(url) != state["mask"].read_bytes():  # the way the window reads it
            raise RuntimeError("the uploaded mask came back different")
        return f"job {created.job_id} created, read back, mask bytes match"

    check("resources", resources_present)
    check("qt plugins", qt_plugins)
    check("ca certificates", certificates)
    if "app" in state and "files" in state:
        check("window + sandbox", window_and_sandbox)
    if "session" in state:
        check("mask colour-code + check", colour_code)
    if "mask" in state:
        check("upload + submit + read back", submit_and_read_back)
    expected = 6
    session = state.get("session")
    if session is not None:
        if "window" in state:
            state["window"].close()
        session.close()
    tmp.cleanup()
    elapsed = time.perf_counter() - t0
    if failures or len(passed) < expected:
        skipped = expected - len(passed) - len(failures)
        print(f"self-test FAILED: {', '.join(failures) or 'none failed'}; {skipped} check(s) could not run "
              f"({elapsed:.2f} s)", flush=True)
        return 1
    print(f"self-test passed: {len(passed)} checks in {elapsed:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_self_test())
