"""Sharing the interpreter with a window: long pure-Python loops in core yield the GIL now and then.

Reading and checking a manifest of 100,000 rows is seconds of Python bytecode in a worker thread. On the
command line nothing else runs; in the window the GUI thread needs the GIL for every event it handles, and a
CPU-bound thread lets it in only at the interpreter's switch interval, so the window stalls for hundreds of
milliseconds at a time (measured: 480 ms opening 100,000 rows in the Bulk tab). When a GUI shares the process
(:func:`share_with_gui`, called by the window), :func:`breathe` in those loops sleeps 1 ms after every 15 ms of
work: about 6% slower, and the event loop is served within tens of milliseconds. Off by default: the command
line never sleeps.
"""

from __future__ import annotations

import time

WORK_SECONDS = 0.015   # at most this much work between yields
REST_SECONDS = 0.001   # how long the worker steps aside

_sharing = False
_last = 0.0


def share_with_gui(on: bool = True) -> None:
    """A GUI thread runs in this process: long loops in core yield to it (see the module doc)."""
    global _sharing
    _sharing = on


def breathe() -> None:
    """Call once per item of a long pure-Python loop; sleeps :data:`REST_SECONDS` after every
    :data:`WORK_SECONDS` of work when a GUI shares the process, else returns at once."""
    global _last
    if not _sharing:
        return
    now = time.perf_counter()
    if now - _last >= WORK_SECONDS:
        time.sleep(REST_SECONDS)
        _last = time.perf_counter()


__all__ = ["REST_SECONDS", "WORK_SECONDS", "breathe", "share_with_gui"]
