"""The job lives in core (issue 20): the window renders core's JobDraft and hands it edits.

What a user saw before: a reopened job or a job file with a URL mask sent a pre-label the Mask tab hid, a job
file's workflow was replaced by the profile's, and two ``mask index.png`` colour-coded from two folders
overwrote each other. Each test here failed on the window that assembled the job itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from playment_submit.core import cli
from playment_submit.core.draft import normalised_payload
from playment_submit.core.errors import ValidationError
from playment_submit.core.mask_files import fetch_preview
from playment_submit.core.settings import data_dir
from playment_submit.resources import sample_classes, sample_job_files

SAMPLE = sample_job_files()
OWN_WF = "9d7c4b2e-3a1f-4e5d-8c6b-7a9f0e1d2c3b"


def _job_file(folder: Path, **extra) -> Path:
    data = {"reference_id": "from-file", "work_flow_id": OWN_WF, "priority_weight": 3,
            "data": {"image_url": "https://example.com/frames/a.png",
                     "metadata": {"scene": {"weather": "rain"}, "frame": 7},
                     "maker_response": {"raster": {"data": {"url": "https://example.com/masks/a.png",
                                                            "legend": {"#FF0000": "cup", "#fdffd34": "Sky"}}}}}}
    data.update(extra)
    path = folder / "job.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _preview(win) -> dict:
    return json.loads(win.job.preview.toPlainText())


def test_a_job_file_is_sent_as_written_then_with_the_users_edits_and_only_those(qtbot, window, wait_idle, tmp_path):
    path = _job_file(tmp_path)
    assert window.files.open_path(str(path))
    wait_idle(window)
    expected = normalised_payload(json.loads(path.read_text()))
    assert _preview(window) == expected  # its own workflow, priority, metadata and URL mask: nothing replaced
    assert expected["work_flow_id"] == OWN_WF != window.session.workflow_id
    assert window.job.workflow_note.isVisibleTo(window) and "from the job file" in window.job.workflow_note.text()
    # the URL mask is shown in the Mask tab, with its legend, and can be removed
    panel = window.mask_panel
    assert panel.state is not None and panel.state.url == "https://example.com/masks/a.png"
    assert "https://example.com/masks/a.png" in panel.status.text() and panel.clear_button.isEnabled()
    assert panel.legend_table.rowCount() == 2
    # the bad legend key is fixed without the pixels; the reference ID is edited: those two edits and only those
    assert panel.edit_legend("replace_key", "#fdffd34", "#fdff34")
    window.job.reference_id.setText("edited")
    window.job.reference_id.textEdited.emit("edited")
    wait_idle(window)
    expected["reference_id"] = "edited"
    expected["data"]["maker_response"]["raster"]["data"]["legend"] = {"#ff0000": "cup", "#fdff34": "Sky"}
    assert _preview(window) == expected and window.is_modified()
    # "Use the profile's" replaces the job's workflow, on the user's word only
    window.job.use_profile_workflow.click()
    wait_idle(window)
    assert _preview(window)["work_flow_id"] == window.session.workflow_id
    assert not window.job.workflow_note.isVisibleTo(window)


def test_a_misspelt_field_stays_and_blocks_with_the_sentence_submit_gives(qtbot, window, wait_idle, tmp_path,
                                                                        capsys):
    path = _job_file(tmp_path, dta={"image_url": "x.png"})
    capsys.readouterr()
    assert cli.main(["submit", str(path)]) != 0
    said = [line.removeprefix("error: ").removeprefix(f"{path}: ") for line in capsys.readouterr().err.splitlines()
            if "dta" in line]
    assert said and all("unknown field" in s for s in said)
    assert window.files.open_path(str(path))
    wait_idle(window)
    assert not window.job.submit.isEnabled()
    reasons = window.job.reasons.text()
    assert any(s.split(": ", 1)[1] in reasons for s in said), (said, reasons)
    assert window.draft.payload["dta"] == {"image_url": "x.png"}  # kept, not dropped without a word


def test_a_job_reopened_from_history_shows_its_mask(qtbot, window, wait_idle, sample_ready):
    sample_ready(window, "reopen-me")
    with qtbot.waitSignal(window.submit_succeeded, timeout=30000):
        window.submit()
    wait_idle(window)
    window.tabs.setCurrentWidget(window.history)
    window.history.refresh()
    window.history.table.selectRow(0)
    window.history.reopen_selected()
    wait_idle(window)
    state = window.mask_panel.state
    assert state is not None and state.url is not None and state.url.startswith("http")
    assert state.url in window.mask_panel.status.text()
    assert sorted(state.legend.values()) == sorted(sample_classes())
    assert _preview(window)["data"]["maker_response"]["raster"]["data"]["url"] == state.url
    # Fetch to preview: through the attachments endpoint, shown over the image; the job still sends the URL
    assert not window.mask_panel.fetch_button.isHidden() and window.mask_panel.fetch_button.isEnabled()
    window.mask_panel.fetch_button.click()
    qtbot.waitUntil(lambda: window.mask_panel.state is not None and window.mask_panel.state.path is not None,
                    timeout=20000)
    wait_idle(window)
    fetched = window.mask_panel.state
    assert fetched.url == state.url and fetched.path.parent == data_dir() / "masks" / "fetched"
    assert fetched.report is not None and fetched.report.usable and window.view.overlay_item is not None
    assert _preview(window)["data"]["maker_response"]["raster"]["data"]["url"] == state.url


def test_a_fetched_mask_over_the_pixel_cap_is_refused_from_its_header(tmp_path):
    class Attachments:  # what the attachments endpoint handed back: a PNG header claiming 60000 x 60000 pixels
        def fetch_attachment(self, url, max_bytes):
            return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (60000).to_bytes(4, "big") * 2 + b"\x08\x06\x00\x00\x00"

    with pytest.raises(ValidationError, match="megapixels"):
        fetch_preview(Attachments(), "https://example.com/huge.png")
    assert not (data_dir() / "masks" / "fetched").exists()  # nothing written, nothing decoded


def test_two_masks_of_one_name_from_two_folders_stay_two_files_and_two_drafts(qtbot, window, wait_idle, tmp_path):
    index = SAMPLE["index_mask"]
    first, second = tmp_path / "a" / "mask index.png", tmp_path / "b" / "mask index.png"
    for target in (first, second):
        target.parent.mkdir()
        shutil.copy(index, target)
    from PIL import Image
    with Image.open(second) as img:  # the second folder's mask differs by one pixel
        changed = img.copy()
    changed.putpixel((0, 0), 1 if changed.getpixel((0, 0)) != 1 else 2)
    changed.save(second)

    saved = []
    for n, target in enumerate((first, second)):
        window.files.new_job()
        window.primary.set_value(str(SAMPLE["primary"]))
        wait_idle(window)
        window.mask_panel.colour_code_files(str(target), sample_classes())
        wait_idle(window)
        qtbot.waitUntil(lambda: window.mask_panel.state is not None, timeout=20000)
        job = tmp_path / f"job{n}.json"
        assert window.files.save_job_as(job)
        saved.append((job, window.mask_panel.state.path))
    (_, mask_a), (_, mask_b) = saved
    assert mask_a != mask_b and mask_a.is_file() and mask_b.is_file()
    assert mask_a.parent == mask_b.parent == data_dir() / "masks" / "coded"
    for job, mask in saved:
        window.files.open_path(str(job))
        wait_idle(window)
        qtbot.waitUntil(lambda: window.mask_panel.state is not None and window.mask_panel.state.path is not None,
                        timeout=20000)
        assert window.mask_panel.state.path == mask


def test_a_job_files_batch_outside_the_project_is_said(qtbot, window, wait_idle, tmp_path):
    path = _job_file(tmp_path, batch_id="1b2c3d4e-5f60-4718-9a0b-c1d2e3f4a5b6")
    assert window.files.open_path(str(path))
    wait_idle(window)
    with qtbot.waitSignal(window.batches_listed, timeout=10000):
        window.load_batches()
    note = window.job.batch_note.text()
    assert "1b2c3d4e-5f60-4718-9a0b-c1d2e3f4a5b6 (from the job file) is not a batch of project" in note
    assert _preview(window)["batch_id"] == "1b2c3d4e-5f60-4718-9a0b-c1d2e3f4a5b6"  # said, not silently replaced
    window.job.batch.setCurrentIndex(0)  # the project's default batch instead
    wait_idle(window)
    assert "batch_id" not in _preview(window)


def test_what_the_form_cannot_show_stays_as_loaded_with_its_blocker(qtbot, window, wait_idle, tmp_path):
    cases = {"data.json": ({"reference_id": "a", "data": "x"}, '"data" must be an object'),
             "number.json": ({"reference_id": 5, "data": {"image_url": "https://example.com/a.png"}},
                             "the reference ID must be text, not int")}
    for name, (data, words) in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        assert window.files.open_path(str(path))
        wait_idle(window)
        window.refresh()
        wait_idle(window)
        assert words in window.job.reasons.text(), window.job.reasons.text()
        assert window.draft.payload["reference_id"] == data["reference_id"]  # no suggestion replaced it
        assert not window.job.submit.isEnabled()
