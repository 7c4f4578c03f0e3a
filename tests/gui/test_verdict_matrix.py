"""One way in: the same job gets the same verdict and the same sentences in the window, `submit` and `bulk`.

Each case describes a job (primary, cameras, mask + legend, reference ID) with real files on disk. The
job is fed, against one sandbox, through the window (its Submit button's reasons, then Submit), through
``playment-submit submit JOB.json`` and through a one-row ``playment-submit bulk`` manifest. The verdict
(created or refused) and every problem sentence must agree, and a refused job must upload and send
nothing.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from playment_submit.core import cli
from playment_submit.core.fixes import FIX_HINTS
from playment_submit.core.journal import Journal, default_journal_path
from tests.conftest import mask_bytes, png_bytes

W, H = 8, 6
LEGEND = {"#ff0000": "cup"}


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((H, W, 3), 200, np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def bomb_png(w: int = 60000, h: int = 60000) -> bytes:
    """A PNG header claiming w x h RGBA pixels (a decompression bomb): refused before decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


@dataclass
class Case:
    name: str
    created: bool
    primary: str = "frame.png"                       # a path relative to the case folder, or a URL
    files: dict[str, bytes] = field(default_factory=dict)
    cameras: list[tuple[str, str]] = field(default_factory=lambda: [("camera 1", "cam.png")])
    mask: str | None = None
    legend: dict | None = None
    reference_id: str | None = None                  # default: the case name
    expect: str = ""                                 # a phrase every front end's sentences must contain


def base_files() -> dict[str, bytes]:
    return {"frame.png": png_bytes(1), "cam.png": png_bytes(2)}


def case(name: str, created: bool, **kw) -> Case:
    files = base_files()
    files.update(kw.pop("files", {}))
    return Case(name, created, files=files, **kw)


CASES = [
    case("plain", True),
    case("spaces", True, primary="my frames/frame 001.png", files={"my frames/frame 001.png": png_bytes(3)}),
    case("unicode", True, primary="Bilder/Straße 東京.png", files={"Bilder/Straße 東京.png": png_bytes(4)}),
    case("file-url", True, primary="file://{dir}/my%20frames/f.png", files={"my frames/f.png": png_bytes(5)}),
    case("relative", True, primary="sub/../frame.png"),
    case("mask-ok", True, mask="masks/frame.png", legend=LEGEND, files={"masks/frame.png": mask_bytes()}),
    case("mask-spaces", True, mask="index mask_coded.png", legend=LEGEND, files={"index mask_coded.png": mask_bytes()}),
    case("jpeg-named-png-primary", True, files={"frame.png": jpeg_bytes()}),
    case("empty-primary", False, files={"frame.png": b""}, expect="empty"),
    case("empty-camera", False, files={"cam.png": b""}, expect="empty"),
    case("truncated-primary", False, files={"frame.png": png_bytes(9, (64, 48))[:150]}, expect="frame.png"),
    case("missing-primary", False, primary="nope.png", expect="does not exist"),
    case("missing-mask", False, mask="nope_mask.png", legend=LEGEND, expect="does not exist"),
    case("jpeg-named-png-mask", False, mask="m.png", legend=LEGEND, files={"m.png": jpeg_bytes()}, expect="m.png"),
    case("mask-wrong-size", False, mask="m.png", legend=LEGEND, files={"m.png": mask_bytes("#ff0000", (W + 1, H))},
         expect="size"),
    case("colour-outside-legend", False, mask="m.png", legend=LEGEND, files={"m.png": mask_bytes("#00ff00")},
         expect="#00ff00"),
    case("legend-typo", False, mask="m.png", legend={"#fdffd34": "Person 1"}, files={"m.png": mask_bytes("#fdff34")},
         expect="#fdffd34"),
    case("truncated-mask", False, mask="m.png", legend=LEGEND, files={"m.png": mask_bytes()[:60]}, expect="m.png"),
    case("bomb-mask", False, mask="m.png", legend=LEGEND, files={"m.png": bomb_png()}, expect="60,000 x 60,000"),
    case("empty-camera-label", False, cameras=[("", "cam.png")], expect="no label"),
    case("duplicate-camera-labels", False, cameras=[("front", "cam.png"), ("Front", "frame.png")],
         expect="already used"),
    case("url-with-spaces", False, primary="{sandbox}/files/my frames/f.png", expect="contains spaces"),
    case("already-created", False, reference_id="taken", expect="already submitted"),
]

FIELD = re.compile(r"^(data\.[\w.\[\]]+|reference_id|work_flow_id|batch_id|priority_weight|\(storage\)): ")


def sentences(lines: list[str]) -> set[str]:
    """The problem sentences, without where each front end says they come from (file, row)."""
    out = set()
    for line in lines:
        line = re.sub(r"^error: ", "", line)
        line = re.sub(r"^\S.*? row \d+, ", "", line)        # bulk: "m.jsonl row 1, "
        line = re.sub(r"^/\S*job\.json: ", "", line)         # submit: "/.../job.json: "
        for words in FIX_HINTS.values():  # the same sentence; only the "how to fix" is in each front end's words
            for hint in words.values():
                line = line.replace(" " + hint, "")
        out.add(FIELD.sub(lambda m: m.group(1) + ": ", line))
    return out


def lay_out(c: Case, folder: Path, sandbox) -> dict:
    """Write the case's files and return its payload (locations as the user wrote them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in c.files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    (folder / "sub").mkdir(exist_ok=True)
    fill = {"dir": folder.as_posix(), "sandbox": sandbox.base_url}
    data: dict = {"image_url": c.primary.format(**fill)}
    if c.cameras:
        data["reference_data"] = {"raster": {"images": [{"image_url": p, "label": label} for label, p in c.cameras]}}
    if c.mask:
        data["maker_response"] = {"raster": {"data": {"url": c.mask, "legend": c.legend}}}
        (folder / "legend.json").write_text(json.dumps(c.legend), encoding="utf-8")
    return {"reference_id": c.reference_id or c.name, "data": data}


def activity(sandbox) -> tuple[int, int]:
    s = sandbox.stats()
    return s.get("PUT files", 0), s.get("POST jobs", 0)


def run_submit(payload: dict, folder: Path, capsys) -> tuple[bool, set[str]]:
    job = folder / "job.json"
    job.write_text(json.dumps(payload), encoding="utf-8")
    capsys.readouterr()
    rc = cli.main(["submit", str(job)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc == 0, sentences([line for line in err.splitlines() if line.startswith("error: ")])


def run_bulk(payload: dict, folder: Path, capsys) -> tuple[bool, set[str]]:
    manifest = folder / "m.jsonl"
    manifest.write_text(json.dumps(payload) + "\n", encoding="utf-8")
    capsys.readouterr()
    rc = cli.main(["bulk", str(manifest), "--journal", str(folder / "bulk.sqlite")])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc == 0, sentences([line for line in err.splitlines() if line.startswith("error: ") and " row " in line])


def run_window(win, c: Case, payload: dict, folder: Path, qtbot, wait_idle, monkeypatch) -> tuple[bool, set[str]]:
    monkeypatch.chdir(folder)  # the window resolves typed relative paths against where it runs
    data = payload["data"]
    win.primary.set_value(data["image_url"])
    win.references.clear()
    for label, path in c.cameras:
        win.references.add(path, label)
    if c.mask:
        win.mask_panel.load_files(str(folder / c.mask), str(folder / "legend.json"))
    win.job.reference_id.setText(payload["reference_id"])
    wait_idle(win)
    win.refresh()
    wait_idle(win)
    reasons = win.blockers(win.current_spec())
    if reasons:
        assert not win.job.submit.isEnabled()
        assert not any("playment-submit " in r or "--max-megapixels)" in r for r in reasons), reasons  # window words
        return False, sentences(reasons)
    with qtbot.waitSignal(win.submit_succeeded, timeout=30000):
        qtbot.mouseClick(win.job.submit, Qt.MouseButton.LeftButton)
    return True, set()


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_same_verdict_and_sentences_everywhere(c, make_window, sandbox, tmp_path, qtbot, wait_idle, monkeypatch,
                                               capsys):
    for var, value in (("PLAYMENT_BASE_URL", sandbox.base_url), ("PLAYMENT_API_KEY", sandbox.api_key),
                       ("PLAYMENT_PROJECT_ID", sandbox.project_id), ("PLAYMENT_WORKFLOW_ID", sandbox.workflow_id)):
        monkeypatch.setenv(var, value)
    profile_journal = default_journal_path("default")
    if c.name == "already-created":  # created earlier from `submit`: the profile's journal holds it
        seed = tmp_path / "seed"
        ok, problems = run_submit(lay_out(case("taken", True), seed, sandbox), seed, capsys)
        assert ok, problems

    def own_journal(backend):  # the window uses the same profile journal as the command line
        backend.journal.close()
        backend.journal = Journal(profile_journal)

    win = make_window(sandbox, setup=own_journal)
    verdicts = {}
    for front in ("window", "submit", "bulk"):
        folder = tmp_path / "job"  # the same folder each time: sentences name the same files
        payload = lay_out(c, folder, sandbox)
        if c.created:  # each front end creates its own job
            payload["reference_id"] = f"{payload['reference_id']}-{front}"
        before = activity(sandbox)
        if front == "window":
            verdicts[front] = run_window(win, c, payload, folder, qtbot, wait_idle, monkeypatch)
        elif front == "submit":
            verdicts[front] = run_submit(payload, folder, capsys)
        else:
            verdicts[front] = run_bulk(payload, folder, capsys)
        if not c.created:
            assert activity(sandbox) == before, f"{front} uploaded or sent a refused job"
        monkeypatch.chdir(tmp_path)
        shutil.rmtree(folder)
    created = {front: v[0] for front, v in verdicts.items()}
    assert created == dict.fromkeys(verdicts, c.created), verdicts
    said = {front: v[1] for front, v in verdicts.items()}
    assert said["window"] == said["submit"] == said["bulk"], said
    if not c.created:
        assert said["window"] and c.expect in " ".join(said["window"]), said["window"]
