"""Pre-label masks: check them, colour-code index masks, repair anti-aliased ones.

Playment reads a segmentation pre-label as an RGBA PNG: a pixel with alpha 255 whose RGB is a legend
colour (``"#rrggbb"`` -> class or instance name) belongs to that class, and a pixel with all four
channels 0 is unlabelled. Anything else (a colour the legend does not know, soft alpha, black with
alpha, a lossy format, a size other than the primary image's) silently becomes wrong labels in the
tool, so :func:`check` finds it before upload and says where.

The engine is split by verb, and this package re-exports its public API, so import from here:

- :mod:`.io`: opening images safely (a pixel cap decided from the header, before decoding), the fast
  PNG decoder (libspng through imagecodecs, Pillow as the fallback), :func:`load_rgba` for drawing, image
  sizes, :func:`probe_image` for primary and reference images, index masks, atomic PNG/legend writes;
- :mod:`.check`: :func:`check` (and :func:`check_pixels`, which also returns the decoded pixels, and
  :func:`check_indexed`, which also returns their class-index array for the window's overlay),
  :class:`MaskReport`, :class:`MaskProblem`, the legend checks, and which problems make a mask unusable
  or repairable;
- :mod:`.encode`: classes files and :func:`encode` (index mask -> RGBA mask + legend);
- :mod:`.repair`: :func:`repair` and its :class:`RepairSummary`;
- :mod:`.classmap`: :func:`class_index`, which legend class each pixel is (one byte per pixel, run-aware).

Note that the names ``check``, ``encode`` and ``repair`` on this package are the functions, which
shadow the submodules of the same name: ``from playment_submit.core.mask.check import MaskReport``
works, but ``import playment_submit.core.mask.check as m`` gives the function.

No Qt here: the GUI and the command line both call these functions.
"""

from __future__ import annotations

from .check import (
    BLACK_ALPHA,
    HIDDEN,
    MAX_COLOURS,
    MAX_EXAMPLES,
    NEAR_MIN_COLOURS,
    REPAIRABLE_CODES,
    SOFT,
    UNKNOWN,
    UNLABELLED,
    UNUSABLE_CODES,
    VALID,
    LegendRow,
    MaskReport,
    legend_problems,
    load_legend,
)
from .classlist import CLASS_LIST_RULE, IGNORE_VALUE_8BIT, ClassList, names_against_mask, read_class_list
from .classmap import MAX_INDEXED, UNKNOWN_INDEX, UNLABELLED_INDEX, class_index
from .encode import (
    CLASSES_HELP,
    EncodeResult,
    class_colours,
    class_list_rule,
    classes_for_text,
    classes_from_text,
    classes_text_rule,
    classes_to_text,
    load_classes,
    names_ignore_value,
    parse_classes,
    resolve_classes,
)
from .io import (
    DEFAULT_MAX_PIXELS,
    PNG_SIGNATURE,
    PROBE_FORMATS,
    header_size,
    image_size,
    load_index_mask,
    load_png8,
    load_rgba,
    over_pixel_cap,
    png_decoder,
    probe_image,
    save_png,
    too_large_sentence,
    write_legend,
)
from .repair import RepairSummary
from .shared import DEFAULT_ALPHA_THRESHOLD, DEFAULT_TOLERANCE, MAX_LISTED, STRIP_PIXELS, MaskProblem

# isort: split
# The verbs last: importing a submodule sets the package attribute of its name to the module, and these
# rebind check, encode and repair to the functions, as callers of the single-module engine expect.
from .check import check, check_indexed, check_pixels
from .encode import encode, encode_full
from .repair import repair

__all__ = [
    # limits and defaults
    "DEFAULT_ALPHA_THRESHOLD", "DEFAULT_MAX_PIXELS", "DEFAULT_TOLERANCE", "MAX_COLOURS", "MAX_EXAMPLES",
    "MAX_LISTED", "NEAR_MIN_COLOURS", "PNG_SIGNATURE", "PROBE_FORMATS", "STRIP_PIXELS",
    # pixel categories and problem severity
    "BLACK_ALPHA", "HIDDEN", "SOFT", "UNKNOWN", "UNLABELLED", "VALID", "REPAIRABLE_CODES", "UNUSABLE_CODES",
    # results
    "EncodeResult", "LegendRow", "MaskProblem", "MaskReport", "RepairSummary",
    # io
    "header_size", "image_size", "load_index_mask", "load_png8", "load_rgba", "over_pixel_cap", "png_decoder",
    "probe_image",
    "save_png", "too_large_sentence", "write_legend",
    # check
    "check", "check_indexed", "check_pixels", "legend_problems", "load_legend",
    # class index (the window's overlay)
    "MAX_INDEXED", "UNKNOWN_INDEX", "UNLABELLED_INDEX", "class_index",
    # encode
    "CLASSES_HELP", "class_colours", "classes_from_text", "classes_to_text", "encode", "encode_full",
    "load_classes", "parse_classes",
    # the one class-list rule
    "CLASS_LIST_RULE", "IGNORE_VALUE_8BIT", "ClassList", "class_list_rule", "classes_text_rule", "names_against_mask",
    "names_ignore_value", "read_class_list", "resolve_classes", "classes_for_text",
    # repair
    "repair",
]
