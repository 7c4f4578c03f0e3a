"""core/ never imports Qt, and no subcommand loads PySide6 (they must run on a box with no display)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import importlib, json, pkgutil, sys
from playment_submit import core
names = sorted(m.name for m in pkgutil.walk_packages(core.__path__, "playment_submit.core.")
               if not m.name.endswith(".__main__"))
for n in names:
    importlib.import_module(n)
from playment_submit.gui.launch import main
for argv in {argvs!r}:
    try:
        main(argv)
    except SystemExit:
        pass
print(json.dumps({{"modules": names,
                  "qt": sorted(m for m in sys.modules
                               if m.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6")),
                  "gui": sorted(m for m in sys.modules if m.startswith("playment_submit.gui")
                                and m not in ("playment_submit.gui", "playment_submit.gui.launch"))}}))
"""


def test_core_and_subcommands_load_no_qt(tmp_path):
    """Every core module imports without Qt, and the console script runs subcommands without loading Qt
    or any of the window's modules (the layer rules themselves are import-linter contracts in .ci/run)."""
    argvs = [["--help"], ["submit", "--help"], ["submit", str(tmp_path / "none.json")], ["batch", "create", "--help"],
             ["sandbox", "--help"], ["mask", "--help"], ["bulk", "--help"]]
    res = subprocess.run([sys.executable, "-c", PROBE.format(argvs=argvs)], capture_output=True, text=True,
                         timeout=120, env={"PATH": "/usr/bin:/bin", "PLAYMENT_CONFIG_DIR": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert "playment_submit.core.client" in out["modules"] and "playment_submit.core.sandbox" in out["modules"]
    assert out["qt"] == []
    assert out["gui"] == []
