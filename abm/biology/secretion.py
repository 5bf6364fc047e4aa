"""Secretion: every secreting state of the cell-type table releases its mediators into the tissue fields."""

from __future__ import annotations

import numpy as np

from abm.biology import cells
from abm.biology.parameters import MEDIATORS, Secretion


def vector(rates: Secretion) -> np.ndarray:
    """A secretion entry as an array in MEDIATORS order (a.u./min/cell)."""
    return np.array([getattr(rates, m) for m in MEDIATORS])


def tissue_sources(model, out: np.ndarray | None = None) -> np.ndarray:
    """Source density (a.u./min per voxel) of each field: cells by state plus disease background.

    Blocked mediators (IDO inhibitor, COX-2 inhibitor, anti-TGF-beta) have no source anywhere.
    ``out``: an array shaped like the fields to fill (reused from step to step), else a new one.
    """
    table, space = model.bio.secretion, model.space
    if out is None:
        src = np.zeros_like(space.fields)
    else:
        src = out
        src.fill(0.0)
    tone = model.disease.inflammatory_tone * model.inflammation_factor
    src[MEDIATORS.index("infl")] += tone
    src[MEDIATORS.index("il6")] += model.disease.il6_tone * model.inflammation_factor
    for ct, row in cells.secreting():
        pop = getattr(model, ct.key)
        sel = getattr(pop, row.key) if isinstance(row, cells.Marker) else pop.state == ct.code(row.key)
        weight = getattr(pop, ct.secretion_weight)[sel] if ct.secretion_weight else None
        _deposit(src, pop, sel, vector(getattr(table, row.secretes)), weight=weight)
    src[model.blocked_mediators] = 0.0
    return src


def _deposit(src: np.ndarray, pop, sel: np.ndarray, rates: np.ndarray,
             weight: np.ndarray | None = None) -> None:
    if not sel.any():
        return
    x, y = pop.x[sel], pop.y[sel]  # one cell per voxel (exclusion), so plain indexing adds once
    for f in np.flatnonzero(rates):
        src[f, x, y] += rates[f] if weight is None else rates[f] * weight
