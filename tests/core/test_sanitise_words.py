"""Redaction applies to secrets, not words (issue 23 item 4): the sandbox's published key "sandbox" is no secret,
and registering it turned "needs a running local sandbox" into "needs a running local [redacted]"."""

from __future__ import annotations

from playment_submit.core.client import PlaymentClient
from playment_submit.core.sanitise import is_secret_worth_redacting, one_line, register_secret


def test_the_sandbox_key_and_short_values_are_not_redacted_but_real_keys_are():
    with PlaymentClient("http://127.0.0.1:9", "p1", "sandbox"):  # a client for `playment-submit sandbox`
        pass
    register_secret("abc1")
    register_secret("password")
    said = one_line("Sandbox storage needs a running local sandbox; abc1 and password are words here.")
    assert said == "Sandbox storage needs a running local sandbox; abc1 and password are words here."
    register_secret("real-key-0123456789")
    assert one_line("echo: real-key-0123456789") == "echo: [redacted]"
    assert not is_secret_worth_redacting("sandbox") and is_secret_worth_redacting("sandbox-0a1b2c3d")
