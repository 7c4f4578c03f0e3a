"""The masks the app writes for the window, and where: colour-coded, imported and edited masks, legends
beside them, the class names typed last, and the clean-up of files nothing refers to any more.

Every mask the app makes lands in its data folder (``masks/coded``, ``masks/imported``, ``masks/edited``)
under a name derived from its content (the pixels and the legend): two ``mask.png`` files from two folders
never overwrite each other, and a saved job reopens exactly the mask it was saved with. These functions
decode, encode and hash: call them off the GUI thread. No Qt here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import Problem, ValidationError
from .legend import duplicate_names, key_problem
from .mask import DEFAULT_MAX_PIXELS, encode, load_rgba, repair, save_png, write_legend
from .mask.edit import add_class, change_colour, merge_classes, remove_class, replace_key
from .mask.formats import ImportResult
from .settings import config_dir, data_dir

KINDS = ("coded", "imported", "edited", "fetched")
MAX_FETCH_BYTES = 256 * 2**20    # a job's mask fetched to preview it (an 8192x6144 RGBA PNG is far below this)
LEGEND_SUFFIX = ".legend.json"   # what this app writes beside a mask; ``<mask>.json`` is read too
KEEP_DAYS = 30                   # an unreferenced mask older than this is removed by :func:`clean_unused`
KEEP_BYTES = 2 * 1024 ** 3       # ... and the oldest unreferenced ones go first while the folder is larger


def masks_dir(kind: str | None = None) -> Path:
    """The app's folder for the masks it writes (``kind``: one of :data:`KINDS`)."""
    root = data_dir() / "masks"
    return root / kind if kind else root


def legend_file_for(mask: str | Path) -> Path:
    """Where this app writes the legend of ``mask``: ``x.legend.json`` beside ``x.png``."""
    return Path(mask).with_suffix(LEGEND_SUFFIX)


def find_legend(mask: str | Path) -> Path | None:
    """The legend beside a mask: written by this tool (``x.legend.json``) or by hand (``x.json``)."""
    for candidate in (legend_file_for(mask), Path(mask).with_suffix(".json")):
        if candidate.is_file():
            return candidate
    return None


def is_rgba_png(path: str | Path) -> bool:
    """A PNG already in Playment's form (RGBA, by its header): loaded as it is, with its legend."""
    p = Path(path)
    if p.suffix.lower() != ".png" or not p.is_file():
        return False
    try:
        with p.open("rb") as fh:
            head = fh.read(26)
    except OSError:
        return False
    # signature, IHDR length and type, width, height, bit depth, colour type 6 (RGBA)
    return len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR" and head[25] == 6


def fetch_preview(client: Any, url: str, *, max_bytes: int = MAX_FETCH_BYTES,
                  max_pixels: int = DEFAULT_MAX_PIXELS) -> Path:
    """Download a job's mask that is only a URL, to show it over the image (the job still sends the URL).
    Only through the API's attachments endpoint (the key goes to the API host alone, the signed storage URL
    is fetched without it; see ``PlaymentClient.fetch_attachment``), at most ``max_bytes``, and refused
    from its PNG header, before anything is decoded, when it is not an 8-bit RGBA PNG or over
    ``max_pixels``. Returns the local copy (named by its content) in the app's ``fetched`` folder."""
    data = client.fetch_attachment(url, max_bytes=max_bytes)
    head = data[:26]
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValidationError([Problem("", f"The mask at {url} is not a PNG; Playment needs an RGBA PNG there.")])
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if width * height > max_pixels:
        raise ValidationError([Problem("", f"The mask at {url} is {width}×{height} pixels, more than the "
                                           f"{max_pixels / 1e6:g} megapixels a mask may have; it was not decoded.")])
    out = masks_dir("fetched") / f"{hashlib.sha256(data).hexdigest()[:16]}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.is_file():
        tmp = out.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, out)
    return out


def content_tag(pixels: np.ndarray, legend: Mapping[str, str]) -> str:
    """A short hash of a mask's pixels and legend: the part of its file name that keeps masks apart."""
    h = hashlib.sha256()
    h.update(str(pixels.shape).encode())
    h.update(np.ascontiguousarray(pixels).data)
    h.update(json.dumps(dict(legend), sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()[:12]


def _target(kind: str, stem: str, tag: str) -> Path:
    stem = stem.removesuffix("_coded").removesuffix("_edited") or "mask"
    return masks_dir(kind) / f"{stem[:80]}-{tag}.png"


def store(rgba: np.ndarray, legend: Mapping[str, str], kind: str, stem: str) -> Path:
    """Write an RGBA mask and its legend into the app's ``kind`` folder under a content name; the same
    content is the same file (written once)."""
    out = _target(kind, stem, content_tag(rgba, legend))
    out.parent.mkdir(parents=True, exist_ok=True)
    if not (out.is_file() and legend_file_for(out).is_file()):
        save_png(rgba, out)
        write_legend(dict(legend), legend_file_for(out))
    return out


def colour_code(index_path: str | Path, classes: Any, colours: Mapping[str, str] | None = None
                ) -> tuple[Path, dict[str, str]]:
    """Colour-code an index mask (``classes`` in any form core's encode takes); ``colours``: {generated
    colour: chosen colour} for classes the user gave their own. Returns the written mask and its legend."""
    rgba, legend = encode(index_path, classes)
    for auto, chosen in (colours or {}).items():
        if auto in legend and chosen != auto:
            rgba, legend, _ = change_colour(rgba, legend, auto, chosen)
    return store(rgba, legend, "coded", Path(index_path).stem), dict(legend)


def write_import(result: ImportResult) -> tuple[Path, dict[str, str]]:
    """Write a mask import the user accepted (mask and legend) under a content name."""
    out = _target("imported", f"{Path(result.source).stem or 'mask'}-{result.format}",
                  content_tag(result.classes, result.legend))
    out.parent.mkdir(parents=True, exist_ok=True)
    if not (out.is_file() and legend_file_for(out).is_file()):
        result.write(out, legend_file_for(out))
    return out, dict(result.legend)


_PIXEL_EDITS: dict[str, Callable[..., tuple[np.ndarray, dict[str, str], int]]] = {
    "colour": change_colour, "merge": merge_classes, "remove": remove_class}
_LEGEND_EDITS: dict[str, tuple[Callable[..., dict[str, str]], str]] = {
    "replace_key": (replace_key, "legend key fixed"), "add": (add_class, "class added (it has no pixels yet)")}
EDITS = (*_PIXEL_EDITS, *_LEGEND_EDITS)


def edit_legend_only(legend: Mapping[str, str], op: str, args: tuple[Any, ...]) -> tuple[dict[str, str], str]:
    """A legend edit that needs no pixels (a key fixed, a class added): the new legend and a sentence. This
    is all a mask that is only a URL can take."""
    if op not in _LEGEND_EDITS:
        raise ValueError(f"{op!r} moves pixels; it needs the mask itself")
    fn, note = _LEGEND_EDITS[op]
    return fn(dict(legend), *args), note[0].upper() + note[1:]


def edit(mask: str | Path, legend: Mapping[str, str], op: str, args: tuple[Any, ...]
         ) -> tuple[Path, dict[str, str], str]:
    """One legend edit of core/mask/edit.py. Edits that move pixels (colour, merge, remove) write the edited
    mask and legend into the app's ``edited`` folder; the original file is never changed."""
    if op not in _PIXEL_EDITS:
        new_legend, note = edit_legend_only(legend, op, args)
        return Path(mask), new_legend, note
    out, new_legend, changed = _PIXEL_EDITS[op](load_rgba(mask), dict(legend), *args)
    path = store(out, new_legend, "edited", Path(mask).stem) if changed else Path(mask)
    note = (f"{changed:,} pixels changed; the edited mask is {path}" if changed
            else "no pixels had that colour; only the legend changed")
    return path, dict(new_legend), note[0].upper() + note[1:]


def repair_into(mask: str | Path, legend: Mapping[str, str], out: str | Path) -> str:
    """Repair ``mask`` into ``out`` (a file the user chose) and say what changed."""
    summary = repair(mask, dict(legend), out)
    kinds = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in summary.changed.items() if k != "total" and v)
    note = f"Repaired {summary.changed_pixels:,} pixels ({kinds or 'none'})"
    if summary.left_pixels:
        note += f"; {summary.left_pixels:,} pixels of unknown colours were left as they were"
    return note + "."


def export(mask: str | Path, legend: Mapping[str, str], out: str | Path) -> Path:
    """Copy a mask to ``out`` and write its legend beside it (core's writer); returns the legend file.
    Raises OSError when the folder cannot be written."""
    if Path(out).resolve() != Path(mask).resolve():
        shutil.copyfile(mask, out)
    legend_out = legend_file_for(out)
    write_legend(dict(legend), legend_out)
    return legend_out


def in_app_folder(path: str | Path) -> bool:
    """The file is one the app wrote into its own data folder (a shared job file should not point there)."""
    try:
        return Path(path).resolve().is_relative_to(masks_dir().resolve())
    except (OSError, ValueError):
        return False


def copy_beside(mask: str | Path, folder: str | Path) -> Path:
    """Copy a mask the app keeps in its data folder (and its legend) into ``folder``, for a job file saved
    there: the job then names a file that travels with it. Returns the copy's path."""
    target = Path(folder) / Path(mask).name
    if target.resolve() != Path(mask).resolve():
        shutil.copyfile(mask, target)
        legend = legend_file_for(mask)
        if legend.is_file():
            shutil.copyfile(legend, legend_file_for(target))
    return target


def clean_unused(keep: Iterable[str | Path], *, now: float | None = None, max_age_days: float = KEEP_DAYS,
                 max_bytes: int = KEEP_BYTES) -> int:
    """Remove masks in the app's folders that nothing named in ``keep`` refers to and that are older than
    ``max_age_days``; then, while the folders hold more than ``max_bytes``, the oldest unreferenced ones.
    Returns how many masks were removed. Never raises."""
    kept = set()
    for k in keep:
        try:
            kept.add(Path(k).resolve())
        except (OSError, ValueError):
            continue
    now = time.time() if now is None else now
    found: list[tuple[float, int, Path]] = []
    total = 0
    for kind in KINDS:
        try:
            entries = list(os.scandir(masks_dir(kind)))
        except OSError:
            continue
        for e in entries:
            if not e.name.endswith(".png"):
                continue
            try:
                st = e.stat()
            except OSError:
                continue
            total += st.st_size
            if Path(e.path).resolve() not in kept:
                found.append((st.st_mtime, st.st_size, Path(e.path)))
    removed = 0
    for mtime, size, path in sorted(found):
        if now - mtime < max_age_days * 86400 and total <= max_bytes:
            continue
        try:
            path.unlink()
            legend_file_for(path).unlink(missing_ok=True)
        except OSError:
            continue
        total -= size
        removed += 1
    return removed


def legend_marks(legend: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """key -> (status, sentence) for the legend rows core finds something wrong with (a key that is not a
    colour, a name two colours share)."""
    marks: dict[str, tuple[str, str]] = {}
    for name, keys in duplicate_names(dict(legend)).items():
        for k in keys:
            others = ", ".join(o for o in keys if o != k)
            marks[k] = ("warning", f"{k} and {others} are both named \"{name}\"; give each colour its own name, "
                                   f"or merge the classes if they are one.")
    for k in legend:
        why = key_problem(k)
        if why:
            marks[k] = ("error", why[0].upper() + why[1:] + " Double-click the colour to correct it.")
    return marks


def last_classes_path() -> Path:
    """Where the class names typed last are kept (the app's config folder)."""
    return config_dir() / "last-classes.txt"


def remembered_classes() -> str:
    """The class names typed last ("" when there are none or they cannot be read)."""
    try:
        return last_classes_path().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def remember_classes(text: str) -> None:
    """Keep the class names typed for next time; a read-only config folder only loses the convenience."""
    try:
        last_classes_path().parent.mkdir(parents=True, exist_ok=True)
        last_classes_path().write_text(text, encoding="utf-8")
    except OSError:
        pass


__all__ = ["EDITS", "KINDS", "LEGEND_SUFFIX", "clean_unused", "colour_code", "content_tag", "copy_beside",
           "edit", "edit_legend_only", "export", "fetch_preview", "find_legend", "in_app_folder", "is_rgba_png",
           "last_classes_path", "legend_file_for", "legend_marks", "masks_dir", "remember_classes",
           "remembered_classes", "repair_into", "store", "write_import"]
