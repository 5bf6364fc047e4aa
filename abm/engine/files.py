"""File-system helpers shared by everything that writes: the mode of new files."""

from __future__ import annotations

import os

_MODE: int | None = None


def umask_mode() -> int:
    """The mode a plain new file gets under the process umask (0666 & ~umask).

    Atomic writes go through a private temporary file (``tempfile.mkstemp`` makes it 0600); the final
    file is given this mode instead, as ``open`` would give it, so collaborators on shared HPC storage
    can read results when the umask allows it.  Read once per process (reading the umask means setting it
    for an instant, which must not happen while other threads create files).
    """
    global _MODE
    if _MODE is None:
        current = os.umask(0o077)
        os.umask(current)
        _MODE = 0o666 & ~current
    return _MODE

