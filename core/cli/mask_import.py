"""``playment-submit mask import SOURCE --from FORMAT -o OUT.png --legend-out LEGEND.json``.

Converts a mask written by a model or a dataset tool (COCO, Pascal VOC, Cityscapes, CVAT, per-class binary
masks, class-index images) into Playment's RGBA mask and legend through :mod:`core.mask.formats`, writes
them, then runs the same mask check as ``mask check``. numpy, Pillow and pycocotools are imported inside
the functions, so ``--help`` stays fast. Exit codes as every command (:mod:`.edge`): 0 written and valid, 1 the
input was refused (a readable file with bad content; the sentence names the file, class or value), 2 an option
or a path cannot be used (missing, unreadable, a folder where a file is due).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import OutOfMemoryError, UsageError, ValidationError
from ..sanitise import escaped
from .common import int_option, output_problem
from .edge import OK, REFUSED
from .mask_formats import FORMATS, TABLE


def _description() -> str:
    """The help's text: each format's lines from the one table (core.mask.formats.registry, via its
    plain-data copy :mod:`.mask_formats`), indented under its name."""
    lines = ["Convert a mask in the format your model or dataset wrote into Playment's RGBA mask and legend, "
             "then check it.", "", "formats (--from; inferred from the file when left out, where it can be):"]
    for f in TABLE["formats"]:
        first, *rest = f["description"]
        lines.append(f"  {f['name']:<11} {first}")
        lines += [f"{'':14}{line}" for line in rest]
    lines += ["", "Every class gets a colour derived from its name, the same in every job, unless the format (cvat) "
                  "or", "--colours fixes it. --map renames, merges or drops classes; with the profile's class list "
                        "(or --known)", "a class the project does not know is refused, naming the closest known one."]
    return "\n".join(lines)


def option_help(option: dict[str, Any]) -> str:
    """An option's help: the formats that read it (from the table), then what it is."""
    return f"{', '.join(option['formats'])}: {option['help']}"


# How argparse reads each option of the table (the words come from the table)
_ARGPARSE: dict[str, dict[str, Any]] = {
    "instances": {"action": "store_true"},
    "unlabelled": {"type": int_option("a whole number", 0, 65535), "default": 0},
    "ignore": {"type": int_option("a whole number", -2 ** 31, 65535), "nargs": "+", "default": []},
    "classes_start": {"type": int_option("0 or 1", 0, 1)},
}


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``import`` to the ``mask`` subcommands (``sub`` is their subparsers object)."""
    p = sub.add_parser("import", parents=parents, help="convert COCO, VOC, Cityscapes, CVAT, binary or index "
                                                       "masks into a Playment mask and legend",
                       description=_description(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", help="the mask file (or, for --from binary, the folder of class masks)")
    p.add_argument("--from", dest="fmt", choices=FORMATS, help="the source's format (default: inferred)")
    p.add_argument("-o", "--output", required=True, help="the RGBA mask to write (.png)")
    p.add_argument("--legend-out", required=True, help="the legend JSON to write")
    for option in TABLE["options"]:
        extra = dict(_ARGPARSE.get(option["key"], {}))
        if option["metavar"]:
            extra["metavar"] = option["metavar"]
        if option["choices"]:
            extra["choices"] = tuple(option["choices"])
        p.add_argument(option["flag"], dest=option["key"], help=option_help(option), **extra)
    p.add_argument("--colours", metavar="FILE", help="JSON {\"class\": \"#rrggbb\"} (or a legend) fixing colours")
    p.add_argument("--map", dest="mapping", metavar="FILE",
                   help="JSON {\"old\": \"new\"} renames (two old names with one new name merge), "
                        "{\"old\": null} drops a class (its pixels become unlabelled)")
    p.add_argument("--known", metavar="FILE", help="the project's class names, one per line (default: the "
                                                   "profile's class list, when it has one)")
    p.set_defaults(func=run_import)


def _known(args: argparse.Namespace) -> list[str] | None:
    if getattr(args, "known", None):
        from ..mask.formats import read_text
        return [line.strip() for line in read_text(args.known, "class list (--known)").splitlines() if line.strip()]
    from ..settings import load_profiles
    profiles, current = load_profiles()
    name = getattr(args, "profile", None) or current or "default"
    profile = profiles.get(name)
    return list(profile.classes) or None if profile is not None else None


def run_import(args: argparse.Namespace) -> int:
    from .. import mask as engine
    from ..mask.formats import ImportOptions, import_mask

    out, legend_out = Path(args.output), Path(args.legend_out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"{out}: the output mask must be a .png file (lossy formats change colours).")
    inputs = [("source", args.source), ("classes file", args.classes), ("labelmap", args.labelmap),
              ("order file", args.order), ("colours file", args.colours), ("map file", args.mapping)]
    for why in (output_problem(out, "-o", inputs),
                output_problem(legend_out, "--legend-out", [*inputs, ("output mask (-o)", out)])):
        if why:
            raise UsageError(why)
    try:
        given = {o["key"]: getattr(args, o["key"]) for o in TABLE["options"]}  # the table's options, by name
        given["ignore"] = tuple(given.get("ignore") or ())
        opts = ImportOptions(**given, colours=args.colours, mapping=args.mapping, known=_known(args))
        result = import_mask(args.source, args.fmt, opts)
    except ValidationError as e:  # said as the problems themselves, not "must be fixed before submitting"
        raise ValidationError(e.problems, " ".join(str(p) for p in e.problems)) from None
    except MemoryError:
        raise OutOfMemoryError(f"{args.source}: there is not enough memory to convert this mask.") from None
    target = out
    try:
        result.write(out, legend_out)
    except OSError as e:
        raise UsageError(f"{target}: cannot write the output ({e.strerror or type(e).__name__}).") from None
    report = engine.check(out, result.legend)
    code = OK if report.ok else REFUSED
    total = result.width * result.height
    if getattr(args, "json", False):
        print(json.dumps({"ok": report.ok, "exit_code": code, "format": result.format, "output": str(out),
                          "legend_file": str(legend_out), "width": result.width, "height": result.height,
                          "unlabelled": result.unlabelled, "classes_rule": result.classes_rule,
                          "legend": [{"hex": c, "name": n, "pixels": k, "share": k / total if total else 0.0}
                                     for c, n, k in result.rows()],
                          "problems": [p.to_dict() for p in [*result.problems, *report.problems]]}))
        return code
    rows = [("colour", "name", "pixels", "share")]
    # names from the file, shown escaped: a control or bidi character never reaches the terminal raw
    rows += [(c, escaped(n, 60), f"{k:,}", f"{100 * k / total:.2f}%" if total else "0%") for c, n, k in result.rows()]
    rows.append(("(none)", "unlabelled", f"{result.unlabelled:,}",
                 f"{100 * result.unlabelled / total:.2f}%" if total else "0%"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.rjust(widths[i]) if i >= 2 else c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())
    for p in [*result.problems, *report.problems]:
        print(f"{p.severity}: {p}", file=sys.stderr)
    if result.classes_rule:
        print(f"Classes: {result.classes_rule}")
    n = len(result.legend)
    print(f"Wrote {out} ({result.width} x {result.height} pixels, from {result.format}) and {legend_out} "
          f"({n} class{'es' if n != 1 else ''})" + ("." if report.ok else "; the mask check found problems."))
    return code
