"""The rule table as arrays of coefficients, and the one compiled evaluator that loops over them.

A :class:`Program` holds, for one cell type, every (behaviour, state) rule of the table with its
parameters resolved: a base rate and a run of terms, each term a row of small arrays (kind, signal,
half-max, Hill power, size, extra coefficients).  :func:`evaluate` applies one rule to the cells of one
state, factor by factor, from the signals they sense (:func:`sense`); the compiled tissue steps
(:mod:`abm.biology.rules.compiled`) call it for every behaviour and state.  The biology stays data (the
table), the speed stays compiled.

The arithmetic is that of :mod:`abm.biology.rules.evaluate` (the numpy path), factor by factor in table
order, in float64.  A custom term has a compiled form when it is listed in :data:`CUSTOM_KINDS`; a table
using one that is not gets a clear error when the program is built (run it with ``ABM_ENGINE=numpy``, or
add the term here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from abm.biology.cells import CellType
from abm.biology.parameters import MEDIATORS
from abm.biology.rules.custom import host_lysis
from abm.biology.rules.evaluate import CompiledRule, RuleSet
from abm.biology.rules.grammar import Row, RuleTableError
from abm.engine.jit import njit

# term kinds
REQUIRES, BLOCKS, INCREASES, DECREASES, DRIVES, CONST, NICHE, IL2, TREG_SUPPRESSION, PROLIFERATION, ANTIGEN = range(11)
# the runtime factors an arm or the disease state sets per step (``runtime`` of :func:`evaluate`)
RUNTIME_PROLIFERATION, RUNTIME_DISEASE = 0, 1
# signals beyond the mediators (0..5, MEDIATORS order)
CONTACT, MARKER = len(MEDIATORS), len(MEDIATORS) + 1
N_COEFFICIENTS = 6
NO_HILL = -1.0
"""``half_max`` of a term that uses its signal as it is (a marker): half-max parameters are positive."""

CUSTOM_KINDS: dict[str, tuple[int, Callable[[Mapping[str, float]], tuple[float, ...]]]] = {
    "antigen_drive": (ANTIGEN, lambda v: (v["disease.antigen_drive"],)),
    "th17_niche": (NICHE, lambda v: (v["tcells.th17_niche_half_fraction"],)),
    "treg_suppression": (TREG_SUPPRESSION, lambda v: (
        v["tcells.treg_suppression_max"], v["tcells.treg_contact_k"], v["tcells.contact_hill"],
        v["tcells.il10_half_max"], v["tcells.il10_hill"], v["disease.treg_function"])),
    "il2_competition": (IL2, lambda v: (v["tcells.treg_il2_k"],)),
    "cyclophosphamide": (PROLIFERATION, lambda v: ()),
    "licensed_survival": (CONST, lambda v: (1.0 / v["msc.licensed_survival_factor"],)),
    "host_lysis": (CONST, lambda v: (host_lysis(v["msc.host_lysis_share"], v["patient.host_cytotoxicity"]),)),
}
"""Custom terms (:data:`abm.biology.rules.custom.CUSTOM_TERMS`) with a compiled form: kind and coefficients
(the same formulas as the numpy factor, in :func:`_custom`)."""

_EFFECT_KINDS = {"requires": REQUIRES, "blocks": BLOCKS, "increases": INCREASES, "decreases": DECREASES,
                 "drives": DRIVES}


@dataclass(frozen=True)
class Program:
    """The rules of one cell type as arrays (``base[b, s]``: rate of behaviour b in state s, 1/h; its terms
    are rows ``start[b, s]`` to ``stop[b, s]`` of the term arrays)."""

    cell_type: str
    behaviours: tuple[str, ...]
    base: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    kind: np.ndarray
    signal: np.ndarray
    half_max: np.ndarray
    hill: np.ndarray
    size: np.ndarray
    sized: np.ndarray
    coefficients: np.ndarray

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays in the order the compiled :func:`evaluate` takes them."""
        return (self.base, self.start, self.stop, self.kind, self.signal, self.half_max, self.hill, self.size,
                self.sized, self.coefficients)


def _signal_index(row: Row, markers: tuple[str, ...]) -> int:
    if row.signal == "contact":
        return CONTACT
    if row.signal in MEDIATORS:
        return MEDIATORS.index(row.signal)
    if row.signal in markers:
        return MARKER
    raise RuleTableError(f"line {row.line} ({row.rule}): signal {row.signal!r} has no compiled form")


def build(rules: RuleSet, ct: CellType, behaviours: tuple[str, ...], biology: Any, disease: Any) -> Program:
    """The program of ``ct`` for ``behaviours`` (a rule for ``*`` or for a marker fills every state; the
    step masks marker rules by the marker itself)."""
    states = [s.key for s in ct.states]
    markers = tuple(m.key for m in ct.markers)
    n_b, n_s = len(behaviours), len(states)
    base = np.zeros((n_b, n_s))
    start = np.zeros((n_b, n_s), np.int64)
    stop = np.zeros((n_b, n_s), np.int64)
    terms: list[tuple[int, int, float, float, float, bool, tuple[float, ...]]] = []
    for b, behaviour in enumerate(behaviours):
        for s, state in enumerate(states):
            rule = (rules.rules.get((ct.key, state, behaviour)) or rules.rules.get((ct.key, "*", behaviour))
                    or next((rules.rules[(ct.key, m, behaviour)] for m in markers
                             if (ct.key, m, behaviour) in rules.rules), None))
            if rule is None:
                continue
            base[b, s] = rule.base
            start[b, s] = len(terms)
            terms += _terms(rule, markers, biology, disease)
            stop[b, s] = len(terms)
    kind = np.array([t[0] for t in terms], np.int64)
    coefficients = np.zeros((len(terms), N_COEFFICIENTS))
    for i, t in enumerate(terms):
        coefficients[i, : len(t[6])] = t[6]
    return Program(ct.key, behaviours, base, start, stop, kind,
                   np.array([t[1] for t in terms], np.int64), np.array([t[2] for t in terms]),
                   np.array([t[3] for t in terms]), np.array([t[4] for t in terms]),
                   np.array([t[5] for t in terms], np.bool_), coefficients)


def _terms(rule: CompiledRule, markers: tuple[str, ...], biology: Any, disease: Any) -> list:
    """The term rows of one rule, in the order :meth:`CompiledRule.rate` multiplies its factors (a run of
    ``drives`` rows is one factor, placed at its first row)."""
    v = rule.values
    out = []
    rows = list(rule.terms)
    drives = [r for r in rows if r.effect == "drives"]
    for r in rows:
        if r.effect == "drives" and r is not drives[0]:
            continue
        group = drives if r.effect == "drives" else [r]
        for g in group:
            if g.effect == "custom":
                if g.signal not in CUSTOM_KINDS:
                    raise RuleTableError(f"line {g.line} ({g.rule}): custom term {g.signal!r} has no compiled form "
                                         f"(add it to abm.biology.rules.program.CUSTOM_KINDS, or run with "
                                         f"ABM_ENGINE=numpy)")
                k, coef = CUSTOM_KINDS[g.signal]
                out.append((k, 0, 0.0, 1.0, 0.0, False, tuple(float(c) for c in coef(v))))
                continue
            half = v[g.half_max] if g.half_max else NO_HILL
            hill = v[g.hill] if g.half_max else 1.0
            size = v[g.max] if g.max else 0.0
            out.append((_EFFECT_KINDS[g.effect], _signal_index(g, markers), half, hill, size, bool(g.max), ()))
    return out


@njit(inline=True)
def hill(c, k, n):
    """Twin of :func:`abm.engine.hazards.hill` for one value."""
    c = max(c, 0.0)
    if n == 1.0:
        return c / (k + c)
    cn = c**n
    return cn / (k**n + cn)


@njit(inline=True)
def _response(signals, sg, half_max, hill_power, i):
    x = signals[sg, i]
    if half_max == NO_HILL:
        return x
    return hill(x, half_max, hill_power)


@njit
def evaluate(prog, b, s, cells, signals, fraction_th17, fraction_treg, runtime, out):
    """Hazards (1/h) of behaviour ``b`` for the ``cells`` (indices) that are in state ``s``, written to
    ``out[cells]``: the base rate times each factor in turn, factor by factor over the cells.

    ``signals`` (8, n): the six mediator levels at each cell (a.u., MEDIATORS order), its suppressor
    contacts and its marker (0/1); fractions: of the population in Th17 and Treg; ``runtime``: the arm's
    co-medication factor on proliferation and the damage loop's scale of the disease drive
    (``RUNTIME_PROLIFERATION``, ``RUNTIME_DISEASE``).
    """
    base, start, stop, kind, signal, half_max, hill_power, size, sized, coefficients = prog
    r0 = base[b, s]
    for i in cells:
        out[i] = r0
    t = start[b, s]
    end = stop[b, s]
    while t < end:
        k = kind[t]
        if k == DRIVES:
            first = t
            while t < end and kind[t] == DRIVES:
                t += 1
            for i in cells:
                rest = 1.0
                for g in range(first, t):
                    h = _response(signals, signal[g], half_max[g], hill_power[g], i)
                    rest = rest * (1.0 - (size[g] * h if sized[g] else h))
                out[i] = out[i] * (1.0 - rest)
            continue
        sg, km, n, a = signal[t], half_max[t], hill_power[t], size[t]
        if k == REQUIRES:
            for i in cells:
                out[i] = out[i] * _response(signals, sg, km, n, i)
        elif k == BLOCKS:
            for i in cells:
                out[i] = out[i] * (1.0 - _response(signals, sg, km, n, i))
        elif k == INCREASES:
            for i in cells:
                out[i] = out[i] * (1.0 + a * _response(signals, sg, km, n, i))
        elif k == DECREASES:
            for i in cells:
                out[i] = out[i] * (1.0 - a * _response(signals, sg, km, n, i))
        elif k == CONST:
            c = coefficients[t, 0]
            for i in cells:
                out[i] = out[i] * c
        elif k == NICHE:
            c = 1.0 / (1.0 + fraction_th17 / coefficients[t, 0])
            for i in cells:
                out[i] = out[i] * c
        elif k == IL2:
            c = coefficients[t, 0] / (coefficients[t, 0] + fraction_treg)
            for i in cells:
                out[i] = out[i] * c
        elif k == TREG_SUPPRESSION:
            top, kc, nc, ki, ni, tf = (coefficients[t, 0], coefficients[t, 1], coefficients[t, 2],
                                       coefficients[t, 3], coefficients[t, 4], coefficients[t, 5])
            for i in cells:
                by_contact = hill(signals[CONTACT, i], kc, nc)
                by_il10 = hill(signals[4, i], ki, ni)
                free = (1.0 - top * by_contact) * (1.0 - top * by_il10)
                out[i] = out[i] * (1.0 - min(tf * (1.0 - free), 1.0))
        elif k == ANTIGEN:
            c = coefficients[t, 0] * runtime[RUNTIME_DISEASE]
            for i in cells:
                out[i] = out[i] * c
        else:  # PROLIFERATION
            c = runtime[RUNTIME_PROLIFERATION]
            for i in cells:
                out[i] = out[i] * c
        t += 1


@njit
def by_state(state, n_states):
    """The cells of each state: (order, first) with ``order[first[s]:first[s + 1]]`` the indices in state s."""
    counts = np.zeros(n_states + 1, np.int64)
    for v in state:
        counts[v + 1] += 1
    first = np.cumsum(counts)
    order = np.empty(state.size, np.int64)
    fill = first[:-1].copy()
    for i in range(state.size):
        order[fill[state[i]]] = i
        fill[state[i]] += 1
    return order, first


@njit
def sense(fields, x, y, contacts, marker, use_contacts, use_marker):
    """The signals (8, n) of cells at (x, y): the field levels there (float64), suppressor contacts, marker."""
    n = x.size
    n_f = fields.shape[0]
    out = np.zeros((n_f + 2, n))
    for i in range(n):
        for f in range(n_f):
            out[f, i] = fields[f, x[i], y[i]]
        if use_contacts:
            out[n_f, i] = contacts[x[i], y[i]]
        if use_marker:
            out[n_f + 1, i] = 1.0 if marker[i] else 0.0
    return out
