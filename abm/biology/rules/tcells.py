"""CD4 T cells on the grid: one step of fates (naive -> Treg or Th17, plasticity, death, egress) and
divisions, with every hazard from the rule table (:mod:`abm.biology.rules.grammar`); the same rules drive
the counts of the blood compartment (:func:`abm.biology.compartments.step_blood`).
"""

from __future__ import annotations

import numpy as np

from abm.biology.cells import TCELLS
from abm.biology.rules.custom import Signals
from abm.engine.hazards import competing_fates, prob

NAIVE, TH17, TREG = TCELLS.codes("naive", "th17", "treg")
CODES = {s.key: i for i, s in enumerate(TCELLS.states)}


def step_tissue(model) -> dict[str, int]:
    """Fates, divisions and deaths of the T cells on the grid for one step.

    Returns event counts (for the run's event log).
    """
    pop, rng, dt = model.tcells, model.rngs.tcells, model.dt_h
    n = pop.n
    if n == 0:
        return {}
    s = model.levels_at(pop)
    state = pop.state
    n_cd4 = max(n, 1)
    masks = {key: state == code for key, code in CODES.items()}
    sig = Signals(s, contacts=model.suppressor_contacts[pop.x, pop.y],
                  fractions={"treg": masks["treg"].sum() / n_cd4, "th17": masks["th17"].sum() / n_cd4},
                  proliferation_factor=model.proliferation_factor,
                  disease_scale=model.disease_scale)
    hazard = lambda behaviour: model.rules.hazard("tcells", behaviour, sig, state, CODES, masks)  # noqa: E731
    fate = competing_fates([hazard("to:treg"), hazard("to:th17"), hazard("death"), hazard("egress")], n, dt, rng)
    # divisions are decided on the pre-step state, independently of fate changes
    divide_rate = hazard("divide")
    divides = (rng.random(n) < prob(divide_rate, dt)) & (fate == 0)

    leaving = (fate == 3) | (fate == 4)
    model.record_egress(state[fate == 4])
    state[fate == 1] = TREG
    state[fate == 2] = TH17
    pop.age_h += dt
    mothers = np.flatnonzero(divides)
    won, dx, dy = model.space.daughter_sites(pop.x[mothers], pop.y[mothers], rng)
    daughter_state = state[mothers[won]].copy()
    model.space.release(pop.x[leaving], pop.y[leaving])
    pop.remove(leaving)
    pop.add(x=dx, y=dy, state=daughter_state, age_h=0.0)
    return {"t_treg_induced": int((fate == 1).sum()), "t_th17_induced": int((fate == 2).sum()),
            "t_divisions": int(won.size)}
