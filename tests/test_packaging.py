"""Packaging checks that are fast enough for every run (the bundle itself is built by .ci/run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from playment_submit import core

ROOT = Path(__file__).resolve().parent.parent


def test_self_test_passes_from_source(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PLAYMENT_CONFIG_DIR": str(tmp_path / "c"),
           "PLAYMENT_DATA_DIR": str(tmp_path / "d"), "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("PLAYMENT_API_KEY", None)
    res = subprocess.run([sys.executable, "-m", "playment_submit.gui.launch", "--self-test"], capture_output=True,
                         text=True, env=env, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = [line for line in res.stdout.splitlines() if line.startswith(("ok ", "FAIL"))]
    assert len(lines) == 6 and all(line.startswith("ok ") for line in lines)
    assert "self-test passed" in res.stdout
    assert not (tmp_path / "d").exists(), "the self-test wrote into the user's data folder (history)"
    assert not (tmp_path / "playment-submit").exists(), "the self-test wrote the user's window settings"


def test_spec_and_scripts_compile():
    for name in ("playment-submit.spec", "build.py", "entry.py", "check_bundle.py", "startup_time.py"):
        source = (ROOT / "packaging" / name).read_text(encoding="utf-8")
        compile(source, name, "exec")


def test_version_has_one_source():
    text = (ROOT / "core" / "__init__.py").read_text(encoding="utf-8")
    assert re.search(r'__version__ = "([^"]+)"', text).group(1) == core.__version__
    spec = (ROOT / "packaging" / "playment-submit.spec").read_text(encoding="utf-8")
    assert "core\" / \"__init__.py" in spec and "__version__" in spec
    assert 'attr = "playment_submit.core.__version__"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_a_wheel_installs_one_import_root(tmp_path):
    """`pip install .` adds exactly one top-level package, playment_submit (no core, gui or resources to
    collide with other distributions), and carries the package data the app needs."""
    import zipfile
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    [wheel] = tmp_path.glob("playment_submit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"playment_submit"}
    for needed in ("playment_submit/core/cli/__main__.py", "playment_submit/core/mask/check.py",
                   "playment_submit/gui/launch.py", "playment_submit/resources/icons/app.svg",
                   "playment_submit/resources/sample/primary.png",
                   "playment_submit/resources/examples/docs_example.json"):
        assert needed in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "playment-submit = playment_submit.gui.launch:main" in zipfile.ZipFile(wheel).read(entry).decode()
