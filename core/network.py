"""Trust and proxies for every HTTP stack the app uses: the one place that decides them.

Corporate networks put a TLS-inspecting proxy between the desktop and the internet: its CA is in the OS
trust store (or in a PEM file IT hands out), and connections must go through ``HTTPS_PROXY``. Every requests
Session here has ``trust_env = False`` (no ``.netrc`` credentials, nothing picked up by accident), so this
module passes trust and proxies explicitly:

- **Trust**: the operating system's certificate store through ``truststore`` (an ``ssl.SSLContext`` handed
  to urllib3; never injected into the ``ssl`` module globally), plus a PEM file or folder named by
  ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE`` (in that order, as requests reads them). Without truststore
  (an unusual build) certifi's roots are used. A variable naming a file that does not exist is a usage error
  with a sentence, not a silent fallback.
- **Proxies**: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` and ``NO_PROXY`` (either case), read with
  the standard library's rules; loopback hosts (127.0.0.0/8, ::1, localhost: the sandbox) are never
  proxied, and neither is a plain ``http://`` URL (only loopback ones are allowed anyway: an API key never
  crosses a proxy in clear text). Proxy credentials are registered as secrets, so no message shows them.
- **boto3** (S3 uploads) does not use requests: it is given ``AWS_CA_BUNDLE`` or else the same CA file, and
  the same proxy (:func:`boto3_settings`).

:func:`describe` says in one line which trust store and proxy a base URL gets (the Connection tab).
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import UsageError
from .sanitise import register_secret, url_for_display

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


@dataclass(frozen=True)
class CaFile:
    path: str
    variable: str


def ca_file() -> CaFile | None:
    """The extra CA certificates the environment names (a PEM file or a folder of them), or None. Raises
    UsageError naming the variable when it points at nothing."""
    for variable in CA_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if not value:
            continue
        if not os.path.exists(value):
            raise UsageError(f"{variable} names {value}, which does not exist; point it at a PEM file (or folder) "
                             f"with your organisation's CA certificates, or unset it.")
        return CaFile(value, variable)
    return None


def uses_system_store() -> bool:
    """truststore is there: the OS's certificate store is trusted (else certifi's bundle)."""
    try:
        import truststore  # noqa: F401
    except ImportError:
        return False
    return True


def ssl_context() -> ssl.SSLContext:
    """A client context trusting the OS store (truststore) or certifi, plus the environment's CA file."""
    extra = ca_file()
    context: ssl.SSLContext
    try:
        import truststore
        context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    except ImportError:
        import certifi
        context = ssl.create_default_context(cafile=certifi.where())
    if extra is not None:
        try:
            if os.path.isdir(extra.path):
                context.load_verify_locations(capath=extra.path)
            else:
                context.load_verify_locations(cafile=extra.path)
        except (ssl.SSLError, OSError, ValueError) as e:
            raise UsageError(f"{extra.variable} names {extra.path}, which holds no certificate that can be read "
                             f"({type(e).__name__}); it must be PEM text (-----BEGIN CERTIFICATE-----).") from None
    return context


# ---------------------------------------------------------------------------------------------- proxies
def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _environment_proxies() -> dict[str, str]:
    """The proxies the environment sets, by scheme ("https", "http", "all"), lower case winning as in curl."""
    return {k: v for k, v in urllib.request.getproxies_environment().items() if k in ("https", "http", "all")}


def proxy_for(url: str) -> tuple[str, str] | None:
    """(proxy URL, the variable it came from) for ``url``, or None: loopback hosts, plain http and hosts in
    NO_PROXY go direct. A proxy's credentials are registered as secrets."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or is_loopback(parts.hostname):
        return None
    proxies = _environment_proxies()
    if not proxies:
        return None
    from requests.utils import should_bypass_proxies
    if should_bypass_proxies(url, no_proxy=None):  # NO_PROXY (either case), as requests reads it
        return None
    chosen = next(((proxies[k], v) for k, v in (("https", "HTTPS_PROXY"), ("all", "ALL_PROXY")) if proxies.get(k)),
                  None)
    if chosen is None:
        return None
    proxy, variable = chosen
    proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    register_secret(proxy_parts.password)
    if proxy_parts.username and proxy_parts.password:
        register_secret(f"{proxy_parts.username}:{proxy_parts.password}")
    return (proxy if "://" in proxy else f"http://{proxy}"), variable


def proxies_for(url: str) -> dict[str, str]:
    """requests' ``proxies`` argument for one request to ``url`` ({} when it goes direct)."""
    found = proxy_for(url)
    return {"https": found[0]} if found is not None else {}


def boto3_settings(endpoint_url: str | None) -> dict[str, Any]:
    """What boto3 is given beside its own settings: ``verify`` (AWS_CA_BUNDLE, else the environment's CA file,
    else botocore's default) and the Config ``proxies`` for the S3 endpoint."""
    out: dict[str, Any] = {}
    aws = os.environ.get("AWS_CA_BUNDLE", "").strip()
    if aws:
        if not os.path.exists(aws):
            raise UsageError(f"AWS_CA_BUNDLE names {aws}, which does not exist; point it at a PEM file with your "
                             f"organisation's CA certificates, or unset it.")
    else:
        extra = ca_file()
        if extra is not None:
            out["verify"] = extra.path
    found = proxy_for(endpoint_url or "https://s3.amazonaws.com")
    if found is not None:
        out["proxies"] = {"https": found[0]}
    return out


def describe(base_url: str) -> str:
    """One line: which certificates are trusted and which proxy ``base_url`` goes through (credentials
    redacted), e.g. "Trust: the system's certificates + /etc/ca.pem (REQUESTS_CA_BUNDLE). Proxy: none"."""
    try:
        extra = ca_file()
        added = f" + {extra.path} ({extra.variable})" if extra is not None else ""
    except UsageError as e:
        added = f" (and {e})"
    store = "the system's certificates" if uses_system_store() else "certifi's certificates"
    host = urlsplit(base_url).hostname
    found = proxy_for(base_url)
    if found is not None:
        proxy = f"{url_for_display(found[0])} ({found[1]})"
    elif is_loopback(host):
        proxy = "none (a local server is never proxied)"
    elif base_url.lower().startswith("https://") and _environment_proxies():
        proxy = "none (NO_PROXY)"
    else:
        proxy = "none"
    return f"Trust: {store}{added}. Proxy: {proxy}."


__all__ = ["CA_VARIABLES", "CaFile", "boto3_settings", "ca_file", "describe", "is_loopback", "proxies_for",
           "proxy_for", "ssl_context", "uses_system_store"]
