"""MSC rules: licensing by inflammation, apoptosis, clearance by efferocytosis.

The same laws apply to MSC agents on the grid and to MSC counts in the lung compartment.
"""

from __future__ import annotations

import numpy as np

from abm.biology.cells import MSC as MSC_CELLS
from abm.biology.parameters import MSC
from abm.biology.rules.macrophages import M2
from abm.engine.hazards import competing_fates, hill, per_h

RESTING, LICENSED, APOPTOTIC = MSC_CELLS.codes("resting", "licensed", "apoptotic")


def licensing(p: MSC, infl: np.ndarray | float) -> np.ndarray | float:
    """IFN-gamma/TNF-alpha license MSC to express IDO and COX-2 (Krampera M 2006 Stem Cells; Ren G
    2008 Cell Stem Cell); half-rise 12-24 h at strong signal."""
    return per_h(p.licensing_half_time_h) * hill(infl, p.licensing_signal_k)


def apoptosis(p: MSC, licensed: np.ndarray | bool) -> np.ndarray | float:
    """Infused MSC die within about a day (Lee RH 2009 Cell Stem Cell; Eggenhofer E 2012 Front
    Immunol); licensed MSC resist NK lysis (Spaggiari GM 2006 Blood).  Autologous and allogeneic
    cells are given the same first-day survival (assumption: no difference reported in the seed)."""
    return per_h(p.survival_half_life_h) / np.where(licensed, p.licensed_survival_factor, 1.0)


def step_tissue(model) -> dict[str, int]:
    """Licensing, death and clearance of MSC on the grid.

    An apoptotic MSC next to a macrophage is engulfed; the macrophage turns M2 and IDO+ (Galleu A
    2017 Sci Transl Med).  Without a phagocyte (or with efferocytosis blocked) the apoptotic cell
    disintegrates after ``apoptotic_persistence_h``.
    """
    pop, p, rng, dt = model.msc, model.bio.msc, model.rngs.msc, model.dt_h
    if pop.n == 0:
        return {}
    s = model.levels_at(pop)
    alive = pop.state != APOPTOTIC
    resting = pop.state == RESTING
    lic = np.where(resting, licensing(p, s.infl), 0.0)
    die = np.where(alive, apoptosis(p, pop.state == LICENSED), 0.0)
    fate = competing_fates([lic, die], pop.n, dt, rng)
    pop.state_h += dt
    pop.state[fate == 1] = LICENSED
    pop.state[fate == 2] = APOPTOTIC
    pop.state_h[fate > 0] = 0.0
    events = {"msc_licensed": int((fate == 1).sum()), "msc_apoptotic": int((fate == 2).sum())}

    old_apoptotic = np.flatnonzero((pop.state == APOPTOTIC) & (fate != 2))
    gone = np.zeros(pop.n, bool)
    engulfed = 0
    mac = model.macrophages
    if not model.blockades.no_efferocytosis and mac.n and old_apoptotic.size:
        r = p.efferocytosis_radius_voxels
        p_eat = -np.expm1(-p.efferocytosis_per_h * dt)
        for i in old_apoptotic:
            near = np.flatnonzero((np.abs(mac.x - pop.x[i]) <= r) & (np.abs(mac.y - pop.y[i]) <= r))
            if near.size and rng.random() < p_eat:
                j = near[rng.integers(near.size)]
                mac.state[j] = M2
                mac.ido_pos[j] = True
                gone[i] = True
                engulfed += 1
    clear = -np.expm1(-dt / p.apoptotic_persistence_h)
    decayed = (pop.state == APOPTOTIC) & ~gone & (fate != 2) & (rng.random(pop.n) < clear)
    gone |= decayed
    model.space.release(pop.x[gone], pop.y[gone])
    pop.remove(gone)
    events["msc_engulfed"] = engulfed
    return events
