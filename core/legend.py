"""Legend keys ("#rrggbb" -> class or instance name): parse, normalise, check.

Playment maps a mask pixel's RGB, written as lower-case ``#rrggbb``, to a name. Keys are accepted in any
case and normalised to lower case; anything else (the docs' own seven-digit ``#fdffd34`` among them) is
refused with a sentence that quotes it. ``#000000`` is "unlabelled" and cannot be a class.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import Problem
from .jsonio import parse_json
from .sanitise import escaped, unsafe_characters

if TYPE_CHECKING:  # numpy itself is imported where it is used (the command line starts without it)
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

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
        return (f"legend key \"{escaped(key, 80)}\" is not a colour of the form \"#rrggbb\"{hint}; no mask pixel can "
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
        bad = unsafe_characters(clean)
        if bad:
            problems.append(Problem(where, name_problem(norm, clean, bad)))
            continue
        if clean in names:
            problems.append(Problem(where, f"{norm} and {names[clean]} are both named \"{clean}\"; give each "
                                           f"colour its own name, or merge the two classes if they are one.",
                                    severity="warning"))
        else:
            names[clean] = norm
        out[norm] = clean
        original[norm] = key
    return out, problems


def name_problem(key: str, name: str, bad: list[str]) -> str:
    """The one sentence for a class name holding control or direction-changing characters (every front end
    says this one): the name shown escaped, the characters named, the fix."""
    return (f"the name for {key}, \"{escaped(name, 120)}\", holds control or direction-changing characters "
            f"({', '.join(bad)}): a terminal would act on them and Playment would show them as they are. "
            f"Remove them from the name.")


def duplicate_names(legend: object) -> dict[str, list[str]]:
    """{name: [keys]} for every name two or more colours share (names compared as stripped). Playment
    allows it, but it is usually a copy-paste slip: :func:`check_legend` warns, the window marks the rows."""
    if not isinstance(legend, dict):
        return {}
    by_name: dict[str, list[str]] = {}
    for key, name in legend.items():
        if isinstance(key, str) and isinstance(name, str) and name.strip():
            by_name.setdefault(name.strip(), []).append(key)
    return {n: keys for n, keys in by_name.items() if len(keys) > 1}


def load_legend_file(path: str | Path) -> tuple[dict[str, str], list[Problem]]:
    """Read a legend JSON file (``{"#rrggbb": "name"}``, or ``{"legend": {...}}``) and check it.

    Never raises for a user mistake: a missing file, bad JSON or bad encoding comes back as a Problem
    naming the file (and the line and column for JSON syntax errors).
    """
    data, problems = read_legend_data(path)
    if problems:
        return {}, problems
    return check_legend(data, path=str(Path(path)))


def read_legend_data(path: str | Path) -> tuple[object, list[Problem]]:
    """Read a legend JSON file without judging its keys: (raw mapping, file-level problems).

    Split from :func:`load_legend_file` so that callers can tell "the file cannot be read" (a usage
    problem, exit code 2 on the command line) from "the file reads but a key is wrong" (exit code 1).
    Accepts ``{"#rrggbb": "name"}`` and the wrapped ``{"legend": {...}}`` form.
    """
    p = Path(path)
    where = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(where, "the legend file does not exist.")]
    except IsADirectoryError:
        return None, [Problem(where, "the legend path is a folder, not a JSON file.")]
    except UnicodeDecodeError as e:
        return None, [Problem(where, f"the legend file is not UTF-8 text (bad byte at offset {e.start}).")]
    except OSError as e:
        return None, [Problem(where, f"the legend file cannot be read: {e.strerror}.")]
    data, problem = parse_json(text, what="legend file", where=where)
    if problem is not None:
        return None, [problem]
    if isinstance(data, dict) and isinstance(data.get("legend"), dict) and len(data) <= 2:
        data = data["legend"]
    return data, []


# --------------------------------------------------------------------------------------------------
# Palettes: deterministic, well separated colours for encoded masks.
# --------------------------------------------------------------------------------------------------

MAX_CLASSES = 65_535
_GREEDY_LIMIT = 1024     # colours picked one by one (farthest-point) before falling back to a grid order
_GRID_LEVELS = 32        # candidate grid per channel for the farthest-point pick (32**3 = 32,768 colours)


def srgb_to_oklab(rgb: ArrayLike) -> NDArray[np.float64]:
    """sRGB (0..255, shape (..., 3)) -> OKLab, where Euclidean distance follows perceived difference.

    Used to pick palette colours that people (and annotators in Playment's tool) can tell apart, and
    which RGB distance does poorly at (greens look alike long before blues do).
    """
    import numpy as np

    c = np.asarray(rgb, dtype=np.float64) / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                   [0.2119034982, 0.6806995451, 0.1073969566],
                   [0.0883024619, 0.2817188376, 0.6299787005]])
    m2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                   [1.9779984951, -2.4285922050, 0.4505937099],
                   [0.0259040371, 0.7827717662, -0.8086757660]])
    lab: NDArray[np.float64] = np.cbrt(c @ m1.T) @ m2.T
    return lab


def distinct_colours(n: int, exclude: tuple[str, ...] | list[str] | set[str] = ()) -> list[str]:
    """``n`` distinct ``#rrggbb`` colours, never ``#000000``, ``#ffffff`` nor any colour in ``exclude``.

    Deterministic and prefix-stable (the first k colours of ``distinct_colours(n)`` are
    ``distinct_colours(k)``), so adding a class to a list never recolours the classes before it. The
    first 1,024 are picked farthest-point in OKLab, starting from black and the excluded (pinned)
    colours: each new colour is as far as possible from every colour before it, which also keeps
    neighbours in index order well apart and every colour far from "unlabelled" black and from white
    (which would vanish over bright photos; it stays available to a pinned colour). Beyond that an
    RGB grid in bit-reversed order takes over (up to 65,535 colours), still distinct and spread out.
    """
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"the number of colours must be a whole number of at least 0, not {n!r}.")
    if n > MAX_CLASSES:
        raise ValueError(f"{n} classes are more than the {MAX_CLASSES} a mask palette can hold.")
    excl = tuple(sorted({normalise_key(k) for k in exclude}))
    return list(_distinct_colours(n, excl))


def _pack(rgb: ArrayLike) -> NDArray[np.int64]:
    import numpy as np

    rgb = np.asarray(rgb, dtype=np.int64).reshape(-1, 3)
    return (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]


_WHITE = 0xFFFFFF


@functools.lru_cache(maxsize=32)
def _distinct_colours(n: int, exclude: tuple[str, ...]) -> tuple[str, ...]:
    import numpy as np

    if n == 0:
        return ()
    excl_rgb = np.array([hex_to_rgb(k) for k in exclude], dtype=np.int64).reshape(-1, 3)
    excl_packed = set(_pack(excl_rgb).tolist())
    if n + len(excl_packed) > (1 << 24) - 1:
        raise ValueError("there are not enough colours left once the pinned colours are set aside.")

    levels = np.round(np.arange(_GRID_LEVELS) * 255 / (_GRID_LEVELS - 1)).astype(np.int64)
    cand = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    lab = srgb_to_oklab(cand)
    # Squared distance to the nearest colour already taken; black (unlabelled), white and pinned colours
    # count as taken. White as a class colour vanishes on bright photos (a white cup on a white cup), and
    # the farthest colour from black alone is white, so without it every palette would start with it.
    mind = np.minimum(np.sum((lab - srgb_to_oklab([0, 0, 0])) ** 2, axis=1),
                      np.sum((lab - srgb_to_oklab([255, 255, 255])) ** 2, axis=1))
    seeds = excl_rgb[:4096]        # a few thousand pinned colours shape the spread; more adds nothing
    for i in range(0, len(seeds), 256):
        d = ((lab[:, None, :] - srgb_to_oklab(seeds[i:i + 256])[None, :, :]) ** 2).sum(-1).min(1)
        np.minimum(mind, d, out=mind)
    taken = np.isin(_pack(cand), np.fromiter(excl_packed | {0, _WHITE}, dtype=np.int64))
    mind[taken] = -1.0

    picked: list[int] = []
    for _ in range(min(n, _GREEDY_LIMIT)):
        i = int(np.argmax(mind))
        if mind[i] < 0:
            break
        picked.append(i)
        np.minimum(mind, np.sum((lab - lab[i]) ** 2, axis=1), out=mind)
        mind[i] = -1.0
    out = [rgb_to_hex(*map(int, cand[i])) for i in picked]
    if len(out) < n:
        out += _grid_colours(n - len(out), excl_packed | set(_pack(cand[picked]).tolist()) | {0, _WHITE})
    return tuple(out)


def _grid_colours(count: int, taken: set[int]) -> list[str]:
    """``count`` RGB grid colours not in ``taken``, ordered so that consecutive ones differ a lot.

    The order is a Morton (Z-order) code of the bit-reversed grid coordinates: successive colours
    flip the most significant bits first, like a van der Corput sequence in three dimensions.
    """
    import numpy as np

    k = 2
    while k < 256 and k ** 3 < count + len(taken) + 1:
        k += 1
    bits = max(1, (k - 1).bit_length())
    coords = np.arange(k, dtype=np.int64)
    rev = np.zeros(k, dtype=np.int64)
    for b in range(bits):
        rev |= ((coords >> b) & 1) << (bits - 1 - b)
    levels = np.round(coords * 255 / (k - 1)).astype(np.int64)
    r, g, b_ = (a.ravel() for a in np.meshgrid(coords, coords, coords, indexing="ij"))
    key = np.zeros(r.shape, dtype=np.int64)
    for bit in range(bits):
        for j, ch in enumerate((g, r, b_)):     # green first: the eye is most sensitive to it
            key |= ((rev[ch] >> bit) & 1) << (3 * bit + (2 - j))
    rgb = np.stack([levels[r], levels[g], levels[b_]], -1)
    key |= (rgb.max(1) < 48).astype(np.int64) << 62     # near-black reads as "unlabelled": use last
    order = np.argsort(key, kind="stable")
    rgb = rgb[order]
    packed = _pack(rgb)
    keep = ~np.isin(packed, np.fromiter(taken, dtype=np.int64))
    rgb = rgb[keep][:count]
    if len(rgb) < count:
        raise ValueError("there are not enough colours left once the pinned colours are set aside.")
    return [rgb_to_hex(int(a), int(b), int(c)) for a, b, c in rgb]


# --------------------------------------------------------------------------------------------------
# Colours per class name: stable across jobs and frames, a minimum distance apart within one list.
# --------------------------------------------------------------------------------------------------

PALETTE_TIERS: tuple[tuple[int, float], ...] = (
    (16, 0.197), (24, 0.153), (32, 0.129), (48, 0.114), (64, 0.097), (96, 0.084), (128, 0.076),
    (192, 0.064), (256, 0.056), (384, 0.048), (512, 0.043), (768, 0.036), (1024, 0.032))
"""(K, d): the first K colours of :func:`distinct_colours` are at least d apart in OKLab (Euclidean
distance, L from 0 to 1; 0.02 is about one just-noticeable difference), and at least 0.046 (0.087 for
K <= 192) from black and white. Measured by tests/core/test_mask_colours.py."""


def _slot(name: str, size: int) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") % size


def name_colours(names: Sequence[str], pinned: Mapping[str, str] | None = None) -> dict[str, str]:
    """A ``#rrggbb`` colour per class name, derived from the name, for the names of one class list (or of
    one legend without a list), settled in the order given.

    The colours are the first K of :func:`distinct_colours` (the farthest-point palette, pinned colours set
    aside), K the smallest tier of :data:`PALETTE_TIERS` that holds every name: so any two classes of one
    list are at least that tier's distance apart in OKLab (0.197 for up to 16 names, 0.129 for 32, 0.114
    for 48, 0.084 for 96 (COCO's 80), 0.032 for 1,024), and never black or white. Each name takes its
    own slot (a hash of the name, modulo K) unless a name before it in ``names`` took it, then the next
    free one. So a name keeps its colour across jobs and frames coded with the same list, and appending
    a name to a list (within its tier) never moves the colours before it. More than 1,024 names take
    :func:`distinct_colours` in order. ``pinned`` ({name: colour}) keeps those names' colours.
    """
    pinned = {n: normalise_key(c) for n, c in (pinned or {}).items()}
    todo = list(dict.fromkeys(n for n in names if n not in pinned))
    out: dict[str, str] = {}
    tier = next((k for k, _ in PALETTE_TIERS if k >= len(todo)), None)
    if tier is None:
        out = dict(zip(todo, distinct_colours(len(todo), exclude=tuple(pinned.values())), strict=True))
    else:
        palette = distinct_colours(tier, exclude=tuple(pinned.values()))
        free = [True] * tier
        for name in todo:
            s = _slot(name, tier)
            while not free[s]:
                s = (s + 1) % tier
            free[s] = False
            out[name] = palette[s]
    return {n: pinned.get(n) or out[n] for n in dict.fromkeys(names)}
