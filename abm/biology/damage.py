"""The damage loop: a slow, endogenous disease state (a hypothesis, switched on by ``biology.damage.enabled``).

D stands for what effector activity leaves behind and the disease feeds on: tissue damage, autoantigen and
immune complexes (SLE), activated synovial stroma (RA).  It is measured in units of the untreated steady
state, so D = 1 is the disease the preset describes:

    a      = sum_i w_i x_i / x_i*                     effector activity relative to the untreated state
    dD/dt  = (f(a) - D) / tau_D,   f(a) = a^n (K^n + 1) / (K^n + a^n)   (f(1) = 1)
    scale  = 1 - s + s D                               on the antigen drive and the inflammatory/IL-6 tones

x = (tissue Th17 count, autoantibody index, mean tissue inflammation); x* their mean over the last
``reference_days`` of the burn-in (step by step), during which D is held at 1: the untreated
model then is the first chapter's, and the loop starts at its steady state when the arms branch.  With a
steep f (n >~ 2) and a large share s the loop can hold a second, low steady state: an MSC pulse that pushes
activity low for long enough crosses into it (remission without any assumed half-life), and noise or a
trigger can push it back (relapse).  tau_D: ``repair_days``; K: ``activity_half_max``; n: ``activity_hill``;
s: ``feedback_share``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from abm.biology.cells import TCELLS
from abm.biology.parameters import MEDIATORS, Damage

TH17 = TCELLS.code("th17")
INFL = MEDIATORS.index("infl")
BISTABLE_EXAMPLE = {"feedback_share": 0.9, "activity_half_max": 0.75, "activity_hill": 6.0}
"""``biology.damage`` settings of a loop built to be bistable (analysis/damage_states.py finds its states;
docs/model.md shows them): most of the drive carried by the damage, and steep damage production."""
COMPONENTS = ("th17", "autoantibody", "inflammation")
"""The effector activities D grows with, in the order of :func:`observed`."""


@dataclass
class DamageState:
    """D (x untreated steady state) and the untreated references of the activity components."""

    level: float = 1.0
    reference: list[float] = field(default_factory=list)
    """Mean of each component over the burn-in's last ``reference_days`` (empty until the window opens)."""
    samples: int = 0
    """Steps averaged into the reference."""


def observed(model) -> np.ndarray:
    """The effector activity components now: tissue Th17 (cells), autoantibody index, mean inflammation."""
    return np.array([float(model.tcells.count(TH17)), float(model.autoantibody),
                     float(model.space.fields[INFL].mean())])


def production(activity: float, p: Damage) -> float:
    """f(a): damage production at relative activity ``a`` (1 at a = 1, saturating at K^n + 1)."""
    kn = p.activity_half_max ** p.activity_hill
    an = max(activity, 0.0) ** p.activity_hill
    return an * (kn + 1.0) / (kn + an)


def activity(x: np.ndarray, reference: np.ndarray, p: Damage) -> float:
    """Relative effector activity: the weighted mean of each component over its untreated reference (a
    component whose reference is 0 is left out)."""
    w = np.array([p.th17_weight, p.autoantibody_weight, p.inflammation_weight])
    ok = reference > 0
    if not (w[ok] > 0).any():
        return 1.0
    return float((w[ok] * x[ok] / reference[ok]).sum() / w[ok].sum())


def scale(level: float, p: Damage) -> float:
    """The multiplier on the antigen drive and tones for damage ``level`` (1 at D = 1)."""
    return max(1.0 - p.feedback_share + p.feedback_share * level, 0.0)


def step(model) -> None:
    """One step of the loop: during the burn-in's last ``reference_days`` average the references (D held at
    1); in the arms move D towards f(a) with time constant tau_D, exactly for the step, and set
    ``model.disease_scale``."""
    p, st = model.bio.damage, model.damage
    if not p.enabled:
        return
    x = observed(model)
    if model.t_h < 0:  # the burn-in (t_h is this step's start)
        st.level = 1.0
        if model.t_h >= -24.0 * p.reference_days - 1e-9:
            n = st.samples
            ref = (np.asarray(st.reference, float) * n + x) / (n + 1) if n else x
            st.reference, st.samples = [float(v) for v in ref], n + 1
    else:
        target = production(activity(x, np.asarray(st.reference, float), p), p)
        st.level = float(target + (st.level - target) * np.exp(-model.dt_h / (24.0 * p.repair_days)))
    model.disease_scale = scale(st.level, p)
