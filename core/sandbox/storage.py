"""The sandbox's separate storage server (another port): serves result files for a valid signature only,
like a cloud bucket's signed URLs, and counts requests that wrongly carry an API key."""

from __future__ import annotations

import hmac
import re
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .protocol import IDLE_TIMEOUT, QuietHTTPServer
from .wire import decode_once

if TYPE_CHECKING:
    from .server import SandboxServer


class StorageHandler(BaseHTTPRequestHandler):
    """GET /{name}?signature=...: a result file of the sandbox, for a valid signature only (403 otherwise),
    to a Host that names this server only (421 otherwise: see ``QuietHTTPServer.host_allowed``).
    Requests carrying an API key are counted (``storage with key``): the tests prove there are none."""

    protocol_version = "HTTP/1.1"
    server_version = "PlaymentSandboxStorage/1"
    server: StorageHTTPServer
    timeout = IDLE_TIMEOUT

    def log_message(self, fmt: str, *args: Any) -> None:
        if not self.server.sandbox.quiet:
            super().log_message(fmt, *args)

    def _answer(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        sb = self.server.sandbox
        sb.count("GET storage")
        if not all(self.server.host_allowed(h) for h in self.headers.get_all("Host") or []):
            self.close_connection = True
            return self._answer(421, b'{"success": false, "error": {"code": "MISDIRECTED_REQUEST", "message": '
                                     b'"This storage answers only to its own loopback address."}}', "application/json")
        if self.headers.get("x-api-key") or self.headers.get("x-client-key"):
            sb.count("storage with key")
        parts = urlsplit(self.path)
        try:
            name = decode_once(parts.path.lstrip("/"))
        except UnicodeDecodeError:
            return self._answer(400, b"Bad name")
        signature = (parse_qs(parts.query).get("signature") or [""])[0]
        if not re.fullmatch(r"[0-9A-Za-z._-]+\.png", name) or not hmac.compare_digest(signature, sb.sign(name)):
            return self._answer(403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
        target = sb.results_dir / name
        if not target.is_file():
            return self._answer(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
        self._answer(200, target.read_bytes(), "image/png")

    do_HEAD = do_GET


class StorageHTTPServer(QuietHTTPServer):
    """The listening socket of one SandboxServer's storage (``.sandbox``), answering with StorageHandler."""

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer):
        self.sandbox = sandbox
        super().__init__(address, StorageHandler)
