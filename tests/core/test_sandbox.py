"""The sandbox answers raw HTTP exactly as the API notes describe (status, code, body shape)."""

from __future__ import annotations

import json

import pytest
import requests

from playment_submit.core.sandbox import SandboxServer

WF = "2aae1234-acac-1234-eeff-12a22a237bbc"


def post(sb, body, path=None, key=None, raw=None):
    url = sb.base_url + (path or f"/v1/projects/{sb.project_id}/jobs")
    headers = {"x-api-key": key if key is not None else sb.api_key, "Content-Type": "application/json"}
    return requests.post(url, data=raw if raw is not None else json.dumps(body), headers=headers, timeout=5)


def err_code(resp):
    body = resp.json()
    assert body["success"] is False and set(body["error"]) == {"code", "message"}
    return body["error"]["code"]


@pytest.mark.parametrize("body,code", [
    ({}, "FS_0004"),
    ({"work_flow_id": WF, "data": {"image_url": "https://a.b/c.png"}}, "FS_0002"),
    ({"reference_id": "r", "data": {"image_url": "https://a.b/c.png"}}, "FS_0005"),
    ({"reference_id": "r", "work_flow_id": WF}, "FS_0004"),
    ({"reference_id": "r", "work_flow_id": WF, "batch_id": "b1", "data": {"image_url": "https://a.b/c.png"}},
     "GE_0001"),
    ({"reference_id": "r", "work_flow_id": WF, "priority_weight": 42, "data": {"image_url": "https://a.b/c.png"}},
     "FS_00012"),
    ({"reference_id": "r", "work_flow_id": WF, "data": {"image_url": "ftp://a.b/c.png"}}, "FS_0003"),
    ({"reference_id": "r", "work_flow_id": WF, "batch_id": "00000000-0000-4000-8000-000000000000",
      "data": {"image_url": "https://a.b/c.png"}}, "GE_0001"),
])
def test_refusals_use_documented_codes(sandbox, body, code):
    resp = post(sandbox, body)
    assert resp.status_code == 400 and err_code(resp) == code
    assert sandbox.job_count() == 0


def test_docs_legend_typo_is_refused_by_the_sandbox_too(sandbox):
    body = {"reference_id": "r", "work_flow_id": WF, "data": {"image_url": "https://a.b/c.png", "maker_response": {
        "raster": {"data": {"legend": {"#fdffd34": "Person 1"}, "url": "https://a.b/m.png"}}}}}
    resp = post(sandbox, body)
    assert err_code(resp) == "FS_0003" and "#fdffd34" in resp.json()["error"]["message"]


def test_success_body_and_duplicate(sandbox):
    body = {"reference_id": "001", "work_flow_id": WF, "data": {"image_url": "https://a.b/c.png"}}
    resp = post(sandbox, body)
    data = resp.json()
    assert resp.status_code == 200 and data["success"] is True
    assert set(data["data"]) == {"job_id", "reference_id", "work_flow_id"} and data["data"]["reference_id"] == "001"
    again = post(sandbox, body)
    assert again.status_code == 400 and err_code(again) == "FS_0001"
    assert again.json()["error"]["message"] == "Reference ID for the job is already in use."


def test_old_paths_and_old_header_work(sandbox):
    body = {"reference_id": "old", "tag": WF, "data": {"image_url": "https://a.b/c.png"}}
    resp = requests.post(f"{sandbox.base_url}/v0/projects/{sandbox.project_id}/jobs", json=body,
                         headers={"x-client-key": sandbox.api_key}, timeout=5)
    assert resp.status_code == 200
    batch = requests.post(f"{sandbox.base_url}/v1/project/{sandbox.project_id}/batch", json={"name": "n"},
                          headers={"x-api-key": sandbox.api_key}, timeout=5)
    assert batch.json()["data"]["batch_id"]


def test_bad_key_is_401_plain_text(sandbox):
    resp = post(sandbox, {}, key="nope")
    assert resp.status_code == 401 and resp.headers["Content-Type"] == "text/plain"
    with pytest.raises(ValueError):
        resp.json()


def test_invalid_json_body(sandbox):
    resp = post(sandbox, None, raw=b"{not json")
    assert resp.status_code == 400 and err_code(resp) == "FS_0003"


def test_files_served_and_missing_attachment_is_fs_0007(sandbox, tmp_path):
    src = tmp_path / "img.png"
    src.write_bytes(b"\x89PNG fake bytes")
    url = sandbox.add_file(src, "frames/img.png")
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"x-api-key": sandbox.api_key}, timeout=5).content == src.read_bytes()
    ok = post(sandbox, {"reference_id": "f1", "work_flow_id": WF, "data": {"image_url": url}})
    assert ok.status_code == 200
    missing = post(sandbox, {"reference_id": "f2", "work_flow_id": WF,
                             "data": {"image_url": sandbox.file_url("nope.png")}})
    assert err_code(missing) == "FS_0007"
    assert requests.get(sandbox.base_url + "/files/..%2F..%2F..%2Fetc%2Fpasswd",
                        headers={"x-api-key": sandbox.api_key}, timeout=5).status_code == 404


def test_put_file_needs_key(sandbox):
    url = sandbox.base_url + "/files/up/a.bin"
    assert requests.put(url, data=b"abc", timeout=5).status_code == 401
    resp = requests.put(url, data=b"abc", headers={"x-api-key": sandbox.api_key}, timeout=5)
    assert resp.status_code == 201
    assert requests.get(url, headers={"x-api-key": sandbox.api_key}, timeout=5).content == b"abc"


def test_attachments_redirect(sandbox, tmp_path):
    src = tmp_path / "m.png"
    src.write_bytes(b"mask")
    url = sandbox.add_file(src)
    resp = requests.get(f"{sandbox.base_url}/v1/attachments", params={"url": url},
                        headers={"x-api-key": sandbox.api_key}, allow_redirects=False, timeout=5)
    assert resp.status_code == 302 and resp.headers["Location"].startswith(url)


def test_sqlite_store_survives_restart(tmp_path):
    store = str(tmp_path / "jobs.sqlite")
    with SandboxServer(store=store, api_key="k") as sb:
        post(sb, {"reference_id": "keep", "work_flow_id": WF, "data": {"image_url": "https://a.b/c.png"}})
    with SandboxServer(store=store, api_key="k") as sb:
        assert [j["reference_id"] for j in sb.jobs()] == ["keep"]
        assert err_code(post(sb, {"reference_id": "keep", "work_flow_id": WF,
                                  "data": {"image_url": "https://a.b/c.png"}})) == "FS_0001"


def test_loopback_only():
    with pytest.raises(ValueError):
        SandboxServer(host="0.0.0.0")


def test_a_client_hanging_up_mid_download_prints_no_traceback(sandbox, tmp_path, capfd):
    # A preview fetch stops reading at its size cap and closes: the sandbox must not print a traceback.
    import socket
    import struct
    import time

    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (32 * 1024 * 1024))
    url = sandbox.add_file(big, "big.bin")
    path = url.split(sandbox.base_url, 1)[1]
    host, port = sandbox.base_url.split("//", 1)[1].split(":")
    for _ in range(3):
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        s.recv(1024)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not a clean close
        s.close()
    time.sleep(0.5)  # the server's threads hit the reset while writing
    assert requests.get(sandbox.base_url + "/files/big.bin", headers={"x-api-key": sandbox.api_key},
                        timeout=10).status_code == 200  # still serving
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipeError" not in err and "ConnectionResetError" not in err
