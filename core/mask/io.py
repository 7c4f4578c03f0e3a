"""Image input and output shared by every mask verb: opening images safely (a pixel cap decided from
the header, before any pixel is decoded), PNG header sniffing, image sizes, index masks, and atomic
writes of masks and legends."""

from __future__ import annotations

import functools
import json
import os
import re
import struct
import sys
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..defaults import DEFAULT_MAX_PIXELS as DEFAULT_MAX_PIXELS
from ..defaults import MAX_PIXELS_ENV
from ..errors import Problem, UsageError, ValidationError
from ..legend import MAX_CLASSES
from ..localfile import regular_file_problem
from .shared import MaskProblem, count_text, mask_problem

if TYPE_CHECKING:  # Pillow loads when a file is not for the fast path (or is written): see is_pil_image
    from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_pil_image(obj: object) -> bool:
    """``isinstance(obj, PIL.Image.Image)`` without importing Pillow: an 8-bit RGBA mask that libspng
    decodes never needs it, and importing it costs ~20 ms of every ``mask check`` process."""
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(obj, module.Image)

# --------------------------------------------------------------------------------------------------
# Opening images safely
# --------------------------------------------------------------------------------------------------


PngHeader = tuple[int, int, int, int]  # width, height, bit depth, colour type


def png_header(path: Path) -> PngHeader | None:
    """(width, height, bit depth, colour type) from a PNG's IHDR, or None if not a PNG.

    Read by hand so that a size can be refused before Pillow is involved at all, and so that
    16-bit RGBA (which Pillow quietly narrows to 8 bits) can be told apart from true 8-bit RGBA.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(33)
    except OSError:
        return None
    if len(head) < 33 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    w, h, depth, ctype = struct.unpack(">IIBB", head[16:26])
    return w, h, depth, ctype


def _too_large(path: str, w: int, h: int, max_pixels: int) -> MaskProblem:
    return mask_problem("too_large", path,
                    f"the image is {count_text(w)} x {count_text(h)} pixels ({w * h / 1e6:,.0f} megapixels), over "
                    f"the limit of {max_pixels / 1e6:,.0f} megapixels; it was not decoded.",
                    count=w * h, fix="max_megapixels")


def open_image(source: str | Path | Image.Image, where: str, max_pixels: int,
                problems: list[Problem]) -> tuple[Image.Image | None, PngHeader | None]:
    """Open lazily (header only), refusing missing files, non-images and oversized images.

    Returns (image, png_header) or (None, None) after appending the reason to ``problems``.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, Image.Image):
        return source, None
    path = Path(source)
    if not path.is_file():
        problems.append(mask_problem("unreadable", where, "the file does not exist." if not path.exists()
                                 else "this is a folder, not an image file."))
        return None, None
    header = png_header(path)
    if header and header[0] * header[1] > max_pixels:
        problems.append(_too_large(where, header[0], header[1], max_pixels))
        return None, None
    try:
        with warnings.catch_warnings():
            # Our own limit (checked just below) replaces Pillow's warning; its hard error still counts.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError:
        problems.append(mask_problem("too_large", where,
                                 "the image is larger than Pillow's safety limit for decoding and was not "
                                 "decoded; the file is damaged, hostile, or far too big for a mask."))
        return None, None
    except UnidentifiedImageError:
        problems.append(mask_problem("corrupt", where, "the file is not an image that can be read (damaged, "
                                 "empty, or not an image at all); export the mask again as an RGBA PNG."))
        return None, None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
        problems.append(mask_problem("corrupt", where, f"the image cannot be read ({_reason(e)}); export it again."))
        return None, None
    w, h = img.size
    if w * h > max_pixels:
        img.close()
        problems.append(_too_large(where, w, h, max_pixels))
        return None, None
    return img, header


# --------------------------------------------------------------------------------------------------
# The fast PNG path: libspng (through imagecodecs) for 8-bit RGBA, Pillow for everything else
# --------------------------------------------------------------------------------------------------

RGBA8 = (8, 6)  # (bit depth, colour type) of the only layout a Playment mask may have
RGB8 = (8, 2)   # what most photos saved as PNG are (primary image previews)


@functools.cache
def _spng_decode() -> Callable[[bytes], Any] | None:
    """imagecodecs' libspng decoder, or None when it is not installed (a source install without the
    dependency, or a bundle that left the codec out): Pillow then decodes everything.

    libspng decodes an 8-bit RGBA PNG in about 0.4x Pillow's time (0.23 s against 0.55 s for an
    8192 x 6144 mask; tests/benchmarks/bench_mask.py) and releases the GIL while it works. Only its module
    is imported (``imagecodecs._spng``), not imagecodecs' other ~50 codecs.
    """
    if os.environ.get("PLAYMENT_PNG_DECODER", "").lower() == "pillow":  # benchmarks and parity tests
        return None
    try:
        from imagecodecs._spng import spng_decode
    except ImportError:
        return None
    return cast("Callable[[bytes], Any]", spng_decode)


def png_decoder() -> str:
    """Which decoder reads 8-bit RGBA PNGs in this process: ``"libspng"`` or ``"pillow"``."""
    return "libspng" if _spng_decode() is not None else "pillow"


def decode_rgba8(path: Path, header: PngHeader | None) -> np.ndarray | None:
    """(H, W, 4) uint8 pixels of an 8-bit RGBA PNG through libspng, or None: not that layout, no fast
    decoder, or a file libspng refuses (truncated, damaged, a checksum it does not like). None sends the
    caller down Pillow's path, which decodes what it can and words the problem exactly as before, so the
    fast path never changes a verdict or a sentence, only the time taken."""
    return _decode_png8(path, header, RGBA8, 4)


def _decode_png8(path: Path, header: PngHeader | None, layout: tuple[int, int], channels: int) -> np.ndarray | None:
    """:func:`decode_rgba8` for one 8-bit ``layout`` of ``channels`` channels."""
    decode = _spng_decode()
    if decode is None or header is None or header[2:] != layout or header[0] * header[1] == 0:
        return None
    try:
        arr = decode(path.read_bytes())
    except Exception:  # SpngError, MemoryError in the codec, a vanished file: Pillow decides
        return None
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.shape != (header[1], header[0], channels):
        return None
    return arr


def _has_chunk_before_idat(path: Path, kind: bytes) -> bool:
    """True when a PNG has a ``kind`` chunk before its image data (or its chunks cannot be walked)."""
    try:
        with open(path, "rb") as f:
            f.seek(len(PNG_SIGNATURE))
            while True:
                head = f.read(8)
                if len(head) < 8:
                    return True
                length, name = struct.unpack(">I4s", head)
                if name == kind:
                    return True
                if name in (b"IDAT", b"IEND"):
                    return False
                f.seek(length + 4, os.SEEK_CUR)   # the data and its CRC
    except OSError:
        return True


def load_png8(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray | None:
    """The pixels of an 8-bit RGBA or RGB PNG through libspng, as (H, W, 4) or (H, W, 3) uint8 exactly as
    Pillow decodes them, or None for anything else: another format or layout (palette, grey, 16-bit), an RGB
    PNG with a transparent colour (tRNS), a size over ``max_pixels``, no libspng, or a file libspng refuses.
    For previews (the window's primary image): the caller keeps its own decoder for None, so a damaged file
    is still described by that decoder."""
    p = Path(path)
    header = png_header(p) if p.is_file() else None
    if header is None or not 0 < header[0] * header[1] <= max_pixels:
        return None
    if header[2:] == RGBA8:
        return decode_rgba8(p, header)
    if header[2:] == RGB8 and not _has_chunk_before_idat(p, b"tRNS"):
        return _decode_png8(p, header, RGB8, 3)
    return None


def load_rgba(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The pixels of an image as an (H, W, 4) uint8 RGBA array, for drawing (the window's mask overlay
    and primary image preview). An 8-bit RGBA PNG goes through libspng; anything else through Pillow,
    converted to RGBA. Raises ValidationError with the same sentences as :func:`check` (missing file,
    not an image, over ``max_pixels``, truncated)."""
    p = Path(path)
    header = png_header(p) if p.is_file() else None
    if header is not None and 0 < header[0] * header[1] <= max_pixels:
        arr = decode_rgba8(p, header)
        if arr is not None:
            return arr
    problems: list[Problem] = []
    img, _ = open_image(p, str(p), max_pixels, problems)
    if img is None:
        raise ValidationError(problems)
    with img:
        if not decode_pixels(img, str(p), problems):
            raise ValidationError(problems)
        rgba = img if img.mode == "RGBA" else img.convert("RGBA")
        return np.asarray(rgba)


def _reason(e: BaseException) -> str:
    text = str(e).strip().rstrip(".") or type(e).__name__
    return text[0].lower() + text[1:] if text else text


def decode_pixels(img: Image.Image, where: str, problems: list[Problem]) -> bool:
    """Decode the pixel data; a truncated or corrupt file becomes a ``corrupt`` problem."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img.load()
        return True
    except MemoryError:
        problems.append(mask_problem("too_large", where, "there is not enough memory to decode the image."))
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
        problems.append(mask_problem("corrupt", where, f"the image is truncated or damaged ({_reason(e)}); "
                                 f"export the mask again."))
    return False


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image from its header alone (nothing is decoded).

    Raises UsageError with a plain sentence when the file is missing or not an image.
    """
    problems: list[Problem] = []
    img, _ = open_image(path, str(path), max_pixels=1 << 62, problems=problems)
    if img is None:
        raise UsageError(str(problems[0]))
    with img:
        return img.size


PROBE_FORMATS = "PNG, JPEG, WebP, TIFF or BMP"
_IMAGE_SIGNATURES = (PNG_SIGNATURE, b"\xff\xd8\xff", b"RIFF", b"II*\x00", b"MM\x00*", b"BM", b"GIF8")


def _pixels(n: int) -> str:
    return f"{n / 1e6:,.0f} megapixels" if n >= 10_000_000 else f"{n:,} pixels"


def _probe_refused(path: Path, sentence: str) -> ValidationError:
    return ValidationError([Problem("", sentence)], message=sentence)


def too_large_sentence(path: str | Path, w: int, h: int, max_pixels: int) -> str:
    """Why an image over the pixel cap is refused, naming the cap and where it is raised."""
    return (f"The image {path} is {w:,} x {h:,} pixels ({_pixels(w * h)}), over the limit of {_pixels(max_pixels)}; "
            f"it was not decoded. Scale it down, or, if it is meant to be this large, raise the limit with the "
            f"environment variable {MAX_PIXELS_ENV} (in megapixels, e.g. {MAX_PIXELS_ENV}="
            f"{max(1, -(-w * h // 1_000_000))}) and start the app or command again.")


def header_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) from an image file's header alone, or None when it cannot be read: the primary's size
    for the mask check even when the image itself is refused (over the cap, damaged after the header)."""
    try:
        return image_size(path)
    except Exception:
        return None


def over_pixel_cap(path: str | Path, max_pixels: int) -> tuple[tuple[int, int], str] | None:
    """(size from the header, the refusal's sentence) when the image is over ``max_pixels``; None when it is
    not, or its header cannot be read (the full check says why). Nothing is decoded."""
    size = header_size(path)
    if size is None or size[0] * size[1] <= max_pixels:
        return None
    return size, too_large_sentence(Path(path).name, size[0], size[1], max_pixels)


def probe_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """(width, height) of a primary or reference image, after decoding every pixel with Pillow.

    Unlike :func:`image_size` (header only), this proves the file is a whole, readable image before it
    is uploaded. The size is checked against ``max_pixels`` from the header, before anything is
    decoded, so a decompression bomb costs nothing. Raises ``ValidationError([Problem("", sentence)])``
    (``str(error)`` is the sentence itself) naming the file when it does not exist, is a folder, is
    empty, is not an image Pillow can read, is truncated or damaged, or is larger than the cap.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError as e:
        raise _probe_refused(p, f"The image {p} does not exist; check the path, or choose the file again.") from e
    except OSError as e:
        raise _probe_refused(p, f"The image {p} cannot be read ({e.strerror or _reason(e)}); check that the "
                                f"file is there and readable.") from e
    if p.is_dir():
        raise _probe_refused(p, f"{p} is a folder, not an image; choose an image file inside it.")
    if (special := regular_file_problem(p, "image")) is not None:  # /dev/zero, /proc/self/environ
        raise _probe_refused(p, special)
    if st.st_size == 0:
        raise _probe_refused(p, f"The image {p} is empty (0 bytes); copy or export it again.")

    def too_large(w: int, h: int) -> ValidationError:
        return _probe_refused(p, too_large_sentence(p, w, h, max_pixels))

    def damaged(why: str) -> ValidationError:
        return _probe_refused(p, f"The image {p} is truncated or damaged ({why}); copy or export it again from "
                                 f"the original.")

    header = png_header(p)
    if header and header[0] * header[1] > max_pixels:
        raise too_large(header[0], header[1])
    from PIL import Image, UnidentifiedImageError

    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise _probe_refused(p, f"The image {p} cannot be read ({e.strerror or _reason(e)}); check that the "
                                f"file is readable.") from e
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # our own cap decides
            img = Image.open(p)
    except Image.DecompressionBombError as e:
        found = re.search(r"(\d+) pixels", str(e))        # "Image size (N pixels) exceeds limit of ..."
        size = f" ({_pixels(int(found.group(1)))})" if found else ""
        raise _probe_refused(p, f"The image {p} is too large to decode safely{size}, over Pillow's safety limit; "
                                f"it was not decoded. Scale it down, or check that the file is not damaged.") from e
    except UnidentifiedImageError as e:
        if head.startswith(_IMAGE_SIGNATURES):
            raise damaged("its header cannot be read") from e
        raise _probe_refused(p, f"{p} is not an image that can be read (damaged, or not an image at all, "
                                f"whatever its name says); use a {PROBE_FORMATS} file.") from e
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
        raise damaged(_reason(e)) from e
    with img:
        w, h = img.size
        if w * h > max_pixels:
            raise too_large(w, h)
        if w == 0 or h == 0:
            raise _probe_refused(p, f"The image {p} is {w} x {h} pixels, which holds no picture; export it again.")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img.load()
        except MemoryError as e:
            raise _probe_refused(p, f"There is not enough memory to decode the image {p} ({w:,} x {h:,} "
                                    f"pixels); close other programs, or scale the image down.") from e
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
            raise damaged(_reason(e)) from e
    return w, h


# --------------------------------------------------------------------------------------------------
# Index masks
# --------------------------------------------------------------------------------------------------

def load_index_mask(source: str | Path | np.ndarray, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                    negative_ignore: tuple[int, ...] = (), unlabelled: int = 0) -> np.ndarray:
    """A 2-D array of class indices (uint8 when it fits, else uint16) from a PNG/TIFF/.npy or array.

    A ``.npy`` is opened with ``allow_pickle=False`` and memory-mapped, so its shape and type are checked
    from the header (any integer type, either byte order; float and object arrays refused) and its size
    against ``max_pixels`` before a value is read. Pixels holding one of ``negative_ignore`` (negative
    ignore values, labelme's -1) become ``unlabelled``. Raises UsageError for a missing file and
    ValidationError (with problems naming the file) for anything that is not a single-channel integer
    image with values 0..65535.
    """
    where = "index mask" if isinstance(source, np.ndarray) else str(source)
    if isinstance(source, np.ndarray):
        arr = source
    else:
        path = Path(source)
        if not path.is_file():
            raise UsageError(f"{where}: the index mask file does not exist.")
        if path.suffix.lower() == ".npy":
            try:
                arr = np.load(path, allow_pickle=False, mmap_mode="r")
            except (OSError, ValueError, EOFError) as e:
                raise ValidationError(
                    [mask_problem("corrupt", where, f"the .npy file cannot be read ({_reason(e)}); save the "
                                                    f"mask with numpy.save as a 2-D integer array.")]) from e
            if arr.size > max_pixels:
                raise ValidationError([mask_problem("too_large", where, f"the array is {arr.shape} "
                                                    f"({arr.size:,} values), over the limit of "
                                                    f"{max_pixels / 1e6:,.0f} megapixels.")])
        else:
            problems: list[Problem] = []
            img, _ = open_image(path, where, max_pixels, problems)
            if img is None:
                raise ValidationError(problems)
            with img:
                if img.mode in ("RGB", "RGBA", "CMYK", "YCbCr", "LA", "PA", "HSV", "LAB", "RGBX"):
                    raise ValidationError([mask_problem(
                        "not_index", where,
                        f"the file is a {img.mode} colour image, not a single-channel index mask; a colour "
                        f"mask is checked, not encoded.", fix="mask_check_instead")])
                if img.mode == "F":
                    raise ValidationError([mask_problem("not_index", where, "the file holds floating-point values; "
                                                    "class indices must be whole numbers (8- or 16-bit).")])
                if not decode_pixels(img, where, problems):
                    raise ValidationError(problems)
                if img.mode == "1":
                    img = img.convert("L")
                arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ValidationError([mask_problem("not_index", where, f"the index mask has shape {tuple(arr.shape)}; it "
                                        f"must be a single-channel 2-D array (height x width).")])
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValidationError([mask_problem("not_index", where, f"the index mask holds {arr.dtype} values; class "
                                        f"indices must be whole numbers (8- or 16-bit).")])
    negative = [v for v in negative_ignore if v < 0]
    if negative and arr.size and np.issubdtype(arr.dtype, np.signedinteger):
        arr = np.where(np.isin(arr, negative), arr.dtype.type(unlabelled), arr)
    if arr.size and arr.dtype not in (np.uint8, np.uint16):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > MAX_CLASSES:
            bad = lo if lo < 0 else hi
            y, x = np.argwhere(arr == bad)[0]
            hint = " (a negative ignore value: pass it to --ignore)" if bad < 0 else ""
            raise ValidationError([mask_problem("bad_index", where, f"index {bad} at x={x}, y={y} is outside "
                                            f"0..{MAX_CLASSES}{hint}; 0 means unlabelled, 1.. the classes.",
                                            examples=[(x, y)])])
        arr = arr.astype(np.uint8 if hi < 256 else np.uint16)
    return np.ascontiguousarray(arr)


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------

def _atomic_write(path: Path, write: Callable[[str], object]) -> None:
    """Write through a temporary file in the same folder and rename, so that an interrupted run never
    leaves a half-written mask that looks complete."""
    import tempfile  # here: checking a mask never writes one

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_png(rgba: np.ndarray, path: str | Path) -> None:
    """Write an (H, W, 4) uint8 array as an RGBA PNG. ``compress_level=1``: masks are mostly flat areas
    that compress well even at the fastest level, and level 6 takes about 3x as long."""
    arr = np.ascontiguousarray(rgba, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 4:
        raise ValueError(f"an RGBA mask must have shape (height, width, 4), not {arr.shape}.")
    from PIL import Image

    save_png_image(Image.fromarray(arr), path)


def save_png_image(img: Any, path: str | Path) -> None:
    """Write a Pillow RGBA image as :func:`save_png` writes an array (atomically, ``compress_level=1``), for
    callers that build the image in Pillow and would only copy it through numpy."""
    if img.mode != "RGBA":
        raise ValueError(f"an RGBA mask must be an RGBA image, not {img.mode}.")
    _atomic_write(Path(path), lambda tmp: img.save(tmp, format="PNG", compress_level=1))


def write_legend(legend: dict[str, str], path: str | Path) -> None:
    """Write a legend as JSON (``{"#rrggbb": "name"}``), in the order given (index order for encode)."""
    text = json.dumps(legend, indent=2, ensure_ascii=False) + "\n"
    _atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
