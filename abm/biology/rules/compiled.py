"""The compiled tissue steps of T cells, macrophages and B cells: the twins of the ``step_tissue`` functions
of :mod:`abm.biology.rules.tcells`, :mod:`~abm.biology.rules.macrophages` and :mod:`~abm.biology.rules.bcells`.

Each step senses, evaluates every hazard of the rule table (:func:`abm.biology.rules.program.evaluate`), draws
the competing fates, divisions and deaths and compacts the population in one compiled call, drawing the
same random numbers in the same order as its numpy twin.  What stays in Python is what happens once per step
(recruitment counts, adding the newcomers, the autoantibody index).
"""

from __future__ import annotations

import numpy as np

from abm.biology.cells import BCELLS, MACROPHAGES, TCELLS
from abm.biology.rules import bcells, macrophages, tcells
from abm.biology.rules.program import Program, build, by_state, evaluate, sense
from abm.engine import kernels
from abm.engine.hazards import per_h
from abm.engine.jit import njit

T_BEHAVIOURS = ("to:treg", "to:th17", "death", "egress", "divide")
M_BEHAVIOURS = ("to:m2", "to:m1", "lose:ido_pos", "death")
B_BEHAVIOURS = ("to:plasma", "death")
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
                  runtime, dt, rng, egress):
    n = x.size
    treg = 0
    th17 = 0
    for i in range(n):
        if state[i] == 2:
            treg += 1
        elif state[i] == 1:
            th17 += 1
    n_cd4 = max(n, 1)
    f_treg, f_th17 = treg / n_cd4, th17 / n_cd4
    signals = sense(fields, x, y, contacts, occupied[0], True, False)  # no marker (a bool row as its type)
    hazards = _hazards(prog, 5, 3, state, signals, f_th17, f_treg, runtime)
    fate = kernels.competing_fates(hazards[:4], dt, rng)
    divides = kernels.bernoulli(hazards[4], dt, rng)
    leaving = np.zeros(n, np.bool_)
    n_treg = 0
    n_th17 = 0
    n_mothers = 0
    for i in range(n):
        f = fate[i]
        if f != 0:
            divides[i] = False
        if f == 4:
            egress[state[i]] += 1
        if f == 3 or f == 4:
            leaving[i] = True
        elif f == 1:
            state[i] = 2
            n_treg += 1
        elif f == 2:
            state[i] = 1
            n_th17 += 1
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
    return keep.size, dx, dy, daughter_state, n_treg, n_th17


def tcells_step(model) -> dict[str, int]:
    """Compiled twin of :func:`abm.biology.rules.tcells.step_tissue`."""
    pop = model.tcells
    if pop.n == 0:
        return {}
    sp = model.space
    egress = np.zeros(3, np.int64)
    m, dx, dy, dstate, n_treg, n_th17 = _tcell_kernel(
        pop.x, pop.y, pop.state, pop.age_h, sp.fields, model.suppressor_contacts, sp.occupied, sp.seen,
        sp.reflect_x, sp.reflect_y, sp.pad, model.programs["tcells"].arrays(), model.runtime_factors(),
        model.dt_h, model.rngs.tcells, egress)
    model.record_egress_counts(egress)
    pop.n = m
    pop.add(x=dx, y=dy, state=dstate, age_h=0.0)
    return {"t_treg_induced": int(n_treg), "t_th17_induced": int(n_th17), "t_divisions": int(dx.size)}


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
    rules = _hazards(prog, 4, 2, state, signals, 0.0, 0.0, _NO_RUNTIME)
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
    hazards = _hazards(prog, 2, 2, state, signals, 0.0, 0.0, runtime)
    fate = kernels.competing_fates(hazards, dt, rng)
    for i in range(n):
        if fate[i] == 1:
            state[i] = 1
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
def _blood_kernel(naive, th17, treg, levels, runtime, prog, dt, rng, back, w, pool):
    total = max(naive + th17 + treg, 1)
    f_th17, f_treg = th17 / total, treg / total
    signals = np.zeros((levels.size + 2, 1))
    signals[: levels.size, 0] = levels
    scratch = np.zeros(1)

    def r(b, s):
        return _count_rate(prog, b, s, signals, f_th17, f_treg, runtime, scratch)

    to_treg, to_th17, n_die = kernels.binomial_fates(naive, np.array([r(0, 0), r(1, 0), r(2, 0)]), dt, rng)
    s2t, s_die = kernels.binomial_fates(th17, np.array([r(0, 1), r(2, 1)]), dt, rng)
    t2s, r_die = kernels.binomial_fates(treg, np.array([r(1, 2), r(2, 2)]), dt, rng)
    s_born = rng.binomial(th17, -np.expm1(-r(4, 1) * dt))
    r_born = rng.binomial(treg, -np.expm1(-r(4, 2) * dt))
    new_naive = naive - to_treg - to_th17 - n_die
    new_th17 = th17 + to_th17 + t2s + s_born - s2t - s_die
    new_treg = treg + to_treg + s2t + r_born - t2s - r_die
    new_naive += rng.binomial(back[0], w)
    new_th17 += rng.binomial(back[1], w)
    new_treg += rng.binomial(back[2], w)
    new_naive += max(pool - (new_naive + new_th17 + new_treg), 0)
    return new_naive, new_th17, new_treg


def blood_step(model, s) -> dict[str, int]:
    """Compiled twin of :func:`abm.biology.compartments.step_blood`."""
    b = model.blood
    levels = np.array([s.ido, s.pge2, s.tgfb, s.il6, s.il10, s.infl], np.float64)
    b.naive, b.th17, b.treg = (int(v) for v in _blood_kernel(
        int(b.naive), int(b.th17), int(b.treg), levels, model.runtime_factors(),
        model.programs["tcells"].arrays(), model.dt_h, model.rngs.blood, model.take_egress(),
        float(model.bio.trafficking.tissue_to_blood_weight), int(model.bio.systemic.pool_cells)))
    return {}


@njit
def _ingress_kernel(k, weights, w, rng):
    """Twin of the draws of :func:`abm.biology.compartments.draw_ingress_states` (``k`` > 0, weights > 0):
    ``Generator.choice(3, k, p)`` by its cdf and uniforms, then the binomial share leaving each pool."""
    p = weights / weights.sum()
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    states = np.searchsorted(cdf, rng.random(k), side="right").astype(np.int8)
    leave = np.zeros(3, np.int64)
    for state in range(3):
        leave[state] = rng.binomial(np.count_nonzero(states == state), w)
    return states, leave


def ingress_states(model, k: int) -> np.ndarray:
    """Compiled twin of :func:`abm.biology.compartments.draw_ingress_states`."""
    b = model.blood
    bias = model.bio.trafficking.th17_homing_bias
    weights = np.array([b.naive, b.th17 * bias, b.treg], float)
    if k == 0:
        return np.zeros(0, np.int8)
    if weights.sum() == 0:
        return np.full(k, tcells.NAIVE, np.int8)
    states, leave = _ingress_kernel(k, weights, float(model.bio.trafficking.tissue_to_blood_weight),
                                    model.rngs.traffic)
    b.naive, b.th17, b.treg = (max(int(v) - int(gone), 0) for v, gone in zip((b.naive, b.th17, b.treg), leave,
                                                                             strict=True))
    return states
