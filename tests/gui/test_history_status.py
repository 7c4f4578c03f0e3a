"""History's live status: "Refresh status" asks Playment (core.status in a worker), fills the Playment status
column, marks what changed since the last look (bold, "was ..." tooltip), shows the counts, and a new look at
the journal shows the stored statuses without a request."""

from __future__ import annotations

from PySide6.QtCore import Qt

from playment_submit.core.client import PlaymentClient
from playment_submit.gui.widgets.history_panel import CHANGED_ROLE, JOB, LIVE, REF, HistoryPanel


def _journal_jobs(sandbox, journal, refs) -> dict[str, str]:
    """Jobs created on the sandbox and journalled as this app journals them; reference ID -> job ID."""
    out = {}
    with PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key) as c:
        for ref in refs:
            job = {"reference_id": ref, "work_flow_id": sandbox.workflow_id,
                   "data": {"image_url": "https://example.com/a.png"}}
            journal.mark_sending(ref, job)
            out[ref] = c.create_job(job).job_id
            journal.mark_created(ref, out[ref])
    return out


def _row(panel, ref) -> int:
    return next(r for r in range(panel.rowCount()) if panel.item(r, REF).text() == ref)


def _refresh(qtbot, window) -> None:
    qtbot.mouseClick(window.history.refresh_status, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.remote.status_worker is None and window.history.refresh_status.isEnabled(),
                    timeout=15000)


def test_refresh_status_fills_the_column_and_marks_changes(qtbot, window, sandbox, tmp_path):
    jobs = _journal_jobs(sandbox, window.session.journal, ["frame-1", "frame-2"])
    window.tabs.setCurrentWidget(window.history)
    h = window.history
    qtbot.waitUntil(lambda: h.rowCount() == 2)
    assert h.table.isColumnHidden(LIVE)  # nothing known yet
    _refresh(qtbot, window)
    assert not h.table.isColumnHidden(LIVE)
    assert {h.item(r, REF).text(): h.item(r, LIVE).text() for r in range(2)} == {"frame-1": "created",
                                                                               "frame-2": "created"}
    assert h.item(0, LIVE).font().bold() and "first status" in h.item(0, LIVE).toolTip()  # never looked before
    assert "2 job(s): 2 created; 2 changed" in h.status_summary.text()

    sandbox.complete_jobs([jobs["frame-2"]])
    _refresh(qtbot, window)
    done, same = _row(h, "frame-2"), _row(h, "frame-1")
    assert h.item(done, LIVE).text() == "completed" and h.item(done, LIVE).font().bold()
    assert h.item(done, LIVE).data(CHANGED_ROLE) is True and "was created" in h.item(done, LIVE).toolTip()
    assert h.item(same, LIVE).text() == "created" and not h.item(same, LIVE).font().bold()
    assert "1 completed" in h.status_summary.text() and "1 changed since the last look" in h.status_summary.text()
    seen = window.session.journal.remote_statuses()
    assert all(not rs.changed_since_seen for rs in seen.values())  # shown, so no longer news

    # Another look at the same journal (the next start): the stored statuses, with no request to Playment.
    asked = dict(sandbox.stats())
    fresh = HistoryPanel(window.session.journal)
    qtbot.addWidget(fresh)
    assert not fresh.table.isColumnHidden(LIVE)
    assert fresh.item(_row(fresh, "frame-2"), LIVE).text() == "completed"
    assert fresh.item(_row(fresh, "frame-2"), JOB).text() == jobs["frame-2"]
    assert not fresh.item(_row(fresh, "frame-2"), LIVE).font().bold()
    assert sandbox.stats() == asked


def test_refresh_status_without_a_key_is_a_sentence(qtbot, window, sandbox):
    _journal_jobs(sandbox, window.session.journal, ["frame-1"])
    window.tabs.setCurrentWidget(window.history)
    window.session.api_key = None
    qtbot.mouseClick(window.history.refresh_status, Qt.MouseButton.LeftButton)
    text = window.history.status_summary.text()
    assert text.startswith("Statuses not read: No API key is set") and window.remote.status_worker is None
