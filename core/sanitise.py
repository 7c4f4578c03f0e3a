"""Text from outside made safe to show, log and store.

Servers are not trusted: their error messages may carry terminal escape sequences (a red "Created job 123"
written over the real line), control characters, lone surrogates that no UTF-8 file can hold, megabytes of
HTML, or the very API key the request carried (a server that echoes headers). Everything a server says
passes through :func:`server_text` before it reaches a message, a log line or the journal.

Secrets are redacted wherever text is sanitised: every API key a client or session was given is
registered here (:func:`register_secret`), and credentials written into a URL (``https://user:pw@host``)
are replaced too.

Redaction applies to secrets, not words: a value is registered only when it is at least
:data:`MIN_SECRET_LENGTH` (8) characters long and is not made of letters only. A shorter value, or a
word such as the published key of ``playment-submit sandbox`` ("sandbox"), is no secret a user could leak,
and replacing it everywhere would eat ordinary words ("needs a running local [redacted]"). Real API keys
are long and mix letters with digits or punctuation, so they are always registered.
"""

from __future__ import annotations

import re
import threading

REDACTED = "[redacted]"
MAX_SERVER_TEXT = 300

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-byte escapes, and 8-bit C1 CSI/OSC.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|"
                      r"\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x9c]*[\x07\x9c]?")
# C0/C1 controls, DEL, zero-width and bidirectional overrides (they reorder what a terminal shows).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@]+@")

_secrets: set[str] = set()
_lock = threading.Lock()


MIN_SECRET_LENGTH = 8


def is_secret_worth_redacting(value: str | None) -> bool:
    """``value`` looks like a secret, not a word: at least 8 characters, not letters only (module docstring)."""
    return bool(value) and len(value or "") >= MIN_SECRET_LENGTH and not (value or "").isalpha()


def register_secret(value: str | None) -> None:
    """Redact ``value`` from every text sanitised from now on (API keys); words and short values are not
    registered (see the module docstring for the rule)."""
    if value and is_secret_worth_redacting(value):
        with _lock:
            _secrets.add(value)


def encodable(text: object) -> str:
    """``text`` as a str every UTF-8 file and database can hold: lone surrogates become U+FFFD."""
    return _SURROGATES.sub("\ufffd", str(text))


def redact(text: str) -> str:
    """Registered secrets and URL credentials replaced by ``[redacted]``."""
    text = _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def one_line(text: object, limit: int | None = None) -> str:
    """One printable line: escapes and control characters removed, runs of white space made one space,
    surrogates replaced, secrets redacted, cut to ``limit`` characters (with an ellipsis)."""
    s = encodable(text)
    s = _ESCAPES.sub("", s)
    s = _CONTROLS.sub(" ", s)
    s = " ".join(s.split())
    s = redact(s)
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)].rstrip() + "…"
    return s


def server_text(text: object, limit: int = MAX_SERVER_TEXT) -> str:
    """What a server said, fit to show a user: :func:`one_line`, at most ``limit`` characters."""
    return one_line(text, limit)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")


def unsafe_characters(text: str) -> list[str]:
    """The control, zero-width, bidirectional and surrogate characters in ``text``, escaped, each once
    (``["\\x1b", "\\u202e"]``): what a name from a file must not carry to a terminal or to Playment."""
    return list(dict.fromkeys(_escape_one(c) for c in _UNSAFE.findall(text)))


def escaped(text: object, limit: int | None = None) -> str:
    """``text`` with every control, zero-width and bidirectional character written as an escape (``\\x1b``,
    ``\\u202e``) instead of removed: what a name from a file looks like when shown to its owner, who must
    see that it holds them. Secrets redacted; cut to ``limit`` characters."""
    s = redact(_UNSAFE.sub(lambda m: _escape_one(m.group(0)), str(text)))
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)] + "…"
    return s


def _escape_one(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n <= 0xFF else f"\\u{n:04x}"


def url_for_display(url: str) -> str:
    """A URL without credentials in it (``https://[redacted]@host/...``)."""
    return redact(encodable(url))


__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "encodable", "is_secret_worth_redacting",
           "escaped", "one_line", "redact", "register_secret", "server_text",
           "unsafe_characters", "url_for_display"]
