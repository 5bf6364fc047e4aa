"""B cells on the grid: one step of plasma-cell differentiation and death (hazards of the rule table),
recruitment, and the autoantibody index."""

from __future__ import annotations

from abm.biology.cells import BCELLS
from abm.biology.rules.custom import Signals
from abm.engine.hazards import competing_fates, per_h

B, PLASMA, BREG = BCELLS.codes("b", "plasma", "breg")
CODES = {s.key: i for i, s in enumerate(BCELLS.states)}
FATES = ("to:plasma", "death", "to:breg")
"""The competing fates of a B cell in draw order (fate code = index + 1; Breg last, so a model without the
branch draws as the first chapter's did)."""


def step_tissue(model) -> dict[str, int]:
    """Differentiation, death and recruitment of B cells; update of the autoantibody index."""
    pop, p, rng, dt = model.bcells, model.bio.bcells, model.rngs.bcells, model.dt_h
    recruited = rng.poisson(model.bio.trafficking.b_ingress_per_mm2_per_h * model.space.area_mm2 * dt)
    if pop.n:
        sig = Signals(model.levels_at(pop), contacts=model.suppressor_contacts[pop.x, pop.y],
                      proliferation_factor=model.proliferation_factor,
                  disease_scale=model.disease_scale)
        fate = competing_fates([model.rules.hazard("bcells", b, sig, pop.state, CODES) for b in FATES],
                               pop.n, dt, rng)
        pop.state[fate == 1] = PLASMA
        pop.state[fate == 3] = BREG
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
