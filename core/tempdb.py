"""Private SQLite temporary databases: what a run keeps on disk instead of in memory (core.row_store's rows,
core.manifest_folder's frame names, core.mask.formats.coco_store's large COCO file).

:func:`private_db` opens one: SQLite's own temporary database (``sqlite3.connect("")``), a file in its
temporary folder that SQLite deletes when it is closed, or when the process ends however it ends; no journal,
no syncs, and a bounded page cache, so memory stays flat however much it holds. :func:`full_sentence` says a
failure to write one (a full disk) in the words every front end shows: where the file is and what to do.
No Qt here.
"""

from __future__ import annotations

import os
import sqlite3

CACHE_KIB = 4096  # SQLite's page cache for each


def private_db(*, cache_kib: int = CACHE_KIB) -> sqlite3.Connection:
    """A new private temporary database (see the module's doc), usable from any thread (its owner locks)."""
    db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{cache_kib}", "temp_store=FILE"):
        db.execute(f"PRAGMA {pragma}")
    return db


def full_sentence(what: str, e: sqlite3.Error) -> str:
    """``what`` (e.g. "The bulk run's row store") could not be written: where it is, SQLite's words, and what
    to do (free space, or set SQLITE_TMPDIR)."""
    where = os.environ.get("SQLITE_TMPDIR") or os.environ.get("TMPDIR") or "/var/tmp or /tmp"
    return (f"{what} (a temporary SQLite file in {where}) cannot be written (SQLite: {e}). Free space there, or "
            f"set SQLITE_TMPDIR to a folder with room")


__all__ = ["CACHE_KIB", "full_sentence", "private_db"]
