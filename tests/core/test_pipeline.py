"""core.pipeline: how a job as described becomes files, checks and a created job (no Qt)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from playment_submit.core.client import PlaymentClient
from playment_submit.core.errors import ValidationError
from playment_submit.core.job import JobSpec, RasterPrelabel, ReferenceImage, is_local_path
from playment_submit.core.journal import Journal
from playment_submit.core.pipeline import check_job, resolve_location, resolve_spec, submit_job
from playment_submit.core.storage import SandboxStorage, content_key
from tests.conftest import mask_bytes, png_bytes

WF = "2aae1234-acac-1234-eeff-12a22a237bbc"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("value, local", [
    ("my frames/frame 001.png", True), ("C:\\Users\\First Last\\f.png", True), ("C:/x/f.png", True),
    ("\\\\server\\share\\f.png", True), ("~/f.png", True), ("file:///tmp/a%20b.png", True), ("FILE:///tmp/a.png", True),
    ("frame:01.png", True), ("https://cdn.example.com/a b.png", False), ("s3://bucket/key.png", False),
    ("gs://bucket/key.png", False), ("", False),
])
def test_a_string_is_a_url_only_when_it_has_a_scheme(value, local):
    assert is_local_path(value) is local


def test_paths_resolve_like_a_user_means_them(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    base = tmp_path / "jobs"
    assert resolve_location("my frames/frame 001.png", base) == str(base / "my frames" / "frame 001.png")
    assert resolve_location("../café/ü.png", base) == str(tmp_path / "café" / "ü.png")
    assert resolve_location("~/f.png", base) == str(tmp_path / "home" / "f.png")
    assert resolve_location(f"file://{tmp_path}/my%20frames/a.png", base) == str(tmp_path / "my frames" / "a.png")
    assert resolve_location("https://x.example.com/a.png", base) == "https://x.example.com/a.png"
    assert resolve_location(None, base) is None and resolve_location(12, base) == 12


def test_a_local_path_with_spaces_is_fine_but_a_url_with_spaces_is_not(tmp_path):
    prim = write(tmp_path / "my frames" / "frame 001.png", png_bytes(1))
    ok = check_job(JobSpec("a", WF, str(prim)), can_upload=True)
    assert ok.ok, ok.problems
    bad = check_job(JobSpec("a", WF, "https://cdn.example.com/my frames/frame 001.png"))
    assert [p.path for p in bad.errors] == ["data.image_url"] and "contains spaces" in bad.errors[0].message


def test_storage_addresses_are_url_safe_whatever_the_file_name(tmp_path):
    f = write(tmp_path / "index mask_coded (1) café.png", mask_bytes())
    key = content_key(f, "uploads")
    assert key.endswith("/index_mask_coded_1_caf_.png") and " " not in key


def test_every_local_file_is_checked_for_what_it_must_be(tmp_path):
    prim = write(tmp_path / "p.png", png_bytes(1))
    empty = write(tmp_path / "empty.png", b"")
    half = write(tmp_path / "half.png", png_bytes(3, (64, 64))[:200])
    mask = write(tmp_path / "m.png", mask_bytes("#00ff00", (8, 6)))
    spec = JobSpec("a", WF, str(prim), [ReferenceImage(str(empty), "cam 1"), ReferenceImage(str(half), "cam 2")],
                   RasterPrelabel(str(mask), {"#ff0000": "cup"}))
    verdict = check_job(spec, can_upload=True)
    by_field = {p.path: p.message for p in verdict.errors}
    assert set(by_field) == {"data.reference_data.raster.images[0].image_url",
                             "data.reference_data.raster.images[1].image_url", "data.maker_response.raster.data.url"}
    assert str(empty) in by_field["data.reference_data.raster.images[0].image_url"]
    assert str(half) in by_field["data.reference_data.raster.images[1].image_url"]
    assert "m.png" in by_field["data.maker_response.raster.data.url"] and "#00ff00" in by_field[
        "data.maker_response.raster.data.url"]
    assert verdict.primary_size == (8, 6)


def test_a_refused_job_uploads_nothing_and_sends_nothing(sandbox, tmp_path):
    prim = write(tmp_path / "p.png", png_bytes(1))
    mask = write(tmp_path / "m.png", mask_bytes("#ff0000", (9, 6)))  # not the primary's size
    spec = JobSpec("refused", sandbox.workflow_id, str(prim), prelabel=RasterPrelabel(str(mask), {"#ff0000": "cup"}))
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key) as client, \
            Journal(tmp_path / "j.sqlite") as journal:
        with pytest.raises(ValidationError) as info:
            submit_job(spec, client, storage=SandboxStorage(sandbox.base_url, sandbox.api_key), journal=journal)
        assert journal.get("refused") is None
    assert "size" in str(info.value) and "m.png" in str(info.value)
    assert sandbox.stats().get("PUT files", 0) == 0 and sandbox.stats().get("POST jobs", 0) == 0


def test_the_payload_is_checked_as_it_will_be_sent(sandbox, tmp_path):
    """A path with spaces is uploaded to an address without them: the job is created and the URL sent
    is the storage's, fetchable as is."""
    prim = write(tmp_path / "my frames" / "frame 001.png", png_bytes(1))
    spec = resolve_spec(JobSpec("spaces", sandbox.workflow_id, "frame 001.png"), tmp_path / "my frames")
    assert spec.image_url == str(prim)
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key) as client:
        created = submit_job(spec, client, storage=SandboxStorage(sandbox.base_url, sandbox.api_key))
    [job] = sandbox.jobs()
    assert job["job_id"] == created.job_id and " " not in job["payload"]["data"]["image_url"]
    assert job["payload"]["data"]["image_url"].endswith("/frame_001.png")


def test_file_checks_are_cached_until_the_file_changes(tmp_path, monkeypatch):
    from playment_submit.core import pipeline
    calls = []
    real = pipeline._probe
    monkeypatch.setattr(pipeline, "_probe", lambda p: calls.append(p) or real(p))
    prim = write(tmp_path / "p.png", png_bytes(1))
    spec = JobSpec("a", WF, str(prim))
    check_job(spec, can_upload=True)
    check_job(spec, can_upload=True)
    assert calls == [str(prim)]
    write(prim, b"")
    os.utime(prim, ns=(1, 1))
    assert not check_job(spec, can_upload=True).ok and calls == [str(prim), str(prim)]


def test_the_mask_check_names_the_file_once_not_the_mask_the_mask(tmp_path):
    from PIL import Image

    from playment_submit.core.job import JobSpec, RasterPrelabel
    from playment_submit.core.pipeline import check_files
    Image.new("RGB", (100, 80)).save(tmp_path / "p.png")
    Image.new("RGBA", (50, 40), (255, 0, 0, 255)).save(tmp_path / "m.png")
    spec = JobSpec(reference_id="r", work_flow_id="w", image_url=str(tmp_path / "p.png"),
                   prelabel=RasterPrelabel(str(tmp_path / "m.png"), {"#ff0000": "car"}))
    messages = [p.message for p in check_files(spec)[0]]
    assert any(m.startswith("the mask m.png is 50 x 40 pixels but the primary image is 100 x 80") for m in messages), \
        messages
    assert not any("the mask m.png: the mask" in m for m in messages)


def test_a_primary_over_the_pixel_cap_is_refused_naming_where_to_raise_it_and_the_mask_size_still_checked(
        tmp_path, monkeypatch):
    from PIL import Image

    from playment_submit.core.job import JobSpec, RasterPrelabel
    from playment_submit.core.pipeline import check_files
    Image.new("RGB", (400, 300)).save(tmp_path / "p.png")   # 0.12 MP
    Image.new("RGBA", (50, 40), (255, 0, 0, 255)).save(tmp_path / "m.png")
    spec = JobSpec(reference_id="r", work_flow_id="w", image_url=str(tmp_path / "p.png"),
                   prelabel=RasterPrelabel(str(tmp_path / "m.png"), {"#ff0000": "car"}))
    monkeypatch.setenv("PLAYMENT_MAX_MEGAPIXELS", "0.1")
    problems, size, _ = check_files(spec)
    messages = [p.message for p in problems]
    assert size == (400, 300)
    assert any("over the limit of 100,000 pixels" in m and "PLAYMENT_MAX_MEGAPIXELS=1" in m for m in messages), messages
    assert any("the mask m.png is 50 x 40 pixels but the primary image is 400 x 300" in m for m in messages)
    monkeypatch.setenv("PLAYMENT_MAX_MEGAPIXELS", "0.2")  # raised: the same file passes
    problems, size, _ = check_files(spec)
    assert not any("over the limit" in p.message for p in problems)
