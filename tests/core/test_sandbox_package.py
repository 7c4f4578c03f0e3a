"""The sandbox package keeps the house rules: it sits below the command line, its modules share only public
names, each stays small, and it is checked by ruff and strict mypy like the rest of core (no exemption)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import playment_submit.core.sandbox as sandbox_pkg

PACKAGE = Path(sandbox_pkg.__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(PACKAGE.glob("*.py"))


def imported_modules(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, names) for every import in ``path``, lazy ones inside functions included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = ["playment_submit", "core", "sandbox", path.stem]  # level 1 is the package, __init__ included
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.append((module, [alias.name for alias in node.names]))
    return found


def test_the_package_has_its_modules():
    assert {p.stem for p in MODULES} >= {"__init__", "api", "storage", "store", "server"}


def test_the_sandbox_never_imports_the_command_line():
    for path in MODULES:
        for module, names in imported_modules(path):
            assert not module.startswith("playment_submit.core.cli"), f"{path.name} imports {module}"
            assert not (module == "playment_submit.core" and "cli" in names), f"{path.name} imports core.cli"
    code = ("import sys, playment_submit.core.sandbox as s; s.SandboxServer; "
            "print(sorted(m for m in sys.modules if m.startswith('playment_submit.core.cli')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_no_module_imports_another_modules_private_names():
    for path in MODULES:
        for module, names in imported_modules(path):
            private = [n for n in names if n.startswith("_") and n != "__future__"]
            assert not private, f"{path.name} imports {private} from {module}: make them public"


def test_every_module_stays_small():
    for path in MODULES:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 500, f"{path.name} has {lines} lines (at most 500)"


def test_the_public_names_are_exported():
    assert {"SandboxServer", "Faults", "SandboxRequestHandler", "derive_result", "MAX_JSON_BODY",
            "MAX_UPLOAD"} <= set(sandbox_pkg.__all__)
    for name in sandbox_pkg.__all__:
        assert getattr(sandbox_pkg, name) is not None, name


def test_no_lint_or_type_exemption_names_the_sandbox():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: mypy (the lint extra) brings tomli
        tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml needs tomllib or tomli")
    with open(ROOT / "pyproject.toml", "rb") as f:
        tool = tomllib.load(f)["tool"]
    ignores = tool["ruff"]["lint"].get("per-file-ignores", {})
    assert not [k for k in ignores if "sandbox" in k]
    mypy = tool["mypy"]
    assert not [m for m in mypy.get("untyped_calls_exclude", []) if "sandbox" in m]
    for override in mypy.get("overrides", []):
        modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
        if any("sandbox" in m for m in modules):
            assert not override.get("ignore_errors"), override
