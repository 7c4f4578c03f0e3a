"""Masks in the formats models and datasets write -> Playment's RGBA mask and legend.

One module per format, each turning its files into a value per pixel and a name per value
(:class:`Decoded`); one finishing step shared by all (:func:`~._common.finish`) applies ``--map``
(rename, merge, drop), refuses a class the project does not know (naming the closest known name),
gives every class a stable colour (the same name gets the same colour in every job) unless the format
or ``--colours`` fixes it, and counts pixels per class. Nothing is written until :meth:`ImportResult.write`.

Formats (see each module): ``coco`` (instances JSON through pycocotools), ``voc`` (palette PNG),
``cityscapes`` (labelIds / trainIds / instanceIds), ``cvat`` (RGB mask + labelmap.txt), ``binary``
(folder of per-class masks), ``index`` (class-index PNG/TIFF/.npy + classes file).

For the window::

    fmt = infer_format(path)                  # None: ask the user to choose among FORMATS
    result = import_mask(path, fmt, ImportOptions(known=profile.classes or None))
    result.rows()                             # [(colour, name, pixels)] for the legend preview
    result.write(out_png, legend_json)        # then core.mask.check as for any mask

``import_mask`` raises ValidationError (problems naming the file, class, value or pixel) for input it
refuses and UsageError for options it cannot use (a missing file, a format it cannot tell).
No Qt here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import UsageError
from ._common import (
    Decoded,
    ImportOptions,
    ImportResult,
    closest,
    finish,
    load_colours,
    load_mapping,
    stable_colours,
)

FORMATS = ("coco", "voc", "cityscapes", "cvat", "binary", "index")
FORMAT_HELP = {
    "coco": "COCO instances JSON (polygons, RLE, iscrowd); --image picks the image",
    "voc": "Pascal VOC palette PNG (0 and 255 unlabelled)",
    "cityscapes": "Cityscapes *_labelIds / *_labelTrainIds / *_instanceIds PNG",
    "cvat": "CVAT segmentation mask (RGB PNG) with its labelmap.txt",
    "binary": "a folder of per-class 0/255 masks named after their class",
    "index": "a class-index PNG/TIFF/.npy with --classes",
}


def infer_format(path: str | Path) -> str | None:
    """The format a file or folder is written in, when it can be told; None when the user must choose
    (an RGB PNG without a labelmap.txt near it, an RGBA PNG, an unknown extension)."""
    from .cityscapes import ids_from_name
    from .cvat import find_labelmap

    p = Path(path)
    if p.is_dir():
        return "binary"
    suffix = p.suffix.lower()
    if suffix == ".json":
        return "coco"
    if ids_from_name(p) is not None or p.stem.endswith("_color"):
        return "cityscapes"
    if suffix in (".npy", ".tif", ".tiff"):
        return "index"
    if suffix != ".png" or not p.is_file():
        return None
    try:
        from PIL import Image
        with Image.open(p) as img:
            mode = img.mode
    except (OSError, ValueError, SyntaxError):
        return None
    if mode == "P":
        return "voc"
    if mode in ("L", "I;16", "I;16B", "I", "1"):
        return "index"
    if mode == "RGB" and find_labelmap(p) is not None:
        return "cvat"
    return None


def _decoder(fmt: str) -> Any:
    from . import binary, cityscapes, coco, cvat, index, voc
    return {"coco": coco, "voc": voc, "cityscapes": cityscapes, "cvat": cvat, "binary": binary,
            "index": index}[fmt].decode


def import_mask(source: str | Path, fmt: str | None = None, options: ImportOptions | None = None,
                **kwargs: Any) -> ImportResult:
    """Convert ``source`` (a file, or a folder for ``binary``) written in ``fmt`` (inferred when None).

    Options come as an :class:`ImportOptions` or as its fields by keyword (``image="000001.jpg"``,
    ``known=["car", "road"]``, ...). Returns an :class:`ImportResult`; nothing is written.
    """
    opts = options if options is not None else ImportOptions()
    if kwargs:
        from dataclasses import replace
        opts = replace(opts, **kwargs)
    if fmt is None:
        fmt = infer_format(source)
        if fmt is None:
            raise UsageError(f"{source}: the mask's format cannot be told from the file; choose it with "
                             f"--from ({', '.join(FORMATS)}).")
    if fmt not in FORMATS:
        raise UsageError(f"\"{fmt}\" is not a mask format this tool imports; use one of {', '.join(FORMATS)}.")
    p = Path(source)
    if fmt != "binary" and not p.is_file():
        raise UsageError(f"{source}: the mask file does not exist." if not p.exists()
                         else f"{source}: this is a folder; only --from binary reads a folder of masks.")
    decoded = _decoder(fmt)(source, opts)
    return finish(decoded, fmt, opts)


__all__ = ["FORMATS", "FORMAT_HELP", "Decoded", "ImportOptions", "ImportResult", "closest", "import_mask",
           "infer_format", "load_colours", "load_mapping", "stable_colours"]
