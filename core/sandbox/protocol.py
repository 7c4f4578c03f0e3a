"""HTTP/1.1 for a server that trusts no client: the strict request-line and header parse, body limits read
before a byte of the body, replies in the API's error shape. No routes and no sandbox state: ``api`` routes
the sandbox's endpoints on top of :class:`StrictRequestHandler`."""

from __future__ import annotations

import json
import queue
import re
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlsplit

from .wire import CHUNK, JsonObject, error_body

# An HTTP/1.x request line, strictly: token SP origin-form-or-absolute-URI SP version (RFC 9112 3).
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TARGET = re.compile(r"(?:/|[Hh][Tt][Tt][Pp][Ss]?://)[\x21-\x7e]*")
_VERSION = re.compile(r"HTTP/([0-9])\.([0-9])")

_HTML = "<html><head><title>{code} {reason}</title></head><body><h1>{code} {reason}</h1><hr>nginx</body></html>"

_HANG_UPS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


LISTEN_BACKLOG = 512  # connections the kernel queues before accept(): 200 clients at once are never reset
MAX_THREADS = 256  # handler threads at most (one per open connection); further connections wait their turn
IDLE_TIMEOUT = 15.0  # seconds a kept-alive connection may sit silent before the sandbox closes it
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")  # the Host names a sandbox answers to (with its port)

Request = socket.socket | tuple[bytes, socket.socket]
"""What socketserver hands a request handler: a TCP connection here."""


class QuietHTTPServer(HTTPServer):
    """An HTTP server with a bounded pool of daemon handler threads (at most ``MAX_THREADS``, started as
    connections need them and kept for the next) behind a listen backlog of ``LISTEN_BACKLOG``, for which a
    client that hangs up mid-reply (a preview download cut at its size cap, a test's dropped connection) is
    normal, not worth a traceback on stderr; other errors are still printed.

    It answers only to its own names (:meth:`host_allowed`): a request whose Host is another name (a page
    whose DNS name was rebound to 127.0.0.1) is refused by :class:`StrictRequestHandler`."""

    request_queue_size = LISTEN_BACKLOG
    max_threads = MAX_THREADS

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]):
        self._jobs: queue.SimpleQueue[tuple[Request, Any] | None] = queue.SimpleQueue()
        self._pool_lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._open: set[Request] = set()
        super().__init__(address, handler)

    # ------------------------------------------------------------- the pool
    def process_request(self, request: Request, client_address: Any) -> None:
        """Hand the connection to an idle handler thread, starting one when none is idle and fewer than
        ``max_threads`` run; otherwise it waits in the queue (accepted, so never reset) for the next free one."""
        with self._pool_lock:
            self._open.add(request)
            if self._idle <= self._jobs.qsize() and len(self._workers) < self.max_threads:
                worker = threading.Thread(target=self._work, name=f"{type(self).__name__}-{len(self._workers)}",
                                          daemon=True)
                self._workers.append(worker)
                worker.start()
        self._jobs.put((request, client_address))

    def _work(self) -> None:
        while True:
            with self._pool_lock:
                self._idle += 1
            job = self._jobs.get()
            with self._pool_lock:
                self._idle -= 1
            if job is None:
                return
            request, client_address = job
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                with self._pool_lock:
                    self._open.discard(request)
                self.shutdown_request(request)

    def thread_count(self) -> int:
        """Handler threads started so far (at most ``max_threads``)."""
        with self._pool_lock:
            return len(self._workers)

    def server_close(self) -> None:
        """Stop listening, end the handler threads and hang up the connections still open (a kept-alive
        client's next request then finds the connection closed)."""
        super().server_close()
        with self._pool_lock:
            open_now, workers = list(self._open), list(self._workers)
        for request in open_now:
            if isinstance(request, socket.socket):
                try:
                    request.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for _ in workers:
            self._jobs.put(None)

    # ------------------------------------------------------------- names
    def host_allowed(self, host: str) -> bool:
        """True when ``host`` (a Host header, or the authority of an absolute request target) names this
        server: 127.0.0.1, localhost, [::1] or the address it listens on, with its port or without one."""
        parts = urlsplit("//" + host.strip())
        try:
            port = parts.port
        except ValueError:
            return False
        if parts.username is not None or parts.password is not None or parts.path or parts.query:
            return False
        name = (parts.hostname or "").lower()
        if not host.strip() or (port is not None and port != self.server_address[1]):
            return False
        bound = str(self.server_address[0]).lower()
        return name in {n.strip("[]") for n in LOOPBACK_NAMES} or name == bound

    def handle_error(self, request: Request, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], _HANG_UPS):
            return
        super().handle_error(request, client_address)


class StrictRequestHandler(BaseHTTPRequestHandler):
    """BaseHTTPRequestHandler, stricter (every refusal closes the connection and prints no traceback), with
    the replies the sandbox's endpoints send. Subclasses add the ``do_*`` methods."""

    protocol_version = "HTTP/1.1"
    # A request refused before its version is known still gets a status line and headers (0.9 gets neither).
    default_request_version = "HTTP/1.0"
    _expect_continue = False
    # Set by BaseHTTPRequestHandler, undeclared in its stubs.
    raw_requestline: bytes
    _headers_buffer: list[bytes]

    timeout = IDLE_TIMEOUT  # a silent connection is closed, so kept-alive clients cannot hold every thread

    def setup(self) -> None:
        super().setup()
        # Without this, a reply written as headers + body meets Nagle and delayed ACKs: +40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ------------------------------------------------------------- parsing
    def parse_request(self) -> bool:
        """BaseHTTPRequestHandler's parse, stricter: the request line must be ``METHOD /target HTTP/1.x``
        (checked before any header is read, so an HTTP/0.9 line is refused at once) and every header line
        must be ``name: value``. False once a refusal has been sent (or the line was empty: hang up)."""
        self._expect_continue = False
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.command, self.request_version, self.requestline = "", self.default_request_version, line
        if not line.strip():
            self.close_connection = True
            return False
        words = line.split(" ")
        version = _VERSION.fullmatch(words[2]) if len(words) == 3 else None
        if version is None or not _METHOD.fullmatch(words[0]) or not _TARGET.fullmatch(words[1]):
            self.send_error(400, "The request line is not \"METHOD /path HTTP/1.1\".")
            return False
        if version.group(1) != "1":
            if version.group(1) == "0":
                self.send_error(400, "HTTP/0.x is not supported; use HTTP/1.1.")
            else:
                self.send_error(505, "Only HTTP/1.0 and HTTP/1.1 are supported.")
            return False
        if not super().parse_request():
            return False
        if self.headers.defects or self.headers.get_payload():
            self.send_error(400, "A header line is not \"name: value\".")
            return False
        return self._host_checked()

    def _host_checked(self) -> bool:
        """The Host header (and an absolute request target's authority) must name this server: a request for
        another name, such as a DNS-rebinding page's ``evil.example:PORT``, is refused with 421 and the API's
        error shape. A request without a Host (HTTP/1.0, a bare socket) cannot come from a browser: served."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            self.send_error(400, "The request has more than one Host header.")
            return False
        names = list(hosts)
        if not self.path.startswith("/"):
            names.append(urlsplit(self.path).netloc)
        server: QuietHTTPServer = self.server  # type: ignore[assignment]
        for name in names:
            if not server.host_allowed(name):
                self.refuse(421, "MISDIRECTED_REQUEST", "This sandbox answers only to 127.0.0.1, localhost or [::1] "
                                                        f"on port {server.server_address[1]}; the request named "
                                                        "another host.")
                return False
        return True

    def handle_expect_100(self) -> bool:
        """``Expect: 100-continue`` is answered only when the body is about to be read (see send_continue):
        a request refused on its headers gets its refusal instead, and the body is never sent."""
        self._expect_continue = True
        return True

    def send_continue(self) -> None:
        """The ``100 Continue`` a request with ``Expect: 100-continue`` waits for, once (no-op otherwise)."""
        if self._expect_continue:
            self._expect_continue = False
            self.send_response_only(100)
            self.end_headers()

    # ------------------------------------------------------------- replies
    def send_body(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        """One whole reply (status, headers and ``body``, no body for HEAD) in a single write."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")  # end_headers() without its flush: one write below
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def send_json(self, status: int, obj: JsonObject, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, json.dumps(obj).encode(), "application/json", headers)

    def send_html(self, status: int) -> None:
        """An nginx-style HTML error page (what a gateway in front of the API answers)."""
        reason = HTTPStatus(status).phrase
        self.send_body(status, _HTML.format(code=status, reason=reason).encode(), "text/html")

    def refuse(self, status: int, code: str, message: str) -> None:
        """An error in the API's shape, then the connection closes: whatever body the request announced and
        the sandbox did not read is never taken for the next request."""
        self.close_connection = True
        self.send_json(status, error_body(code, message))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """BaseHTTPRequestHandler's own refusals (414, 431, 501, ...) and the parse's above: the API's error
        shape with the status's name as code, connection closed, nothing on stderr unless not quiet."""
        status = HTTPStatus(code)
        self.log_error("code %d, message %s", code, message)
        self.refuse(code, status.name, message or status.phrase)

    def drop(self) -> None:
        """Close the connection without an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------- bodies
    def announces_body(self) -> bool:
        return "Transfer-Encoding" in self.headers or (self.headers.get("Content-Length") or "0").strip() != "0"

    def content_length(self, limit: int, what: str) -> int | None:
        """The body size the request announces, checked before a byte of it is read: one non-negative
        decimal number, at most ``limit``. None once a refusal (411, 400 or 413) has been sent."""
        values = [v.strip() for v in self.headers.get_all("Content-Length") or []]
        if not values:
            self.refuse(411, "LENGTH_REQUIRED", "This request needs a Content-Length header (chunked transfer "
                                                "coding is not supported).")
            return None
        value = values[0]
        if any(v != value for v in values) or not (value.isascii() and value.isdigit()):
            self.refuse(400, "BAD_REQUEST", "Content-Length must be one whole number of bytes, 0 or more.")
            return None
        length = int(value) if len(value) <= 18 else limit + 1  # no int() of a 60,000-digit header
        if length > limit:
            self.refuse(413, "FS_0003", f"{what} is larger than {limit} bytes.")
            return None
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True  # framed two ways: read by Content-Length, then hang up
        return length

    def read_body(self, length: int) -> bytes | None:
        """``length`` bytes, read ``CHUNK`` at a time so memory follows what arrives, not what was announced;
        None (and the connection marked for closing) when the client stops short."""
        self.send_continue()
        parts: list[bytes] = []
        got = 0
        try:
            while got < length:
                chunk = self.rfile.read(min(CHUNK, length - got))
                if not chunk:
                    break
                parts.append(chunk)
                got += len(chunk)
        except OSError:
            pass
        if got < length:
            self.close_connection = True
            return None
        return b"".join(parts)

