"""S3-compatible storage against a real S3-protocol server: moto in server mode on 127.0.0.1.

Fake credentials come from the environment; every client is given the local endpoint, so nothing
reaches the internet. Request counts come from botocore's ``before-call`` events (one per API call).
"""

from __future__ import annotations

import http.server
import logging
import os
import sys
import threading

import pytest
import requests

from playment_submit.core import errors as E
from playment_submit.core.client import PlaymentClient
from playment_submit.core.job import JobSpec, RasterPrelabel, ReferenceImage
from playment_submit.core.pipeline import submit_job
from playment_submit.core.storage import S3Storage, StorageError, content_key, storage_from_settings, upload_local_files
from tests.conftest import mask_bytes, png_bytes

SECRET = "aws-secret-never-logged-9f3"


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def local_job(tmp_path, wf):
    prim = write(tmp_path / "frames" / "primary.png", png_bytes(1))
    cam = write(tmp_path / "frames" / "cam1.png", png_bytes(2))
    mask = write(tmp_path / "masks" / "primary.png", mask_bytes())
    return JobSpec("local-1", wf, str(prim), [ReferenceImage(str(cam), "camera 1")],
                   RasterPrelabel(str(mask), {"#ff0000": "cup"}))


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
    assert st.destination(f) == f"s3://frames/{content_key(f, 'drive-7')}"
    assert calls == []  # the preview's destination makes no request
    url = st.put(f)
    assert url == st.destination(f)
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
    assert url.startswith(f"{s3_endpoint}/frames/p/") and ("X-Amz-Signature=" in url or "Signature=" in url)
    assert "X-Amz-Expires=600" in url and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert SECRET not in url
    assert requests.get(url, timeout=5).content == b"mask-bytes"


def test_s3_missing_bucket_gives_a_sentence_and_no_job(s3_endpoint, sandbox, tmp_path):
    spec = local_job(tmp_path, sandbox.workflow_id)
    st = S3Storage("no-such-bucket", "x", endpoint_url=s3_endpoint)
    client = PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key)
    with pytest.raises(StorageError) as info:
        submit_job(spec, client, storage=st)
    assert "no-such-bucket" in str(info.value) and "does not exist" in str(info.value)
    assert sandbox.job_count() == 0 and sandbox.stats().get("POST jobs", 0) == 0


def test_s3_access_denied_gives_a_sentence_and_no_job(s3_endpoint, sandbox, tmp_path):
    seen: list[str] = []

    class Deny(http.server.BaseHTTPRequestHandler):
        def _deny(self):
            seen.append(self.command)
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
        spec = local_job(tmp_path, sandbox.workflow_id)
        st = S3Storage("frames", "x", endpoint_url=f"http://127.0.0.1:{srv.server_address[1]}")
        with pytest.raises(StorageError) as info:
            submit_job(spec, PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key), storage=st)
        assert "denied" in str(info.value) and "bucket policy" in str(info.value) and "primary.png" in str(info.value)
        assert sandbox.job_count() == 0
        # A denied HEAD may only mean "no ListBucket right" (S3 says 403 for a missing key then): the PUT is
        # still tried, and its refusal is what is reported.
        assert seen[0] == "HEAD" and "PUT" in seen
    finally:
        srv.shutdown()
        srv.server_close()


def test_s3_endpoint_down_is_a_connection_error(s3_endpoint, tmp_path):
    f = write(tmp_path / "a.png", b"x")
    st = S3Storage("frames", "x", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(E.ConnectionFailedError) as info:
        st.put(f)
    assert "Could not reach the storage endpoint" in str(info.value)


def test_storage_from_settings_and_logs_hold_no_secrets(s3_endpoint, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    settings = {"kind": "s3", "bucket": "frames", "prefix": "logs", "endpoint_url": s3_endpoint, "url_style": "https"}
    private = storage_from_settings(settings).put(write(tmp_path / "private.png", b"private"))
    assert requests.get(private, timeout=5).status_code == 403  # no public ACL unless the profile asks
    st = storage_from_settings(settings | {"public_acl": True})
    f = write(tmp_path / "l.png", b"log-test")
    planned = st.destination(f)
    url = st.put(f)
    assert url == planned
    assert url.startswith(f"{s3_endpoint}/frames/logs/")
    assert requests.get(url, timeout=5).content == b"log-test"
    text = caplog.text + "\n".join(str(r.args) for r in caplog.records) + repr(st) + st.describe()
    assert any(r.name.startswith("botocore") for r in caplog.records)  # debug logging really was on
    assert SECRET not in text


def test_s3_job_end_to_end_through_submit(s3_endpoint, sandbox, tmp_path):
    spec = local_job(tmp_path, sandbox.workflow_id)
    st = S3Storage("frames", "jobs", endpoint_url=s3_endpoint)
    created = submit_job(spec, PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key), storage=st)
    data = sandbox.jobs()[0]["payload"]["data"]
    assert created.job_id == sandbox.jobs()[0]["job_id"]
    import boto3
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    for url, local in ((data["image_url"], spec.image_url),
                       (data["reference_data"]["raster"]["images"][0]["image_url"], spec.references[0].image_url),
                       (data["maker_response"]["raster"]["data"]["url"], spec.prelabel.url)):
        assert url.startswith("s3://frames/jobs/")
        with open(local, "rb") as f:
            assert s3.get_object(Bucket="frames", Key=url[len("s3://frames/"):])["Body"].read() == f.read()


def test_s3_cancel_during_upload(s3_endpoint, tmp_path):
    big = write(tmp_path / "c.png", os.urandom(6 * 1024 * 1024))
    st = S3Storage("frames", "cancel", endpoint_url=s3_endpoint, multipart_threshold=5 * 1024 * 1024)
    cancel = threading.Event()
    spec = JobSpec("c", "wf", str(big), [], None)
    with pytest.raises(StorageError) as info:
        upload_local_files(spec, st, progress=lambda done, total: cancel.set(), cancel=cancel)
    assert "cancelled" in str(info.value).lower()


def test_boto3_missing_is_a_usage_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)  # what an install without the s3 extra looks like
    with pytest.raises(E.UsageError) as info:
        storage_from_settings({"kind": "s3", "bucket": "frames"})
    assert "boto3 is not installed" in str(info.value) and "playment-submit[s3]" in str(info.value)


def test_s3_settings_are_checked(s3_endpoint):
    with pytest.raises(E.UsageError):
        storage_from_settings({"kind": "s3", "bucket": ""})
    with pytest.raises(E.UsageError):
        storage_from_settings({"kind": "s3", "bucket": "frames", "url_style": "ftp"})
    with pytest.raises(E.UsageError) as info:
        storage_from_settings({"kind": "s3", "bucket": "frames", "presign_expiry": 8 * 24 * 3600})
    assert "7 days" in str(info.value)
    with pytest.raises(E.UsageError) as info:
        storage_from_settings({"kind": "s3", "bucket": "frames", "aws_profile": "no-such-profile-here"})
    assert "no-such-profile-here" in str(info.value)
    st = storage_from_settings({"kind": "s3", "bucket": "frames", "prefix": "/a/b/", "endpoint_url": s3_endpoint})
    assert st.describe() == f"S3 s3://frames/a/b via {s3_endpoint} (s3 URLs)"
