"""PlaymentClient against the real sandbox over HTTP: error mapping, retries, recovery, secrecy."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from playment_submit.core import errors as E
from playment_submit.core.client import PlaymentClient, RetryPolicy, parse_retry_after
from playment_submit.core.job import JobSpec
from playment_submit.core.sandbox import Faults

FAST = RetryPolicy(max_attempts=6, backoff_base=0.005, backoff_cap=0.05)


def job(ref: str, wf: str, **extra) -> dict:
    return {"reference_id": ref, "work_flow_id": wf, "data": {"image_url": "https://cdn.example.com/a.png"}, **extra}


def client_for(sb, **kw) -> PlaymentClient:
    kw.setdefault("retry", FAST)
    kw.setdefault("default_batch_id", sb.default_batch_id)
    return PlaymentClient(sb.base_url, sb.project_id, sb.api_key, **kw)


def test_create_get_and_list(sandbox):
    c = client_for(sandbox)
    created = c.create_job(job("r1", sandbox.workflow_id))
    assert created.status == "created" and created.attempts == 1
    info = c.get_job(created.job_id)
    assert info.reference_id == "r1" and info.batch_id == sandbox.default_batch_id
    assert info.work_flow_id == sandbox.workflow_id
    assert [j.job_id for j in c.iter_batch_jobs(sandbox.default_batch_id)] == [created.job_id]


def test_batch_listing_follows_page_tokens(make_sandbox):
    sb = make_sandbox(page_size=7)
    c = client_for(sb)
    batch = c.create_batch("drive 12", "night frames")
    ids = [c.create_job(job(f"r{i}", sb.workflow_id, batch_id=batch)).job_id for i in range(23)]
    assert [j.job_id for j in c.iter_batch_jobs(batch)] == ids
    assert sb.stats()["GET batch"] == 4  # 7 + 7 + 7 + 2
    assert c.find_job_by_reference("r22", batch) == ids[22]
    assert c.find_job_by_reference("nope", batch) is None


def test_duplicate_batch_name_is_batch_creation(sandbox):
    c = client_for(sandbox)
    c.create_batch("b")
    with pytest.raises(E.BatchCreationError) as info:
        c.create_batch("b")
    assert info.value.code == "BATCH_CREATION" and "already exists" in str(info.value)


def test_duplicate_reference_names_existing_job(sandbox):
    c = client_for(sandbox)
    first = c.create_job(job("dup", sandbox.workflow_id))
    with pytest.raises(E.DuplicateReferenceError) as info:
        c.create_job(job("dup", sandbox.workflow_id))
    assert info.value.code == "FS_0001" and info.value.existing_job_id == first.job_id
    assert first.job_id in str(info.value)
    assert sandbox.job_count() == 1


@pytest.mark.parametrize("code,cls", sorted(E.CODE_MAP.items()))
def test_every_error_code_maps(sandbox, code, cls):
    sandbox.queue_response(400, {"success": False, "error": {"code": code, "message": f"server words {code}"}})
    c = client_for(sandbox, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(E.PlaymentError) as info:
        c.create_job(job("x", sandbox.workflow_id))
    err = info.value
    if cls is E.DuplicateReferenceError:
        assert isinstance(err, E.DuplicateReferenceError)
    elif cls is E.ServerFaultError:  # retryable; with one attempt it surfaces as is
        assert isinstance(err, E.ServerFaultError)
    else:
        assert type(err) is cls
    assert err.code == code and err.status == 400
    assert f"server words {code}" in str(err)


def test_unknown_code_keeps_server_words(sandbox):
    sandbox.queue_response(400, {"success": False, "error": {"code": "ZZ_9", "message": "odd"}})
    with pytest.raises(E.PlaymentError) as info:
        client_for(sandbox).create_job(job("x", sandbox.workflow_id))
    assert type(info.value) is E.PlaymentError and "odd" in str(info.value) and "ZZ_9" in str(info.value)


def test_401_without_json_is_key_rejected(sandbox):
    c = PlaymentClient(sandbox.base_url, sandbox.project_id, "wrong-key")
    with pytest.raises(E.AuthError) as info:
        c.create_job(job("x", sandbox.workflow_id))
    assert info.value.status == 401 and "rejected the API key" in str(info.value)
    assert c.test_connection().kind == "key_rejected"


def test_connection_report(sandbox):
    assert client_for(sandbox).test_connection().kind == "reachable"
    other = PlaymentClient(sandbox.base_url, "other-project", sandbox.api_key)
    assert other.test_connection().kind == "project_unknown"
    down = PlaymentClient("http://127.0.0.1:9", "p", "k", timeout=(0.5, 0.5))
    assert down.test_connection().kind == "unreachable"


def test_html_502_and_body_without_success_are_server_faults(sandbox):
    c = client_for(sandbox, retry=RetryPolicy(max_attempts=1), default_batch_id=None)
    sandbox.queue_response(502, "<html><body>Bad gateway</body></html>")
    # A 5xx may have been processed: the default batch (named by /details) is read, and the job is not there.
    with pytest.raises(E.ServerFaultError) as info:
        c.create_job(job("x", sandbox.workflow_id))
    assert "HTTP 502" in str(info.value) and f"not in batch {sandbox.default_batch_id}" in str(info.value)
    sandbox.queue_response(200, {"data": {"job_id": "j"}})
    with pytest.raises(E.ServerFaultError) as info:
        c.create_job(job("y", sandbox.workflow_id))
    assert "no \"success\" field" in str(info.value) and "so it was not created" in str(info.value)


def test_html_502_then_success_is_retried(sandbox):
    sandbox.queue_response(502, "<html>bad gateway</html>")
    sandbox.queue_response(503, "<html>unavailable</html>")
    created = client_for(sandbox).create_job(job("x", sandbox.workflow_id))
    assert created.attempts == 3 and created.status == "created"


def test_rate_limit_honours_retry_after(sandbox):
    waits: list[float] = []
    sandbox.queue_response(429, "slow down", headers={"Retry-After": "2"})
    c = client_for(sandbox, sleep=waits.append)
    c.create_job(job("x", sandbox.workflow_id))
    assert waits == [2.0]


def test_rate_limit_too_long_is_reported(sandbox):
    sandbox.queue_response(429, "slow down", headers={"Retry-After": "3600"})
    with pytest.raises(E.RateLimitedError) as info:
        client_for(sandbox, sleep=lambda s: None).create_job(job("x", sandbox.workflow_id))
    assert "3600" in str(info.value) and sandbox.job_count() == 0


def test_backoff_is_capped_full_jitter():
    p = RetryPolicy(backoff_base=0.5, backoff_cap=30)
    assert p.backoff(1, rng=lambda: 1.0) == 0.5
    assert p.backoff(4, rng=lambda: 1.0) == 4.0
    assert p.backoff(20, rng=lambda: 1.0) == 30
    assert p.backoff(3, rng=lambda: 0.0) == 0.0


def test_parse_retry_after_forms():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= parse_retry_after(future) <= 31


def test_gets_retry_through_urllib3(make_sandbox):
    """A GET that meets a 503 is retried by urllib3's Retry (the sandbox scripts only job POSTs, so
    use a server that fails the first GETs)."""
    import http.server
    hits = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            if len(hits) < 3:
                self.send_response(503)
                self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "5")
                self.end_headers()
                self.wfile.write(b"nope!")
                return
            body = b'{"success": true, "data": {"job_id": "j1", "reference_id": "r"}}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        c = PlaymentClient(f"http://127.0.0.1:{srv.server_address[1]}", "p", "k")
        assert c.get_job("j1").reference_id == "r"
        assert len(hits) == 3
    finally:
        srv.shutdown()
        srv.server_close()


def test_plain_http_only_to_loopback():
    with pytest.raises(E.UsageError) as info:
        PlaymentClient("http://api.playment.io", "p", "k")
    assert "plain http" in str(info.value)
    with pytest.raises(E.UsageError):
        PlaymentClient("ftp://x", "p", "k")
    PlaymentClient("https://api.playment.io", "p", "k").close()


def test_server_down_is_connection_error_not_ambiguous():
    c = PlaymentClient("http://127.0.0.1:9", "p", "k", retry=FAST, timeout=(0.5, 0.5))
    with pytest.raises(E.ConnectionFailedError) as info:
        c.create_job(job("x", "2aae1234-acac-1234-eeff-12a22a237bbc"))
    assert "connection refused" in str(info.value) and info.value.exit_code == 2


def test_local_validation_before_sending(sandbox):
    with pytest.raises(E.ValidationError) as info:
        client_for(sandbox).create_job(job("x", "not-a-uuid"))
    assert "work_flow_id" in str(info.value)
    assert sandbox.stats().get("POST jobs", 0) == 0


# --------------------------------------------------------------- fault modes
@pytest.mark.parametrize("kind", ["html_500", "html_502", "rate_limit", "drop_before", "drop_after"])
@pytest.mark.parametrize("with_batch", [False, True])
def test_each_fault_mode_ends_with_one_job(make_sandbox, kind, with_batch):
    sb = make_sandbox(faults=Faults(**{kind: 0.5}, retry_after=0), seed=7)
    c = client_for(sb)
    batch = c.create_batch("b") if with_batch else None
    results = {}
    for i in range(30):
        payload = job(f"{kind}-{i}", sb.workflow_id, **({"batch_id": batch} if batch else {}))
        results[f"{kind}-{i}"] = c.create_job(payload)
    jobs = sb.jobs()
    assert len(jobs) == 30 and len({j["reference_id"] for j in jobs}) == 30
    assert all(results[j["reference_id"]].job_id == j["job_id"] for j in jobs)
    assert sb.stats()[f"fault {kind}"] > 0
    recovered = sum(r.recovered for r in results.values())
    if kind in ("drop_after", "html_502"):
        assert recovered > 0  # the ambiguous attempt did store the job; the client found its id
    else:
        assert recovered == 0


@pytest.mark.slow
def test_200_jobs_with_30_percent_mixed_faults_created_exactly_once(make_sandbox):
    sb = make_sandbox(faults=Faults.spread(0.30, retry_after=0), seed=99, page_size=500)
    c = client_for(sb, pool_size=8, retry=RetryPolicy(max_attempts=8, backoff_base=0.005, backoff_cap=0.05))
    refs = [f"mix-{i:03d}" for i in range(200)]
    with ThreadPoolExecutor(8) as pool:
        results = dict(zip(refs, pool.map(lambda r: c.create_job(job(r, sb.workflow_id)), refs), strict=True))
    jobs = sb.jobs()
    assert sorted(j["reference_id"] for j in jobs) == refs
    assert {j["reference_id"]: j["job_id"] for j in jobs} == {r: v.job_id for r, v in results.items()}
    assert sum(sb.stats().get(f"fault {k}", 0) for k in ("html_500", "html_502", "rate_limit", "drop_before",
                                                         "drop_after")) > 30


def test_recovery_without_configured_batch_uses_the_default_batch_from_details(make_sandbox):
    sb = make_sandbox(faults=Faults(drop_after=1.0))
    c = client_for(sb, default_batch_id=None, retry=RetryPolicy(max_attempts=2, backoff_base=0.001))
    created = c.create_job(job("amb", sb.workflow_id))
    assert created.recovered and sb.job_count() == 1 and c.default_batch_id == sb.default_batch_id


def test_recovery_without_any_batch_is_ambiguous_not_duplicate(make_sandbox):
    sb = make_sandbox(faults=Faults(drop_after=1.0))
    c = client_for(sb, default_batch_id=None, retry=RetryPolicy(max_attempts=2, backoff_base=0.001),
                   paths={"details": "/v1/projects/{project_id}/no-details"})  # /details cannot be read
    with pytest.raises(E.AmbiguousOutcomeError) as info:
        c.create_job(job("amb", sb.workflow_id))
    assert "amb" in str(info.value) and sb.job_count() == 1


def test_prior_ambiguous_attempt_turns_duplicate_into_recovery(sandbox):
    c = client_for(sandbox)
    first = c.create_job(job("crashed", sandbox.workflow_id))
    again = c.create_job(job("crashed", sandbox.workflow_id), prior_attempt_ambiguous=True)
    assert again.recovered and again.job_id == first.job_id and sandbox.job_count() == 1


# ------------------------------------------------------------------ secrecy
def test_api_key_never_in_repr_logs_or_errors(make_sandbox, caplog):
    secret = "sk-live-very-secret-4242"
    sb = make_sandbox(api_key=secret, faults=Faults.spread(0.5, retry_after=0))
    caplog.set_level(logging.DEBUG)
    c = client_for(sb)
    texts = [repr(c)]
    for i in range(15):
        try:
            c.create_job(job(f"s{i}", sb.workflow_id))
        except E.PlaymentError as e:
            texts.append(str(e) + repr(e))
    bad = PlaymentClient(sb.base_url, sb.project_id, secret + "-wrong", retry=FAST)
    with pytest.raises(E.AuthError) as info:
        bad.create_job(job("z", sb.workflow_id))
    texts += [str(info.value), repr(info.value), repr(bad), str(info.value.to_dict())]
    texts += [r.getMessage() for r in caplog.records]
    assert caplog.records, "expected some log output to check"
    assert not [t for t in texts if secret in t]


def test_created_job_json_shape(sandbox):
    created = client_for(sandbox).create_job(JobSpec.from_payload(job("shape", sandbox.workflow_id)))
    assert created.to_dict() == {"reference_id": "shape", "job_id": created.job_id, "status": "created"}


def test_reconciling_many_jobs_reads_the_batch_once(make_sandbox):
    sb = make_sandbox(page_size=10)
    c = client_for(sb)
    batch = c.create_batch("big")
    ids = {f"r{i}": c.create_job(job(f"r{i}", sb.workflow_id, batch_id=batch)).job_id for i in range(95)}
    before = sb.stats().get("GET batch", 0)
    assert all(c.find_job_by_reference(ref, batch) == jid for ref, jid in ids.items())
    assert sb.stats()["GET batch"] - before == 10  # one pass over 10 pages, then the remembered index
    late = c.create_job(job("late", sb.workflow_id, batch_id=batch)).job_id
    assert c.find_job_by_reference("late", batch) == late
    assert sb.stats()["GET batch"] - before == 11  # only the last page was read again
    assert c.find_job_by_reference("never", batch) is None
