"""The static checks hold, for a developer who runs only pytest: the import-linter layer contracts (CI runs
``lint-imports`` itself, with ruff and mypy, in .ci/run), and mypy's exemption list only ever shrinks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Core modules that were not strict-clean when mypy came in. A module leaves this set once it passes; nothing
# joins it. Shrink it together with the override in pyproject.toml.
MYPY_EXEMPT_BASELINE: set[str] = set()  # none is left: every module passes strict


def _pyproject() -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: mypy (the lint extra) brings tomli
        tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml needs tomllib or tomli")
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def test_import_layer_contracts_hold():
    """core never imports Qt or gui, gui sits above core, resources import neither Qt nor gui."""
    pytest.importorskip("importlinter", reason="the lint extra is not installed (pip install -e '.[lint]')")
    res = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                                                "sys.exit(lint_imports_command())"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    out = res.stdout + res.stderr
    assert res.returncode == 0, "lint-imports found a broken contract:\n" + out[out.find("Contracts"):]
    assert " 0 broken" in out, out


def test_the_contracts_are_the_documented_ones():
    """Deleting a contract would make lint-imports pass for the wrong reason."""
    contracts = {c["name"]: c for c in _pyproject()["tool"]["importlinter"]["contracts"]}
    forbidden = {tuple(c["source_modules"]): set(c["forbidden_modules"])
                 for c in contracts.values() if c["type"] == "forbidden"}
    qt_and_gui = {"PySide6", "shiboken6", "playment_submit.gui"}
    assert qt_and_gui <= forbidden[("playment_submit.core",)]
    assert qt_and_gui <= forbidden[("playment_submit.resources",)]
    layers = [c["layers"] for c in contracts.values() if c["type"] == "layers"]
    assert ["playment_submit.gui", "playment_submit.core"] in layers


def test_mypy_exemption_list_only_shrinks():
    tool = _pyproject()["tool"]["mypy"]
    exempt: set[str] = set()
    for override in tool.get("overrides", []):
        modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
        if override.get("ignore_errors"):
            exempt |= {m for m in modules if m == "playment_submit.core" or m.startswith("playment_submit.core.")}
    assert tool.get("strict") is True
    assert exempt <= MYPY_EXEMPT_BASELINE, (
        f"{sorted(exempt - MYPY_EXEMPT_BASELINE)} joined mypy's exemption list, which may only shrink: "
        f"annotate the module instead")
    # Calls into an exempt module are not flagged as untyped calls; a module that left the list is checked again.
    assert set(tool.get("untyped_calls_exclude", [])) <= exempt, "untyped_calls_exclude names a module no longer exempt"
