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
    res = subprocess.run([sys.executable, "-m", "playment_submit.gui.launch", "--self-test"], capture_output=True, text=True,
                         env=env, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = [l for l in res.stdout.splitlines() if l.startswith(("ok ", "FAIL"))]
    assert len(lines) == 6 and all(l.startswith("ok ") for l in lines)
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
