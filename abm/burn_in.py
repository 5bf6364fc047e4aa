"""The untreated burn-in: how the patient is brought to its disease's own steady state before day 0, and
how well it got there.

Two modes (``simulation.burn_in_mode``):

* ``fixed``: ``simulation.burn_in_days`` of untreated steps from the initial condition (the design's
  original burn-in).
* ``settled``: the same number of days, but :data:`RELAX_DAYS` before the end, once the fast compartments
  (T cells, macrophages, blood) have settled, the slow ones (B cells, plasma cells, the autoantibody
  index) are put at their quasi-steady state, so a shorter burn-in (90 days) ends with all of them
  near steady state (``benchmarks/burn_in_check.py`` compares it with a 400-day fixed one).  T cells and
  macrophages settle in ~40-60 days, but B and plasma cells turn over with half-lives of 40 and 30 days
  (up to 100-120 days in their plausible ranges) and the autoantibody index follows them, so a fixed
  burn-in either stops before they settle or spends most of its steps waiting for them.  The slow
  compartments do not act back on the fast ones (B and plasma cells secrete no field; only their voxels
  are taken), which is what lets them be set from the fast ones: with recruitment ``R`` (cells/h), B-cell
  death ``d_B`` and plasma differentiation ``k_p`` (1/h, the mean hazard of the B cells over the last
  window), plasma death ``d_P`` and antibody production ``a`` and decay ``d_A``,

      B* = R / (d_B + k_p),   P* = k_p B* / d_P,   A* = a P* / d_A.

Either way the run's manifest reports the burn-in (what :func:`run` returns): its length, and the drift of
each observable over its last window (the change between the window's two halves, relative and in standard
errors), judged by :func:`stationary` against ``simulation.burn_in_tolerance``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from abm.biology.rules import bcells, tcells
from abm.biology.rules.custom import Signals
from abm.config.scenario import SETTLED_RELAX_DAYS
from abm.engine.hazards import per_h

Progress = Callable[[int], None]

FAST = ("blood_treg_pct", "blood_th17_pct", "tissue_naive", "tissue_th17", "tissue_treg", "tissue_m2",
        "tissue_m1")
"""Observables of the fast compartments (settle in ~40-60 days)."""
SLOW = ("tissue_b", "tissue_plasma", "autoantibody")
"""Observables of the slow compartments (B and plasma cells, autoantibody)."""
WINDOW_DAYS = 20
"""Days over which drift is judged (two halves of 10 days)."""
RELAX_DAYS = SETTLED_RELAX_DAYS
"""The settled mode fast-forwards the slow compartments this many days before the end of the burn-in."""
HAZARD_DAYS = 10
HISTORY_DAYS = 30
"""Days before day 0 whose daily state the burn-in keeps for the observation layer (the recall window of a
clinical index reaches back before the first infusion: abm.clinical, ``observation.manifestations``)."""
HISTORY_COLUMNS = ("t_days", "tissue_th17_pct_cd4", "autoantibody_index", "inflammation_index", "plasma_il6")
"""The recorded columns the history keeps (what :mod:`abm.clinical.observe` reads)."""
"""... from their mean plasma-differentiation hazard over this many days before that."""



def observe(model) -> dict[str, float]:
    """The burn-in's observables now (counts, blood percentages, the autoantibody index); draws nothing."""
    b = model.blood
    total = max(b.total, 1)
    t = np.bincount(model.tcells.state, minlength=len(tcells.CODES))
    m = np.bincount(model.macrophages.state, minlength=2)
    bc = np.bincount(model.bcells.state, minlength=2)
    return {"blood_treg_pct": 100.0 * b.foxp3 / total, "blood_th17_pct": 100.0 * b.th17 / total,
            "tissue_naive": float(t[0]), "tissue_th17": float(t[1]), "tissue_treg": float(t[list(tcells.FOXP3)].sum()),
            "tissue_m1": float(m[0]), "tissue_m2": float(m[1]), "tissue_b": float(bc[bcells.B]),
            "tissue_plasma": float(bc[bcells.PLASMA]), "autoantibody": float(model.autoantibody)}


def drift(days: list[dict[str, float]], keys: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """Change between the two halves of the last :data:`WINDOW_DAYS` daily rows, per observable: (relative
    change ``|m2 - m1| / max(|m1|, |m2|)``, the same change in standard errors of the difference of the
    half means, from the day-to-day spread).  Both are 0 for a constant observable."""
    last = days[-WINDOW_DAYS:]
    half = len(last) // 2
    out = {}
    for key in keys:
        a = np.array([r[key] for r in last[:half]], float)
        b = np.array([r[key] for r in last[half:]], float)
        change = abs(b.mean() - a.mean())
        scale = max(abs(a.mean()), abs(b.mean()))
        se = _standard_error(a, b)
        out[key] = (change / scale if scale > 0 else 0.0, change / se if se > 0 else (0.0 if change == 0 else np.inf))
    return out


def _standard_error(a: np.ndarray, b: np.ndarray) -> float:
    """Standard error of ``mean(b) - mean(a)`` for autocorrelated daily values: each half's variance over its
    effective number of days ``n (1 - r) / (1 + r)``, with ``r`` the lag-1 autocorrelation of the values
    about their half means (pooled; clipped to [0, 0.9])."""
    if min(a.size, b.size) < 3:
        return 0.0
    da, db = a - a.mean(), b - b.mean()
    denom = float(da @ da + db @ db)
    r = float(da[1:] @ da[:-1] + db[1:] @ db[:-1]) / denom if denom > 0 else 0.0
    r = min(max(r, 0.0), 0.9)
    shrink = (1 - r) / (1 + r)
    return float(np.sqrt(a.var(ddof=1) / (a.size * shrink) + b.var(ddof=1) / (b.size * shrink)))


Z_NOISE = 3.0
"""A change of fewer standard errors than this is within the day-to-day noise (3: ten observables are judged
at once, so a stationary patch fails one of them by chance in a few per cent of windows)."""


def stationary(d: dict[str, tuple[float, float]], tolerance: float) -> bool:
    """Every observable changed by less than ``tolerance`` (relative) or by less than the noise (``Z_NOISE``
    standard errors): small counts are noisy, smooth ones (the autoantibody index) are judged by the first."""
    return all(rel < tolerance or z < Z_NOISE for rel, z in d.values())


def plasma_hazard(model) -> float:
    """Mean plasma-differentiation hazard (1/h) of the tissue's B cells now (0 when there are none)."""
    pop = model.bcells
    is_b = pop.state == bcells.B
    if not is_b.any():
        return 0.0
    sig = Signals(model.levels_at(pop), contacts=model.suppressor_contacts[pop.x, pop.y],
                  proliferation_factor=model.proliferation_factor,
                  disease_scale=model.disease_scale)
    rate = np.broadcast_to(model.rules.hazard("bcells", "to:plasma", sig, pop.state, bcells.CODES), (pop.n,))
    return float(rate[is_b].mean())


def fast_forward(model, k_plasma_per_h: float) -> dict[str, float]:
    """Set the B cells, plasma cells and autoantibody index to their quasi-steady state (module docstring)
    given the mean plasma-differentiation hazard; returns the counts before and after."""
    p = model.bio.bcells
    recruit = model.bio.trafficking.b_ingress_per_mm2_per_h * model.space.area_mm2
    d_b = per_h(p.b_half_life_days, 24)
    d_p = per_h(p.plasma_half_life_days, 24)
    b_star = recruit / (d_b + k_plasma_per_h)
    p_star = k_plasma_per_h * b_star / d_p
    before = observe(model)
    rng = model.rngs.bcells
    for state, target in ((bcells.B, b_star), (bcells.PLASMA, p_star)):
        pop = model.bcells
        have = np.flatnonzero(pop.state == state)
        want = int(np.rint(target))
        if want < have.size:
            gone = np.zeros(pop.n, bool)
            gone[rng.choice(have, size=have.size - want, replace=False)] = True
            model.space.release(pop.x[gone], pop.y[gone])
            pop.remove(gone)
        elif want > have.size:
            x, y = model.space.random_free(want - have.size, rng)
            model.space.claim(x, y)
            pop.add(x=x, y=y, state=state, age_h=0.0)
    n_plasma = model.bcells.count(bcells.PLASMA)
    model.autoantibody = p.antibody_per_plasma_per_day / 24 * n_plasma / per_h(p.antibody_half_life_days, 24)
    after = observe(model)
    return {"k_plasma_per_h": k_plasma_per_h, "b_before": before["tissue_b"], "b_after": after["tissue_b"],
            "plasma_before": before["tissue_plasma"], "plasma_after": after["tissue_plasma"],
            "autoantibody_before": before["autoantibody"], "autoantibody_after": after["autoantibody"]}


def run(model, progress: Progress | None = None) -> dict:
    """Burn the model in according to ``simulation.burn_in_mode``; returns the report for the manifest, with
    the last :data:`HISTORY_DAYS` days of the observation inputs under ``"history"`` (not for the manifest).

    Both modes take ``burn_in_days``; the settled mode sets the slow compartments to their quasi-steady
    state :data:`RELAX_DAYS` before the end, from the plasma-differentiation hazard of the
    :data:`HAZARD_DAYS` before that.  The schedule is fixed in advance (no stopping rule, so no bias towards
    the window that happened to look flat); stationarity is measured and reported, not acted on.
    """
    sim = model.cfg.simulation
    per_day = int(round(24 / model.dt_h))
    total_steps = int(round(sim.burn_in_days * 24 / model.dt_h))
    forward_at = total_steps - RELAX_DAYS * per_day if sim.burn_in_mode == "settled" else -1
    days: list[dict[str, float]] = []
    history: list[dict[str, float]] = []
    hazards: list[float] = []
    report: dict = {"mode": sim.burn_in_mode, "days": sim.burn_in_days, "tolerance": sim.burn_in_tolerance,
                    "window_days": WINDOW_DAYS}
    for i in range(total_steps):
        if i == forward_at:
            report["fast_forward"] = fast_forward(model, float(np.mean(hazards)) if hazards else 0.0)
        model.step()
        if progress:
            progress(1)
        if (i + 1) % per_day == 0:
            days.append(observe(model))
            day = (i + 1) / per_day - sim.burn_in_days  # <= 0: days before treatment
            if -HISTORY_DAYS <= day < 0:
                history.append(_history_row(model, day))
            if forward_at - HAZARD_DAYS * per_day <= i < forward_at:
                hazards.append(plasma_hazard(model))
    if len(days) >= WINDOW_DAYS:
        d = drift(days, FAST + SLOW)
        report["drift"] = {k: {"relative": round(float(rel), 6), "z": round(float(min(z, 1e9)), 3)}
                           for k, (rel, z) in d.items()}
        report["stationary"] = stationary(d, sim.burn_in_tolerance)
    else:
        report["drift"] = None
        report["stationary"] = None  # too short to judge
    report["history"] = history
    return report


def _history_row(model, day: float) -> dict[str, float]:
    """The observation layer's inputs now (a trajectory row's columns; draws nothing)."""
    from collections import Counter

    from abm.record import snapshot

    row = snapshot(model, Counter())
    return {"t_days": float(day), **{c: float(row[c]) for c in HISTORY_COLUMNS[1:]}}
