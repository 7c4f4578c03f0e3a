"""Keep a PySide6 reference-count bug from aborting the window: ``protect_bools()`` (called once, on import of
:mod:`playment_submit.gui.workers`, i.e. before any window exists).

PySide6 6.12.0 drops a reference to ``True`` on every Python-level ``SignalInstance.emit()`` (and
``disconnect()``): the ``True`` they return is handed out without the reference that goes with it (6.11.3
does not do this). On Python 3.12 and later ``True`` is immortal and nothing happens; on 3.10 and 3.11 its
count, a few thousand at start-up, falls by one per emit. Every job sent from the window costs about 25
emits (worker start, progress, result, finish, relayed to the GUI thread; the form's own signals), so after
about 150 jobs the count reached zero and CPython aborted the whole process ("Fatal Python error:
bool_dealloc: deallocating True or False"), taking unsaved work with it. Found by
tests/benchmarks/bench_gui.py; tests/gui/test_submit_many.py guards it.

The cure is what Python 3.12 does for these objects: make their count unreachable. When a throwaway signal
shows that emits lose references, ``True`` and ``False`` get a ballast of 2**40 references (a million jobs
a day would need thousands of years to spend it). Nothing is patched; on a PySide6 without the bug, or on
Python >= 3.12, the probe finds no loss and this does nothing.

The same release also returns ``None`` from every void method without its reference (setText, every QPainter
call), which no ballast can answer for long; pyproject.toml therefore keeps PySide6 below 6.12 on Python < 3.12
(tests/gui/test_qt_binding.py checks the installed binding). This module stays as the guard for a binding
installed by hand.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

BALLAST = 1 << 40
PROBE_EMITS = 64


class _Probe(QObject):
    ping = Signal()


def references_lost_per_emit(emits: int = PROBE_EMITS) -> float:
    """How many references to ``True`` one ``Signal.emit()`` of this PySide6 loses (0 when it is sound)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(emits):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    return max(lost, 0) / emits


def _add_references(obj: object, count: int) -> bool:
    """Add ``count`` to ``obj``'s reference count, if its header is laid out as expected (CPython's
    ``ob_refcnt`` first); False, with nothing changed, on any other layout."""
    if sys.implementation.name != "cpython":
        return False
    refcnt = ctypes.c_ssize_t.from_address(id(obj))
    for _ in range(3):  # another thread may take or drop a reference between the two reads: look again
        # sys.getrefcount counts its own argument: the header must agree with it, or this is not ob_refcnt.
        if refcnt.value == sys.getrefcount(obj) - 1:
            refcnt.value += count
            return True
    return False


_protected = False


def protect_bools() -> bool:
    """Give ``True`` and ``False`` their ballast if emits lose references to them; True when it was needed and
    given (once per process; later calls only report)."""
    global _protected
    if _protected:
        return True
    if references_lost_per_emit() < 0.5:  # a sound PySide6 loses none; the bug loses exactly one per emit
        return False
    _protected = _add_references(True, BALLAST) and _add_references(False, BALLAST)
    if not _protected:
        log.warning("PySide6 loses a reference to True on every signal emit and this Python's object layout "
                    "is unknown: a long session may abort; install PySide6-Essentials other than 6.12.0")
    else:
        log.debug("PySide6 loses references to True on emit: gave True and False a ballast of %d", BALLAST)
    return _protected
