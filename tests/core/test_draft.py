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


def test_a_saved_draft_is_the_payload_with_paths_relative_to_its_folder_and_reads_back(tmp_path):
    path = drafts.write_draft(_spec(tmp_path), tmp_path / "job.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["data"]["image_url"] == "img/a.png"  # inside the folder: relative, as `submit` reads it
    assert data["data"]["reference_data"]["raster"]["images"][1]["image_url"] == "/elsewhere/b.png"
    assert data["data"]["maker_response"]["raster"]["data"] == {"legend": {"#ff0000": "cup"}, "url": "mask.png"}
    assert JobSpec.from_payload(data).reference_id == "frame-1"  # the documented payload, nothing more
    back = drafts.read_draft(path)
    assert back.path == path and back.spec == _spec(tmp_path)


def test_a_draft_may_be_incomplete_but_not_malformed(tmp_path):
    partial = tmp_path / "partial.json"
    partial.write_text('{"data": {"image_url": "x.png"}}', encoding="utf-8")
    spec = drafts.read_draft(partial).spec
    assert spec.image_url == str(tmp_path / "x.png") and not drafts.is_blank(spec)
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": {"image_url": "x.png"}, "colour": 1}', encoding="utf-8")
    with pytest.raises(ValidationError) as e:
        drafts.read_draft(bad)
    assert 'unknown field "colour"' in str(e.value) and "bad.json" in str(e.value)
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": ', encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid JSON"):
        drafts.read_draft(broken)
    with pytest.raises(UsageError, match="does not exist"):
        drafts.read_draft(tmp_path / "missing.json")


def test_autosave_round_trip_and_clear(tmp_path):
    assert drafts.read_autosave() is None
    drafts.write_autosave(_spec(tmp_path), tmp_path / "job.json")
    restored = drafts.read_autosave()
    assert restored is not None and restored.spec == _spec(tmp_path) and restored.path == tmp_path / "job.json"
    drafts.clear_autosave()
    assert drafts.read_autosave() is None
    (drafts.autosave_dir() / drafts.AUTOSAVE_NAME).write_text("{not json", encoding="utf-8")
    assert drafts.read_autosave() is None  # damaged: nothing to restore, never an error at start-up


def test_draft_key_ignores_the_profiles_workflow_but_not_the_work(tmp_path):
    a = _spec(tmp_path)
    b = _spec(tmp_path)
    b.work_flow_id = "another"
    assert drafts.draft_key(a) == drafts.draft_key(b)
    b.references[0].label = "renamed"
    assert drafts.draft_key(a) != drafts.draft_key(b)
    assert drafts.is_blank(drafts.empty_spec(WF))


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
