"""The README's "Try it without an account" block, run as written (port aside) against a real sandbox."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_block() -> tuple[str, list[list[str]]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Try it without an account"):]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)[:2]
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    export = next(line for line in lines if line.startswith("export "))
    commands = [shlex.split(line) for line in lines if line.startswith(".venv/bin/playment-submit ")]
    return export, commands


def test_the_readme_sandbox_walkthrough_works_as_written(tmp_path):
    export, commands = readme_block()
    assert [c[1] for c in commands] == ["sandbox", "submit", "submit", "bulk"]
    for rel in ("resources/examples", "resources/sample"):  # bulk writes its journal beside the manifest
        shutil.copytree(ROOT / rel, tmp_path / rel)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYMENT_")}
    env.update(PLAYMENT_CONFIG_DIR=str(tmp_path / "config"), PLAYMENT_DATA_DIR=str(tmp_path / "data"))
    cli = [sys.executable, "-m", "playment_submit.core.cli"]
    proc = subprocess.Popen([*cli, "sandbox", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        printed = [proc.stdout.readline() for _ in range(8)]
        line = next(p.strip() for p in printed if p.strip().startswith("export "))
        port = re.search(r"127\.0\.0\.1:(\d+)", line).group(1)
        # The README's line is the sandbox's own line, but for the port (8765 by default).
        assert export == line.replace(f"127.0.0.1:{port}", "127.0.0.1:8765")
        env.update(dict(pair.split("=", 1) for pair in shlex.split(line)[1:]))
        outcomes = []
        for argv in commands[1:]:
            res = subprocess.run([*cli, *argv[1:]], capture_output=True, text=True, env=env, cwd=tmp_path,
                                 timeout=120)
            assert "Traceback" not in res.stderr
            outcomes.append((res.returncode, res.stdout + res.stderr))
        assert outcomes[0][0] == 0 and "Created job" in outcomes[0][1]
        assert outcomes[1][0] == 1 and "#fdffd34" in outcomes[1][1]
        assert outcomes[2][0] == 0 and "2 created" in outcomes[2][1]
        again = subprocess.run([*cli, *commands[3][1:], "--json"], capture_output=True, text=True, env=env,
                               cwd=tmp_path, timeout=120)
        assert again.returncode == 0 and [json.loads(x)["status"] for x in again.stdout.splitlines()] == ["skipped"] * 2
    finally:
        proc.terminate()
        proc.wait(10)
