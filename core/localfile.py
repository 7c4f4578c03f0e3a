"""One rule for local files a person names (images, masks, manifests, job files): only regular files are read.

A device (``/dev/zero``, ``/dev/urandom``: endless), a pipe, a socket, or a kernel pseudo-file under ``/proc``
or ``/sys`` (``/proc/self/environ``: reported as a 0-byte regular file, yet it holds the process's secrets)
is refused with one sentence, "... is not a regular file ...", instead of being read (forever, or into a job)
or being called "empty (0 bytes)". A missing path or a folder is left to the caller's own sentence.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PSEUDO_ROOTS = ("/proc", "/sys", "/dev")


def regular_file_problem(path: str | os.PathLike[str], what: str = "file") -> str | None:
    """``None`` when ``path`` is a regular file (or missing, or a folder: the caller says those); otherwise
    the sentence naming it and how to fix it."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return None
    if stat.S_ISDIR(st.st_mode):
        return None
    sentence = (f"The {what} {p} is not a regular file (a device, pipe, socket or system file such as "
                f"/dev/zero or /proc/self/environ); give an ordinary file.")
    if not stat.S_ISREG(st.st_mode):
        return sentence
    try:
        real = os.path.realpath(p)
    except OSError:
        return None
    if os.name == "posix" and any(real == r or real.startswith(r + "/") for r in PSEUDO_ROOTS):
        return sentence
    return None


__all__ = ["PSEUDO_ROOTS", "regular_file_problem"]
