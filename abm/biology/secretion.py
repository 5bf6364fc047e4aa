"""Secretion: which cell, in which state, releases which mediator into the tissue fields."""

from __future__ import annotations

import numpy as np

from abm.biology.parameters import MEDIATORS, Secretion
from abm.biology.rules import bcells, macrophages, msc, tcells  # noqa: F401  (state constants)


def vector(rates: Secretion) -> np.ndarray:
    """A secretion entry as an array in MEDIATORS order (a.u./min/cell)."""
    return np.array([getattr(rates, m) for m in MEDIATORS])


def tissue_sources(model) -> np.ndarray:
    """Source density (a.u./min per voxel) of each field: cells by state plus disease background.

    Blocked mediators (IDO inhibitor, COX-2 inhibitor, anti-TGF-beta) have no source anywhere.
    """
    table, space = model.bio.secretion, model.space
    src = np.zeros_like(space.fields)
    tone = model.disease.inflammatory_tone * model.inflammation_factor
    src[MEDIATORS.index("infl")] += tone
    src[MEDIATORS.index("il6")] += model.disease.il6_tone * model.inflammation_factor
    groups = [
        (model.tcells, tcells.TH17, table.th17), (model.tcells, tcells.TREG, table.treg),
        (model.macrophages, macrophages.M1, table.m1), (model.macrophages, macrophages.M2, table.m2),
    ]
    for pop, state, rates in groups:
        _deposit(src, pop, pop.state == state, vector(rates))
    mac = model.macrophages
    _deposit(src, mac, mac.ido_pos, vector(table.ido_phagocyte))
    cells = model.msc
    for state, rates in ((msc.RESTING, table.msc_resting), (msc.LICENSED, table.msc_licensed)):
        sel = cells.state == state
        _deposit(src, cells, sel, vector(rates), weight=cells.potency[sel])
    src[model.blocked_mediators] = 0.0
    return src


def _deposit(src: np.ndarray, pop, sel: np.ndarray, rates: np.ndarray,
             weight: np.ndarray | None = None) -> None:
    if not sel.any():
        return
    x, y = pop.x[sel], pop.y[sel]  # one cell per voxel (exclusion), so plain indexing adds once
    for f in np.flatnonzero(rates):
        src[f, x, y] += rates[f] if weight is None else rates[f] * weight
