"""Shared helpers: response curves, rate-to-probability, competing fates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ArrayLike = np.ndarray | float


def hill(c: ArrayLike, k: float = 1.0, n: float = 1.0) -> ArrayLike:
    """Saturating response c^n / (k^n + c^n) in [0, 1); concentration c in field units (a.u.)."""
    c = np.maximum(c, 0.0)
    if n == 1.0:
        return c / (k + c)
    cn = c**n
    return cn / (k**n + cn)


def per_h(half_life: float, unit_h: float = 1.0) -> float:
    """First-order rate (1/h) of a half-life given in units of ``unit_h`` hours."""
    return float(np.log(2.0) / (half_life * unit_h))


def prob(rate_per_h: ArrayLike, dt_h: float) -> ArrayLike:
    """Probability that an event of constant hazard happens within one step."""
    return -np.expm1(-np.asarray(rate_per_h) * dt_h)


def competing_fates(rates: Sequence[ArrayLike], n: int, dt_h: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Draw at most one fate per cell from competing hazards.

    Args:
        rates: one hazard (1/h, array of length n or scalar) per fate.
        n: number of cells.
        dt_h: step length (h).
        rng: random generator.

    Returns:
        int8 array: 0 = nothing happened, i + 1 = fate i.  Exact for constant hazards in a step.
    """
    if n == 0:
        return np.zeros(0, np.int8)
    total = np.zeros(n)
    for r in rates:
        total = total + r
    p_any = -np.expm1(-total * dt_h)
    u = rng.random(n)
    happened = u < p_any
    # given that something happened, u / p_any is uniform on [0, 1): split it by the rates' shares
    v = np.divide(u, p_any, out=np.full(n, 2.0), where=happened) * total
    fate = np.zeros(n, np.int8)
    fate[happened] = 1
    cum = np.zeros(n)
    for r in rates[:-1]:
        cum = cum + r
        fate += (v >= cum) & happened
    return fate


def binomial_fates(count: int, rates: Sequence[float], dt_h: float,
                   rng: np.random.Generator) -> np.ndarray:
    """Numbers of ``count`` cells taking each competing fate within a step (multinomial)."""
    r = np.asarray(rates, float)
    total = r.sum()
    if count <= 0 or total <= 0:
        return np.zeros(len(r), np.int64)
    p_any = float(prob(total, dt_h))
    probs = np.append(r / total * p_any, max(0.0, 1.0 - p_any))
    return rng.multinomial(count, probs)[:-1]
