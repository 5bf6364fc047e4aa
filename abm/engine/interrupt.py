"""Ctrl-C lands between model steps, never inside compiled code.

A ``SIGINT`` turned into ``KeyboardInterrupt`` at an arbitrary bytecode can hit numba's dispatcher
while it loads a cached kernel: the run then fails with a ``SystemError`` (recorded as a failed run
rather than an interruption), and now and then the process dies of a segmentation fault.  Inside
:func:`deferred` the first Ctrl-C only sets a flag; :func:`checkpoint`, called at the top of every
model step, raises ``KeyboardInterrupt`` there, and leaving the block raises it if no step came
after the signal.  A second Ctrl-C raises at once, as a user who presses it twice expects.

Signal handlers can only be set from the main thread, so in a Dask worker thread (or the app's
server threads) the block does nothing and Ctrl-C is the host's business.  Hand-written because the
standard library has no "defer SIGINT to a safe point" helper.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_requested = False


def _on_sigint(signum: int, frame: object) -> None:
    global _requested
    if _requested:  # the second Ctrl-C: at once
        raise KeyboardInterrupt
    _requested = True


def checkpoint() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C came since the last checkpoint (a safe point)."""
    global _requested
    if _requested:
        _requested = False
        raise KeyboardInterrupt


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block a Ctrl-C waits for the next :func:`checkpoint` (or the block's end)."""
    global _requested
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is _on_sigint or previous is signal.SIG_IGN:  # nested (the outer block owns it), or ignored
        yield
        return
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        pending, _requested = _requested, False
    if pending:
        raise KeyboardInterrupt
