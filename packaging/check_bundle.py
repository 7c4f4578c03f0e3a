"""Check a Linux onedir bundle: every library a bundled library needs is in the bundle or on the system.

``python packaging/check_bundle.py dist/playment-submit``. The spec drops plugins and libraries the app
does not use; this proves it did not drop one that something still needs. Exit 1 with the list if so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Provided by the system the bundle runs on: the C library, and Wayland's client libraries, which only
# the Wayland platform plugin loads and only on a Wayland desktop (where they always exist).
SYSTEM_PROVIDED = ("ld-linux", "libc.so", "libm.so", "libwayland-")


def needed(lib: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True).stdout
    return [line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines() if "(NEEDED)" in line]


def main(bundle: str) -> int:
    root = Path(bundle)
    libs = [p for p in root.rglob("*.so*") if p.is_file()]
    bundled = {p.name for p in root.rglob("*.so*")}
    system = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    missing = {}
    for lib in libs:
        for dep in needed(lib):
            if dep in bundled or f"{dep} " in system or dep.startswith(SYSTEM_PROVIDED):
                continue
            missing.setdefault(dep, []).append(str(lib.relative_to(root)))
    for dep, users in sorted(missing.items()):
        print(f"missing {dep}: needed by {', '.join(users[:3])}")
    print(f"checked {len(libs)} libraries: {'all dependencies resolve' if not missing else f'{len(missing)} missing'}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist/playment-submit"))
