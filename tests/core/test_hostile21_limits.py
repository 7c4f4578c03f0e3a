"""Issue 21's limits on what is sent and how files are named (items 10 and the brief's b, c, e, i)."""

from __future__ import annotations

from PIL import Image

from playment_submit.core.job import MAX_METADATA_BYTES, MAX_URL_BYTES, JobSpec, RasterPrelabel, ReferenceImage
from playment_submit.core.pipeline import check_job, resolve_spec

WF = "2aae1234-acac-1234-eeff-12a22a237bbc"


def _by_path(problems):
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.path, []).append(p.message)
    return out


def test_a_file_url_on_another_host_is_refused_not_read_as_a_local_path(tmp_path):
    (tmp_path / "share").mkdir()
    spec = resolve_spec(JobSpec("r1", WF, "file://evil.example.com/share/x.png"), tmp_path)
    assert spec.image_url == "file://evil.example.com/share/x.png"  # not /share/x.png
    verdict = check_job(spec, can_upload=True)
    msgs = _by_path(verdict.errors)["data.image_url"]
    assert len(msgs) == 1 and "another machine" in msgs[0] and "evil.example.com" in msgs[0]


def test_a_file_url_on_localhost_is_still_a_local_file(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    spec = resolve_spec(JobSpec("r1", WF, f"file://localhost{tmp_path}/a.png"), tmp_path)
    assert spec.image_url == str(tmp_path / "a.png")
    assert check_job(spec, can_upload=True).ok


def test_an_image_url_over_8_kib_is_refused_naming_the_field():
    long_url = "https://x.example/" + "a" * MAX_URL_BYTES + ".png"
    spec = JobSpec("r1", WF, long_url, references=[ReferenceImage(long_url, "left")],
                   prelabel=RasterPrelabel("https://x.example/m.png", {"#ff0000": "car"}))
    by = _by_path(check_job(spec).errors)
    assert "8 KiB" in by["data.image_url"][0] and "primary image" in by["data.image_url"][0]
    assert 'camera 1 ("left")' in by["data.reference_data.raster.images[0].image_url"][0]
    ok = JobSpec("r1", WF, "https://x.example/" + "a" * (MAX_URL_BYTES - 40) + ".png")
    assert check_job(ok).ok


def test_metadata_over_1_mib_is_refused_and_just_under_is_sent():
    big = JobSpec("r1", WF, "https://x.example/a.png", metadata={"blob": "x" * MAX_METADATA_BYTES})
    msgs = _by_path(check_job(big).errors)["data.metadata"]
    assert "1 MiB" in msgs[0]
    small = JobSpec("r1", WF, "https://x.example/a.png", metadata={"blob": "x" * (MAX_METADATA_BYTES - 100)})
    assert check_job(small).ok


def test_sentences_name_cameras_one_based_with_their_label():
    spec = JobSpec("r1", WF, "https://x.example/a.png",
                   references=[ReferenceImage("https://x.example/l.png", "left"),
                               ReferenceImage("https://x.example/r.png", "right"),
                               ReferenceImage("http://example.com/b.png", "left")])
    msgs = [p.message for p in check_job(spec).errors]
    assert any('camera 3 ("left")' in m and "plain http" in m for m in msgs)
    assert any("already used by camera 1" in m for m in msgs)
    assert not any("images[" in m or "reference image" in m for m in msgs)


def test_a_jpeg_mask_is_said_once(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "p.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "m.jpg")
    spec = JobSpec("r1", WF, str(tmp_path / "p.png"),
                   prelabel=RasterPrelabel(str(tmp_path / "m.jpg"), {"#ff0000": "car"}))
    msgs = [p.message for p in check_job(spec, can_upload=True).problems]
    assert sum(("JPG" in m or "JPEG" in m) for m in msgs) == 1, msgs


def test_files_outside_the_manifests_folder_are_one_warning_for_the_run(tmp_path):
    from playment_submit.core.manifest import check_manifest, read_csv

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("a", "b", "c"):
        Image.new("RGB", (4, 4)).save(elsewhere / f"{name}.png")
    folder = tmp_path / "jobs"
    (folder / "img").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(folder / "img" / "in.png")
    rows = ["reference_id,image", "r0,img/in.png"] + [f"r{n},{elsewhere / f'{n}.png'}" for n in "abc"]
    (folder / "m.csv").write_text("\n".join(rows) + "\n")
    man = check_manifest(read_csv(folder / "m.csv", workflow_id=WF), allow_local_paths=True)
    assert man.ok, man.errors
    said = [w for w in man.warnings if "outside its folder" in w]
    assert len(said) == 1 and "3 local file(s)" in said[0] and str(elsewhere / "a.png") in said[0]
    check_manifest(man, allow_local_paths=True)  # a second check of the same run does not say it again
    assert len([w for w in man.warnings if "outside its folder" in w]) == 1


def test_files_inside_the_folder_say_nothing(tmp_path):
    from playment_submit.core.pipeline import outside_folder_problem

    (tmp_path / "sub").mkdir()
    assert outside_folder_problem([str(tmp_path / "sub" / "a.png"), str(tmp_path / "b.png")], tmp_path) is None
    p = outside_folder_problem([str(tmp_path.parent / "x.png")], tmp_path)
    assert p is not None and p.severity == "warning"


def test_a_link_inside_the_folder_to_a_dataset_elsewhere_is_not_outside(tmp_path):
    from playment_submit.core.pipeline import outside_folder_problem

    (tmp_path / "data").mkdir()
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "frames").symlink_to(tmp_path / "data")
    assert outside_folder_problem([str(tmp_path / "jobs" / "frames" / "a.png")], tmp_path / "jobs") is None
