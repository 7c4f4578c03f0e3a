"""Local files become URLs Playment can fetch: S3-compatible upload, sandbox storage, or none.

Playment only takes URLs (https://, s3:// through cross-account bucket access, gs://). A job may name
local paths wherever a URL goes; at submit time, before the POST, :func:`upload_local_files` puts each
file into the configured storage and returns a copy of the job with URLs in their place. A failed upload
raises, so nothing is half-submitted.

Profile storage settings (``Profile.storage``, a dict; never holds credentials):
- ``kind``: ``"none"`` (URLs only), ``"sandbox"`` (the local sandbox's /files/) or ``"s3"``;
- for s3: ``bucket``, ``prefix``, ``region``, ``endpoint_url`` (MinIO, Wasabi, GCS interop...),
  ``aws_profile`` (a named profile of the standard AWS config; otherwise the standard credential chain),
  ``url_style`` (``"s3"``: ``s3://bucket/key``, the default; ``"https"``: the object's https URL, for
  public buckets; ``"presigned"``: a presigned https GET URL), ``presign_expiry`` (seconds, default and most 7 days),
  ``public_acl`` (bool, default false: objects are uploaded private), ``multipart_threshold`` (bytes).

Keys are content-addressed: ``<prefix>/<sha256 of the bytes>/<original file name>``, so the same file is
uploaded once (a HEAD finds it) and a changed file never overwrites what an earlier job points at.
boto3 is optional (the ``s3`` extra); it is imported only when S3 storage is used.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import mimetypes
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote, unquote, urljoin, urlsplit

from .defaults import CONNECT_TIMEOUT, DEFAULT_TIMEOUT
from .errors import ConnectionFailedError, PlaymentError, RequestTimeoutError, UsageError
from .job import JobSpec, is_loopback_host
from .sanitise import one_line, url_for_display
from .storage_args import MAX_PRESIGN_EXPIRY as MAX_PRESIGN_EXPIRY
from .storage_args import add_storage_arguments as add_storage_arguments
from .storage_args import endpoint_problem as endpoint_problem
from .storage_args import upload_to_problem as upload_to_problem

if TYPE_CHECKING:  # requests loads with the first sandbox storage: the parser's options need none of it
    import requests

    from .settings import Connection

log = logging.getLogger(__name__)

Progress = Callable[[int, int], Any]
DEFAULT_PRESIGN_EXPIRY = 7 * 24 * 3600
DEFAULT_MULTIPART_THRESHOLD = 64 * 1024 * 1024
MAX_MULTIPART_THRESHOLD = 5 * 1024 ** 3  # S3's largest single PUT
CHUNK = 1 << 20


class StorageError(PlaymentError):
    """An upload failed; nothing was submitted."""

    default_message = "A file could not be uploaded; nothing was submitted."


# ----------------------------------------------------------------- hashing
_digest_cache: dict[tuple[str, int, int], str] = {}
_digest_lock = threading.Lock()


def local_file(value: str) -> Path:
    """The filesystem path of a local reference (``file://`` URLs included)."""
    if value.startswith("file://"):
        return Path(unquote(urlsplit(value).path))
    return Path(value)


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes, cached by (path, mtime, size) so previews stay cheap."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    with _digest_lock:
        if key in _digest_cache:
            return _digest_cache[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _digest_lock:
        _digest_cache[key] = digest
    return digest


def content_key(path: Path, prefix: str = "") -> str:
    """``prefix/<sha256>/<name>``: the hash makes the key unique; the name is kept readable but reduced to
    URL-safe characters, so a file named "index mask_coded.png" or "café.png" gives a URL without spaces
    or escapes (``index_mask_coded.png``) that every validator and Playment's fetcher accept as is."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", path.name).strip("._") or "file"
    key = f"{file_digest(path)}/{name}"
    prefix = prefix.strip("/")
    return f"{prefix}/{key}" if prefix else key


def _check_readable(path: Path, what: str = "file") -> None:
    if not path.exists():
        raise StorageError(f"The {what} {path} does not exist; fix the path or remove it from the job.")
    if not path.is_file():
        raise StorageError(f"The {what} {path} is not a file.")
    if not os.access(path, os.R_OK):
        raise StorageError(f"The {what} {path} cannot be read (permission denied).")


# -------------------------------------------------------------- interface
class Storage:
    """Where local files go. Subclasses implement ``_put`` and ``_url_for``."""

    kind = "base"

    def put(self, path: str | Path, progress: Progress | None = None) -> str:
        """Upload ``path`` (unless the same bytes are there already) and return its URL."""
        raise NotImplementedError

    def destination(self, path: str | Path) -> str:
        """Where ``path`` will go, for the payload preview (hashes the file; no network)."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class NoStorage(Storage):
    """URLs only: a local path is refused with a sentence saying what to configure."""

    kind = "none"

    def _refuse(self, path: str | Path) -> StorageError:
        return StorageError(f"{path} is a local file, and no storage is configured to upload it. Configure "
                            f"storage (S3 in the profile, or --upload-to s3://bucket/prefix) or give its URL.")

    def put(self, path: str | Path, progress: Progress | None = None) -> str:
        raise self._refuse(path)

    def destination(self, path: str | Path) -> str:
        return "not uploaded: no storage configured"

    def describe(self) -> str:
        return "No storage: jobs must name URLs"


class _ProgressReader:
    """File wrapper for streaming PUTs that reports bytes sent."""

    def __init__(self, fh: BinaryIO, total: int, progress: Progress | None, cancel: threading.Event | None = None):
        self._fh, self._total, self._progress, self._cancel, self._done = fh, total, progress, cancel, 0

    def __len__(self) -> int:
        return self._total

    def read(self, size: int = -1) -> bytes:
        if self._cancel is not None and self._cancel.is_set():
            raise StorageError("Upload cancelled; nothing was submitted.")
        chunk = self._fh.read(CHUNK if size is None or size < 0 else min(size, CHUNK))
        self._done += len(chunk)
        if self._progress and chunk:
            self._progress(self._done, self._total)
        return chunk


class SandboxStorage(Storage):
    """Puts files into the sandbox server's ``/files/`` (HEAD first; PUT with the key).

    Redirects are never followed (the key would go along to wherever they point): a 3xx is a StorageError
    naming the other host. Each exchange has a total deadline, connect to last byte: ``timeout`` seconds for
    the HEAD, and ``timeout`` plus one second per MiB (at least 1 MiB/s, generous on loopback) for the PUT.
    """

    kind = "sandbox"

    def __init__(self, base_url: str, api_key: str, *, prefix: str = "uploads", timeout: float = DEFAULT_TIMEOUT):
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not is_loopback_host(parts.hostname):
            raise UsageError(f"Sandbox storage only works with a local sandbox (http on this machine), not "
                             f"{url_for_display(one_line(base_url, 200))}.")
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise UsageError(f"The sandbox storage's timeout must be a positive number of seconds, not {timeout!r}.")
        self.base_url = base_url.rstrip("/")
        self.prefix = prefix
        self.timeout = float(timeout)
        import requests

        from .transport import DeadlineAdapter
        self._session = requests.Session()
        self._session.trust_env = False  # no proxy or .netrc from the environment: the key goes to the sandbox only
        self._session.mount("http://", DeadlineAdapter())  # total deadline per exchange (core.transport)
        self._session.headers["x-api-key"] = api_key

    def __repr__(self) -> str:
        return f"SandboxStorage({self.base_url!r})"

    def _url(self, path: Path) -> str:
        return f"{self.base_url}/files/{quote(content_key(path, self.prefix))}"

    def destination(self, path: str | Path) -> str:
        p = local_file(str(path))
        _check_readable(p)
        return self._url(p)

    def _send(self, method: str, url: str, limit: float, name: str, **kwargs: Any) -> requests.Response:
        """One exchange within ``limit`` seconds in all, never following a redirect; the answer's body is
        read (at most 64 KiB of it). Raises RequestTimeoutError, ConnectionFailedError or StorageError."""
        import requests

        from .transport import Deadline
        what = "upload" if method == "PUT" else "check"
        late = RequestTimeoutError(f"The sandbox at {self.base_url} did not finish the {what} of {name} within "
                                   f"{limit:g} s; is it running and not stuck? Nothing was submitted.")
        with Deadline(limit) as watch:
            try:
                resp = self._session.request(method, url, timeout=(min(CONNECT_TIMEOUT, limit), limit),
                                             allow_redirects=False, stream=True, **kwargs)
                body = bytearray()
                for chunk in resp.iter_content(65536):
                    body += chunk
                    if len(body) >= 65536:
                        break
                resp.close()
            except requests.exceptions.RequestException as e:
                if watch.expired:
                    raise late from None
                raise ConnectionFailedError(f"Could not upload {name} to the sandbox at {self.base_url}; is it "
                                            f"running?") from e
        if watch.expired:
            raise late
        if 300 <= resp.status_code < 400:
            target = urlsplit(urljoin(url, resp.headers.get("Location") or ""))
            where = (one_line(url_for_display(f"{target.scheme}://{target.netloc}"), 120) if target.netloc
                     else "another address")
            raise StorageError(f"The sandbox at {self.base_url} answered the {what} of {name} with a redirect "
                               f"(HTTP {resp.status_code}) to {where}; uploads never follow redirects, so the API "
                               f"key only goes to the sandbox. Check that the base URL is the sandbox's own address.",
                               status=resp.status_code)
        return resp

    def put(self, path: str | Path, progress: Progress | None = None,
            cancel: threading.Event | None = None) -> str:
        p = local_file(str(path))
        _check_readable(p)
        url = self._url(p)
        size = p.stat().st_size
        if self._send("HEAD", url, self.timeout, p.name).status_code == 200:
            if progress:
                progress(size, size)
            return url
        try:
            fh = open(p, "rb")  # noqa: SIM115 (closed below; opened alone to tell its errors apart)
        except OSError as e:
            raise StorageError(f"The file {p} cannot be read: {e.strerror}.") from None
        with fh:
            resp = self._send("PUT", url, self.timeout + size / 2**20, p.name,
                              data=_ProgressReader(fh, size, progress, cancel),
                              headers={"Content-Length": str(size),
                                       "Content-Type": mimetypes.guess_type(p.name)[0] or "application/octet-stream"})
        if resp.status_code in (401, 403):
            raise StorageError(f"The sandbox refused the upload of {p.name} (the API key does not match).")
        if resp.status_code >= 300:
            raise StorageError(f"The sandbox refused the upload of {p.name} (HTTP {resp.status_code}).")
        return url

    def describe(self) -> str:
        return f"Sandbox storage ({self.base_url}/files/)"


class S3Storage(Storage):
    """Any S3-compatible store through boto3 (optional dependency, imported here only)."""

    kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", *, region: str | None = None, endpoint_url: str | None = None,
                 aws_profile: str | None = None, url_style: str = "s3", presign_expiry: int = DEFAULT_PRESIGN_EXPIRY,
                 public_acl: bool = False, multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD):
        if not bucket:
            raise UsageError("S3 storage needs a bucket name.")
        if url_style not in ("s3", "https", "presigned"):
            raise UsageError(f"Unknown URL style \"{url_style}\"; use s3, https or presigned.")
        if isinstance(presign_expiry, bool) or not isinstance(presign_expiry, int) \
                or not 1 <= presign_expiry <= MAX_PRESIGN_EXPIRY:
            raise UsageError(f"The presigned URL lifetime must be a whole number of seconds from 1 to "
                             f"{MAX_PRESIGN_EXPIRY} (7 days, the most S3 allows), not {presign_expiry!r}.")
        if endpoint_url is not None:
            why = endpoint_problem(endpoint_url)
            if why:
                raise UsageError(why)
        if isinstance(multipart_threshold, bool) or not isinstance(multipart_threshold, int) \
                or not 1 <= multipart_threshold <= MAX_MULTIPART_THRESHOLD:
            raise UsageError(f"The multipart threshold must be a whole number of bytes from 1 to "
                             f"{MAX_MULTIPART_THRESHOLD} (5 GiB, S3's largest single upload), not "
                             f"{multipart_threshold!r}.")
        try:
            import boto3
            from botocore.config import Config
        except ImportError as e:
            raise UsageError("S3 storage is configured but boto3 is not installed; install it with "
                             "`pip install 'playment-submit[s3]'` (the packaged app includes it).") from e
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.region, self.endpoint_url, self.aws_profile = region, endpoint_url, aws_profile
        self.url_style, self.presign_expiry, self.public_acl = url_style, int(presign_expiry), public_acl
        self.multipart_threshold = multipart_threshold
        try:
            session = boto3.Session(profile_name=aws_profile) if aws_profile else boto3.Session()
        except Exception as e:  # botocore.exceptions.ProfileNotFound and friends
            raise UsageError(f"The AWS profile \"{aws_profile}\" cannot be used: {type(e).__name__}. Check "
                             f"~/.aws/config.") from e
        from .network import boto3_settings
        net = boto3_settings(endpoint_url)  # AWS_CA_BUNDLE or the environment's CA file; the same proxy
        self._client = session.client(
            "s3", region_name=region, endpoint_url=endpoint_url, verify=net.get("verify"),  # None: botocore's own
            # SigV4 everywhere: presigned URLs then carry X-Amz-Expires and work in every region and on MinIO.
            config=Config(signature_version="s3v4", connect_timeout=CONNECT_TIMEOUT, read_timeout=60,
                          retries={"max_attempts": 3, "mode": "standard"}, proxies=net.get("proxies")))

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint_url={self.endpoint_url!r})"

    def describe(self) -> str:
        where = f" via {self.endpoint_url}" if self.endpoint_url else ""
        return f"S3 s3://{self.bucket}/{self.prefix}{where} ({self.url_style} URLs)"

    def _key(self, path: Path) -> str:
        return content_key(path, self.prefix)

    def _url(self, key: str) -> str:
        if self.url_style == "s3":
            return f"s3://{self.bucket}/{key}"
        if self.url_style == "presigned":
            url: str = self._client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                            ExpiresIn=self.presign_expiry)
            return url
        if self.endpoint_url:
            return f"{self.endpoint_url.rstrip('/')}/{self.bucket}/{quote(key)}"
        region = self.region or "us-east-1"
        return f"https://{self.bucket}.s3.{region}.amazonaws.com/{quote(key)}"

    def destination(self, path: str | Path) -> str:
        p = local_file(str(path))
        _check_readable(p)
        key = self._key(p)
        if self.url_style == "presigned":  # signed at upload time; the object it points at is known now
            return f"presigned URL of s3://{self.bucket}/{key}"
        return self._url(key)

    def _explain(self, exc: Exception, name: str) -> PlaymentError:
        from botocore.exceptions import (
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
        )
        inner = exc.__cause__ or exc.__context__
        if type(exc).__name__ == "S3UploadFailedError" and isinstance(inner, Exception):
            exc = inner  # boto3's transfer manager wraps the ClientError that says what went wrong
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return UsageError("No AWS credentials were found for the upload; configure them the standard way "
                              "(environment, ~/.aws/credentials, or --aws-profile). This app never stores them.")
        if isinstance(exc, EndpointConnectionError):
            return ConnectionFailedError(f"Could not reach the storage endpoint "
                                         f"{self.endpoint_url or 'of AWS S3'} to upload {name}.")
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchBucket",) or (code == "404" and status == 404):
                return StorageError(f"The bucket \"{self.bucket}\" does not exist (or is in another region); "
                                    f"check the storage settings. {name} was not uploaded.")
            if code in ("AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId",
                        "SignatureDoesNotMatch") or status == 403:
                return StorageError(f"Access to bucket \"{self.bucket}\" was denied ({code or status}); check the "
                                    f"credentials and the bucket policy. {name} was not uploaded.")
            return StorageError(f"The storage refused the upload of {name} ({code or status}).")
        if isinstance(exc, PlaymentError):
            return exc
        return StorageError(f"The upload of {name} failed: {type(exc).__name__}.")

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as e:
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 and e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            if status == 403:
                # S3 answers 403 instead of 404 for a missing key when the credentials may put objects but
                # not list the bucket (a common upload-only policy): try the upload, which says if it is denied.
                log.debug("HEAD %s was denied; uploading without the existence check", key)
                return False
            raise

    def put(self, path: str | Path, progress: Progress | None = None,
            cancel: threading.Event | None = None) -> str:
        from boto3.s3.transfer import TransferConfig
        p = local_file(str(path))
        _check_readable(p)
        key = self._key(p)
        size = p.stat().st_size
        try:
            if not self._exists(key):
                done = [0]
                lock = threading.Lock()

                def callback(n: int) -> None:
                    if cancel is not None and cancel.is_set():
                        raise StorageError("Upload cancelled; nothing was submitted.")
                    with lock:
                        done[0] += n
                        current = done[0]
                    if progress:
                        progress(current, size)

                extra = {"ContentType": mimetypes.guess_type(p.name)[0] or "application/octet-stream"}
                if self.public_acl:
                    extra["ACL"] = "public-read"
                self._client.upload_file(str(p), self.bucket, key, ExtraArgs=extra, Callback=callback,
                                         Config=TransferConfig(multipart_threshold=self.multipart_threshold,
                                                               multipart_chunksize=max(5 * 1024 * 1024,
                                                                                       self.multipart_threshold // 4)))
            elif progress:
                progress(size, size)
            return self._url(key)
        except Exception as e:  # boto3 raises many kinds; each becomes one sentence
            raise self._explain(e, p.name) from None


# ---------------------------------------------------------------- which storage for which API
SANDBOX_STORAGE_ELSEWHERE = ("The sandbox's own storage only works when the base URL is a local sandbox; for this "
                             "server choose S3 storage (or \"None\" and give URLs) in the Connection tab, or "
                             "--upload-to s3://bucket/prefix on the command line.")


def is_sandbox_api(base_url: str) -> bool:
    """The API at ``base_url`` may be a sandbox, whose own ``/files/`` can hold uploads: http(s) on this
    machine. Real Playment (any other host) never gets sandbox storage, so it is never sent localhost URLs."""
    try:
        parts = urlsplit(base_url)
        return parts.scheme == "http" and is_loopback_host(parts.hostname)
    except ValueError:
        return False


def storage_mispaired(storage: Storage | None, base_url: str) -> str | None:
    """A sentence when ``storage`` cannot serve jobs created at ``base_url``: sandbox storage is usable only
    by the very sandbox it belongs to (its own ``/files/``); None when the pairing is right."""
    if not isinstance(storage, SandboxStorage):
        return None
    if storage.base_url.rstrip("/") == base_url.rstrip("/"):
        return None
    if is_sandbox_api(base_url):
        return (f"Uploads would go to the sandbox at {storage.base_url}, which the jobs' sandbox at "
                f"{url_for_display(base_url)} cannot read; press \"Save and use\" again to use its own storage.")
    return SANDBOX_STORAGE_ELSEWHERE


def storage_for_api(settings: dict[str, Any] | None, base_url: str, api_key: str | None) -> Storage:
    """The profile's storage for jobs created at ``base_url``: sandbox storage is derived from that URL (its
    ``/files/``) and only when it is a sandbox. Raises UsageError saying which storage to choose."""
    return storage_from_settings(settings, sandbox_base_url=base_url if is_sandbox_api(base_url) else None,
                                 api_key=api_key)


# ---------------------------------------------------------------- factories
def storage_from_settings(settings: dict[str, Any] | None, *, sandbox_base_url: str | None = None,
                          api_key: str | None = None) -> Storage:
    """A Storage from a profile's storage dict (see module docstring)."""
    s = dict(settings or {})
    kind = s.get("kind") or ("sandbox" if sandbox_base_url else "none")
    if kind == "none":
        return NoStorage()
    if kind == "sandbox":
        if not sandbox_base_url:
            raise UsageError(SANDBOX_STORAGE_ELSEWHERE)
        return SandboxStorage(sandbox_base_url, api_key or "")
    if kind == "s3":
        text = {k: _text_setting(s, k) for k in ("bucket", "prefix", "region", "endpoint_url", "aws_profile",
                                                  "url_style")}
        return S3Storage(text["bucket"], text["prefix"], region=text["region"] or None,
                         endpoint_url=text["endpoint_url"] or None, aws_profile=text["aws_profile"] or None,
                         url_style=text["url_style"] or "s3",
                         presign_expiry=_int_setting(s, "presign_expiry", DEFAULT_PRESIGN_EXPIRY),
                         public_acl=s.get("public_acl") is True,
                         multipart_threshold=_int_setting(s, "multipart_threshold", DEFAULT_MULTIPART_THRESHOLD))
    raise UsageError(f"Unknown storage kind \"{one_line(kind, 40)}\" in the profile; use none, sandbox or s3.")


def _text_setting(settings: dict[str, Any], key: str) -> str:
    value = settings.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UsageError(f"The storage setting \"{key}\" in the profile must be text, not "
                         f"{type(value).__name__}; fix it in the Connection tab.")
    return value


def _int_setting(settings: dict[str, Any], key: str, default: int) -> int:
    """A whole-number storage setting: absent or empty is ``default``; 0 stays 0 (and is refused by the
    range check), never silently the default."""
    value = settings.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise UsageError(f"The storage setting \"{key}\" in the profile must be a whole number, not {value}.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,12}\s*", value):
        return int(value)
    raise UsageError(f"The storage setting \"{key}\" in the profile must be a whole number, not "
                     f"{one_line(repr(value), 40)}.")


_S3_OPTIONS = (("s3_endpoint_url", "endpoint_url", "--s3-endpoint-url"), ("s3_region", "region", "--s3-region"),
               ("aws_profile", "aws_profile", "--aws-profile"), ("url_style", "url_style", "--url-style"),
               ("presign_expiry", "presign_expiry", "--presign-expiry"))


def storage_from_args(args: argparse.Namespace, conn: Connection, *, sandbox_files: bool = False) -> Storage:
    """The storage for a command: ``--upload-to`` and the S3 options > the profile's storage > the sandbox's
    own /files/ when the connection is a loopback sandbox (or ``sandbox_files`` is true: the caller knows
    it talks to an embedded sandbox) > none. ``conn`` is a core.settings.Connection. S3 options without
    S3 storage are refused (they would be silently ignored otherwise)."""
    dest = getattr(args, "upload_to", None)
    sandbox_here = sandbox_files or is_loopback_host(urlsplit(conn.base_url).hostname)
    if dest:
        if dest in ("none", "sandbox"):
            settings: dict[str, Any] = {"kind": dest}
        else:
            why = upload_to_problem(dest)
            if why:
                raise UsageError(f"--upload-to: {why}")
            parts = urlsplit(dest)
            settings = {"kind": "s3", "bucket": parts.netloc, "prefix": parts.path.strip("/")}
    elif conn.profile.storage.get("kind"):
        settings = dict(conn.profile.storage)
    else:
        settings = {"kind": "sandbox" if sandbox_here else "none"}
    given = [(key, flag, getattr(args, opt)) for opt, key, flag in _S3_OPTIONS
             if getattr(args, opt, None) is not None]
    if given and settings["kind"] != "s3":
        raise UsageError(f"{given[0][1]} only applies to S3 storage; add --upload-to s3://bucket/prefix "
                         f"(or set S3 storage in the profile).")
    for key, _flag, value in given:
        settings[key] = value
    return storage_from_settings(settings, sandbox_base_url=conn.base_url if sandbox_here else None,
                                 api_key=conn.api_key)


# ------------------------------------------------------------- the job step
def upload_local_files(spec: JobSpec, storage: Storage | None, progress: Progress | None = None,
                       cancel: threading.Event | None = None) -> JobSpec:
    """A copy of ``spec`` with every local path replaced by its uploaded URL.

    All files are checked before the first byte goes up (a missing file fails fast); progress reports
    bytes across all files. Raises StorageError / ConnectionFailedError / UsageError with a sentence."""
    paths = list(dict.fromkeys(spec.local_paths()))
    if not paths:
        return spec
    if storage is None:
        storage = NoStorage()
    files = {v: local_file(v) for v in paths}
    for p in files.values():
        _check_readable(p)
    sizes = {v: p.stat().st_size for v, p in files.items()}
    total = sum(sizes.values())
    base = 0
    urls: dict[str, str] = {}
    for v, p in files.items():
        if cancel is not None and cancel.is_set():
            raise StorageError("Upload cancelled; nothing was submitted.")
        offset = base

        def each(done: int, _total: int, offset: int = offset) -> None:
            if progress:
                progress(offset + done, total)

        kwargs = {"cancel": cancel} if isinstance(storage, (SandboxStorage, S3Storage)) else {}
        urls[v] = storage.put(p, each, **kwargs)
        base += sizes[v]
        log.info("uploaded %s -> %s", p.name, urls[v].split("?")[0])
    return spec.with_urls(urls)
