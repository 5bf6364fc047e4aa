"""Paired statistics over replicates: intervals, effect sizes, multiple testing, fractions, interactions.

Every function takes per-replicate values (one per seed; arms of one seed are paired) and drops
non-finite pairs.  Intervals are two-sided at ``confidence`` (95 % by default).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
N_BOOT = 4000


@dataclass(frozen=True)
class Paired:
    """Summary of paired differences."""

    n: int
    mean: float
    sd: float
    t_low: float
    t_high: float
    boot_low: float
    boot_high: float
    p: float
    d: float
    g: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _finite(*arrays: np.ndarray) -> list[np.ndarray]:
    arrs = [np.asarray(a, dtype=float) for a in arrays]
    ok = np.ones(arrs[0].shape, dtype=bool)
    for a in arrs:
        ok &= np.isfinite(a)
    return [a[ok] for a in arrs]


def t_interval(diffs: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-sided t-interval of the mean: ``scipy.stats.t.interval(conf, n-1, mean, sd/sqrt(n))``."""
    (x,) = _finite(diffs)
    n = x.size
    if n < 2:
        return math.nan, math.nan
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def paired_p(diffs: np.ndarray) -> float:
    """Two-sided one-sample t-test of mean 0 (paired t-test); 1 when every difference is exactly 0."""
    (x,) = _finite(diffs)
    if x.size < 2:
        return math.nan
    if np.all(x == x[0]):
        return 1.0 if x[0] == 0 else 0.0
    return float(stats.ttest_1samp(x, 0.0).pvalue)


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) replicate indices drawn with replacement (seeded: same seed, same intervals)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_interval(diffs: np.ndarray, confidence: float = CONFIDENCE, n_boot: int = N_BOOT,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (resampling replicates)."""
    (x,) = _finite(diffs)
    if x.size < 2:
        return math.nan, math.nan
    means = x[bootstrap_indices(x.size, n_boot, seed)].mean(axis=1)
    a = (1 - confidence) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return float(lo), float(hi)


def effect_size(diffs: np.ndarray, hedges: bool = False) -> float:
    """Standardised paired effect d = mean / SD of the differences (d_z); with ``hedges`` multiplied by
    the small-sample correction J = 1 - 3 / (4 (n - 1) - 1)."""
    (x,) = _finite(diffs)
    n = x.size
    if n < 2:
        return math.nan
    sd = float(x.std(ddof=1))
    if sd == 0:
        return math.nan
    d = float(x.mean()) / sd
    return d * (1 - 3 / (4 * (n - 1) - 1)) if hedges and n > 2 else d


def paired(diffs: np.ndarray, confidence: float = CONFIDENCE, n_boot: int = N_BOOT, seed: int = 0) -> Paired:
    """Everything about one set of paired differences."""
    (x,) = _finite(diffs)
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    sd = float(x.std(ddof=1)) if n > 1 else math.nan
    t_lo, t_hi = t_interval(x, confidence)
    b_lo, b_hi = bootstrap_interval(x, confidence, n_boot, seed)
    return Paired(n, mean, sd, t_lo, t_hi, b_lo, b_hi, paired_p(x), effect_size(x), effect_size(x, hedges=True))


def _ranked(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The p-values as floats and the indices of the finite ones in ascending order (NaN not counted)."""
    p = np.asarray(p, dtype=float)
    ok = np.flatnonzero(np.isfinite(p))
    return p, ok[np.argsort(p[ok], kind="stable")]


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN entries stay NaN and are not counted)."""
    p, order = _ranked(p)
    out = np.full(p.shape, np.nan)
    m = order.size
    if m:
        out[order] = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1.0)
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg (false discovery rate) adjusted p-values (NaN entries stay NaN)."""
    p, order = _ranked(p)
    out = np.full(p.shape, np.nan)
    m = order.size
    if m:
        raw = p[order] * m / np.arange(1, m + 1)
        out[order] = np.minimum(np.minimum.accumulate(raw[::-1])[::-1], 1.0)
    return out


def adjust(p: np.ndarray, method: str) -> np.ndarray:
    """``holm``, ``bh`` or ``none``."""
    if method == "holm":
        return holm(p)
    if method == "bh":
        return benjamini_hochberg(p)
    if method == "none":
        return np.asarray(p, dtype=float)
    raise ValueError(f"unknown correction {method!r}; use holm, bh or none")


@dataclass(frozen=True)
class Fraction:
    """Fraction of the gain (full - control) removed by a change: (full - cell) / (full - control)."""

    n: int
    estimate: float
    low: float
    high: float
    per_replicate_median: float


def fraction_removed(full: np.ndarray, cell: np.ndarray, control: np.ndarray, confidence: float = CONFIDENCE,
                     n_boot: int = N_BOOT, seed: int = 0) -> Fraction:
    """Ratio of mean paired differences, mean(full - cell) / mean(full - control), with a percentile
    bootstrap interval that resamples replicates (numerator and denominator together, so the pairing
    is kept).  The ratio of means is used because a per-replicate ratio explodes when one replicate's
    gain is near 0; the per-replicate median is reported beside it."""
    f, c, k = _finite(full, cell, control)
    n = int(f.size)
    if n == 0:
        return Fraction(0, math.nan, math.nan, math.nan, math.nan)
    num, den = f - c, f - k
    est = float(num.mean() / den.mean()) if den.mean() != 0 else math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(den != 0, num / den, np.nan)
    med = float(np.nanmedian(per)) if np.isfinite(per).any() else math.nan
    if n < 2:
        return Fraction(n, est, math.nan, math.nan, med)
    idx = bootstrap_indices(n, n_boot, seed)
    bn, bd = num[idx].mean(axis=1), den[idx].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(bd != 0, bn / bd, np.nan)
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size < n_boot // 2:
        return Fraction(n, est, math.nan, math.nan, med)
    a = (1 - confidence) / 2
    lo, hi = np.quantile(ratios, [a, 1 - a])
    return Fraction(n, est, float(lo), float(hi), med)


def interaction(full: np.ndarray, a: np.ndarray, b: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Per-replicate 2x2 interaction contrast (AB - A - B + full): 0 when the two changes add up."""
    f, x, y, xy = (np.asarray(v, dtype=float) for v in (full, a, b, ab))
    return xy - x - y + f
