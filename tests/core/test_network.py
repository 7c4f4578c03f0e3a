"""Corporate networks (issue 21 item 9): a private CA and a CONNECT proxy, over real TLS on loopback.

The API is a scripted HTTPS server whose certificate a private CA issued (as a TLS-inspecting proxy's CA
would). Without the CA it is a certificate problem whose sentence says how to add the CA; with
REQUESTS_CA_BUNDLE or SSL_CERT_FILE naming it, it works. Through HTTPS_PROXY the client tunnels with CONNECT
(the proxy sees the host, never the key); loopback and NO_PROXY hosts go direct; proxy credentials never
appear in a message.
"""

from __future__ import annotations

import pytest

from playment_submit.core import errors as E
from playment_submit.core import network
from playment_submit.core.client import PlaymentClient
from playment_submit.core.retry import RetryPolicy
from playment_submit.core.transport import DeadlineAdapter
from tests.hostile import HostileServer, answer
from tests.tls import ConnectProxy, PrivateCA

KEY = "network-test-key-0123456789"
FAST = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_cap=0.05)
VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "AWS_CA_BUNDLE", "HTTPS_PROXY", "HTTP_PROXY",
             "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def job_answer(server, conn, request):
    answer(conn, 200, {"success": True, "data": {"job_id": "j-1", "status": "completed"}})


@pytest.fixture
def ca(tmp_path):
    return PrivateCA(tmp_path)


def test_a_private_ca_is_refused_with_a_sentence_that_says_how_to_add_it_then_trusted_from_the_environment(
        ca, monkeypatch):
    with HostileServer(job_answer, tls=ca.server_context("127.0.0.1")) as api:
        with PlaymentClient(api.base_url, "proj", KEY, retry=FAST) as c, pytest.raises(E.ConnectionFailedError) as no:
            c.get_job("j-1")
        assert "REQUESTS_CA_BUNDLE" in str(no.value) and "certificate store" not in str(no.value)
        assert api.requests == []
        for variable in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
            monkeypatch.setenv(variable, str(ca.pem))
            with PlaymentClient(api.base_url, "proj", KEY, retry=FAST) as c:
                assert c.get_job("j-1").status == "completed"
            monkeypatch.delenv(variable)
        assert [r.headers.get("x-api-key") for r in api.requests] == [KEY, KEY]


def test_a_ca_variable_naming_nothing_is_a_usage_error_naming_it(monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(E.UsageError) as info:
        network.ssl_context()
    assert "SSL_CERT_FILE" in str(info.value) and "missing.pem" in str(info.value)
    (tmp_path / "junk.pem").write_text("not a certificate")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "junk.pem"))
    with pytest.raises(E.UsageError) as info:
        network.ssl_context()
    assert "PEM" in str(info.value)


def test_the_os_store_is_trusted_through_truststore():
    import truststore
    assert isinstance(DeadlineAdapter().ssl_context, truststore.SSLContext)
    assert network.describe("https://api.playment.io").startswith("Trust: the system's certificates.")


def test_https_goes_through_the_proxy_with_connect_and_the_proxy_never_sees_the_key(ca, monkeypatch):
    with (HostileServer(job_answer, tls=ca.server_context("api.test")) as api,
          ConnectProxy({"api.test": "127.0.0.1"}) as proxy):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.pem))
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        base = f"https://api.test:{api.port}"
        with PlaymentClient(base, "proj", KEY, retry=FAST) as c:
            assert c.get_job("j-1").status == "completed"
        assert [(r.method, r.path) for r in proxy.requests] == [("CONNECT", f"api.test:{api.port}")]
        assert api.requests[0].headers.get("x-api-key") == KEY  # inside the tunnel, to the API host only
        assert f"Proxy: {proxy.url} (HTTPS_PROXY)" in network.describe(base)
        # NO_PROXY: direct, so api.test (not a real name) does not resolve, and the proxy sees nothing more
        monkeypatch.setenv("NO_PROXY", "example.com,api.test")
        with PlaymentClient(base, "proj", KEY, retry=FAST) as c, pytest.raises(E.ConnectionFailedError):
            c.get_job("j-1")
        assert len(proxy.requests) == 1 and "none (NO_PROXY)" in network.describe(base)


def test_loopback_and_plain_http_are_never_proxied(ca, monkeypatch):
    with (HostileServer(job_answer, tls=ca.server_context("127.0.0.1")) as api, ConnectProxy() as proxy):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.pem))
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with PlaymentClient(api.base_url, "proj", KEY, retry=FAST) as c:
            assert c.get_job("j-1").status == "completed"
        assert proxy.requests == []
        assert "a local server is never proxied" in network.describe(api.base_url)
    assert network.proxies_for("http://printer.example.com/x") == {}  # the key never crosses a proxy in clear


def test_proxy_credentials_are_sent_to_the_proxy_but_never_shown(ca, monkeypatch):
    secret = "pr0xy-Passw0rd-xyz"
    with (HostileServer(job_answer, tls=ca.server_context("api.test")) as api,
          ConnectProxy({"api.test": "127.0.0.1"}) as proxy):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.pem))
        monkeypatch.setenv("HTTPS_PROXY", f"http://alice:{secret}@127.0.0.1:{proxy.port}")
        base = f"https://api.test:{api.port}"
        assert secret not in network.describe(base) and "[redacted]" in network.describe(base)
        with PlaymentClient(base, "proj", KEY, retry=FAST) as c:
            assert c.get_job("j-1").status == "completed"
        assert proxy.authorizations[0] is not None and proxy.authorizations[0].startswith("Basic ")
        proxy.stop()  # the proxy gone: the failure's sentence does not carry the password
        with PlaymentClient(base, "proj", KEY, retry=FAST) as c, pytest.raises(E.PlaymentError) as info:
            c.get_job("j-1")
        assert secret not in str(info.value)


def test_boto3_gets_the_same_ca_file_and_proxy(ca, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.pem))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert network.boto3_settings(None) == {"verify": str(ca.pem), "proxies": {"https": "http://127.0.0.1:3128"}}
    monkeypatch.setenv("AWS_CA_BUNDLE", str(ca.pem))  # boto3 reads its own variable itself
    assert network.boto3_settings("http://127.0.0.1:9000") == {}
