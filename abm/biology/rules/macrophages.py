"""Macrophages on the grid: one step of M1 <-> M2 polarisation, loss of the IDO+ trace of efferocytosis,
death and monocyte recruitment, with the hazards of the rule table."""

from __future__ import annotations

import numpy as np

from abm.biology.cells import MACROPHAGES
from abm.biology.rules.custom import Signals
from abm.engine.hazards import competing_fates

M1, M2 = MACROPHAGES.codes("m1", "m2")
CODES = {s.key: i for i, s in enumerate(MACROPHAGES.states)}


def step_tissue(model) -> dict[str, int]:
    """Polarisation, loss of the IDO+ phenotype, death and monocyte recruitment for one step."""
    pop, p, rng, dt = model.macrophages, model.bio.macrophages, model.rngs.macrophages, model.dt_h
    recruited = rng.poisson(model.macrophage_recruitment_per_h * dt)
    if pop.n:
        sig = Signals(model.levels_at(pop), markers={"ido_pos": pop.ido_pos})
        m1 = pop.state == M1
        masks = {"m1": m1, "m2": ~m1}
        hazard = lambda behaviour: model.rules.hazard("macrophages", behaviour, sig, pop.state, CODES, masks)  # noqa: E731
        switch = hazard("to:m2") + hazard("to:m1")
        lose_ido = np.where(pop.ido_pos, model.rules.rate("macrophages", "ido_pos", "lose:ido_pos", sig), 0.0)
        fate = competing_fates([switch, lose_ido, hazard("death")], pop.n, dt, rng)
        pop.state[fate == 1] = np.where(m1[fate == 1], M2, M1)
        pop.ido_pos[fate == 2] = False
        pop.age_h += dt
        dead = fate == 3
        model.space.release(pop.x[dead], pop.y[dead])
        pop.remove(dead)
    x, y = model.space.random_free(recruited, rng)
    m1_new = rng.random(x.size) < p.monocyte_m1_fraction
    model.space.claim(x, y)
    pop.add(x=x, y=y, state=np.where(m1_new, M1, M2).astype(np.int8), ido_pos=False, age_h=0.0)
    return {}
