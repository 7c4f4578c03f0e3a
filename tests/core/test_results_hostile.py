"""Results against hostile servers (issue 21 item 3 and item 10): a delivered mask claiming 13000 x 13000
pixels is refused from its PNG header before decoding, writes nothing and is not recorded as fetched; a mask that
is not an image gives a sentence without Python's object reprs; review.csv guards every cell."""

from __future__ import annotations

import struct
import uuid
import zlib
from urllib.parse import urlsplit

from playment_submit.core.cli import main
from playment_submit.core.delivered import write_review_csv
from playment_submit.core.journal import Journal
from playment_submit.core.review import KINDS, ClassReview, JobReview
from tests.hostile import HostileServer, answer

KEY = "results-hostile-key-0123"
PROJECT = "proj-r"


def huge_png(w: int, h: int) -> bytes:
    """A PNG whose header claims w x h RGBA pixels, with a few compressed rows only (tiny on the wire)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * (w * 4 + 1) * 4)) + chunk(b"IEND", b""))


def _api(result: dict, storage: HostileServer | None = None):
    """An API whose one completed job (reference r-1) has ``result``; its attachments redirect to ``storage``.
    Returns the server, the job ID and its batch."""
    job_id, batch = str(uuid.uuid4()), str(uuid.uuid4())

    def api(server, conn, req):
        path = urlsplit(req.path).path
        if path.endswith("/details"):
            return answer(conn, 200, {"success": True, "data": {"batches": [
                {"id": batch, "name": "B", "is_default": True, "total_jobs": 1}]}})
        if "/batch/" in path:
            return answer(conn, 200, {"success": True, "data": {"id": batch, "next_page_token": None, "jobs": [
                {"id": job_id, "reference_id": "r-1", "status": "completed"}]}})
        if "/jobs/" in path:
            return answer(conn, 200, {"success": True, "data": {"job_id": job_id, "status": "completed",
                                                                "result": result}})
        if "/attachments" in path and storage is not None:
            return answer(conn, 302, b"", headers={"Location": f"{storage.base_url}/m.png?sig=1"}, reason="Found")
        answer(conn, 404, {"success": False, "error": {"code": "NOT_FOUND", "message": "no"}})

    return HostileServer(api), job_id, batch


def serve(mask: bytes):
    storage = HostileServer(lambda s, conn, req: answer(conn, 200, mask))
    api, job_id, batch = _api({"raster": {"data": {"url": "https://private.example/m.png",
                                                   "legend": {"#ff0000": "car"}}}}, storage)
    return api, storage, job_id, batch


def run_results(tmp_path, monkeypatch, capsys, mask: bytes, *extra: str):
    api, storage, job_id, batch = serve(mask)
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.mark_sending("r-1", {"reference_id": "r-1", "batch_id": batch, "work_flow_id": "w",
                                     "data": {"image_url": "https://x/a.jpg"}})
        journal.mark_created("r-1", job_id)
    for k, v in {"PLAYMENT_BASE_URL": api.base_url, "PLAYMENT_API_KEY": KEY, "PLAYMENT_PROJECT_ID": PROJECT}.items():
        monkeypatch.setenv(k, v)
    try:
        code = main(["results", "--journal", str(tmp_path / "j.sqlite"), "-o", str(tmp_path / "out"), *extra])
    finally:
        api.stop()
        storage.stop()
    with Journal(tmp_path / "j.sqlite") as journal:
        fetched = journal.remote_statuses()[job_id].fetched_url
    return code, capsys.readouterr(), fetched


def test_results_refuses_a_huge_mask_from_its_header_writing_nothing(tmp_path, monkeypatch, capsys):
    code, out, fetched = run_results(tmp_path, monkeypatch, capsys, huge_png(13000, 13000))
    assert code == 1
    assert "13,000 x 13,000 pixels (169 megapixels), over the limit of 100 megapixels" in out.err
    assert "--max-megapixels" in out.err and "must be fixed before submitting" not in out.err
    assert not fetched
    assert [p.name for p in (tmp_path / "out").iterdir() if p.is_dir()] == []


def test_results_max_megapixels_lowers_the_limit(tmp_path, monkeypatch, capsys):
    code, out, fetched = run_results(tmp_path, monkeypatch, capsys, huge_png(2000, 1000), "--max-megapixels", "1")
    assert code == 1 and "over the limit of 1 megapixels" in out.err and not fetched


def test_results_says_a_mask_that_is_not_an_image_without_object_reprs(tmp_path, monkeypatch, capsys):
    code, out, fetched = run_results(tmp_path, monkeypatch, capsys,
                                     b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x02garbage")
    assert code == 1 and "delivered mask is not a readable PNG" in out.err
    assert "object at 0x" not in out.err and "must be fixed before submitting" not in out.err and not fetched


def test_review_csv_guards_the_job_id_cell(tmp_path):
    cls = ClassReview(name="car", delivered_name="car", kind=KINDS[0], prelabel_pixels=1, delivered_pixels=1,
                      intersection=1)
    review = JobReview(reference_id="r", job_id="=HYPERLINK(\"http://evil\")", width=1, height=1, classes=[cls],
                       changed_pixels=0)
    path = write_review_csv([review], tmp_path / "review.csv")
    assert "'=HYPERLINK" in path.read_text()


PRE_BOX = {"rectangles": {"data": [{"_id": "a", "label": "car", "coordinates": [
    {"x": 0.1, "y": 0.1}, {"x": 0.2, "y": 0.1}, {"x": 0.2, "y": 0.2}, {"x": 0.1, "y": 0.2}]}]}}


def run_vector_results(tmp_path, monkeypatch, capsys, result):
    api, job_id, batch = _api(result)
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.mark_sending("r-1", {"reference_id": "r-1", "batch_id": batch, "work_flow_id": "w",
                                     "data": {"image_url": "https://x/a.jpg", "maker_response": PRE_BOX}})
        journal.mark_created("r-1", job_id)
    for k, v in {"PLAYMENT_BASE_URL": api.base_url, "PLAYMENT_API_KEY": KEY, "PLAYMENT_PROJECT_ID": PROJECT}.items():
        monkeypatch.setenv(k, v)
    try:
        code = main(["results", "--journal", str(tmp_path / "j.sqlite"), "-o", str(tmp_path / "out")])
    finally:
        api.stop()
    with Journal(tmp_path / "j.sqlite") as journal:
        fetched = journal.remote_statuses()[job_id].fetched_url
    return code, capsys.readouterr(), fetched


def test_results_refuses_too_many_delivered_shapes_writing_nothing(tmp_path, monkeypatch, capsys):
    from playment_submit.core.shapes.delivered import MAX_DELIVERED_SHAPES
    # small entries: a list of full boxes would pass the 8 MiB bound on an answer and be refused by it instead
    code, out, fetched = run_vector_results(tmp_path, monkeypatch, capsys,
                                            {"rectangles": {"data": [{}] * (MAX_DELIVERED_SHAPES + 1)}})
    assert code == 1 and "more than the 100,000" in out.err and "Traceback" not in out.err
    assert not fetched
    assert [p.name for p in (tmp_path / "out").iterdir() if p.is_dir()] == []


def test_results_keeps_malformed_delivered_shapes_as_json_that_reads_back(tmp_path, monkeypatch, capsys):
    from playment_submit.core.shapes.delivered import read_shapes
    junk = {"rectangles": {"data": [1, "x", None, [], {"label": ["a"], "coordinates": "x"},
                                    {"label": "car", "coordinates": [{"x": "a", "y": None}] * 4}]},
            "polygons": {"data": [{"label": "p", "points": {"p1": {"x": 1e308, "y": -1e308}, "p2": "junk"},
                                   "edges": 5}]},
            "landmarks": {"data": [{"label": {"a": 1}, "points": {"p1": {"x": float("nan"), "y": float("inf")}}}]}}
    code, out, fetched = run_vector_results(tmp_path, monkeypatch, capsys, junk)
    assert code == 0, out.err  # NaN was written as NaN: shapes.json did not read back ("download the job again")
    assert "Traceback" not in out.err and fetched
    (folder,) = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    got = read_shapes(folder / "shapes.json")
    assert got["landmarks"]["data"][0]["points"]["p1"] == {"x": None, "y": None}
    assert "review.html" in out.out + out.err
