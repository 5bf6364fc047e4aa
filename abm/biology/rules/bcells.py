"""B-cell rules: plasma-cell differentiation, its suppression, turnover, the autoantibody index."""

from __future__ import annotations

import numpy as np

from abm.biology.cells import BCELLS
from abm.biology.levels import Levels
from abm.biology.parameters import BCells
from abm.engine.hazards import competing_fates, hill, per_h

B, PLASMA = BCELLS.codes("b", "plasma")


def to_plasma(p: BCells, s: Levels, treg_contacts: np.ndarray | float,
              proliferation_factor: float) -> np.ndarray | float:
    """Inflammation drives plasma-cell differentiation (type-I IFN and IL-6 from activated innate cells:
    Jego G 2003 Immunity); Treg suppress B cells directly (Lim HW 2005
    J Immunol); MSC inhibit B proliferation and differentiation by soluble factors (Corcione A 2006
    Blood; PGE2 is the proxy here)."""
    by_treg = p.treg_suppression_max * treg_contacts / (p.treg_contact_k + treg_contacts)
    by_msc = p.msc_inhibition_max * hill(s.pge2)
    return (p.plasma_differentiation_per_h * hill(s.infl) * (1.0 - by_treg) * (1.0 - by_msc)
            * proliferation_factor)


def step_tissue(model) -> dict[str, int]:
    """Differentiation, death and recruitment of B cells; update of the autoantibody index."""
    pop, p, rng, dt = model.bcells, model.bio.bcells, model.rngs.bcells, model.dt_h
    recruited = rng.poisson(model.bio.trafficking.b_ingress_per_mm2_per_h * model.space.area_mm2 * dt)
    if pop.n:
        s = model.levels_at(pop)
        is_b = pop.state == B
        contacts = model.suppressor_contacts[pop.x, pop.y]
        differentiate = np.where(is_b, to_plasma(p, s, contacts, model.proliferation_factor), 0.0)
        death = np.where(is_b, per_h(p.b_half_life_days, 24), per_h(p.plasma_half_life_days, 24))
        fate = competing_fates([differentiate, death], pop.n, dt, rng)
        pop.state[fate == 1] = PLASMA
        pop.age_h += dt
        dead = fate == 2
        model.space.release(pop.x[dead], pop.y[dead])
        pop.remove(dead)
    x, y = model.space.random_free(recruited, rng)
    model.space.claim(x, y)
    pop.add(x=x, y=y, state=B, age_h=0.0)
    n_plasma = pop.count(PLASMA)
    decay = per_h(p.antibody_half_life_days, 24)
    model.autoantibody += (p.antibody_per_plasma_per_day / 24 * n_plasma
                           - decay * model.autoantibody) * dt
    return {}
