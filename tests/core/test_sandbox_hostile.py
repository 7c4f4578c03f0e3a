"""The sandbox under hostile clients: raw bytes over a socket to a real SandboxServer on 127.0.0.1.

Each test stands for one case of "Trust no server" (the sandbox's part: trust no client either) and fails
without its fix. After every bad request a good one proves the server still serves, and nothing may reach
stderr (a traceback there is a crash the client never hears about).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from playment_submit.core.sandbox import MAX_JSON_BODY, MAX_UPLOAD, SandboxServer

KEY = "hostile-sandbox-key"
WF = "2aae1234-acac-1234-eeff-12a22a237bbc"


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(api_key=KEY, files_dir=tmp_path / "files") as server:
        yield server


@pytest.fixture
def quiet_stderr(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Whatever the test does to the server, nothing reaches stderr."""
    capfd.readouterr()
    yield
    time.sleep(0.05)  # a handler thread that crashed and was given up on may still be printing
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Error" not in err, err


# ------------------------------------------------------------------------------------------- helpers
class Answer:
    def __init__(self, raw: bytes, closed: bool, seconds: float):
        self.raw, self.closed, self.seconds = raw, closed, seconds
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1]) if lines[0].startswith("HTTP/1.") else 0
        self.headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}

    def json(self) -> dict:
        return json.loads(self.body)

    def error_code(self) -> str:
        """The code of an error body in the API's shape (and that it is in that shape)."""
        body = self.json()
        assert body["success"] is False and set(body["error"]) == {"code", "message"}, body
        assert self.headers["content-type"] == "application/json"
        return body["error"]["code"]


def exchange(sb: SandboxServer, data: bytes, *, timeout: float = 5.0, shut: bool = False) -> Answer:
    """Send exactly ``data`` on a fresh connection (then, with ``shut``, half-close it) and read until the
    server closes the connection or ``timeout`` passes (``closed`` says which)."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", sb.port), timeout=timeout) as s:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        raw, closed = b"", False
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    closed = True
                    break
                raw += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return Answer(raw, closed, time.monotonic() - start)


def request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"",
            *, key: str | None = KEY, length: bool = True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if key is not None:
        lines.append(f"x-api-key: {key}")
    if length and body:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def jobs_path(sb: SandboxServer) -> str:
    return f"/v1/projects/{sb.project_id}/jobs"


def assert_still_serving(sb: SandboxServer) -> None:
    ok = exchange(sb, request("GET", "/_sandbox/stats"))
    assert ok.status == 200 and ok.json()["success"] is True, ok.raw


@contextlib.contextmanager
def allocations() -> Iterator[dict[str, int]]:
    """The peak of memory allocated (by anyone in this process, the server's threads included) inside."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    box: dict[str, int] = {}
    try:
        yield box
    finally:
        box["peak"] = tracemalloc.get_traced_memory()[1] - before
        if not was_tracing:
            tracemalloc.stop()


# ------------------------------------------------------------------------------- 1. the key before the body
@pytest.mark.parametrize("length", ["2000000000", "-1"])
@pytest.mark.parametrize("method,path", [("POST", "jobs"), ("PUT", "/files/up/big.bin")])
def test_a_request_without_the_key_gets_401_before_its_body_is_sent(sb, quiet_stderr, method, path, length):
    # Only the headers go out; the body they announce never does. The 401 must come anyway, at once, with
    # the connection closed behind it and no memory spent on the announced size.
    path = jobs_path(sb) if path == "jobs" else path
    head = request(method, path, {"Content-Length": length}, key=None)
    with allocations() as mem:
        answer = exchange(sb, head)
    assert answer.status == 401 and answer.body == b"Unauthorized", answer.raw
    assert answer.closed and answer.headers.get("connection") == "close"
    assert answer.seconds < 2.0
    assert mem["peak"] < 1 << 20
    assert sb.job_count() == 0 and sb.stats() == {}
    assert_still_serving(sb)


def test_a_wrong_key_is_401_too_before_the_body(sb, quiet_stderr):
    answer = exchange(sb, request("POST", jobs_path(sb), {"Content-Length": "2000000000"}, key="not-the-key"))
    assert answer.status == 401 and answer.closed and answer.seconds < 2.0


def test_expect_100_continue_is_not_granted_without_the_key(sb, quiet_stderr):
    # "100 Continue" invites the client to send the body: a request without the key gets its 401 instead.
    head = request("PUT", "/files/up/a.bin", {"Content-Length": "3", "Expect": "100-continue"}, key=None)
    answer = exchange(sb, head)
    assert answer.raw.startswith(b"HTTP/1.1 401 "), answer.raw
    with socket.create_connection(("127.0.0.1", sb.port), timeout=5) as s:  # with the key it is granted
        s.sendall(request("PUT", "/files/up/a.bin", {"Content-Length": "3", "Expect": "100-continue"}))
        assert s.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"abc")
        assert s.recv(4096).startswith(b"HTTP/1.1 201 ")
    assert (sb.files_dir / "up" / "a.bin").read_bytes() == b"abc"


@pytest.mark.parametrize("method,path", [("POST", "jobs"), ("PUT", "/files/up/a.bin")])
def test_a_body_without_content_length_is_411(sb, quiet_stderr, method, path):
    path = jobs_path(sb) if path == "jobs" else path
    for extra in ({}, {"Transfer-Encoding": "chunked"}):
        answer = exchange(sb, request(method, path, extra, b""))
        assert answer.status == 411 and answer.error_code() == "LENGTH_REQUIRED" and answer.closed
        assert_still_serving(sb)
    assert sb.job_count() == 0 and not (sb.files_dir / "up").exists()


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "+5", "0x10", " ", "5, 5", "1_000", "\u00b2"])
@pytest.mark.parametrize("method,path", [("POST", "jobs"), ("PUT", "/files/up/a.bin")])
def test_a_content_length_that_is_not_a_whole_number_is_400(sb, quiet_stderr, method, path, length):
    path = jobs_path(sb) if path == "jobs" else path
    answer = exchange(sb, request(method, path, {"Content-Length": length}))
    assert answer.status == 400 and answer.error_code() == "BAD_REQUEST" and answer.closed, answer.raw
    assert answer.seconds < 2.0
    assert_still_serving(sb)


def test_two_different_content_lengths_are_400(sb, quiet_stderr):
    head = request("POST", jobs_path(sb), {"Content-Length": "2"}, b"{}")  # and a second one below
    answer = exchange(sb, head.replace(b"Connection: close", b"Content-Length: 1000\r\nConnection: close"))
    assert answer.status == 400 and answer.error_code() == "BAD_REQUEST"
    assert_still_serving(sb)


@pytest.mark.parametrize("method,path,length", [
    ("POST", "jobs", MAX_JSON_BODY + 1),
    ("POST", "batch", MAX_JSON_BODY + 1),
    ("POST", "jobs", 10 ** 40),
    ("PUT", "/files/up/big.bin", MAX_UPLOAD + 1),
    ("PUT", "/files/up/big.bin", 10 ** 40),
])
def test_a_body_over_the_routes_bound_is_413_unread(sb, quiet_stderr, method, path, length):
    path = {"jobs": jobs_path(sb), "batch": f"/v1/projects/{sb.project_id}/batch"}.get(path, path)
    answer = exchange(sb, request(method, path, {"Content-Length": str(length)}))
    assert answer.status == 413 and answer.error_code() == "FS_0003" and answer.closed, answer.raw
    assert answer.seconds < 2.0
    assert_still_serving(sb)


def test_a_json_body_up_to_the_bound_is_taken(sb, quiet_stderr):
    body = {"reference_id": "big", "work_flow_id": WF, "data": {"image_url": "https://a.b/c.png",
                                                                  "metadata": {"pad": ""}}}
    body["data"]["metadata"]["pad"] = "x" * (MAX_JSON_BODY - len(json.dumps(body)))
    raw = json.dumps(body).encode()
    assert len(raw) == MAX_JSON_BODY
    answer = exchange(sb, request("POST", jobs_path(sb), body=raw))
    assert answer.status == 200 and answer.json()["data"]["reference_id"] == "big", answer.raw


@pytest.mark.parametrize("method,path,length", [
    ("POST", "jobs", 1_000_000),
    ("PUT", "/files/up/partial.bin", 100 * 2 ** 20),
])
def test_memory_follows_what_arrives_not_what_was_announced(sb, quiet_stderr, method, path, length):
    # With the key, a body announced as large that stops after a few bytes: the sandbox reads in small
    # pieces, so it never holds a buffer the size of the announcement. Nothing is stored and it hangs up.
    path = jobs_path(sb) if path == "jobs" else path
    with allocations() as mem:
        answer = exchange(sb, request(method, path, {"Content-Length": str(length)}) + b'{"reference_id"',
                          shut=True)
    assert answer.closed and answer.raw == b""
    assert mem["peak"] < 512 * 1024, mem
    assert sb.job_count() == 0 and not [p for p in sb.files_dir.rglob("*") if p.is_file()]  # nor a temporary
    assert_still_serving(sb)


# ------------------------------------------------------------------------------ 2. malformed requests
@pytest.mark.parametrize("raw", [
    b"GET /\r\n",  # HTTP/0.9: refused at once, without waiting for headers that never come
    b"GET /_sandbox/stats HTTP/0.9\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\n\r\n",
    b"GET  / HTTP/1.1\r\n\r\n",
    b"G\x00T / HTTP/1.1\r\n\r\n",
    b"GET /\x01\x7f HTTP/1.1\r\n\r\n",
    b"GET /caf\xe9 HTTP/1.1\r\n\r\n",
    b"GET nothing HTTP/1.1\r\n\r\n",
    b"GET / HTTP/one\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello sent to plain http
    b"hello\r\n\r\n",
])
def test_a_request_line_that_is_not_http_1_is_400(sb, quiet_stderr, raw):
    answer = exchange(sb, raw)
    assert answer.status == 400 and answer.error_code() == "BAD_REQUEST" and answer.closed, answer.raw
    assert answer.seconds < 2.0
    assert_still_serving(sb)


@pytest.mark.parametrize("raw,status,code", [
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "REQUEST_URI_TOO_LONG"),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"h%d: x\r\n" % i for i in range(150)) + b"\r\n", 431,
     "REQUEST_HEADER_FIELDS_TOO_LARGE"),
    (b"GET / HTTP/1.1\r\nx: " + b"a" * 70_000 + b"\r\n\r\n", 431, "REQUEST_HEADER_FIELDS_TOO_LARGE"),
    (b"GET / HTTP/2.0\r\n\r\n", 505, "HTTP_VERSION_NOT_SUPPORTED"),
    (b"BREW /pot HTTP/1.1\r\nContent-Length: 5\r\n\r\nwater", 501, "NOT_IMPLEMENTED"),
], ids=["uri-too-long", "too-many-headers", "header-too-long", "http-2", "unknown-method"])
def test_the_servers_own_refusals_are_in_the_api_shape_and_close(sb, quiet_stderr, raw, status, code):
    answer = exchange(sb, raw)
    assert answer.status == status and answer.error_code() == code and answer.closed, answer.raw[:300]
    assert_still_serving(sb)


@pytest.mark.parametrize("bad_line", ["BadHeaderLine", "x-api-key : spaced", "Bad Header: x"])
def test_a_header_line_without_a_proper_colon_is_400(sb, quiet_stderr, bad_line):
    raw = f"GET /_sandbox/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n{bad_line}\r\nx-api-key: {KEY}\r\n\r\n".encode()
    answer = exchange(sb, raw)
    assert answer.status == 400 and answer.error_code() == "BAD_REQUEST" and answer.closed, answer.raw
    assert_still_serving(sb)


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT"])
@pytest.mark.parametrize("name,code", [("a%00b.png", "GE_0001"), ("a%0Ab.png", "GE_0001"),
                                       ("%ff%fe.png", "BAD_REQUEST")])  # the last: not UTF-8, a bad path
def test_a_file_name_with_nul_controls_or_bad_utf8_is_400(sb, quiet_stderr, method, name, code):
    body = b"abc" if method == "PUT" else b""
    answer = exchange(sb, request(method, f"/files/{name}", body=body))
    assert answer.status == 400 and answer.closed, answer.raw
    if method != "HEAD":
        assert answer.error_code() == code
    assert not any(sb.files_dir.rglob("*"))
    assert_still_serving(sb)


def test_a_long_file_name_is_stored_as_sent_up_to_the_file_systems_limit(sb, quiet_stderr):
    # Choice: names are stored as sent. The upload's temporary file has a short name of its own, so a
    # 250-character name (255 bytes at most per part) is stored under exactly that name; longer parts,
    # which no file system here can hold, are refused with 400.
    for name in ("a" * 246 + ".png", "b" * 255, "dir/" + "c" * 250, "é" * 127):
        url = "/files/" + "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode()) for c in name)
        put = exchange(sb, request("PUT", url, body=name.encode()))
        assert put.status == 201, put.raw
        assert (sb.files_dir / name).read_bytes() == name.encode()
        got = exchange(sb, request("GET", url))
        assert got.status == 200 and got.body == name.encode()
    for name in ("d" * 256, "dir/" + "e" * 300, "é" * 128, "/".join(["f" * 200] * 6)):
        url = "/files/" + name.replace("é", "%C3%A9")
        put = exchange(sb, request("PUT", url, body=b"abc"))
        assert put.status == 400 and put.error_code() == "GE_0001", put.raw
        assert exchange(sb, request("GET", url)).status == 404
    assert not [p for p in sb.files_dir.rglob("*") if p.name.endswith(".part")]
    assert_still_serving(sb)


def post_json(sb: SandboxServer, raw: bytes, path: str | None = None) -> Answer:
    return exchange(sb, request("POST", path or jobs_path(sb), body=raw))


@pytest.mark.parametrize("raw", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    b'{"reference_id": "r", "work_flow_id": "' + WF.encode() + b'", "data": {"image_url": "https://a.b/c.png", '
    b'"metadata": ' + b"[" * 100 + b"]" * 100 + b"}}",
], ids=["deep-arrays", "deep-objects", "deep-metadata"])
def test_json_nested_too_deep_is_400_not_a_crash(sb, quiet_stderr, raw):
    answer = post_json(sb, raw)
    assert answer.status == 400 and answer.error_code() == "FS_0003", answer.raw
    assert "nests deeper" in answer.json()["error"]["message"]
    assert sb.job_count() == 0
    assert_still_serving(sb)


@pytest.fixture(params=["default", "lifted"])
def int_digit_limit(request: pytest.FixtureRequest) -> Iterator[None]:
    """Python's own limit on int() digits, as shipped, and lifted (as any library in the process may do):
    the sandbox's answer must not depend on it."""
    if request.param == "default":
        yield
        return
    if not hasattr(sys, "set_int_max_str_digits"):
        pytest.skip("this Python has no limit on int() digits to lift")
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


@pytest.mark.parametrize("route,raw", [
    ("jobs", b'{"reference_id": "r", "work_flow_id": "' + WF.encode() + b'", "priority_weight": ' + b"7" * 5000
     + b', "data": {"image_url": "https://a.b/c.png"}}'),
    ("jobs", b"-" + b"9" * 5000),
    ("batch", b'{"name": "n", "description": ' + b"1" * 5000 + b"}"),
])
def test_a_5000_digit_integer_is_400_not_a_crash(sb, quiet_stderr, int_digit_limit, route, raw):
    path = jobs_path(sb) if route == "jobs" else f"/v1/projects/{sb.project_id}/batch"
    answer = post_json(sb, raw, path)
    assert answer.status == 400 and answer.error_code() == "FS_0003", answer.raw
    assert sb.job_count() == 0 and len(sb.store.q("SELECT * FROM batches")) == 1
    assert_still_serving(sb)


@pytest.mark.parametrize("raw", [
    b'{"reference_id": NaN, "work_flow_id": "x", "data": {}}',
    b'{"reference_id": "r", "priority_weight": Infinity}',
    b'{"reference_id": "\\ud800", "work_flow_id": "' + WF.encode() + b'", "data": {"image_url": "https://a.b/c.png"}}',
    b"\xff\xfe{",
])
def test_json_that_is_not_strict_json_is_400(sb, quiet_stderr, raw):
    answer = post_json(sb, raw)
    assert answer.status == 400 and answer.error_code() == "FS_0003", answer.raw
    assert sb.job_count() == 0
    assert_still_serving(sb)


def test_a_get_with_a_body_is_answered_and_the_connection_closed(sb, quiet_stderr):
    # The body of a GET is never read; were the connection kept, it would be parsed as the next request.
    raw = (f"GET /_sandbox/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {KEY}\r\nContent-Length: 36\r\n\r\n"
           f"GET /_sandbox/stats HTTP/1.1\r\n\r\n").encode()
    answer = exchange(sb, raw)
    assert answer.status == 200 and answer.closed and answer.raw.count(b"HTTP/1.1 ") == 1
    assert_still_serving(sb)


# --------------------------------------------------------------------------- 3. file names as sent
def test_percent_escapes_in_a_file_name_are_decoded_once(sb, quiet_stderr):
    put = exchange(sb, request("PUT", "/files/a%2541.png", body=b"percent"))
    assert put.status == 201, put.raw
    assert put.json()["data"]["url"] == sb.base_url + "/files/a%2541.png"
    assert sorted(p.name for p in sb.files_dir.iterdir()) == ["a%41.png"]  # not "aA.png"
    got = exchange(sb, request("GET", "/files/a%2541.png"))
    assert got.status == 200 and got.body == b"percent"
    assert exchange(sb, request("GET", "/files/aA.png")).status == 404
    assert exchange(sb, request("GET", "/files/a%41.png")).status == 404  # that is "aA.png"
    assert sb.file_url("a%41.png") == sb.base_url + "/files/a%2541.png"
    assert not sb.own_file_missing(sb.file_url("a%41.png"))
    assert sb.own_file_missing(sb.base_url + "/files/aA.png")
    job = {"reference_id": "pct", "work_flow_id": WF, "data": {"image_url": sb.file_url("a%41.png")}}
    assert post_json(sb, json.dumps(job).encode()).status == 200


def test_add_file_stores_names_as_given(sb, tmp_path):
    src = tmp_path / "src.png"
    src.write_bytes(b"x")
    url = sb.add_file(src, "100%25 sure/a%41.png")
    assert (sb.files_dir / "100%25 sure" / "a%41.png").read_bytes() == b"x"
    got = exchange(sb, request("GET", url.split(sb.base_url, 1)[1]))
    assert got.status == 200 and got.body == b"x"
    for bad in ("../x.png", "/etc/x.png", "a\\b.png", "a\0b.png", "a//b.png", "./a.png"):
        with pytest.raises(PermissionError):
            sb.add_file(src, bad)


@pytest.mark.parametrize("name", [
    "..%2F..%2Fescape.txt",
    "a/../../escape.txt",
    "%2E%2E/%2E%2E/escape.txt",
    "up/..%2F..%2F..%2Fescape.txt",
    "%2Fetc%2Fescape.txt",  # absolute
    "/escape.txt",  # absolute: /files//escape.txt
    "..%5C..%5Cescape.txt",  # backslashes
    "up%5Cescape.txt",
    "escape%00.txt",  # NUL
    "a//escape.txt",
    "./escape.txt",
    "up/",
])
def test_path_traversal_stays_refused(sb, quiet_stderr, tmp_path, name):
    answer = exchange(sb, request("PUT", f"/files/{name}", body=b"evil"))
    assert answer.status == 400 and answer.error_code() == "GE_0001" and answer.closed, answer.raw
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert exchange(sb, request("GET", f"/files/{name}")).status in (400, 404)
    assert_still_serving(sb)


def test_a_file_where_a_folder_should_be_is_409(sb, quiet_stderr):
    assert exchange(sb, request("PUT", "/files/x", body=b"file")).status == 201
    for name in ("x/y.png", "x/y/z.png"):
        answer = exchange(sb, request("PUT", f"/files/{name}", body=b"abc"))
        assert answer.status == 409 and answer.error_code() == "GE_0001", answer.raw
    assert exchange(sb, request("PUT", "/files/d/e.png", body=b"abc")).status == 201
    answer = exchange(sb, request("PUT", "/files/d", body=b"abc"))  # a folder where the file should go
    assert answer.status == 409 and answer.error_code() == "GE_0001", answer.raw
    assert sorted(str(p.relative_to(sb.files_dir)) for p in sb.files_dir.rglob("*")) == ["d", "d/e.png", "x"]
    assert_still_serving(sb)
