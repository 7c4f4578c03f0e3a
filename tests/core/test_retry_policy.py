"""One retry policy (core.retry.RetryPolicy), handed out by the Session: its numbers reach every consumer.

Each test runs against a scripted server on 127.0.0.1 (tests/hostile.py) and counts what reached it.
"""

from __future__ import annotations

import time

import pytest

from playment_submit.core import errors as E
from playment_submit.core.job import JobSpec
from playment_submit.core.retry import RetryPolicy
from playment_submit.core.session import Session
from tests.hostile import HostileServer, answer

KEY = "retry-test-key-0123456789"
WF = "2aae1234-acac-1234-eeff-12a22a237bbc"
BATCH = "3bbf2345-bdbd-2345-ffaa-23b33b348ccd"
QUICK = dict(backoff_base=0.001, backoff_cap=0.01)


def session(server: HostileServer, policy: RetryPolicy, **kw) -> Session:
    return Session(server.base_url, "proj", WF, KEY, retry=policy, **kw)


def unavailable(s, conn, req):
    answer(conn, 503, b"<html>busy</html>", reason="Service Unavailable")


def test_the_job_budget_is_derived_and_grows_with_attempts_and_timeout():
    base = RetryPolicy()
    assert base.job_budget == 5 * 30 + (0.5 + 1 + 2 + 4) + 30  # attempts, longest waits, reconciliation
    assert RetryPolicy(max_attempts=8).job_budget > base.job_budget
    assert RetryPolicy(max_attempts=8).job_budget - base.job_budget >= 3 * base.timeout
    assert RetryPolicy(timeout=60).job_budget > base.job_budget


def test_the_client_gives_up_within_the_budget_its_policy_derives():
    """A client whose attempts all time out stops at the budget of *its* attempts: more attempts, more time."""
    def silent(s, conn, req):
        time.sleep(3)

    with HostileServer(silent) as api:
        for attempts in (1, 2):
            s = session(api, RetryPolicy(max_attempts=attempts, timeout=0.3, **QUICK))
            api.requests.clear()
            with pytest.raises(E.PlaymentError):
                s.client.create_job(JobSpec("r-1", WF, "https://cdn.example.com/a.png"))
            posts = [r for r in api.requests if r.method == "POST"]
            assert len(posts) == attempts, (attempts, len(posts))
            assert s.client.retry.job_budget == RetryPolicy(max_attempts=attempts, timeout=0.3, **QUICK).job_budget
            s.close()


def test_post_attempts_come_from_the_sessions_policy():
    with HostileServer(unavailable) as api:
        s = session(api, RetryPolicy(max_attempts=3, **QUICK))
        with pytest.raises(E.PlaymentError):
            s.client.create_job(JobSpec("r-1", WF, "https://cdn.example.com/a.png"))
        s.close()
    assert [r.method for r in api.requests].count("POST") == 3  # (then GETs: the reconciling look-up)


@pytest.mark.parametrize("retries", [0, 2])
def test_get_retries_come_from_the_sessions_policy(retries):
    with HostileServer(unavailable) as api:
        s = session(api, RetryPolicy(get_retries=retries, **QUICK))
        with pytest.raises(E.PlaymentError):
            s.client.get_job("job-1")
        s.close()
    assert [r.method for r in api.requests] == ["GET"] * (retries + 1)


def test_the_get_retry_after_cap_comes_from_the_policy():
    """A server asking for 30 s is waited out only up to the policy's cap (urllib3 builds a new Retry per
    attempt: the cap must survive that)."""
    def slow_down_once(s, conn, req):
        if len(s.requests) == 1:
            answer(conn, 503, b"wait", headers={"Retry-After": "30"}, reason="Busy")
        else:
            answer(conn, 200, {"success": True, "data": {"job_id": "job-1", "status": "created"}})

    with HostileServer(slow_down_once) as api:
        s = session(api, RetryPolicy(get_retries=2, get_retry_after_cap=0.2, **QUICK))
        start = time.monotonic()
        s.client.get_job("job-1")
        elapsed = time.monotonic() - start
        s.close()
    assert len(api.requests) == 2 and elapsed < 5, elapsed


def test_the_signed_url_fetcher_takes_the_sessions_policy():
    with HostileServer(unavailable) as storage:
        def redirect(s, conn, req):
            answer(conn, 302, b"", headers={"Location": f"{storage.base_url}/file.png?sig=x"}, reason="Found")

        with HostileServer(redirect) as api:
            s = session(api, RetryPolicy(fetch_retries=1, **QUICK))
            with pytest.raises(E.PlaymentError):
                s.client.fetch_attachment("s3://bucket/result.png")
            s.close()
    assert [r.method for r in storage.requests] == ["GET"] * 2
    assert storage.keys_seen() == []


def test_the_connection_test_uses_the_sessions_policy():
    """The Connection tab's test: the Session's policy made quick (probe_timeout, probe_retries), no numbers of
    its own; a server that never answers is given up on after probe_timeout."""
    def silent(s, conn, req):
        time.sleep(5)

    with HostileServer(silent) as api:
        s = session(api, RetryPolicy(probe_timeout=0.5, probe_retries=0, **QUICK))
        start = time.monotonic()
        report = s.test_connection(api.base_url, "proj", KEY)
        elapsed = time.monotonic() - start
        s.close()
    assert not report.ok and report.kind == "unreachable"
    assert elapsed < 2.5, elapsed
    assert len(api.requests) == 1


@pytest.mark.parametrize("limit", [dict(max_listing_pages=4), dict(max_listing_items=7)])
def test_a_listing_that_never_ends_stops_at_the_policys_limit(limit):
    """Every page names a fresh next page: the listing stops with a sentence at the limit, never loops on."""
    def endless(s, conn, req):
        n = len(s.requests)
        jobs = [{"id": f"j-{n}-{i}", "reference_id": f"r-{n}-{i}", "status": "created"} for i in range(2)]
        answer(conn, 200, {"success": True, "data": {"jobs": jobs, "next_page_token": f"p{n}"}})

    with HostileServer(endless) as api:
        s = session(api, RetryPolicy(**limit, **QUICK))
        with pytest.raises(E.ServerFaultError) as info:
            list(s.client.iter_batch_jobs(BATCH))
        with pytest.raises(E.ServerFaultError):
            s.client.find_job_by_reference("nowhere", BATCH)
        s.close()
    assert "still named a next page" in str(info.value) and BATCH in str(info.value)
    assert len(api.requests) == 2 * 4, len(api.requests)  # four pages each time (4 pages, or 8 jobs >= 7)
