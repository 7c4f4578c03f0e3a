"""core.results: the one results CSV writer and the rule for what a bulk row can do after a send."""

from __future__ import annotations

import csv
import threading

import pytest

from playment_submit.core.bulk import BulkSubmitter, RowResult
from playment_submit.core.bulk_rows import (
    RESULT_COLUMNS,
    apply_results,
    can_send_again,
    next_action,
    write_results,
)
from playment_submit.core.client import PlaymentClient, RetryPolicy
from playment_submit.core.journal import Journal
from playment_submit.core.manifest import (
    CHANGED,
    DONE,
    INVALID,
    RECONCILE,
    RETRY,
    SEND,
    SENDABLE,
    SKIP_FAILED,
    ManifestRow,
    check_manifest,
    read_csv,
)


def _read(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


# ------------------------------------------------------------------------------------------ writer
def test_write_results_has_the_cli_columns_and_empty_cells_for_none(tmp_path):
    out = write_results(tmp_path / "r.csv", [
        RowResult("a", 2, "created", "job-1"),
        RowResult(None, 3, "invalid", None, "FS_0003", 'image: "ftp://x" is not a URL, "quoted", with commas'),
        RowResult("c", 4, "failed", None, None, "line one\nline two"),
    ])
    assert out == tmp_path / "r.csv"
    rows = _read(out)
    assert tuple(rows[0]) == RESULT_COLUMNS == ("row", "reference_id", "job_id", "status", "error_code", "message")
    assert rows[1] == ["2", "a", "job-1", "created", "", ""]
    assert rows[2] == ["3", "", "", "invalid", "FS_0003", 'image: "ftp://x" is not a URL, "quoted", with commas']
    assert rows[3] == ["4", "c", "", "failed", "", "line one\nline two"]
    assert not (tmp_path / "r.csv.part").exists()


def test_write_results_replaces_the_file_whole_and_keeps_it_when_writing_fails(tmp_path):
    path = tmp_path / "r.csv"
    write_results(path, [RowResult("a", 2, "created", "job-1")])
    write_results(path, [])  # replaced, not appended to
    assert _read(path) == [list(RESULT_COLUMNS)]
    write_results(path, [RowResult("a", 2, "created", "job-1")])
    before = path.read_bytes()

    def broken():
        yield RowResult("b", 3, "created", "job-2")
        raise RuntimeError("the results stopped coming")

    with pytest.raises(RuntimeError):
        write_results(path, broken())
    assert path.read_bytes() == before  # a reader never sees half a file
    assert not (tmp_path / "r.csv.part").exists()


def test_write_results_to_a_missing_folder_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        write_results(tmp_path / "no" / "such" / "r.csv", [RowResult("a", 2, "created", "job-1")])


def test_write_results_is_utf8(tmp_path):
    path = write_results(tmp_path / "r.csv", [RowResult("café-δ", 2, "failed", message="Ünïcode — ok")])
    assert _read(path)[1][1:] == ["café-δ", "", "failed", "", "Ünïcode — ok"]
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and "café-δ".encode() in raw  # UTF-8, no BOM


# ------------------------------------------------------------------------------------ next action
@pytest.mark.parametrize("status", ["created", "recovered", "skipped"])
@pytest.mark.parametrize("action", [SEND, RECONCILE, RETRY, DONE])
def test_created_rows_are_done(status, action):
    assert next_action(status, action) == DONE
    assert not can_send_again(status, action)


@pytest.mark.parametrize("action", [SEND, RECONCILE, RETRY])
def test_ambiguous_rows_are_reconciled_on_the_next_send(action):
    assert next_action("ambiguous", action) == RECONCILE
    assert can_send_again("ambiguous", action)


@pytest.mark.parametrize("action", [SEND, RECONCILE, RETRY])
def test_failed_rows_are_sent_again_only_when_asked(action):
    assert next_action("failed", action) == SKIP_FAILED and not can_send_again("failed", action)
    assert next_action("failed", action, retry_failed=True) == RETRY
    assert can_send_again("failed", action, retry_failed=True)


@pytest.mark.parametrize("status, action", [("not_sent", SEND), ("not_sent", RECONCILE), ("not_sent", RETRY),
                                            ("not_sent", SKIP_FAILED), ("invalid", INVALID),
                                            ("changed", CHANGED), ("some-new-status", SEND)])
def test_other_statuses_leave_the_row_as_it_was(status, action):
    assert next_action(status, action) == action
    assert can_send_again(status, action) == (action in SENDABLE)


def test_apply_results_sets_action_and_job_id_in_place():
    rows = [ManifestRow(row=i + 2, reference_id=f"r{i}", action=a)
            for i, a in enumerate((SEND, SEND, SEND, RECONCILE, SKIP_FAILED, INVALID))]
    rows[5].job_id = None
    results = [RowResult("r0", 2, "created", "job-0"), RowResult("r1", 3, "failed", None, "FS_0007", "missing"),
               RowResult("r2", 4, "not_sent", message="Cancelled before it was sent."),
               RowResult("r3", 5, "ambiguous", None, None, "timed out"),
               RowResult("r4", 6, "not_sent"), RowResult("r5", 7, "invalid", None, "FS_0003", "bad")]
    apply_results(rows, results)
    assert [r.action for r in rows] == [DONE, SKIP_FAILED, SEND, RECONCILE, SKIP_FAILED, INVALID]
    assert rows[0].job_id == "job-0" and rows[1].job_id is None


def test_apply_results_keeps_a_known_job_id_and_refuses_a_different_count():
    row = ManifestRow(row=2, reference_id="r", action=CHANGED, job_id="job-old")
    apply_results([row], [RowResult("r", 2, "changed", None, "changed", "Changed since it was created")])
    assert row.job_id == "job-old" and row.action == CHANGED
    with pytest.raises(ValueError):
        apply_results([row], [])
    assert row.action == CHANGED


# ----------------------------------------------------- agrees with what a fresh check of the journal says
def test_next_action_agrees_with_a_fresh_check_of_the_journal(tmp_path, sandbox):
    """After a real send, the rule gives every row the action a later check_manifest gives it."""
    path = tmp_path / "m.csv"
    missing = sandbox.file_url("nope.png")  # the sandbox refuses it (FS_0007): a failed row
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("reference_id,image\n")
        for i in range(6):
            fh.write(f"r{i},{missing if i % 3 == 0 else f'https://example.com/{i}.png'}\n")
        fh.write("bad,ftp://example.com/x.png\n")
    journal = Journal(tmp_path / "j.sqlite")
    client = PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key, pool_size=2,
                            default_batch_id=sandbox.default_batch_id, retry=RetryPolicy(backoff_base=0.01))
    try:
        for retry_failed in (False, True):
            man = check_manifest(read_csv(path, workflow_id=sandbox.workflow_id), journal=journal,
                                 retry_failed=retry_failed)
            summary = BulkSubmitter(client, journal, concurrency=2).run(man.rows)
            apply_results(man.rows, summary.results, retry_failed=retry_failed)
            fresh = check_manifest(read_csv(path, workflow_id=sandbox.workflow_id), journal=journal,
                                   retry_failed=retry_failed)
            assert [r.action for r in man.rows] == [r.action for r in fresh.rows]
            assert [r.job_id for r in man.rows] == [r.job_id for r in fresh.rows]
        assert {r.status for r in summary.results} >= {"failed", "skipped", "invalid"}
    finally:
        journal.close()
        client.close()


def test_row_details_say_each_sentence_once():
    """Issue 23 item 10: an invalid row's result repeats its first problem; the details say it once."""
    from playment_submit.core.bulk import RowResult
    from playment_submit.core.bulk_rows import row_details
    from playment_submit.core.errors import Problem
    from playment_submit.core.job import JobSpec
    from playment_submit.core.manifest import ManifestRow
    problem = Problem("data.image_url", "the primary image URL \"htp:/x\" is not a URL; use https://...")
    row = ManifestRow(row=3, reference_id="r3", spec=JobSpec("r3", "w", "htp:/x"), problems=[problem, problem])
    text = row_details(row, RowResult("r3", 3, "invalid", message=problem.text("gui")))
    assert text.count("is not a URL") == 1, text
    assert "Result: " in text


def test_the_view_sorts_by_status_group_then_word_and_by_reference_id_with_none_last():
    """core.bulk_view's order (the Bulk tab's sorts and filters, read from the row store a page at a time)."""
    from playment_submit.core import bulk_view
    from playment_submit.core.bulk_view import RowView
    from playment_submit.core.row_store import RowStore
    actions = [DONE, INVALID, SEND, RECONCILE, SKIP_FAILED]
    rows = [ManifestRow(row=i + 2, reference_id=ref, action=action)
            for i, (ref, action) in enumerate(zip(["b", None, "a", "c", "d"], actions, strict=True))]
    store = RowStore(by_ref=True)
    store.add_rows(rows)
    view = RowView(store)
    scan = bulk_view.SCAN
    try:
        bulk_view.SCAN = 2  # pages of two rows: every keyset edge is crossed
        assert view.order("all", "row", False) == (None, None)  # nothing to hold
        order, inverse = view.order("all", "row", True)
        assert list(order) == [4, 3, 2, 1, 0] and list(inverse) == [4, 3, 2, 1, 0]
        # problems (error, failed before: by their words), then still to send (ready, to check again), then done
        assert list(view.order("all", "status", False)[0]) == [1, 4, 2, 3, 0]
        assert list(view.order("all", "reference_id", False)[0]) == [2, 0, 3, 4, 1]
        assert list(view.order("all", "reference_id", True)[0]) == [1, 4, 3, 0, 2]
        order, inverse = view.order("sent", "reference_id", False)
        assert list(order) == [0] and list(inverse) == [0, -1, -1, -1, -1]
        assert list(view.order("problems", "row", False)[0]) == [1, 4]
        cancel = threading.Event()
        cancel.set()
        assert list(view.order("all", "row", True, cancel)[0]) == []  # a superseded walk stops
    finally:
        bulk_view.SCAN = scan
        store.close()

