"""Time from process start to a shown main window, frozen bundle vs source (best of N runs).

Uses the app's PLAYMENT_SUBMIT_EXIT_AFTER_SHOW switch (quit as soon as the window is shown), offscreen,
with a throw-away config so the embedded sandbox is used. Prints a small table with the ratio.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def best_of(cmd: list[str], runs: int = 3, exit_after_show: bool = True) -> float:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PLAYMENT_CONFIG_DIR": f"{tmp}/c",
                   "PLAYMENT_DATA_DIR": f"{tmp}/d", "XDG_CONFIG_HOME": tmp}
            if exit_after_show:
                env["PLAYMENT_SUBMIT_EXIT_AFTER_SHOW"] = "1"
            env.pop("PLAYMENT_API_KEY", None)
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=120)
            times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    python = os.environ.get("PYTHON", str(ROOT / ".venv" / "bin" / "python"))
    exe = str(ROOT / "dist" / "playment-submit" / "playment-submit")
    self_test = best_of([exe, "--self-test"], exit_after_show=False)
    print(f"frozen --self-test: {self_test:.2f} s, whole process (target < 5 s)")
    frozen = best_of([exe])
    source = best_of([python, "-m", "playment_submit.gui.launch"])
    print(f"start to shown window: source {source:.2f} s, frozen {frozen:.2f} s, ratio {frozen / source:.2f}x "
          f"(target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
