"""Where storage will put local files, for the payload preview, without hashing on the GUI thread.

Storage addresses are content hashes (core.storage caches them by path, mtime and size). The first hash
of a file is computed here in a worker; until it is known, ``is_ready`` says no and the preview shows
the path. ``busy_changed`` tells the window to hold Submit and redraw the preview when it is done.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from playment_submit.core.storage import file_digest, local_file
from playment_submit.gui.workers import start_worker


def file_key(path: str) -> tuple:
    p = local_file(path)
    st = p.stat()
    return str(p.resolve()), st.st_mtime_ns, st.st_size


def hash_file(path: str) -> tuple:
    """Worker: compute (and let core cache) a file's content hash; returns the key it is valid for."""
    key = file_key(path)
    try:
        file_digest(local_file(path))
    except OSError:  # unreadable: storage.destination() then refuses it with a sentence, cheaply
        pass
    return key


class FileAddresses(QObject):
    busy_changed = Signal(bool)   # True while some file is being hashed

    def __init__(self, parent=None):
        super().__init__(parent)
        self._known: set[tuple] = set()   # (path, mtime, size) whose hash core has cached
        self._hashing: set[str] = set()

    def is_ready(self, path: str) -> bool:
        """True when ``path``'s address can be computed at once; else start hashing it in a worker."""
        try:
            key = file_key(path)
        except OSError:
            return True  # missing or unreadable: destination() raises and validation names it
        if key in self._known:
            return True
        if path not in self._hashing:
            self._hashing.add(path)
            self.busy_changed.emit(True)
            worker = start_worker(hash_file, path, owner=self)
            worker.returned.connect(self._known.add)
            worker.finished.connect(lambda p=path: self._on_hashed(p))
        return False

    def _on_hashed(self, path: str) -> None:
        self._hashing.discard(path)
        self.busy_changed.emit(bool(self._hashing))
