"""Job drafts (core.draft): the documented payload with local paths, relative to the file when inside its
folder; autosave and restore; and the session rules the window relies on (profile in use, no key)."""

from __future__ import annotations

import json

import pytest

from playment_submit.core import draft as drafts
from playment_submit.core.errors import UsageError, ValidationError
from playment_submit.core.job import JobSpec, RasterPrelabel, ReferenceImage
from playment_submit.core.session import Session
from playment_submit.core.settings import Profile, save_profiles, set_current_profile

WF = "0c6b1e2a-1f0d-4c8e-9a3b-5d7e9f1a2b3c"


def _spec(folder) -> JobSpec:
    return JobSpec("frame-1", WF, str(folder / "img" / "a.png"),
                   references=[ReferenceImage("https://example.com/cam.png", "cam"),
                               ReferenceImage("/elsewhere/b.png", "b")],
                   prelabel=RasterPrelabel(str(folder / "mask.png"), {"#ff0000": "cup"}))


def _draft(folder) -> drafts.JobDraft:
    return drafts.JobDraft.from_data(_spec(folder).to_payload())


def test_a_saved_draft_is_the_payload_with_paths_relative_to_its_folder_and_reads_back(tmp_path):
    path = _draft(tmp_path).write(tmp_path / "job.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["data"]["image_url"] == "img/a.png"  # inside the folder: relative, as `submit` reads it
    assert data["data"]["reference_data"]["raster"]["images"][1]["image_url"] == "/elsewhere/b.png"
    assert data["data"]["maker_response"]["raster"]["data"] == {"legend": {"#ff0000": "cup"}, "url": "mask.png"}
    assert JobSpec.from_payload(data).reference_id == "frame-1"  # the documented payload, nothing more
    back = drafts.JobDraft.read(path)
    assert back.path == path and back.spec() == _spec(tmp_path) and not back.is_modified()


def test_a_draft_may_be_incomplete_and_a_malformed_one_opens_with_submits_sentence_as_blocker(tmp_path):
    partial = tmp_path / "partial.json"
    partial.write_text('{"data": {"image_url": "x.png"}}', encoding="utf-8")
    draft = drafts.JobDraft.read(partial)
    assert draft.spec(WF).image_url == str(tmp_path / "x.png") and not draft.is_blank()
    assert draft.spec(WF).work_flow_id == WF and draft.workflow() is None  # the profile's fills the gap
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": {"image_url": "x.png"}, "colour": 1}', encoding="utf-8")
    draft = drafts.JobDraft.read(bad)
    assert draft.spec(WF).image_url == str(tmp_path / "x.png")  # what can be read is shown
    with pytest.raises(ValidationError) as e:  # what `submit` says of the same file
        JobSpec.from_payload(json.loads(bad.read_text()), source=str(bad))
    blockers = draft.blockers(draft.spec(WF), can_upload=True, verdict=None)
    assert [p.text("cli") for p in e.value.problems] == [p.text("cli") for p in blockers[:1]]
    assert 'unknown field "colour"' in blockers[0].text("cli") and "bad.json" in blockers[0].text("cli")
    assert draft.payload["colour"] == 1  # kept in the draft, not dropped without a word
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": ', encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid JSON"):
        drafts.JobDraft.read(broken)
    with pytest.raises(UsageError, match="does not exist"):
        drafts.JobDraft.read(tmp_path / "missing.json")


def test_every_documented_field_passes_through_and_only_edits_change_the_payload(tmp_path):
    other_wf, batch = "9d7c4b2e-3a1f-4e5d-8c6b-7a9f0e1d2c3b", "1b2c3d4e-5f60-4718-9a0b-c1d2e3f4a5b6"
    data = {"reference_id": "r1", "tag": other_wf, "batch_id": batch, "priority_weight": 3,
            "data": {"image_url": "https://example.com/a.png", "metadata": {"scene": {"weather": "rain"}},
                     "maker_response": {"raster": {"data": {"legend": {"#FF0000": "cup"},
                                                            "url": "https://example.com/m.png"}},
                                        "rectangles": {"data": [{"label": "car", "coordinates": []}]}}}}
    draft = drafts.JobDraft.from_data(data, origin="the job file")
    assert draft.workflow() == other_wf
    sent = drafts.payload_as_sent(draft.spec(WF))
    assert sent == drafts.normalised_payload(data)  # the file as JSON values, after core's normalisations
    assert sent["work_flow_id"] == other_wf and sent["data"]["maker_response"]["raster"]["data"]["legend"] == {
        "#ff0000": "cup"} and sent["data"]["maker_response"]["rectangles"] == data["data"]["maker_response"][
        "rectangles"]
    draft.set_reference_id("r2")
    draft.set_legend({"#ff0000": "mug"})
    edited = drafts.payload_as_sent(draft.spec(WF))
    expected = drafts.normalised_payload(data)
    expected["reference_id"] = "r2"
    expected["data"]["maker_response"]["raster"]["data"]["legend"] = {"#ff0000": "mug"}
    assert edited == expected and draft.is_modified()
    draft.remove_prelabel()  # the vector pre-labels beside it stay
    assert "rectangles" in draft.spec(WF).to_payload()["data"]["maker_response"]
    draft.use_profile_workflow()
    assert draft.spec(WF).work_flow_id == WF


def test_local_files_are_shown_at_their_destination_when_known(tmp_path):
    spec = _spec(tmp_path)
    where = {str(tmp_path / "mask.png"): "https://files.example.com/abc.png"}
    sent = drafts.payload_as_sent(spec, where.get)
    assert sent["data"]["maker_response"]["raster"]["data"]["url"] == "https://files.example.com/abc.png"
    assert sent["data"]["image_url"] == str(tmp_path / "img" / "a.png")  # not known yet: its path


def test_autosave_round_trip_and_clear(tmp_path):
    assert drafts.read_autosave() is None
    draft = _draft(tmp_path)
    draft.path = tmp_path / "job.json"
    drafts.write_autosave(draft)
    restored = drafts.read_autosave()
    assert restored is not None and restored.spec() == _spec(tmp_path) and restored.path == tmp_path / "job.json"
    assert restored.is_modified()  # still unsaved: Save or Discard decides
    drafts.clear_autosave()
    assert drafts.read_autosave() is None
    (drafts.autosave_dir() / drafts.AUTOSAVE_NAME).write_text("{not json", encoding="utf-8")
    assert drafts.read_autosave() is None  # damaged: nothing to restore, never an error at start-up


def test_the_jobs_own_workflow_is_work_the_profiles_is_not(tmp_path):
    a = drafts.JobDraft.from_data({"reference_id": "x", "data": {"image_url": ""}})
    b = drafts.JobDraft.from_data({"reference_id": "x", "work_flow_id": WF, "data": {"image_url": ""}})
    assert a.key() != b.key()  # a job file's workflow counts as the user's work
    assert a.spec(WF).to_payload() == b.spec("another").to_payload()  # the profile's fills only what is missing
    c = drafts.JobDraft.from_data(_spec(tmp_path).to_payload())
    c.set_references([ReferenceImage("https://example.com/cam.png", "renamed")])
    assert c.is_modified()
    assert drafts.JobDraft().is_blank()


def test_the_saved_profile_in_use_opens_again_even_without_a_key(sandbox):
    save_profiles({"staging": Profile("staging", "https://api.example.com", "p1", WF)}, current="staging")
    s = Session.from_settings()
    try:
        assert s.profile.name == "staging" and not s.sandbox_mode  # not silently the sandbox
        spec = JobSpec("r1", WF, "https://example.com/a.png")
        problems = [p.message for p in s.check(spec).errors]
        assert any(m.startswith('No API key is set for the profile "staging"') and "Connection tab" in m
                   for m in problems)
        with pytest.raises(UsageError, match="No API key is set"):
            s.submit(spec)
    finally:
        s.close()
    set_current_profile("sandbox")
    s = Session.from_settings()
    try:
        assert s.sandbox_mode  # the sandbox, when it was the one in use
    finally:
        s.close()
