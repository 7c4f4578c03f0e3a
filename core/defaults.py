"""Defaults and limits that the command line's help shows and the engines enforce, in a module that
imports nothing.

``playment-submit --help`` (and every subcommand's parser) is built from these numbers; keeping them here
rather than in :mod:`core.client` (requests) or :mod:`core.mask` (numpy, Pillow) lets the parser be built
without importing either, so the command line starts at once. The engines import them from here, so each
number has one home.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------- the API client
# The retry policy's defaults (core.retry.RetryPolicy holds them as one object; the parser needs only these).
DEFAULT_TIMEOUT = 30.0        # seconds for one request, connect to last byte
CONNECT_TIMEOUT = 5.0
MAX_TIMEOUT = 600.0
DEFAULT_MAX_ATTEMPTS = 5      # create_job (POST) attempts
DEFAULT_BACKOFF_BASE = 0.5    # full-jitter backoff: uniform(0, min(cap, base * 2**(n-1)))
DEFAULT_BACKOFF_CAP = 30.0


def job_budget(timeout: float, max_attempts: int, backoff_base: float, backoff_cap: float) -> float:
    """The longest one job can take before the client gives up: ``max_attempts`` attempts of ``timeout`` each,
    the longest backoff waits between them, and one more ``timeout`` to reconcile an unknown outcome."""
    waits = sum(min(backoff_cap, backoff_base * 2.0 ** (n - 1)) for n in range(1, max(1, max_attempts)))
    return max(1, max_attempts) * timeout + waits + timeout


def give_up_after(timeout: float = DEFAULT_TIMEOUT) -> float:
    """:func:`job_budget` with the default attempts and backoff (the default policy's ``job_budget``)."""
    return job_budget(timeout, DEFAULT_MAX_ATTEMPTS, DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP)


# ---------------------------------------------------------------------------------------- the mask engine
DEFAULT_MAX_PIXELS = 100_000_000  # images over this are refused from their header, before decoding
MAX_PIXELS_ENV = "PLAYMENT_MAX_MEGAPIXELS"  # a job's images may be larger than the default: raise it here


def job_max_pixels() -> int:
    """The pixel cap for a job's primary and reference images: ``PLAYMENT_MAX_MEGAPIXELS`` (a positive number
    of megapixels, at most 10,000) or :data:`DEFAULT_MAX_PIXELS`. A value that is not such a number is ignored
    (the default holds): the sentence refusing an image names the variable and the value in force."""
    import os
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    try:
        mp = float(text)
    except ValueError:
        return DEFAULT_MAX_PIXELS
    return int(mp * 1_000_000) if 0 < mp <= 10_000 else DEFAULT_MAX_PIXELS
DEFAULT_TOLERANCE = 32.0          # RGB distance within which repair snaps a colour to the legend
DEFAULT_ALPHA_THRESHOLD = 128

CLASSES_HELP = ("Class names, one per line: line 1 is index 1 (index 0 is unlabelled), unless line 1 names "
                "background (background, _background_, __background__, unlabeled, unlabelled, void): then the "
                "list starts at index 0 and index 0 stays unlabelled; labelme's __ignore__ on line 1 names the "
                "ignore value (255, or -1 in .npy; left unlabelled) and the next line is index 0. "
                "--classes-start 0|1 forces either reading. "
                "Or write \"n: name\" on every line to give the indices yourself. A .json classes file holds a "
                "list (read by the same rule), {\"3\": \"car\"} (index -> name) or {\"car\": \"#rrggbb\"}.")
"""The classes rule in one sentence: ``mask encode --help`` and the window's colour-code dialog both show it."""
