"""Bulk rows with mask_source/mask_format: converted on the fly through core.mask.formats, checked as any
mask, and sent to the sandbox (the round trip import -> check -> submit); folder mode finds the masks."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from playment_submit.core import pipeline
from playment_submit.core.journal import Journal
from playment_submit.core.manifest import check_manifest, load_manifest
from playment_submit.core.session import Session


def _voc_png(path, size=(8, 6)):
    values = np.zeros((size[1], size[0]), np.uint8)
    values[size[1] // 2:, :] = 7   # car
    img = Image.fromarray(values, "P")
    img.putpalette([0] * 768)
    img.save(path)


def test_manifest_mask_source_converts_checks_and_submits_to_the_sandbox(sandbox, tmp_path):
    Image.new("RGB", (8, 6), (10, 20, 30)).save(tmp_path / "a.png")
    _voc_png(tmp_path / "a_voc.png")
    Image.new("RGB", (8, 6)).save(tmp_path / "b.png")
    _voc_png(tmp_path / "b_voc.png", size=(4, 4))    # wrong size: the mask check refuses the row
    (tmp_path / "m.csv").write_text("reference_id,image,mask_source,mask_format\n"
                                    "r1,a.png,a_voc.png,\nr2,b.png,b_voc.png,voc\nr3,a.png,a_voc.png,jpeg\n")
    session = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    man = check_manifest(load_manifest(tmp_path / "m.csv", workflow_id=sandbox.workflow_id),
                         storage=session.storage)
    r1, r2, r3 = man.rows
    assert r1.ok, r1.problems
    assert list(r1.spec.prelabel.legend.values()) == ["car"]
    assert r1.spec.prelabel.url.endswith(".png") and "imported" in r1.spec.prelabel.url
    assert not r2.ok and any("size" in p.message or "4 x 4" in p.message for p in r2.errors)
    assert not r3.ok and "\"jpeg\" is not a mask format" in r3.errors[0].message
    created = pipeline.submit_job(r1.spec, session.client, storage=session.storage, journal=session.journal)
    assert created.job_id and sandbox.job_count() == 1


def test_manifest_mask_source_unknown_class_names_the_row_field_and_closest(tmp_path):
    Image.new("RGB", (8, 6)).save(tmp_path / "a.png")
    _voc_png(tmp_path / "a_voc.png")
    (tmp_path / "m.csv").write_text("reference_id,image,mask_source\nr1,a.png,a_voc.png\n")
    man = check_manifest(load_manifest(tmp_path / "m.csv"), allow_local_paths=True, classes=["Car", "road"])
    assert not man.ok
    assert any("mask_source" in e and "closest is \"Car\"" in e for e in man.errors)


def test_folder_mode_finds_cityscapes_and_coco_masks(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for name in ("f1", "f2", "f3"):
        Image.new("RGB", (6, 4)).save(images / f"{name}.png")
    Image.fromarray(np.full((4, 6), 26, np.uint8), "L").save(masks / "f1_labelIds.png")
    coco = {"images": [{"id": 1, "file_name": "f2.png", "width": 6, "height": 4}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "iscrowd": 0,
                             "segmentation": [[0, 0, 5, 0, 5, 3, 0, 3]]}],
            "categories": [{"id": 5, "name": "road"}]}
    (masks / "instances.json").write_text(json.dumps(coco))
    workflow = "2aae1234-acac-1234-eeff-12a22a237bbc"
    man = check_manifest(load_manifest(tmp_path, workflow_id=workflow), allow_local_paths=True)
    by_ref = {r.reference_id: r for r in man.rows}
    assert by_ref["f1"].ok and list(by_ref["f1"].spec.prelabel.legend.values()) == ["car"]
    assert by_ref["f2"].ok and list(by_ref["f2"].spec.prelabel.legend.values()) == ["road"]
    assert by_ref["f3"].spec.prelabel is None


def test_a_bulk_rows_labelme_classes_file_is_read_by_the_class_list_rule(tmp_path):
    # issue 22: the one class-list rule for bulk rows too (classes.txt beside an index mask)
    from playment_submit.core.mask.formats import ImportOptions
    from playment_submit.core.mask.formats.convert import convert

    Image.new("RGB", (8, 6)).save(tmp_path / "a.png")
    values = np.zeros((6, 8), np.uint8)
    values[:2, :] = 5          # labelme/VOC: bottle (line 7 of class_names.txt)
    values[4:, :] = 255        # __ignore__
    Image.fromarray(values, "L").save(tmp_path / "a_index.png")
    names = ["__ignore__", "_background_", "aeroplane", "bicycle", "bird", "boat", "bottle"]
    (tmp_path / "classes.txt").write_text("\n".join(names) + "\n")
    (tmp_path / "m.csv").write_text("reference_id,image,mask_source,mask_format\nr1,a.png,a_index.png,index\n")
    manifest = load_manifest(tmp_path / "m.csv", workflow_id="2aae1234-acac-1234-eeff-12a22a237bbc")
    man = check_manifest(manifest, allow_local_paths=True)
    (r1,) = man.rows
    assert r1.ok, r1.problems
    assert list(r1.spec.prelabel.legend.values()) == ["bottle"]     # the old reading said "boat"
    # the conversion says which reading it used, also when it comes from the cache
    opts = ImportOptions(classes=str(tmp_path / "classes.txt"), ignore=(255,))
    for _ in range(2):
        done = convert(str(tmp_path / "a_index.png"), "index", opts, tmp_path / "out")
        assert "__ignore__" in (done.classes_rule or "") and list(done.legend.values()) == ["bottle"]


def test_a_missing_mask_source_is_said_missing_before_its_format_is_asked_for(tmp_path):
    Image.new("RGB", (8, 6)).save(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("reference_id,image,mask_source\nr1,a.png,gone.png\n")
    (row,) = check_manifest(load_manifest(tmp_path / "m.csv", workflow_id="2aae1234-acac-1234-eeff-12a22a237bbc"),
                          allow_local_paths=True).rows
    assert [(p.path, p.message) for p in row.errors] == [("mask_source", f"{tmp_path / 'gone.png'}: the mask file "
                                                                         f"does not exist.")]


def test_a_coco_file_shared_by_a_folders_frames_is_parsed_once_and_again_when_it_changes(tmp_path, monkeypatch):
    """Each frame's entry is looked up in one parsed, indexed COCO file (core.mask.formats.coco.coco_index),
    not parsed and scanned per row (quadratic in the frames)."""
    import os

    from playment_submit.core.mask.formats import coco as coco_format
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    n = 24
    for i in range(n):
        Image.new("RGB", (6, 4)).save(images / f"f{i:02d}.png")
    coco = {"images": [{"id": i, "file_name": f"f{i:02d}.png", "width": 6, "height": 4} for i in range(n)],
            "annotations": [{"id": i, "image_id": i, "category_id": 5 + i % 2, "iscrowd": 0,
                             "segmentation": [[0, 0, 5, 0, 5, 3, 0, 3]]} for i in range(n)],
            "categories": [{"id": 5, "name": "road"}, {"id": 6, "name": "car"}]}
    (masks / "instances.json").write_text(json.dumps(coco))
    parsed = []
    real = coco_format.load_coco
    monkeypatch.setattr(coco_format, "load_coco", lambda path: parsed.append(path) or real(path))
    workflow = "2aae1234-acac-1234-eeff-12a22a237bbc"
    man = check_manifest(load_manifest(tmp_path, workflow_id=workflow), allow_local_paths=True)
    assert all(r.ok for r in man.rows) and len(man.rows) == n
    assert [list(r.spec.prelabel.legend.values()) for r in man.rows[:2]] == [["road"], ["car"]]
    assert len(parsed) == 1  # one parse for 24 rows (before: 24)
    coco["categories"][0]["name"] = "lane"  # the file changes: read again, the new names used
    (masks / "instances.json").write_text(json.dumps(coco))
    os.utime(masks / "instances.json", ns=(1, 1))
    man = check_manifest(load_manifest(tmp_path, workflow_id=workflow), allow_local_paths=True)
    assert list(man.rows[0].spec.prelabel.legend.values()) == ["lane"] and len(parsed) == 2


def test_a_refused_coco_file_shared_by_a_folders_frames_is_read_once_and_said_on_each_row(tmp_path, monkeypatch):
    """A COCO file that is refused (here a number too large for JSON) is refused once, not parsed again for each
    frame that names it; every such row still gets the sentence."""
    from playment_submit.core.mask.formats import coco as coco_format
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for i in range(6):
        Image.new("RGB", (6, 4)).save(images / f"f{i}.png")
    names = ", ".join(f'{{"id": {i}, "file_name": "f{i}.png", "width": 6, "height": 4}}' for i in range(6))
    (masks / "instances.json").write_text(f'{{"images": [{names}], "annotations": [], "categories": '
                                          f'[{{"id": 1e400, "name": "road"}}]}}', encoding="utf-8")
    parsed = []
    real = coco_format.load_coco
    monkeypatch.setattr(coco_format, "load_coco", lambda path: parsed.append(path) or real(path))
    workflow = "2aae1234-acac-1234-eeff-12a22a237bbc"
    man = check_manifest(load_manifest(tmp_path, workflow_id=workflow), allow_local_paths=True)
    assert len(man.rows) == 6 and len(parsed) == 1
    assert all(any("too large for a JSON number" in e.message for e in r.errors) for r in man.rows)
