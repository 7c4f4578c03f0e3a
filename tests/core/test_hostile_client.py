"""The client under hostile servers on 127.0.0.1: the key stays home, nothing hangs, outcomes are what was sent.

Each test stands for one case of "Trust no server" and fails without its fix.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from playment_submit.core import errors as E
from playment_submit.core.client import PlaymentClient, RetryPolicy, give_up_after
from playment_submit.core.job import JobSpec
from playment_submit.core.journal import Journal
from playment_submit.core.pipeline import submit_job
from tests.hostile import HostileServer, answer, self_signed_context, trickle

KEY = "hostile-test-key-0123456789"
WF = "2aae1234-acac-1234-eeff-12a22a237bbc"
BATCH = "3bbf2345-bdbd-2345-ffaa-23b33b348ccd"
FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.05)


def job(ref: str = "h-1", batch_id: str | None = None) -> JobSpec:
    return JobSpec(ref, WF, "https://cdn.example.com/a.png", batch_id=batch_id)


def client(server: HostileServer, **kw) -> PlaymentClient:
    kw.setdefault("retry", FAST)
    return PlaymentClient(server.base_url, "proj", KEY, **kw)


# ------------------------------------------------------------------------------------- the key stays home
@pytest.fixture
def elsewhere():
    """The host a redirect points at: it records any key that reaches it."""
    with HostileServer(lambda s, c, r: answer(c, 201, {"success": True, "data": {"job_id": "stolen"}})) as srv:
        yield srv


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_refused_and_the_key_never_follows(elsewhere, status):
    target = elsewhere.base_url.replace("127.0.0.1", "localhost") + "/v1/collect"

    def redirect(s, conn, req):
        answer(conn, status, b"", headers={"Location": target}, reason="Moved")

    with HostileServer(redirect) as api, client(api) as c:
        for call in (lambda: c.create_job(job()), lambda: c.create_batch("b"), lambda: c.get_job("j")):
            with pytest.raises(E.RedirectRefusedError) as info:
                call()
            assert f"localhost:{elsewhere.port}" in str(info.value) and "redirect" in str(info.value)
            assert info.value.exit_code == 2
        report = c.test_connection()  # bulk's check before it sends anything
        assert not report.ok and report.kind == "unreachable" and "redirect" in report.message
    assert elsewhere.requests == []  # nothing, let alone the key, reached the other host


def test_ids_cannot_leave_their_path_segment():
    with HostileServer(lambda s, c, r: answer(c, 404, {"success": False})) as api, \
            PlaymentClient(api.base_url, "proj/../../admin?x=1#", KEY) as c, pytest.raises(E.NotFoundError):
        c.get_job("../jobs?all=1")
    assert api.requests[0].path == "/v1/projects/proj%2F..%2F..%2Fadmin%3Fx%3D1%23/jobs/..%2Fjobs%3Fall%3D1"


def test_a_server_echoing_the_key_and_escape_codes_reaches_no_terminal_or_journal(tmp_path):
    def echo(s, conn, req):
        text = f"\x1b[2K\r\x1b[32mCreated job 123\x1b[0m headers: {json.dumps(req.headers)}"
        answer(conn, 400, {"success": False, "error": {"code": "FS_0003\x1b[31m", "message": text}})

    with HostileServer(echo) as api, client(api) as c, Journal(tmp_path / "j.sqlite") as journal:
        with pytest.raises(E.PlaymentError) as info:
            submit_job(job("echo-1"), c, journal=journal)
        stored = journal.get("echo-1")
    said = str(info.value) + " " + (stored.message or "") + " " + (stored.code or "")
    assert api.keys_seen() == [KEY]  # it really was sent, and echoed back
    assert KEY not in said and "\x1b" not in said and "[redacted]" in said


def test_a_base_url_with_credentials_is_refused_without_repeating_them():
    with pytest.raises(E.UsageError) as info:
        PlaymentClient("https://alice:hunter2secret@api.example.com", "proj", KEY)
    assert "hunter2secret" not in str(info.value) and "user name or password" in str(info.value)


@pytest.mark.parametrize("url, words", [("http://localhost:99999", "port"), ("http://localhost:0", "port 0"),
                                        ("ftp://api.example.com", "not an http(s) URL"),
                                        ("http://10.0.0.1", "plain http")])
def test_base_urls_that_cannot_work_get_a_sentence(url, words):
    with pytest.raises(E.UsageError) as info:
        PlaymentClient(url, "proj", KEY)
    assert words in str(info.value)


# ---------------------------------------------------------------------------------------- nothing hangs
def test_a_server_trickling_one_byte_at_a_time_is_cut_at_the_deadline():
    body = json.dumps({"success": True, "data": {"job_id": "late"}}).encode()

    def slow(s, conn, req):
        trickle(conn, b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n" % len(body) + body, every=0.2,
                stop_after=30)

    with HostileServer(slow) as api, client(api, timeout=1.0, retry=RetryPolicy(max_attempts=1)) as c:
        t0 = time.monotonic()
        with pytest.raises(E.AmbiguousOutcomeError) as info:  # it was sent: the outcome is unknown
            c.create_job(job())
        elapsed = time.monotonic() - t0
    assert elapsed < give_up_after(1.0) + 2, elapsed
    assert "no complete answer within 1 s" in str(info.value)


def test_a_server_that_never_answers_gives_up_within_the_stated_bound():
    hold = threading.Event()
    with HostileServer(lambda s, c, r: hold.wait(30)) as api, client(api, timeout=0.5, default_batch_id=BATCH,
                                                                     retry=RetryPolicy()) as c:
        t0 = time.monotonic()
        with pytest.raises(E.AmbiguousOutcomeError):
            c.create_job(job())
        elapsed = time.monotonic() - t0
        hold.set()
    assert elapsed <= give_up_after(0.5) + 1.5, elapsed


def test_a_huge_retry_after_on_a_get_is_not_waited_out():
    def busy(s, conn, req):
        answer(conn, 429, {"success": False}, headers={"Retry-After": "1000000"}, reason="Too Many Requests")

    with HostileServer(busy) as api, client(api, timeout=2.0) as c:
        t0 = time.monotonic()
        with pytest.raises(E.PlaymentError):
            c.get_job("some-job")
        assert time.monotonic() - t0 < 2 + 1.5


def test_an_endless_answer_is_not_read_into_memory():
    def flood(s, conn, req):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        chunk = b" " * 65536
        try:
            for _ in range(20 * 16):  # 20 MiB, more than the 8 MiB cap
                conn.sendall(chunk)
        except OSError:
            pass

    with HostileServer(flood) as api, client(api, timeout=10) as c, pytest.raises(E.ServerFaultError) as info:
        c.get_job("j")
    assert "larger than 8 MiB" in str(info.value)


# ------------------------------------------------------------------- outcomes by what was really sent
def test_a_self_signed_certificate_is_a_certificate_problem_and_nothing_was_sent(tmp_path):
    with (HostileServer(lambda s, c, r: answer(c, 201, {}), tls=self_signed_context(tmp_path)) as api,
          client(api, retry=RetryPolicy(max_attempts=5, backoff_base=0.01)) as c,
          pytest.raises(E.ConnectionFailedError) as info):
        c.create_job(job())
    assert "certificate" in str(info.value) and "nothing was sent" in str(info.value)
    assert not isinstance(info.value, E.AmbiguousOutcomeError) and info.value.exit_code == 2
    assert api.connections == 1 and api.requests == []  # one handshake, no retries, no request


def test_a_refused_connection_says_nothing_was_sent_and_is_not_retried():
    import socket
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    c = PlaymentClient(url, "proj", KEY, retry=RetryPolicy(max_attempts=5, backoff_base=1.0))
    t0 = time.monotonic()
    with pytest.raises(E.ConnectionFailedError) as info:
        c.create_job(job())
    assert "nothing was sent" in str(info.value) and time.monotonic() - t0 < 1.0


@pytest.mark.parametrize("job_id", [{"x": 1}, 12345, "", None, "a b", "x" * 500, ["id"]])
def test_a_malformed_success_is_an_unknown_outcome_never_created(job_id):
    def odd(s, conn, req):
        answer(conn, 201, {"success": True, "data": {"job_id": job_id, "reference_id": "h-1"}})

    with (HostileServer(odd) as api, client(api, retry=RetryPolicy(max_attempts=1)) as c,
          pytest.raises(E.AmbiguousOutcomeError)):
        c.create_job(job())


def test_an_unknown_outcome_stays_ambiguous_when_the_batch_cannot_be_read():
    """With a default batch: the POST drops after sending and the batch listing fails -> ambiguous (it was
    journalled 'failed' before, and then skipped on every re-run)."""
    def drop_post_fail_get(s, conn, req):
        if req.method == "POST":
            conn.close()  # the request arrived; no answer
        else:
            answer(conn, 503, b"<html>busy</html>", reason="Service Unavailable")

    with (HostileServer(drop_post_fail_get) as api,
          client(api, timeout=2, default_batch_id=BATCH, get_retries=0) as c,
          pytest.raises(E.AmbiguousOutcomeError) as info):
        c.create_job(job())
    assert BATCH in str(info.value)


def test_deeply_nested_or_huge_number_bodies_are_a_sentence_not_a_crash():
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"success": false, "error": {"code": ' + b"9" * 5000 + b"}}"):
        def odd(s, conn, req, body=body):
            answer(conn, 500, body, reason="Internal Server Error")

        with (HostileServer(odd) as api, client(api, retry=RetryPolicy(max_attempts=1), get_retries=0) as c,
              pytest.raises(E.PlaymentError) as info):
            c.get_job("j")
        assert "HTTP 500" in str(info.value)


def test_reconcile_skips_a_non_string_reference_id_on_a_batch_page(caplog):
    """Issue 21 item 4: a page entry whose reference_id is a list crashed the scan (unhashable type)."""
    def script(server, conn, req):
        answer(conn, 200, {"success": True, "data": {"id": "b-1", "next_page_token": None, "jobs": [
            {"id": "job-list", "reference_id": ["h-1"], "status": "created"},
            {"id": "job-dict", "reference_id": {"a": 1}, "status": "created"},
            {"id": True, "reference_id": "h-1"},
            {"id": "job-ok", "reference_id": "h-1", "status": "created"}]}})

    with HostileServer(script) as server, client(server) as c, caplog.at_level("WARNING"):
        assert c.find_job_by_reference("h-1", "b-1") == "job-ok"
        assert c.find_job_by_reference("h-2", "b-1") is None
    assert "reference ID that is not text" in caplog.text and "without a usable job ID" in caplog.text


def test_unknown_outcome_never_says_only_that_nothing_was_sent():
    """Issue 21 item 10: the first POST dropped after it was sent, the retry was refused (nothing sent); the
    message said "may or may not have created ...: ...; nothing was sent", contradicting itself."""
    def script(server, conn, req):
        conn.close()  # the job went out, no answer came
        server.stop()  # every later connection is refused: provably not sent

    server = HostileServer(script)
    with client(server, retry=RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_cap=0.01),
                get_retries=0) as c, pytest.raises(E.AmbiguousOutcomeError) as info:
        c.create_job(job("h-1"))
    msg = str(info.value)
    assert msg.startswith("Playment may or may not have created job \"h-1\": an earlier attempt may have reached it")
    assert "nothing was sent" not in msg.split("the last attempt did not reach it")[0]
    assert "Sending it again is safe" in msg


@pytest.mark.parametrize("target", ["https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/x.png",
                                    "https://[::ffff:169.254.169.254]/x"])
def test_attachment_redirect_to_link_local_is_never_followed(target):
    """Issue 21 item 10: results followed an attachments redirect to a cloud's metadata address."""
    def script(server, conn, req):
        answer(conn, 302, b"", headers={"Location": target}, reason="Found")

    with HostileServer(script) as server, client(server) as c, pytest.raises(E.ServerFaultError, match="link-local"):
        c.fetch_attachment("https://private.example/r.png")
    assert len(server.requests) == 1


def test_attachment_redirect_to_loopback_only_when_the_api_is_loopback():
    from playment_submit.core.fetcher import check_redirect_target
    check_redirect_target("http://127.0.0.1:9/files/m.png", "http://127.0.0.1:8080")  # the sandbox
    for target in ("https://127.0.0.1/x.png", "https://localhost:8443/x", "https://[::1]/x", "https://127.9.9.9/"):
        with pytest.raises(E.ServerFaultError, match="loopback"):
            check_redirect_target(target, "https://api.playment.in")
    check_redirect_target("https://storage.googleapis.com/b/m.png?sig=1", "https://api.playment.in")
