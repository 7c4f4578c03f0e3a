"""Downloads from signed storage URLs (the targets of ``/v1/attachments``): :class:`KeylessFetcher`.

Split out of :mod:`core.client`: the fetcher has a session of its own that never saw the API key, and takes
its deadlines and retries from the same :class:`~core.retry.RetryPolicy` as the client.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import requests
import urllib3

from . import __version__
from .errors import ConnectionFailedError, RequestTimeoutError, ServerFaultError
from .job import is_loopback_host
from .retry import RetryPolicy
from .sanitise import one_line, url_for_display
from .transport import Deadline, DeadlineAdapter, DeadlineExceeded, get_retry

MAX_ATTACHMENT_BYTES = 512 * 2**20  # one downloaded result or mask (an 8192x6144 RGBA PNG is far below this)


def transport_reason(exc: BaseException) -> str:
    """A short, key-free reason for a transport failure."""
    inner = exc.args[0] if exc.args else exc
    if isinstance(inner, urllib3.exceptions.MaxRetryError) and inner.reason is not None:
        inner = inner.reason
    text = str(inner)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset",
                   "Remote end closed connection"):
        if marker in text:
            return marker.lower()
    return type(inner).__name__


def check_storage_url(url: str) -> None:
    """Refuse a signed storage URL that could leak or mislead: not http(s), no host, credentials in it, or plain
    http to another machine (only the loopback sandbox may use http). The sentence shows no query string
    (a signature is a credential of its own)."""
    shown = url_for_display(one_line(url.split("?", 1)[0], 200))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        raise ServerFaultError(f"Playment redirected the download to \"{shown}\", which is not a usable URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerFaultError(f"Playment redirected the download to \"{shown}\", which is not an http(s) URL.")
    if parts.username is not None or parts.password is not None:
        raise ServerFaultError("Playment redirected the download to a URL holding a user name or password; "
                               "it was not followed.")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ServerFaultError(f"Playment redirected the download to plain http ({parts.hostname}); only https "
                               f"is followed to another machine.")


def check_redirect_target(url: str, api_base_url: str) -> None:
    """Refuse an attachments redirect to an address inside the machine or its cloud: a link-local address
    (169.254.x.x, e.g. a cloud's metadata service, or fe80::) never, a loopback address (127.x, ::1,
    localhost) only when the API itself is on loopback (the sandbox). Checked on the URL's host as written
    (a name that resolves to such an address is not looked up)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    if ip is not None and isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip is not None and (ip.is_link_local or ip.is_unspecified or ip.is_multicast):
        raise ServerFaultError(f"Playment redirected the download to {host}, a link-local or reserved address "
                               f"(such as a cloud's metadata service); it was not followed.")
    loopback = host == "localhost" or host.endswith(".localhost") or (ip is not None and ip.is_loopback)
    if loopback and not is_loopback_host(urlsplit(api_base_url).hostname):
        raise ServerFaultError(f"Playment redirected the download to {host}, this machine's own loopback "
                               f"address, while the API is elsewhere; it was not followed.")


class KeylessFetcher:
    """Downloads from signed storage URLs (the targets of ``/v1/attachments``) with a session of its own that
    has never seen the API key: no key header, no cookies carried over, no proxy or .netrc credentials from the
    environment, redirects not followed (a signed URL is the file itself). Same total deadline per request as
    the API client, a size limit, and server text sanitised in every message. Its numbers (deadline, connect
    time, ``fetch_retries``, backoff, Retry-After cap) are the ``policy``'s; ``timeout`` overrides its
    deadline."""

    def __init__(self, *, policy: RetryPolicy | None = None, timeout: float | None = None, pool_size: int = 4):
        base = policy or RetryPolicy()
        self.policy = base if timeout is None else base.with_timeout(timeout)
        self.timeout = self.policy.timeout
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": f"playment-submit/{__version__}", "Accept": "*/*"})
        self._session.trust_env = False
        adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=max(1, pool_size), pool_block=True,
                                  max_retries=get_retry(self.policy, self.policy.fetch_retries))
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def fetch(self, url: str, *, max_bytes: int = MAX_ATTACHMENT_BYTES) -> bytes:
        check_storage_url(url)
        host = urlsplit(url).hostname
        with Deadline(self.timeout) as watch:
            try:
                resp = self._session.get(url, timeout=(self.policy.connect, self.timeout),
                                         allow_redirects=False, stream=True)
                if resp.status_code != 200:
                    resp.close()
                    raise ServerFaultError(f"The storage host {host} answered HTTP {resp.status_code} "
                                           f"{one_line(resp.reason or '', 60)} for the download.".rstrip(),
                                           status=resp.status_code)
                body = bytearray()
                for chunk in resp.iter_content(1 << 20):
                    body += chunk
                    if len(body) > max_bytes:
                        resp.close()
                        raise ServerFaultError(f"The file on {host} is larger than {max_bytes // 2**20} MiB; "
                                               f"it was not downloaded.")
            except DeadlineExceeded:
                raise RequestTimeoutError(f"{host} gave no complete file within {self.timeout:g} s.") from None
            except requests.exceptions.RequestException as e:
                if watch.expired:
                    raise RequestTimeoutError(f"{host} gave no complete file within {self.timeout:g} s.") from None
                raise ConnectionFailedError(f"The download from {host} failed ({transport_reason(e)}).") from None
        if watch.expired:
            raise RequestTimeoutError(f"{host} gave no complete file within {self.timeout:g} s.")
        return bytes(body)

    def close(self) -> None:
        self._session.close()
