"""Sandbox endpoints that no other test drives over HTTP: the completion hook, batch paging and its
refusals, and the private result files (attachments, signed storage URLs)."""

from __future__ import annotations

import json

import pytest
import requests

from playment_submit.core.sandbox import Faults

WF = "2aae1234-acac-1234-eeff-12a22a237bbc"


def call(sb, method, path, body=None, raw=None, key=True, **kw):
    headers = {"x-api-key": sb.api_key} if key else {}
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    return requests.request(method, sb.base_url + path, data=data, headers=headers, timeout=5, **kw)


def add_job(sb, ref, batch_id=None):
    body = {"reference_id": ref, "work_flow_id": WF, "data": {"image_url": "https://a.b/c.png"}}
    if batch_id:
        body["batch_id"] = batch_id
    resp = call(sb, "POST", f"/v1/projects/{sb.project_id}/jobs", body)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["job_id"]


def job_status(sb, job_id):
    return call(sb, "GET", f"/v1/projects/{sb.project_id}/jobs/{job_id}").json()["data"]["status"]


def error_code(resp):
    body = resp.json()
    assert body["success"] is False
    return body["error"]["code"]


# ------------------------------------------------------------------------------------- POST /_sandbox/complete
def test_complete_hook_completes_the_jobs_named_then_every_open_one(sandbox):
    a, b, c = (add_job(sandbox, ref) for ref in ("a", "b", "c"))
    resp = call(sandbox, "POST", "/_sandbox/complete", {"job_ids": [b, "no-such-job"]})
    assert resp.status_code == 200 and resp.json() == {"success": True, "data": {"completed": [b]}}
    assert [job_status(sandbox, j) for j in (a, b, c)] == ["created", "completed", "created"]
    again = call(sandbox, "POST", "/_sandbox/complete", raw=b"")  # no body: every open job
    assert again.json()["data"]["completed"] == [a, c]
    assert call(sandbox, "POST", "/_sandbox/complete", raw=b"").json()["data"]["completed"] == []


@pytest.mark.parametrize("raw", [b'{"job_ids": "abc"}', b'{"job_ids": [1]}', b"{nope"])
def test_complete_hook_refuses_what_is_not_a_list_of_job_ids(sandbox, raw):
    job = add_job(sandbox, "a")
    resp = call(sandbox, "POST", "/_sandbox/complete", raw=raw)
    assert resp.status_code == 400 and error_code(resp) == "FS_0003"
    assert job_status(sandbox, job) == "created"


def test_complete_hook_needs_the_key(sandbox):
    job = add_job(sandbox, "a")
    assert call(sandbox, "POST", "/_sandbox/complete", raw=b"", key=False).status_code == 401
    assert job_status(sandbox, job) == "created"


# ------------------------------------------------------------------------------ GET /v1/projects/{pid}/batch/{id}
def test_batch_listing_pages_in_creation_order(make_sandbox):
    sb = make_sandbox(page_size=2)
    jobs = [add_job(sb, f"r{i}") for i in range(5)]
    seen, token, pages = [], None, 0
    while True:
        query = f"?page_token={token}" if token else ""
        data = call(sb, "GET", f"/v1/projects/{sb.project_id}/batch/{sb.default_batch_id}{query}").json()["data"]
        assert data["id"] == sb.default_batch_id and data["name"] == "Default" and len(data["jobs"]) <= 2
        seen += [j["id"] for j in data["jobs"]]
        pages += 1
        token = data["next_page_token"]
        if token is None:
            break
    assert seen == jobs and pages == 3


def test_batch_listing_refuses_an_unknown_batch_and_a_forged_token(sandbox):
    unknown = call(sandbox, "GET", f"/v1/projects/{sandbox.project_id}/batch/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404 and error_code(unknown) == "BATCH_NOT_FOUND"
    for token in ("abc", "p:x", "q:2"):
        bad = call(sandbox, "GET", f"/v1/projects/{sandbox.project_id}/batch/{sandbox.default_batch_id}"
                                   f"?page_token={token}")
        assert bad.status_code == 400 and error_code(bad) == "GE_0001", token


def test_a_new_batch_takes_jobs_and_refuses_its_name_twice(sandbox):
    made = call(sandbox, "POST", f"/v1/projects/{sandbox.project_id}/batch", {"name": " Week 1 ", "description": "d"})
    batch_id = made.json()["data"]["batch_id"]
    job = add_job(sandbox, "a", batch_id=batch_id)
    listed = call(sandbox, "GET", f"/v1/projects/{sandbox.project_id}/batch/{batch_id}").json()["data"]
    assert listed["name"] == "Week 1" and [j["id"] for j in listed["jobs"]] == [job]
    twice = call(sandbox, "POST", f"/v1/projects/{sandbox.project_id}/batch", {"name": "Week 1"})
    assert twice.status_code == 400 and error_code(twice) == "BATCH_CREATION"


# ------------------------------------------------------------------------------------- private result files
def test_result_files_are_served_only_through_a_signed_storage_url(sandbox):
    job = add_job(sandbox, "a")
    sandbox.complete_jobs([job])
    url = call(sandbox, "GET", f"/v1/projects/{sandbox.project_id}/jobs/{job}").json()["data"]["result"]["url"]
    assert url == f"{sandbox.base_url}/results/{job}.png"
    direct = requests.get(url, headers={"x-api-key": sandbox.api_key}, timeout=5)
    assert direct.status_code == 403 and error_code(direct) == "FORBIDDEN"

    moved = call(sandbox, "GET", "/v1/attachments", params={"url": url}, allow_redirects=False)
    assert moved.status_code == 302
    signed = moved.headers["Location"]
    assert signed.startswith(f"{sandbox.storage_url}/{job}.png?signature=")
    got = requests.get(signed, timeout=5)
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/png"
    assert got.content.startswith(b"\x89PNG\r\n\x1a\n")

    forged = requests.get(signed[:-1] + ("1" if signed.endswith("0") else "0"), timeout=5)
    assert forged.status_code == 403 and b"AccessDenied" in forged.content
    other = requests.get(f"{sandbox.storage_url}/{job}.png", timeout=5)
    assert other.status_code == 403
    assert sandbox.stats().get("storage with key", 0) == 0


def test_attachments_of_unknown_results_are_not_found(sandbox):
    for url in (f"{sandbox.base_url}/results/nope.png", "https://elsewhere.example/x.png", ""):
        resp = call(sandbox, "GET", "/v1/attachments", params={"url": url}, allow_redirects=False)
        assert resp.status_code == 404 and error_code(resp) == "NOT_FOUND", url


def test_attachments_of_sandbox_files_redirect_to_the_file(sandbox, tmp_path):
    source = tmp_path / "a.png"
    source.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    file_url = sandbox.add_file(source)
    resp = call(sandbox, "GET", "/v1/attachments", params={"url": file_url}, allow_redirects=False)
    location = resp.headers["Location"]
    assert resp.status_code == 302 and location.startswith(file_url + "?signature=")
    assert requests.get(location, timeout=5).content == source.read_bytes()  # the signed URL needs no key
    assert requests.get(file_url + "?signature=" + "0" * 64, timeout=5).status_code == 401


# -------------------------------------------------------------------------------------------------- faults
def test_fault_rate_is_split_evenly_over_the_five_kinds_and_clamped():
    f = Faults.spread(0.5, retry_after=2.5)
    assert (f.html_500, f.html_502, f.rate_limit, f.drop_before, f.drop_after) == (0.1,) * 5
    assert f.retry_after == 2.5 and f.total() == pytest.approx(0.5)
    assert Faults.spread(7).total() == pytest.approx(1.0) and Faults.spread(-1).total() == 0.0


def test_rate_limit_fault_answers_429_with_its_retry_after_and_stores_nothing(make_sandbox):
    sb = make_sandbox(faults=Faults(rate_limit=1.0, retry_after=2.5))
    body = {"reference_id": "a", "work_flow_id": WF, "data": {"image_url": "https://a.b/c.png"}}
    resp = call(sb, "POST", f"/v1/projects/{sb.project_id}/jobs", body)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "2.5"
    assert sb.job_count() == 0 and sb.stats()["fault rate_limit"] == 1
