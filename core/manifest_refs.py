"""Duplicate reference IDs within a manifest: every job needs its own. The first row with an ID keeps it; each
later row with the same ID gets an error naming that first row. Two ways, one sentence: over rows held in
memory (:func:`flag_duplicates`), or a chunk at a time against an index of the rows checked before
(:func:`flag_duplicates_in`, a streamed run's SQLite row store, core.row_store)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .pacing import breathe

if TYPE_CHECKING:
    from .manifest import ManifestRow


class RefIndex(Protocol):
    """Where a streamed check keeps the reference IDs of the rows before the chunk in hand (core.row_store)."""

    def first_rows(self, refs: list[str]) -> dict[str, int]: ...   # the first row of each ref already seen
    def add_refs(self, pairs: list[tuple[str, int]]) -> None: ...   # (ref, row) seen for the first time


def _duplicate(r: ManifestRow, ref: str, first: int) -> None:
    r.add("reference_id", f"the reference ID \"{ref}\" is also used on row {first}; every job needs its own "
                          f"reference ID.", code="FS_0001")


def flag_duplicates(rows: list[ManifestRow]) -> None:
    """A set of the IDs seen (no row number per ID held), then the first row of each repeated ID found in a
    second pass, which only a manifest with duplicates takes."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for r in rows:
        breathe()
        ref = r.reference_id
        if isinstance(ref, str) and ref:
            if ref in seen:
                repeated.add(ref)
            else:
                seen.add(ref)
    del seen
    if repeated:
        first: dict[str, int] = {}
        for r in rows:
            ref = r.reference_id
            if not isinstance(ref, str) or ref not in repeated:
                continue
            if ref in first:
                _duplicate(r, ref, first[ref])
            else:
                first[ref] = r.row


def flag_duplicates_in(rows: list[ManifestRow], refs: RefIndex) -> None:
    """Duplicates against the rows checked before (``refs``) and within these rows; these rows' IDs join it."""
    here = [r.reference_id for r in rows if isinstance(r.reference_id, str) and r.reference_id]
    first = refs.first_rows(here)
    new: list[tuple[str, int]] = []
    for r in rows:
        ref = r.reference_id
        if not isinstance(ref, str) or not ref:
            continue
        if ref in first:
            _duplicate(r, ref, first[ref])
        else:
            first[ref] = r.row
            new.append((ref, r.row))
    refs.add_refs(new)
