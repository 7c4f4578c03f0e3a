"""``repair``: write a fixed copy of an anti-aliased or resized mask (colours snapped to the legend,
soft alpha hardened, colour under alpha 0 cleared); valid pixels are never changed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Problem, UsageError, ValidationError
from .check import (
    BLACK_ALPHA,
    CATEGORY_CODES,
    HIDDEN,
    SOFT,
    UNKNOWN,
    categorise_colours,
    colour_stats,
    legend_problems,
    load_legend,
    snap_targets,
)
from .io import DEFAULT_MAX_PIXELS, decode_pixels, open_image, save_png
from .shared import (
    DEFAULT_ALPHA_THRESHOLD,
    DEFAULT_TOLERANCE,
    STRIP_PIXELS,
    hex_key,
    key_hex,
    mask_problem,
    unpack_rgba,
)


@dataclass
class RepairSummary:
    """What :func:`repair` changed, in pixels per kind, and what it could not fix.

    Kinds are not exclusive: a soft-edged pixel whose colour was also off is counted under both
    ``alpha_raised`` and ``snapped``.
    """

    input_path: str
    out_path: str
    width: int
    height: int
    changed: dict[str, int] = field(default_factory=dict)
    left: list[dict[str, Any]] = field(default_factory=list)   # colours left as they were: hex, alpha, pixels
    left_pixels: int = 0

    @property
    def ok(self) -> bool:
        """True when every pixel of the written mask is valid for the legend."""
        return self.left_pixels == 0

    @property
    def changed_pixels(self) -> int:
        return self.changed.get("total", 0)

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input_path, "output": self.out_path, "width": self.width,
                "height": self.height, "ok": self.ok, "changed": dict(self.changed),
                "left_pixels": self.left_pixels, "left": list(self.left)}


# --------------------------------------------------------------------------------------------------
# repair
# --------------------------------------------------------------------------------------------------

def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def repair(mask: str | Path, legend: dict[str, str] | str | Path, out_path: str | Path, *,
           tolerance: float = DEFAULT_TOLERANCE, alpha_threshold: int = DEFAULT_ALPHA_THRESHOLD,
           max_pixels: int = DEFAULT_MAX_PIXELS) -> RepairSummary:
    """Write a repaired copy of a mask: snap near colours to the legend, harden soft alpha, clear
    colour under alpha 0 and black with alpha. Valid pixels are never changed.

    - alpha < ``alpha_threshold`` -> unlabelled (0, 0, 0, 0); otherwise alpha becomes 255;
    - a colour within ``tolerance`` (RGB distance) of a legend colour -> that colour; a rare colour near
      the line between two legend colours (anti-aliasing) -> the closer one; near black -> unlabelled;
    - anything else is left as it was and listed in the summary (``left``): most likely a class the
      legend forgot.

    An RGB mask (no alpha) is read as alpha 255 with black meaning unlabelled. Raises UsageError when
    ``out_path`` is the input, or the input is missing; ValidationError when it cannot be repaired.
    """
    src, dst = Path(mask), Path(out_path)
    if _same_file(src, dst):
        raise UsageError(f"{dst}: the output is the input mask; repair never overwrites its input, so give "
                         f"another output file.")
    if dst.suffix.lower() != ".png":
        raise UsageError(f"{dst}: the repaired mask must be written as a .png file.")
    if isinstance(legend, (str, Path)):
        norm, lprobs = load_legend(legend)
        if norm is None:
            if lprobs[0].code == "legend_unreadable":
                raise UsageError(str(lprobs[0]))
            raise ValidationError(lprobs, str(lprobs[0]))
    else:
        norm, lprobs = legend_problems(legend)
    if not norm:
        raise ValidationError([p for p in lprobs if p.severity == "error"] or
                              [Problem("legend", "the legend has no usable colours to snap to.")])
    if not 1 <= int(alpha_threshold) <= 255:
        raise UsageError(f"the alpha threshold must be between 1 and 255, not {alpha_threshold}.")
    problems: list[Problem] = []
    img, _ = open_image(src, str(src), max_pixels, problems)
    if img is None:
        if problems and problems[0].code == "unreadable":
            raise UsageError(str(problems[0]))
        raise ValidationError(problems)
    with img:
        if img.mode not in ("RGBA", "RGB"):
            raise ValidationError([mask_problem(
                "not_rgba", str(src), f"the mask is in mode {img.mode}, which repair cannot read as colours.",
                fix="mask_encode")])
        if not decode_pixels(img, str(src), problems):
            raise ValidationError(problems)
        rgba = img.convert("RGBA") if img.mode != "RGBA" else img
        legend_keys = np.array(sorted(hex_key(h) for h in norm), dtype=np.uint32)
        stats = colour_stats(rgba, np.append(legend_keys, np.uint32(0)))
        w, h = rgba.size
        arr = np.array(rgba)      # writable copy; the decoded image goes right after
        if rgba is not img:
            rgba.close()
    del img

    cats = categorise_colours(stats.keys, legend_keys)
    r, g, b, a = unpack_rgba(stats.keys)
    new = stats.keys.copy()
    changed = {"total": 0, "snapped": 0, "alpha_raised": 0, "soft_alpha_cleared": 0, "hidden_colour_cleared": 0,
               "black_with_alpha_cleared": 0, "near_black_cleared": 0}
    left: list[tuple[int, int]] = []
    todo = np.flatnonzero(cats >= UNKNOWN)
    lr, lg, lb, _ = unpack_rgba(legend_keys)
    legend_rgb = np.stack([lr, lg, lb], 1)
    colour_fix = [i for i in todo if cats[i] in (UNKNOWN, SOFT) and a[i] >= alpha_threshold]
    targets = dict(zip(colour_fix, snap_targets(np.stack([r, g, b], 1)[colour_fix], stats.counts[colour_fix],
                                                 legend_rgb, tolerance, w * h).tolist(), strict=True))
    in_legend = np.isin(stats.keys | np.uint32(0xFF000000), legend_keys)
    for i in todo.tolist():
        n = int(stats.counts[i])
        cat = cats[i]
        if cat == HIDDEN:
            new[i] = 0
            changed["hidden_colour_cleared"] += n
        elif cat == BLACK_ALPHA:
            new[i] = 0
            changed["black_with_alpha_cleared"] += n
        elif a[i] < alpha_threshold:
            new[i] = 0
            changed["soft_alpha_cleared"] += n
        elif in_legend[i]:
            new[i] = stats.keys[i] | np.uint32(0xFF000000)
            changed["alpha_raised"] += n
        else:
            t = targets.get(i, -1)
            if t < 0:
                left.append((i, n))
                continue
            if t == len(legend_keys):
                new[i] = 0
                changed["near_black_cleared"] += n
            else:
                new[i] = legend_keys[t]
                changed["snapped"] += n
                if a[i] < 255:
                    changed["alpha_raised"] += n
    moved = np.flatnonzero(new != stats.keys)
    changed["total"] = int(stats.counts[moved].sum())
    if len(moved):
        order = np.argsort(stats.keys[moved])
        src_keys, dst_keys = stats.keys[moved][order], new[moved][order]
        flat = arr.reshape(-1, 4).view("<u4")[:, 0].reshape(h, w)
        rows = max(1, STRIP_PIXELS // max(1, w))
        for y in range(0, h, rows):
            part = flat[y:y + rows]
            pos = np.searchsorted(src_keys, part)
            np.minimum(pos, len(src_keys) - 1, out=pos)
            hit = src_keys[pos] == part
            part[hit] = dst_keys[pos[hit]]
    left.sort(key=lambda t: -t[1])
    summary = RepairSummary(str(src), str(dst), w, h, changed,
                            [{"hex": key_hex(stats.keys[i]), "alpha": int(a[i]), "pixels": n} for i, n in left],
                            sum(n for _, n in left) + sum(stats.overflow.get(c, 0) for c in CATEGORY_CODES))
    save_png(arr, dst)
    return summary
