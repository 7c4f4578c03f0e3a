"""The Bulk tab against a real sandbox: open, check, preview, submit, cancel/resume, export; a 100k-row model."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt

pytest.importorskip("pytestqt", reason="pytest-qt drives the widget tests")

from playment_submit.core.client import PlaymentClient, RetryPolicy
from playment_submit.core.journal import Journal
from playment_submit.core.manifest import DONE, SEND, Manifest, ManifestRow
from playment_submit.core.results import RESULT_COLUMNS
from playment_submit.gui.style import status_colour
from playment_submit.gui.widgets.bulk_panel import BulkPanel, BulkRowsModel


def _csv_dicts(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def backend(tmp_path, sandbox):
    client = PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key, pool_size=8,
                            default_batch_id=sandbox.default_batch_id, retry=RetryPolicy(backoff_base=0.01))
    journal = Journal(tmp_path / "journal.sqlite")
    yield SimpleNamespace(client=client, journal=journal, storage=None, can_upload=False,
                          connection=SimpleNamespace(workflow_id=sandbox.workflow_id))
    journal.close()
    client.close()


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
    assert panel.model.status(0) == "created" and panel.model.status(4) == "invalid"
    assert panel.model.data(panel.model.index(0, 2), Qt.ForegroundRole).color() == status_colour("ok")
    assert panel.model.data(panel.model.index(4, 2), Qt.ForegroundRole).color() == status_colour("error")
    assert panel.model.rows[0].action == DONE and panel.model.rows[0].job_id  # core.results' rule applied
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
    backend.client = PlaymentClient(slow.base_url, slow.project_id, slow.api_key, pool_size=2,
                                    default_batch_id=slow.default_batch_id)
    backend.connection.workflow_id = slow.workflow_id
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
    backend.client.close()


def test_model_with_100k_rows_is_cheap(qtbot):
    rows = [ManifestRow(row=i + 2, reference_id=f"r{i}", action=SEND) for i in range(100_000)]
    model = BulkRowsModel()
    model.set_manifest(Manifest(source="big.csv", base_dir=None, rows=rows))
    assert model.rowCount() == 100_000
    assert model.data(model.index(99_999, 1)) == "r99999"
    assert model.data(model.index(99_999, 2)) == "ready"
    changed = []
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
    for i in (10, 500, 99_000):
        model.queue_result(i + 2, "created", f"job-{i}", "")
    model.flush()
    assert changed == [(10, 99_000)]  # one signal for the batch, not one per row
    assert model.data(model.index(500, 3)) == "job-500"
