"""The one class-list rule: which index a plain list of class names (a .txt classes file's lines, a JSON
list) starts from, for ``mask import --from index|voc``, ``mask encode`` and the window's colour-code
dialog.

- Line 1 names background (``background``, ``_background_``, ``__background__``, ``unlabeled``,
  ``unlabelled``, ``void``; any case): the list starts at index 0, and index 0 stays unlabelled (alpha 0,
  never a class sent to Playment).
- Line 1 is labelme's ``__ignore__``: it names the ignore value (255 in an 8-bit mask, -1 in a ``.npy``),
  never a class, and the next line is index 0 (usually ``_background_``, unlabelled as above).
- Otherwise line 1 is index 1 (index 0 is unlabelled).
- ``start`` (``--classes-start 0|1``) forces either reading; ``__ignore__`` is never a class either way.

Lists given as ``n: name`` lines or ``{"n": "name"}`` say their indices themselves; the rule does not apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..defaults import CLASSES_HELP

BACKGROUND_NAMES = frozenset({"background", "_background_", "__background__", "unlabeled", "unlabelled", "void"})
"""Names that, on line 1, mean "index 0 is background" (compared in lower case)."""

IGNORE_NAME = "__ignore__"
"""labelme's first line in class_names.txt: the ignore value, not a class."""

CLASS_LIST_RULE = CLASSES_HELP
"""The rule in one paragraph, for ``--help`` and the colour-code dialog."""


@dataclass(frozen=True)
class ClassList:
    """A plain list read by the rule: ``names`` by index (background at 0 and ``__ignore__`` left out),
    ``start`` (the index of the first class line), ``background`` (the name that made index 0 unlabelled,
    or None), ``ignore`` (True when ``__ignore__`` came first) and ``rule``, a sentence saying which
    reading was used."""

    names: dict[int, Any] = field(default_factory=dict)
    start: int = 1
    background: str | None = None
    ignore: bool = False
    rule: str = ""


def is_background(name: Any) -> bool:
    return isinstance(name, str) and name.strip().lower() in BACKGROUND_NAMES


def read_class_list(lines: Sequence[Any], start: int | None = None, zero: bool = False) -> ClassList:
    """Index each entry of a plain list of class names by the rule (see the module's docstring).

    ``start`` forces the first index (0 or 1); ``zero`` (a mask whose unlabelled value is not 0) makes 0
    the default start, as ``--unlabelled 255`` always did."""
    if start not in (None, 0, 1):
        raise ValueError("start must be 0, 1 or None")
    items = list(lines)
    ignore = bool(items) and isinstance(items[0], str) and items[0].strip().lower() == IGNORE_NAME
    if ignore:
        items = items[1:]
    background_first = bool(items) and is_background(items[0])
    if start is not None:
        first = start
        why = f"--classes-start {start}"
    elif ignore:
        first, why = 0, f"line 1 is {IGNORE_NAME} (the ignore value), so line 2"
    elif background_first:
        first, why = 0, f"line 1 names background (\"{str(items[0]).strip()}\"), so it"
    elif zero:
        first, why = 0, "the unlabelled value is not 0, so line 1"
    else:
        first, why = 1, "line 1"
    names = {first + i: n for i, n in enumerate(items)}
    background = None
    if first == 0 and background_first:
        background = str(names.pop(0)).strip()
    if start is not None:
        rule = f"{why}: the first class line is index {first}"
    elif ignore or background_first:
        rule = f"{why} is index 0"
    else:
        rule = f"{why} is index {first}"
    if background is not None:
        rule += f"; index 0 (\"{background}\") stays unlabelled"
    if ignore:
        rule += f"; {IGNORE_NAME} names the ignore value (255 in an 8-bit mask, -1 in .npy), not a class"
    return ClassList(names, first, background, ignore, rule + ".")


IGNORE_VALUE_8BIT = 255
"""The value ``__ignore__`` names in an 8-bit mask (labelme's lblsave writes -1 as 255); -1 in a ``.npy``."""


def _listed(parts: list[str]) -> str:
    """"a", "a and b", "a, b and c", or the first eight and "and n more"."""
    if len(parts) > 8:
        return ", ".join(parts[:8]) + f" and {len(parts) - 8} more"
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)


def names_against_mask(names: dict[int, Any], counts: dict[int, int],
                       ignore: bool = False) -> tuple[str | None, str | None]:
    """What a class list says against the index values a mask holds (``counts``: {value: pixels}):
    (missing, absent). ``missing`` is the sentence for values the mask holds that no class names (0, and
    with ``ignore`` the ignore value, aside): the mask cannot be colour-coded until they are named.
    ``absent`` names the classes given for indices the mask does not hold, usually a list read from the
    wrong index: a warning. Each is None when there is nothing to say."""
    skip = {0, IGNORE_VALUE_8BIT, -1} if ignore else {0}
    unnamed = sorted(v for v, n in counts.items() if n and v not in skip and v not in names)
    missing = None
    if unnamed:
        missing = (f"The mask holds index {_listed([f'{v} ({counts[v]:,} px)' for v in unnamed])} with no "
                   f"class name; name "
                   f"{'them' if len(unnamed) > 1 else 'it'} (or write \"n: name\" lines) before colour-coding.")
    gone = [(i, str(n)) for i, n in sorted(names.items()) if not counts.get(i)]
    absent = None
    if gone:
        listed = _listed([f"{i} (\"{n}\")" for i, n in gone])
        one = len(gone) == 1
        absent = (f"No pixel of the mask holds index {listed}: "
                  f"{'that name' if one else 'those names'} may be read from the wrong index; check which "
                  f"reading of the list was used.")
    return missing, absent
