"""Noticing that a file the form names was deleted, replaced or emptied after it was chosen.

The job's verdict depends on each local file's size and modification time (core's ``check_key``), so all the
window needs is to refresh when one changes: a QFileSystemWatcher on the files says so at once where the OS
tells it, and a stat of the same few files every 1.5 s covers what it misses (network drives, a file
recreated under the same name). The stats are core's (:func:`core.draft.local_file_stats`); a changed
signature asks the window for a refresh, which re-checks the job in core off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer

from playment_submit.core.draft import local_file_stats

POLL_MS = 1500
MAX_WATCHED = 64  # a job names a primary, a few cameras and a mask; never a dataset's worth of files


class FileWatch(QObject):
    """Watches ``paths()`` (the draft's local files) and calls ``changed()`` when any of them changes."""

    def __init__(self, parent: QObject, paths: Callable[[], list[str]], changed: Callable[[], None]):
        super().__init__(parent)
        self._paths = paths
        self._changed = changed
        self._signature: list[tuple[str, int | None, int | None]] | None = None
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(lambda _p: self.poll())
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def poll(self) -> None:
        """Compare the files' stats with the last ones seen: a file changed refreshes the window. The window
        also calls this after each refresh, so the stats it compares with are those the job was checked with."""
        paths = list(dict.fromkeys(self._paths()))[:MAX_WATCHED]
        signature = local_file_stats(paths)
        watched = set(self.watcher.files())
        wanted = {p for p, size, _ in signature if size is not None}
        if watched - wanted:
            self.watcher.removePaths(sorted(watched - wanted))
        if wanted - watched:  # a file replaced by rename drops out of the watch: watched again here
            self.watcher.addPaths(sorted(wanted - watched))
        before, self._signature = self._signature, signature
        same_files = before is not None and [p for p, _, _ in before] == paths
        if same_files and signature != before:  # other files (an edit of the form) are the refresh's own news
            self._changed()

    def stop(self) -> None:
        self.timer.stop()
