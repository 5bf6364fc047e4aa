"""The compiled tissue steps of T cells, macrophages and B cells: the twins of the ``step_tissue`` functions
of :mod:`abm.biology.rules.tcells`, :mod:`~abm.biology.rules.macrophages` and :mod:`~abm.biology.rules.bcells`.

Each step senses, evaluates every hazard of the rule table (:func:`abm.biology.rules.program.rate`), draws
the competing fates, divisions and deaths and compacts the population in one compiled call, drawing the
same random numbers in the same order as its numpy twin.  What stays in Python is what happens once per step
(recruitment counts, adding the newcomers, the autoantibody index).
"""

from __future__ import annotations

import numpy as np

from abm.biology.cells import BCELLS, MACROPHAGES, TCELLS
from abm.biology.rules import bcells, macrophages
from abm.biology.rules.program import Program, build, by_state, evaluate, sense
from abm.engine import kernels
from abm.engine.hazards import per_h
from abm.engine.jit import njit

T_BEHAVIOURS = ("to:treg", "to:th17", "death", "egress", "divide")
M_BEHAVIOURS = ("to:m2", "to:m1", "lose:ido_pos", "death")
B_BEHAVIOURS = ("to:plasma", "death")


def programs(model) -> dict[str, Program]:
    """The programs of the three compiled cell types for a model's rules and parameters."""
    return {"tcells": build(model.rules, TCELLS, T_BEHAVIOURS, model.bio, model.disease),
            "macrophages": build(model.rules, MACROPHAGES, M_BEHAVIOURS, model.bio, model.disease),
            "bcells": build(model.rules, BCELLS, B_BEHAVIOURS, model.bio, model.disease)}


@njit
def _hazards(prog, n_behaviours, n_states, state, signals, fraction_th17, fraction_treg, proliferation):
    """Hazards (behaviours, n) of every cell, each by the rules of its own state."""
    n = state.size
    out = np.zeros((n_behaviours, n))
    order, first = by_state(state, n_states)
    for s in range(n_states):
        cells = order[first[s]:first[s + 1]]
        if cells.size:
            for b in range(n_behaviours):
                evaluate(prog, b, s, cells, signals, fraction_th17, fraction_treg, proliferation, out[b])
    return out


@njit
def _tcell_kernel(x, y, state, age_h, fields, contacts, occupied, seen, reflect_x, reflect_y, pad, prog,
                  proliferation, dt, rng, egress):
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
    signals = sense(fields, x, y, contacts, state, True, False)
    hazards = _hazards(prog, 5, 3, state, signals, f_th17, f_treg, proliferation)
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
    for i in range(n):
        if leaving[i]:
            occupied[x[i], y[i]] = False
    keep = kernels.kept(leaving)
    kernels.compact(x, keep)
    kernels.compact(y, keep)
    kernels.compact(state, keep)
    kernels.compact(age_h, keep)
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
        sp.reflect_x, sp.reflect_y, sp.pad, model.programs["tcells"].arrays(), float(model.proliferation_factor),
        model.dt_h, model.rngs.tcells, egress)
    model.record_egress_counts(egress)
    pop.n = m
    pop.add(x=dx, y=dy, state=dstate, age_h=0.0)
    return {"t_treg_induced": int(n_treg), "t_th17_induced": int(n_th17), "t_divisions": int(dx.size)}


@njit
def _macrophage_kernel(x, y, state, ido_pos, age_h, fields, occupied, prog, dt, rng):
    n = x.size
    signals = sense(fields, x, y, occupied, ido_pos, False, True)
    rules = _hazards(prog, 4, 2, state, signals, 0.0, 0.0, 1.0)
    hazards = np.empty((3, n))
    for i in range(n):
        hazards[0, i] = rules[0, i] + rules[1, i]  # to:m2 of M1 cells, to:m1 of M2 cells
        hazards[1, i] = rules[2, i] if ido_pos[i] else 0.0
        hazards[2, i] = rules[3, i]
    fate = kernels.competing_fates(hazards, dt, rng)
    dead = np.zeros(n, np.bool_)
    for i in range(n):
        if fate[i] == 1:
            state[i] = 1 - state[i]
        elif fate[i] == 2:
            ido_pos[i] = False
        age_h[i] += dt
        if fate[i] == 3:
            dead[i] = True
            occupied[x[i], y[i]] = False
    keep = kernels.kept(dead)
    for column in (x, y):
        kernels.compact(column, keep)
    kernels.compact(state, keep)
    kernels.compact(ido_pos, keep)
    kernels.compact(age_h, keep)
    return keep.size


def macrophages_step(model) -> dict[str, int]:
    """Compiled twin of :func:`abm.biology.rules.macrophages.step_tissue`."""
    pop, rng, dt = model.macrophages, model.rngs.macrophages, model.dt_h
    recruited = rng.poisson(model.macrophage_recruitment_per_h * dt)
    if pop.n:
        pop.n = _macrophage_kernel(pop.x, pop.y, pop.state, pop.ido_pos, pop.age_h, model.space.fields,
                                   model.space.occupied, model.programs["macrophages"].arrays(), dt, rng)
    x, y = model.space.random_free(recruited, rng)
    m1_new = rng.random(x.size) < model.bio.macrophages.monocyte_m1_fraction
    model.space.claim(x, y)
    pop.add(x=x, y=y, state=np.where(m1_new, macrophages.M1, macrophages.M2).astype(np.int8), ido_pos=False,
            age_h=0.0)
    return {}


@njit
def _bcell_kernel(x, y, state, age_h, fields, contacts, occupied, prog, proliferation, dt, rng):
    n = x.size
    signals = sense(fields, x, y, contacts, state, True, False)
    hazards = _hazards(prog, 2, 2, state, signals, 0.0, 0.0, proliferation)
    fate = kernels.competing_fates(hazards, dt, rng)
    dead = np.zeros(n, np.bool_)
    for i in range(n):
        if fate[i] == 1:
            state[i] = 1
        age_h[i] += dt
        if fate[i] == 2:
            dead[i] = True
            occupied[x[i], y[i]] = False
    keep = kernels.kept(dead)
    for column in (x, y):
        kernels.compact(column, keep)
    kernels.compact(state, keep)
    kernels.compact(age_h, keep)
    return keep.size


def bcells_step(model) -> dict[str, int]:
    """Compiled twin of :func:`abm.biology.rules.bcells.step_tissue`."""
    pop, p, rng, dt = model.bcells, model.bio.bcells, model.rngs.bcells, model.dt_h
    recruited = rng.poisson(model.bio.trafficking.b_ingress_per_mm2_per_h * model.space.area_mm2 * dt)
    if pop.n:
        pop.n = _bcell_kernel(pop.x, pop.y, pop.state, pop.age_h, model.space.fields, model.suppressor_contacts,
                              model.space.occupied, model.programs["bcells"].arrays(),
                              float(model.proliferation_factor), dt, rng)
    x, y = model.space.random_free(recruited, rng)
    model.space.claim(x, y)
    pop.add(x=x, y=y, state=bcells.B, age_h=0.0)
    n_plasma = pop.count(bcells.PLASMA)
    decay = per_h(p.antibody_half_life_days, 24)
    model.autoantibody += (p.antibody_per_plasma_per_day / 24 * n_plasma - decay * model.autoantibody) * dt
    return {}

