"""CD4 T cells on the grid: one step of fates (naive -> Treg or Th17, plasticity, death, egress) and
divisions, with every hazard from the rule table (:mod:`abm.biology.rules.grammar`); the same rules drive
the counts of the blood compartment (:func:`abm.biology.compartments.step_blood`).
"""

from __future__ import annotations

import numpy as np

from abm.biology.cells import TCELLS
from abm.biology.rules.custom import Signals
from abm.engine.hazards import competing_fates, prob

NAIVE, TH17, TREG, ITREG, TR1, TREG_MEM = TCELLS.codes("naive", "th17", "treg", "itreg", "tr1", "treg_mem")
CODES = {s.key: i for i, s in enumerate(TCELLS.states)}
N_STATES = len(TCELLS.states)
FOXP3 = (TREG, ITREG, TREG_MEM)
"""States counted as Treg (CD25+FOXP3+) in blood and tissue percentages; Tr1 are FOXP3- and are not."""
TRANSITIONS = ("to:treg", "to:th17", "to:itreg", "to:tr1", "to:naive", "to:treg_mem")
"""State changes of a T cell, in the order of the competing fates (after death and egress come the new
branches' ones, so a model without them draws exactly as the first chapter's did)."""
TISSUE_ONLY = ("to:treg_mem",)
"""Transitions that happen only on the grid (resident memory forms in the tissue): the blood pool has none."""
FATES = ("to:treg", "to:th17", "death", "egress", "to:itreg", "to:tr1", "to:naive", "to:treg_mem")
"""The competing fates of a tissue T cell, in draw order (fate code = index + 1)."""
FATE_TARGET = {1: TREG, 2: TH17, 5: ITREG, 6: TR1, 7: NAIVE, 8: TREG_MEM}
"""Fate code -> the state it leads to."""


def treg_fraction(state) -> float:
    """Share of FOXP3+ cells (committed, induced and resident memory Treg) among the cells (IL-2 competition)."""
    return float(np.isin(state, FOXP3).sum()) / max(len(state), 1)


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
                  fractions={"treg": sum(masks[TCELLS.states[c].key].sum() for c in FOXP3) / n_cd4,
                             "th17": masks["th17"].sum() / n_cd4},
                  proliferation_factor=model.proliferation_factor,
                  disease_scale=model.disease_scale)
    hazard = lambda behaviour: model.rules.hazard("tcells", behaviour, sig, state, CODES, masks)  # noqa: E731
    fate = competing_fates([hazard(b) for b in FATES], n, dt, rng)
    # divisions are decided on the pre-step state, independently of fate changes
    divide_rate = hazard("divide")
    divides = (rng.random(n) < prob(divide_rate, dt)) & (fate == 0)

    leaving = (fate == 3) | (fate == 4)
    model.record_egress(state[fate == 4])
    changed = {code: fate == code for code in FATE_TARGET}
    for code, target in FATE_TARGET.items():
        state[changed[code]] = target
    pop.age_h += dt
    mothers = np.flatnonzero(divides)
    won, dx, dy = model.space.daughter_sites(pop.x[mothers], pop.y[mothers], rng)
    daughter_state = state[mothers[won]].copy()
    model.space.release(pop.x[leaving], pop.y[leaving])
    pop.remove(leaving)
    pop.add(x=dx, y=dy, state=daughter_state, age_h=0.0)
    events = {"t_treg_induced": int((fate == 1).sum()), "t_th17_induced": int((fate == 2).sum()),
              "t_divisions": int(won.size)}
    if (fate >= 5).any():  # the new branches' transitions (no key when they are off)
        events.update({"t_itreg_induced": int((fate == 5).sum()), "t_tr1_induced": int((fate == 6).sum())})
        if (fate == 8).any():
            events["t_treg_memory_formed"] = int((fate == 8).sum())
    return events
