"""core.delivered reads a results folder back for the window: typed records (paths, review rows) of the jobs a
folder holds, sanitised and bounded; a damaged or hostile file is a sentence, never a traceback or a hang."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest
from PIL import Image

from playment_submit.core import delivered
from playment_submit.core.delivered import (
    REVIEW_COLUMNS,
    download_results,
    folder_name,
    read_job,
    read_legend,
    scan_results,
)
from playment_submit.core.errors import ValidationError
from playment_submit.core.journal import Journal
from playment_submit.core.review import review_masks
from tests.core.test_results_delivered import put_prelabel, submit_journalled

LEGEND = {"#ff0000": "car", "#00ff00": "road"}


@pytest.fixture
def downloaded(sandbox, tmp_path):
    """A journal with two completed jobs (one sent with a pre-label) downloaded into ``out``."""
    from playment_submit.core.client import PlaymentClient
    put_prelabel(sandbox)
    journal = Journal(tmp_path / "j.sqlite")
    submit_journalled(sandbox, journal, "with-pre")
    submit_journalled(sandbox, journal, "no-pre", prelabel=False)
    sandbox.complete_jobs()
    out = tmp_path / "out"
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key) as client:
        report = download_results(journal, client, out)
    yield journal, client, out, report
    journal.close()


def test_scan_lists_what_the_download_wrote_with_its_review_rows(downloaded):
    journal, _, out, report = downloaded
    found = scan_results(out, journal)
    assert found.problems == [] and found.review_html == out / "review.html"
    by_ref = {j.reference_id: j for j in found.jobs}
    assert set(by_ref) == {"with-pre", "no-pre"} and {j.status for j in found.jobs} == {"on disk"}
    done = {j.reference_id: j for j in report.jobs}
    pre, plain = by_ref["with-pre"], by_ref["no-pre"]
    assert pre.job_id == done["with-pre"].job_id and pre.folder == out / folder_name("with-pre", pre.job_id)
    assert pre.has_prelabel and pre.prelabel is not None and pre.prelabel.is_file()
    for path in (pre.delivered, pre.legend, pre.classes_png, pre.class_names, pre.prelabel_legend):
        assert path is not None and path.is_file(), path
    review = done["with-pre"].review
    assert review is not None
    assert list(pre.classes) == review.classes  # review.csv read back into the very ClassReviews written
    assert pre.changed_share == pytest.approx(review.changed_share, abs=1e-6)
    assert not plain.has_prelabel and plain.prelabel is None and plain.classes == () and plain.changed_share is None
    # The records of the download itself say the same, without reading a file.
    assert {j.job_id: (j.has_prelabel, j.classes) for j in delivered.delivered_jobs(report)} == {
        j.job_id: (j.has_prelabel, j.classes) for j in found.jobs}
    # Without the journal, review.csv still names the job it reviewed.
    assert [j.reference_id for j in scan_results(out).jobs] == ["with-pre"]


def test_read_job_decodes_and_reviews_and_a_damaged_file_is_a_sentence(downloaded):
    journal, _, out, _ = downloaded
    jobs = {j.reference_id: j for j in scan_results(out, journal).jobs}
    masks = read_job(jobs["with-pre"])
    assert masks.review is not None and masks.review.difference is not None
    assert masks.delivered.shape == (60, 80, 4) and masks.review.classes == list(jobs["with-pre"].classes)
    plain = read_job(jobs["no-pre"])
    assert plain.review is None and plain.delivered.shape == (60, 80, 4)

    job = jobs["with-pre"]
    assert job.prelabel_legend is not None
    job.prelabel_legend.write_text('{"#ff0000": "car", "#ff0000": "bus"}', encoding="utf-8")
    with pytest.raises(ValidationError) as e:
        read_job(job)
    text = str(e.value)
    assert text.startswith('The results of "with-pre" in ') and "twice" in text and "download them again" in text
    plain_job = jobs["no-pre"]
    plain_job.delivered.write_bytes(b"\x89PNG\r\n\x1a\n-cut-short")
    with pytest.raises(ValidationError, match=r"no-pre.*delivered.png: cannot be read as a PNG \(not an image"):
        read_job(plain_job)


def test_a_damaged_legend_on_disk_fails_that_job_not_the_whole_download(downloaded):
    """A re-run reviews the jobs already on disk: a legend file broken since was a JSONDecodeError out of
    download_results (the window's whole download failed with Python's words); now that job alone fails."""
    journal, client, out, report = downloaded
    folder = out / folder_name("with-pre", {j.reference_id: j for j in report.jobs}["with-pre"].job_id)
    (folder / "legend.json").write_text("{not json", encoding="utf-8")
    again = download_results(journal, client, out, refresh=False)
    status = {j.reference_id: (j.status, j.message) for j in again.jobs}
    assert status["no-pre"] == ("unchanged", None)
    word, message = status["with-pre"]
    assert word == "failed" and "legend.json" in message and "not valid JSON" in message
    assert "Traceback" not in message


def test_read_legend_refuses_what_is_not_a_legend(tmp_path):
    p = tmp_path / "legend.json"
    with pytest.raises(ValidationError, match="is missing"):
        read_legend(p)
    p.write_text('["#ff0000"]', encoding="utf-8")
    with pytest.raises(ValidationError, match="not an object of colours"):
        read_legend(p)
    p.write_bytes(b'{"#ff0000": "\xff"}')
    with pytest.raises(ValidationError, match="not UTF-8"):
        read_legend(p)
    p.write_text('{"#ff0000": "car\\u001b[31m\\n<b>"}', encoding="utf-8")
    assert read_legend(p) == {"#ff0000": "car <b>"}  # escapes and control characters gone, one line


def _write_folder(out, jobs: dict[str, str | None]) -> None:
    """A results folder as download_results writes it, without a server: job_id -> reference ID."""
    m = np.zeros((8, 10, 4), np.uint8)
    m[2:5, 2:6] = [255, 0, 0, 255]
    d = m.copy()
    d[6:8, 0:4] = [0, 255, 0, 255]
    reviews = []
    for job_id, ref in jobs.items():
        folder = out / folder_name(ref, job_id)
        folder.mkdir(parents=True)
        Image.fromarray(m, "RGBA").save(folder / "prelabel.png")
        Image.fromarray(d, "RGBA").save(folder / "delivered.png")
        for name in ("legend.json", "prelabel_legend.json"):
            (folder / name).write_text('{"#ff0000": "car", "#00ff00": "road"}', encoding="utf-8")
        reviews.append(review_masks(m, LEGEND, d, LEGEND, reference_id=ref, job_id=job_id))
    delivered.write_review_csv(reviews, out / "review.csv")


def test_review_csv_cells_come_back_sanitised_and_formula_guards_undone(tmp_path):
    out = tmp_path / "out"
    _write_folder(out, {"j-1": "=cmd|calc"})
    rows = list(csv.reader((out / "review.csv").open(encoding="utf-8")))
    assert rows[1][0] == "'=cmd|calc"  # written guarded against spreadsheets
    (job,) = scan_results(out).jobs
    assert job.reference_id == "=cmd|calc" and job.job_id == "j-1"
    assert {c.name: c.kind for c in job.classes} == {"car": "kept", "road": "kept"}
    assert job.changed_share == pytest.approx(8 / 80)


@pytest.mark.parametrize("damage, sentence", [
    (lambda p: p.write_text("a,b\n1,2\n", encoding="utf-8"), "does not have the columns"),
    (lambda p: p.write_bytes(b"\xff\xfe" + b"x" * 40), "is not UTF-8"),
    (lambda p: p.write_text(",".join(REVIEW_COLUMNS) + "\n\"" + "x" * 200_000 + "\n", encoding="utf-8"),
     "cannot be read"),
])
def test_a_damaged_review_csv_is_a_sentence(tmp_path, damage, sentence):
    out = tmp_path / "out"
    _write_folder(out, {"j-1": "ref"})
    damage(out / "review.csv")
    found = scan_results(out)
    assert found.jobs == [] and len(found.problems) == 1
    assert sentence in found.problems[0] and str(out / "review.csv") in found.problems[0]


def test_damaged_rows_are_skipped_and_counted(tmp_path):
    out = tmp_path / "out"
    _write_folder(out, {"j-1": "a", "j-2": "b"})
    lines = (out / "review.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",kept,", ",exploded,")
    lines.append("c,j-3,2.5,car,,kept,,1,1,0,0")  # a share outside 0..1
    lines.append("d,j-4,0.1,car,,kept,,1,5,0,0")  # pixel counts that contradict each other
    (out / "review.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = scan_results(out)
    assert found.problems == [f"{out / 'review.csv'}: 3 line(s) are damaged (first: line 2) and were skipped; "
                              f"download the results again to rewrite it."]
    assert {j.job_id: len(j.classes) for j in found.jobs} == {"j-1": 1, "j-2": 2}


def test_a_huge_or_hostile_folder_is_bounded(tmp_path, monkeypatch):
    out = tmp_path / "out"
    _write_folder(out, {f"j-{n}": f"r{n}" for n in range(5)})
    monkeypatch.setattr(delivered, "MAX_LISTED_JOBS", 3)
    found = scan_results(out)
    assert [j.job_id for j in found.jobs] == ["j-0", "j-1", "j-2"]
    assert found.problems == [f"5 jobs are known; only the first 3 are looked for in {out}."]
    monkeypatch.setattr(delivered, "MAX_REVIEW_ROWS", 4)  # 2 lines a job: the first two jobs are read
    found = scan_results(out)
    assert [j.job_id for j in found.jobs] == ["j-0", "j-1"]
    assert found.problems == [f"{out / 'review.csv'} has more than 4 lines; only the first ones are read, so some "
                              f"jobs show no changed share."]
    monkeypatch.setattr(delivered, "MAX_REVIEW_CSV_BYTES", 100)
    found = scan_results(out)
    assert found.jobs == [] and "larger than" in found.problems[0]
    # A job folder whose legend is missing is listed with a sentence (and fails to load with one).
    monkeypatch.setattr(delivered, "MAX_REVIEW_CSV_BYTES", 64 << 20)
    (out / folder_name("r1", "j-1") / "legend.json").unlink()
    job = next(j for j in scan_results(out).jobs if j.job_id == "j-1")
    assert job.message is not None and "legend file is missing" in job.message
    with pytest.raises(ValidationError, match="is missing"):
        read_job(job)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
@pytest.mark.timeout(20)
def test_a_fifo_in_place_of_a_file_is_never_opened(tmp_path):
    """Opening a FIFO blocks until a writer comes: a scan (in the window's worker) would hang for ever."""
    out = tmp_path / "out"
    _write_folder(out, {"j-1": "ref"})
    (out / "review.csv").unlink()
    os.mkfifo(out / "review.csv")
    folder = out / folder_name("ref", "j-1")
    (folder / "legend.json").unlink()
    os.mkfifo(folder / "legend.json")
    assert scan_results(out).jobs == []  # review.csv was the only one naming the job; nothing opened
    job = delivered.DeliveredJob("ref", "j-1", folder, has_prelabel=True)
    with pytest.raises(ValidationError, match="is missing"):
        read_job(job)


def test_a_scan_reads_the_journal_s_first_jobs_not_every_stored_status(tmp_path, monkeypatch):
    """Issue 24: a journal of many jobs is not read whole to look for a bounded number of folders: the scan
    asks SQLite for the first MAX_LISTED_JOBS jobs (by reference ID, then job ID), and the review file's jobs
    by key. It still counts every job it knows."""
    out = tmp_path / "out"
    _write_folder(out, {"j-1": "r1", "j-9": "r9"})  # downloaded (review.csv lists them)
    journal = Journal(tmp_path / "j.sqlite")
    try:
        journal.record_statuses([(f"j-{n}", f"r{n}", None, "completed") for n in range(40)])
        refuse_all = Journal.remote_statuses

        def by_key_only(self, job_ids=None):
            assert job_ids is not None, "every stored status was read"
            return refuse_all(self, job_ids)

        monkeypatch.setattr(Journal, "remote_statuses", by_key_only)
        monkeypatch.setattr(delivered, "MAX_LISTED_JOBS", 12)
        found = scan_results(out, journal)
        # by reference ID: r0, r1, r10..r19 are the first twelve; r9's folder is beyond them
        assert [j.job_id for j in found.jobs] == ["j-1"]
        assert found.problems == [f"40 jobs are known; only the first 12 are looked for in {out}."]
        monkeypatch.setattr(delivered, "MAX_LISTED_JOBS", 100)
        assert [j.job_id for j in scan_results(out, journal).jobs] == ["j-1", "j-9"]
    finally:
        journal.close()
