"""The one way shapes enter a job from a file: ``shapes import`` and the window's "Import shapes…" both call
:func:`import_shapes`, so they read, rename, filter and check alike and say the same sentences.

A file that already is a ``maker_response`` fragment (what ``shapes import -o`` writes: a JSON object whose keys
are vector kinds) is read as it is and checked; any other file is read by its format's reader
(:func:`core.shapes.readers.read_source`), then :func:`core.shapes.model.fragment` applies ``--map``,
``--min-score``, ``--known`` and ``--locked``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem, ValidationError
from .model import KINDS, check_shapes, fragment
from .readers import read_json, read_source, read_text


@dataclass
class ShapesImport:
    fragment: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {k: len(v["data"]) for k, v in self.fragment.items() if isinstance(v, dict)}

    def summary(self) -> str:
        said = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        return said or "no shapes"


def read_known(path: str | None) -> list[str] | None:
    """A class list file, one name a line (blank lines skipped), or None."""
    if path is None:
        return None
    return [line.strip() for line in read_text(path, "class list").splitlines() if line.strip()]


def is_fragment(data: Any) -> bool:
    return isinstance(data, dict) and bool(data) and all(k in KINDS for k in data)


def import_shapes(source: str, fmt: str | None = None, *, classes: str | None = None, image: str | None = None,
                  boxes: bool = False, mapping: dict[str, str | None] | None = None,
                  known: list[str] | None = None, locked: bool = False,
                  min_score: float | None = None) -> ShapesImport:
    """Read ``source`` into a checked fragment; raises ValidationError (sentences naming file and shape)."""
    try:
        if fmt is None and Path(source).suffix.lower() == ".json":
            data = read_json(source, "shapes source")
            if is_fragment(data):
                problems = check_shapes(data, known, where=str(source))
                if problems:
                    raise ValidationError(problems, " ".join(str(p) for p in problems))
                return ShapesImport(data, [f"{source} is a shapes file; it was read as it is."])
        outcome = read_source(source, fmt, classes=classes, image=image, boxes=boxes)
    except RecursionError:
        raise ValidationError([Problem(source, "the source nests too deeply to read.")]) from None
    result, notes, refused = fragment(outcome, locked=locked, min_score=min_score, mapping=mapping, known=known)
    if refused:
        raise ValidationError(refused, " ".join(str(p) for p in refused))
    problems = check_shapes(result, known)
    if problems:
        raise ValidationError(problems, " ".join(str(p) for p in problems))
    return ShapesImport(result, notes)
