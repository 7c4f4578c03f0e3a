"""Shared fixtures: an isolated config/data dir, an in-memory keyring, and a real sandbox server.

Every test gets its own PLAYMENT_CONFIG_DIR / PLAYMENT_DATA_DIR and no PLAYMENT_* variables from the
developer's shell, so nothing a test does touches the real profile or keyring. Qt runs offscreen.
"""

from __future__ import annotations

import os

import keyring
import pytest
from keyring.backend import KeyringBackend

from playment_submit.core.sandbox import Faults, SandboxServer

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class MemoryKeyring(KeyringBackend):
    """A keyring backend that lives in a dict (headless boxes have no real one)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        from keyring.errors import PasswordDeleteError
        if (service, username) not in self.store:
            raise PasswordDeleteError(username)
        del self.store[(service, username)]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    for name in ("PLAYMENT_API_KEY", "PLAYMENT_PROJECT_ID", "PLAYMENT_WORKFLOW_ID", "PLAYMENT_BASE_URL",
                 "PLAYMENT_DEFAULT_BATCH_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PLAYMENT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PLAYMENT_DATA_DIR", str(tmp_path / "data"))
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(isolated_env):
    return isolated_env


@pytest.fixture
def sandbox():
    """A fresh sandbox server on 127.0.0.1 (random port), stopped after the test."""
    with SandboxServer(seed=1234) as server:
        yield server


@pytest.fixture
def make_sandbox():
    """Factory for sandboxes with options (faults, latency, page size); all stopped after the test."""
    servers: list[SandboxServer] = []

    def make(**kw) -> SandboxServer:
        kw.setdefault("seed", 1234)
        server = SandboxServer(**kw).start()
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.stop()


__all__ = ["Faults", "MemoryKeyring"]


# ----------------------------------------------------------------- real image files for job tests
def png_bytes(seed: int = 0, size: tuple[int, int] = (8, 6)) -> bytes:
    """A real RGB PNG (every seed gives other pixels, so other bytes and another storage address)."""
    import io

    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def mask_bytes(colour: str = "#ff0000", size: tuple[int, int] = (8, 6)) -> bytes:
    """A real RGBA pre-label mask: the top half unlabelled, the bottom half ``colour``."""
    import io

    import numpy as np
    from PIL import Image
    rgba = np.zeros((size[1], size[0], 4), dtype=np.uint8)
    rgba[size[1] // 2:] = [int(colour[i:i + 2], 16) for i in (1, 3, 5)] + [255]
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    return buf.getvalue()
