"""Issue 25, window: the Shapes tab beside the Mask tab. Imported shapes are the draft's (core), shown in the
payload preview, kept by a saved and reopened job file, drawn over the primary, and sent to the sandbox as they
were imported, beside the raster mask."""

from __future__ import annotations

import json

from tests.gui.test_shapes_panel import FRAGMENT


def test_imported_shapes_are_the_jobs_saved_reopened_and_sent(qtbot, window, wait_idle, sandbox, tmp_path):
    window.load_sample()
    wait_idle(window)
    shapes = tmp_path / "shapes.json"
    shapes.write_text(json.dumps(FRAGMENT))
    window.inputs.setCurrentWidget(window.shapes)
    with qtbot.waitSignal(window.shapes.shapes_changed, timeout=10000):
        window.shapes.import_file(str(shapes))
    wait_idle(window)
    assert window.draft.shapes() == FRAGMENT
    maker = json.loads(window.job.preview.toPlainText())["data"]["maker_response"]
    assert set(maker) == {"raster", "rectangles"} and maker["rectangles"] == FRAGMENT["rectangles"]
    qtbot.waitUntil(lambda: window.shapes.item is not None and window.shapes.item.scene() is window.view.scene(),
                    timeout=10000)

    job = tmp_path / "job.json"
    assert window.files.save_job_as(job)
    assert window.files.new_job() and window.draft.shapes() is None and window.shapes.fragment is None
    assert window.files.open_path(str(job))
    wait_idle(window)
    assert window.draft.shapes() == FRAGMENT and window.shapes.fragment == FRAGMENT

    qtbot.waitUntil(lambda: window.job.submit.isEnabled(), timeout=20000)
    with qtbot.waitSignal(window.submit_succeeded, timeout=30000) as sent:
        window.submit()
    stored = next(j for j in sandbox.jobs() if j["job_id"] == sent.args[0].job_id)
    sent_maker = stored["payload"]["data"]["maker_response"]
    assert sent_maker["rectangles"] == FRAGMENT["rectangles"] and "raster" in sent_maker

    window.shapes.clear_button.click()  # removing every shape leaves the mask
    wait_idle(window)
    assert window.draft.shapes() is None
    assert "raster" in json.loads(window.job.preview.toPlainText())["data"]["maker_response"]
