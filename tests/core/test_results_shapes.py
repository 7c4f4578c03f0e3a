"""Issue 25, close the loop: `results` writes a vector job's delivered shapes (shapes.json) and what was sent
(prelabel_shapes.json), reviews them per label (review.csv rows with annotation "shapes", review.html), and a
result with too many shapes is refused with a sentence and nothing written. The expected figures are computed
here from the sandbox's documented edits (first rectangle moved right by 0.05, second dropped, "Added box" added,
first polygon moved down by 0.05)."""

from __future__ import annotations

import csv
import json

import pytest

from playment_submit.core.client import PlaymentClient
from playment_submit.core.delivered import download_results, scan_results
from playment_submit.core.journal import Journal
from playment_submit.core.sandbox.results import ADDED_BOX, MOVE
from playment_submit.core.shapes.delivered import MAX_DELIVERED_SHAPES, shapes_of


def rect(x0, y0, x1, y1, label, sid):
    return {"_id": sid, "label": label, "attributes": {}, "state": "editable",
            "coordinates": [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]}


def poly(points, label, sid):
    n = len(points)
    return {"_id": sid, "label": label, "attributes": {}, "state": "editable",
            "points": {f"p{i + 1}": {"x": x, "y": y} for i, (x, y) in enumerate(points)},
            "edges": {f"e{i + 1}": [f"p{i + 1}", f"p{(i + 1) % n + 1}"] for i in range(n)}}


SENT = {"rectangles": {"data": [rect(0.1, 0.1, 0.5, 0.5, "car", "r1"), rect(0.55, 0.1, 0.65, 0.3, "car", "r2")]},
        "polygons": {"data": [poly([(0.1, 0.6), (0.5, 0.6), (0.5, 0.9), (0.1, 0.9)], "lane", "p1")]}}


def _send(sb, journal, ref, maker):
    job = {"reference_id": ref, "work_flow_id": sb.workflow_id,
           "data": {"image_url": "https://example.com/frame.png", "maker_response": maker}}
    with PlaymentClient(sb.base_url, sb.project_id, sb.api_key) as c:
        journal.mark_sending(ref, job)
        journal.mark_created(ref, c.create_job(job).job_id)


def test_a_vector_job_gets_shapes_json_and_per_label_review_rows(sandbox, tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    _send(sandbox, journal, "vec", SENT)
    sandbox.complete_jobs()
    out = tmp_path / "out"
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key) as c:
        report = download_results(journal, c, out)
    (job,) = report.jobs
    assert job.status == "downloaded" and job.shapes and not job.prelabel
    folder = out / f"vec-{job.job_id}"
    delivered = json.loads((folder / "shapes.json").read_text())
    assert json.loads((folder / "prelabel_shapes.json").read_text()) == SENT
    moved = delivered["rectangles"]["data"][0]["coordinates"]
    assert [round(p["x"], 6) for p in moved] == [round(0.1 + MOVE, 6), round(0.5 + MOVE, 6)] * 1 + \
        [round(0.5 + MOVE, 6), round(0.1 + MOVE, 6)]
    assert [s["label"] for s in delivered["rectangles"]["data"]] == ["car", ADDED_BOX]
    assert not (folder / "delivered.png").exists()

    with open(out / "review.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["annotation"] == "shapes"]
    by = {(r["class"], r["kind"]): r for r in rows}
    car = by[("car", "rectangles")]
    assert (car["prelabel_shapes"], car["delivered_shapes"], car["matched"]) == ("2", "1", "1")
    assert float(car["precision"]) == 0.5 and float(car["recall"]) == 1.0
    iou = (0.4 - MOVE) / (0.4 + MOVE)            # two 0.4-wide boxes, one moved right by MOVE
    assert float(car["iou"]) == pytest.approx(iou, abs=0.01)
    added = by[(ADDED_BOX, "rectangles")]
    assert (added["prelabel_shapes"], added["matched"], added["precision"]) == ("0", "0", "")
    lane = by[("lane", "polygons")]
    assert lane["matched"] == "1" and float(lane["iou"]) == pytest.approx((0.3 - MOVE) / (0.3 + MOVE), abs=0.01)
    page = (out / "review.html").read_text()
    assert "<h2>Shapes</h2>" in page and ADDED_BOX in page

    found = scan_results(out, journal)  # read back: the vector job is listed with its rows
    (listed,) = found.jobs
    assert listed.has_shapes and not listed.has_mask and found.problems == []
    assert {(lr.label, lr.kind, lr.matched) for lr in listed.shapes} == {
        ("car", "rectangles", 1), (ADDED_BOX, "rectangles", 0), ("lane", "polygons", 1)}
    journal.close()


def test_a_result_with_too_many_shapes_is_refused_with_a_sentence():
    many = {"rectangles": {"data": [rect(0.1, 0.1, 0.2, 0.2, "x", str(i)) for i in range(MAX_DELIVERED_SHAPES + 1)]}}
    with pytest.raises(Exception) as info:
        shapes_of(many)
    assert "more than the 100,000" in str(info.value) and "nothing was written" in str(info.value)


def test_labels_from_a_server_are_one_printable_line():
    got = shapes_of({"rectangles": {"data": [rect(0.1, 0.1, 0.2, 0.2, "car\x1b[31m\nred", "a")]}})
    assert got is not None
    assert "\x1b" not in got["rectangles"]["data"][0]["label"] and "\n" not in got["rectangles"]["data"][0]["label"]
