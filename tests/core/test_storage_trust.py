"""Storage trusts no server: the sandbox storage never follows a redirect (the key would go along) and every
exchange has a total deadline; S3 settings are checked before anything is sent."""

from __future__ import annotations

import time

import pytest

from playment_submit.core.errors import RequestTimeoutError, UsageError
from playment_submit.core.storage import S3Storage, SandboxStorage, StorageError, storage_from_settings
from tests.conftest import png_bytes
from tests.hostile import HostileServer, answer, trickle

KEY = "sandbox-key-123456"


def _file(tmp_path):
    path = tmp_path / "frame.png"
    path.write_bytes(png_bytes(3))
    return path


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_upload_is_refused_and_the_key_goes_nowhere_else(tmp_path, status):
    with HostileServer(lambda s, c, r: answer(c, 200, {})) as elsewhere:
        target = elsewhere.base_url.replace("127.0.0.1", "localhost") + "/collect"

        def script(server, conn, req):
            if req.method == "HEAD":
                answer(conn, 404, {})
            else:
                answer(conn, status, {}, headers={"Location": target}, reason="Redirect")

        with HostileServer(script) as sandbox:
            with pytest.raises(StorageError) as e:
                SandboxStorage(sandbox.base_url, KEY).put(_file(tmp_path))
            assert f"redirect (HTTP {status})" in str(e.value) and f"localhost:{elsewhere.port}" in str(e.value)
            assert [r.method for r in sandbox.requests] == ["HEAD", "PUT"]
        assert elsewhere.requests == [] and KEY not in str(e.value)


def test_a_redirected_existence_check_is_refused_too(tmp_path):
    with HostileServer(lambda s, c, r: answer(c, 200, {})) as elsewhere:
        with HostileServer(lambda s, c, r: answer(c, 302, {}, headers={"Location": elsewhere.base_url + "/x"})) as sb:
            with pytest.raises(StorageError) as e:
                SandboxStorage(sb.base_url, KEY).put(_file(tmp_path))
            assert "redirect (HTTP 302)" in str(e.value) and f"127.0.0.1:{elsewhere.port}" in str(e.value)
        assert elsewhere.requests == []


def test_a_trickling_sandbox_cannot_hold_an_upload_past_its_deadline(tmp_path):
    """One byte every 0.4 s never trips a per-read timeout; the total deadline still ends it."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Padding: " + b"x" * 200 + b"\r\n\r\n"
    with HostileServer(lambda s, c, r: trickle(c, head, 0.4, stop_after=20)) as slow:
        storage = SandboxStorage(slow.base_url, KEY, timeout=1.5)
        start = time.monotonic()
        with pytest.raises(RequestTimeoutError) as e:
            storage.put(_file(tmp_path))
        assert time.monotonic() - start < 6
        assert "within 1.5 s" in str(e.value) and "frame.png" in str(e.value)


def test_the_sandbox_storage_still_uploads(sandbox, tmp_path):
    storage = SandboxStorage(sandbox.base_url, sandbox.api_key, timeout=5)
    url = storage.put(_file(tmp_path))
    assert url.startswith(sandbox.base_url + "/files/") and storage.put(_file(tmp_path)) == url


@pytest.mark.parametrize(("endpoint", "words"), [
    ("not a url", "is not an http(s) URL with a host"),
    ("ftp://minio.example.com", "is not an http(s) URL with a host"),
    ("https://minio.example.com:99999", "port that is not a number"),
    ("https://minio.example.com:0", "port 0"),
    ("https://admin:s3cr3t-pw@minio.example.com", "user name or password"),
    ("https://minio.example.com/?x=1", "?query or #fragment"),
])
def test_s3_endpoints_that_cannot_work_are_refused(endpoint, words):
    with pytest.raises(UsageError) as e:
        S3Storage("frames", endpoint_url=endpoint)
    assert words in str(e.value) and "s3cr3t-pw" not in str(e.value)
    with pytest.raises(UsageError):
        storage_from_settings({"kind": "s3", "bucket": "frames", "endpoint_url": endpoint})


@pytest.mark.parametrize("value", [0, -5, "0", "soon", 8 * 24 * 3600, True, 1.5])
def test_a_presign_lifetime_of_zero_is_refused_not_silently_seven_days(value):
    with pytest.raises(UsageError) as e:
        storage_from_settings({"kind": "s3", "bucket": "frames", "url_style": "presigned", "presign_expiry": value})
    assert "presign_expiry" in str(e.value) or "lifetime" in str(e.value)


def test_storage_settings_of_the_wrong_type_get_a_sentence():
    with pytest.raises(UsageError) as e:
        storage_from_settings({"kind": "s3", "bucket": ["frames"]})
    assert '"bucket"' in str(e.value) and "text" in str(e.value)
    with pytest.raises(UsageError) as e:
        storage_from_settings({"kind": "s3", "bucket": "frames", "multipart_threshold": "lots"})
    assert "multipart_threshold" in str(e.value)
    st = storage_from_settings({"kind": "s3", "bucket": "frames", "presign_expiry": "600"})
    assert st.presign_expiry == 600
