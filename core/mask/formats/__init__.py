"""Masks in the formats models and datasets write -> Playment's RGBA mask and legend.

One module per format, each turning its files into a value per pixel and a name per value
(:class:`Decoded`); one finishing step shared by all (:func:`~._common.finish`) applies ``--map``
(rename, merge, drop), refuses a class the project does not know (naming the closest known name),
gives every class a stable colour (the same name gets the same colour in every job) unless the format
or ``--colours`` fixes it, and counts pixels per class. Nothing is written until :meth:`ImportResult.write`.

Every format is one row of :data:`.registry.REGISTRY` (name, help, options, sniffing, decoder), which the
command line and the window read. Formats (see each module): ``coco`` (instances JSON through pycocotools),
``voc`` (palette PNG),
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

from ...errors import UsageError, ValidationError
from ..shared import mask_problem
from ._common import (
    Decoded,
    ImportOptions,
    ImportResult,
    closest,
    finish,
    load_colours,
    load_mapping,
    read_text,
    stable_colours,
)
from .registry import FORMATS as REGISTRY_FORMATS
from .registry import OPTION_BY_KEY, OPTIONS, REGISTRY, FormatSpec, Option, decoder, dialog_fields, sniff

FORMATS = REGISTRY_FORMATS
"""The formats' names, in the table's order (core.manifest and the window read this name)."""
FORMAT_HELP: dict[str, str] = {spec.name: spec.summary for spec in REGISTRY}
"""One line per format: the window's format list."""


def infer_format(path: str | Path) -> str | None:
    """The format a file or folder is written in, when it can be told; None when the user must choose
    (an RGB PNG without a labelmap.txt near it, an RGBA PNG, an unknown extension). See
    :data:`.registry.SNIFF_ORDER`."""
    return sniff(path)


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
    if fmt not in ("binary", "coco"):
        _refuse_lossy(p)
    decoded = decoder(fmt)(source, opts)
    return finish(decoded, fmt, opts)


LOSSY_FORMATS = ("JPEG", "MPO", "JPEG2000")


def _refuse_lossy(path: Path) -> None:
    """A JPEG mask said once, before its values are read: lossy compression changes the values and colours
    every format here reads exactly, so what it would give is hundreds of made-up colours or classes."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:      # the header only
                kind = img.format
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return   # the format's own reader says what is wrong with the file
    if kind in LOSSY_FORMATS:
        raise ValidationError([mask_problem(
            "not_png", str(path), f"the mask is a {kind} file; lossy compression changes the exact values and "
                                  f"colours a mask is read by, so export the mask again as PNG from the tool "
                                  f"that made it.")])


__all__ = ["FORMATS", "FORMAT_HELP", "OPTION_BY_KEY", "OPTIONS", "REGISTRY", "Decoded", "FormatSpec",
           "ImportOptions", "ImportResult", "Option", "closest", "dialog_fields", "import_mask", "infer_format",
           "load_colours", "load_mapping", "read_text", "stable_colours"]
