"""A large COCO file is parsed once and then kept on disk (core.mask.formats.coco_store), not held whole in
memory (issue 24): the masks and shapes rows get from it what the in-memory index gives them."""

from __future__ import annotations

import gc
import json

import numpy as np

from playment_submit.core.mask.formats import coco, coco_store
from playment_submit.core.mask.formats._common import ImportOptions
from playment_submit.core.shapes.rows import SharedSources, shapes_for_row


def _coco(path, n: int) -> None:
    images = [{"id": i, "file_name": f"frames/f{i:03d}.png", "width": 8, "height": 6} for i in range(n)]
    anns = []
    for i in range(n):
        for k in range(i % 3):  # 0, 1 or 2 annotations an image; one image's annotations not in file order
            x = k * 3
            anns.append({"id": 1000 * i + k, "image_id": i, "category_id": 1 + k, "iscrowd": 0,
                         "bbox": [x, 1, 2, 3], "area": 6.0,
                         "segmentation": [[x, 1, x + 2, 1, x + 2, 4, x, 4]]})
    anns.reverse()
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "road"}]}),
                    encoding="utf-8")


def _segmentations() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, dict) and "segmentation" in o)


def test_a_large_coco_file_is_kept_on_disk_and_decodes_as_the_in_memory_index(tmp_path, monkeypatch):
    path = tmp_path / "masks.json"
    _coco(path, 60)
    small = [coco.decode(path, ImportOptions(image=f"f{i:03d}.png")) for i in (1, 2, 5, 59)]
    coco._INDEXES.clear()
    monkeypatch.setattr(coco_store, "LARGE_COCO_BYTES", path.stat().st_size - 1)  # this file is "large"
    gc.collect()
    before = _segmentations()
    index = coco.coco_index(path)
    gc.collect()
    assert isinstance(index, coco_store.CocoStore)
    assert _segmentations() - before == 0  # the parsed file is not held: its annotations are on disk
    large = [coco.decode(path, ImportOptions(image=name)) for name in ("f001.png", "frames/f002.png", "f005", "59")]
    for a, b in zip(small, large, strict=True):
        assert np.array_equal(a.values, b.values) and a.names == b.names
    assert len(index.images) == 60 and index.images[-1]["id"] == 59 and "nope.png" not in index.by_name
    assert index.annotations.get(0, []) == []


def test_a_large_shared_coco_source_gives_each_row_its_shapes_from_disk(tmp_path, monkeypatch):
    path = tmp_path / "labels.json"
    _coco(path, 30)
    rows = [shapes_for_row(image=f"https://example.com/f{i:03d}.png", source=str(path), fmt="coco",
                           shared=SharedSources()) for i in (1, 2, 3, 4)]
    monkeypatch.setattr(coco_store, "LARGE_COCO_BYTES", 0)
    shared = SharedSources()
    on_disk = [shapes_for_row(image=f"https://example.com/f{i:03d}.png", source=str(path), fmt="coco",
                              shared=shared) for i in (1, 2, 3, 4)]
    assert isinstance(shared.coco(str(path)).by_name, coco_store._Names) and shared.parsed == 1
    assert [(r.fragment, r.notes, r.problems) for r in on_disk] == [(r.fragment, r.notes, r.problems) for r in rows]
    assert any(r.fragment for r in on_disk)
    missing = shapes_for_row(image="https://example.com/other.png", source=str(path), fmt="coco", shared=shared)
    assert missing.fragment is None and "has no image named other.png" in missing.notes[0]


def test_a_full_disk_while_indexing_a_large_coco_file_is_a_sentence(tmp_path, monkeypatch):
    """The temporary file fills up (SQLite's own page limit makes it say "database or disk is full"): the row
    gets a sentence naming where and what to do, not SQLite's exception."""
    import pytest

    from playment_submit.core.errors import UsageError
    from playment_submit.core.tempdb import private_db
    path = tmp_path / "big.json"
    _coco(path, 300)

    def tiny():
        db = private_db()
        db.execute("PRAGMA max_page_count = 8")
        return db

    monkeypatch.setattr(coco_store, "private_db", tiny)
    monkeypatch.setattr(coco_store, "LARGE_COCO_BYTES", 0)
    monkeypatch.setenv("SQLITE_TMPDIR", str(tmp_path))
    coco._INDEXES.clear()
    with pytest.raises(UsageError, match=r"index of a large COCO file \(a temporary SQLite file in .*\) cannot be "
                                         r"written \(SQLite: database or disk is full\).*SQLITE_TMPDIR"):
        coco.coco_index(path)
