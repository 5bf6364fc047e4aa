"""The tissue's own biology outside the rule table: the initial condition before burn-in, suppressor
contacts, T-cell ingress and monocyte recruitment.

Each function reads its numbers from the parameter tables and its states from the cell-type table.
"""

from __future__ import annotations

import numpy as np

from abm.biology import cells
from abm.biology.parameters import MEDIATORS
from abm.biology.rules import macrophages
from abm.engine.hazards import per_h


def populate(model) -> None:
    """Initial condition only (settled by the burn-in): cells at the configured densities; T-cell states
    drawn from the blood composition, macrophages M1 with ``macrophages.initial_m1_fraction``, B cells
    naive."""
    t, rng, space = model.cfg.tissue, model.rngs.setup, model.space
    voxels = t.width_voxels * t.height_voxels
    b = model.blood
    for pop, density in ((model.tcells, t.tcell_density), (model.macrophages, t.macrophage_density),
                         (model.bcells, t.bcell_density)):
        x, y = space.random_free(int(round(density * voxels)), rng)
        space.claim(x, y)
        if pop is model.tcells:
            shares = np.array(b.counts(), float)
            state = rng.choice(shares.size, size=x.size, p=shares / shares.sum()).astype(np.int8)
        elif pop is model.macrophages:
            m2 = rng.random(x.size) < 1.0 - model.bio.macrophages.initial_m1_fraction
            state = np.where(m2, macrophages.M2, macrophages.M1).astype(np.int8)
        else:
            state = np.zeros(x.size, np.int8)
        pop.add(x=x, y=y, state=state)


def suppressor_contacts(model) -> np.ndarray:
    """For every voxel, the suppressor cells in contact range (``msc.contact_radius_voxels``): the states
    of the cell-type table whose channel is ``contact`` (Treg: Huber S 2011 Immunity; Lim HW 2005 J Immunol;
    viable MSC); all zero under the ``no_contact`` blockade."""
    if model.blockades.no_contact:
        return np.zeros(model.space.occupied.shape, np.int16)
    xs, ys = [], []
    for ct, state in cells.channel_states("contact"):
        pop = getattr(model, ct.key)
        sel = pop.state == ct.code(state.key)
        xs.append(pop.x[sel])
        ys.append(pop.y[sel])
    return model.space.neighbour_grid(np.concatenate(xs), np.concatenate(ys), model.bio.msc.contact_radius_voxels)


def macrophage_recruitment_per_h(model) -> float:
    """Monocytes recruited per hour: the initial macrophage count replaced at the macrophage turnover
    rate (assumption: recruitment balances death at the starting density)."""
    return model.macrophages.n * per_h(model.bio.macrophages.lifespan_half_life_days, 24)


def t_cell_ingress_per_h(model) -> float:
    """CD4 T cells entering the modelled patch per hour: a base rate per mm2, raised by the patch's mean
    inflammation (inflamed endothelium recruits more; ``trafficking.t_ingress_inflammation_gain``)."""
    tr = model.bio.trafficking
    infl_mean = float(model.space.fields[MEDIATORS.index("infl")].mean())
    return tr.t_ingress_per_mm2_per_h * model.space.area_mm2 * (1 + tr.t_ingress_inflammation_gain * infl_mean)
