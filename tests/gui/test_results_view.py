"""The Results tab: downloads through core (statuses, completed jobs, review) in a worker, lists the jobs with
their changed share, and for a job with a pre-label draws pre-label / delivered / difference over the primary
image with the per-class table; the output folder is remembered; review.html opens in the browser."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices

from playment_submit.core.client import PlaymentClient
from playment_submit.core.review import review_job
from playment_submit.gui.dialogs import app_settings
from playment_submit.gui.widgets.results_view import FOLDER_KEY, ResultsView

LEGEND = {"#ff0000": "car", "#00ff00": "road", "#0000ff": "sky"}


def _jobs(sandbox, journal) -> dict[str, str]:
    """Two jobs made and journalled as the app does: one with a pre-label, one without; ref -> job ID."""
    m = np.zeros((60, 80, 4), np.uint8)
    m[10:30, 10:40] = [255, 0, 0, 255]
    m[35:55, 5:30] = [0, 255, 0, 255]
    m[5:20, 50:75] = [0, 0, 255, 255]
    Image.fromarray(m, "RGBA").save(sandbox.files_dir / "m.png")
    Image.fromarray(np.full((60, 80, 3), 90, np.uint8)).save(sandbox.files_dir / "img.png")
    out = {}
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key) as c:
        for ref, pre in (("with-pre", True), ("no-pre", False)):
            data = {"image_url": sandbox.file_url("img.png")}
            if pre:
                data["maker_response"] = {"raster": {"data": {"legend": LEGEND, "url": sandbox.file_url("m.png")}}}
            job = {"reference_id": ref, "work_flow_id": sandbox.workflow_id, "data": data}
            journal.mark_sending(ref, job)
            out[ref] = c.create_job(job).job_id
            journal.mark_created(ref, out[ref])
    return out


def _download(qtbot, window, out) -> None:
    view = window.results
    window.tabs.setCurrentWidget(view)
    view.set_folder(str(out))
    qtbot.mouseClick(view.download, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.remote.results_worker is None and view.download.isEnabled(), timeout=30000)


def _select(qtbot, view, ref):
    row = next(n for n, r in enumerate(view.rows) if r.reference_id == ref)
    with qtbot.waitSignal(view.job_shown, timeout=15000) as got:
        view.jobs.clearSelection()
        view.jobs.selectRow(row)
    assert not isinstance(got.args[0], Exception), got.args[0]
    return got.args[0]


def test_download_lists_jobs_and_shows_the_review_of_a_prelabelled_job(qtbot, window, sandbox, tmp_path,
                                                                        monkeypatch):
    jobs = _jobs(sandbox, window.session.journal)
    sandbox.complete_jobs()
    out = tmp_path / "results"
    _download(qtbot, window, out)
    view = window.results
    assert "2 completed job(s): 2 downloaded now" in view.summary.text(), view.summary.text()
    listed = {view.jobs.item(r, 0).text(): (view.jobs.item(r, 1).text(), view.jobs.item(r, 2).text())
              for r in range(view.jobs.rowCount())}
    assert listed["no-pre"] == ("downloaded now", "no pre-label")
    assert listed["with-pre"][0] == "downloaded now" and listed["with-pre"][1].endswith("%")
    assert app_settings().value(FOLDER_KEY) == str(out)  # remembered for the next start

    images = _select(qtbot, view, "with-pre")
    folder = next(r.folder for r in view.rows if r.reference_id == "with-pre")
    import json
    expected = review_job(folder / "prelabel.png", json.loads((folder / "prelabel_legend.json").read_text()),
                          folder / "delivered.png", json.loads((folder / "legend.json").read_text()))
    table = {view.classes.item(r, 0).text(): [view.classes.item(r, c).text() for c in range(1, 6)]
             for r in range(view.classes.rowCount())}
    assert set(table) == {c.name for c in expected.classes}
    for c in expected.classes:  # the table says what core's review says
        assert table[c.name][1:] == [c.kind, "—" if c.iou is None else f"{c.iou:.3f}", f"{c.added:,}",
                                     f"{c.removed:,}"]
    assert table["sky"][1] == "renamed" and table["sky"][0] == "sky (renamed)"
    assert listed["with-pre"][1] == f"{expected.changed_share:.1%}"
    # The overlay: the primary image under the chosen mask, and the difference layer red where classes changed.
    assert images.primary is not None and not view.canvas.base_layer.pixmap().isNull()
    diff = view.canvas.diff_layer.pixmap().toImage()
    changed = np.argwhere(expected.difference)
    y, x = changed[len(changed) // 2]
    assert diff.pixelColor(int(x), int(y)).red() == 255 and diff.pixelColor(int(x), int(y)).alpha() > 0
    same = np.argwhere(~expected.difference)[0]
    assert diff.pixelColor(int(same[1]), int(same[0])).alpha() == 0
    delivered = view.canvas.mask_layer.pixmap().toImage()
    view.layer.setCurrentText("Pre-label")
    assert view.canvas.mask_layer.pixmap().toImage() != delivered  # the pre-label is drawn instead
    view.difference.setChecked(False)
    assert view.canvas.diff_layer.pixmap().isNull()
    view.opacity.setValue(25)
    assert view.canvas.mask_layer.opacity() == pytest.approx(0.25)

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile())))
    assert view.open_review.isEnabled()
    qtbot.mouseClick(view.open_review, Qt.MouseButton.LeftButton)
    assert opened == [str(out / "review.html")]

    # A job without a pre-label: the delivered mask only, no class table, said so.
    _select(qtbot, view, "no-pre")
    assert view.classes.rowCount() == 0 and "no pre-label" in view.note.text()
    assert not view.classes.isVisibleTo(view)  # no empty table: the note says there is nothing to compare
    assert not view.difference.isEnabled() and not view.canvas.mask_layer.pixmap().isNull()
    assert jobs


def test_a_new_view_lists_what_the_folder_holds_without_a_request(qtbot, window, sandbox, tmp_path):
    _jobs(sandbox, window.session.journal)
    sandbox.complete_jobs()
    out = tmp_path / "results"
    _download(qtbot, window, out)
    def api_requests() -> dict:  # the primary image's preview (its attachments redirect and the file) may still be
        return {k: v for k, v in sandbox.stats().items()  # in flight for the first view: not the listing's requests
                if k != "GET files" and "attachment" not in k.lower() and "storage" not in k.lower()}

    asked = api_requests()
    fresh = ResultsView(window.session.journal)
    qtbot.addWidget(fresh)
    assert fresh.folder.text() == str(out)
    fresh.rescan()
    qtbot.waitUntil(lambda: fresh.jobs.rowCount() == 2, timeout=10000)
    assert {fresh.jobs.item(r, 1).text() for r in range(2)} == {"on disk"}
    assert api_requests() == asked


def test_no_review_page_is_written_or_offered_when_no_job_had_a_pre_label(qtbot, window, sandbox, tmp_path):
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key) as c:
        Image.fromarray(np.full((6, 8, 3), 90, np.uint8)).save(sandbox.files_dir / "img.png")
        job = {"reference_id": "bare", "work_flow_id": sandbox.workflow_id,
               "data": {"image_url": sandbox.file_url("img.png")}}
        window.session.journal.mark_sending("bare", job)
        window.session.journal.mark_created("bare", c.create_job(job).job_id)
    sandbox.complete_jobs()
    out = tmp_path / "results"
    _download(qtbot, window, out)
    view = window.results
    assert "1 completed job(s)" in view.summary.text(), view.summary.text()
    assert not (out / "review.html").exists()  # it was an empty page ("0 job(s) with a pre-label")
    assert not view.open_review.isEnabled()


def test_download_failure_is_a_sentence(qtbot, window, sandbox, tmp_path):
    _jobs(sandbox, window.session.journal)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _download(qtbot, window, blocker / "sub")
    text = window.results.summary.text()
    assert text.startswith("Results not downloaded: ") and "Traceback" not in text and "a-file" in text


def test_damaged_results_are_sentences_in_the_view(qtbot, window, sandbox, tmp_path):
    """What core says about a damaged folder or job reaches the view as its sentence (the view reads no file)."""
    _jobs(sandbox, window.session.journal)
    sandbox.complete_jobs()
    out = tmp_path / "results"
    _download(qtbot, window, out)
    view = window.results
    folder = next(r.folder for r in view.rows if r.reference_id == "with-pre")
    (folder / "prelabel_legend.json").write_text("{broken", encoding="utf-8")
    (out / "review.csv").write_text("not,the,columns\n", encoding="utf-8")
    view.rescan()
    qtbot.waitUntil(lambda: "does not have the columns" in view.summary.text(), timeout=10000)
    assert {r.status for r in view.rows} == {"on disk"} and len(view.rows) == 2
    row = next(n for n, r in enumerate(view.rows) if r.reference_id == "with-pre")
    with qtbot.waitSignal(view.job_shown, timeout=15000) as got:
        view.jobs.clearSelection()
        view.jobs.selectRow(row)
    assert isinstance(got.args[0], Exception)
    note = view.note.text()
    assert note.startswith('The results of "with-pre"') and "prelabel_legend.json" in note
    assert "download them again" in note and "Traceback" not in note
    assert view.canvas.mask_layer.pixmap().isNull()


def test_the_primary_is_scaled_smoothly_under_the_mask(qtbot):
    """Issue 23 item 10: a primary of another size than the mask is drawn smoothly, not in blocks."""
    import numpy as np
    from PySide6.QtGui import QImage

    from playment_submit.gui.widgets.primary_panel import qimage_from_array
    from playment_submit.gui.widgets.results_canvas import JobImages, ResultsCanvas
    checker = np.zeros((8, 8, 3), np.uint8)
    checker[::2, ::2] = checker[1::2, 1::2] = 255
    delivered = QImage(64, 64, QImage.Format.Format_RGBA8888)
    canvas = ResultsCanvas()
    qtbot.addWidget(canvas)
    canvas.show_job(JobImages(None, delivered, None, None, qimage_from_array(checker), "", None))
    drawn = canvas.base_layer.pixmap().toImage()
    greys = {drawn.pixelColor(x, 32).red() for x in range(64)}
    assert len(greys) > 2, greys  # blends between black and white, not 8 px blocks of two colours


def test_a_vector_job_is_listed_and_its_shapes_drawn_with_the_review_rows(qtbot, window, sandbox, tmp_path):
    """Issue 25: the Results tab lists a vector job (shapes only), draws its delivered shapes over the image,
    the sent ones when Show is Pre-label, and shows its per-label rows."""
    from playment_submit.core.client import PlaymentClient
    from playment_submit.core.delivered import download_results
    from playment_submit.core.sandbox.results import ADDED_BOX
    from tests.core.test_results_shapes import SENT
    journal = window.session.journal
    job = {"reference_id": "vec", "work_flow_id": sandbox.workflow_id,
           "data": {"image_url": "https://example.com/frame.png", "maker_response": SENT}}
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key) as c:
        journal.mark_sending("vec", job)
        journal.mark_created("vec", c.create_job(job).job_id)
        sandbox.complete_jobs()
        out = tmp_path / "out"
        download_results(journal, c, out)
    view = window.results
    window.tabs.setCurrentWidget(view)
    view.set_folder(str(out))
    qtbot.waitUntil(lambda: view.jobs.rowCount() == 1, timeout=10000)
    assert view.jobs.item(0, 2).text() == "2 of 3 shapes kept"  # car: 1 of 2, lane: 1 of 1
    view.jobs.selectRow(0)
    qtbot.waitUntil(lambda: view.images is not None and view.canvas.shapes_item is not None, timeout=10000)
    delivered = {row.label for row in view.canvas.shapes_item.layer.labels}
    assert ADDED_BOX in delivered
    view.layer.setCurrentText("Pre-label")
    assert ADDED_BOX not in {row.label for row in view.canvas.shapes_item.layer.labels}
    labels = {view.classes.item(n, 0).text() for n in range(view.classes.rowCount())}
    assert {"car", "lane", ADDED_BOX} <= labels and view.classes.isVisibleTo(view)
    assert "vector job" in view.note.text()


def test_a_download_lists_at_most_a_scans_jobs_and_counts_them_all(qtbot, window, sandbox, tmp_path, monkeypatch):
    """The window keeps at most MAX_LISTED_JOBS downloaded jobs for its table (here 1); the sentence counts
    every job and says only the first are listed."""
    from playment_submit.gui import remote_work
    monkeypatch.setattr(remote_work, "MAX_LISTED_JOBS", 1)
    _jobs(sandbox, window.session.journal)
    sandbox.complete_jobs()
    _download(qtbot, window, tmp_path / "results")
    view = window.results
    assert len(view.rows) == 1 and view.jobs.rowCount() == 1
    text = view.summary.text()
    assert "2 completed job(s): 2 downloaded now." in text and "The first 1 are listed." in text, text
