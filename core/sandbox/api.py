"""The sandbox's API server: routes each request to the documented /v1 endpoint (or /files/, /_sandbox/)
and answers in the API's shapes. The state it reads and writes is its :class:`SandboxServer`'s."""

from __future__ import annotations

import mimetypes
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from .protocol import QuietHTTPServer, StrictRequestHandler
from .wire import CHUNK, MAX_JSON_BODY, MAX_UPLOAD, decode_once, error_body, has_control, parse_json_body

if TYPE_CHECKING:
    from .server import SandboxServer

Query = dict[str, list[str]]
"""A parsed query string (``urllib.parse.parse_qs``)."""


class SandboxHTTPServer(QuietHTTPServer):
    """The listening socket of one SandboxServer (``.sandbox``), answering with SandboxRequestHandler."""

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer):
        self.sandbox = sandbox
        super().__init__(address, SandboxRequestHandler)


class SandboxRequestHandler(StrictRequestHandler):
    """One request to a sandbox: routes it to the endpoint's method below. The sandbox whose state it
    reads and writes is ``self.server.sandbox`` (``self.sb`` for short)."""

    server_version = "PlaymentSandbox/1"
    server: SandboxHTTPServer

    @property
    def sb(self) -> SandboxServer:
        return self.server.sandbox

    def log_message(self, fmt: str, *args: Any) -> None:  # request lines only, never headers
        if not self.sb.quiet:
            super().log_message(fmt, *args)

    def _delay(self) -> None:
        if self.sb.latency_ms:
            time.sleep(self.sb.latency_ms / 1000)

    def _not_found(self, path: str) -> None:
        self.send_json(404, error_body("NOT_FOUND", f"No endpoint {path}."))

    def _authorised(self) -> bool:
        """The key, checked before any body is read; a 401 closes the connection with the body unread."""
        key = self.headers.get("x-api-key") or self.headers.get("x-client-key")
        if key and secrets.compare_digest(key.encode("utf-8", "surrogatepass"),
                                          self.sb.api_key.encode("utf-8", "surrogatepass")):
            return True
        self.close_connection = True
        self.send_body(401, b"Unauthorized", "text/plain")
        return False

    # ------------------------------------------------------------- routing
    def _route(self) -> tuple[str, list[str], Query] | None:
        """(raw path, segments decoded once, query); None once a 400 has been sent for a path that is not
        UTF-8 once decoded. A /files/ name is decoded once from the raw path (so %2F in it is a "/")."""
        try:
            parts = urlsplit(self.path)
            segs = [decode_once(s) for s in parts.path.split("/") if s]
        except (ValueError, UnicodeDecodeError):
            self.refuse(400, "BAD_REQUEST", "The path is not a URL path of UTF-8 text.")
            return None
        return parts.path, segs, parse_qs(parts.query)

    @staticmethod
    def _is_project_path(segs: list[str], length: int) -> bool:
        """``/v1|v0/projects|project/{pid}/...`` with ``length`` segments in all."""
        return len(segs) == length and segs[0] in ("v1", "v0") and segs[1] in ("projects", "project")

    def _known_project(self, pid: str) -> bool:
        if pid == self.sb.project_id:
            return True
        self.send_json(404, error_body("PROJECT_NOT_FOUND", f"Project {pid} not found."))
        return False

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if self.announces_body():
            self.close_connection = True  # a body on a GET is never read: hang up after the answer instead
        self._delay()
        route = self._route()
        if route is None:
            return
        path, segs, query = route
        if segs[:1] == ["files"]:
            return self._get_file(path, query)
        if not self._authorised():
            return
        if segs == ["_sandbox", "stats"]:
            return self._get_stats()
        if segs[:1] == ["results"]:
            return self.send_json(403, error_body("FORBIDDEN", "Result files are private: ask "
                                                               "/v1/attachments?url= for a signed URL."))
        if segs[:2] == ["v1", "attachments"]:
            return self._get_attachment(query)
        if self._is_project_path(segs, 5):
            pid = segs[2]
            if not self._known_project(pid):
                return
            if segs[3] == "jobs":
                return self._get_job(pid, segs[4])
            if segs[3] == "batch":
                return self._get_batch(pid, segs[4], query)
        if self._is_project_path(segs, 4) and segs[3] == "details":
            if not self._known_project(segs[2]):
                return
            self.sb.count("GET details")
            self.sb.advance()
            return self.send_json(*self.sb.details(segs[2]))
        self._not_found(path)

    def do_POST(self) -> None:
        if not self._authorised():
            return
        length = self.content_length(MAX_JSON_BODY, "The request body")
        if length is None:
            return
        raw = self.read_body(length)
        if raw is None:
            return
        self._delay()
        route = self._route()
        if route is None:
            return
        path, segs, _ = route
        if segs == ["_sandbox", "complete"]:
            body, problem = parse_json_body(raw) if raw else ({}, None)
            ids = body.get("job_ids") if isinstance(body, dict) else None
            if problem or (ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids))):
                return self.send_json(400, error_body("FS_0003", problem or "job_ids must be a list of job IDs."))
            return self.send_json(200, {"success": True, "data": {"completed": self.sb.complete_jobs(ids)}})
        if self._is_project_path(segs, 4):
            pid = segs[2]
            if not self._known_project(pid):
                return
            body = None
            if raw:
                body, problem = parse_json_body(raw)
                if problem:
                    return self.send_json(400, error_body("FS_0003", problem))
            if segs[3] == "jobs":
                return self._post_job(pid, body)
            if segs[3] == "batch":
                return self._post_batch(pid, body)
        self._not_found(path)

    def do_PUT(self) -> None:
        if not self._authorised():
            return
        route = self._route()
        if route is None:
            return
        path, segs, _ = route
        if segs[:1] != ["files"] or len(segs) < 2:
            self.close_connection = True  # its body stays unread
            return self._not_found(path)
        self._put_file(path)

    # ----------------------------------------------------------- endpoints
    def _get_stats(self) -> None:
        """GET /_sandbox/stats"""
        self.send_json(200, {"success": True, "data": self.sb.stats()})

    def _get_attachment(self, query: Query) -> None:
        """GET /v1/attachments?url=...: 302 to a "signed" URL of one of the sandbox's own files."""
        sb = self.sb
        sb.count("GET attachments")
        url = (query.get("url") or [""])[0]
        result = sb.own_result_name(url)
        if result is not None:
            return self.send_body(302, b"", "text/plain",
                                  {"Location": f"{sb.storage_url}/{quote(result)}?signature={sb.sign(result)}"})
        own = sb.own_file_name(url)
        if own is not None:
            return self.send_body(302, b"", "text/plain",
                                  {"Location": f"{sb.file_url(own)}?signature={sb.sign_file(own)}"})
        self.send_json(404, error_body("NOT_FOUND", "No such attachment."))

    def _get_job(self, pid: str, job_id: str) -> None:
        """GET /v1/projects/{pid}/jobs/{job_id}"""
        self.sb.count("GET job")
        self.sb.advance()
        self.send_json(*self.sb.get_job(pid, job_id))

    def _get_batch(self, pid: str, batch_id: str, query: Query) -> None:
        """GET /v1/projects/{pid}/batch/{batch_id}?page_token=..."""
        self.sb.count("GET batch")
        self.sb.advance()
        tokens = query.get("page_token")
        token = tokens[0] if tokens else None
        self.send_json(*self.sb.list_batch(pid, batch_id, token))

    def _post_batch(self, pid: str, body: Any) -> None:
        """POST /v1/projects/{pid}/batch"""
        self.sb.count("POST batch")
        self.send_json(*self.sb.create_batch(pid, body))

    def _post_job(self, pid: str, body: Any) -> None:
        """POST /v1/projects/{pid}/jobs: a queued answer if any, else one fault roll, else the job."""
        sb = self.sb
        sb.count("POST jobs")
        scripted = sb.next_scripted()
        if scripted is not None:
            status, raw, ctype, headers = scripted
            return self.send_body(status, raw, ctype, headers)
        fault = self._pick_fault()
        if fault == "html_500":
            return self.send_html(500)
        if fault == "rate_limit":
            ra = sb.faults.retry_after
            return self.send_body(429, b"<html><body>429 Too Many Requests</body></html>", "text/html",
                              {"Retry-After": str(int(ra)) if float(ra).is_integer() else str(ra)})
        if fault == "drop_before":
            return self.drop()
        status, obj, stored = sb.create_job(pid, body)
        if stored and fault == "drop_after":
            return self.drop()
        if stored and fault == "html_502":
            return self.send_html(502)
        self.send_json(status, obj)

    def _pick_fault(self) -> str | None:
        """One roll over the fault probabilities (none when they are all 0); the fault picked is counted."""
        sb = self.sb
        f = sb.faults
        roll = sb.roll() if f.total() > 0 else 1.0
        edges = [("html_500", f.html_500), ("html_502", f.html_502), ("rate_limit", f.rate_limit),
                 ("drop_before", f.drop_before), ("drop_after", f.drop_after)]
        acc = 0.0
        for name, p in edges:
            acc += p
            if roll < acc:
                sb.count("fault " + name)
                return name
        return None

    def _put_file(self, path: str) -> None:
        """PUT /files/{name} (with the key): store the body as that file (sandbox storage). The name is
        the path after /files/, percent-decoded once, and stored exactly so or refused (wire.name_problem)."""
        sb = self.sb
        length = self.content_length(MAX_UPLOAD, "The file")
        if length is None:
            return
        sb.count("PUT files")
        name = decode_once(path[len("/files/"):])  # UTF-8: _route has decoded every segment already
        try:
            target = sb.safe_path(name)
        except PermissionError as e:
            return self.refuse(400, "GE_0001", f"Invalid file name. {e}")
        try:
            received = self._receive_file(target, length)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            return self.refuse(409, "GE_0001", "Invalid file name: a file and a folder would share it.")
        except OSError as e:
            self.log_error("could not store %s: %s", name, e)
            return self.refuse(500, "FS_0000", f"The sandbox could not store the file ({e.strerror or e}).")
        if not received:
            self.close_connection = True
            return
        sb.stored(length)
        self.send_json(201, {"success": True, "data": {"url": sb.file_url(name)}})

    def _receive_file(self, target: Path, length: int) -> bool:
        """Read ``length`` body bytes into ``target`` through a temporary file; False (and nothing left
        behind) when the client sent fewer. The temporary file has a short name of its own: the target's
        name plus a suffix could pass the file system's limit on a name. OSError for the file system's
        refusals (a file where a folder should be, a full disk)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{secrets.token_hex(8)}.part"
        try:
            with open(tmp, "xb") as out:
                self.send_continue()
                remaining = length
                while remaining:
                    try:
                        chunk = self.rfile.read(min(CHUNK, remaining))
                    except OSError:
                        break
                    if not chunk:
                        break
                    out.write(chunk)
                    remaining -= len(chunk)
            if remaining:
                return False
            tmp.replace(target)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def _file_allowed(self, name: str, query: Query) -> bool:
        """A /files/ read needs the API key (``x-api-key``, as the API's endpoints) or the signature that
        ``/v1/attachments?url=`` puts on the file's URL; otherwise 401 in the API's error shape (the
        connection stays usable: a GET has no body to skip)."""
        key = self.headers.get("x-api-key") or self.headers.get("x-client-key")
        if key and secrets.compare_digest(key.encode("utf-8", "surrogatepass"),
                                          self.sb.api_key.encode("utf-8", "surrogatepass")):
            return True
        signature = (query.get("signature") or [""])[0]
        if signature and secrets.compare_digest(signature.encode("utf-8", "surrogatepass"),
                                                self.sb.sign_file(name).encode()):
            return True
        self.send_json(401, error_body("UNAUTHORIZED", "Files are private: send the API key (x-api-key) or use "
                                                       "the signed URL that /v1/attachments?url= redirects to."))
        return False

    def _get_file(self, path: str, query: Query) -> None:
        """GET/HEAD /files/{name}: with the key, or the signature of its signed URL (:meth:`_file_allowed`).
        A name that cannot be stored is not found (404); one with control characters is malformed (400)."""
        self.sb.count("GET files")
        name = decode_once(path[len("/files/"):] if path.startswith("/files/") else "")  # UTF-8: see _route
        if has_control(name):
            return self.refuse(400, "GE_0001", "Invalid file name: it holds a control character.")
        if not self._file_allowed(name, query):
            return
        try:
            target = self.sb.safe_path(name)
            fh = open(target, "rb") if target.is_file() else None  # noqa: SIM115 (closed by the with below)
        except OSError:  # PermissionError (a name refused) included
            fh = None
        if fh is None:
            return self.send_body(404, b"Not found", "text/plain")
        with fh:
            size = os.fstat(fh.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", mimetypes.guess_type(target.name)[0] or "application/octet-stream")
            self.send_header("Content-Length", str(size))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command == "HEAD":
                return
            remaining = size  # what Content-Length promised, even if the file grows meanwhile
            while remaining:
                chunk = fh.read(min(1 << 20, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)
            if remaining:
                self.close_connection = True  # the file shrank: the answer is short, so end it
