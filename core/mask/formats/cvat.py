"""CVAT "Segmentation mask 1.1" export -> values per pixel, keeping CVAT's colours.

The export holds RGB masks (``SegmentationClass/<frame>.png``) and a ``labelmap.txt`` whose lines read
``name:r,g,b:parts:actions`` (comment lines start with ``#``). A pixel's colour is its class; black
(``background:0,0,0::``) is unlabelled. The labelmap is ``--labelmap FILE``, else the ``labelmap.txt``
next to the mask or in one of the two folders above it."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ...errors import Problem, UsageError, ValidationError
from ...legend import rgb_to_hex
from ..shared import mask_problem
from ._common import Decoded, ImportOptions, read_text


def find_labelmap(mask: str | Path) -> Path | None:
    here = Path(mask).resolve().parent
    for folder in (here, here.parent, here.parent.parent):
        if (folder / "labelmap.txt").is_file():
            return folder / "labelmap.txt"
    return None


def parse_labelmap(text: str, where: str) -> list[tuple[str, tuple[int, int, int]]]:
    """``name:r,g,b:parts:actions`` lines -> [(name, (r, g, b))], refusing a malformed line by number."""
    out: list[tuple[str, tuple[int, int, int]]] = []
    problems: list[Problem] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(":")
        name = parts[0].strip()
        try:
            rgb = tuple(int(c) for c in parts[1].split(","))
        except (IndexError, ValueError):
            rgb = ()
        if not name or len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
            problems.append(Problem(f"{where}:{n}", f"line {n} (\"{line.strip()[:60]}\") is not "
                                                    f"\"name:r,g,b::\" with three numbers 0..255."))
            continue
        out.append((name, (rgb[0], rgb[1], rgb[2])))
    if problems:
        raise ValidationError(problems)
    if not out:
        raise ValidationError([Problem(where, "the labelmap names no labels; CVAT writes one \"name:r,g,b::\" line "
                                              "per label.")])
    return out


def load_rgb(path: str | Path, max_pixels: int) -> np.ndarray:
    """An RGB(A) image as (H, W) uint32 keys r | g << 8 | b << 16 (alpha dropped)."""
    where = str(path)
    if not Path(path).is_file():
        raise UsageError(f"{where}: the mask file does not exist.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
            w, h = img.size
            if w * h > max_pixels:
                raise ValidationError([mask_problem("too_large", where, f"the image is {w:,} x {h:,} pixels, over "
                                                f"the limit of {max_pixels / 1e6:,.0f} megapixels; it was not "
                                                f"decoded.")])
            if img.mode not in ("RGB", "RGBA", "P"):
                raise ValidationError([mask_problem("not_rgb", where, f"the image is {img.mode}, not an RGB mask; "
                                                f"CVAT's segmentation masks are RGB PNGs.")])
            rgb = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ValidationError([mask_problem("corrupt", where, f"the image cannot be read ({e}).")]) from e
    return (rgb[..., 0].astype(np.uint32) | (rgb[..., 1].astype(np.uint32) << 8)
            | (rgb[..., 2].astype(np.uint32) << 16))


def decode(path: str | Path, opts: ImportOptions) -> Decoded:
    where = str(path)
    lm_path = Path(opts.labelmap) if opts.labelmap else find_labelmap(path)
    if lm_path is None:
        raise UsageError(f"{where}: no labelmap.txt next to the mask or above it; name CVAT's labelmap with "
                         f"--labelmap FILE.")
    labelmap = parse_labelmap(read_text(lm_path, "labelmap"), str(lm_path))
    return decode_colours(path, opts, labelmap, str(lm_path), "add the labels to the labelmap, or export the "
                                                              "mask again from CVAT")


def decode_colours(path: str | Path, opts: ImportOptions, labelmap: list[tuple[str, tuple[int, int, int]]],
                   source: str, fix: str, unlabelled_colours: frozenset[int] = frozenset()) -> Decoded:
    """An RGB mask read by a colour table (CVAT's or VOC's labelmap): each colour its label, black and
    ``unlabelled_colours`` (keys r | g << 8 | b << 16) unlabelled, any other colour refused naming where it
    first is and ``source``, the table's name."""
    where = str(path)
    keys = load_rgb(path, opts.max_pixels)
    # colour key -> value 1..n (0 for black); unknown colours become value n+1.. and are named in the refusal
    table: dict[int, int] = {}
    names: dict[int, str] = {}
    pinned: dict[str, str] = {}
    unlabelled = set()
    for name, (r, g, b) in labelmap:
        key = r | (g << 8) | (b << 16)
        if key in table:
            continue  # CVAT merges labels of one colour; the first name holds it
        value = len(table) + 1
        table[key] = value
        if key == 0 or key in unlabelled_colours:
            unlabelled.add(value)
        else:
            names[value] = name
            pinned.setdefault(name, rgb_to_hex(r, g, b))
    known = np.array(sorted(table), np.uint32)
    pos = np.searchsorted(known, keys).clip(0, len(known) - 1)
    hit = known[pos] == keys
    lut = np.array([table[int(k)] for k in known], np.uint16)
    values = np.where(hit, lut[pos], 0).astype(np.uint16)
    miss = ~hit & (keys != 0)   # black is unlabelled whether the labelmap names it or not
    if miss.any():
        uniq, cnt = np.unique(keys[miss], return_counts=True)
        order = np.argsort(-cnt, kind="stable")[:8]
        parts = []
        for i in order:
            k = int(uniq[i])
            y, x = np.argwhere(keys == k)[0]
            parts.append(f"{rgb_to_hex(k & 255, (k >> 8) & 255, (k >> 16) & 255)} ({int(cnt[i]):,} pixels, "
                         f"first at x={x}, y={y})")
        more = f" and {len(uniq) - len(order)} more" if len(uniq) > len(order) else ""
        n = len(uniq)
        raise ValidationError([mask_problem("unknown_colour", where,
                                        f"{n} colour{'s' if n != 1 else ''} in the mask {'are' if n != 1 else 'is'} "
                                        f"not in {source}: " + ", ".join(parts) + more + f"; {fix}.",
                                        count=int(cnt.sum()))])
    unlabelled.add(0)
    values = values if len(table) > 255 else values.astype(np.uint8)
    return Decoded(where, values, names, unlabelled, pinned=pinned, value_word="colour")
