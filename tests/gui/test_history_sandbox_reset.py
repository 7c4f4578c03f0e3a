"""Issue 23 item 8: File > Reset sandbox… empties the embedded sandbox and its History; enabled only in sandbox mode."""

from __future__ import annotations

from PySide6.QtGui import QAction

from playment_submit.gui import window_actions


def test_reset_sandbox_empties_jobs_and_history(window, sandbox, monkeypatch):
    created = window.session.client.create_job({"reference_id": "r-1", "work_flow_id": sandbox.workflow_id,
                                                "data": {"image_url": "https://example.com/a.png"}})
    window.session.journal.mark_created("r-1", created.job_id)
    window.history.refresh()
    assert window.history.rowCount() == 1 and len(sandbox.jobs()) == 1
    action = window.findChild(QAction, "resetSandboxAction")
    assert action is not None and action.isEnabled()
    monkeypatch.setattr(window_actions, "confirm_reset", lambda _w: False)
    action.trigger()
    assert len(sandbox.jobs()) == 1  # declined: nothing removed
    monkeypatch.setattr(window_actions, "confirm_reset", lambda _w: True)
    action.trigger()
    assert sandbox.jobs() == [] and window.history.rowCount() == 0
    assert window.session.journal.entry_count() == 0
