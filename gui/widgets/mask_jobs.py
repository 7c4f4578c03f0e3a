"""The Mask tab's work off the GUI thread: each step goes through core (core.mask_files decides where and
under which names masks are written) and comes back as a :class:`MaskState` with core's check and the
overlay built from the same decode. No widgets here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playment_submit.core import mask_files
from playment_submit.core.mask import MaskReport
from playment_submit.core.mask.formats import ImportResult
from playment_submit.gui.overlay import Overlay, load_overlay


@dataclass
class MaskState:
    """The mask in the panel. ``path``: the local file shown (None for a job's mask that is only a URL);
    ``url``: the URL the job sends it as (a job's remote mask), else None and the file is uploaded."""

    path: Path | None
    legend: dict[str, str]
    report: MaskReport | None
    overlay: Overlay | None
    url: str | None = None

    @property
    def sent_as(self) -> str:
        """What the job names as its mask: the URL, or the local file (uploaded at submit time)."""
        return self.url if self.url is not None else str(self.path)


# ---------------------------------------------------------------- worker jobs (no widgets)
def load_mask(path: str, legend: dict[str, str], primary_size: tuple[int, int] | None) -> MaskState:
    """Check the mask and build its overlay from one decode (core's fast path; the report is kept, so the
    pipeline's check before sending does not decode it again)."""
    report, overlay = load_overlay(path, legend, primary_size)
    return MaskState(Path(path), dict(legend), report, overlay)


def colour_code(index_path: str, classes: Any, primary_size: tuple[int, int] | None,
                colours: dict[str, str] | None = None) -> MaskState:
    """``classes`` in any form core accepts: the dialog's {index: name}, a list (first = index 1), ...
    ``colours``: {generated colour: chosen colour} for classes the user gave their own colour."""
    out, legend = mask_files.colour_code(index_path, classes, colours)
    return load_mask(str(out), legend, primary_size)


def write_imported(result: ImportResult, primary_size: tuple[int, int] | None) -> MaskState:
    """Write an import the user accepted (mask + legend), then check it as any mask loaded from disk."""
    out, legend = mask_files.write_import(result)
    return load_mask(str(out), legend, primary_size)


def repair_mask(state: MaskState, out_path: str, primary_size: tuple[int, int] | None) -> tuple[MaskState, str]:
    note = mask_files.repair_into(str(state.path), state.legend, out_path)
    return load_mask(out_path, state.legend, primary_size), note


def edit_mask(state: MaskState, op: str, args: tuple, primary_size: tuple[int, int] | None
              ) -> tuple[MaskState, str]:
    """A legend edit (core/mask/edit.py through core.mask_files), checked again."""
    path, legend, note = mask_files.edit(str(state.path), state.legend, op, args)
    return load_mask(str(path), legend, primary_size), note
