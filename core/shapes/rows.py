"""Shapes for bulk rows and folder frames (issue 25, send): a row names a shapes file (``shapes`` column, a
SHAPES.json fragment) or a source to convert on the fly (``shapes_source`` with ``shapes_format``); folder mode
finds ``labels/<stem>.txt`` (YOLO, names from ``labels/classes.txt``) or ``<stem>.json`` (LabelMe) beside a frame.

A source shared by many rows (one COCO dataset JSON for a folder of frames) is parsed once: :class:`SharedSources`
keeps the parsed file and an index of its images and annotations by file name, so each row costs its own
annotations, not the whole file. At most :data:`MAX_SHARED` sources are kept (the least recently used goes).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem, UsageError, ValidationError
from .importer import import_shapes, is_fragment
from .model import check_shapes, fragment
from .readers import read_coco, read_json

MAX_SHARED = 4
LABELS_DIR = "labels"
YOLO_CLASSES = "classes.txt"


@dataclass
class RowShapes:
    """The shapes of one row: the fragment (None when the row has none), what was said, what is wrong."""
    fragment: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _CocoIndex:
    data: dict[str, Any]
    by_name: Any  # a dict, or a large file's CocoStore names (the same get)
    annotations: Any


class SharedSources:
    """Parsed shared sources, by path (see the module docstring)."""

    def __init__(self, limit: int = MAX_SHARED):
        self.limit = limit
        self._cache: OrderedDict[str, _CocoIndex | None] = OrderedDict()
        self.parsed = 0   # how many times a file was read and parsed (tests check a shared file costs one)
        self._lock = threading.Lock()  # the bulk check's workers share it: one parse, not one per worker

    def coco(self, path: str) -> _CocoIndex | None:
        """The COCO dataset at ``path`` indexed by image file name, or None when it is not a dataset JSON."""
        with self._lock:
            return self._coco(path)

    def _coco(self, path: str) -> _CocoIndex | None:
        key = str(Path(path).resolve())
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        data = read_json(path, "shapes source")
        self.parsed += 1
        index = None
        if isinstance(data, dict) and isinstance(data.get("images"), list):
            # imported here: core.mask.formats loads numpy, which a manifest without a COCO source never needs
            from ..mask.formats.coco_store import CocoStore, is_large
            if is_large(path):
                store = CocoStore(data, names=_shape_names, key=_image_key)  # kept on disk, not held whole
                index = _CocoIndex(store.data, store.by_name, store.annotations)
            else:
                by_name: dict[str, dict[str, Any]] = {}
                for im in data["images"]:
                    if isinstance(im, dict):
                        for name in _shape_names(im):
                            by_name.setdefault(name, im)
                annotations: dict[Any, list[Any]] = {}
                for a in data.get("annotations") or []:
                    image_id = _image_key(a.get("image_id")) if isinstance(a, dict) else None
                    if image_id is not None:
                        annotations.setdefault(image_id, []).append(a)
                index = _CocoIndex(data, by_name, annotations)
        self._cache[key] = index
        while len(self._cache) > self.limit:
            self._cache.popitem(last=False)
        return index


def _shape_names(im: dict[str, Any]) -> tuple[str, ...]:
    """The names a row's image finds an image of a shared COCO source by: its file_name and base name."""
    fname = im.get("file_name")
    return (fname, Path(fname).name) if isinstance(fname, str) else ()


def _image_key(image_id: Any) -> Any:
    return image_id if isinstance(image_id, (int, str)) and not isinstance(image_id, bool) else None


def shapes_for_row(*, image: str, shapes_file: str | None = None, source: str | None = None,
                   fmt: str | None = None, classes: str | None = None, known: list[str] | None = None,
                   shared: SharedSources | None = None) -> RowShapes:
    """The checked shapes of one row (paths already resolved against the manifest's folder). ``image`` is the
    row's primary (a local path or a URL): a COCO source's entry is the one of its file name, and a local
    image gives the size shapes in pixels are normalised by."""
    local = image if image and "://" not in image else None
    try:
        if shapes_file:
            data = read_json(shapes_file, "shapes file")
            if not is_fragment(data):
                return RowShapes(None, problems=[Problem(shapes_file, "a shapes file is a JSON object of "
                                                                      "rectangles, polygons, lines or landmarks "
                                                                      "(what `shapes import -o` writes).")])
            problems = check_shapes(data, known, where=shapes_file)
            return RowShapes(None if problems else data, problems=problems)
        if not source:
            return RowShapes(None)
        if (fmt in (None, "coco")) and source.lower().endswith(".json") and shared is not None:
            index = shared.coco(source)
            if index is not None:
                return _from_coco_index(index, source, image, local, classes, known)
        done = import_shapes(source, fmt, classes=classes, image=local, known=known)
        return RowShapes(done.fragment, done.notes)
    except ValidationError as e:
        return RowShapes(None, problems=list(e.problems))
    except UsageError as e:
        return RowShapes(None, problems=[Problem(source or shapes_file or "", str(e))])


def _from_coco_index(index: _CocoIndex, source: str, image: str, local: str | None, classes: str | None,
                     known: list[str] | None) -> RowShapes:
    from ..job import location_name
    from .readers import size_of

    name = location_name(image)
    chosen = index.by_name.get(name)
    if chosen is None:
        return RowShapes(None, notes=[f"{source} has no image named {name}; the job has no shapes."])
    anns = index.annotations.get(chosen.get("id"), [])
    one = {"images": [chosen], "annotations": anns, "categories": index.data.get("categories") or []}
    outcome = read_coco(source, one, None, size_of(local) if local else None, name, False)
    result, notes, refused = fragment(outcome, known=known)
    problems = refused or check_shapes(result, known, where=source)
    return RowShapes(None if problems else (result or None), notes, problems)


def labels_beside(frame: Path, root: Path) -> tuple[str, str, str | None] | None:
    """(source, format, classes file or None) of the labels folder mode finds for a frame, or None:
    ``root/labels/<stem>.txt`` (YOLO; names from ``root/labels/classes.txt`` when there) or ``<stem>.json``
    beside the frame (LabelMe)."""
    yolo = root / LABELS_DIR / f"{frame.stem}.txt"
    if yolo.is_file():
        names = root / LABELS_DIR / YOLO_CLASSES
        return str(yolo), "yolo", str(names) if names.is_file() else None
    labelme = frame.with_suffix(".json")
    if labelme.is_file():
        return str(labelme), "labelme", None
    return None
