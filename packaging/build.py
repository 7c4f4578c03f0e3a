"""Build the standalone app for this OS: ``python packaging/build.py [--onefile]``.

Renders the app icon from the one SVG (resources/icons/app.svg) to PNG/ICO/ICNS, writes the Windows
version file from core's single version, runs PyInstaller on packaging/playment-submit.spec, and prints
the bundle's size and path. Output: dist/ (the app) and build/ (work files); both are git-ignored.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "playment-submit.spec"


def version() -> str:
    return re.search(r'__version__ = "([^"]+)"', (ROOT / "core" / "__init__.py").read_text()).group(1)


def render_icons(out: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer
    app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(ROOT / "resources" / "icons" / "app.svg"))
    out.mkdir(parents=True, exist_ok=True)
    image = QImage(1024, 1024, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    image.save(str(out / "app.png"))
    big = Image.open(out / "app.png")
    big.save(out / "app.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    if sys.platform == "darwin":
        big.save(out / "app.icns")
    del app


def write_version_file(out: Path) -> None:
    parts = [int(p) for p in re.findall(r"\d+", version())[:4]] + [0] * 4
    v = tuple(parts[:4])
    (out / "version_info.txt").write_text(f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={v}, prodvers={v}, mask=0x3f, flags=0x0, OS=0x40004, fileType=0x1, subtype=0x0,
                    date=(0, 0)),
  kids=[StringFileInfo([StringTable('040904B0', [
      StringStruct('CompanyName', 'playment-submit'),
      StringStruct('FileDescription', 'Create Playment labelling jobs'),
      StringStruct('FileVersion', '{version()}'),
      StringStruct('ProductName', 'playment-submit'),
      StringStruct('ProductVersion', '{version()}')])]),
        VarFileInfo([VarStruct('Translation', [1033, 1200])])]
)
""", encoding="utf-8")


def strip_libraries(bundle: Path) -> int:
    """Strip debug symbols from the bundle's shared libraries on Linux (36 MB here), except the
    auditwheel-vendored ones under ``*.libs/`` (numpy's OpenBLAS, Pillow's codecs): those were rewritten
    by patchelf, and strip breaks them. Returns the bytes saved."""
    import shutil
    import subprocess
    if not sys.platform.startswith("linux") or shutil.which("strip") is None:
        return 0
    before = size_mb(bundle)
    for lib in bundle.rglob("*.so*"):
        if lib.is_symlink() or not lib.is_file() or any(part.endswith(".libs") for part in lib.parts):
            continue
        subprocess.run(["strip", "--strip-unneeded", str(lib)], check=False, capture_output=True)
    return int((before - size_mb(bundle)) * 2**20)


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onefile", action="store_true", help="one self-extracting file instead of a folder")
    args = parser.parse_args()
    build = ROOT / "build"
    generated = build / "generated"
    render_icons(generated)
    write_version_file(generated)
    os.environ["PLAYMENT_BUILD_DIR"] = str(build)
    if args.onefile:
        os.environ["PLAYMENT_ONEFILE"] = "1"
    try:
        import PyInstaller.__main__
    except ImportError:
        print("error: PyInstaller is not installed in this environment; install the packaging extra first: "
              "pip install -e '.[package]'", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT / "packaging"))
    from stage import stage
    os.environ["PLAYMENT_STAGE_DIR"] = str(stage(build / "src"))
    t0 = time.perf_counter()
    # The one-file app goes to dist/onefile/ so it never collides with the dist/playment-submit/ folder.
    dist = ROOT / "dist" / "onefile" if args.onefile else ROOT / "dist"
    PyInstaller.__main__.run([str(SPEC), "--noconfirm", "--clean", "--log-level", "WARN",
                              "--distpath", str(dist), "--workpath", str(build / "pyinstaller")])
    name = "playment-submit" + (".exe" if sys.platform == "win32" and args.onefile else "")
    target = dist / (name if args.onefile else "playment-submit")
    if sys.platform == "darwin" and not args.onefile:
        target = ROOT / "dist" / "playment-submit.app"
    saved = strip_libraries(target) if not args.onefile else 0
    mib = size_mb(target)
    stripped = f", {saved / 2**20:.0f} MiB of symbols stripped" if saved else ""
    print(f"built {target} ({mib * 2**20 / 1e6:.1f} MB = {mib:.1f} MiB{stripped}) "
          f"in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
