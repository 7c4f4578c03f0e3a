"""Lay the source folders out as the installed import root: ``DEST/playment_submit/{core,gui,resources}``.

The repository keeps the product card's top level (``core/``, ``gui/``, ``resources/``); pip maps them
under ``playment_submit`` (pyproject's package-dir). Tools that read source trees rather than importing
through pip's finder (PyInstaller's analysis, mypy) get the same layout from this staging folder.
``--link`` makes symlinks (fast, edits show at once; for mypy), otherwise files are copied (for a build).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "gui", "resources")


def stage(dest: Path, *, link: bool = False) -> Path:
    """Fill ``dest`` and return it (the folder to put on the import path)."""
    pkg = dest / "playment_submit"
    if pkg.exists():
        shutil.rmtree(pkg)
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""playment-submit: core (no Qt), gui (PySide6), resources."""\n',
                                     encoding="utf-8")
    for name in PACKAGES:
        if link:
            (pkg / name).symlink_to(ROOT / name, target_is_directory=True)
        else:
            shutil.copytree(ROOT / name, pkg / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--link", action="store_true", help="symlink the folders instead of copying them")
    args = parser.parse_args()
    print(stage(args.dest, link=args.link))
    return 0


if __name__ == "__main__":
    sys.exit(main())
