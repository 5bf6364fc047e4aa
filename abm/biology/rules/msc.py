"""MSC rules: licensing by inflammation, apoptosis, clearance by efferocytosis.

The same laws apply to MSC agents on the grid and to MSC counts in the lung compartment.
"""

from __future__ import annotations

import numpy as np

from abm.biology.cells import MSC as MSC_CELLS
from abm.biology.rules.custom import Signals
from abm.biology.rules.macrophages import M2
from abm.engine.hazards import competing_fates

RESTING, LICENSED, APOPTOTIC = MSC_CELLS.codes("resting", "licensed", "apoptotic")
CODES = {s.key: i for i, s in enumerate(MSC_CELLS.states)}


def step_tissue(model) -> dict[str, int]:
    """Licensing, death and clearance of MSC on the grid.

    An apoptotic MSC next to a macrophage is engulfed; the macrophage turns M2 and IDO+ (Galleu A
    2017 Sci Transl Med).  Without a phagocyte (or with efferocytosis blocked) the apoptotic cell
    disintegrates after ``apoptotic_persistence_h``.
    """
    pop, p, rng, dt = model.msc, model.bio.msc, model.rngs.msc, model.dt_h
    if pop.n == 0:
        return {}
    sig = Signals(model.levels_at(pop))
    fate = competing_fates([model.rules.hazard("msc", b, sig, pop.state, CODES)
                            for b in ("to:licensed", "to:apoptotic")], pop.n, dt, rng)
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
        p_eat = -np.expm1(-model.rules.rate("msc", "apoptotic", "engulfed", sig) * dt)
        for i in old_apoptotic:
            near = np.flatnonzero((np.abs(mac.x - pop.x[i]) <= r) & (np.abs(mac.y - pop.y[i]) <= r))
            if near.size and rng.random() < p_eat:
                j = near[rng.integers(near.size)]
                mac.state[j] = M2
                mac.ido_pos[j] = True
                gone[i] = True
                engulfed += 1
    clear = -np.expm1(-model.rules.rate("msc", "apoptotic", "cleared", sig) * dt)
    decayed = (pop.state == APOPTOTIC) & ~gone & (fate != 2) & (rng.random(pop.n) < clear)
    gone |= decayed
    model.space.release(pop.x[gone], pop.y[gone])
    pop.remove(gone)
    events["msc_engulfed"] = engulfed
    return events
