"""core/ never imports Qt, and no subcommand loads PySide6 (they must run on a box with no display)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import core

PROBE = """
import importlib, json, pkgutil, sys
import core
names = sorted(m.name for m in pkgutil.iter_modules(core.__path__))
for n in names:
    importlib.import_module("core." + n)
from core.cli import main
for argv in {argvs!r}:
    try:
        main(argv)
    except SystemExit:
        pass
print(json.dumps({{"modules": names, "qt": sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6"))}}))
"""


def test_core_and_subcommands_load_no_qt(tmp_path):
    argvs = [["--help"], ["submit", "--help"], ["submit", str(tmp_path / "none.json")], ["batch", "create", "--help"],
             ["sandbox", "--help"], ["mask", "--help"], ["bulk", "--help"]]
    res = subprocess.run([sys.executable, "-c", PROBE.format(argvs=argvs)], capture_output=True, text=True,
                         timeout=120, env={"PATH": "/usr/bin:/bin", "PLAYMENT_CONFIG_DIR": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert "client" in out["modules"] and "sandbox" in out["modules"]
    assert out["qt"] == []


# The one sanctioned hand-over: with no subcommand, the console script starts the window. It runs
# only in that case (test_core_and_subcommands_load_no_qt proves no subcommand reaches it).
ALLOWED = {"cli.py: from gui.app import main as gui_main"}


def test_no_qt_import_statement_in_core_sources():
    offenders = []
    for path in Path(core.__file__).parent.glob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and any(q in stripped for q in ("PySide", "PyQt", "gui")):
                if f"{path.name}: {stripped}" not in ALLOWED:
                    offenders.append(f"{path.name}:{n}: {stripped}")
    assert offenders == []
    assert len(list(pkgutil.iter_modules(core.__path__))) >= 8
