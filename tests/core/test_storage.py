"""Storage against real servers: the sandbox's /files/ and an S3-protocol server (moto, server mode)."""

from __future__ import annotations

import http.server
import json
import logging
import os
import subprocess
import sys
import threading

import pytest
import requests

from core import errors as E
from core.job import JobSpec, RasterPrelabel, ReferenceImage
from core.storage import (NoStorage, S3Storage, SandboxStorage, StorageError, content_key, storage_from_settings,
                          upload_local_files)
from core.submit import submit_job
from core.client import PlaymentClient

SECRET = "aws-secret-never-logged-9f3"


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def local_job(tmp_path, wf):
    prim = write(tmp_path / "frames" / "primary.png", b"\x89PNG primary bytes")
    cam = write(tmp_path / "frames" / "cam1.png", b"\x89PNG camera bytes")
    mask = write(tmp_path / "masks" / "primary.png", b"\x89PNG mask bytes")
    spec = JobSpec("local-1", wf, str(prim), [ReferenceImage(str(cam), "camera 1"),
                                              ReferenceImage("https://cdn.example.com/c2.png", "camera 2")],
                   RasterPrelabel(str(mask), {"#ff0000": "cup"}))
    return spec, {str(prim): prim.read_bytes(), str(cam): cam.read_bytes(), str(mask): mask.read_bytes()}


# ------------------------------------------------------------------ sandbox
def test_sandbox_storage_end_to_end(sandbox, tmp_path):
    spec, contents = local_job(tmp_path, sandbox.workflow_id)
    storage = SandboxStorage(sandbox.base_url, sandbox.api_key)
    client = PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key)
    seen = []
    created = submit_job(spec, client, storage=storage, progress=seen.append)
    stored = sandbox.jobs()[0]["payload"]
    data = stored["data"]
    urls = [data["image_url"], data["reference_data"]["raster"]["images"][0]["image_url"],
            data["maker_response"]["raster"]["data"]["url"]]
    for url, original in zip(urls, contents.values()):
        assert url.startswith(sandbox.base_url + "/files/uploads/")
        assert requests.get(url, timeout=5).content == original
    assert data["reference_data"]["raster"]["images"][1]["image_url"] == "https://cdn.example.com/c2.png"
    assert created.job_id == sandbox.jobs()[0]["job_id"]
    assert seen[0]["phase"] == "upload" and seen[-1]["phase"] == "send"
    assert sandbox.stats()["PUT files"] == 3
    # The same files again: no PUT (content-addressed, HEAD finds them).
    spec.reference_id = "local-2"
    submit_job(spec, client, storage=storage)
    assert sandbox.stats()["PUT files"] == 3 and sandbox.job_count() == 2


def test_missing_local_file_stops_before_any_upload(sandbox, tmp_path):
    spec, _ = local_job(tmp_path, sandbox.workflow_id)
    (tmp_path / "masks" / "primary.png").unlink()
    with pytest.raises(StorageError) as info:
        upload_local_files(spec, SandboxStorage(sandbox.base_url, sandbox.api_key))
    assert "masks/primary.png does not exist" in str(info.value)
    assert sandbox.stats().get("PUT files", 0) == 0


def test_no_storage_refuses_local_paths_with_a_sentence(tmp_path):
    spec, _ = local_job(tmp_path, "2aae1234-acac-1234-eeff-12a22a237bbc")
    with pytest.raises(StorageError) as info:
        upload_local_files(spec, NoStorage())
    assert "no storage is configured" in str(info.value) and "--upload-to" in str(info.value)


def test_content_key_is_hash_plus_name(tmp_path):
    a = write(tmp_path / "a" / "img.png", b"same")
    b = write(tmp_path / "b" / "img.png", b"same")
    c = write(tmp_path / "c" / "img.png", b"other")
    assert content_key(a, "p") == content_key(b, "p")
    assert content_key(a, "p").endswith("/img.png") and content_key(a, "p").startswith("p/")
    assert content_key(a) != content_key(c)


def test_cli_submit_with_local_files_uses_sandbox_storage(sandbox, tmp_path):
    write(tmp_path / "frames" / "f.png", b"frame-bytes")
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"reference_id": "cli-local", "data": {"image_url": "frames/f.png"}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYMENT_")}
    env.update(PLAYMENT_BASE_URL=sandbox.base_url, PLAYMENT_API_KEY=sandbox.api_key,
               PLAYMENT_PROJECT_ID=sandbox.project_id, PLAYMENT_WORKFLOW_ID=sandbox.workflow_id,
               PLAYMENT_CONFIG_DIR=str(tmp_path / "cfg"), PLAYMENT_DATA_DIR=str(tmp_path / "data"))
    res = subprocess.run([sys.executable, "-m", "core.cli", "submit", str(job), "--json"], cwd="/",
                         capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    url = sandbox.jobs()[0]["payload"]["data"]["image_url"]
    assert requests.get(url, timeout=5).content == b"frame-bytes"
    assert (tmp_path / "data" / "journals").is_dir()  # the submission was journalled


# ----------------------------------------------------------------------- S3
@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing-access")
        mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            mp.delenv(var, raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        import boto3
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="frames")
        yield endpoint
        server.stop()


def counting(storage: S3Storage) -> list[str]:
    calls: list[str] = []
    storage._client.meta.events.register("before-call.s3.*", lambda model, **kw: calls.append(model.name))
    return calls


def test_s3_upload_is_content_addressed_and_not_repeated(s3_endpoint, tmp_path):
    f = write(tmp_path / "cam.png", b"camera frame " * 100)
    st = S3Storage("frames", "drive-7", endpoint_url=s3_endpoint, region="us-east-1")
    calls = counting(st)
    url = st.put(f)
    assert url == f"s3://frames/{content_key(f, 'drive-7')}"
    assert calls.count("PutObject") == 1
    assert st.put(f) == url
    assert calls.count("PutObject") == 1 and calls.count("HeadObject") == 2
    import boto3
    body = boto3.client("s3", endpoint_url=s3_endpoint).get_object(Bucket="frames", Key=url[len("s3://frames/"):])
    assert body["Body"].read() == f.read_bytes()


def test_s3_multipart_over_threshold(s3_endpoint, tmp_path):
    big = write(tmp_path / "big.png", os.urandom(6 * 1024 * 1024 + 123))
    st = S3Storage("frames", "big", endpoint_url=s3_endpoint, multipart_threshold=5 * 1024 * 1024)
    calls = counting(st)
    progress = []
    st.put(big, progress=lambda done, total: progress.append((done, total)))
    assert "CreateMultipartUpload" in calls and calls.count("UploadPart") >= 2
    assert progress[-1] == (big.stat().st_size, big.stat().st_size)


def test_s3_presigned_url_is_fetchable(s3_endpoint, tmp_path):
    f = write(tmp_path / "m.png", b"mask-bytes")
    st = S3Storage("frames", "p", endpoint_url=s3_endpoint, url_style="presigned", presign_expiry=600)
    url = st.put(f)
    assert url.startswith(s3_endpoint) and "Signature" in url or "X-Amz-Signature" in url
    assert requests.get(url, timeout=5).content == b"mask-bytes"


def test_s3_missing_bucket_gives_a_sentence_and_no_job(s3_endpoint, sandbox, tmp_path):
    spec, _ = local_job(tmp_path, sandbox.workflow_id)
    st = S3Storage("no-such-bucket", "x", endpoint_url=s3_endpoint)
    client = PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key)
    with pytest.raises(StorageError) as info:
        submit_job(spec, client, storage=st)
    assert "no-such-bucket" in str(info.value) and "does not exist" in str(info.value)
    assert sandbox.job_count() == 0 and sandbox.stats().get("POST jobs", 0) == 0


def test_s3_access_denied_gives_a_sentence_and_no_job(s3_endpoint, sandbox, tmp_path):
    class Deny(http.server.BaseHTTPRequestHandler):
        def _deny(self):
            body = (b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body) if self.command != "HEAD" else 0))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_HEAD = _deny

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Deny)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        spec, _ = local_job(tmp_path, sandbox.workflow_id)
        st = S3Storage("frames", "x", endpoint_url=f"http://127.0.0.1:{srv.server_address[1]}")
        with pytest.raises(StorageError) as info:
            submit_job(spec, PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key), storage=st)
        assert "denied" in str(info.value) and "bucket policy" in str(info.value)
        assert sandbox.job_count() == 0
    finally:
        srv.shutdown()
        srv.server_close()


def test_s3_endpoint_down_is_a_connection_error(s3_endpoint, tmp_path):
    f = write(tmp_path / "a.png", b"x")
    st = S3Storage("frames", "x", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(E.ConnectionFailedError) as info:
        st.put(f)
    assert "Could not reach the storage endpoint" in str(info.value)


def test_storage_from_settings_and_logs_hold_no_secrets(s3_endpoint, tmp_path, caplog, sandbox):
    caplog.set_level(logging.DEBUG)
    settings = {"kind": "s3", "bucket": "frames", "prefix": "logs", "endpoint_url": s3_endpoint, "url_style": "https"}
    private = storage_from_settings(settings).put(write(tmp_path / "private.png", b"private"))
    assert requests.get(private, timeout=5).status_code == 403  # no public ACL unless the profile asks
    st = storage_from_settings(settings | {"public_acl": True})
    url = st.put(write(tmp_path / "l.png", b"log-test"))
    assert url.startswith(f"{s3_endpoint}/frames/logs/")
    assert requests.get(url, timeout=5).content == b"log-test"
    sb = storage_from_settings({"kind": "sandbox"}, sandbox_base_url=sandbox.base_url, api_key=sandbox.api_key)
    sb.put(write(tmp_path / "s.png", b"sandbox-log-test"))
    text = "\n".join(r.getMessage() for r in caplog.records) + repr(st) + repr(sb)
    assert caplog.records
    assert SECRET not in text and sandbox.api_key not in text
    with pytest.raises(E.UsageError):
        storage_from_settings({"kind": "ftp"})
