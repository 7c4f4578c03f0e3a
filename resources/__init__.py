"""Files the app ships with: icons, the sample job, the docs' example payloads.

Found through importlib.resources, so the same code works from a source tree, an installed wheel and a
PyInstaller bundle (where the package's files are unpacked next to the executable).
"""

from __future__ import annotations

import json
from importlib import resources as _ir
from pathlib import Path
from typing import Any


def resource_path(*parts: str) -> Path:
    """The real path of a shipped file, e.g. ``resource_path("icons", "app.svg")``."""
    return Path(str(_ir.files(__name__).joinpath(*parts)))


def sample_job_files() -> dict[str, Any]:
    """The sample job: a photo, two reference camera views, a class-index mask and its class names."""
    sample = resource_path("sample")
    return {
        "primary": sample / "primary.png",
        "references": [("camera 1", sample / "camera1.png"), ("camera 2", sample / "camera2.png")],
        "index_mask": sample / "index_mask.png",
        "classes": sample / "classes.json",
    }


def sample_classes() -> list[str]:
    names: list[str] = json.loads(sample_job_files()["classes"].read_text(encoding="utf-8"))
    return names
