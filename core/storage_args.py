"""The storage options of ``submit`` and ``bulk`` (``--upload-to``, the S3 options) and the checks of their
values, in a module that imports nothing heavy.

Every command builds the whole parser (``--help`` and ``mask check`` included), so these definitions live
apart from :mod:`core.storage`, which loads hashlib, logging and the job model: building the parser costs
the argument definitions only. :mod:`core.storage` re-exports everything here; import from there.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from .sanitise import one_line, url_for_display

MAX_PRESIGN_EXPIRY = 7 * 24 * 3600  # SigV4 presigned URLs live at most 7 days
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


def endpoint_problem(url: str) -> str | None:
    """Why ``url`` cannot be an S3 endpoint, as a sentence naming it (credentials never repeated); None when
    it can: an http(s) URL with a host, a valid port, no user name or password, no query or fragment."""
    shown = one_line(url_for_display(url), 100)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return f"The S3 endpoint URL \"{shown}\" has a port that is not a number from 1 to 65535."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (f"The S3 endpoint URL \"{shown}\" is not an http(s) URL with a host; write it like "
                f"https://minio.example.com:9000.")
    if port == 0:
        return f"The S3 endpoint URL \"{shown}\" has port 0; give the endpoint's real port."
    if parts.username is not None or parts.password is not None:
        return (f"The S3 endpoint URL \"{shown}\" holds a user name or password; remove them (S3 credentials come "
                f"from the AWS configuration, never from the URL).")
    if parts.query or parts.fragment:
        return f"The S3 endpoint URL \"{shown}\" has a ?query or #fragment; give the endpoint's address alone."
    return None


def upload_to_problem(dest: str) -> str | None:
    """Why ``--upload-to DEST`` cannot be used, as a sentence; None when it can."""
    if dest in ("none", "sandbox"):
        return None
    parts = urlsplit(dest)
    if parts.scheme != "s3" or not parts.netloc:
        return (f"the destination \"{one_line(url_for_display(dest), 80)}\" is not s3://bucket/prefix, \"sandbox\" "
                f"or \"none\"; write one of those.")
    if not _BUCKET.fullmatch(parts.netloc):
        return (f"\"{one_line(url_for_display(parts.netloc), 80)}\" is not a valid bucket name (3 to 63 lower-case "
                f"letters, digits, dots and hyphens).")
    return None


def checked_option(check: Callable[[str], str | None]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        why = check(text)
        if why:
            raise argparse.ArgumentTypeError(why)
        return text.strip()

    parse.__name__ = check.__name__.removesuffix("_problem")
    return parse


def presign_expiry_option(text: str) -> int:
    try:
        value = int(text.strip(), 10)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PRESIGN_EXPIRY:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds from 1 to {MAX_PRESIGN_EXPIRY} (7 days, "
                                         f"the most S3 allows), not \"{one_line(text, 40)}\".")
    return value


def add_storage_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("uploading local files")
    g.add_argument("--upload-to", metavar="DEST", type=checked_option(upload_to_problem),
                   help="where local files go before the job is sent: s3://bucket/prefix, \"sandbox\", or \"none\" "
                        "(default: the profile's storage; the sandbox's own storage when talking to a local sandbox)")
    g.add_argument("--s3-endpoint-url", type=checked_option(endpoint_problem), metavar="URL",
                   help="an S3-compatible endpoint (MinIO, Wasabi, GCS interop): http(s)://host[:port]")
    g.add_argument("--s3-region", help="the bucket's region")
    g.add_argument("--aws-profile", help="a named AWS profile for credentials (default: the standard chain)")
    g.add_argument("--url-style", choices=("s3", "https", "presigned"), help="URL handed to Playment (default s3)")
    g.add_argument("--presign-expiry", type=presign_expiry_option, metavar="SECONDS",
                   help=f"lifetime of presigned URLs, 1 to {MAX_PRESIGN_EXPIRY} (default and most: 7 days)")
