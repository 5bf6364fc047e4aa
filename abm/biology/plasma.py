"""The plasma pool: what a blood draw measures, kept apart from the lymphoid-local level that acts on cells.

The levels circulating T cells see (:func:`abm.biology.compartments.systemic_levels`, recorded as
``systemic_<mediator>``) are a lymphoid-environment signal: regulatory phagocytes, MSC and Treg act where
they are.  Plasma is another pool with its own sources and clearance (``biology.plasma``):

    dP/dt = k (background + spillover L - P),   k = ln 2 / half-life

with L the lymphoid-local level.  The background is what plasma holds without the modelled sources; for
TGF-beta it is the latent protein platelets release, so regulatory cells move plasma TGF-beta little.
Plasma findings (``plasma_*``, ``serum_*``) are scored against ``plasma_<mediator>``; the pool feeds nothing
back.  Each step integrates exactly (P tends to its target with the factor exp(-k dt)).
"""

from __future__ import annotations

import numpy as np

from abm.biology.levels import Levels
from abm.biology.parameters import MEDIATORS, Plasma


def background(p: Plasma) -> np.ndarray:
    """Plasma level of each mediator without modelled sources (a.u., MEDIATORS order)."""
    return np.array([getattr(p, f"{m}_background") for m in MEDIATORS])


def half_lives_h(p: Plasma) -> np.ndarray:
    """Plasma half-life of each mediator (h, MEDIATORS order)."""
    return np.array([getattr(p, f"{m}_half_life_h") for m in MEDIATORS])


def target(p: Plasma, lymphoid: Levels) -> np.ndarray:
    """The plasma level each mediator tends to for a lymphoid-local level (a.u.)."""
    return background(p) + p.spillover * np.array([getattr(lymphoid, m) for m in MEDIATORS])


def step(level: np.ndarray, p: Plasma, lymphoid: Levels, dt_h: float) -> np.ndarray:
    """The plasma levels one step of ``dt_h`` hours later (exact for a constant lymphoid level)."""
    goal = target(p, lymphoid)
    keep = np.exp(-np.log(2.0) * dt_h / half_lives_h(p))
    return goal + (level - goal) * keep
