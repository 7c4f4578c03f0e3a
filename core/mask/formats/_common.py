"""What every import format shares: the decoded labels, the options, and the one finishing step (class
names through --map and the project's class list, colours, counts) that turns them into Playment's
RGBA mask and legend. Private to :mod:`core.mask.formats`; import from the package."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import Problem, UsageError, ValidationError
from ...jsonio import parse_json
from ...legend import key_problem
from ...localfile import regular_file_problem
from ..encode import paint, value_counts
from ..io import DEFAULT_MAX_PIXELS, save_png, save_png_image, write_legend
from ..shared import MAX_LISTED, hex_key, mask_problem, pixels_text


@dataclass
class ImportOptions:
    """Every option of ``mask import``; a format reads the ones that concern it and ignores the rest."""

    image: str | None = None                 # coco: the image's file_name or id
    instances: bool = False                  # coco, cityscapes instanceIds: one legend entry per instance
    classes: str | Path | list[Any] | dict[Any, Any] | None = None   # voc, index: class names by value
    ids: str | None = None                   # cityscapes: label | train | instance (else from the suffix)
    labelmap: str | Path | None = None       # cvat: labelmap.txt (else found next to or above the mask)
    order: str | Path | None = None          # binary: class names, later lines win overlaps
    unlabelled: int = 0                      # index: the value meaning unlabelled
    ignore: tuple[int, ...] = ()             # raster formats: more values that become unlabelled
    colours: str | Path | dict[str, str] | None = None   # class name -> "#rrggbb" (or a legend)
    mapping: str | Path | dict[str, str | None] | None = None   # rename, merge (same new name) or drop (null)
    known: Sequence[str] | None = None       # the project's class names (a profile's class list)
    max_pixels: int = DEFAULT_MAX_PIXELS
    classes_start: int | None = None         # voc, index: force a class list to start at 0 or 1


@dataclass
class Decoded:
    """A format's answer before names and colours are settled: a value per pixel and what each value is.

    ``values`` is a 2-D integer array; ``names`` maps a value to its class (or instance) name;
    ``unlabelled`` values become unlabelled; any other value present is refused with a sentence naming
    it. ``pinned`` holds colours the format itself fixes (CVAT's labelmap), by class name.
    """

    where: str
    values: np.ndarray
    names: dict[int, str]
    unlabelled: set[int] = field(default_factory=set)
    pinned: dict[str, str] = field(default_factory=dict)
    unnamed_hint: str = "name it in the classes file (--classes) or list it with --ignore"
    value_word: str = "value"
    counts: np.ndarray | None = None         # pixels per value when the format already counted them
    problems: list[Problem] = field(default_factory=list)   # warnings found while decoding
    classes_rule: str | None = None          # how a plain class list was indexed (core.mask.classlist)


@dataclass
class ImportResult:
    """A converted mask, nothing written yet. ``classes`` holds, per pixel, the position of its class in
    ``legend`` plus one (0 = unlabelled); :meth:`rgba` colours it; :meth:`write` saves mask and legend."""

    source: str
    format: str
    classes: np.ndarray
    legend: dict[str, str]                   # "#rrggbb" -> name, in order of first value
    counts: dict[str, int]                   # name -> pixels
    unlabelled: int                          # pixels left unlabelled
    problems: list[Problem] = field(default_factory=list)   # warnings (errors raise ValidationError)
    classes_rule: str | None = None          # how a plain class list was indexed, said to the user

    @property
    def width(self) -> int:
        return int(self.classes.shape[1])

    @property
    def height(self) -> int:
        return int(self.classes.shape[0])

    def rows(self) -> list[tuple[str, str, int]]:
        """(colour, name, pixels) per legend entry: what the window shows before anything is written."""
        return [(c, n, self.counts.get(n, 0)) for c, n in self.legend.items()]

    def _palette(self) -> np.ndarray:
        """RGBA (little-endian uint32) per class value: the legend's colours from 1 on, 0 all zero."""
        pal = np.zeros(256 if self.classes.dtype == np.uint8 else 65536, "<u4")
        for i, colour in enumerate(self.legend, 1):
            pal[i] = hex_key(colour)
        return pal

    def rgba(self) -> np.ndarray:
        """The (H, W, 4) uint8 mask: legend colours with alpha 255, unlabelled all zero."""
        return paint(self.classes, self._palette())

    def write(self, out_png: str | Path, legend_out: str | Path) -> None:
        """Write the RGBA PNG and the legend JSON (each atomically; OSError when a folder cannot be written).
        Up to 255 classes the colours are applied by Pillow (a palette image converted to RGBA in C) and
        the image saved as it is: no (H, W, 4) array is made, which on an 8K mask is most of the import's
        own time beside the PNG encode."""
        if self.classes.dtype == np.uint8:
            from PIL import Image

            img = Image.fromarray(np.ascontiguousarray(self.classes), "P")
            img.putpalette(self._palette().view(np.uint8).tobytes(), rawmode="RGBA")
            save_png_image(img.convert("RGBA"), out_png)
        else:
            save_png(self.rgba(), out_png)
        write_legend(self.legend, legend_out)


# ------------------------------------------------------------------------------------------- files
def read_text(path: str | Path, what: str) -> str:
    """A small UTF-8 text file; UsageError naming it when the path cannot be read (missing, a folder, no
    permission), ValidationError when it reads but is not UTF-8 text (a refused input)."""
    p = Path(path)
    if (special := regular_file_problem(p, what)) is not None:  # /dev/zero, /proc/self/environ
        raise UsageError(special)
    try:
        return p.read_text(encoding="utf-8").removeprefix("\ufeff")
    except FileNotFoundError:
        raise UsageError(f"{p}: the {what} does not exist.") from None
    except IsADirectoryError:
        raise UsageError(f"{p}: the {what} is a folder, not a file.") from None
    except UnicodeDecodeError as e:
        raise ValidationError([Problem(str(p), f"the {what} is not UTF-8 text (bad byte at offset {e.start}).")],
                              f"{p}: the {what} is not UTF-8 text (bad byte at offset {e.start}).") from None
    except OSError as e:
        raise UsageError(f"{p}: the {what} cannot be read ({e.strerror}).") from None


def read_json(path: str | Path, what: str) -> Any:
    text = read_text(path, what)
    data, problem = parse_json(text, what=what, where=str(path))
    if problem is not None:
        raise ValidationError([problem])
    return data


def load_mapping(source: str | Path | dict[str, str | None] | None) -> dict[str, str | None]:
    """``--map FILE``: a JSON object {"old name": "new name"} (rename; two old names with one new name
    merge them) or {"old name": null} (drop: its pixels become unlabelled)."""
    if source is None:
        return {}
    where = "map" if isinstance(source, dict) else str(source)
    data = source if isinstance(source, dict) else read_json(source, "map file")
    if not isinstance(data, dict):
        raise ValidationError([Problem(where, "the map must be a JSON object: {\"old name\": \"new name\"}, or "
                                              "{\"old name\": null} to drop a class.")])
    out: dict[str, str | None] = {}
    problems = []
    for old, new in data.items():
        if new is not None and (not isinstance(new, str) or not new.strip()):
            problems.append(Problem(where, f"the new name for \"{old}\" is {json.dumps(new)}; write a class name, "
                                           f"or null to drop the class."))
            continue
        out[str(old).strip()] = new.strip() if isinstance(new, str) else None
    if problems:
        raise ValidationError(problems)
    return out


def load_colours(source: str | Path | dict[str, str] | None) -> dict[str, str]:
    """``--colours FILE``: {"class name": "#rrggbb"}, or a legend {"#rrggbb": "class name"}."""
    if source is None:
        return {}
    where = "colours" if isinstance(source, dict) else str(source)
    data = source if isinstance(source, dict) else read_json(source, "colours file")
    if isinstance(data, dict) and isinstance(data.get("legend"), dict) and len(data) == 1:
        data = data["legend"]
    if not isinstance(data, dict):
        raise ValidationError([Problem(where, "the colours file must be a JSON object: {\"class name\": "
                                              "\"#rrggbb\"}, or a legend {\"#rrggbb\": \"class name\"}.")])
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for k, v in data.items():
        name, colour = (v, k) if key_problem(k) is None else (k, v)
        why = key_problem(colour)
        if why or not isinstance(name, str) or not name.strip():
            problems.append(Problem(where, why or f"the entry {json.dumps(k)} has no class name."))
            continue
        colour = colour.lower()
        clash = next((n for n, c in out.items() if c == colour), None)
        if clash is not None:
            problems.append(Problem(where, f"{colour} is given to both \"{clash}\" and \"{name.strip()}\"; each "
                                           f"class needs its own colour."))
            continue
        out[name.strip()] = colour
    if problems:
        raise ValidationError(problems)
    return out


# ----------------------------------------------------------------------------------------- colours
def stable_colours(names: Sequence[str], pinned: dict[str, str] | None = None,
                   universe: Sequence[str] | None = None) -> dict[str, str]:
    """A colour per name: pinned when given, else the name's colour in core's palette
    (:func:`core.legend.name_colours`), the same class getting the same colour in every job. ``universe``
    (the project's class list) settles colours over every known name in the list's order, so that which
    classes one mask happens to hold cannot move a colour, and a class gets the colour ``mask encode`` gives
    it with that list; without one, the names are settled in sorted order, so the answer depends only on
    the set of names. The classes of one list (or of one legend) stay a minimum distance apart.
    """
    from ...legend import name_colours

    known = list(dict.fromkeys(universe or ()))
    order = known + sorted(set(names) - set(known))
    colours = name_colours(order, {n: c for n, c in (pinned or {}).items()})
    return {n: colours[n] for n in names}


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


# --------------------------------------------------------------------------------------------- names
def closest(name: str, known: Sequence[str]) -> str | None:
    """The known name closest to ``name`` (difflib), ignoring case first."""
    folded = {k.casefold(): k for k in known}
    if name.casefold() in folded:
        return folded[name.casefold()]
    hits = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.0)
    return folded[hits[0]] if hits else None


def unknown_name_problem(where: str, name: str, known: Sequence[str], pixels: int) -> Problem:
    near = closest(name, known)
    hint = f"the closest is \"{near}\"" if near else "the list is empty"
    return mask_problem("unknown_class", where,
                    f"class \"{name}\" ({pixels_text(pixels)}) is not one of the project's classes ({hint}); rename "
                    f"it to a known class, drop it, or add it to the profile's class list.", count=pixels,
                    details=[{"name": name, "closest": near}], fix="class_map")


# --------------------------------------------------------------------------------------------- counts
def unnamed_problem(dec: Decoded, missing: list[int], counts: np.ndarray) -> Problem:
    w = dec.values.shape[1]
    rows: list[dict[str, Any]] = []
    flat = dec.values.ravel()
    for v in missing[:MAX_LISTED]:
        y, x = divmod(int(np.argmax(flat == v)), w)
        rows.append({"value": v, "pixels": int(counts[v]), "first": [x, y]})
    parts = [f"{r['value']} ({pixels_text(r['pixels'])}, first at x={r['first'][0]}, y={r['first'][1]})" for r in rows]
    if len(missing) > MAX_LISTED:
        parts.append(f"and {len(missing) - MAX_LISTED} more")
    n = len(missing)
    return mask_problem("unnamed_index", dec.where,
                    f"{n} {dec.value_word}{'s' if n != 1 else ''} in the mask {'have' if n != 1 else 'has'} no class "
                    f"name: " + ", ".join(parts) + f"; {dec.unnamed_hint}.",
                    count=int(sum(int(counts[v]) for v in missing)),
                    examples=[tuple(r["first"]) for r in rows], details=rows)


# --------------------------------------------------------------------------------------------- finish
def finish(dec: Decoded, fmt: str, opts: ImportOptions) -> ImportResult:
    """Decoded values -> classes, legend, counts; raises ValidationError naming every refusal."""
    values = dec.values
    counts = dec.counts if dec.counts is not None else value_counts(values)
    present = [int(v) for v in np.flatnonzero(counts)]
    missing = [v for v in present if v not in dec.names and v not in dec.unlabelled]
    if missing:
        raise ValidationError([unnamed_problem(dec, missing, counts)])
    mapping = load_mapping(opts.mapping)
    # value -> final name (None: unlabelled)
    final: dict[int, str | None] = {}
    for v in present:
        if v in dec.unlabelled:
            continue
        name: str | None = dec.names[v]
        final[v] = mapping.get(name, name) if name in mapping else name
    order: list[str] = []
    pixels: dict[str, int] = {}
    for v, kept in final.items():
        if kept is None:
            continue
        name = kept
        if name not in pixels:
            order.append(name)
            pixels[name] = 0
        pixels[name] += int(counts[v])
    problems: list[Problem] = list(dec.problems)
    known = [k.strip() for k in (opts.known or ()) if isinstance(k, str) and k.strip()]
    if known:
        known_set = set(known)
        refused = [unknown_name_problem(dec.where, n, known, pixels[n]) for n in order if n not in known_set]
        if refused:
            raise ValidationError(refused)
    if len(order) > 65535:
        raise ValidationError([mask_problem("too_many_classes", dec.where, f"the mask holds {len(order):,} classes or "
                                        f"instances; a Playment mask holds at most 65,535.")])
    pinned = {**{n: c for n, c in dec.pinned.items()}, **load_colours(opts.colours)}
    colours = stable_colours(order, pinned, universe=known or None)
    clash: dict[str, str] = {}
    for n in order:
        c = colours[n]
        if c in clash:
            raise ValidationError([mask_problem("colour_clash", dec.where, f"\"{clash[c]}\" and \"{n}\" both get the "
                                            f"colour {c}; give one of them another colour (--colours FILE).")])
        clash[c] = n
    position = {n: i for i, n in enumerate(order, 1)}
    dtype = np.uint8 if len(order) < 256 else np.uint16
    top = len(counts)
    lut = np.zeros(max(top, 1), dtype)
    for v, name in final.items():
        if name is not None:
            lut[v] = position[name]
    classes = np.empty(values.shape, dtype)
    strip = max(1, (1 << 19) // max(1, values.shape[1]))
    for y in range(0, values.shape[0], strip):
        np.take(lut, values[y:y + strip], out=classes[y:y + strip])
    legend = {colours[n]: n for n in order}
    labelled = sum(pixels.values())
    return ImportResult(dec.where, fmt, classes, legend, {n: pixels[n] for n in order},
                        int(values.size - labelled), problems, dec.classes_rule)
