"""Image previews by URL: the bytes of a primary or reference image the window shows (never decoded here).

A URL on the API's own host (the sandbox's ``/files/``, which serve only with the key or a signed URL) is
fetched the way a private file is, through ``GET /v1/attachments?url=`` and a keyless download of the signed
URL it names (:meth:`core.client.PlaymentClient.fetch_attachment`): the key goes to the API host alone. Any
other http(s) URL is fetched without the key, streamed, at most ``max_bytes``, within a timeout. s3:// and
gs:// are not fetched (Playment reads them with the bucket's own access).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from .errors import PlaymentError
from .sanitise import one_line

MAX_PREVIEW_BYTES = 40 * 1024 * 1024
PREVIEW_TIMEOUT = (5.0, 15.0)


class PreviewError(ValueError):
    """A preview that cannot be fetched: its message is a sentence for the user."""


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        return parts.scheme.lower(), (parts.hostname or "").lower(), port
    except ValueError:
        return None


def on_api_host(url: str, base_url: str) -> bool:
    """True when ``url`` has the same scheme, host and port as the API base URL (the sandbox's own files)."""
    here = _origin(url)
    return here is not None and here == _origin(base_url)


def _keyless_session() -> requests.Session:
    """A session that has never seen the API key, trusting and proxying as every other (core.network)."""
    from .transport import DeadlineAdapter
    session = requests.Session()
    session.trust_env = False  # no .netrc; trust and proxies come from core.network through the adapter
    adapter = DeadlineAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def fetch_preview_bytes(url: str, *, client: Any = None, max_bytes: int = MAX_PREVIEW_BYTES,
                        timeout: tuple[float, float] = PREVIEW_TIMEOUT) -> bytes:
    """The bytes at ``url`` for a preview; raises :class:`PreviewError` with a sentence. ``client`` is the
    session's :class:`~core.client.PlaymentClient` (or None): URLs on its API host go through it."""
    if url.startswith(("s3://", "gs://")):
        raise PreviewError("s3:// and gs:// images are not previewable here (Playment reads them with the "
                           "bucket's own access); the URL is still submitted as is.")
    if client is not None and on_api_host(url, client.base_url):
        try:
            fetched: bytes = client.fetch_attachment(url, max_bytes=max_bytes)
            return fetched
        except PlaymentError as e:
            raise PreviewError(f"The preview could not be fetched: {one_line(str(e), 300)}") from None
    too_big = f"The image is larger than {max_bytes >> 20} MB; not previewed."
    try:
        with _keyless_session() as session, session.get(url, stream=True, timeout=timeout) as resp:
            resp.raise_for_status()
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise PreviewError(too_big)
            data = bytearray()
            for chunk in resp.iter_content(1 << 16):
                data += chunk
                if len(data) > max_bytes:
                    raise PreviewError(too_big)
    except requests.exceptions.RequestException as e:
        raise PreviewError(f"The preview could not be fetched ({type(e).__name__}); check the URL.") from None
    return bytes(data)
