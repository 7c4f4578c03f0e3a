"""Legend keys ("#rrggbb" -> class or instance name): parse, normalise, check.

Playment maps a mask pixel's RGB, written as lower-case ``#rrggbb``, to a name. Keys are accepted in any
case and normalised to lower case; anything else (the docs' own seven-digit ``#fdffd34`` among them) is
refused with a sentence that quotes it. ``#000000`` is "unlabelled" and cannot be a class.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import Problem

HEX_KEY = re.compile(r"#[0-9a-fA-F]{6}")
UNLABELLED = "#000000"


def rgb_to_hex(r: int, g: int, b: int) -> str:
    return f"#{r:02x}{g:02x}{b:02x}"


def hex_to_rgb(key: str) -> tuple[int, int, int]:
    key = normalise_key(key)
    return int(key[1:3], 16), int(key[3:5], 16), int(key[5:7], 16)


def key_problem(key: object) -> str | None:
    """Why ``key`` is not a usable legend key, as a sentence; None when it is fine."""
    if not isinstance(key, str):
        return f"legend key {key!r} is not text; write colours as \"#rrggbb\"."
    if not HEX_KEY.fullmatch(key):
        digits = key[1:] if key.startswith("#") else key
        hint = ""
        if key.startswith("#") and re.fullmatch(r"[0-9a-fA-F]+", digits or "x"):
            hint = f" (it has {len(digits)} hex digits, a colour needs exactly 6)"
        return (f"legend key \"{key}\" is not a colour of the form \"#rrggbb\"{hint}; no mask pixel can "
                f"match it. Fix the key to the pixel colour it stands for.")
    if key.lower() == UNLABELLED:
        return ("legend key \"#000000\" means \"unlabelled\" to Playment and cannot name a class; "
                "give the class another colour.")
    return None


def normalise_key(key: str) -> str:
    """``"#FDFF34"`` -> ``"#fdff34"``; ValueError with the sentence of :func:`key_problem` otherwise."""
    why = key_problem(key)
    if why:
        raise ValueError(why)
    return key.lower()


def check_legend(legend: object, path: str = "legend") -> tuple[dict[str, str], list[Problem]]:
    """Check a legend mapping; return (normalised legend of the good entries, every problem found).

    Problems: a key that is not ``#rrggbb``, ``#000000``, two keys equal but for case, an empty or
    non-text name, an empty legend. Two colours with the same name are a warning (Playment allows it,
    but it is usually a copy-paste slip).
    """
    problems: list[Problem] = []
    if not isinstance(legend, dict):
        return {}, [Problem(path, "the legend must be an object mapping \"#rrggbb\" colours to names.")]
    if not legend:
        problems.append(Problem(path, "the legend is empty; a pre-label needs at least one colour and its name."))
    out: dict[str, str] = {}
    original: dict[str, str] = {}
    names: dict[str, str] = {}
    for key, name in legend.items():
        where = f"{path}[{json.dumps(key) if isinstance(key, str) else repr(key)}]"
        why = key_problem(key)
        if why:
            problems.append(Problem(where, why))
            continue
        norm = key.lower()
        if norm in out:
            problems.append(Problem(where, f"\"{key}\" is the same colour as \"{original[norm]}\" (keys are "
                                           f"not case-sensitive); keep one of them."))
            continue
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(where, f"the name for {norm} is empty; give the class a name."))
            continue
        clean = name.strip()
        if clean in names:
            problems.append(Problem(where, f"{norm} and {names[clean]} are both named \"{clean}\"; "
                                           f"give each colour its own name unless that is intended.",
                                    severity="warning"))
        else:
            names[clean] = norm
        out[norm] = clean
        original[norm] = key
    return out, problems


def load_legend_file(path: str | Path) -> tuple[dict[str, str], list[Problem]]:
    """Read a legend JSON file (``{"#rrggbb": "name"}``, or ``{"legend": {...}}``) and check it.

    Never raises for a user mistake: a missing file, bad JSON or bad encoding comes back as a Problem
    naming the file (and the line and column for JSON syntax errors).
    """
    p = Path(path)
    where = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, [Problem(where, "the legend file does not exist.")]
    except UnicodeDecodeError as e:
        return {}, [Problem(where, f"the legend file is not UTF-8 text (bad byte at offset {e.start}).")]
    except OSError as e:
        return {}, [Problem(where, f"the legend file cannot be read: {e.strerror}.")]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return {}, [Problem(f"{where}:{e.lineno}:{e.colno}", f"the legend file is not valid JSON: {e.msg}.")]
    if isinstance(data, dict) and isinstance(data.get("legend"), dict) and len(data) <= 2:
        data = data["legend"]
    return check_legend(data, path=where)
