"""Where a sandbox keeps what it was given, and how much: the embedded default sandbox's home in the app's
data folder (its jobs, files and results survive a restart), the disk cap that prunes the oldest files, the
"Reset sandbox" that empties it (and the journal that remembers its jobs), and which URLs are sandboxes.

The window opened without a key uses :func:`open_embedded_sandbox`: ``<data dir>/sandbox/`` holds
``sandbox.sqlite`` (jobs, batches, results; WAL), ``files/`` (what was uploaded to /files/) and ``results/``
(the delivered masks). The sandbox listens on its last port again when it is free (the URLs its jobs hold name
it) and still knows its former ports. ``--sandbox`` and the tests use throw-away sandboxes (memory and
temporary folders) instead.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from ..job import is_loopback_host

if TYPE_CHECKING:
    from .server import SandboxServer

log = logging.getLogger(__name__)

DEFAULT_MAX_DISK = 2 * 1024 ** 3  # bytes of files and results an embedded sandbox keeps; the oldest go first
PRUNE_TO = 0.9  # pruning stops at this share of the cap, so the next uploads do not prune again at once
HOME_NAME = "sandbox"  # the embedded sandbox's folder in the app's data folder

RUNNING: set[str] = set()
"""The base URLs of the sandboxes running in this process (see :func:`is_sandbox_url`)."""


def is_sandbox_url(url: str | None) -> bool:
    """True when ``url`` is the base URL (or any URL) of a sandbox running in this process: what is said
    about its jobs names the sandbox, not Playment."""
    if not url:
        return False
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "http" or not is_loopback_host(parts.hostname):
        return False
    return any(urlsplit(base).port == port for base in list(RUNNING))


def embedded_home() -> Path:
    """The embedded sandbox's folder: ``<data dir>/sandbox`` (``PLAYMENT_DATA_DIR`` overrides the data dir)."""
    from ..settings import data_dir
    return data_dir() / HOME_NAME


def size_text(n: float) -> str:
    """Bytes for people: "2 GB", "340 MB", "12 KB"."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" or n >= 10 else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.0f} GB"


class _Folders(Protocol):
    files_dir: Path
    results_dir: Path
    notices: list[str]


class DiskCap:
    """The disk cap of one sandbox (``cap`` bytes over its /files/ and results; None: no cap). When passed,
    the oldest files (by modification time) are removed until ``PRUNE_TO`` of the cap is left, and a
    sentence saying so is added to the sandbox's ``notices`` and logged."""

    def __init__(self, sandbox: _Folders, cap: int | None):
        self.sandbox, self.cap = sandbox, cap
        self._lock = threading.Lock()
        self._total: int | None = None

    def _files(self) -> list[tuple[float, int, Path]]:
        found = []
        for folder in (self.sandbox.files_dir, self.sandbox.results_dir):
            for root, _dirs, names in os.walk(folder):
                for name in names:
                    path = Path(root) / name
                    if name.endswith(".part"):
                        continue  # an upload still arriving
                    try:
                        st = path.stat()
                    except OSError:
                        continue
                    found.append((st.st_mtime, st.st_size, path))
        return found

    def check(self) -> None:
        """Count what is kept; prune when over the cap (at start)."""
        if self.cap is None:
            return
        with self._lock:
            self._prune(self._files())

    def added(self, length: int) -> None:
        """``length`` bytes were stored; prune when the running total passes the cap."""
        if self.cap is None:
            return
        with self._lock:
            if self._total is not None:
                self._total += length
                if self._total <= self.cap:
                    return
            self._prune(self._files())

    def _prune(self, files: list[tuple[float, int, Path]]) -> None:
        assert self.cap is not None
        total = sum(size for _, size, _ in files)
        if total > self.cap:
            removed = freed = 0
            for _, size, path in sorted(files, key=lambda f: f[0]):
                if total <= self.cap * PRUNE_TO:
                    break
                try:
                    path.unlink()
                except OSError:
                    continue
                total -= size
                removed += 1
                freed += size
            text = (f"The sandbox keeps at most {size_text(self.cap)} of files: the {removed} oldest "
                    f"({size_text(freed)}) were removed from {self.sandbox.files_dir.parent}. Jobs that name them "
                    f"keep their URLs, but those files are gone (submit them again to upload them again).")
            self.sandbox.notices.append(text)
            log.warning("%s", text)
        self._total = total

    def clear(self) -> int:
        """Remove every file (the folders stay); returns how many were removed."""
        with self._lock:
            removed = 0
            for _, _, path in self._files():
                try:
                    path.unlink()
                    removed += 1
                except OSError:
                    pass
            for folder in (self.sandbox.files_dir, self.sandbox.results_dir):
                for root, dirs, _names in os.walk(folder, topdown=False):
                    for d in dirs:
                        try:
                            (Path(root) / d).rmdir()
                        except OSError:
                            pass
            self._total = 0
            return removed


def open_embedded_sandbox(home: str | Path | None = None, *, max_disk_bytes: int | None = DEFAULT_MAX_DISK,
                          **options: Any) -> SandboxServer:
    """The window's default sandbox, started, keeping its state in ``home`` (default :func:`embedded_home`).
    When that folder or its store cannot be used, a throw-away sandbox is started instead and its
    ``notices`` say why (the app always opens)."""
    from .server import SandboxServer
    folder = Path(home) if home is not None else embedded_home()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        server = SandboxServer(store=str(folder / "sandbox.sqlite"), files_dir=folder / "files",
                               results_dir=folder / "results", max_disk_bytes=max_disk_bytes, **options)
    except (OSError, sqlite3.Error) as e:
        server = SandboxServer(**options)
        server.notices.append(f"The sandbox's folder {folder} cannot be used ({e}); this sandbox forgets its jobs "
                              f"when the app closes. Move that folder away (or free the disk) to keep jobs again.")
    return server.start()


class ClearableJournal(Protocol):
    def clear(self) -> int: ...


@dataclass(frozen=True)
class ResetReport:
    """What "Reset sandbox" removed."""

    jobs: int
    files: int
    journal_entries: int
    where: str

    def sentence(self) -> str:
        return (f"The sandbox at {self.where} was reset: {self.jobs} job(s) and {self.files} file(s) removed, and "
                f"{self.journal_entries} entry(ies) of its journal.")


def reset_sandbox(sandbox: SandboxServer, journal: ClearableJournal | None) -> ResetReport:
    """Empty ``sandbox`` (jobs, batches but the default, results, files) and ``journal`` (the sandbox
    profile's: every entry and stored status), for the window's "Reset sandbox…". The sandbox keeps
    running on the same address."""
    jobs, files = sandbox.reset()
    entries = journal.clear() if journal is not None else 0
    return ResetReport(jobs=jobs, files=files, journal_entries=entries, where=sandbox.base_url)
