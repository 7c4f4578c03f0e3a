"""The Bulk tab against a real sandbox: open, check, preview, submit, cancel/resume, export; a 100k-row model."""

from __future__ import annotations

import csv
import json

import pytest
from PySide6.QtCore import QPoint, Qt

pytest.importorskip("pytestqt", reason="pytest-qt drives the widget tests")

from playment_submit.core.bulk_rows import RESULT_COLUMNS
from playment_submit.core.client import RetryPolicy
from playment_submit.core.journal import Journal
from playment_submit.core.manifest import DONE, SEND, ManifestRow
from playment_submit.core.session import Session
from playment_submit.gui.style import status_colour
from playment_submit.gui.widgets.bulk_panel import BulkPanel
from playment_submit.gui.widgets.bulk_table import BulkRowsModel


def _csv_dicts(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def backend(tmp_path, sandbox):
    """A session on the sandbox with no storage (local paths are row errors), its own journal."""
    session = Session(sandbox.base_url, sandbox.project_id, sandbox.workflow_id, sandbox.api_key,
                      default_batch_id=sandbox.default_batch_id, journal=Journal(tmp_path / "journal.sqlite"),
                      pool_size=8, retry=RetryPolicy(backoff_base=0.01))
    yield session
    session.close()


def _manifest(tmp_path, n, bad_rows=()):
    path = tmp_path / "m.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("reference_id,image\n")
        for i in range(n):
            url = "ftp://example.com/x.png" if i in bad_rows else f"https://example.com/{i}.png"
            fh.write(f"r{i:03d},{url}\n")
    return str(path)


def _open(qtbot, panel, path):
    with qtbot.waitSignal(panel.manifest_checked, timeout=20000) as checked:
        panel.open_path(path)
    assert checked.args[0] is panel.manifest


def _filter(qtbot, panel, name):
    """Choose a filter and wait for its rows (found in a worker, except "all")."""
    with qtbot.waitSignal(panel.proxy.filtered, timeout=10000, check_params_cb=lambda n: n == name):
        panel.set_filter(name)


def test_open_preview_submit_export(qtbot, tmp_path, sandbox, backend):
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    _open(qtbot, panel, _manifest(tmp_path, 30, bad_rows={4}))
    assert panel.model.rowCount() == 30
    assert panel.model.status(4) == "error" and panel.model.status(0) == "ready"
    assert "30 rows, 29 to send, 1 with errors" in panel.counts.text()
    assert panel.submit_button.isEnabled()
    before = _csv_dicts(panel.export_results(tmp_path / "before.csv"))
    assert [r["status"] for r in before[3:6]] == ["not_sent", "invalid", "not_sent"]  # the CLI's words
    assert "ftp" in before[4]["message"] and not (tmp_path / "before.csv.part").exists()

    panel.table.selectRow(4)
    assert "ftp" in panel.preview.toPlainText() and "Error:" in panel.preview.toPlainText()
    panel.table.selectRow(0)
    assert json.loads(panel.preview.toPlainText())["reference_id"] == "r000"

    with qtbot.waitSignal(panel.submission_finished, timeout=30000) as finished:
        worker = panel.submit()
        assert worker is not None and not panel.submit_button.isEnabled()
    assert finished.args[0] is panel.summary and panel.summary.ok is False  # one row was invalid
    assert len(sandbox.jobs()) == 29
    assert panel.model.status(0) == "created" and panel.model.status(4) == "error"  # plain words
    assert panel.model.data(panel.model.index(0, 2), Qt.ForegroundRole).color() == status_colour("ok")
    assert panel.model.data(panel.model.index(4, 2), Qt.ForegroundRole).color() == status_colour("error")
    first = panel.row_at(0)[0]
    assert first.action == DONE and first.job_id  # core.bulk_rows.next_action, applied in the store
    assert panel.progress.value() == 29
    assert "29 created" in panel.counts.text()
    assert not panel.submit_button.isEnabled()  # nothing left to send

    out = panel.export_results(tmp_path / "results.csv")
    with open(out, encoding="utf-8") as f:
        assert tuple(next(csv.reader(f))) == RESULT_COLUMNS
    rows = _csv_dicts(out)
    assert len(rows) == 30
    server = {j["reference_id"]: j["job_id"] for j in sandbox.jobs()}
    assert all(r["job_id"] == server[r["reference_id"]] for r in rows if r["status"] == "created")
    assert rows[4]["status"] == "invalid" and "ftp" in rows[4]["message"]
    assert backend.journal.counts()["created"] == 29


def test_cancel_then_submit_again_finishes_exactly_once(qtbot, tmp_path, make_sandbox, backend):
    slow = make_sandbox(latency_ms=30)
    backend.apply_connection(slow.base_url, slow.project_id, slow.workflow_id, slow.api_key)
    backend.default_batch_id = slow.default_batch_id
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    panel.concurrency.setValue(2)
    _open(qtbot, panel, _manifest(tmp_path, 120))
    worker = panel.submit()
    qtbot.waitUntil(lambda: len(slow.jobs()) >= 5, timeout=10000)
    panel.cancel()
    with qtbot.waitSignal(worker.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=5000)
    assert panel.summary.cancelled
    assert backend.journal.counts()["sending"] == 0
    first = len(slow.jobs())
    assert first < 120 and panel.submit_button.isEnabled()
    worker = panel.submit()
    with qtbot.waitSignal(worker.finished, timeout=60000):
        pass
    refs = [j["reference_id"] for j in slow.jobs()]
    assert len(refs) == len(set(refs)) == 120


def _slow_backend(make_sandbox, backend, latency_ms=40, workers=2):
    slow = make_sandbox(latency_ms=latency_ms)
    backend.apply_connection(slow.base_url, slow.project_id, slow.workflow_id, slow.api_key)
    backend.default_batch_id = slow.default_batch_id
    return slow


def test_pause_freezes_counters_rate_and_eta_while_in_flight_rows_finish(qtbot, tmp_path, make_sandbox, backend):
    slow = _slow_backend(make_sandbox, backend)
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    panel.concurrency.setValue(2)
    _open(qtbot, panel, _manifest(tmp_path, 80))
    worker = panel.submit()
    qtbot.waitUntil(lambda: len(slow.jobs()) >= 6, timeout=10000)
    at_pause = len(slow.jobs())
    panel.toggle_pause()
    assert panel.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: panel.counts.text().endswith("Paused."), timeout=10000)  # in-flight rows finished
    frozen = panel.counts.text()
    qtbot.wait(700)  # queued rows would start, and rate and ETA would drift, within this time
    assert panel.counts.text() == frozen
    assert len(slow.jobs()) - at_pause <= 2  # only the two rows in flight finished
    panel.toggle_pause()
    with qtbot.waitSignal(worker.finished, timeout=60000):
        pass
    assert len(slow.jobs()) == 80 and panel.summary.ok


def test_cancelled_rows_stay_ready_and_failed_rows_can_be_retried(qtbot, tmp_path, make_sandbox, backend):
    slow = _slow_backend(make_sandbox, backend, latency_ms=30)
    path = _manifest(tmp_path, 40)
    backend.journal.mark_sending("r039", {"reference_id": "r039"})
    backend.journal.mark_failed("r039", "FS_0003", "Playment refused the job.")
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    panel.concurrency.setValue(2)
    _open(qtbot, panel, path)
    assert panel.model.status(39) == "failed before" and panel.retry_button.isEnabled()
    message = panel.model.data(panel.model.index(39, 4))
    assert "Retry failed" in message and "--retry-failed" not in message  # the window's words
    worker = panel.submit()
    qtbot.waitUntil(lambda: len(slow.jobs()) >= 4, timeout=10000)
    panel.cancel()
    with qtbot.waitSignal(worker.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: panel.is_idle(), timeout=5000)
    made = len(slow.jobs())
    unsent = [i for i in range(39) if panel.model.code(i) != "created"]
    assert unsent and all(panel.model.code(i) == "not_sent" for i in unsent)
    assert all(panel.model.status(i) == "not sent" for i in unsent)  # not "failed"
    assert all(panel.row_at(i)[0].action == SEND for i in unsent)
    assert backend.journal.counts().get("failed", 0) == 1  # only the row that failed before the run
    assert panel.submit_button.isEnabled() and "Submit again" in panel.counts.text()
    with qtbot.waitSignal(panel.submission_finished, timeout=60000):
        panel.submit()
    assert len(slow.jobs()) == 39 and made < 39
    # the row that failed in an earlier run: Retry failed sends it (never twice)
    assert panel.retry_button.isEnabled()
    with qtbot.waitSignal(panel.submission_finished, timeout=30000):
        assert panel.retry_failed() is not None
    refs = [j["reference_id"] for j in slow.jobs()]
    assert len(refs) == len(set(refs)) == 40
    assert panel.model.status(39) == "created" and not panel.retry_button.isEnabled()


def test_filter_dry_run_open_row_and_recheck(qtbot, tmp_path, sandbox, backend):
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    path = _manifest(tmp_path, 12, bad_rows={4})
    _open(qtbot, panel, path)
    _filter(qtbot, panel, "problems")
    assert panel.proxy.rowCount() == 1
    assert panel.proxy.index(0, 1).data() == "r004"
    assert panel.filter_box.currentData() == "problems"
    _filter(qtbot, panel, "sent")
    assert panel.proxy.rowCount() == 0
    _filter(qtbot, panel, "all")
    assert panel.proxy.rowCount() == 12

    posts = sandbox.stats().get("POST jobs", 0)
    with qtbot.waitSignal(panel.dry_run().returned, timeout=10000) as done:  # made in a worker
        pass
    text = done.args[0]
    assert panel.is_idle()
    assert text.startswith("Dry run: 11 row(s) would be sent") and "Nothing was uploaded or sent" in text
    assert panel.counts.text() == text and panel.model.status(0) == "would be sent"
    assert sandbox.jobs() == [] and sandbox.stats().get("POST jobs", 0) == posts

    # open one row in the Job tab: the row as a job draft (payload JSON)
    _filter(qtbot, panel, "problems")
    panel.table.selectRow(0)
    assert panel.open_row_button.isEnabled()
    with qtbot.waitSignal(panel.openRowRequested, timeout=2000) as opened:
        qtbot.mouseClick(panel.open_row_button, Qt.MouseButton.LeftButton)
    draft = opened.args[0]
    assert draft["reference_id"] == "r004" and draft["data"]["image_url"] == "ftp://example.com/x.png"

    # fix the file, then re-check: the row is ready
    from pathlib import Path
    text = Path(path).read_text(encoding="utf-8")
    Path(path).write_text(text.replace("ftp://example.com/x.png", "https://example.com/4.png"), encoding="utf-8")
    assert panel.recheck_button.isEnabled()
    with qtbot.waitSignals([panel.manifest_checked, panel.proxy.filtered], timeout=20000):
        panel.recheck()
    assert panel.model.status(4) == "ready" and panel.proxy.rowCount() == 0  # the filter still shows problems
    assert panel.filter_box.currentData() == "problems"


def test_nothing_clipped_at_1024_by_700(qtbot, tmp_path, sandbox, backend):
    from PySide6.QtWidgets import QPushButton
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    panel.resize(1000, 620)  # the tab's share of a 1024 x 700 window
    panel.show()
    _open(qtbot, panel, _manifest(tmp_path, 5, bad_rows={1}))
    qtbot.waitUntil(panel.isVisible)
    for b in panel.findChildren(QPushButton):
        assert b.width() >= b.sizeHint().width(), b.text()
    viewport = panel.table.viewport().width()
    assert panel.table.columnViewportPosition(4) + 150 <= viewport  # the Message column is on screen


def test_the_model_reads_100k_rows_a_page_at_a_time_and_keeps_a_few_pages(qtbot):
    """Issue 24: the table holds no row of its own; it reads the pages on screen from the run's row store and
    keeps at most PAGES_KEPT of them, however many rows it scrolls over."""
    from playment_submit.core.bulk import RowResult
    from playment_submit.core.bulk_view import VIEW_PAGE, RowView
    from playment_submit.core.row_store import RowStore
    from playment_submit.gui.widgets.bulk_table import PAGES_KEPT
    store = RowStore()
    try:
        for start in range(0, 100_000, 5000):
            store.add_rows([ManifestRow(row=i + 2, reference_id=f"r{i}", action=DONE, job_id=f"old-{i}")
                            for i in range(start, start + 5000)], payloads=False)
        view = RowView(store)
        model = BulkRowsModel()
        model.set_view(view)
        assert model.rowCount() == 100_000
        assert model.data(model.index(99_999, 1)) == "r99999"
        assert model.data(model.index(99_999, 2)) == "already created"
        reads = []
        real = view.page
        view.page = lambda start, size=VIEW_PAGE, wait=None: reads.append(start) or real(start, size, wait=wait)
        model.refresh()
        for i in range(0, 100_000, 97):  # scroll over every page
            assert model.data(model.index(i, 0)) == i + 2
        assert len(model._pages) <= PAGES_KEPT and reads == list(range(0, 100_000, VIEW_PAGE))
        # a send's results: recorded in the store (as the send does), then taken from its feed in one batch
        view.mode = "sent"
        changed = []
        model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
        events = []
        for i in (10, 500, 99_000):
            store.record(RowResult(f"r{i}", i + 2, "created", f"job-{i}"))
            events += [("start", i + 2), ("result", RowResult(f"r{i}", i + 2, "created", f"job-{i}"))]
        events.append(("start", 7))  # row 7 (position 5) is in flight: shown so until its result comes
        model.take_events(events)
        model.flush()
        assert changed == [(0, 99_999)]  # one signal for the batch, not one per row
        # the store has not written their group yet: the feed's results are shown over the pages
        assert model.data(model.index(500, 3)) == "job-500" and model.code(500) == "created"
        assert model.code(5) == "in_flight" and model.data(model.index(6, 3)) == "old-6"
        store.flush()  # the group is written: the pages say the results themselves, the overlay lets them go
        model.take_events([("start", 9)])
        model.flush()
        assert [model.code(i) for i in (10, 500, 99_000)] == ["created"] * 3
        assert model.data(model.index(500, 3)) == "job-500"
        assert model._live == {7: ("in_flight", "", ""), 9: ("in_flight", "", "")}  # only the rows in flight
    finally:
        store.close()


def test_cancel_leaves_rows_in_flight_sending_until_they_end_created_and_pause_counts_them(
        qtbot, tmp_path, make_sandbox, backend):
    """Issue 23 item 5: the rows whose request left when Cancel was pressed are not "Cancelled before it was
    sent": they stay in flight and end created; only rows never started are not sent. While paused with a
    row still in flight, the line counts it."""
    slow = _slow_backend(make_sandbox, backend, latency_ms=1500)
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    panel.concurrency.setValue(2)
    _open(qtbot, panel, _manifest(tmp_path, 10))
    worker = panel.submit()
    qtbot.waitUntil(lambda: panel.run is not None and panel.run.in_flight() == 2, timeout=10000)
    panel.toggle_pause()
    qtbot.waitUntil(lambda: "Pausing: 2 in flight finishing" in panel.counts.text(), timeout=1000)
    panel.cancel()
    qtbot.wait(300)
    panel.model.flush()
    in_flight = [i for i in range(panel.model.rowCount()) if panel.model.code(i) == "in_flight"]
    assert len(in_flight) == 2
    with qtbot.waitSignal(worker.finished, timeout=30000):
        pass
    panel.model.flush()
    assert [panel.model.code(i) for i in in_flight] == ["created", "created"]
    others = {panel.model.code(i) for i in range(panel.model.rowCount()) if i not in in_flight}
    assert others == {"not_sent"} and len(slow.jobs()) == 2


def _walked_only_in_workers(panel) -> None:
    """The run's row store, refusing to be walked on the GUI thread (issue 24: nothing that grows with the rows
    runs there): the GUI thread may read one page of the table or one row, nothing more."""
    import threading

    from playment_submit.core.bulk_view import VIEW_PAGE
    store = panel.run.store

    def guard(name):
        real = getattr(store, name)

        def checked(*args, **kw):
            if threading.current_thread() is threading.main_thread():
                assert name == "read", f"store.{name} ran on the GUI thread"
                sql, values = args[0], tuple(args[1])
                assert sql.endswith("WHERE pos = ?") or (sql.endswith("LIMIT ?") and values[-1] <= VIEW_PAGE), sql
            return real(*args, **kw)

        setattr(store, name, checked)

    for name in ("read", "results", "sendable", "actions", "statuses", "mark_retry", "apply_next_actions",
                 "reset_for_send", "mark_unsent", "add_rows"):
        guard(name)


def test_dry_run_send_and_retry_walk_no_row_on_the_gui_thread(qtbot, tmp_path, sandbox, backend):
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    path = _manifest(tmp_path, 20, bad_rows={3})
    with Journal(backend.journal.path) as journal:  # a row that failed in an earlier run: Retry failed sends it
        journal.mark_sending("r005", {"reference_id": "r005"})
        journal.mark_failed("r005", "GE_0001", "refused earlier")
    _open(qtbot, panel, path)
    _walked_only_in_workers(panel)
    panel._set_busy(None)  # what may be sent and retried comes from core's tally
    assert panel.submit_button.isEnabled() and panel.retry_button.isEnabled()
    with qtbot.waitSignal(panel.dry_run().returned, timeout=10000):
        pass
    assert panel.model.status(0) == "would be sent" and sandbox.jobs() == []
    with qtbot.waitSignal(panel.submission_finished, timeout=30000):
        panel.submit()
    assert len(sandbox.jobs()) == 18 and panel.model.status(0) == "created" and panel.progress.value() == 18
    with qtbot.waitSignal(panel.dry_run().returned, timeout=10000):  # after a send: nothing sent, bar at 0
        pass
    assert panel.progress.value() == 0
    assert panel.run.tally.get(DONE) == 18 and not panel.submit_button.isEnabled()
    with qtbot.waitSignal(panel.submission_finished, timeout=30000):
        assert panel.retry_failed() is not None
    assert len(sandbox.jobs()) == 19 and panel.model.status(5) == "created"
    assert not panel.retry_button.isEnabled()
    _filter(qtbot, panel, "sent")  # found in a worker too
    assert panel.proxy.rowCount() == 19
    _filter(qtbot, panel, "problems")
    # r003's error; r005's warning from the check ("failed in an earlier run") went when the retry created it
    assert [panel.proxy.index(i, 1).data() for i in range(panel.proxy.rowCount())] == ["r003"]
    panel.table.selectRow(0)
    with qtbot.waitSignal(panel.proxy.filtered, timeout=10000):
        panel.proxy.refilter()  # as every few seconds while sending: the selected row stays selected
    assert panel.selected_row() is not None and panel.selected_row().reference_id == "r003"


def test_the_header_sorts_by_row_status_or_reference_id_in_a_worker_keeping_the_filter(qtbot, tmp_path, backend):
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    path = tmp_path / "m.csv"
    refs = ["delta", "alpha", "charlie", "bravo", "echo"]
    path.write_text("reference_id,image\n" + "".join(
        f"{r},{'ftp' if r in ('charlie', 'echo') else 'https'}://example.com/{r}.png\n" for r in refs),
        encoding="utf-8")
    _open(qtbot, panel, str(path))
    _walked_only_in_workers(panel)
    header = panel.table.horizontalHeader()

    def shown(column=1):
        return [panel.proxy.index(i, column).data() for i in range(panel.proxy.rowCount())]

    def click(section):
        with qtbot.waitSignal(panel.proxy.filtered, timeout=10000):
            qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                             pos=QPoint(header.sectionViewportPosition(section) + 5, 5))

    click(1)  # Reference ID
    assert shown() == sorted(refs) and header.sortIndicatorSection() == 1
    click(1)  # again: the other way
    assert shown() == sorted(refs, reverse=True)
    click(2)  # Status: problems (errors) first
    assert shown(2)[:2] == ["error", "error"] and set(shown()[:2]) == {"charlie", "echo"}
    assert shown(2)[2:] == ["ready"] * 3
    panel.table.selectRow(0)
    selected = panel.selected_row().reference_id
    _filter(qtbot, panel, "problems")  # the sort holds under a filter; the selected row stays selected
    assert shown() == ["charlie", "echo"] and panel.selected_row().reference_id == selected
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(4) + 5, 5))
    assert header.sortIndicatorSection() == 2  # the Message column does not sort
    _filter(qtbot, panel, "all")
    click(0)  # Row: ascending, back to row order (no list held)
    assert shown(0) == [2, 3, 4, 5, 6] and panel.proxy._map is None


def test_the_sort_box_sorts_from_the_keyboard_and_follows_the_header(qtbot, tmp_path, backend):
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    path = tmp_path / "m.csv"
    path.write_text("reference_id,image\nb,https://example.com/b.png\nc,ftp://example.com/c.png\n"
                    "a,https://example.com/a.png\n", encoding="utf-8")
    _open(qtbot, panel, str(path))
    after = panel.filter_box.nextInFocusChain()
    while not after.focusPolicy() & Qt.FocusPolicy.TabFocus:  # labels are in the chain; Tab skips them
        after = after.nextInFocusChain()
    assert after is panel.sort_box  # Tab goes from Show to Sort
    panel.sort_box.setFocus()
    with qtbot.waitSignal(panel.proxy.filtered, timeout=10000):
        qtbot.keyClick(panel.sort_box, Qt.Key.Key_Down)  # Row -> Reference ID
    assert [panel.proxy.index(i, 1).data() for i in range(3)] == ["a", "b", "c"]
    assert panel.table.horizontalHeader().sortIndicatorSection() == 1
    with qtbot.waitSignal(panel.proxy.filtered, timeout=10000):
        panel.table.horizontalHeader().setSortIndicator(2, Qt.SortOrder.AscendingOrder)  # a header click
    assert panel.sort_box.currentText() == "Status" and panel.proxy.index(0, 1).data() == "c"
    with qtbot.waitSignal(panel.proxy.filtered, timeout=10000):  # the other way, from the keyboard too
        panel.sort_box.setCurrentIndex(panel.sort_box.findText("Reference ID, Z to A"))
    assert [panel.proxy.index(i, 1).data() for i in range(3)] == ["c", "b", "a"]
    header = panel.table.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (1, Qt.SortOrder.DescendingOrder)
    with qtbot.waitSignal(panel.proxy.filtered, timeout=10000):
        header.setSortIndicator(2, Qt.SortOrder.DescendingOrder)  # a second click on Status
    assert panel.sort_box.currentText() == "Status, done first"


def test_the_check_says_rows_done_and_the_time_left(qtbot, tmp_path, backend):
    from playment_submit.core.bulk_stream import StreamedRun
    from playment_submit.gui.widgets.bulk_work import check_in_worker
    said: list[dict] = []
    run = StreamedRun(backend, _manifest(tmp_path, 50))
    try:
        check_in_worker(run, progress_callback=said.append)
    finally:
        run.close()
    assert said and said[-1]["done"] == said[-1]["total"] == 50 and said[-1]["eta"] == 0
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    panel._on_check_progress({"phase": "rows", "done": 10, "total": 100, "eta": 125.0})
    assert panel.counts.text() == "Checking: 10 of about 100 rows, about 2 min 5 s left…"
    assert panel.progress.value() == 10 and panel.progress.maximum() == 100
    panel._on_check_progress({"phase": "rows", "done": 2000, "total": 0, "eta": None})  # a folder: no total
    assert panel.counts.text() == "Checking: 2,000 rows…" and panel.progress.maximum() == 0


def test_the_tab_holds_no_row_of_a_big_manifest_and_still_filters_sorts_opens_and_retries(qtbot, tmp_path,
                                                                                          sandbox, backend):
    """Issue 24: after opening 3,000 rows, the tab holds no ManifestRow (the rows are in the run's row store,
    the table reads pages of it); the filter, the sort, a row's details and Retry failed work from the store."""
    import gc
    n = 3000
    with Journal(backend.journal.path) as journal:  # the last row failed in an earlier run
        journal.mark_sending(f"r{n - 1:03d}", {"reference_id": f"r{n - 1:03d}"})
        journal.mark_failed(f"r{n - 1:03d}", "GE_0001", "refused earlier")
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    gc.collect()
    before = sum(isinstance(o, ManifestRow) for o in gc.get_objects())
    _open(qtbot, panel, _manifest(tmp_path, n, bad_rows={17, 2000}))
    gc.collect()
    held = sum(isinstance(o, ManifestRow) for o in gc.get_objects()) - before
    assert held <= 10, f"{held} ManifestRows are held after the check"  # the rows tab held them all before
    assert panel.model.rowCount() == n and panel.model.status(n - 1) == "failed before"
    _filter(qtbot, panel, "problems")
    assert [panel.proxy.index(i, 1).data() for i in range(panel.proxy.rowCount())] == ["r017", "r2000", "r2999"]
    panel.table.selectRow(1)
    assert "ftp" in panel.preview.toPlainText() and panel.selected_row().reference_id == "r2000"
    assert panel.open_selected_row()["reference_id"] == "r2000"
    with qtbot.waitSignal(panel.proxy.filtered, timeout=10000):
        panel.sort_box.setCurrentIndex(panel.sort_box.findText("Reference ID"))
    with qtbot.waitSignal(panel.submission_finished, timeout=60000):
        assert panel.retry_failed() is not None  # the failed row is made sendable in the store, then all are sent
    assert len(sandbox.jobs()) == n - 2 and panel.model.status(n - 1) == "created"
    _filter(qtbot, panel, "sent")
    assert panel.proxy.rowCount() == n - 2 and panel.proxy.index(0, 1).data() == "r000"


def test_the_table_never_waits_for_a_busy_store_it_shows_the_last_page_and_reads_again(qtbot):
    """A send's worker may hold the row store for a long statement (the next actions of a million rows): the
    table does not wait for it. It shows the page it read last (nothing, when it has none) and reads it again
    once the store is free."""
    import time

    from playment_submit.core.bulk_view import RowView
    from playment_submit.core.row_store import RowStore
    store = RowStore()
    try:
        store.add_rows([ManifestRow(row=i + 2, reference_id=f"r{i}", action=DONE) for i in range(500)],
                       payloads=False)
        model = BulkRowsModel()
        model.set_view(RowView(store))
        assert model.data(model.index(3, 1)) == "r3"
        store._lock.acquire()  # as a long statement in a worker holds it
        try:
            model.refresh()
            started = time.monotonic()
            assert model.data(model.index(3, 1)) == "r3"  # the page read last
            assert model.data(model.index(300, 1)) is None  # never read: nothing yet
            assert time.monotonic() - started < 0.1
        finally:
            store._lock.release()
        with qtbot.waitSignal(model.dataChanged, timeout=2000):  # asked again a moment later
            pass
        assert model.data(model.index(300, 1)) == "r300"
    finally:
        store.close()


def test_a_folder_opens_in_the_tab_from_the_row_store(qtbot, tmp_path, sandbox, backend):
    """Open folder: the frames are rows in name order, read from the row store like a manifest's; a frame
    missing a camera says so in its details, which show the job it would create."""
    from PIL import Image
    root = tmp_path / "drive"
    for sub in ("images", "left"):
        (root / sub).mkdir(parents=True)
    for name in ("c.png", "a.png", "b.png"):
        Image.new("RGB", (4, 3)).save(root / "images" / name)
        if name != "b.png":
            Image.new("RGB", (4, 3)).save(root / "left" / name)
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    _open(qtbot, panel, str(root))
    assert [panel.model.data(panel.model.index(i, 1)) for i in range(3)] == ["a", "b", "c"]
    assert panel.model.status(0) == "error"  # local files, and this profile has no storage to upload them
    panel.table.selectRow(1)
    assert "Warning: references: no left image named b.png" in panel.preview.toPlainText()
    panel.table.selectRow(2)
    assert '"reference_id": "c"' in panel.preview.toPlainText() and panel.open_row_button.isEnabled()


def test_a_cancelled_check_leaves_nothing_to_send(qtbot, tmp_path, backend):
    """Cancel during the check: the rows read so far (some cut short) are not a manifest to send from. The tab
    says so and Submit stays off; Re-check checks every row."""
    path = _manifest(tmp_path, 30000)
    panel = BulkPanel(backend)
    qtbot.addWidget(panel)
    worker = panel.open_path(path)
    qtbot.waitUntil(lambda: panel.run is not None and panel.run.rows_read > 0, timeout=20000)
    panel.cancel()
    with qtbot.waitSignal(worker.finished, timeout=20000):
        pass
    qtbot.waitUntil(panel.is_idle, timeout=5000)
    assert panel.manifest is None and not panel.submit_button.isEnabled() and not panel.dry_run_button.isEnabled()
    assert panel.counts.text().startswith("The check was cancelled after ") and "Re-check" in panel.counts.text()
    _open(qtbot, panel, path)  # Re-check: every row
    assert panel.model.rowCount() == 30000 and panel.submit_button.isEnabled()
