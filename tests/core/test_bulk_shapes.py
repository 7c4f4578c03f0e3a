"""Issue 25, send: vector pre-labels in a bulk run. A CSV's ``shapes`` column (a shapes file) and
``shapes_source``/``shapes_format`` (converted on the fly; a shared COCO file parsed once), folder mode's
``labels/`` (YOLO with classes.txt, never a camera) and ``<stem>.json`` (LabelMe); bad shapes refused per row,
before anything is sent; the shapes reach the sandbox as the check passed them."""

from __future__ import annotations

import json

from PIL import Image

from playment_submit.core.bulk_run import BulkOptions, BulkRun
from playment_submit.core.journal import Journal
from playment_submit.core.manifest import from_folder
from playment_submit.core.retry import RetryPolicy
from playment_submit.core.session import Session

BOX = {"_id": "b1", "label": "car", "attributes": {}, "state": "editable",
       "coordinates": [{"x": 0.1, "y": 0.2}, {"x": 0.5, "y": 0.2}, {"x": 0.5, "y": 0.6}, {"x": 0.1, "y": 0.6}]}


def _session(sandbox, tmp_path) -> Session:
    """The sandbox with its own storage: rows' local frames are uploaded there."""
    session = Session.for_sandbox(sandbox, journal=Journal(tmp_path / "j.sqlite"))
    session.retry = RetryPolicy(backoff_base=0.01)
    return session


def _sent(sandbox) -> dict[str, dict]:
    return {j["reference_id"]: j["payload"]["data"].get("maker_response", {}) for j in sandbox.jobs()}


def _rect(shape) -> tuple[float, float, float, float]:
    xs = [c["x"] for c in shape["coordinates"]]
    ys = [c["y"] for c in shape["coordinates"]]
    return min(xs), min(ys), max(xs), max(ys)


def test_csv_rows_with_a_shapes_file_a_yolo_source_and_a_shared_coco_file(sandbox, tmp_path):
    for name in ("f1", "f2", "f3", "f4"):
        Image.new("RGB", (200, 100)).save(tmp_path / f"{name}.png")
    (tmp_path / "s1.json").write_text(json.dumps({"rectangles": {"data": [BOX]}}))
    (tmp_path / "f2.txt").write_text("1 0.5 0.5 0.2 0.4\n")   # class 1 = "bus", centred
    (tmp_path / "classes.txt").write_text("car\nbus\n")
    coco = {"images": [{"id": 1, "file_name": "f3.png", "width": 200, "height": 100},
                       {"id": 2, "file_name": "f4.png", "width": 200, "height": 100}],
            "categories": [{"id": 7, "name": "person"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [20, 10, 40, 30]},
                            {"id": 2, "image_id": 2, "category_id": 7, "bbox": [100, 50, 50, 25]}]}
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    manifest = tmp_path / "m.csv"
    manifest.write_text("reference_id,image,shapes,shapes_source,shapes_format\n"
                        "r1,https://example.com/1.png,s1.json,,\n"
                        "r2,f2.png,,f2.txt,yolo\n"
                        "r3,f3.png,,coco.json,\n"
                        "r4,f4.png,,coco.json,coco\n", encoding="utf-8")
    session = _session(sandbox, tmp_path)
    run = BulkRun(session, manifest, BulkOptions(concurrency=2))
    try:
        m = run.open()
        assert [r.errors for r in m.rows] == [[], [], [], []]
        summary = run.send()
        assert [r.status for r in summary.results] == ["created"] * 4
    finally:
        run.close()
        session.sandbox = None  # the fixture's, not the session's to stop
        session.close()
    sent = _sent(sandbox)
    assert sent["r1"]["rectangles"]["data"] == [BOX]
    (bus,) = sent["r2"]["rectangles"]["data"]
    assert bus["label"] == "bus" and _rect(bus) == (0.4, 0.3, 0.6, 0.7)
    (p3,) = sent["r3"]["rectangles"]["data"]
    assert p3["label"] == "person" and _rect(p3) == (20 / 200, 10 / 100, 60 / 200, 40 / 100)
    (p4,) = sent["r4"]["rectangles"]["data"]
    assert _rect(p4) == (100 / 200, 50 / 100, 150 / 200, 75 / 100)


def test_bad_shapes_are_refused_per_row_before_anything_is_sent(sandbox, tmp_path):
    bad = dict(BOX, coordinates=[{"x": 0.1, "y": 0.2}, {"x": 1.5, "y": 0.2}, {"x": 1.5, "y": 0.6},
                                 {"x": 0.1, "y": 0.6}])
    (tmp_path / "bad.json").write_text(json.dumps({"rectangles": {"data": [bad]}}))
    (tmp_path / "notshapes.json").write_text(json.dumps({"hello": 1}))
    manifest = tmp_path / "m.csv"
    manifest.write_text("reference_id,image,shapes,shapes_source,shapes_format\n"
                        "r1,https://example.com/1.png,bad.json,,\n"
                        "r2,https://example.com/2.png,notshapes.json,,\n"
                        "r3,https://example.com/3.png,bad.json,bad.json,\n"
                        "r4,https://example.com/4.png,,x.txt,paint\n", encoding="utf-8")
    session = _session(sandbox, tmp_path)
    run = BulkRun(session, manifest)
    try:
        m = run.open()
        said = [" ".join(p.message for p in r.errors) for r in m.rows]
        assert "rectangle" in said[0] and "car" in said[0]            # the shape named: kind and label
        assert "maker_response fragment" in said[1] or "shapes file" in said[1]
        assert "not both" in said[2]
        assert "not a shapes format" in said[3]
        summary = run.send()  # the rows are refused at check: sending them sends nothing
        assert {r.status for r in summary.results} == {"invalid"}
    finally:
        run.close()
        session.sandbox = None  # the fixture's, not the session's to stop
        session.close()
    assert sandbox.jobs() == []


def test_folder_mode_reads_labels_beside_the_frames_and_never_as_a_camera(tmp_path):
    root = tmp_path / "drive"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "front").mkdir()
    for stem in ("001", "002"):
        Image.new("RGB", (100, 100)).save(root / "images" / f"{stem}.png")
        Image.new("RGB", (100, 100)).save(root / "front" / f"{stem}.png")
    (root / "labels" / "001.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "labels" / "classes.txt").write_text("truck\n")
    (root / "images" / "002.json").write_text(json.dumps({
        "imageWidth": 100, "imageHeight": 100, "shapes": [
            {"label": "sign", "shape_type": "rectangle", "points": [[10, 20], [30, 60]]}]}))
    m = from_folder(root)
    assert [r.spec.references[0].label for r in m.rows] == ["front", "front"]  # labels/ is not a camera
    assert m.rows[0].shapes_import is not None and m.rows[0].shapes_import[2] == "yolo"
    assert m.rows[1].shapes_import is not None and m.rows[1].shapes_import[2] == "labelme"
    from playment_submit.core.manifest import check_manifest
    check_manifest(m, check_masks=False)
    (truck,) = m.rows[0].spec.shapes["rectangles"]["data"]
    assert truck["label"] == "truck" and _rect(truck) == (0.25, 0.25, 0.75, 0.75)
    (sign,) = m.rows[1].spec.shapes["rectangles"]["data"]
    assert sign["label"] == "sign" and _rect(sign) == (0.1, 0.2, 0.3, 0.6)
