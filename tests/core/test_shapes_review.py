"""Vector results (issue 25, close the loop): the sandbox's annotator edits vector pre-labels deterministically
(first rectangle moved, second dropped, a box added, first polygon moved), and the shape review finds exactly that
by IoU (greedy, best first, IoU >= 0.5)."""

from __future__ import annotations

import pytest

from playment_submit.core.client import PlaymentClient
from playment_submit.core.job import JobSpec
from playment_submit.core.pipeline import submit_job
from playment_submit.core.shapes.review import MATCH_IOU, review_shapes


def box(x0, y0, x1, y1, label, sid):
    return {"_id": sid, "label": label, "attributes": {}, "state": "editable",
            "coordinates": [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]}


PRE = {
    "rectangles": {"data": [box(0.1, 0.2, 0.4, 0.6, "car", "a"), box(0.5, 0.1, 0.6, 0.3, "car", "b"),
                            box(0.2, 0.7, 0.3, 0.9, "person", "c")]},
    "polygons": {"data": [{"_id": "t", "label": "tree", "attributes": {}, "state": "editable",
                           "points": {"p1": {"x": 0.1, "y": 0.3}, "p2": {"x": 0.5, "y": 0.3},
                                      "p3": {"x": 0.3, "y": 0.0}},
                           "edges": {"e1": ["p1", "p2"], "e2": ["p2", "p3"], "e3": ["p3", "p1"]}}]},
    "lines": {"data": [{"_id": "l", "label": "lane", "attributes": {}, "state": "editable",
                        "points": {"p1": {"x": 0.0, "y": 1.0}, "p2": {"x": 0.5, "y": 0.5}},
                        "edges": {"e1": ["p1", "p2"]}}]},
}


def _delivered(sandbox):
    spec = JobSpec.from_payload({"reference_id": "vec-review", "work_flow_id": sandbox.workflow_id,
                                 "data": {"image_url": "https://cdn.example.com/f.png", "maker_response": PRE}})
    client = PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key)
    created = submit_job(spec, client)
    sandbox.complete_jobs()
    info = client.get_job(created.job_id)
    assert info.status == "completed"
    return info.result


def test_the_sandbox_delivers_edited_shapes(sandbox):
    result = _delivered(sandbox)
    rects = result["rectangles"]["data"]
    assert [r["_id"] for r in rects] == ["a", "c", "sandbox-added-box"]       # b dropped, a box added
    assert [p["x"] for p in rects[0]["coordinates"]] == pytest.approx([0.15, 0.45, 0.45, 0.15])  # a moved right
    tree = result["polygons"]["data"][0]["points"]
    assert tree["p3"] == {"x": 0.3, "y": pytest.approx(0.05)}               # moved down
    assert result["lines"] == PRE["lines"] and "url" not in result          # kept; a vector job has no mask


def test_the_review_finds_the_edits_by_iou(sandbox):
    review = review_shapes(PRE, _delivered(sandbox), size=(2000, 1000))
    rows = {(r.label, r.kind): r for r in review.labels}
    car = rows[("car", "rectangles")]
    # a moved right by 0.05 of a 0.3 wide box: intersection 0.25, union 0.35 of its width (same height)
    assert (car.prelabel, car.delivered, car.matched) == (2, 1, 1)
    assert car.precision == 0.5 and car.recall == 1.0 and car.mean_iou == pytest.approx(0.25 / 0.35, abs=0.005)
    person = rows[("person", "rectangles")]
    assert (person.matched, person.mean_iou) == (1, pytest.approx(1.0))
    added = rows[("Added box", "rectangles")]
    assert (added.prelabel, added.delivered, added.matched, added.precision, added.recall) == (0, 1, 0, None, 0.0)
    tree = rows[("tree", "polygons")]
    assert tree.matched == 1 and MATCH_IOU <= tree.mean_iou < 1.0
    assert review.left_out == ["Lines are not reviewed (they have no area to compare)."]


def test_shapes_below_the_match_threshold_do_not_match():
    pre = {"rectangles": {"data": [box(0.0, 0.0, 0.2, 0.2, "car", "x")]}}
    got = {"rectangles": {"data": [box(0.1, 0.0, 0.3, 0.2, "car", "y")]}}   # IoU 1/3
    [row] = review_shapes(pre, got).labels
    assert (row.matched, row.mean_iou, row.precision, row.recall) == (0, None, 0.0, 0.0)


def test_unreadable_shapes_are_left_out_and_said():
    pre = {"rectangles": {"data": [{"label": "car", "coordinates": "nope"}, box(0, 0, 0.5, 0.5, "car", "ok")]}}
    review = review_shapes(pre, pre)
    assert review.left_out == ["2 rectangles could not be read and were left out of the review."]
    assert review.labels[0].matched == 1
