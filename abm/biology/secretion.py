"""Secretion: every secreting state of the cell-type table releases its mediators into the tissue fields."""

from __future__ import annotations

import numpy as np

from abm.biology import cells
from abm.biology.parameters import MEDIATORS, Biology, Secretion, SecretionTable
from abm.engine.jit import njit


def vector(rates: Secretion) -> np.ndarray:
    """A secretion entry as an array in MEDIATORS order (a.u./min/cell)."""
    return np.array([getattr(rates, m) for m in MEDIATORS])


def for_branches(table: SecretionTable, bio: Biology) -> SecretionTable:
    """The secretion table with the rows the switched-on branches add (``branches.msc_il6``: MSC IL-6)."""
    if not bio.branches.msc_il6:
        return table
    il6 = bio.msc.il6_secretion
    return table.model_copy(update={key: getattr(table, key).model_copy(update={"il6": il6})
                                    for key in ("msc_resting", "msc_licensed")})


def with_knockdowns(table: SecretionTable, links: set[tuple[str, str]]) -> SecretionTable:
    """The secretion table with each (entry, mediator) link set to 0 (a knocked-down source)."""
    if not links:
        return table
    update = {}
    for entry, mediator in links:
        rates = update.get(entry, getattr(table, entry))
        update[entry] = rates.model_copy(update={mediator: 0.0})
    return table.model_copy(update=update)


def tissue_sources(model, out: np.ndarray | None = None) -> np.ndarray:
    """Source density (a.u./min per voxel) of each field: cells by state plus disease background.

    Blocked mediators (IDO inhibitor, COX-2 inhibitor, anti-TGF-beta) have no source anywhere.
    ``out``: an array shaped like the fields to fill (reused from step to step), else a new one.
    """
    table, space = model.secretion, model.space
    if out is None:
        src = np.zeros_like(space.fields)
    else:
        src = out
        src.fill(0.0)
    drive = model.inflammation_factor * model.disease_scale  # co-medication; the damage loop (1 when off)
    src[MEDIATORS.index("infl")] += model.disease.inflammatory_tone * drive
    src[MEDIATORS.index("il6")] += model.disease.il6_tone * drive
    if model.space.compiled:
        for key, (state_rates, marker_key, marker_rates) in model.deposit_tables.items():
            ct = cells.cell_type(key)
            pop = getattr(model, key)
            if pop.n:
                marker = getattr(pop, marker_key) if marker_key else np.zeros(pop.n, np.bool_)
                weighted = ct.secretion_weight is not None
                weight = getattr(pop, ct.secretion_weight) if weighted else _NO_WEIGHT
                _deposit_kernel(src, pop.x, pop.y, pop.state, state_rates, marker, marker_rates, weight, weighted)
        src[model.blocked_mediators] = 0.0
        return src
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


_NO_WEIGHT = np.zeros(0)
"""The weight column of a cell type that has none (never read: ``weighted`` is False)."""


def deposit_tables(table: Secretion) -> dict:
    """Per secreting cell type (by key): (rates by state (S, 6), its marker's column or ``None``, the marker's
    rates (6,)), from the same rows as :func:`abm.biology.cells.secreting` (a type secretes by one marker at
    most).  Made once per model (``model.deposit_tables``) for the compiled deposit."""
    out: dict[str, tuple] = {}
    for ct, row in cells.secreting():
        state_rates, marker_key, marker_rates = out.get(ct.key, (np.zeros((len(ct.states), len(MEDIATORS))), None,
                                                             np.zeros(len(MEDIATORS))))
        if isinstance(row, cells.Marker):
            if marker_key is not None:
                raise ValueError(f"{ct.key}: the compiled deposit takes one secreting marker per cell type")
            marker_key, marker_rates = row.key, vector(getattr(table, row.secretes))
        else:
            state_rates[ct.code(row.key)] = vector(getattr(table, row.secretes))
        out[ct.key] = (state_rates, marker_key, marker_rates)
    return out


@njit
def _deposit_kernel(src, x, y, state, state_rates, marker, marker_rates, weight, weighted):
    """Compiled twin of the deposit loop of :func:`tissue_sources`: per cell, its state's rates, then its
    marker's (the order in which the numpy path adds them to the cell's voxel)."""
    n_f = state_rates.shape[1]
    for i in range(x.size):
        w = weight[i] if weighted else 1.0
        for f in range(n_f):
            r = state_rates[state[i], f]
            if r != 0.0:
                src[f, x[i], y[i]] += r * w if weighted else r
        if marker[i]:
            for f in range(n_f):
                r = marker_rates[f]
                if r != 0.0:
                    src[f, x[i], y[i]] += r * w if weighted else r
