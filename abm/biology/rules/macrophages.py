"""Macrophage rules: M1 <-> M2 polarisation, the IDO+ trace of efferocytosis, turnover."""

from __future__ import annotations

import numpy as np

from abm.biology.cells import MACROPHAGES
from abm.biology.levels import Levels
from abm.biology.parameters import Macrophages
from abm.engine.hazards import competing_fates, hill, per_h

M1, M2 = MACROPHAGES.codes("m1", "m2")


def to_m2(p: Macrophages, s: Levels) -> np.ndarray | float:
    """PGE2 (via EP2/EP4) reprograms macrophages to IL-10 producers (Nemeth K 2009 Nat Med);
    IL-10 and TGF-beta sustain the alternative state (Mantovani A 2004 Trends Immunol)."""
    drive = 1.0 - (1.0 - hill(s.pge2)) * (1.0 - hill(s.il10)) * (1.0 - p.tgfb_m2_weight * hill(s.tgfb))
    return p.m1_to_m2_per_h * drive


def to_m1(p: Macrophages, s: Levels, ido_pos: np.ndarray | bool) -> np.ndarray | float:
    """IFN-gamma/TNF drive classical activation (Murray PJ 2014 Immunity); IDO+ phagocytes that
    engulfed apoptotic MSC hold their regulatory state (Galleu A 2017 Sci Transl Med)."""
    return p.m2_to_m1_per_h * hill(s.infl) * np.where(ido_pos, 0.0, 1.0)


def step_tissue(model) -> dict[str, int]:
    """Polarisation, loss of the IDO+ phenotype, death and monocyte recruitment for one step."""
    pop, p, rng, dt = model.macrophages, model.bio.macrophages, model.rngs.macrophages, model.dt_h
    recruited = rng.poisson(model.macrophage_recruitment_per_h * dt)
    if pop.n:
        s = model.levels_at(pop)
        m1 = pop.state == M1
        switch = np.where(m1, to_m2(p, s), to_m1(p, s, pop.ido_pos))
        lose_ido = np.where(pop.ido_pos, per_h(p.ido_phenotype_half_life_days, 24), 0.0)
        fate = competing_fates([switch, lose_ido, per_h(p.lifespan_half_life_days, 24)],
                               pop.n, dt, rng)
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
