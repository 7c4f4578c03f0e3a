"""``encode``: colour-code a class- or instance-index mask into an RGBA mask and its legend, and the
classes files that name the indices."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..defaults import CLASSES_HELP as CLASSES_HELP  # its home is core.defaults (the parser reads it)
from ..errors import Problem, ValidationError
from ..jsonio import parse_json
from ..legend import MAX_CLASSES, key_problem, name_colours
from .classlist import IGNORE_NAME, IGNORE_VALUE_8BIT, ClassList, is_background, read_class_list
from .io import load_index_mask
from .shared import MAX_LISTED, hex_key, mask_problem, pixels_text

# --------------------------------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------------------------------


# Classes in any accepted form: a list of names, {index: name}, {name: "#rrggbb"} (see parse_classes).
ClassesIn = Sequence[Any] | dict[Any, Any] | ClassList | None

_INDEXED_LINE = re.compile(r"\s*(\d+)\s*:(.*)", re.DOTALL)


def _class_lines(text: str, where: str, empty: str,
                 zero: bool = False) -> tuple[list[str] | dict[int, str], list[Problem]]:
    """The text rule shared by .txt classes files and the window's editor.

    Either every line is a name and line n names index n (returned as a list, index 1 first), or every
    line is ``n: name`` (returned as {n: name}). Trailing blank lines are ignored; any other blank line is
    a problem naming its line, because it would shift every index after it. With ``zero`` (a mask whose
    unlabelled value is not 0: ``mask import --from index --unlabelled 255``) ``0: name`` may name index 0.
    """
    text = text.removeprefix("\ufeff")     # a byte-order mark some editors write; never part of a name
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return [], [Problem(where, empty)]

    def at(i: int) -> str:
        return f"{where}:{i}" if where else ""

    indexed = [(i, _INDEXED_LINE.fullmatch(line)) for i, line in enumerate(lines, 1) if line.strip()]
    if not any(m for _, m in indexed):
        blank = [Problem(at(i), f"line {i} is empty; every line names the class whose index is "
                                f"its line number, so remove the blank line or name the class.")
                 for i, line in enumerate(lines, 1) if not line.strip()]
        return [line.strip() for line in lines], blank
    problems: list[Problem] = []
    names: dict[int, str] = {}
    line_of: dict[int, int] = {}
    example = next(lines[i - 1].strip() for i, m in indexed if m)
    for i, line in enumerate(lines, 1):
        if not line.strip():
            problems.append(Problem(at(i), f"line {i} is empty; remove the blank line or write \"n: name\" on it."))
            continue
        m = _INDEXED_LINE.fullmatch(line)
        if m is None:
            problems.append(Problem(at(i), f"line {i} (\"{line.strip()}\") gives no index while other lines do "
                                           f"(\"{example}\"); write every line as \"n: name\", or none of them."))
            continue
        index, name = index_number(m.group(1)), m.group(2).strip()
        if not int(not zero) <= index <= MAX_CLASSES:
            problems.append(Problem(at(i), f"line {i} gives class index {index_text(m.group(1))}, outside "
                                           f"{int(not zero)}..{MAX_CLASSES}; "
                                           f"0 means unlabelled and cannot name a class."))
        elif not name:
            problems.append(Problem(at(i), f"line {i} gives index {index} but no name; write \"{index}: name\"."))
        elif index in names:
            problems.append(Problem(at(i), f"line {i} gives index {index} again (line {line_of[index]} already "
                                           f"names it \"{names[index]}\"); each index names one class."))
        else:
            names[index] = name
            line_of[index] = i
    return names, problems


def index_number(digits: str) -> int:
    """A class index written in ASCII digits; -1 (outside every range) when it has more than 9 digits, so
    that a 5,001-digit key is refused with a sentence instead of Python's digit limit (4,300)."""
    text = digits.strip()
    return int(text) if len(text) <= 9 else -1


def index_text(digits: str) -> str:
    """An index as written, shortened for a sentence when it is long."""
    text = digits.strip()
    return text if len(text) <= 12 else f"{text[:6]}...({len(text):,} digits)"


def classes_from_text(text: str, where: str = "") -> tuple[dict[int, str], list[Problem]]:
    """Class names written as text (the window's editor, or the content of a .txt classes file) ->
    ({index: name}, problems), by the same rule as :func:`load_classes` (see ``CLASSES_HELP``).

    ``where`` prefixes each problem's path with ``where:line``; by default problems carry no path and
    their sentences name the line.
    """
    value, problems = _class_lines(text, where, "there are no class names; write one class name per line.")
    names, _, more = parse_classes(value, where or "classes")
    return names, problems or more


def classes_text_rule(text: str, start: int | None = None) -> str | None:
    """The sentence saying how class names written as text are indexed by the one class-list rule (for
    the colour-code dialog); None for ``n: name`` lines, which give their indices themselves."""
    value, _ = _class_lines(text, "", "")
    return read_class_list(value, start).rule if isinstance(value, list) and value else None


def resolve_classes(classes: ClassesIn, start: int | None = None) -> tuple[ClassesIn, list[Problem]]:
    """Classes in any accepted form with the class-list rule applied once: a plain list becomes the
    :class:`ClassList` it reads as (``start``: ``--classes-start``, None for the rule), which :func:`encode`
    takes as it is (its ``__ignore__`` kept); other forms come back unchanged. Also returns the problems."""
    if isinstance(classes, (list, tuple)):
        problems = parse_classes(classes, start=start)[2]
        return read_class_list(classes, start), problems
    return classes, parse_classes(classes)[2]


def classes_for_text(text: str, start: int | None = None) -> tuple[ClassesIn, list[Problem]]:
    """Class names written as text (the colour-code dialog's editor) resolved by :func:`resolve_classes`."""
    value, problems = _class_lines(text, "", "there are no class names; write one class name per line.")
    if problems:
        return value, problems
    return resolve_classes(value, start)


def classes_to_text(classes: ClassesIn) -> str:
    """Classes in any accepted form as text that :func:`classes_from_text` reads back to the same
    {index: name}: plain lines when the indices run 1..n, ``n: name`` lines otherwise. Pinned colours
    (``{"car": "#rrggbb"}``) have no text form and are left out."""
    names, _, _ = parse_classes(classes)
    if not names:
        return ""
    order = sorted(names)
    plain = order == list(range(1, len(order) + 1)) and not any(_INDEXED_LINE.fullmatch(n) for n in names.values())
    if plain and not is_background(names[1]) and names[1].strip().lower() != "__ignore__":
        return "\n".join(names[i] for i in order)
    return "\n".join(f"{i}: {names[i]}" for i in order)


def classes_unusable_is_usage(path: str | Path) -> bool:
    """For a classes file :func:`load_classes` could not use: True when the path itself cannot be read
    (missing, a folder, no permission: exit 2 on the command line), False when the file reads but its
    content is no classes file (exit 1)."""
    return not (os.path.isfile(path) and os.access(path, os.R_OK))


def load_classes(path: str | Path, *,
                 zero: bool = False) -> tuple[list[Any] | dict[Any, Any] | None, list[Problem]]:
    """Read a classes file: ``.json`` (a list of names, ``{"1": "car"}``, or ``{"car": "#rrggbb"}``) or
    ``.txt`` (one name per line; line n names index n; or ``n: name`` on every line), see ``CLASSES_HELP``.

    Returns (classes, problems). Classes is ``None`` when the file cannot be used at all (missing, not
    UTF-8, not JSON, unknown extension; :func:`classes_unusable_is_usage` tells a path that cannot be read,
    an argument error, from a file that reads but is no classes file, a refused input); with content
    problems (a blank line, a JSON number instead of a list) the data comes back too, so callers can tell
    the two apart.
    """
    p = Path(path)
    where = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(where, "the classes file does not exist.")]
    except IsADirectoryError:
        return None, [Problem(where, "the classes path is a folder, not a file.")]
    except UnicodeDecodeError as e:
        return None, [Problem(where, f"the classes file is not UTF-8 text (bad byte at offset {e.start}).")]
    except OSError as e:
        return None, [Problem(where, f"the classes file cannot be read: {e.strerror}.")]
    suffix = p.suffix.lower()
    if suffix == ".json":
        data, problem = parse_json(text, what="classes file", where=where)
        if problem is not None:
            return None, [problem]
        if isinstance(data, dict) and isinstance(data.get("classes"), (list, dict)) and len(data) == 1:
            data = data["classes"]
        if not isinstance(data, (list, dict)):
            return data, [Problem(where, "the classes file must hold a list of names or an object "
                                         "(index -> name, or name -> \"#rrggbb\").")]
        return data, []
    if suffix in (".txt", ".names", ".csv", ""):
        return _class_lines(text, where, "the classes file is empty; write one class name per line.", zero)
    return None, [Problem(where, f"the classes file has the extension \"{p.suffix}\"; use .json or .txt "
                                 f"(one class name per line).")]


def class_list_rule(classes: ClassesIn, start: int | None = None, zero: bool = False) -> str | None:
    """The sentence saying how a plain list of names was indexed (see :mod:`core.mask.classlist`); None
    for classes that give their indices themselves ({"n": "name"}, {"name": "#rrggbb"})."""
    if isinstance(classes, ClassList):
        return classes.rule
    if isinstance(classes, (list, tuple)):
        return read_class_list(classes, start, zero).rule
    return None


def names_ignore_value(classes: ClassesIn) -> bool:
    """True when the classes are a list whose line 1 is labelme's ``__ignore__``: the ignore value (255 in
    an 8-bit mask, -1 in a ``.npy``) stays unlabelled when encoding, never a class."""
    if isinstance(classes, ClassList):
        return classes.ignore
    return (isinstance(classes, (list, tuple)) and bool(classes) and isinstance(classes[0], str)
            and classes[0].strip().lower() == IGNORE_NAME)


def parse_classes(classes: ClassesIn, where: str = "classes", zero: bool = False,
                  start: int | None = None) -> tuple[dict[int, str], dict[int, str], list[Problem]]:
    """Classes in any accepted form -> ({index: name}, {index: pinned "#rrggbb"}, problems).

    With ``zero`` index 0 may be named, and a list starts at index 0 (for masks whose unlabelled value is
    not 0: ``mask import --from index --unlabelled 255``)."""
    names: dict[int, str] = {}
    pinned: dict[int, str] = {}
    problems: list[Problem] = []
    if classes is None:
        return names, pinned, problems
    if isinstance(classes, ClassList):    # a list already read by the rule (the colour-code dialog's choice)
        items = list(classes.names.items())
        written: dict[int, str] = {}
    elif isinstance(classes, (list, tuple)):
        read = read_class_list(classes, start, zero)   # the one class-list rule (background first, __ignore__)
        if 0 in read.names and not zero:
            return names, pinned, [Problem(f"{where}[0]", f"{read.rule[:-1]}, but index 0 is unlabelled in this "
                                                          f"mask, so \"{read.names[0]}\" cannot name it; start "
                                                          f"the list with background, or read it from index 1 "
                                                          f"(--classes-start 1).")]
        items = list(read.names.items())
        written = {}
    elif isinstance(classes, dict):
        keys = list(classes)
        if all((isinstance(k, int) and not isinstance(k, bool))
               or (isinstance(k, str) and k.strip().isascii() and k.strip().isdigit()) for k in keys):
            items = [(k if isinstance(k, int) else index_number(k), v) for k, v in classes.items()]
            written = {index: str(k) for (index, _), k in zip(items, keys, strict=True) if index < 0}
        else:
            items = []
            written = {}
            for pos, (name, colour) in enumerate(classes.items(), 1):
                items.append((pos, name))
                if colour in (None, ""):
                    continue
                why = key_problem(colour)
                if why:
                    problems.append(Problem(f"{where}[{json.dumps(name)}]", why))
                else:
                    pinned[pos] = colour.lower()
    else:
        return names, pinned, [Problem(where, "classes must be a list of names or a mapping.")]
    for index, name in items:
        if not (int(not zero) <= index <= MAX_CLASSES):
            shown = index_text(written.get(index, str(index)))
            problems.append(Problem(f"{where}[{shown}]", f"class index {shown} is outside "
                                                         f"{int(not zero)}..{MAX_CLASSES}; "
                                                         f"0 means unlabelled and cannot name a class."))
            continue
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(f"{where}[{index}]", f"the name for class index {index} is empty; give "
                                                         f"the class a name."))
            continue
        names[index] = name.strip()
    seen: dict[str, int] = {}
    for index, colour in pinned.items():
        if colour in seen:
            problems.append(Problem(f"{where}[{json.dumps(names.get(index, str(index)))}]",
                                    f"colour {colour} is pinned for two classes ({names.get(seen[colour])} and "
                                    f"{names.get(index)}); each class needs its own colour."))
        seen[colour] = index
    return names, pinned, problems


def _strip_rows(width: int) -> int:
    return max(1, (1 << 19) // max(1, width))


def value_counts(values: np.ndarray) -> np.ndarray:
    """Pixel count per value of an (H, W) integer mask, strip by strip (bincount on a whole uint8 image
    first widens it to int64, eight times the memory and ~15x slower than in cache-sized pieces). Indexed by
    value: 256 entries for uint8, 65,536 for uint16, max + 1 for wider types."""
    if values.size == 0:
        return np.zeros(1, np.int64)
    size = 256 if values.dtype == np.uint8 else (65536 if values.dtype == np.uint16 else int(values.max()) + 1)
    acc = np.zeros(size, np.int64)
    rows = _strip_rows(values.shape[1] if values.ndim == 2 else 1)
    for y in range(0, values.shape[0], rows):
        acc += np.bincount(values[y:y + rows].ravel(), minlength=size)
    return acc


def paint(values: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """The (H, W, 4) uint8 RGBA image of an (H, W) index mask through ``palette`` (little-endian uint32 RGBA
    per index value), strip by strip."""
    h, w = values.shape
    out = np.empty((h, w), "<u4")
    strip = _strip_rows(w)
    for y in range(0, h, strip):
        np.take(palette, values[y:y + strip], out=out[y:y + strip])
    return out.view(np.uint8).reshape(h, w, 4)


@dataclass
class EncodeResult:
    rgba: np.ndarray
    legend: dict[str, str]
    counts: dict[str, int]       # hex -> pixels (only when they were counted)


def _colours_for(names: dict[int, str], pinned: dict[int, str]) -> dict[int, str]:
    """{index: "#rrggbb"} in index order: a pinned colour, else the name's colour for this list
    (:func:`core.legend.name_colours`, settled in index order: a class keeps its colour in every job coded
    with the list, and the classes of the list stay a minimum distance apart)."""
    keys: dict[int, str] = {}
    seen: set[str] = set()
    for i in sorted(names):
        key = names[i] if names[i] not in seen else f"{names[i]}\x00{i}"   # a name given twice: two colours
        seen.add(names[i])
        keys[i] = key
    colours = name_colours(list(keys.values()), {keys[i]: c for i, c in pinned.items() if i in keys})
    return {i: colours[keys[i]] for i in sorted(names)}


def index_counts(index_mask: str | Path | np.ndarray) -> dict[int, int]:
    """{index value: pixels} for every value present in an index mask (0, unlabelled, included): what
    the window's colour-code dialog shows beside the class names."""
    counts = value_counts(load_index_mask(index_mask, negative_ignore=(-1,)))   # labelme's -1: ignored
    return {int(i): int(counts[i]) for i in np.flatnonzero(counts)}


def class_colours(classes: ClassesIn) -> list[tuple[int, str, str]]:
    """(index, "#rrggbb", name) for each class, in index order: exactly the legend :func:`encode` makes
    for these classes. Raises ValidationError when the classes have problems (see :func:`parse_classes`)."""
    names, pinned, problems = parse_classes(classes)
    if problems:
        raise ValidationError(problems)
    return [(i, colour, names[i]) for i, colour in _colours_for(names, pinned).items()]


def encode(index_mask: str | Path | np.ndarray, classes: ClassesIn, *,
           instance_of: str | None = None) -> tuple[np.ndarray, dict[str, str]]:
    """Colour-code a class- or instance-index mask into an RGBA mask valid for Playment, and its legend.

    Index 0 is unlabelled (all four channels 0); index i gets its name's colour by
    :func:`core.legend.name_colours` for this list unless the classes pin one (labelme's ``__ignore__``
    value is left unlabelled too). With ``instance_of="Car"`` each
    index present becomes an instance "Car 1", "Car 2", ... Raises ValidationError listing index
    values present in the mask without a name (value, pixel count, first position).
    """
    res = encode_full(index_mask, classes, instance_of=instance_of)
    return res.rgba, res.legend


def encode_full(index_mask: str | Path | np.ndarray, classes: ClassesIn, *,
                instance_of: str | None = None, count: bool = False,
                classes_start: int | None = None) -> EncodeResult:
    """:func:`encode`, also returning pixel counts per colour when ``count`` is set."""
    where = "index mask" if isinstance(index_mask, np.ndarray) else str(index_mask)
    ignore = instance_of is None and names_ignore_value(classes)
    idx = load_index_mask(index_mask, negative_ignore=(-1,) if ignore else ())
    w = idx.shape[1]
    mx = int(idx.max()) if idx.size else 0
    counts_by_index: np.ndarray | None = None
    if instance_of is not None:
        if not isinstance(instance_of, str) or not instance_of.strip():
            raise ValidationError([Problem("instance_of", "the instance class name is empty; give the class "
                                                          "whose instances the mask holds, e.g. \"Car\".")])
        counts_by_index = value_counts(idx)
        names = {i: f"{instance_of.strip()} {i}" for i in np.flatnonzero(counts_by_index).tolist() if i}
        pinned: dict[int, str] = {}
    else:
        names, pinned, problems = parse_classes(classes, start=classes_start)
        if problems:
            raise ValidationError(problems)
        if not names:
            raise ValidationError([Problem("classes", "no classes were given; list the class names (index 1 "
                                                      "first) or pass an instance class name.")])
    top = max(names) if names else 0
    named = np.zeros(max(top, mx) + 1, bool)
    named[list(names)] = True
    if ignore and idx.dtype == np.uint8 and IGNORE_VALUE_8BIT not in names and mx >= IGNORE_VALUE_8BIT:
        named[IGNORE_VALUE_8BIT] = True   # __ignore__'s value: left unlabelled (alpha 0), never a class
    if mx > top or not named[1:mx + 1].all():
        if counts_by_index is None:
            counts_by_index = value_counts(idx)
        present = np.flatnonzero(counts_by_index[:len(named)])
        missing = [int(v) for v in present if v and not named[v]]
        if missing:
            rows: list[dict[str, Any]] = []
            for v in missing[:MAX_LISTED]:
                y, x = divmod(int(np.argmax(idx.ravel() == v)), w)
                rows.append({"value": v, "pixels": int(counts_by_index[v]), "first": [x, y]})
            parts = [f"{r['value']} ({pixels_text(r['pixels'])}, first at x={r['first'][0]}, y={r['first'][1]})"
                     for r in rows]
            if len(missing) > MAX_LISTED:
                parts.append(f"and {len(missing) - MAX_LISTED} more")
            raise ValidationError([mask_problem(
                "unnamed_index", where,
                f"{len(missing)} index value{'s' if len(missing) != 1 else ''} in the mask "
                f"{'have' if len(missing) != 1 else 'has'} no class name: " + ", ".join(parts)
                + "; add the names to the classes file (or write \"n: name\" lines to give each index its name).",
                count=int(sum(counts_by_index[v] for v in missing)),
                examples=[tuple(r["first"]) for r in rows], details=rows)])

    legend: dict[str, str] = {}
    pal = np.zeros(256 if idx.dtype == np.uint8 else 65536, "<u4")
    for i, colour in _colours_for(names, pinned).items():
        legend[colour] = names[i]
        pal[i] = hex_key(colour)
    rgba = paint(idx, pal)
    counts: dict[str, int] = {}
    if count or counts_by_index is not None:
        if counts_by_index is None:
            counts_by_index = value_counts(idx)
        counts = {c: int(counts_by_index[i]) if i < len(counts_by_index) else 0
                  for c, i in zip(legend, sorted(names), strict=False)}
    return EncodeResult(rgba, legend, counts)
