"""A total deadline for one HTTP exchange, connect to last byte, for requests over urllib3.

requests' ``timeout`` is per socket operation: a server that sends one byte every few seconds never trips
it. Here each exchange runs inside :class:`Deadline`: the connections it uses report their sockets to the
running thread's watch (through :class:`DeadlineAdapter`'s connection classes), and a timer shuts those
sockets when the deadline passes, which ends any blocked read. :class:`CappedRetry` (urllib3's Retry for
GETs) caps ``Retry-After`` and never sleeps past the deadline; :func:`get_retry` builds one from the
:class:`~core.retry.RetryPolicy`, the only place its numbers come from. The API client and the signed-URL
fetcher both use it.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import network

if TYPE_CHECKING:
    from .retry import RetryPolicy

_local = threading.local()


class DeadlineExceeded(Exception):
    """A retry wait would end after the exchange's deadline (raised inside urllib3's retry loop)."""


def _track(sock: Any) -> None:
    socks = getattr(_local, "socks", None)
    if socks is not None and sock is not None:
        socks.append(sock)


class _HTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _track(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:  # a connection reused from the pool
        _track(self.sock)
        super().request(*args, **kwargs)


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _track(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self.sock)
        super().request(*args, **kwargs)


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' HTTPAdapter whose connections report their sockets to the running :class:`Deadline`, trust
    what :mod:`core.network` says (the OS store and the environment's CA file, one SSLContext) and go through
    the environment's proxy where it applies (never for loopback hosts or plain http)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ssl_context = network.ssl_context()  # before HTTPAdapter.__init__ builds the pool manager
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, ssl_context=self.ssl_context, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, ssl_context=self.ssl_context, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)  # through a proxy too, the deadline sees the sockets
        return manager

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # verify=True: the context already holds the trust (requests would load certifi's bundle into it again
        # on every connection). A path or False keep requests' own handling.
        if verify is True and url.lower().startswith("https"):
            conn.cert_reqs, conn.ca_certs, conn.ca_cert_dir = "CERT_REQUIRED", None, None
            return
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["proxies"] = network.proxies_for(request.url or "")  # the sessions never read the environment
        return super().send(request, *args, **kwargs)


class CappedRetry(Retry):
    """urllib3's Retry with Retry-After capped at ``retry_after_cap`` and no wait past the deadline."""

    def __init__(self, *args: Any, retry_after_cap: float = 30.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.retry_after_cap = retry_after_cap

    def new(self, **kw: Any) -> CappedRetry:  # urllib3 makes a new Retry per attempt: keep the cap
        fresh = super().new(**kw)
        fresh.retry_after_cap = self.retry_after_cap
        return fresh

    def sleep(self, response: Any = None) -> None:
        wait = self.get_retry_after(response) if (response is not None and self.respect_retry_after_header) else None
        wait = min(self.retry_after_cap, self.get_backoff_time() if wait is None else wait)
        deadline = getattr(_local, "deadline", None)
        if deadline is not None and time.monotonic() + wait >= deadline:
            raise DeadlineExceeded()
        if wait > 0:
            time.sleep(wait)


def get_retry(policy: RetryPolicy, retries: int) -> CappedRetry:
    """urllib3's retry for idempotent GETs: ``retries`` retries on the policy's statuses and dropped reads
    (never on a refused connect: nothing was sent), the policy's backoff and Retry-After cap, no redirects."""
    return CappedRetry(total=retries, connect=0, read=retries, status=retries, other=0,
                       backoff_factor=policy.backoff_base, backoff_max=policy.backoff_cap,
                       status_forcelist=policy.retry_statuses, allowed_methods=frozenset({"GET"}),
                       respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
                       redirect=0, retry_after_cap=policy.get_retry_after_cap)


class Deadline:
    """``with Deadline(seconds) as watch:`` one exchange; ``watch.expired`` tells whether the timer cut it.
    Nested watches restore the outer one on exit."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._socks: list[Any] = []
        self._fired = threading.Event()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._outer: tuple[Any, Any] = (None, None)

    @property
    def expired(self) -> bool:
        return self._fired.is_set()

    def _expire(self) -> None:
        self._fired.set()
        for sock in list(self._socks):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> Deadline:
        self._outer = getattr(_local, "socks", None), getattr(_local, "deadline", None)
        _local.socks, _local.deadline = self._socks, time.monotonic() + self.seconds
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _local.socks, _local.deadline = self._outer


__all__ = ["CappedRetry", "Deadline", "DeadlineAdapter", "DeadlineExceeded", "get_retry"]
