"""Manifests: CSV / JSONL / folder reading, per-row problems with row numbers, journal-aware actions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playment_submit.core.errors import UsageError
from playment_submit.core.journal import Journal
from playment_submit.core.manifest import (
    CHANGED,
    DONE,
    INVALID,
    RECONCILE,
    RETRY,
    SEND,
    SKIP_FAILED,
    check_manifest,
    from_folder,
    load_manifest,
    read_csv,
    read_jsonl,
    write_csv,
)

WF = "2aae1234-acac-1234-eeff-12a22a237bbc"
BATCH = "3bbe1234-acac-1234-eeff-12a22a237bbc"


def _png(path: Path, pixels: dict | None = None, size=(4, 4)):
    a = np.zeros((size[1], size[0], 4), np.uint8)
    for (x, y), rgba in (pixels or {}).items():
        a[y, x] = rgba
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a, "RGBA").save(path)
    return path


def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _errors_by_row(man):
    return {r.row: [str(p) for p in r.errors] for r in man.rows if r.errors}


def test_csv_full_row(tmp_path):
    _png(tmp_path / "masks" / "a.png", {(0, 0): (255, 0, 0, 255)})
    _write(tmp_path / "legend.json", json.dumps({"#FF0000": "car"}))
    m = _write(tmp_path / "m.csv",
               "reference_id,image,references,mask,legend,batch_id,work_flow_id,priority_weight\n"
               f"a,https://x.io/a.png,front=https://x.io/f.png|rear=https://x.io/r.png,masks/a.png,legend.json,"
               f"{BATCH},{WF},7\n"
               f"b,https://x.io/b.png,,,,,,\n")
    man = read_csv(m, workflow_id=WF)
    check_manifest(man, allow_local_paths=True)
    assert man.ok, man.errors
    a, b = man.rows
    assert (a.row, b.row) == (2, 3)
    p = a.spec.to_payload()
    assert p["batch_id"] == BATCH and p["priority_weight"] == 7
    assert [i["label"] for i in p["data"]["reference_data"]["raster"]["images"]] == ["front", "rear"]
    assert p["data"]["maker_response"]["raster"]["data"]["url"] == str((tmp_path / "masks" / "a.png").resolve())
    assert p["data"]["maker_response"]["raster"]["data"]["legend"] == {"#ff0000": "car"}
    assert a.mask_checked
    assert b.spec.work_flow_id == WF and b.spec.batch_id is None
    assert [r.action for r in man.rows] == [SEND, SEND]


def test_csv_inline_legend_and_local_paths_need_storage(tmp_path):
    _png(tmp_path / "a.png")
    _png(tmp_path / "m.png", {(1, 1): (0, 255, 0, 255)})
    m = _write(tmp_path / "m.csv", 'reference_id,image,mask,legend\n'
                                   'a,a.png,m.png,"{""#00ff00"": ""road""}"\n')
    man = check_manifest(read_csv(m, workflow_id=WF))
    errs = man.errors
    assert any("row 2, data.image_url" in e and "local file" in e for e in errs)
    man = check_manifest(read_csv(m, workflow_id=WF), allow_local_paths=True)
    assert man.ok, man.errors


def test_broken_rows_each_named_by_row(tmp_path):
    _png(tmp_path / "bad_mask.png", {(2, 3): (9, 9, 9, 255)})
    _write(tmp_path / "legend.json", json.dumps({"#ff0000": "car"}))
    big = "x" * (10 * 1024 * 1024)
    body = (b"reference_id,image,mask,legend,priority_weight\n"
            b"ok1,https://x.io/1.png,,,\n"                                   # row 2: fine
            b"bad_url,ftp://x.io/2.png,,,\n"                                 # row 3
            b"ok1,https://x.io/3.png,,,\n"                                   # row 4: duplicate of row 2
            b"mask,https://x.io/4.png,bad_mask.png,legend.json,\n"           # row 5: unknown colour
            b"enc,https://x.io/\xff\xfe.png,,,\n"                            # row 6: not UTF-8
            + f"huge,https://x.io/{big}.png,,,\n".encode()                   # row 7: 10 MB line
            + b"pw,https://x.io/8.png,,,99\n"                                # row 8: out of range
            b"short,https://x.io/9.png\n"                                    # row 9: missing cells
            b",https://x.io/10.png,,,\n")                                    # row 10: no reference id
    man = check_manifest(read_csv(_write(tmp_path / "m.csv", body), workflow_id=WF), allow_local_paths=True)
    errs = _errors_by_row(man)
    assert set(errs) == {3, 4, 5, 6, 7, 8, 9, 10}
    assert "ftp" in errs[3][0]
    assert any("also used on row 2" in e for e in errs[4])
    assert any("not in the legend" in e and "#090909" in e for e in errs[5])
    assert any("not UTF-8" in e for e in errs[6])
    assert any("characters long" in e for e in errs[7])
    assert any("priority weight 99" in e for e in errs[8])
    assert any("cells" in e for e in errs[9])
    assert any("reference ID is missing" in e for e in errs[10])
    assert [r.action for r in man.rows if r.row == 2] == [SEND]
    assert all(r.action == INVALID for r in man.rows if r.row != 2)
    assert any(e.startswith(f"{tmp_path / 'm.csv'} row 5, data.maker_response.raster.data.url: the mask bad_mask.png:")
               for e in man.errors)


def test_missing_columns_is_a_file_problem(tmp_path):
    man = read_csv(_write(tmp_path / "m.csv", "ref,img\na,b\n"))
    assert not man.ok
    assert "lacks the columns reference_id, image" in man.errors[0]


def test_unreadable_manifest_is_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_manifest(tmp_path / "nope.csv")
    with pytest.raises(UsageError, match=r"nope\.jsonl does not exist"):
        read_jsonl(tmp_path / "nope.jsonl")
    for reader in (read_csv, read_jsonl):
        with pytest.raises(UsageError, match="is a folder; pass a CSV or JSONL file"):
            reader(tmp_path)


def test_jsonl(tmp_path):
    good = {"reference_id": "a", "data": {"image_url": "https://x.io/a.png"}}
    lines = [json.dumps(good), "", "{not json", json.dumps({"reference_id": "b", "dta": {}}),
             json.dumps({**good, "reference_id": "c", "data": {"image_url": "img/c.png"}})]
    m = _write(tmp_path / "m.jsonl", "\n".join(lines) + "\n")
    man = check_manifest(read_jsonl(m, workflow_id=WF, batch_id=BATCH))
    errs = _errors_by_row(man)
    assert set(errs) == {3, 4, 5}
    assert "not valid JSON" in errs[3][0]
    assert "unknown field \"dta\"" in " ".join(errs[4])
    assert str(tmp_path / "img" / "c.png") in " ".join(errs[5])  # resolved against the manifest's folder
    assert man.rows[0].spec.to_payload()["batch_id"] == BATCH


def test_folder_mode_and_write_csv(tmp_path):
    root = tmp_path / "drive"
    for name in ("001", "002"):
        _png(root / "images" / f"{name}.png")
        _png(root / "masks" / f"{name}.png", {(0, 0): (255, 0, 0, 255)})
    _png(root / "front" / "001.png")
    _write(root / "legend.json", json.dumps({"#ff0000": "car"}))
    man = check_manifest(from_folder(root, workflow_id=WF), allow_local_paths=True)
    assert [r.reference_id for r in man.rows] == ["001", "002"]
    assert man.ok, man.errors
    assert [x.label for x in man.rows[0].spec.references] == ["front"]
    assert any("no front image named 002.png" in w for w in man.warnings)
    out = write_csv(man, root / "manifest.csv")
    text = out.read_text()
    assert "images/001.png" in text and "front=front/001.png" in text and "legend.json" in text
    again = check_manifest(read_csv(out, workflow_id=WF), allow_local_paths=True)
    assert [r.spec.to_payload() for r in again.rows] == [r.spec.to_payload() for r in man.rows]


def test_folder_without_images_dir(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(UsageError, match="--primary-dir"):
        from_folder(tmp_path)


def test_actions_from_journal(tmp_path):
    rows = "".join(f"{r},https://x.io/{r}.png\n" for r in ("new", "done", "changed", "sending", "failed"))
    m = _write(tmp_path / "m.csv", "reference_id,image\n" + rows)
    man = read_csv(m, workflow_id=WF)
    payloads = {r.reference_id: r.spec.to_payload() for r in man.rows}
    with Journal(tmp_path / "j.sqlite") as j:
        j.mark_sending("done", payloads["done"])
        j.mark_created("done", "J1")
        j.mark_sending("changed", {**payloads["changed"], "priority_weight": 3})
        j.mark_created("changed", "J2")
        j.mark_sending("sending", {**payloads["sending"], "priority_weight": 2})
        j.mark_sending("failed", payloads["failed"])
        j.mark_failed("failed", "FS_0007", "not accessible")
        check_manifest(man, journal=j)
        assert [r.action for r in man.rows] == [SEND, DONE, CHANGED, RECONCILE, SKIP_FAILED]
        assert man.rows[1].job_id == "J1"
        assert any("--retry-failed" in w for w in man.warnings)
        assert any("row 5, (journal): this row changed since an interrupted send" in w for w in man.warnings)
        check_manifest(read_csv(m, workflow_id=WF), journal=j, retry_failed=True)
        man2 = check_manifest(read_csv(m, workflow_id=WF), journal=j, retry_failed=True)
        assert man2.rows[4].action == RETRY


def test_journal_entries_and_duplicates_are_found_across_look_up_chunks(tmp_path):
    from playment_submit.core.manifest import DONE, JOURNAL_CHUNK, SEND
    wf = "2aae1234-acac-1234-eeff-12a22a237bbc"
    n = 2 * JOURNAL_CHUNK + 500
    path = tmp_path / "m.csv"
    path.write_text("reference_id,image\n" + "".join(f"r{i},https://example.com/{i}.png\n" for i in range(n))
                    + f"r{n - 1},https://example.com/again.png\n", encoding="utf-8")
    man = load_manifest(path, workflow_id=wf)
    created = [0, JOURNAL_CHUNK - 1, JOURNAL_CHUNK, n - 2]  # each side of a chunk's edge, and the last chunk
    with Journal(tmp_path / "j.sqlite") as journal:
        for i in created:
            payload = man.rows[i].payload()
            journal.mark_sending(f"r{i}", payload)
            journal.mark_created(f"r{i}", f"job-{i}")
        check_manifest(man, journal=journal)
    assert [man.rows[i].action for i in created] == [DONE] * 4
    assert [man.rows[i].job_id for i in created] == [f"job-{i}" for i in created]
    assert man.counts() == {DONE: 4, SEND: n - 4, "invalid": 1}  # n + 1 rows: the last repeats an ID
    (dup,) = [r for r in man.rows if r.action == "invalid"]
    assert dup.row == n + 2 and f"is also used on row {n + 1}" in dup.errors[0].message
