"""The shape the code must keep (issue 20's "Done when"), measured from the checkout on every test run:

- no gui class has more than 40 methods; no gui file is over 500 lines and no core file over 900;
- gui reads and writes no file format itself (no Pillow, no ``json.load(s)`` / ``json.dump(s)``, no
  ``write_text`` / ``write_bytes``; ``gui/self_test.py``, which checks the installed app, excepted): formats
  live in core;
- pyproject.toml exempts no module from mypy (``ignore_errors``) or ruff (``per-file-ignores``), and mypy checks
  the bodies of gui functions (``check_untyped_defs = true`` for gui).

Each check is a small function over source text or the parsed pyproject (unit-tested below on synthetic input,
so each is shown to fail and to pass); every message names the file or class and the limit.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUI_MAX_METHODS = 40
GUI_MAX_LINES = 500
CORE_MAX_LINES = 900
FORMAT_EXEMPT = {"gui/self_test.py"}  # the packaged app's self-test decodes a bundled PNG on purpose
JSON_CALLS = {"load", "loads", "dump", "dumps"}
WRITE_CALLS = {"write_text", "write_bytes"}
GUI_MODULES = ("playment_submit.gui", "playment_submit.gui.*")


# ------------------------------------------------------------------------------------------- the checks
def sources(folder: str) -> dict[str, str]:
    """Every .py file under ``ROOT/folder``, by its path relative to ROOT (with forward slashes)."""
    return {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted((ROOT / folder).rglob("*.py"))}


def method_counts(source: str) -> list[tuple[str, int]]:
    """(class name, number of methods) for every class in ``source``, nested ones too: the def and async def
    statements directly in the class body (a nested function is not a method of the class)."""
    return [(node.name, sum(isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)) for b in node.body))
            for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ClassDef)]


def classes_over(files: Mapping[str, str], limit: int) -> list[str]:
    return [f"{path}: class {name} has {n} methods (at most {limit})"
            for path, text in files.items() for name, n in method_counts(text) if n > limit]


def files_over(files: Mapping[str, str], limit: int) -> list[str]:
    return [f"{path} has {n} lines (at most {limit})"
            for path, text in files.items() if (n := len(text.splitlines())) > limit]


def format_uses(source: str) -> list[str]:
    """What in ``source`` reads or writes a file format: Pillow imported, json's load/dump called (or imported
    by name), ``.write_text`` / ``.write_bytes`` used. Each as ``line N: what``."""
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(ast.parse(source)):
        at = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
        if isinstance(node, ast.Import):
            found += [(*at, f"import {a.name}") for a in node.names if a.name.split(".")[0] == "PIL"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "PIL":
                found.append((*at, f"from {node.module} import ..."))
            elif node.module == "json":
                found += [(*at, f"from json import {a.name}") for a in node.names if a.name in JSON_CALLS]
        elif isinstance(node, ast.Attribute):
            if node.attr in JSON_CALLS and isinstance(node.value, ast.Name) and node.value.id == "json":
                found.append((*at, f"json.{node.attr}"))
            elif node.attr in WRITE_CALLS:
                found.append((*at, f".{node.attr}"))
    return [f"line {line}: {what}" for line, _, what in sorted(found)]


def gui_format_uses(files: Mapping[str, str]) -> list[str]:
    return [f"{path} {use} (gui reads and writes no file format itself; do it in core)"
            for path, text in files.items() if path not in FORMAT_EXEMPT for use in format_uses(text)]


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def tool_exemptions(pyproject: Mapping[str, Any]) -> list[str]:
    """Modules exempted from mypy (an override with ``ignore_errors``) or from ruff rules (``per-file-ignores``,
    in [tool.ruff.lint] or the older [tool.ruff])."""
    tool = pyproject.get("tool", {})
    mypy = tool.get("mypy", {})
    out = []
    if mypy.get("ignore_errors"):
        out.append("pyproject.toml [tool.mypy] sets ignore_errors for every module (no module may be exempted)")
    for o in mypy.get("overrides", []):
        if o.get("ignore_errors"):
            out.append(f"pyproject.toml exempts {', '.join(_as_list(o.get('module')))} from mypy "
                       f"(ignore_errors; no module may be exempted)")
    ruff = tool.get("ruff", {})
    for where, table in (("tool.ruff.lint", ruff.get("lint", {})), ("tool.ruff", ruff)):
        for path, rules in (table.get("per-file-ignores") or {}).items():
            out.append(f"pyproject.toml [{where}.per-file-ignores] exempts {path} from {', '.join(_as_list(rules))} "
                       f"(no file may be exempted)")
    return out


def gui_bodies_unchecked(pyproject: Mapping[str, Any]) -> list[str]:
    """Empty when mypy checks the bodies of gui functions: ``check_untyped_defs`` true for the gui modules (set
    on their override, or globally and not turned off by an override that covers gui)."""
    mypy = pyproject.get("tool", {}).get("mypy", {})
    setting = bool(mypy.get("check_untyped_defs", False)) or bool(mypy.get("strict", False))
    for o in mypy.get("overrides", []):
        if any(m in GUI_MODULES for m in _as_list(o.get("module"))) and "check_untyped_defs" in o:
            setting = bool(o["check_untyped_defs"])
    return [] if setting else ["pyproject.toml: mypy does not check gui bodies (check_untyped_defs must be true "
                               "for playment_submit.gui.*)"]


def load_pyproject() -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: mypy (the lint extra) brings tomli
        tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml needs tomllib (3.11+) or tomli")
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _report(problems: Iterable[str]) -> str:
    return "\n".join(problems)


# ------------------------------------------------------------------------------------------- the checkout
def test_no_gui_class_has_more_than_40_methods():
    problems = classes_over(sources("gui"), GUI_MAX_METHODS)
    assert not problems, _report(problems)


def test_no_gui_file_over_500_lines():
    problems = files_over(sources("gui"), GUI_MAX_LINES)
    assert not problems, _report(problems)


def test_no_core_file_over_900_lines():
    problems = files_over(sources("core"), CORE_MAX_LINES)
    assert not problems, _report(problems)


def test_gui_reads_and_writes_no_file_format_itself():
    problems = gui_format_uses(sources("gui"))
    assert not problems, _report(problems)


def test_no_module_is_exempted_from_mypy_or_ruff():
    problems = tool_exemptions(load_pyproject())
    assert not problems, _report(problems)


def test_mypy_checks_gui_bodies():
    problems = gui_bodies_unchecked(load_pyproject())
    assert not problems, _report(problems)


def test_the_checks_see_the_code():
    """The measurements above are of real files, not of an empty glob."""
    gui, core = sources("gui"), sources("core")
    assert "gui/main_window.py" in gui and "core/delivered.py" in core
    assert any(name == "MainWindow" and n > 10 for name, n in method_counts(gui["gui/main_window.py"]))


# ------------------------------------------------------------------------------------------- the checkers
CLASSY = '''
class Small:
    def a(self): pass
    async def b(self): pass
    x = 1

class Big:
{methods}
    class Inner:
        def only(self): pass

def helper():
    class Local:
        def one(self):
            def nested(): pass
'''


def test_method_counts_count_direct_defs_only():
    source = CLASSY.format(methods="\n".join(f"    def m{i}(self): pass" for i in range(3)))
    assert sorted(method_counts(source)) == [("Big", 3), ("Inner", 1), ("Local", 1), ("Small", 2)]


def test_classes_over_fails_past_the_limit_and_passes_at_it():
    at = CLASSY.format(methods="\n".join(f"    def m{i}(self): pass" for i in range(40)))
    over = CLASSY.format(methods="\n".join(f"    def m{i}(self): pass" for i in range(41)))
    assert classes_over({"gui/w.py": at}, 40) == []
    assert classes_over({"gui/w.py": over}, 40) == ["gui/w.py: class Big has 41 methods (at most 40)"]


def test_files_over_fails_past_the_limit_and_passes_at_it():
    assert files_over({"core/a.py": "x = 1\n" * 900}, 900) == []
    assert files_over({"core/a.py": "x = 1\n" * 901}, 900) == ["core/a.py has 901 lines (at most 900)"]


def test_format_uses_finds_each_kind_and_passes_clean_code():
    bad = ("import PIL.Image\nfrom PIL import Image\nimport json\njson.loads(t)\njson.dump(o, f)\n"
           "from json import load\np.write_text('x')\nw = p.write_bytes\n")
    assert format_uses(bad) == ["line 1: import PIL.Image", "line 2: from PIL import ...", "line 4: json.loads",
                                "line 5: json.dump", "line 6: from json import load", "line 7: .write_text",
                                "line 8: .write_bytes"]
    clean = ("from pathlib import Path\nPath('x').read_text()\nimport PILLOW_not\nmy.json.loads = 1\n"
             "from .PIL import x\nfrom json import JSONDecodeError\n")
    assert format_uses(clean) == []
    assert gui_format_uses({"gui/self_test.py": bad, "gui/a.py": clean}) == []
    assert gui_format_uses({"gui/a.py": "import json\njson.dumps(x)\n"}) == [
        "gui/a.py line 2: json.dumps (gui reads and writes no file format itself; do it in core)"]


def test_tool_exemptions_names_every_exempted_module():
    clean = {"tool": {"mypy": {"strict": True, "overrides": [{"module": ["boto3"], "ignore_missing_imports": True}]},
                      "ruff": {"lint": {"select": ["E"]}}}}
    assert tool_exemptions(clean) == []
    dirty = {"tool": {"mypy": {"overrides": [{"module": ["playment_submit.core.sandbox"], "ignore_errors": True}]},
                      "ruff": {"lint": {"per-file-ignores": {"core/sandbox.py": ["B904"]}},
                               "per-file-ignores": {"gui/x.py": "E501"}}}}
    assert tool_exemptions(dirty) == [
        "pyproject.toml exempts playment_submit.core.sandbox from mypy (ignore_errors; no module may be exempted)",
        "pyproject.toml [tool.ruff.lint.per-file-ignores] exempts core/sandbox.py from B904 (no file may be "
        "exempted)",
        "pyproject.toml [tool.ruff.per-file-ignores] exempts gui/x.py from E501 (no file may be exempted)"]


def test_gui_bodies_unchecked_reads_the_gui_override():
    def cfg(**gui: Any) -> dict[str, Any]:
        return {"tool": {"mypy": {"strict": True, "overrides": [
            {"module": ["boto3"], "check_untyped_defs": False},
            {"module": list(GUI_MODULES), "disallow_untyped_defs": False, **gui}]}}}

    assert gui_bodies_unchecked(cfg(check_untyped_defs=True)) == []
    assert gui_bodies_unchecked(cfg()) == []  # strict implies it, and nothing turns it off for gui
    assert gui_bodies_unchecked(cfg(check_untyped_defs=False)) != []
    assert gui_bodies_unchecked({"tool": {"mypy": {}}}) != []
