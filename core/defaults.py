"""Defaults and limits that the command line's help shows and the engines enforce, in a module that
imports nothing.

``playment-submit --help`` (and every subcommand's parser) is built from these numbers; keeping them here
rather than in :mod:`core.client` (requests) or :mod:`core.mask` (numpy, Pillow) lets the parser be built
without importing either, so the command line starts at once. The engines import them from here, so each
number has one home.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------- the API client
DEFAULT_TIMEOUT = 30.0        # seconds for one request, connect to last byte
CONNECT_TIMEOUT = 5.0
MAX_TIMEOUT = 600.0


def give_up_after(timeout: float = DEFAULT_TIMEOUT) -> float:
    """The longest one job can take before the client gives up: its attempts and the waits between them
    share 5 x ``timeout``; reconciling an unknown outcome gets one more ``timeout``."""
    return 6 * timeout


# ---------------------------------------------------------------------------------------- the mask engine
DEFAULT_MAX_PIXELS = 100_000_000  # images over this are refused from their header, before decoding
DEFAULT_TOLERANCE = 32.0          # RGB distance within which repair snaps a colour to the legend
DEFAULT_ALPHA_THRESHOLD = 128

CLASSES_HELP = ("Class names, one per line: line n names index n, so line 1 is index 1 (index 0 is unlabelled); "
                "or write \"n: name\" on every line to give the indices yourself. A .json classes file holds a "
                "list (first = index 1), {\"3\": \"car\"} (index -> name) or {\"car\": \"#rrggbb\"}.")
"""The classes rule in one sentence: ``mask encode --help`` and the window's colour-code dialog both show it."""
