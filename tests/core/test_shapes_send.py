"""Vector pre-labels go through the one pipeline (issue 25): a job with rectangles and polygons is created on the
sandbox with its shapes received unchanged; a bad shape is refused before anything is sent, with the same sentence
from core and from `submit`."""

from __future__ import annotations

import json

from playment_submit.core.cli import main
from playment_submit.core.client import PlaymentClient
from playment_submit.core.job import JobSpec
from playment_submit.core.pipeline import check_job, submit_job

SHAPES = {
    "rectangles": {"data": [{
        "_id": "r1", "label": "car", "state": "editable", "attributes": {"score": {"value": 0.91}},
        "coordinates": [{"x": 0.1, "y": 0.2}, {"x": 0.4, "y": 0.2}, {"x": 0.4, "y": 0.6}, {"x": 0.1, "y": 0.6}]}]},
    "polygons": {"data": [{
        "_id": "p1", "label": "tree", "state": "editable", "attributes": {},
        "points": {"p1": {"x": 0.1, "y": 0.9}, "p2": {"x": 0.5, "y": 0.9}, "p3": {"x": 0.3, "y": 0.5}},
        "edges": {"e1": ["p1", "p2"], "e2": ["p2", "p3"], "e3": ["p3", "p1"]}}]},
}


def _payload(workflow_id: str, shapes: dict, ref: str = "vec-1") -> dict:
    return {"reference_id": ref, "work_flow_id": workflow_id,
            "data": {"image_url": "https://cdn.example.com/f.png", "maker_response": shapes}}


def test_a_job_with_rectangles_and_polygons_is_created_with_its_shapes_unchanged(sandbox):
    spec = JobSpec.from_payload(_payload(sandbox.workflow_id, SHAPES))
    client = PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key)
    created = submit_job(spec, client)
    [stored] = sandbox.jobs()
    assert stored["job_id"] == created.job_id
    assert stored["payload"]["data"]["maker_response"] == SHAPES


def test_a_bad_shape_is_refused_before_anything_is_sent(sandbox, tmp_path, capsys, monkeypatch):
    bad = json.loads(json.dumps(SHAPES))
    bad["rectangles"]["data"][0]["coordinates"][1]["x"] = 1.4   # off the image
    bad["polygons"]["data"][0]["edges"]["e3"] = ["p3", "p9"]     # names a point that does not exist
    verdict = check_job(JobSpec.from_payload(_payload(sandbox.workflow_id, bad)))
    sentences = [p.message for p in verdict.errors]
    assert any(s.startswith('Rectangle 1 ("car") needs "coordinates"') for s in sentences), sentences
    assert any(s.startswith('Polygon 1 ("tree") has the edge "e3"') for s in sentences), sentences
    assert {p.path for p in verdict.errors} == {"data.maker_response.rectangles.data[0]",
                                                 "data.maker_response.polygons.data[0]"}
    job = tmp_path / "job.json"
    job.write_text(json.dumps(_payload(sandbox.workflow_id, bad)))
    for name, value in (("BASE_URL", sandbox.base_url), ("API_KEY", sandbox.api_key),
                        ("PROJECT_ID", sandbox.project_id), ("WORKFLOW_ID", sandbox.workflow_id)):
        monkeypatch.setenv(f"PLAYMENT_{name}", value)
    assert main(["submit", str(job)]) == 1
    err = capsys.readouterr().err
    assert 'Rectangle 1 ("car") needs "coordinates"' in err and 'has the edge "e3"' in err
    assert sandbox.job_count() == 0 and sandbox.stats().get("POST jobs", 0) == 0


def test_a_label_with_a_bidi_character_is_refused_and_shown_escaped(sandbox):
    bad = json.loads(json.dumps(SHAPES))
    bad["rectangles"]["data"][0]["label"] = "car\u202egnp.exe"
    verdict = check_job(JobSpec.from_payload(_payload(sandbox.workflow_id, bad)))
    [problem] = verdict.errors
    assert "control or bidi characters" in problem.message and "\\u202e" in problem.message


def test_the_sandbox_refuses_a_bad_shape_as_the_api_would(sandbox):
    """Sent without the client's check (a raw POST), the sandbox answers 400 FS_0003 naming the shape."""
    import requests

    bad = json.loads(json.dumps(SHAPES))
    del bad["polygons"]["data"][0]["points"]["p3"]
    resp = requests.post(f"{sandbox.base_url}/v1/projects/{sandbox.project_id}/jobs",
                         json=_payload(sandbox.workflow_id, bad), headers={"x-api-key": sandbox.api_key}, timeout=10)
    body = resp.json()
    assert resp.status_code == 400 and body["error"]["code"] == "FS_0003", body
    assert "Polygon 1" in body["error"]["message"] and sandbox.job_count() == 0
