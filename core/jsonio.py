"""JSON written by people, read safely: one parser for job files, JSONL manifest rows, legend and classes files.

Python's own ``json.loads`` takes things that later break the tool or are silently wrong, so
:func:`parse_json` refuses them with one sentence (a :class:`~core.errors.Problem`), never an exception:

- syntax errors (the line and column are in the problem's path, or in the sentence when no path is given);
- a key given twice in one object (``json`` keeps the last one without a word);
- integers longer than :data:`MAX_NUMBER_DIGITS` digits (Python refuses to print ones over 4,300 digits,
  and no server holds them), numbers too large for a float (``1e999``), and ``NaN`` / ``Infinity``,
  which are not JSON at all;
- nesting deeper than :data:`MAX_DEPTH` levels (deeper documents exhaust the recursion limit, in the
  parser or later in ``copy.deepcopy``);
- lone surrogate escapes (``"\\ud800"``): text that no UTF-8 file or database can hold.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from .errors import Problem, UsageError, ValidationError
from .localfile import regular_file_problem

MAX_DEPTH = 64               # objects and arrays nested in one another; real job files use 5 or 6
MAX_NUMBER_DIGITS = 100      # longer integers are refused (a 64-bit ID has 20 digits)
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class _Refused(Exception):
    """Raised from the parser's hooks: ``message`` is the sentence, ``needle`` text to locate it by."""

    def __init__(self, message: str, needle: str | None = None, nth: int = 1):
        super().__init__(message)
        self.message = message
        self.needle = needle
        self.nth = nth


def _pairs(what: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                shown = json.dumps(key, ensure_ascii=False)
                shown = shown if len(shown) <= 60 else shown[:57] + "...\""
                raise _Refused(f"the {what} has the key {shown} twice in one object; JSON would silently keep "
                               f"only the last one, so remove or rename one of them.", json.dumps(key), 2)
            out[key] = value
        return out
    return hook


def _int(what: str) -> Any:
    def hook(text: str) -> int:
        digits = len(text.lstrip("-"))
        if digits > MAX_NUMBER_DIGITS:
            raise _Refused(f"the {what} holds a number {digits:,} digits long (at most {MAX_NUMBER_DIGITS} "
                           f"are allowed); write it as text in quotes if it is an ID.", text[:40])
        return int(text)
    return hook


def _float(what: str) -> Any:
    def hook(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            shown = text if len(text) <= 30 else text[:27] + "..."
            raise _Refused(f"the {what} holds the number {shown}, too large for a JSON number; write a smaller "
                           f"number, or text in quotes.", text[:40])
        return value
    return hook


def _constant(what: str) -> Any:
    def hook(name: str) -> Any:
        raise _Refused(f"the {what} holds {name}, which is not a JSON number; write a number or null.", name)
    return hook


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply objects and arrays nest in ``value`` (a scalar is 0, ``[]`` is 1), counted without
    recursion and only up to ``limit + 1`` (enough to tell "too deep")."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            level += 1
            if level > deepest:
                deepest = level
                if deepest > limit:
                    return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level) for child in children)
    return deepest


def _surrogate_text(value: Any) -> str | None:
    """The first text (key or value) in ``value`` holding a lone surrogate, else None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _position(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def parse_json(text: str, *, what: str, where: str = "") -> tuple[Any, Problem | None]:
    """Parse ``text`` (JSON that a person wrote, in a file or a manifest row) as the ``what`` (e.g. "job
    file", "legend file"): ``(data, None)``, or ``(None, problem)`` with one plain sentence. The problem's
    path is ``where`` (the file), with ``:line:column`` when the place is known; without ``where`` the
    sentence says the place instead. Never raises for any input text."""

    def problem(message: str, pos: int | None = None) -> tuple[None, Problem]:
        if pos is None:
            return None, Problem(where, message)
        line, col = _position(text, pos)
        if where:
            return None, Problem(f"{where}:{line}:{col}", message)
        at = f"character {col}" if line == 1 else f"line {line}, column {col}"
        return None, Problem("", message.rstrip(".") + f" (at {at}).")

    text = text.removeprefix("\ufeff")
    try:
        data = json.loads(text, object_pairs_hook=_pairs(what), parse_int=_int(what), parse_float=_float(what),
                          parse_constant=_constant(what))
    except json.JSONDecodeError as e:
        return problem(f"the {what} is not valid JSON: {e.msg}.", e.pos)
    except _Refused as e:
        pos = -1
        if e.needle:
            for _ in range(e.nth):
                found = text.find(e.needle, pos + 1)
                if found < 0:
                    break
                pos = found
        return problem(e.message, pos if pos >= 0 else None)
    except RecursionError:
        return problem(f"the {what} nests objects or arrays more than {MAX_DEPTH} levels deep; no job needs that "
                       f"many, so flatten it.")
    except (ValueError, TypeError, MemoryError) as e:  # anything else the parser cannot hold
        return problem(f"the {what} cannot be read as JSON ({type(e).__name__}).")
    if depth(data) > MAX_DEPTH:
        return problem(f"the {what} nests objects or arrays more than {MAX_DEPTH} levels deep; no job needs that "
                       f"many, so flatten it.")
    bad = _surrogate_text(data)
    if bad is not None:
        m = _SURROGATE.search(bad)
        code = f"\\u{ord(m.group()):04x}" if m else "\\ud800"
        return problem(f"the {what} holds the escape \"{code}\" (half of a UTF-16 pair), which is not text any "
                       f"file or server can hold; remove it or write the whole character.")
    return data, None


def read_json_file(path: str | Path, what: str = "job file") -> Any:
    """Read and parse a JSON file a person wrote: a file that cannot be read is a UsageError (exit 2: the
    path is wrong), text that is not UTF-8 or not acceptable JSON a ValidationError naming the file (exit 1)."""
    p = Path(path)
    special = regular_file_problem(p, what)
    if special is not None:  # a device is endless, a /proc file holds the environment: never read them
        raise UsageError(special)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise UsageError(f"The {what} {p} does not exist.") from e
    except IsADirectoryError as e:
        raise UsageError(f"The {what} {p} is a folder, not a file.") from e
    except UnicodeDecodeError as e:
        raise ValidationError([Problem(str(p), f"the {what} is not UTF-8 text (bad byte at offset {e.start}); "
                                               f"save it as UTF-8.")]) from e
    except OSError as e:
        raise UsageError(f"The {what} {p} cannot be read: {e.strerror}.") from e
    data, problem = parse_json(text, what=what, where=str(p))
    if problem is not None:
        raise ValidationError([problem])
    return data


def write_text_atomically(path: Path, text: str) -> None:
    """Temp file + rename in the same folder: a crash never leaves half a file (a draft, a job's results)."""
    import tempfile  # here, not at import: `mask check` reads JSON and must start without it
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_file(path: Path, obj: Any) -> None:
    """``obj`` as indented UTF-8 JSON at ``path``, written atomically (:func:`write_text_atomically`)."""
    write_text_atomically(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


__all__ = ["MAX_DEPTH", "MAX_NUMBER_DIGITS", "depth", "parse_json", "read_json_file", "write_json_file",
           "write_text_atomically"]
