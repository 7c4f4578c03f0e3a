"""The command line starts at once: each command imports only what it uses.

Every command builds the whole parser, so one subcommand's heavy import at module level (requests in
core.storage, numpy in core.mask) would slow down all of them, ``--version`` included. Each row of
``COMMANDS`` runs the real entry point (``playment_submit.gui.launch.main``, what the console script calls)
in a fresh interpreter and lists the top-level packages in ``sys.modules`` when it is done; the forbidden
ones must be absent. Add a row per new subcommand: its argv, and what it must not import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HEAVY = frozenset({"requests", "urllib3", "boto3", "botocore", "numpy", "PIL", "imagecodecs", "PySide6",
                   "shiboken6", "pycocotools", "keyring", "sqlite3", "http"})
"""What a command that only parses its options or prints text must not load."""
PARSER = HEAVY | {"dataclasses", "inspect", "logging", "hashlib", "tempfile"}
"""What building the parser (every command, ``--help`` included) must not load either: the standard library's
slower modules (dataclasses loads inspect: ~16 ms; core.storage used to bring logging and hashlib)."""
NETWORK = frozenset({"requests", "urllib3", "boto3", "botocore", "PySide6", "shiboken6", "keyring"})
"""What a mask command (local files only, no window) must not load."""
CHECK = NETWORK | {"pycocotools", "PIL", "logging", "hashlib", "tempfile"}
"""What ``mask check`` of an 8-bit RGBA PNG must not load (libspng decodes it; nothing is written)."""

# (id, argv with {dir} for the test's folder, forbidden top-level modules)
COMMANDS: list[tuple[str, list[str], frozenset[str]]] = [
    ("version", ["--version"], PARSER),
    ("help", ["--help"], PARSER),
    ("mask-help", ["mask", "--help"], PARSER),
    ("mask-check-help", ["mask", "check", "--help"], PARSER),
    ("mask-encode-help", ["mask", "encode", "--help"], PARSER),
    ("mask-repair-help", ["mask", "repair", "--help"], PARSER),
    ("mask-import-help", ["mask", "import", "--help"], PARSER),
    ("sandbox-help", ["sandbox", "--help"], PARSER),
    ("submit-help", ["submit", "--help"], PARSER),
    ("bulk-help", ["bulk", "--help"], PARSER),
    ("batch-help", ["batch", "--help"], PARSER),
    ("usage-error", ["mask", "check"], PARSER),  # argparse refuses it before anything runs
    # An 8-bit RGBA PNG is decoded by libspng: Pillow is not even imported (nor what only writing needs).
    ("mask-check", ["mask", "check", "{dir}/mask.png", "--legend", "{dir}/legend.json"], CHECK),
    # a manifest of URLs needs no pixel engine (core.manifest reaches the COCO store only for a large file)
    ("bulk-dry-run-urls", ["bulk", "{dir}/urls.csv", "--dry-run", "--journal", "{dir}/bulk.sqlite"],
     frozenset({"numpy", "pycocotools", "imagecodecs", "boto3", "botocore", "PySide6", "shiboken6"})),
    ("mask-check-json", ["mask", "check", "{dir}/mask.png", "--legend", "{dir}/legend.json", "--json"], CHECK),
    ("mask-encode", ["mask", "encode", "{dir}/index.png", "-o", "{dir}/out.png", "--legend-out", "{dir}/out.json"],
     NETWORK | {"pycocotools"}),
    ("mask-repair", ["mask", "repair", "{dir}/mask.png", "--legend", "{dir}/legend.json", "-o", "{dir}/fixed.png"],
     NETWORK | {"pycocotools"}),
]

_PROBE = """
import json, sys
from playment_submit.gui.launch import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:
    code = e.code
sys.stdout.flush()
sys.stderr.write("\\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})) + "\\n")
"""


def imported(argv: list[str]) -> set[str]:
    """Top-level packages in sys.modules after ``playment-submit ARGV`` ran in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    line = next((x for x in out.stderr.splitlines() if x.startswith("MODULES ")), None)
    assert line is not None, out.stderr[-2000:]
    return set(json.loads(line[len("MODULES "):]))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("imports")
    a = np.zeros((12, 16, 4), np.uint8)
    a[2:6, 3:9] = (255, 0, 0, 255)
    Image.fromarray(a).save(d / "mask.png")
    (d / "legend.json").write_text(json.dumps({"#ff0000": "car"}))
    idx = np.zeros((12, 16), np.uint8)
    idx[4:8, 4:8] = 1
    Image.fromarray(idx).save(d / "index.png")
    (d / "urls.csv").write_text("reference_id,image\nr1,https://example.com/a.png\n", encoding="utf-8")
    return d


@pytest.mark.parametrize("argv, forbidden", [(c[1], c[2]) for c in COMMANDS], ids=[c[0] for c in COMMANDS])
def test_command_imports_nothing_it_does_not_use(argv, forbidden, folder):
    argv = [a.format(dir=folder) for a in argv]
    if argv[:2] == ["mask", "import"] and not _has_mask_import():
        pytest.skip("no `mask import` subcommand in this tree")
    loaded = imported(argv)
    assert "playment_submit" in loaded  # the probe really ran the entry point
    assert not (loaded & forbidden), f"`playment-submit {' '.join(argv)}` imported {sorted(loaded & forbidden)}"


def test_mask_check_does_load_the_engine(folder):
    """The probe sees real imports: a mask check that ran has numpy (so an empty set above means absent)."""
    loaded = imported(["mask", "check", str(folder / "mask.png"), "--legend", str(folder / "legend.json")])
    assert "numpy" in loaded


def test_help_and_version_still_tell_the_truth():
    """Lazy parsers still show the numbers that live in core.defaults and the engines use."""
    from playment_submit.core import client, defaults, mask

    assert mask.DEFAULT_MAX_PIXELS == defaults.DEFAULT_MAX_PIXELS
    assert mask.DEFAULT_TOLERANCE == defaults.DEFAULT_TOLERANCE
    assert mask.CLASSES_HELP == defaults.CLASSES_HELP
    assert client.DEFAULT_TIMEOUT == defaults.DEFAULT_TIMEOUT and client.give_up_after(2) == defaults.give_up_after(2)
    out = subprocess.run([sys.executable, "-m", "playment_submit.core.cli", "mask", "repair", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert f"default: {defaults.DEFAULT_TOLERANCE:g}" in " ".join(out.stdout.split())
    # the console script answers --version without building the parser; the words are argparse's
    short = subprocess.run([sys.executable, "-m", "playment_submit.gui.launch", "--version"], capture_output=True,
                           text=True, timeout=60)
    full = subprocess.run([sys.executable, "-m", "playment_submit.core.cli", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert short.returncode == full.returncode == 0 and short.stdout == full.stdout != ""


def _has_mask_import() -> bool:
    return (Path(__file__).resolve().parents[2] / "core" / "cli" / "mask_import.py").exists()
