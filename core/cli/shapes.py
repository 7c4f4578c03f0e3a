"""``playment-submit shapes import | check``: vector pre-labels (boxes, polygons, lines, landmarks).

``shapes import SOURCE`` reads a YOLO, COCO, LabelMe, Pascal VOC, CVAT for images 1.1 or Label Studio file and
writes exactly a ``maker_response`` fragment (normalised 0..1) holding only the kinds present; what was left out,
clipped or changed is said on stderr, one sentence each. ``shapes check SHAPES.json`` gives the verdict submit
gives. Exit status through :mod:`.edge`: 0 ok, 1 the input said no, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError, ValidationError
from .common import number_option, output_problem
from .edge import OK, REFUSED

FORMATS = ("yolo", "coco", "labelme", "voc", "cvat", "labelstudio")


def add_parser(subparsers: Any, common_parent: argparse.ArgumentParser | None) -> None:
    """Add ``shapes`` with its ``import`` and ``check`` subcommands to ``subparsers``."""
    parents = [common_parent] if common_parent is not None else []
    p = subparsers.add_parser("shapes", help="import (YOLO, COCO, LabelMe, VOC, CVAT, Label Studio) or check "
                                             "vector pre-labels",
                              description="Vector pre-labels: rectangles, polygons, lines and landmarks in "
                                          "maker_response form, coordinates normalised to 0..1.")
    sub = p.add_subparsers(dest="shapes_command", metavar="{import,check}")
    sub.required = True
    i = sub.add_parser("import", parents=parents, help="convert an annotation file into a SHAPES.json",
                       description="Convert one image's annotations into a maker_response fragment "
                                   "({\"rectangles\": {\"data\": [...]}, ...}). The format is inferred from the "
                                   "file when --from is not given.")
    i.add_argument("source", help="the annotation file (.txt YOLO, .json COCO/LabelMe/Label Studio, .xml VOC/CVAT)")
    i.add_argument("--from", dest="fmt", choices=FORMATS, help="the source's format (default: inferred)")
    i.add_argument("--classes", metavar="FILE",
                   help="class names: a names file (line 1 = class 0), a data.yaml, or a COCO dataset JSON")
    i.add_argument("--image", metavar="IMAGE", help="the primary image: its size is the frame (needed for YOLO and "
                                                   "COCO results; picks the image in multi-image files)")
    i.add_argument("--known", metavar="FILE", help="the project's class list (one name a line); other labels are "
                                                  "refused, naming the closest known name")
    i.add_argument("--map", dest="mapping", metavar="FILE",
                   help="JSON {\"old\": \"new\"} renames or merges labels, {\"old\": null} drops them")
    i.add_argument("--min-score", type=number_option("a score", 0.0, 1.0), metavar="S",
                   help="leave out detections scored below S (said with a count)")
    i.add_argument("--boxes", action="store_true", help="COCO: take each annotation's bbox, not its polygon")
    i.add_argument("--locked", action="store_true", help="mark the shapes non_editable for the labellers")
    i.add_argument("-o", "--output", required=True, metavar="SHAPES.json", help="the fragment to write")
    i.set_defaults(func=run_import)
    c = sub.add_parser("check", parents=parents, help="check a SHAPES.json",
                       description="Check coordinates (numbers in 0..1), rectangles (TL, TR, BR, BL with area), "
                                   "polygons (3+ distinct points), lines (2+), edges, labels and unique _ids.")
    c.add_argument("shapes", help="the SHAPES.json (a maker_response fragment)")
    c.add_argument("--known", metavar="FILE", help="the project's class list; other labels are refused")
    c.set_defaults(func=run_check)


def write_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write the output ({e.strerror or type(e).__name__}).") from None


def run_import(args: argparse.Namespace) -> int:
    from ..mask.formats import load_mapping
    from ..shapes.importer import import_shapes, read_known

    out = Path(args.output)
    why = output_problem(out, "-o", [("source", args.source), ("classes file", args.classes),
                                     ("class list", args.known), ("map file", args.mapping)])
    if why:
        raise UsageError(why)
    try:
        done = import_shapes(args.source, args.fmt, classes=args.classes, image=args.image, boxes=args.boxes,
                             mapping=load_mapping(args.mapping), known=read_known(args.known), locked=args.locked,
                             min_score=args.min_score)
    except ValidationError as e:
        raise ValidationError(e.problems, " ".join(str(p) for p in e.problems)) from None
    write_atomic(out, done.fragment)
    if getattr(args, "json", False):
        print(json.dumps({"ok": True, "exit_code": OK, "output": str(out), "counts": done.counts,
                          "notes": done.notes}))
        return OK
    for note in done.notes:
        print(note, file=sys.stderr)
    print(f"Wrote {out}: {done.summary()}.")
    return OK


def run_check(args: argparse.Namespace) -> int:
    from ..shapes import check_shapes
    from ..shapes.importer import read_known
    from ..shapes.readers import read_json

    try:
        data = read_json(args.shapes, "shapes file")
    except ValidationError as e:
        raise ValidationError(e.problems, " ".join(str(p) for p in e.problems)) from None
    problems = check_shapes(data, read_known(args.known), where=str(args.shapes))
    if getattr(args, "json", False):
        print(json.dumps({"ok": not problems, "exit_code": REFUSED if problems else OK,
                          "problems": [p.to_dict() for p in problems]}))
        return REFUSED if problems else OK
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if problems:
        return REFUSED
    print(f"{args.shapes}: the shapes are valid.")
    return OK
