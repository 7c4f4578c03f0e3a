"""A local Playment-compatible server: the app's embedded default and the tests' double.

Loopback only. It answers the four endpoints of the API notes with the same validation (core.job's, so
the two can never disagree), the same error codes and the same bodies:

    POST /v1/projects/{pid}/jobs            (also /v0/...)        create a job
    GET  /v1/projects/{pid}/jobs/{job_id}                          read a job back
    POST /v1/projects/{pid}/batch           (also /v1/project/...) create a batch
    GET  /v1/projects/{pid}/batch/{batch_id}?page_token=...        list a batch, paged
    GET  /v1/projects/{pid}/details                                the project and every batch, with counts
    GET  /v1/attachments?url=...                                   302 to a "signed" URL

Job status progression (the documented values, lower case as the job endpoints give them): ``created``, then
``in progress`` once half of ``complete_after`` seconds have passed, then ``completed`` after ``complete_after``
seconds (never, when it is None), or at once through ``POST /_sandbox/complete`` (body ``{"job_ids": [...]}``,
or no body for every open job) or :meth:`SandboxServer.complete_jobs`. A completed job's ``result`` is
``{"legend": {...}, "url": "<base>/results/<job_id>.png"}``, the shape of a pre-label: the mask is the job's
pre-label (when it is one of the sandbox's own /files/) changed by deterministic edits that a review can find,
each on the legend's classes in order: the first class grown, the second shrunk, the third renamed (same colour,
name + " (renamed)"), and a region of a new class "Added region" painted; a job without a pre-label gets a mask of
its primary image's size (64x48 when that is not a sandbox file) holding only the added region. A job with vector
pre-labels (``maker_response.rectangles``, ``polygons``, ``lines``, ``landmarks``) gets its shapes back edited the
same way (``results.derive_shapes``: the first rectangle moved right, the second dropped, a box "Added box" added,
the first polygon moved down; lines and landmarks kept), beside the mask when it also had one, alone otherwise.
Result URLs are private: ``/v1/attachments?url=`` answers 302 to a signed URL on the sandbox's separate storage server
(``storage_url``, another port), which serves a file only with a valid signature and counts requests that carry
an API key (``storage with key`` in the stats: a client must never send one there).

plus, for sandbox mode, ``/files/``: GET/HEAD serve files from a folder so local images can be previewed
and submitted offline; PUT (with the key) stores one (sandbox storage). ``GET /_sandbox/stats`` returns
request counts (tests use it to prove a re-run sent nothing).

Where the notes are silent the sandbox chooses, and says so here: an unknown project, job or batch is
HTTP 404 with code PROJECT_NOT_FOUND / JOB_NOT_FOUND / BATCH_NOT_FOUND; a batch_id that is a UUID but no
batch of the project is GE_0001; a URL into the sandbox's own /files/ that does not exist is FS_0007 (other
URLs cannot be fetched from here and are accepted). Every project has a default batch (its id is
``default_batch_id``) where jobs without batch_id land.

Fault injection (per job POST, one roll each): ``html_500`` (before storing), ``html_502`` (after
storing: a gateway that lost the upstream answer), ``rate_limit`` (429 with Retry-After), ``drop_before``
(connection closed before the job is stored) and ``drop_after`` (closed after it is stored); plus
``latency_ms`` on every request.

It trusts no client either (every refusal below closes the connection and prints no traceback):

- The key is checked before a body is read: a request without it gets its 401 at once, unread.
- A POST or PUT needs a Content-Length (411 without one; a Transfer-Encoding beside one is ignored and the
  connection closed after the answer) that is one non-negative decimal number (else 400) within the
  route's bound: ``MAX_JSON_BODY`` for job and batch JSON, ``MAX_UPLOAD`` for a /files/ PUT (else 413).
  Bodies are read in ``CHUNK``-sized pieces, so memory follows what actually arrived, not what was
  announced. ``Expect: 100-continue`` is answered only once the request has passed those checks.
- A request line that is not ``METHOD /target HTTP/1.x`` (HTTP/0.9 included), a header line without a
  colon, a path that is not UTF-8 once decoded: 400. JSON that is not strict JSON (NaN, Infinity), nests
  deeper than ``MAX_JSON_DEPTH``, holds an integer of more than ``MAX_JSON_INT_DIGITS`` digits or a lone
  surrogate: 400 FS_0003.
- A /files/ name is percent-decoded once and stored as sent; it is refused (PUT: 400 GE_0001; GET: 404,
  or 400 when it holds control characters) when it is absolute, has an empty, ``.`` or ``..`` part, a
  backslash or a control character, a part longer than the file system's ``NAME_MAX`` (255 bytes) or more
  than ``MAX_NAME_BYTES`` in all. Uploads land in a short-named temporary file first, so a name of up to
  255 bytes is stored as it is.

Protocol-level refusals carry the API's error shape with the status's name as the code (BAD_REQUEST,
LENGTH_REQUIRED, REQUEST_URI_TOO_LONG, NOT_IMPLEMENTED, ...); a body the sandbox cannot take is FS_0003,
a file name it cannot store GE_0001 (409 when a folder and a file would share it).

The package, by concern: ``wire`` (limits, error shape, /files/ names, strict JSON: pure functions),
``protocol`` (the strict HTTP/1.1 handler and server bases), ``api`` (the routes above), ``storage`` (the
signed-URL storage server), ``store`` (SQLite), ``results`` (the annotator: result masks) and ``server``
(SandboxServer: lifecycle, state, the endpoints' logic). Import the names below from this package.
"""

from __future__ import annotations

from .api import SandboxRequestHandler
from .home import DEFAULT_MAX_DISK, ResetReport, embedded_home, is_sandbox_url, open_embedded_sandbox, reset_sandbox
from .protocol import LISTEN_BACKLOG, MAX_THREADS
from .results import ADDED_REGION, derive_result
from .server import Faults, SandboxServer
from .wire import (
    CHUNK,
    MAX_JSON_BODY,
    MAX_JSON_DEPTH,
    MAX_JSON_INT_DIGITS,
    MAX_NAME_BYTES,
    MAX_UPLOAD,
    NAME_MAX,
)

__all__ = [
    # the server and what it can inject
    "SandboxServer",
    "Faults",
    "SandboxRequestHandler",
    # the window's kept sandbox, its disk cap and its reset; which URLs are sandboxes
    "open_embedded_sandbox",
    "embedded_home",
    "DEFAULT_MAX_DISK",
    "reset_sandbox",
    "ResetReport",
    "is_sandbox_url",
    # the annotator
    "derive_result",
    "ADDED_REGION",
    # limits on what clients may send
    "MAX_JSON_BODY",
    "MAX_UPLOAD",
    "CHUNK",
    "MAX_JSON_DEPTH",
    "MAX_JSON_INT_DIGITS",
    "NAME_MAX",
    "MAX_NAME_BYTES",
    # how many clients at once
    "LISTEN_BACKLOG",
    "MAX_THREADS",
]
