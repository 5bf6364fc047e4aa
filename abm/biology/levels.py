"""The signal levels a cell senses: six mediators plus contact counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.biology.parameters import MEDIATORS

IDO, PGE2, TGFB, IL6, IL10, INFL = range(len(MEDIATORS))


@dataclass
class Levels:
    """Mediator levels (a.u.) per cell (arrays) or per compartment (floats)."""

    ido: np.ndarray | float
    pge2: np.ndarray | float
    tgfb: np.ndarray | float
    il6: np.ndarray | float
    il10: np.ndarray | float
    infl: np.ndarray | float

    @classmethod
    def from_rows(cls, rows: np.ndarray) -> Levels:
        """From an array (6, n) sampled off the fields, rows in MEDIATORS order."""
        return cls(*rows)
