"""Folder mode of core.manifest: a folder of frames as a manifest's rows (see core.manifest's docstring), built
one at a time. The primary images' names are listed and sorted (row numbers are those of the CSV
:func:`core.manifest.write_csv` would write) in a private SQLite temporary table, read back a page at a time;
each frame's cameras and mask are found by asking for the file of its name, so no name or path per frame is
held in memory."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import Problem, UsageError
from .localfile import regular_file_problem
from .shapes.rows import LABELS_DIR, labels_beside
from .tempdb import full_sentence, private_db

if TYPE_CHECKING:  # core.manifest imports this module; its names are taken when a folder is read
    from .manifest import Manifest, ManifestRow


def from_folder(folder: str | Path, *, primary: str | None = None, masks: str = "masks",
                legend: str | Path | None = None, workflow_id: str | None = None,
                batch_id: str | None = None) -> Manifest:
    """Build a manifest from a folder layout (see the module docstring). ``primary`` defaults to
    ``images`` (or ``primary``); every other sub-folder except ``masks`` is a reference camera."""
    man, rows = stream_folder(folder, primary=primary, masks=masks, legend=legend, workflow_id=workflow_id,
                              batch_id=batch_id)
    man.rows.extend(rows)
    return man


def stream_folder(folder: str | Path, *, primary: str | None = None, masks: str = "masks",
                  legend: str | Path | None = None, workflow_id: str | None = None,
                  batch_id: str | None = None) -> tuple[Manifest, Iterator[ManifestRow]]:
    """:func:`from_folder`, its rows built one at a time: the primary images' names are listed (and sorted:
    row numbers are those of the CSV it would write); each frame's cameras and mask are found by asking for
    the file of its name (a stat each), not from a listing of every frame's paths held in memory."""
    from .manifest import IMAGE_SUFFIXES, Manifest, _row_from_fields
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"The folder {root} does not exist.")
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if primary is None:
        primary = next((n for n in ("images", "primary", "image") if (root / n).is_dir()), None)
        if primary is None:
            raise UsageError(f"The folder {root} has no images/ sub-folder; name the primary images' folder "
                             f"with --primary-dir (sub-folders: {', '.join(p.name for p in subdirs) or 'none'}).")
    pdir = root / primary
    if not pdir.is_dir():
        raise UsageError(f"The folder {pdir} does not exist; name the primary images' folder with --primary-dir.")
    mdir = root / masks
    cams = [d for d in subdirs if d.name not in (primary, masks, LABELS_DIR)]  # labels/ holds shapes, never a camera
    legend_path = Path(legend) if legend else (root / "legend.json" if (root / "legend.json").is_file() else None)
    man = Manifest(source=str(root), base_dir=root.resolve(), kind="folder")
    masks_found = _FolderMasks(mdir)

    def listed() -> Iterator[str]:
        with os.scandir(pdir) as entries:
            for e in entries:
                if Path(e.name).suffix.lower() in IMAGE_SUFFIXES and e.is_file():
                    yield e.name

    def rows() -> Iterator[ManifestRow]:
        legend_cache: dict[str, tuple[object, list[Problem]]] = {}  # core.manifest's legend cache
        n = 1
        for n, name in enumerate(sorted_names(listed()), start=2):  # row numbers as in the CSV it would write
            img = pdir / name
            rec = {"reference_id": img.stem, "image": str(img.resolve())}
            here = [d for d in cams if (d / name).is_file()]
            if here:
                rec["references"] = "|".join(f"{d.name}={(d / name).resolve()}" for d in here)
            found = masks_found.of(img)
            if found is not None and found[1]:
                rec["mask_source"], rec["mask_format"] = str(found[0].resolve()), found[1]
            elif found is not None:
                rec["mask"] = str(found[0].resolve())
                if legend_path is not None:
                    rec["legend"] = str(legend_path.resolve())
            labels = labels_beside(img, root)
            if labels is not None:
                rec["shapes_source"], rec["shapes_format"] = labels[0], labels[1]
                if labels[2]:
                    rec["shapes_classes"] = labels[2]
            row = _row_from_fields(n, rec, man.base_dir, workflow_id=workflow_id, batch_id=batch_id,
                                   legend_cache=legend_cache)
            missing_cams = [d.name for d in cams if d not in here]
            if missing_cams:
                row.add("references", f"no {', '.join(missing_cams)} image named {name}; the job is sent without "
                                      f"{'those cameras' if len(missing_cams) > 1 else 'it'}.", severity="warning")
            yield row
        if n == 1:
            man.problems.append(Problem(str(pdir), "the folder holds no images (.png, .jpg, .jpeg, .webp, .bmp, "
                                                   ".tif)."))

    return man, rows()


NAMES_PAGE = 5000  # names written, and read back in order, at once


def sorted_names(names: Iterable[str]) -> Iterator[str]:
    """``names`` in Python's order (code points, as ``sorted``), sorted in a private SQLite temporary table
    (deleted when closed, or when the process ends) and read back a page at a time: a folder of a million
    frames is not a list of a million names. Each name is kept as its UTF-32-BE bytes, whose byte order is
    the code points' (a name's undecodable bytes, as lone surrogates, included)."""
    db = private_db()
    try:
        yield from _sorted(db, names)
    except sqlite3.Error as e:
        raise UsageError(full_sentence("The list of the folder's image names", e) + ".") from e
    finally:
        db.close()


def _sorted(db: sqlite3.Connection, names: Iterable[str]) -> Iterator[str]:
    db.execute("CREATE TABLE names (key BLOB PRIMARY KEY) WITHOUT ROWID")
    page: list[tuple[bytes]] = []
    for name in names:
        page.append((name.encode("utf-32-be", "surrogatepass"),))
        if len(page) >= NAMES_PAGE:
            _insert(db, page)
            page = []
    _insert(db, page)
    after = b""
    while found := db.execute("SELECT key FROM names WHERE key > ? ORDER BY key LIMIT ?",
                              (after, NAMES_PAGE)).fetchall():
        for (key,) in found:
            yield key.decode("utf-32-be", "surrogatepass")
        after = found[-1][0]


def _insert(db: sqlite3.Connection, page: list[tuple[bytes]]) -> None:
    db.execute("BEGIN")
    db.executemany("INSERT OR IGNORE INTO names VALUES (?)", page)
    db.execute("COMMIT")


_CITYSCAPES_SUFFIXES = ("_labelIds", "_labelTrainIds", "_trainIds", "_instanceIds")


def _coco_file_names(path: Path) -> set[str]:
    """The file_names (and their base names) a COCO JSON lists; empty when it is not one (or not a regular
    file: a FIFO or a link to /dev/zero named *.json is never read, the mask import says why)."""
    if regular_file_problem(path, "COCO file") is not None:
        return set()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return set()
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        return set()
    names = {str(im.get("file_name", "")) for im in data["images"] if isinstance(im, dict)}
    return names | {Path(n).name for n in names}


class _FolderMasks:
    """A folder's masks/: a frame's mask is the file of its stem (any suffix the folder's masks have, the last
    in name order when several), else a Cityscapes ``<stem>_labelIds``-style file, else its entry in the one
    COCO JSON there. Only the suffixes and the COCO file's names are held, not a path per frame."""

    def __init__(self, mdir: Path) -> None:
        self.mdir = mdir
        self.suffixes: list[str] = []
        self.coco_file: Path | None = None
        self.coco_names: set[str] = set()
        if not mdir.is_dir():
            return
        suffixes: set[str] = set()
        jsons = []
        with os.scandir(mdir) as entries:
            for e in entries:
                if e.name.startswith(".") or not e.is_file():
                    continue
                suffix = Path(e.name).suffix
                if suffix.lower() == ".json":
                    jsons.append(mdir / e.name)
                else:
                    suffixes.add(suffix)
        self.suffixes = sorted(suffixes, reverse=True)  # the name last in order wins, as a sorted listing's did
        if len(jsons) == 1:
            self.coco_file, self.coco_names = jsons[0], _coco_file_names(jsons[0])

    def _file(self, stem: str) -> Path | None:
        if stem.startswith("."):  # a hidden file is never a mask
            return None
        for suffix in self.suffixes:
            p = self.mdir / (stem + suffix)
            if p.is_file():
                return p
        return None

    def of(self, img: Path) -> tuple[Path, str] | None:
        """(mask file, format to convert from, or "" for an RGBA mask used as it is) for a frame, or None."""
        from .mask.formats import infer_format

        if not self.suffixes and self.coco_file is None:
            return None
        p = self._file(img.stem)
        if p is not None:
            return p, infer_format(p) or ""
        for suffix in _CITYSCAPES_SUFFIXES:
            p = self._file(img.stem + suffix)
            if p is not None:
                return p, "cityscapes"
        if self.coco_file is not None and img.name in self.coco_names:
            return self.coco_file, "coco"
        return None


__all__ = ["from_folder", "sorted_names", "stream_folder"]
