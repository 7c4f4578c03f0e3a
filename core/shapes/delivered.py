"""Delivered vector pre-labels (issue 25, close the loop): a completed job's shapes as ``results`` writes them
(``shapes.json``, and beside it ``prelabel_shapes.json``, what was sent), read back, and reviewed per label.

A result is a server's text: only the vector kinds are kept, each block's ``data`` a list, every label made one
printable line, and at most :data:`MAX_DELIVERED_SHAPES` shapes (a larger result is refused with a sentence and
nothing is written). The files written are exactly ``maker_response`` fragments, the same JSON ``shapes import -o``
writes, so a delivered ``shapes.json`` can be checked or sent again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Problem, ValidationError
from ..job import VECTOR_KINDS
from ..jsonio import parse_json, write_json_file
from ..sanitise import one_line
from .review import ShapesReview, review_shapes

SHAPES_JSON, PRELABEL_SHAPES_JSON = "shapes.json", "prelabel_shapes.json"
MAX_DELIVERED_SHAPES = 100_000
MAX_SHAPES_FILE_BYTES = 64 << 20


def _clean(value: Any, depth: int = 0) -> Any:
    """Server JSON with every string one printable line (bounded), kept otherwise as it came."""
    if depth > 8:
        return None
    if isinstance(value, str):
        return one_line(value, 300)
    if isinstance(value, dict):
        return {one_line(k, 100): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    return value


def shapes_of(result: Any, what: str = "delivered shapes") -> dict[str, Any] | None:
    """The vector kinds of a job's result (at its top or under ``maker_response``) as a sanitised fragment, or
    None when it has none. Raises ValidationError when it holds more than :data:`MAX_DELIVERED_SHAPES` shapes."""
    for node in (result, result.get("maker_response") if isinstance(result, dict) else None):
        if not isinstance(node, dict):
            continue
        blocks = {k: node[k] for k in VECTOR_KINDS
                  if isinstance(node.get(k), dict) and isinstance(node[k].get("data"), list)}
        if not blocks:
            continue
        count = sum(len(b["data"]) for b in blocks.values())
        if count > MAX_DELIVERED_SHAPES:
            sentence = (f"the {what} hold {count:,} shapes, more than the {MAX_DELIVERED_SHAPES:,} this tool reads "
                        f"for one job; nothing was written for it.")
            raise ValidationError([Problem("result", sentence)], message=sentence)
        return {k: {"data": _clean(b["data"])} for k, b in blocks.items()}
    return None


def prelabel_shapes(payload: Any) -> dict[str, Any] | None:
    """The vector pre-labels a journalled payload sent (``data.maker_response``), or None."""
    data = payload.get("data") if isinstance(payload, dict) else None
    return shapes_of(data.get("maker_response") if isinstance(data, dict) else None, "pre-label shapes")


def write_shapes(folder: Path, delivered: dict[str, Any], prelabel: dict[str, Any] | None) -> None:
    """``shapes.json`` (delivered) and, when the job was sent with shapes, ``prelabel_shapes.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json_file(folder / SHAPES_JSON, delivered)
    if prelabel:
        write_json_file(folder / PRELABEL_SHAPES_JSON, prelabel)
    else:
        (folder / PRELABEL_SHAPES_JSON).unlink(missing_ok=True)


def read_shapes(path: Path) -> dict[str, Any]:
    """A shapes file this module wrote, read back (bounded, sanitised). A missing or damaged file is a
    ValidationError naming it."""
    def refuse(why: str) -> ValidationError:
        return ValidationError([Problem(str(path), f"the shapes file {why}")], message=f"{path}: {why}")

    try:
        if path.stat().st_size > MAX_SHAPES_FILE_BYTES:
            raise refuse(f"is larger than {MAX_SHAPES_FILE_BYTES >> 20} MB; download the job again.")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise refuse("is missing; download the job again.") from None
    except UnicodeDecodeError:
        raise refuse("is not UTF-8 text; download the job again.") from None
    except OSError as e:
        raise refuse(f"cannot be read ({e.strerror or type(e).__name__}).") from None
    data, problem = parse_json(text, what="shapes file")
    if problem is not None:
        raise refuse(f"is damaged ({problem.message.rstrip('.')}); download the job again.")
    found = shapes_of(data)
    return found or {}


def review_folder(folder: Path, size: tuple[int, int] | None = None) -> ShapesReview | None:
    """The per-label review of a job folder holding both ``prelabel_shapes.json`` and ``shapes.json``; None
    when it does not (a job sent without shapes)."""
    pre, got = folder / PRELABEL_SHAPES_JSON, folder / SHAPES_JSON
    if not (pre.is_file() and got.is_file()):
        return None
    return review_shapes(read_shapes(pre), read_shapes(got), size)


__all__ = ["MAX_DELIVERED_SHAPES", "PRELABEL_SHAPES_JSON", "SHAPES_JSON", "prelabel_shapes", "read_shapes",
           "review_folder", "shapes_of", "write_shapes"]
