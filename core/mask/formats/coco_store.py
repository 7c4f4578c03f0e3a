"""A large COCO file, parsed once and then kept on disk, not in memory (issue 24: a shared source is parsed
once for a run and not held whole when it is large).

A folder of frames whose masks/ holds one COCO file, or a manifest whose rows name one as their mask or shapes
source, asks the same file for each row's image. :class:`CocoStore` is what the rows look their image up in
once the file is over :data:`LARGE_COCO_BYTES`: its images (by every name a row may give) and its annotations
(by image) in a private SQLite temporary file, which SQLite deletes when it is closed or the process ends.
Only the categories (a short list) stay in memory. The parse itself still reads the whole file once.

It answers as the in-memory indexes do (core.mask.formats.coco.CocoIndex, core.shapes.rows' index):
``images`` (its length, an image by position or a slice), ``by_name`` (``in``, ``[]``, ``get``),
``annotations.get(key, default)`` and ``data["categories"]``. No Qt here.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ...errors import UsageError
from ...tempdb import full_sentence, private_db

LARGE_COCO_BYTES = 32 << 20  # a COCO file over this size is kept on disk once parsed
_GROUP = 5000  # records written at once


def is_large(path: str | Path) -> bool:
    """Whether the COCO file at ``path`` is kept on disk once parsed (over :data:`LARGE_COCO_BYTES`); False
    when it cannot be looked at (reading it says why)."""
    try:
        return os.stat(path).st_size > LARGE_COCO_BYTES
    except OSError:
        return False


class CocoStore:
    """See the module's doc. ``names(image)``: the names a row may give for an image (the first image in file
    order wins a name); ``key(image_id)``: the key its annotations are kept under (None: not kept)."""

    def __init__(self, data: dict[str, Any], *, names: Callable[[dict[str, Any]], Iterable[str]],
                 key: Callable[[Any], Any]) -> None:
        self._lock = threading.Lock()
        self._key = key
        db = self._db = private_db()
        try:
            self._index(data, names)
        except sqlite3.Error as e:  # a full disk: a sentence, as the row store says it
            db.close()
            raise UsageError(full_sentence("The index of a large COCO file", e) + ".") from e
        cats = data.get("categories")
        self.data: dict[str, Any] = {"categories": cats if isinstance(cats, list) else []}
        self.images = _Images(self)
        self.by_name = _Names(self)
        self.annotations = _Annotations(self)

    def _index(self, data: dict[str, Any], names: Callable[[dict[str, Any]], Iterable[str]]) -> None:
        db = self._db
        db.execute("CREATE TABLE images (pos INTEGER PRIMARY KEY, image TEXT NOT NULL)")
        db.execute("CREATE TABLE names (name TEXT PRIMARY KEY, pos INTEGER NOT NULL) WITHOUT ROWID")
        db.execute("CREATE TABLE anns (key TEXT NOT NULL, seq INTEGER NOT NULL, ann TEXT NOT NULL, "
                   "PRIMARY KEY (key, seq)) WITHOUT ROWID")
        images = [im for im in data.get("images") or [] if isinstance(im, dict)]
        self.count = len(images)
        for start in range(0, len(images), _GROUP):
            part = list(enumerate(images[start:start + _GROUP], start))
            self._write(("INSERT INTO images VALUES (?, ?)", [(pos, _dump(im)) for pos, im in part]),
                        ("INSERT OR IGNORE INTO names VALUES (?, ?)",
                         [(name, pos) for pos, im in part for name in names(im)]))
        anns = data.get("annotations") or []
        for start in range(0, len(anns), _GROUP):
            records = [(k, seq, _dump(a)) for seq, a in enumerate(anns[start:start + _GROUP], start)
                       if isinstance(a, dict) and (k := self._stored(a.get("image_id"))) is not None]
            self._write(("INSERT INTO anns VALUES (?, ?, ?)", records))

    def _stored(self, image_id: Any) -> str | None:
        k = self._key(image_id)
        return None if k is None else json.dumps(k, sort_keys=True, default=str)

    def _write(self, *statements: tuple[str, list[tuple[Any, ...]]]) -> None:
        self._db.execute("BEGIN")
        for sql, records in statements:
            self._db.executemany(sql, records)
        self._db.execute("COMMIT")

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def image(self, pos: int) -> dict[str, Any]:
        image: dict[str, Any] = json.loads(self._read("SELECT image FROM images WHERE pos = ?", (pos,))[0][0])
        return image

    def named(self, name: str) -> dict[str, Any] | None:
        found = self._read("SELECT pos FROM names WHERE name = ?", (name,))
        return self.image(found[0][0]) if found else None

    def annotations_of(self, key: Any) -> list[dict[str, Any]] | None:
        stored = json.dumps(key, sort_keys=True, default=str)
        found = self._read("SELECT ann FROM anns WHERE key = ? ORDER BY seq", (stored,))
        return [json.loads(a) for (a,) in found] if found else None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class _Images:
    """The images in file order: ``len``, one by position, a slice, each in turn."""

    def __init__(self, store: CocoStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return self._store.count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._store.image(pos) for pos in range(self._store.count))

    def __getitem__(self, at: int | slice) -> Any:
        if isinstance(at, slice):
            return [self._store.image(pos) for pos in range(self._store.count)[at]]
        pos = range(self._store.count)[at]  # IndexError past the end, as a list's
        return self._store.image(pos)


class _Names:
    """The images by name: ``name in``, ``[name]``, ``get(name)``."""

    def __init__(self, store: CocoStore) -> None:
        self._store = store

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._store.named(name) is not None

    def __getitem__(self, name: str) -> dict[str, Any]:
        found = self._store.named(name)
        if found is None:
            raise KeyError(name)
        return found

    def get(self, name: str, default: Any = None) -> Any:
        found = self._store.named(name)
        return default if found is None else found


class _Annotations:
    """The annotations by image key: ``get(key, default)``, in file order."""

    def __init__(self, store: CocoStore) -> None:
        self._store = store

    def get(self, key: Any, default: Any = None) -> Any:
        found = self._store.annotations_of(key)
        return default if found is None else found


__all__ = ["CocoStore", "LARGE_COCO_BYTES", "is_large"]
