"""``playment-submit mask check | encode | repair``: the mask engine on the command line.

``core/cli/__init__.py`` owns the top-level parser and calls :func:`add_parser`; each sub-subcommand sets
``func`` to one of the ``run_*`` functions. The exit status:

- 0: the mask is valid / the job was done;
- 1: problems found or the input refused (a file that reads but says the wrong thing; the sentences say
  what and where);
- 2: an argument cannot be used at all (a missing or unreadable path, an option out of range).

A failure that stops a command is raised as a core error and said by the command line's edge
(:mod:`.edge`), which also picks its exit status. Human output goes to stdout as a short aligned table; every
problem is one plain sentence on stderr. With ``--json`` stdout carries exactly one JSON object and nothing
else: the command's report, or the edge's failure object.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import defaults
from ..errors import OutOfMemoryError, Problem, UsageError, ValidationError
from ..sanitise import escaped
from .common import int_option, number_option, output_problem
from .edge import OK, REFUSED

MAX_MEGAPIXELS = 100_000.0   # 100 gigapixels: far beyond any image; keeps the pixel count a sane integer
MAX_TOLERANCE = 442.0        # the largest RGB distance is sqrt(3) x 255 = 441.7


def add_parser(subparsers: Any, common_parent: argparse.ArgumentParser | None) -> None:
    """Add ``mask`` with its ``check``, ``encode`` and ``repair`` subcommands to ``subparsers``."""
    parents = [common_parent] if common_parent is not None else []
    megapixels = number_option("a number of megapixels", 0, MAX_MEGAPIXELS, low_open=True)
    p = subparsers.add_parser(
        "mask", help="check, colour-code, import (COCO, VOC, Cityscapes, CVAT, ...) or repair pre-label masks",
        description="Pre-label masks are RGBA PNGs whose colours map through a legend to classes; "
                    "unlabelled pixels have all four channels 0.")
    sub = p.add_subparsers(dest="mask_command", metavar="{check,import,encode,repair}")
    sub.required = True

    c = sub.add_parser("check", parents=parents, help="check a mask against its legend",
                       description="Check that a mask is an 8-bit RGBA PNG whose every pixel is a legend "
                                   "colour with alpha 255 or all zero, and as large as the primary image.")
    c.add_argument("mask", help="the mask PNG")
    c.add_argument("--legend", required=True, help="legend JSON: {\"#rrggbb\": \"name\"}")
    c.add_argument("--image", help="the primary image; the mask must have its size")
    c.add_argument("--max-megapixels", type=megapixels, default=defaults.DEFAULT_MAX_PIXELS / 1e6,
                   help="refuse larger images without decoding them (default: %(default)g)")
    c.set_defaults(func=run_check)

    e = sub.add_parser("encode", parents=parents, help="colour-code an index mask into an RGBA mask",
                       description="Turn a single-channel mask of class indices (PNG, TIFF or .npy; 0 = "
                                   "unlabelled) into an RGBA mask and its legend. The older form of `mask import "
                                   "--from index`: it reads the same files and classes rules, colours by class name "
                                   "like `mask import` (the same in every job coded with the list; colours "
                                   "pinned in the classes file kept) and has --instance-of; `mask import` adds "
                                   "--unlabelled, --ignore, --map and the profile's class list.")
    e.add_argument("index", help="the index mask (8/16-bit PNG or TIFF, or .npy)")
    e.add_argument("--classes", metavar="FILE", help=defaults.CLASSES_HELP)
    e.add_argument("--classes-start", type=int_option("0 or 1", 0, 1), metavar="0|1",
                   help="force a plain class list to start at index 0 or 1 (default: 0 when line 1 names "
                        "background or is __ignore__, else 1)")
    e.add_argument("-o", "--output", required=True, help="the RGBA mask to write (.png)")
    e.add_argument("--legend-out", required=True, help="the legend JSON to write")
    e.add_argument("--instance-of", metavar="NAME",
                   help="the mask holds instances of this class: index i becomes \"NAME i\"")
    e.set_defaults(func=run_encode)

    r = sub.add_parser("repair", parents=parents, help="fix anti-aliased or resized masks",
                       description="Snap near colours to the legend, harden soft alpha and clear colour "
                                   "under alpha 0; writes a new file and never touches valid pixels.")
    r.add_argument("mask", help="the mask to repair (RGBA or RGB)")
    r.add_argument("--legend", required=True, help="legend JSON: {\"#rrggbb\": \"name\"}")
    r.add_argument("-o", "--output", required=True, help="the repaired mask to write (.png)")
    r.add_argument("--tolerance", type=number_option("an RGB distance", 0, MAX_TOLERANCE),
                   default=defaults.DEFAULT_TOLERANCE,
                   help="RGB distance within which a colour snaps to the legend (default: %(default)g)")
    r.add_argument("--alpha-threshold", type=int_option("a whole number", 1, 255),
                   default=defaults.DEFAULT_ALPHA_THRESHOLD,
                   help="alpha from which a soft pixel becomes opaque; below it, unlabelled (default: %(default)d)")
    r.add_argument("--max-megapixels", type=megapixels, default=defaults.DEFAULT_MAX_PIXELS / 1e6,
                   help="refuse larger images without decoding them (default: %(default)g)")
    r.set_defaults(func=run_repair)

    from . import mask_import  # `mask import`: COCO, VOC, Cityscapes, CVAT, binary and index masks
    mask_import.add_parser(sub, parents)


# --------------------------------------------------------------------------------------------------
# Output helpers
# --------------------------------------------------------------------------------------------------

def _json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def _say(problems: Sequence[Problem]) -> None:
    for p in problems:
        print(f"{p.severity}: {p}", file=sys.stderr)


def _table(rows: Sequence[tuple[str, ...]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                               for i, c in enumerate(r)).rstrip() for r in rows)


def _share(x: float) -> str:
    return f"{100 * x:.2f}%" if x else "0%"


def _max_pixels(args: argparse.Namespace) -> int | None:
    mp = getattr(args, "max_megapixels", None)
    if mp is None:
        return defaults.DEFAULT_MAX_PIXELS
    if not 0 < mp <= MAX_MEGAPIXELS:  # argparse checked it; a caller building args may not have
        return None
    return int(mp * 1e6)


# --------------------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------------------

def run_check(args: argparse.Namespace) -> int:
    """``mask check MASK --legend LEGEND.json [--image PRIMARY] [--max-megapixels N]``."""
    from .. import mask as engine  # numpy and Pillow load only when a mask command runs
    max_pixels = _max_pixels(args)
    if max_pixels is None:
        raise UsageError(f"--max-megapixels must be a positive number, not {args.max_megapixels}.")
    primary = None
    if getattr(args, "image", None):
        try:
            primary = engine.image_size(args.image)
        except UsageError as e:
            reason = e.user_message.split(": ", 1)[-1]
            raise UsageError(f"{args.image}: the primary image (--image) cannot be used: {reason}") from None
    try:
        report = engine.check(args.mask, args.legend, primary, max_pixels=max_pixels)
    except MemoryError:
        raise OutOfMemoryError(f"{args.mask}: there is not enough memory to check this mask.") from None
    unusable = [p for p in report.problems if p.code in ("unreadable", "legend_unreadable")]
    if unusable:
        raise UsageError(problems=unusable)
    no_legend = [p for p in report.problems if p.code == "bad_legend_file"]
    if no_legend:  # the file reads but is no legend: refused, without judging every pixel against nothing
        raise ValidationError(no_legend, " ".join(str(p) for p in no_legend))
    code = OK if report.ok else REFUSED
    if _json(args):
        d = report.to_dict()
        d["exit_code"] = code
        print(json.dumps(d))
        return code
    if report.width is not None:
        kind = f"{report.mode or '?'} {report.format or 'image'}"
        print(f"{report.path}: {report.width} x {report.height} pixels, {kind}")
    if report.rows and report.width is not None and report.format is not None and not any(
            p.code in ("not_rgba", "corrupt", "too_large") for p in report.problems):
        rows = [("colour", "name", "pixels", "share")]
        rows += [(r.hex, escaped(r.name, 60), f"{r.pixels:,}", _share(r.share)) for r in report.rows]
        total = report.pixels
        rows.append(("(none)", "unlabelled", f"{report.unlabelled:,}",
                     _share(report.unlabelled / total if total else 0.0)))
        print(_table(rows, right={2, 3}))
    _say(report.problems)
    ne, nw = len(report.errors), len(report.warnings)
    if report.ok:
        print(f"{report.path} is a valid pre-label mask" + (f" ({nw} warning{'s' if nw != 1 else ''})." if nw else "."))
    else:
        print(f"{report.path} is not a valid pre-label mask: {ne} error{'s' if ne != 1 else ''}"
              + (f" and {nw} warning{'s' if nw != 1 else ''}." if nw else "."))
    return code


# --------------------------------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------------------------------

def run_encode(args: argparse.Namespace) -> int:
    """``mask encode INDEX --classes FILE -o OUT.png --legend-out LEGEND.json [--instance-of NAME]``."""
    from .. import mask as engine  # numpy and Pillow load only when a mask command runs
    from ..mask.encode import classes_unusable_is_usage
    index, out, legend_out = Path(args.index), Path(args.output), Path(args.legend_out)
    instance_of = getattr(args, "instance_of", None)
    if not index.is_file():
        raise UsageError(f"{index}: the index mask file does not exist.")
    if out.suffix.lower() != ".png":
        raise UsageError(f"{out}: the output mask must be a .png file (lossy formats change colours).")
    classes_file = getattr(args, "classes", None)
    for why in (output_problem(out, "-o", [("index mask", index), ("classes file", classes_file)]),
                output_problem(legend_out, "--legend-out", [("index mask", index), ("classes file", classes_file),
                                                            ("output mask (-o)", out)])):
        if why:
            raise UsageError(why)
    classes = None
    if args.classes:
        classes, problems = engine.load_classes(args.classes)
        if classes is None and classes_unusable_is_usage(args.classes):
            raise UsageError(problems=problems)
        if classes is None:
            raise ValidationError(problems, " ".join(str(p) for p in problems))
        if problems:
            raise ValidationError(problems, " ".join(str(p) for p in problems))
    elif not instance_of:
        raise UsageError("give the class names with --classes FILE, or --instance-of NAME for an instance mask.")
    try:
        res = engine.encode_full(index, classes, instance_of=instance_of, count=True,
                                 classes_start=getattr(args, "classes_start", None))
    except ValidationError as e:  # said as the problems themselves, not "must be fixed before submitting"
        raise ValidationError(e.problems, " ".join(str(p) for p in e.problems)) from None
    target = out
    try:  # a failure is named by the output asked for, never the temporary file it is written through
        engine.save_png(res.rgba, out)
        target = legend_out
        engine.write_legend(res.legend, legend_out)
    except OSError as e:
        raise UsageError(f"{target}: cannot write the output ({e.strerror or type(e).__name__}).") from None
    h, w = res.rgba.shape[:2]
    total = w * h
    rule = None if instance_of else engine.class_list_rule(classes, getattr(args, "classes_start", None))
    if _json(args):
        print(json.dumps({"ok": True, "exit_code": OK, "output": str(out), "legend_file": str(legend_out),
                          "width": w, "height": h, "classes_rule": rule,
                          "legend": [{"hex": c, "name": n, "pixels": res.counts.get(c, 0),
                                      "share": res.counts.get(c, 0) / total if total else 0.0}
                                     for c, n in res.legend.items()]}))
        return OK
    rows = [("colour", "name", "pixels", "share")]
    rows += [(c, escaped(n, 60), f"{res.counts.get(c, 0):,}", _share(res.counts.get(c, 0) / total if total else 0.0))
             for c, n in res.legend.items()]
    print(_table(rows, right={2, 3}))
    if rule:
        print(f"Classes: {rule}")
    print(f"Wrote {out} ({w} x {h} pixels) and {legend_out} ({len(res.legend)} "
          f"{'instance' if instance_of else 'class'}{'es' if not instance_of and len(res.legend) != 1 else ''}"
          f"{'s' if instance_of and len(res.legend) != 1 else ''}).")
    return OK


# --------------------------------------------------------------------------------------------------
# repair
# --------------------------------------------------------------------------------------------------

_KIND_WORDS = {
    "snapped": "snapped to the nearest legend colour",
    "alpha_raised": "soft alpha raised to 255",
    "soft_alpha_cleared": "soft alpha below the threshold made unlabelled",
    "hidden_colour_cleared": "colour under alpha 0 cleared",
    "black_with_alpha_cleared": "black with alpha made unlabelled",
    "near_black_cleared": "near-black made unlabelled",
}


def run_repair(args: argparse.Namespace) -> int:
    """``mask repair MASK --legend LEGEND.json -o OUT.png [--tolerance T]``."""
    from .. import mask as engine  # numpy and Pillow load only when a mask command runs
    max_pixels = _max_pixels(args)
    if max_pixels is None:
        raise UsageError(f"--max-megapixels must be a positive number, not {args.max_megapixels}.")
    tolerance = getattr(args, "tolerance", engine.DEFAULT_TOLERANCE)
    if not 0 <= tolerance <= MAX_TOLERANCE:
        raise UsageError(f"--tolerance must be an RGB distance from 0 to {MAX_TOLERANCE:g}, not {tolerance}.")
    why = output_problem(args.output, "-o", [("mask to repair", args.mask), ("legend file", args.legend)])
    if why:
        raise UsageError(why)
    legend, lprobs = engine.load_legend(args.legend)
    if legend is None:  # a path that cannot be read is a usage error; a file that reads but is no legend, refused
        if any(p.code == "legend_unreadable" for p in lprobs):
            raise UsageError(problems=lprobs)
        raise ValidationError(lprobs, " ".join(str(p) for p in lprobs))
    try:
        summary = engine.repair(args.mask, legend, args.output, tolerance=tolerance,
                                alpha_threshold=getattr(args, "alpha_threshold", engine.DEFAULT_ALPHA_THRESHOLD),
                                max_pixels=max_pixels)
    except ValidationError as e:
        raise ValidationError(lprobs + e.problems, " ".join(str(p) for p in lprobs + e.problems)) from None
    except OSError as e:  # named by the output asked for, never the temporary file it is written through
        raise UsageError(f"{args.output}: cannot write the output ({e.strerror or type(e).__name__}).") from None
    left_problem = []
    if summary.left:
        shown = ", ".join(f"{x['hex']} alpha {x['alpha']} ({x['pixels']:,} pixels)"
                          for x in summary.left[:engine.MAX_LISTED])
        more = len(summary.left) - engine.MAX_LISTED
        left_problem.append(Problem(str(summary.out_path),
                                    f"{summary.left_pixels:,} pixels kept colours too far from every legend colour "
                                    f"to snap: {shown}{f' and {more} more' if more > 0 else ''}; add them to the "
                                    f"legend if they are classes, or raise --tolerance."))
    code = OK if summary.ok else REFUSED
    if _json(args):
        d = summary.to_dict()
        d["exit_code"] = code
        d["problems"] = [p.to_dict() for p in lprobs + left_problem]
        print(json.dumps(d))
        return code
    rows = [("change", "pixels")]
    rows += [(_KIND_WORDS[k], f"{v:,}") for k, v in summary.changed.items() if k in _KIND_WORDS and v]
    if len(rows) > 1:
        print(_table(rows, right={1}))
    _say(lprobs + left_problem)
    print(f"Wrote {summary.out_path}: {summary.changed_pixels:,} pixels changed"
          + (", every pixel is now valid." if summary.ok else f", {summary.left_pixels:,} still invalid."))
    return code
