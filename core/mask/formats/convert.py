"""Convert one mask to files on disk for a job: what a bulk row with ``mask_source``/``mask_format`` uses.

The output goes to ``<data dir>/imported/<key>.png`` (and the legend is returned, not written), where the
key hashes the source's path, size and modification time with every option, so a re-run of the same
manifest finds the same file (the journal's payload hash stays the same) and converts nothing twice."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

from ..io import save_png
from . import ImportOptions, import_mask


def _key(source: str, fmt: str, opts: ImportOptions) -> str:
    try:
        st = os.stat(source)
        stamp = [st.st_size, st.st_mtime_ns]
    except OSError:
        stamp = []
    files: list[list[object]] = []
    if Path(source).is_dir():
        files = sorted(([p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in Path(source).iterdir()
                        if p.is_file()), key=str)
    text = json.dumps([os.path.abspath(source), stamp, files, fmt, asdict(opts)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class Converted(NamedTuple):
    """A converted mask: the RGBA PNG, its legend, and how a plain class list was read (the class-list
    rule's sentence, :mod:`core.mask.classlist`; None when no plain list was read)."""

    path: Path
    legend: dict[str, str]
    classes_rule: str | None


def convert(source: str, fmt: str, opts: ImportOptions, out_dir: str | Path) -> Converted:
    """:func:`convert_to_file` that also says which reading of a class list was used (for a bulk row)."""
    out = Path(out_dir) / f"{_key(source, fmt, opts)}.png"
    legend_file = out.with_suffix(".json")
    rule_file = out.with_suffix(".rule.txt")
    if out.is_file() and legend_file.is_file():
        try:
            legend = json.loads(legend_file.read_text(encoding="utf-8"))
            rule = rule_file.read_text(encoding="utf-8") if rule_file.is_file() else None
            if isinstance(legend, dict):
                return Converted(out, {str(k): str(v) for k, v in legend.items()}, rule or None)
        except (OSError, ValueError):
            pass
    result = import_mask(source, fmt, opts)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(result.rgba(), out)
    legend_file.write_text(json.dumps(result.legend, ensure_ascii=False), encoding="utf-8")
    if result.classes_rule:
        rule_file.write_text(result.classes_rule, encoding="utf-8")
    return Converted(out, result.legend, result.classes_rule)


def convert_to_file(source: str, fmt: str, opts: ImportOptions, out_dir: str | Path) -> tuple[Path, dict[str, str]]:
    """(RGBA PNG path, legend) for ``source``; raises what :func:`import_mask` raises."""
    done = convert(source, fmt, opts, out_dir)
    return done.path, done.legend
