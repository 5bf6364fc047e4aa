"""Which engine steps the model: the compiled kernels (numba) or the pure-numpy reference path.

Both paths draw the same random numbers in the same order from the same streams and do their
arithmetic in float64, so they give the same trajectories (``tests/test_engines.py`` runs the shipped
scenarios on both).  The compiled path is the default wherever numba imports; the numpy path is the
reference the compiled kernels are tested against, and the fallback where numba is not installed.

Choose with the environment variable ``ABM_ENGINE`` (``compiled`` or ``numpy``); a run's manifest
records the engine that ran it.  Compiled kernels are cached on disk (numba ``cache=True``, in
``__pycache__`` beside the sources, or under ``NUMBA_CACHE_DIR`` when set), so only the first import on
a machine pays for compilation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

ENGINES = ("compiled", "numpy")
"""The engines a user may choose with ``ABM_ENGINE``."""

try:  # numba is a dependency, but the numpy path must keep working where its wheel is missing
    import numba as _numba
except ImportError:  # pragma: no cover - exercised only on platforms without numba
    _numba = None


def engine() -> str:
    """The engine in use now: ``ABM_ENGINE`` if set (and valid), else ``compiled`` when numba is available."""
    chosen = os.environ.get("ABM_ENGINE", "").strip().lower()
    if chosen and chosen not in ENGINES:
        raise ValueError(f"ABM_ENGINE={chosen!r}: allowed values are {', '.join(ENGINES)}")
    if chosen == "compiled" and _numba is None:
        raise ValueError("ABM_ENGINE=compiled: numba is not installed here (pip install numba, or use "
                         "ABM_ENGINE=numpy)")
    if chosen == "numpy" or _numba is None:
        return "numpy"
    return "compiled"


def numba_available() -> bool:
    """Whether numba imports here."""
    return _numba is not None


def compiled() -> bool:
    """Whether the model steps with the compiled kernels."""
    return engine() == "compiled"


def njit(fn: Callable[..., Any] | None = None, *, inline: bool = False) -> Any:
    """``numba.njit(cache=True)`` where numba is installed; the plain function otherwise (kernels are then
    only importable, never called: the numpy path does the work).  ``inline=True`` for the small helpers
    called per cell: inlined into their caller, they cost no call and no reference counting."""
    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        if _numba is None:  # pragma: no cover
            return f
        return _numba.njit(cache=True, nogil=True, error_model="numpy", inline="always" if inline else "never")(f)
    return wrap if fn is None else wrap(fn)
