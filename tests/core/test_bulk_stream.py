"""core.bulk_stream.StreamedRun: the command line's bulk run, its rows never all in memory.

Against the sandbox over real HTTP. The chunk and page sizes are made small so that a few hundred rows cross
many chunk edges; the rows alive at any moment are counted with the garbage collector.
"""

from __future__ import annotations

import gc
import json

import pytest

from playment_submit.core import bulk_stream, row_store
from playment_submit.core.bulk_run import BulkOptions, BulkRun
from playment_submit.core.bulk_stream import StreamedRun
from playment_submit.core.journal import Journal
from playment_submit.core.manifest import ManifestRow
from playment_submit.core.retry import RetryPolicy
from playment_submit.core.session import Session


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(bulk_stream, "CHUNK", 7)
    monkeypatch.setattr(row_store, "PAGE", 5)
    monkeypatch.setattr(row_store, "RESULT_GROUP", 3)


def _session(sandbox, tmp_path, name="j.sqlite") -> Session:
    return Session(sandbox.base_url, sandbox.project_id, sandbox.workflow_id, sandbox.api_key,
                   default_batch_id=sandbox.default_batch_id, journal=Journal(tmp_path / name),
                   retry=RetryPolicy(backoff_base=0.01))


def _mixed_manifest(tmp_path):
    """Rows of every kind: references, inline legend with a mask, priority, batch, a bad URL, a duplicate 20
    rows after its first, a bad priority, an unknown camera syntax."""
    (tmp_path / "legend.json").write_text(json.dumps({"#ff0000": "car"}), encoding="utf-8")
    lines = ["reference_id,image,references,mask,legend,priority_weight,batch_id"]
    for i in range(40):
        refs = f"left=https://example.com/l{i}.png|right=https://example.com/r{i}.png" if i % 2 else ""
        mask = f"https://example.com/m{i}.png" if i % 3 == 0 else ""
        legend = ("legend.json" if i % 2 else '"{""#FF0000"": ""car""}"') if mask else ""
        lines.append(f"r{i},https://example.com/{i}.png,{refs},{mask},{legend},{1 + i % 10},")
    lines.append("r3,https://example.com/again.png,,,,,")          # duplicate of row 5 (r3)
    lines.append("bad-url,ftp://example.com/x.png,,,,,")
    lines.append("bad-priority,https://example.com/p.png,,,,eleven,")
    lines.append("bad-refs,https://example.com/q.png,nolabel,,,,")
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _verdicts(run, results):
    return [(r.row, r.reference_id, r.status, r.code, r.message) for r in results]


def test_a_streamed_check_gives_every_row_the_verdict_and_sentence_of_the_whole_check(sandbox, tmp_path,
                                                                                        small_chunks):
    path = _mixed_manifest(tmp_path)
    whole_session, streamed_session = _session(sandbox, tmp_path, "a.sqlite"), _session(sandbox, tmp_path, "b.sqlite")
    whole, streamed = BulkRun(whole_session, path), StreamedRun(streamed_session, path)
    try:
        man = whole.open(ask_server=False)
        said: list[str] = []
        streamed.open(ask_server=False, on_rows=lambda rows: said.extend(
            r.describe(p, str(path)) for r in rows for p in r.problems))
        assert said == [r.describe(p, str(path)) for r in man.rows for p in r.problems]
        assert any('also used on row 5' in s for s in said)  # the duplicate, 40 rows (six chunks) later
        assert streamed.tally == whole.tally and streamed.row_count() == len(man.rows) == 44
        assert streamed.check_summary() == whole.check_summary()
        assert streamed.blocked() == whole.blocked() is not None
        a, b = whole.dry_run(), streamed.dry_run()
        assert _verdicts(whole, b[0]) == _verdicts(whole, a[0]) and b[1] == a[1]
        assert (_verdicts(whole, streamed.unsent_results("x")) == _verdicts(whole, whole.unsent_results("x")))
    finally:
        for run, s in ((whole, whole_session), (streamed, streamed_session)):
            run.close()
            s.close()


def test_the_payload_sent_is_the_payload_checked(sandbox, tmp_path, small_chunks):
    path = _mixed_manifest(tmp_path)
    session = _session(sandbox, tmp_path)
    whole, streamed = BulkRun(session, path), StreamedRun(session, path, BulkOptions(valid_only=True))
    try:
        checked = {r.row: r.spec.to_payload() for r in whole.open(ask_server=False).sendable()}
        streamed.open(ask_server=False)
        read_back = {r.row: r.spec.to_payload() for r in streamed.store.sendable()}
        assert read_back == checked and len(checked) == 40
    finally:
        whole.close()
        streamed.close()
        session.close()


def _live_rows() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is ManifestRow)


def test_a_streamed_send_holds_a_chunk_of_rows_not_the_manifest_and_creates_each_job_once(sandbox, tmp_path,
                                                                                         small_chunks):
    n = 300
    path = tmp_path / "m.csv"
    path.write_text("reference_id,image\n" + "".join(f"s{i},https://example.com/{i}.png\n" for i in range(n)),
                    encoding="utf-8")
    session = _session(sandbox, tmp_path)
    run = StreamedRun(session, path, BulkOptions(concurrency=4))
    seen: list[int] = []
    gc.collect()
    base = _live_rows()  # rows other tests left alive in this process
    try:
        run.open(on_rows=lambda rows: seen.append(_live_rows() - base))
        assert run.sendable_count() == n and len(seen) == -(-n // 7)
        assert max(seen) <= 2 * 7, seen  # the chunk in hand (and the one just dropped), never the manifest
        during: list[int] = []
        run.prepare_send(on_result=lambda r: during.append(_live_rows() - base) if r.row % 25 == 0 else None)
        summary = run.send()
        assert summary.ok and summary.counts() == {"created": n}
        # a page read back, the send's queue (twice the concurrency) and the rows in flight
        assert max(during) <= 5 + 2 * 4 + 4 + 2, during
        results = list(run.results())
        assert [r.row for r in results] == list(range(2, n + 2)) and {r.status for r in results} == {"created"}
        assert sorted(j["reference_id"] for j in sandbox.jobs()) == sorted(f"s{i}" for i in range(n))
    finally:
        run.close()
        session.close()
    again_session = _session(sandbox, tmp_path)
    again = StreamedRun(again_session, path)
    try:  # resume: every row is done from the journal, none is read back or sent
        again.open()
        assert again.tally == {"done": n} and again.sendable_count() == 0
        assert list(again.store.sendable()) == []
    finally:
        again.close()
        again_session.close()


def test_a_cancelled_streamed_send_stops_taking_rows_and_says_the_rest_were_not_sent(make_sandbox, tmp_path,
                                                                                     small_chunks):
    slow = make_sandbox(latency_ms=50)
    path = tmp_path / "m.csv"
    path.write_text("reference_id,image\n" + "".join(f"c{i},https://example.com/{i}.png\n" for i in range(60)),
                    encoding="utf-8")
    session = _session(slow, tmp_path)
    run = StreamedRun(session, path, BulkOptions(concurrency=2))
    taken: list[int] = []
    try:
        run.open()
        submitter = run.prepare_send(on_result=lambda r: submitter.cancel() if len(slow.jobs()) >= 4 else None)
        rows = run.store.sendable

        def counting():
            for r in rows():
                taken.append(r.row)
                yield r
        run.store.sendable = counting  # type: ignore[method-assign]
        summary = run.send()
        counts = summary.counts()
        assert summary.cancelled and counts["created"] == len(slow.jobs()) and counts["not_sent"] > 40
        assert len(taken) < 20  # the rest never left the store
        unsent = list(run.results(statuses=("not_sent",)))
        assert len(unsent) == counts["not_sent"] and all("Cancelled before it was sent" in r.message
                                                         for r in unsent)
    finally:
        run.close()
        session.close()


def test_a_folder_streams_its_frames_with_the_verdicts_of_the_whole_folder(sandbox, tmp_path, small_chunks):
    """Folder mode builds its rows one at a time (core.manifest_folder): cameras and masks found by name, a
    frame missing a camera warned about, the same rows as the folder read whole; a chunk of rows alive."""
    from PIL import Image
    root = tmp_path / "drive"
    for sub in ("images", "left", "right", "masks"):
        (root / sub).mkdir(parents=True)
    for i in range(30):
        Image.new("RGB", (4, 3)).save(root / "images" / f"f{i:02d}.png")
        Image.new("RGB", (4, 3)).save(root / "left" / f"f{i:02d}.png")
        if i % 5:
            Image.new("RGB", (4, 3)).save(root / "right" / f"f{i:02d}.png")
        if i % 3 == 0:
            Image.new("RGBA", (4, 3), (255, 0, 0, 255)).save(root / "masks" / f"f{i:02d}.png")
    (root / "masks" / "f01.jpg").write_bytes(b"not read")  # f01's mask under another suffix: found by its stem
    (root / "legend.json").write_text('{"#ff0000": "car"}', encoding="utf-8")
    whole_session, streamed_session = _session(sandbox, tmp_path, "a.sqlite"), _session(sandbox, tmp_path, "b.sqlite")
    whole, streamed = BulkRun(whole_session, root), StreamedRun(streamed_session, root)
    try:
        rows = whole.open(ask_server=False).rows
        gc.collect()
        base = _live_rows()
        said: list[str] = []
        live: list[int] = []

        def seen(chunk):
            said.extend(r.describe(p, str(root)) for r in chunk for p in r.problems)
            live.append(_live_rows() - base)

        streamed.open(ask_server=False, on_rows=seen)
        assert said == [r.describe(p, str(root)) for r in rows for p in r.problems]
        assert sum("no right image named f05.png" in s for s in said) == 1
        assert streamed.tally == whole.tally and streamed.row_count() == 30
        assert max(live) <= 2 * 7, live
        a, b = whole.dry_run(), streamed.dry_run()
        assert _verdicts(whole, b[0]) == _verdicts(whole, a[0])
        by_ref = {r.reference_id: r for r in rows}
        assert [x.label for x in by_ref["f01"].spec.references] == ["left", "right"]
        assert by_ref["f03"].spec.prelabel is not None and by_ref["f04"].spec.prelabel is None
        assert by_ref["f01"].spec.prelabel is not None and by_ref["f01"].spec.prelabel.url.endswith("f01.jpg")
    finally:
        for run, s in ((whole, whole_session), (streamed, streamed_session)):
            run.close()
            s.close()


def test_a_full_row_store_is_a_sentence_and_exit_2_with_nothing_sent(sandbox, tmp_path, monkeypatch, capsys):
    """The row store's disk fills up (SQLite's own limit on its pages makes it say "database or disk is
    full"): the command line says where the store is and what to do, exit 2, no traceback, nothing sent."""
    from playment_submit.core.cli import main
    real = row_store.RowStore.__init__

    def tiny(self, **kw):
        real(self, **kw)
        self._db.execute("PRAGMA max_page_count = 40")

    monkeypatch.setattr(row_store.RowStore, "__init__", tiny)
    path = tmp_path / "m.csv"
    path.write_text("reference_id,image\n" + "".join(f"f{i},https://example.com/{i:04d}/{'x' * 60}.png\n"
                                                       for i in range(3000)), encoding="utf-8")
    for k, v in dict(PLAYMENT_BASE_URL=sandbox.base_url, PLAYMENT_API_KEY=sandbox.api_key,
                     PLAYMENT_PROJECT_ID=sandbox.project_id, PLAYMENT_WORKFLOW_ID=sandbox.workflow_id,
                     SQLITE_TMPDIR=str(tmp_path)).items():
        monkeypatch.setenv(k, v)
    code = main(["bulk", str(path), "--default-batch-id", sandbox.default_batch_id])
    err = capsys.readouterr().err
    assert code == 2, err[-2000:]
    assert "row store" in err and "database or disk is full" in err and f"in {tmp_path}" in err
    assert "SQLITE_TMPDIR" in err and "Traceback" not in err
    assert sandbox.jobs() == []


def test_a_frame_whose_name_is_not_utf8_is_kept_and_said_not_a_crash(tmp_path, monkeypatch, capsys):
    """A folder frame named with bytes that are not UTF-8 (a reference ID with lone surrogates) is kept in the
    row store as the journal keeps such an ID (a BLOB), and read back exactly: a row of its own, no traceback."""
    import os

    from PIL import Image

    from playment_submit.core.cli import main
    images = tmp_path / "drive" / "images"
    images.mkdir(parents=True)
    Image.new("RGB", (4, 3)).save(images / "ok.png")
    try:
        with open(os.fsencode(str(images)) + b"/bad\xff.png", "wb") as fh:
            fh.write((images / "ok.png").read_bytes())
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    for k, v in dict(PLAYMENT_API_KEY="x", PLAYMENT_PROJECT_ID="p", PLAYMENT_BASE_URL="https://api.example.invalid",
                     PLAYMENT_WORKFLOW_ID="2aae1234-acac-1234-eeff-12a22a237bbc").items():
        monkeypatch.setenv(k, v)
    code = main(["bulk", str(tmp_path / "drive"), "--dry-run", "--json", "--journal", str(tmp_path / "j.sqlite")])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    rows = [json.loads(line) for line in out.splitlines() if line.startswith('{"row"')]
    assert [r["reference_id"] for r in rows] == ["bad\udcff", "ok"] and rows[0]["status"] == "invalid"
    assert "is a local file" in rows[0]["message"] and "\udcff" not in rows[0]["message"]  # said, name elided


def test_a_folder_s_names_are_sorted_in_sqlite_as_python_sorts_them(monkeypatch):
    """Folder mode holds no list of every frame's name (issue 24): the names are sorted in a temporary SQLite
    table and read back a page at a time, in exactly Python's order: accents, emoji, and a name's undecodable
    bytes (lone surrogates) included, across page edges."""
    import random

    from playment_submit.core import manifest_folder
    monkeypatch.setattr(manifest_folder, "NAMES_PAGE", 7)
    rng = random.Random(24)
    names = {"".join(rng.choice("abcAZ09_-.é\udce9\U0001f600\uffff") for _ in range(rng.randint(1, 9)))
             for _ in range(400)}
    shuffled = list(names)
    rng.shuffle(shuffled)
    got = manifest_folder.sorted_names(iter(shuffled))
    assert list(got) == sorted(names)
    assert list(manifest_folder.sorted_names(["b", "a", "b"])) == ["a", "b"]  # a name is listed once


def test_a_folder_of_frames_holds_no_list_of_its_names(tmp_path, monkeypatch):
    """The folder's rows come from the sorted table: with sorted() made to refuse a long list, a folder of
    300 frames is still read, in name order."""
    import builtins

    from playment_submit.core.manifest_folder import stream_folder
    (tmp_path / "images").mkdir()
    for i in reversed(range(300)):
        (tmp_path / "images" / f"f{i:04d}.png").write_bytes(b"x")
    real = builtins.sorted

    def small_only(items, *a, **kw):
        out = real(items, *a, **kw)
        assert len(out) < 100, "a list of every frame was sorted in memory"
        return out

    monkeypatch.setattr(builtins, "sorted", small_only)
    _man, rows = stream_folder(tmp_path, workflow_id="2aae1234-acac-1234-eeff-12a22a237bbc")
    assert [r.reference_id for r in rows] == [f"f{i:04d}" for i in range(300)]
