"""One bulk run (issue 20): the command line and the Bulk tab go through core.bulk_run.BulkRun, so they test
the connection before any row, say the same note about the default batch and the same dry-run sentence.
Before, only the command line tested the connection (the Bulk tab sent every row into a refused key and
marked them failed) and warned about the default batch, and the two dry runs said different things."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from playment_submit.core import cli


def _manifest(folder: Path, n: int = 3) -> Path:
    path = folder / "m.csv"
    lines = ["reference_id,image"] + [f"seq{i},https://example.com/{i}.png" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _env(monkeypatch, sandbox, key: str) -> None:
    for var, value in (("PLAYMENT_BASE_URL", sandbox.base_url), ("PLAYMENT_API_KEY", key),
                       ("PLAYMENT_PROJECT_ID", sandbox.project_id), ("PLAYMENT_WORKFLOW_ID", sandbox.workflow_id)):
        monkeypatch.setenv(var, value)


def _cli(capsys, *argv: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    rc = cli.main(["bulk", *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, [line.removeprefix("error: ").removeprefix("warning: ") for line in err.splitlines()]


def _open(qtbot, panel, path: Path) -> None:
    with qtbot.waitSignal(panel.manifest_checked, timeout=20000):
        panel.open_path(str(path))


def _send(qtbot, panel) -> None:
    worker = panel.submit()
    assert worker is not None
    with qtbot.waitSignal(worker.finished, timeout=30000):
        pass
    qtbot.waitUntil(panel.is_idle, timeout=10000)


@pytest.fixture
def wrong_key_window(make_window):
    def setup(session):
        session.api_key = "not-the-key"
    return make_window(setup=setup)


def test_a_refused_key_stops_both_before_any_row_with_one_sentence(qtbot, wrong_key_window, sandbox, tmp_path,
                                                                   monkeypatch, capsys):
    manifest = _manifest(tmp_path)
    _env(monkeypatch, sandbox, "not-the-key")
    rc, said = _cli(capsys, str(manifest), "--journal", str(tmp_path / "cli.sqlite"))
    sentence = "Playment rejected the API key. Nothing was sent."
    assert rc != 0 and sentence in said, said
    panel = wrong_key_window.bulk
    _open(qtbot, panel, manifest)
    _send(qtbot, panel)
    assert sentence in panel.counts.text()
    assert [panel.model.status(i) for i in range(3)] == ["ready"] * 3  # no row was tried, none "failed"
    assert sandbox.jobs() == [] and panel.submit_button.isEnabled()


def test_the_dry_run_and_the_default_batch_note_are_the_same_words(qtbot, window, sandbox, tmp_path,
                                                                   monkeypatch, capsys):
    manifest = _manifest(tmp_path)
    _env(monkeypatch, sandbox, sandbox.api_key)
    rc, said = _cli(capsys, str(manifest), "--journal", str(tmp_path / "cli.sqlite"), "--dry-run")
    panel = window.bulk
    _open(qtbot, panel, manifest)
    with qtbot.waitSignal(panel.dry_run().returned, timeout=10000) as done:  # made in a worker
        pass
    assert rc == 0 and done.args[0] in said, (said, panel.counts.text())

    # A project whose details name no default batch: both say that an interrupted job cannot be looked up
    # (the sandbox then refuses the rows, GE_0001, which is beside the point here).
    sandbox.default_batch_id = "not-a-batch-of-the-project"
    window.session.default_batch_id = None
    window.session.apply_connection(sandbox.base_url, sandbox.project_id, sandbox.workflow_id, sandbox.api_key)
    rc, said = _cli(capsys, str(manifest), "--journal", str(tmp_path / "cli.sqlite"))
    note = next(line for line in said if "default batch" in line)
    assert note.startswith("Rows without batch_id go to the project's default batch"), said
    (tmp_path / "other").mkdir()
    other = _manifest(tmp_path / "other")
    other.write_text(other.read_text().replace("seq", "tab"), encoding="utf-8")  # not the rows the CLI sent
    _open(qtbot, panel, other)
    qtbot.mouseClick(panel.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.summary is not None and panel.is_idle(), timeout=30000)
    assert note in panel.counts.text(), panel.counts.text()
