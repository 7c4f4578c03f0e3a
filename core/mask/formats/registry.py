"""The one table of mask formats ``mask import`` and the window's import dialog read.

Each :class:`FormatSpec` holds a format's name, its one-line summary (the window's format list, the
``--from`` help), its paragraph in ``mask import --help``, the options it reads (keys of :data:`OPTIONS`,
which are :class:`~._common.ImportOptions` fields), how it is told from a file (:func:`sniff` walks
:data:`SNIFF_ORDER`), and the module whose ``decode(path, options)`` reads it. A new format is one row here
and one decoder module.

The command line builds its parser from :mod:`playment_submit.core.cli.mask_formats`, a plain-data copy of
the text parts of this table (importing this package would load numpy and Pillow for every ``--help``). That
file is generated: ``python -m playment_submit.core.mask.formats.registry`` rewrites it, and a test fails
while it differs from :func:`plain_table`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, NamedTuple


class Option(NamedTuple):
    """One import option: an :class:`ImportOptions` field, its command-line flag and words."""

    key: str
    flag: str
    help: str                    # said after the names of the formats that read it
    metavar: str | None = None
    dialog: bool = True          # the window's import dialog has a field for it (False: command line only)
    choices: tuple[tuple[str, str], ...] = ()   # (value, the window's label) when only these values exist


class FormatSpec(NamedTuple):
    """One mask format (see the module's docstring)."""

    name: str
    summary: str
    description: tuple[str, ...]  # its lines in `mask import --help`, indented there under the name
    options: tuple[str, ...]     # keys of OPTIONS this format reads
    decoder: str                 # the module of core.mask.formats with its decode(path, options)
    folder: bool = False         # sniffing: a folder is this format
    suffixes: tuple[str, ...] = ()       # sniffing: file name suffixes (lower case)
    name_endings: tuple[str, ...] = ()   # sniffing: the file name's stem ends with one of these
    png_modes: tuple[str, ...] = ()      # sniffing: a PNG in one of these Pillow modes
    needs_labelmap: bool = False         # sniffing: ... and a CVAT labelmap.txt near it


OPTIONS: tuple[Option, ...] = (
    Option("image", "--image", "the image whose annotations become the mask", "FILE_NAME|ID"),
    Option("instances", "--instances", "one legend entry per instance (\"car #1\", \"car #2\"; cityscapes: "
                                       "instanceIds)"),
    Option("classes", "--classes", "class names by value, one per line (line 1 names value 1; value 0 when "
                                   "line 1 names background, line 1 is __ignore__ or --unlabelled is not 0), "
                                   "or \"n: name\" lines, or JSON", "FILE"),
    Option("ids", "--ids", "which ids the PNG holds (default: from the file name's suffix)",
           choices=(("label", "labelIds"), ("train", "trainIds"), ("instance", "instanceIds"))),
    Option("labelmap", "--labelmap", "the labelmap.txt naming the colours (default: found beside the mask or "
                                     "above it)", "FILE"),
    Option("order", "--order", "class names one per line; later lines win overlaps", "FILE", dialog=False),
    Option("unlabelled", "--unlabelled", "the value meaning unlabelled (default: %(default)d)"),
    Option("ignore", "--ignore", "values that become unlabelled (negative ones too: -1 in a .npy)", "VALUE",
           dialog=False),
    Option("classes_start", "--classes-start", "force a plain class list to start at index 0 or 1 (default: 0 "
                                               "when line 1 names background or is __ignore__, else 1)",
           "0|1"),
)

REGISTRY: tuple[FormatSpec, ...] = (
    FormatSpec("coco", "COCO instances JSON (polygons, RLE, iscrowd), one of its images at a time",
               ("a COCO instances JSON: polygons, uncompressed and compressed RLE, iscrowd. --image picks the",
                "image (file_name or id); the output has its width and height. Categories become classes",
                "(--instances: one entry per annotation, \"<category> #<k>\"). Where annotations overlap, the",
                "LATER ONE IN THE FILE WINS."),
               ("image", "instances"), "coco", suffixes=(".json",)),
    FormatSpec("voc", "Pascal VOC class PNG: palette, 8-bit grey or RGB (0 and 255 unlabelled)",
               ("a Pascal VOC class mask: a palette or 8-bit grey PNG (indices 1..20 are VOC's classes unless",
                "--classes names them), or an RGB PNG coloured by the labelmap.txt beside it (--labelmap) or",
                "else by VOC's 21-class colour map. 0 (background) and 255 (void) are unlabelled; any other",
                "colour, and a 16-bit grey PNG, is refused."),
               ("classes", "classes_start", "labelmap", "ignore"), "voc", png_modes=("P",)),
    FormatSpec("cityscapes", "Cityscapes *_labelIds / *_labelTrainIds / *_instanceIds PNG",
               ("*_labelIds.png, *_labelTrainIds.png / *_trainIds.png or *_instanceIds.png, by the name's",
                "suffix or --ids; named by the official Cityscapes label table (trainIds: 0 = road, 255 =",
                "ignore). A *_color.png is refused (several classes share a colour there)."),
               ("ids", "instances", "ignore"), "cityscapes",
               name_endings=("_labelTrainIds", "_trainIds", "_labelIds", "_instanceIds", "_color")),
    FormatSpec("cvat", "CVAT segmentation mask (RGB PNG) with its labelmap.txt",
               ("a CVAT segmentation mask (RGB PNG) and its labelmap.txt (name:r,g,b::), found next to the",
                "mask or in the two folders above it, or --labelmap; CVAT's colours are kept; black is",
                "unlabelled."),
               ("labelmap",), "cvat", png_modes=("RGB",), needs_labelmap=True),
    FormatSpec("binary", "a folder of per-class 0/255 masks named after their class",
               ("a folder of per-class masks named after their class (car.png: 0 outside, 255 inside);",
                "where they overlap the later file in sorted name order wins, or the later line of --order."),
               ("order",), "binary", folder=True),
    FormatSpec("index", "a class-index PNG/TIFF/.npy with its class names",
               ("a class-index PNG/TIFF (8 or 16 bit) or .npy with --classes; --unlabelled VALUE (default 0)",
                "and --ignore VALUE ... become unlabelled. (`mask encode` is the older form of this path.)"),
               ("classes", "classes_start", "unlabelled", "ignore"), "index", suffixes=(".npy", ".tif", ".tiff"),
               png_modes=("L", "I;16", "I;16B", "I", "1")),
)

SNIFF_ORDER: tuple[tuple[str, str], ...] = (
    ("binary", "folder"), ("coco", "suffixes"), ("cityscapes", "name_endings"), ("index", "suffixes"),
    ("voc", "png_modes"), ("index", "png_modes"), ("cvat", "png_modes"))
"""Which evidence is weighed first: (format, rule). A folder, then a suffix that says it all (.json), then
a name (Cityscapes' suffixes), then the other suffixes, then a PNG's mode (read from its header)."""

BY_NAME: dict[str, FormatSpec] = {spec.name: spec for spec in REGISTRY}
OPTION_BY_KEY: dict[str, Option] = {o.key: o for o in OPTIONS}
FORMATS: tuple[str, ...] = tuple(BY_NAME)


def dialog_fields(fmt: str) -> tuple[str, ...]:
    """The options of ``fmt`` the window's import dialog shows (the rest are command line only)."""
    return tuple(k for k in BY_NAME[fmt].options if OPTION_BY_KEY[k].dialog)


def formats_reading(key: str) -> tuple[str, ...]:
    """The formats that read option ``key``, in table order."""
    return tuple(spec.name for spec in REGISTRY if key in spec.options)


def decoder(fmt: str) -> Any:
    """``fmt``'s ``decode(path, options) -> Decoded`` (its module is imported now: pycocotools for coco)."""
    return importlib.import_module(f"{__package__}.{BY_NAME[fmt].decoder}").decode


def sniff(path: str | Path) -> str | None:
    """The format a file or folder is written in, by :data:`SNIFF_ORDER`; None when it cannot be told."""
    p = Path(path)
    mode: str | None = None
    mode_read = False
    for fmt, rule in SNIFF_ORDER:
        spec = BY_NAME[fmt]
        if rule == "folder" and spec.folder and p.is_dir():
            return fmt
        if rule == "suffixes" and p.suffix.lower() in spec.suffixes:
            return fmt
        if rule == "name_endings" and p.stem.endswith(spec.name_endings):
            return fmt
        if rule == "png_modes":
            if not mode_read:
                mode_read = True
                mode = _png_mode(p)
            if mode in spec.png_modes and (not spec.needs_labelmap or _has_labelmap(p)):
                return fmt
    return None


def _png_mode(p: Path) -> str | None:
    if p.suffix.lower() != ".png" or not p.is_file():
        return None
    try:
        from PIL import Image
        with Image.open(p) as img:
            return str(img.mode)
    except (OSError, ValueError, SyntaxError):
        return None


def _has_labelmap(p: Path) -> bool:
    from .cvat import find_labelmap
    return find_labelmap(p) is not None


# ---------------------------------------------------------------- the command line's plain-data copy
PLAIN_MODULE = Path(__file__).resolve().parents[2] / "cli" / "mask_formats.py"


def plain_table() -> dict[str, Any]:
    """The text parts of the table, as the command line's parser needs them (plain data only)."""
    return {
        "formats": [{"name": s.name, "summary": s.summary, "description": list(s.description),
                     "options": list(s.options)}
                    for s in REGISTRY],
        "options": [{"key": o.key, "flag": o.flag, "help": o.help, "metavar": o.metavar,
                     "choices": [value for value, _label in o.choices], "formats": list(formats_reading(o.key))}
                    for o in OPTIONS],
    }


def render_plain_module() -> str:
    """The text of :data:`PLAIN_MODULE` for the current table."""
    body = _literal(plain_table(), 0)
    return ('"""Mask formats for the command line\'s parser: a plain-data copy of core.mask.formats.registry.\n\n'
            "GENERATED: do not edit. `python -m playment_submit.core.mask.formats.registry` rewrites it from the\n"
            "registry (the one table); tests/core/test_mask_format_table.py fails while the two differ. Plain\n"
            "data, so that building the parser (every command, --help included) loads neither numpy nor Pillow.\n"
            '"""\n\nfrom __future__ import annotations\n\nfrom typing import Any\n\n'
            f"TABLE: dict[str, Any] = {body}\n\n"
            'FORMATS: tuple[str, ...] = tuple(f["name"] for f in TABLE["formats"])\n')


def _literal(value: Any, indent: int) -> str:
    """``value`` as Python source, one dict entry or long list item per line (ruff's line length kept)."""
    pad, inner = " " * indent, " " * (indent + 4)
    if isinstance(value, dict):
        return "{\n" + "".join(f"{inner}{k!r}: {_literal(v, indent + 4)},\n" for k, v in value.items()) + pad + "}"
    if isinstance(value, list):
        flat = repr(value)
        if len(flat) + indent < 80 and not any(isinstance(v, (dict, list)) for v in value):
            return flat
        return "[\n" + "".join(f"{inner}{_literal(v, indent + 4)},\n" for v in value) + pad + "]"
    if isinstance(value, str) and len(repr(value)) + indent > 116:  # a long sentence: implicit concatenation
        words, parts, line = value.split(" "), [], ""
        for w in words:
            if line and len(line) + len(w) > 80:
                parts.append(line)
                line = ""
            line += w + " "
        parts.append(line[:-1])
        return "(\n" + "".join(f"{inner}{part!r}\n" for part in parts) + pad + ")"
    return repr(value)


if __name__ == "__main__":
    PLAIN_MODULE.write_text(render_plain_module(), encoding="utf-8")
    print(f"Wrote {PLAIN_MODULE}")
