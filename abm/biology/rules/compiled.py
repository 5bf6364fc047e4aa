"""The compiled tissue steps of T cells, macrophages and B cells: the twins of the ``step_tissue`` functions
of :mod:`abm.biology.rules.tcells`, :mod:`~abm.biology.rules.macrophages` and :mod:`~abm.biology.rules.bcells`.

Each step senses, evaluates every hazard of the rule table (:func:`abm.biology.rules.program.evaluate`), draws
the competing fates, divisions and deaths and compacts the population in one compiled call, drawing the
same random numbers in the same order as its numpy twin.  What stays in Python is what happens once per step
(recruitment counts, adding the newcomers, the autoantibody index).
"""

from __future__ import annotations

import numpy as np

from abm.biology import compartments
from abm.biology.cells import BCELLS, MACROPHAGES, TCELLS
from abm.biology.rules import bcells, macrophages, tcells
from abm.biology.rules.program import Program, build, by_state, evaluate, sense
from abm.engine import kernels
from abm.engine.hazards import per_h
from abm.engine.jit import njit

T_BEHAVIOURS = (*tcells.FATES, "divide")
"""The T-cell program's behaviours: the competing fates in draw order, then division."""
_T_FATES = len(tcells.FATES)
_T_DIVIDE = T_BEHAVIOURS.index("divide")
_FATE_TARGET = np.array([-1] + [tcells.FATE_TARGET.get(code, -1) for code in range(1, _T_FATES + 1)], np.int64)
"""Fate code -> the state it leads to (-1: none; death and egress remove the cell)."""
M_BEHAVIOURS = ("to:m2", "to:m1", "lose:ido_pos", "death")
B_BEHAVIOURS = bcells.FATES
_T_STATES, _M_STATES, _B_STATES = len(TCELLS.states), len(MACROPHAGES.states), len(BCELLS.states)
"""State counts of the compiled cell types (each kernel groups its cells by state code)."""
_NO_RUNTIME = np.ones(2)
"""Runtime factors of a cell type whose rules read none (macrophages)."""


def programs(model) -> dict[str, Program]:
    """The programs of the three compiled cell types for a model's rules and parameters."""
    return {"tcells": build(model.rules, TCELLS, T_BEHAVIOURS, model.bio, model.disease),
            "macrophages": build(model.rules, MACROPHAGES, M_BEHAVIOURS, model.bio, model.disease),
            "bcells": build(model.rules, BCELLS, B_BEHAVIOURS, model.bio, model.disease)}


@njit
def _hazards(prog, n_behaviours, n_states, state, signals, fraction_th17, fraction_treg, runtime):
    """Hazards (behaviours, n) of every cell, each by the rules of its own state."""
    n = state.size
    out = np.zeros((n_behaviours, n))
    order, first = by_state(state, n_states)
    for s in range(n_states):
        cells = order[first[s]:first[s + 1]]
        if cells.size:
            for b in range(n_behaviours):
                evaluate(prog, b, s, cells, signals, fraction_th17, fraction_treg, runtime, out[b])
    return out


@njit
def _tcell_kernel(x, y, state, age_h, fields, contacts, occupied, seen, reflect_x, reflect_y, pad, prog,
                  runtime, dt, rng, egress, fate_target, induced):
    n = x.size
    treg = 0
    th17 = 0
    for i in range(n):
        if state[i] == 2 or state[i] == 3 or state[i] == 5:  # committed, induced, memory Treg compete for IL-2
            treg += 1
        elif state[i] == 1:
            th17 += 1
    n_cd4 = max(n, 1)
    f_treg, f_th17 = treg / n_cd4, th17 / n_cd4
    signals = sense(fields, x, y, contacts, occupied[0], True, False)  # no marker (a bool row as its type)
    hazards = _hazards(prog, fate_target.size, _T_STATES, state, signals, f_th17, f_treg, runtime)
    fate = kernels.competing_fates(hazards[:fate_target.size - 1], dt, rng)
    divides = kernels.bernoulli(hazards[fate_target.size - 1], dt, rng)
    leaving = np.zeros(n, np.bool_)
    n_mothers = 0
    for i in range(n):
        f = fate[i]
        if f != 0:
            divides[i] = False
            induced[f] += 1
        if f == 4:
            egress[state[i]] += 1
        if f == 3 or f == 4:
            leaving[i] = True
        elif f != 0:
            state[i] = fate_target[f]
        age_h[i] += dt
        if divides[i]:
            n_mothers += 1
    mothers = np.empty(n_mothers, np.int64)
    j = 0
    for i in range(n):
        if divides[i]:
            mothers[j] = i
            j += 1
    won, dx, dy = kernels.daughter_sites(x[mothers], y[mothers], occupied, seen, reflect_x, reflect_y, pad, rng)
    daughter_state = state[mothers[won]].copy()
    keep = _free_and_compact(leaving, x, y, state, age_h, occupied)
    return keep.size, dx, dy, daughter_state


def tcells_step(model) -> dict[str, int]:
    """Compiled twin of :func:`abm.biology.rules.tcells.step_tissue`."""
    pop = model.tcells
    if pop.n == 0:
        return {}
    sp = model.space
    egress = np.zeros(tcells.N_STATES, np.int64)
    induced = np.zeros(_T_FATES + 1, np.int64)
    m, dx, dy, dstate = _tcell_kernel(
        pop.x, pop.y, pop.state, pop.age_h, sp.fields, model.suppressor_contacts, sp.occupied, sp.seen,
        sp.reflect_x, sp.reflect_y, sp.pad, model.programs["tcells"].arrays(), model.runtime_factors(),
        model.dt_h, model.rngs.tcells, egress, _FATE_TARGET, induced)
    model.record_egress_counts(egress)
    pop.n = m
    pop.add(x=dx, y=dy, state=dstate, age_h=0.0)
    events = {"t_treg_induced": int(induced[1]), "t_th17_induced": int(induced[2]), "t_divisions": int(dx.size)}
    if induced[5:].any():  # the new branches' transitions (no key when they are off)
        events.update({"t_itreg_induced": int(induced[5]), "t_tr1_induced": int(induced[6])})
        if induced[8]:
            events["t_treg_memory_formed"] = int(induced[8])
    return events


@njit
def _free_and_compact(dead, x, y, state, age_h, occupied):
    """The ``dead`` (or departed) free their voxels and the survivors are compacted in order (the numpy
    path's ``space.release`` + ``pop.remove``).  Returns the indices kept (to compact further columns)."""
    for i in range(x.size):
        if dead[i]:
            occupied[x[i], y[i]] = False
    keep = kernels.kept(dead)
    kernels.compact(x, keep)
    kernels.compact(y, keep)
    kernels.compact(state, keep)
    kernels.compact(age_h, keep)
    return keep


@njit
def _macrophage_kernel(x, y, state, ido_pos, age_h, fields, contacts, occupied, prog, dt, rng):
    n = x.size
    signals = sense(fields, x, y, contacts, ido_pos, False, True)
    rules = _hazards(prog, 4, _M_STATES, state, signals, 0.0, 0.0, _NO_RUNTIME)
    hazards = np.empty((3, n))
    for i in range(n):
        hazards[0, i] = rules[0, i] + rules[1, i]  # to:m2 of M1 cells, to:m1 of M2 cells
        hazards[1, i] = rules[2, i] if ido_pos[i] else 0.0
        hazards[2, i] = rules[3, i]
    fate = kernels.competing_fates(hazards, dt, rng)
    for i in range(n):
        if fate[i] == 1:
            state[i] = 1 - state[i]
        elif fate[i] == 2:
            ido_pos[i] = False
        age_h[i] += dt
    keep = _free_and_compact(fate == 3, x, y, state, age_h, occupied)
    kernels.compact(ido_pos, keep)
    return keep.size


def macrophages_step(model) -> dict[str, int]:
    """Compiled twin of :func:`abm.biology.rules.macrophages.step_tissue`."""
    pop, rng, dt = model.macrophages, model.rngs.macrophages, model.dt_h
    recruited = rng.poisson(model.macrophage_recruitment_per_h * dt)
    if pop.n:
        pop.n = _macrophage_kernel(pop.x, pop.y, pop.state, pop.ido_pos, pop.age_h, model.space.fields,
                                   model.suppressor_contacts,
                                   model.space.occupied, model.programs["macrophages"].arrays(), dt, rng)
    x, y = model.space.random_free(recruited, rng)
    m1_new = rng.random(x.size) < model.bio.macrophages.monocyte_m1_fraction
    model.space.claim(x, y)
    pop.add(x=x, y=y, state=np.where(m1_new, macrophages.M1, macrophages.M2).astype(np.int8), ido_pos=False,
            age_h=0.0)
    return {}


@njit
def _bcell_kernel(x, y, state, age_h, fields, contacts, occupied, prog, runtime, dt, rng):
    n = x.size
    signals = sense(fields, x, y, contacts, occupied[0], True, False)  # no marker (a bool row as its type)
    hazards = _hazards(prog, 3, _B_STATES, state, signals, 0.0, 0.0, runtime)
    fate = kernels.competing_fates(hazards, dt, rng)
    for i in range(n):
        if fate[i] == 1:
            state[i] = 1
        elif fate[i] == 3:
            state[i] = 2  # Breg
        age_h[i] += dt
    return _free_and_compact(fate == 2, x, y, state, age_h, occupied).size


def bcells_step(model) -> dict[str, int]:
    """Compiled twin of :func:`abm.biology.rules.bcells.step_tissue`."""
    pop, p, rng, dt = model.bcells, model.bio.bcells, model.rngs.bcells, model.dt_h
    recruited = rng.poisson(model.bio.trafficking.b_ingress_per_mm2_per_h * model.space.area_mm2 * dt)
    if pop.n:
        pop.n = _bcell_kernel(pop.x, pop.y, pop.state, pop.age_h, model.space.fields, model.suppressor_contacts,
                              model.space.occupied, model.programs["bcells"].arrays(),
                              model.runtime_factors(), dt, rng)
    x, y = model.space.random_free(recruited, rng)
    model.space.claim(x, y)
    pop.add(x=x, y=y, state=bcells.B, age_h=0.0)
    n_plasma = pop.count(bcells.PLASMA)
    decay = per_h(p.antibody_half_life_days, 24)
    model.autoantibody += (p.antibody_per_plasma_per_day / 24 * n_plasma - decay * model.autoantibody) * dt
    return {}



@njit
def _count_rate(prog, b, s, signals, fraction_th17, fraction_treg, runtime, scratch):
    """Hazard (1/h) of behaviour ``b`` for a compartment's cells in state ``s`` (``signals`` (8, 1))."""
    evaluate(prog, b, s, np.zeros(1, np.int64), signals, fraction_th17, fraction_treg, runtime, scratch)
    return scratch[0]


@njit
def _blood_kernel(counts, levels, runtime, prog, plan_b, plan_target, plan_n, divides, dt, rng, back, w, pool):
    total = max(counts.sum(), 1)
    f_th17, f_treg = counts[1] / total, (counts[2] + counts[3] + counts[5]) / total
    signals = np.zeros((levels.size + 2, 1))
    signals[: levels.size, 0] = levels
    scratch = np.zeros(1)

    def r(b, s):
        return _count_rate(prog, b, s, signals, f_th17, f_treg, runtime, scratch)

    n_states = counts.size
    change = np.zeros(n_states, np.int64)
    for s in range(n_states):
        nf = plan_n[s]
        if nf == 0:
            continue
        rates = np.empty(nf)
        for j in range(nf):
            rates[j] = r(plan_b[s, j], s)
        moved = kernels.binomial_fates(counts[s], rates, dt, rng)
        for j in range(nf):
            change[s] -= moved[j]
            if plan_target[s, j] >= 0:
                change[plan_target[s, j]] += moved[j]
    for s in range(n_states):
        if divides[s]:
            change[s] += rng.binomial(counts[s], -np.expm1(-r(_T_DIVIDE, s) * dt))
    for s in range(n_states):
        if s < 3 or back[s] > 0:  # naive, Th17, Treg always draw (as the first chapter did)
            change[s] += rng.binomial(back[s], w)
    new = counts + change
    new[0] += max(pool - new.sum(), 0)
    return new


def blood_plan_arrays(rules) -> tuple[np.ndarray, ...]:
    """:func:`abm.biology.compartments.blood_plan` as arrays for :func:`_blood_kernel`: behaviour index (in
    :data:`T_BEHAVIOURS`) and target state of each fate per state, the number of fates, division flags."""
    fates, divides = compartments.blood_plan(rules)
    width = max((len(f) for f in fates), default=0) or 1
    plan_b = np.zeros((len(fates), width), np.int64)
    plan_target = np.full((len(fates), width), -1, np.int64)
    for s, plan in enumerate(fates):
        for j, (behaviour, target) in enumerate(plan):
            plan_b[s, j], plan_target[s, j] = T_BEHAVIOURS.index(behaviour), target
    return plan_b, plan_target, np.array([len(f) for f in fates], np.int64), np.array(divides, np.bool_)


def blood_step(model, s) -> dict[str, int]:
    """Compiled twin of :func:`abm.biology.compartments.step_blood`."""
    b = model.blood
    levels = np.array([s.ido, s.pge2, s.tgfb, s.il6, s.il10, s.infl], np.float64)
    if model.blood_plan is None:
        model.blood_plan = blood_plan_arrays(model.rules)
    new = _blood_kernel(np.array(b.counts(), np.int64), levels, model.runtime_factors(),
                        model.programs["tcells"].arrays(), *model.blood_plan, model.dt_h, model.rngs.blood,
                        model.take_egress(), float(model.bio.trafficking.tissue_to_blood_weight),
                        int(model.bio.systemic.pool_cells))
    for key, v in zip(tcells.CODES, new, strict=True):
        setattr(b, key, int(v))
    return {}


@njit
def _ingress_kernel(k, weights, w, rng):
    """Twin of the draws of :func:`abm.biology.compartments.draw_ingress_states` (``k`` > 0, weights > 0):
    ``Generator.choice(n, k, p)`` by its cdf and uniforms, then the binomial share leaving each pool (naive,
    Th17 and Treg always; the new states only when some entered)."""
    p = weights / weights.sum()
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    states = np.searchsorted(cdf, rng.random(k), side="right").astype(np.int8)
    leave = np.zeros(weights.size, np.int64)
    for state in range(weights.size):
        n = np.count_nonzero(states == state)
        if state < 3 or n > 0:
            leave[state] = rng.binomial(n, w)
    return states, leave


def ingress_states(model, k: int) -> np.ndarray:
    """Compiled twin of :func:`abm.biology.compartments.draw_ingress_states`."""
    b = model.blood
    weights = compartments.ingress_weights(model)
    if k == 0:
        return np.zeros(0, np.int8)
    if weights.sum() == 0:
        return np.full(k, tcells.NAIVE, np.int8)
    states, leave = _ingress_kernel(k, weights, float(model.bio.trafficking.tissue_to_blood_weight),
                                    model.rngs.traffic)
    for key, v, gone in zip(tcells.CODES, b.counts(), leave, strict=True):
        setattr(b, key, max(int(v) - int(gone), 0))
    return states
