"""Shapes for bulk rows and folder frames (issue 25, send): a shapes file per row, a source converted on the fly,
one COCO dataset shared by many frames parsed once, and the labels folder mode finds beside a frame."""

from __future__ import annotations

import json

from PIL import Image

from playment_submit.core.shapes.rows import SharedSources, labels_beside, shapes_for_row


def frame(path, w=200, h=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h)).save(path)
    return path


def coco(tmp_path, frames):
    images = [{"id": i + 1, "file_name": f"images/{name}", "width": 200, "height": 100}
              for i, name in enumerate(frames)]
    anns = [{"id": 10 + i, "image_id": i + 1, "category_id": 1, "bbox": [20.0, 10.0, 40.0 + i, 30.0]}
            for i in range(len(frames))]
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 1, "name": "car"}]}))
    return path


def test_a_coco_dataset_shared_by_many_rows_is_parsed_once(tmp_path):
    names = [f"f{i:03}.png" for i in range(30)]
    source = coco(tmp_path, names)
    shared = SharedSources()
    got = [shapes_for_row(image=str(frame(tmp_path / "images" / n)), source=str(source), shared=shared)
           for n in names]
    assert shared.parsed == 1
    assert all(r.problems == [] and r.fragment is not None for r in got)
    box = got[7].fragment["rectangles"]["data"][0]
    xs = [p["x"] for p in box["coordinates"]]
    assert box["label"] == "car" and xs == [0.1, (20 + 47) / 200, (20 + 47) / 200, 0.1]   # frame 7's own box


def test_a_frame_the_dataset_does_not_list_has_no_shapes_and_is_said(tmp_path):
    source = coco(tmp_path, ["a.png"])
    row = shapes_for_row(image=str(frame(tmp_path / "images" / "b.png")), source=str(source),
                         shared=SharedSources())
    assert row.fragment is None and row.problems == [] and "has no image named b.png" in row.notes[0]


def test_a_shapes_file_per_row_is_checked(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"lines": {"data": [{"_id": "l", "label": "lane", "points": {
        "p1": {"x": 0, "y": 0}, "p2": {"x": 1, "y": 1}}, "edges": {"e1": ["p1", "p2"]}}]}}))
    assert shapes_for_row(image="x.png", shapes_file=str(good)).fragment["lines"]["data"][0]["_id"] == "l"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"lines": {"data": [{"_id": "l", "label": "", "points": {"p1": {"x": 0, "y": 0}}}]}}))
    row = shapes_for_row(image="x.png", shapes_file=str(bad))
    assert row.fragment is None and any("has no label" in p.message for p in row.problems)
    notes = tmp_path / "notes.json"
    notes.write_text(json.dumps({"hello": 1}))
    assert "a shapes file is a JSON object" in shapes_for_row(image="x.png", shapes_file=str(notes)).problems[0].message


def test_a_yolo_source_is_converted_with_the_frame_size(tmp_path):
    img = frame(tmp_path / "images" / "f1.png")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "f1.txt").write_text("0 0.5 0.5 0.2 0.4\n")
    (tmp_path / "labels" / "classes.txt").write_text("person\n")
    found = labels_beside(img, tmp_path)
    assert found == (str(tmp_path / "labels" / "f1.txt"), "yolo", str(tmp_path / "labels" / "classes.txt"))
    row = shapes_for_row(image=str(img), source=found[0], fmt=found[1], classes=found[2])
    box = row.fragment["rectangles"]["data"][0]
    assert box["label"] == "person"
    assert [(p["x"], p["y"]) for p in box["coordinates"]] == [(0.4, 0.3), (0.6, 0.3), (0.6, 0.7), (0.4, 0.7)]


def test_labelme_beside_the_frame_and_nothing_found(tmp_path):
    img = frame(tmp_path / "images" / "f2.png")
    assert labels_beside(img, tmp_path) is None
    img.with_suffix(".json").write_text("{}")
    assert labels_beside(img, tmp_path) == (str(img.with_suffix(".json")), "labelme", None)


def test_a_broken_source_is_a_row_problem_not_a_crash(tmp_path):
    img = frame(tmp_path / "images" / "f.png")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    row = shapes_for_row(image=str(img), source=str(broken), shared=SharedSources())
    assert row.fragment is None and row.problems and str(broken) in str(row.problems[0])
