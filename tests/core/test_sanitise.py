"""core.sanitise: what a server says is stripped of escapes and secrets before anyone sees or stores it."""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from playment_submit.core.sanitise import REDACTED, encodable, one_line, register_secret, server_text, url_for_display


def test_terminal_escapes_and_controls_are_removed():
    evil = "\x1b[2K\r\x1b[32mCreated job 123\x1b[0m\x1b]0;pwned\x07 real\x00error\u202e\x9b31m"
    out = server_text(evil)
    assert out == "Created job 123 real error"  # the colour, the title (OSC) and the 8-bit CSI are gone


def test_secrets_and_url_credentials_are_redacted():
    register_secret("k-secret-0123456789")
    assert server_text("echo: x-api-key: k-secret-0123456789") == f"echo: x-api-key: {REDACTED}"
    assert url_for_display("https://alice:s3cr3t@api.example.com/v1") == f"https://{REDACTED}@api.example.com/v1"
    assert "s3cr3t" not in one_line("Could not reach https://alice:s3cr3t@api.example.com: refused")


def test_long_text_is_cut_and_surrogates_never_reach_storage():
    assert len(server_text("x" * 10_000)) == 300
    text = encodable("ref-\udcff-\ud800")
    assert text == "ref-\ufffd-\ufffd"
    text.encode("utf-8")  # would raise UnicodeEncodeError with the surrogates


@given(st.text())
def test_any_text_becomes_one_printable_storable_line(s):
    out = one_line(s, 200)
    out.encode("utf-8")
    assert len(out) <= 200 and "\n" not in out and "\x1b" not in out
    sqlite3.connect(":memory:").execute("select ?", (out,))


def test_escaped_shows_control_and_bidi_characters_instead_of_dropping_them():
    from playment_submit.core.sanitise import escaped, unsafe_characters
    text = "car\x1b[31m\u202eraC\x9b\u200b"
    assert escaped(text) == "car\\x1b[31m\\u202eraC\\x9b\\u200b"
    assert unsafe_characters(text) == ["\\x1b", "\\u202e", "\\x9b", "\\u200b"]
    assert unsafe_characters("plain name") == [] and escaped("plain") == "plain"
    assert escaped("x" * 50, 10) == "x" * 9 + "…"
