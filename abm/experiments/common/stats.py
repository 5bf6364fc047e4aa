"""Statistics over replicates, shared by every experiment: t-intervals, BCa bootstrap intervals, paired
tests, effect sizes, multiple testing, fractions of an effect removed, interactions.

Every function takes per-replicate values (one per seed; arms of one seed are paired) and drops
non-finite pairs.  Intervals are two-sided at ``confidence`` (95 % by default).  The methods are scipy's
(``scipy.stats.t``, ``scipy.stats.bootstrap`` with BCa, ``scipy.stats.ttest_1samp``) and statsmodels'
(``multipletests``: Holm, Benjamini-Hochberg); this module only adds the NaN handling and the pairing.
"""

from __future__ import annotations

import math
import warnings
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
    """Two-sided t-interval of the mean (``scipy.stats.t.interval``); (mean, mean) when every value is
    equal, NaN below 2 values."""
    (x,) = _finite(diffs)
    n = x.size
    if n < 2:
        return math.nan, math.nan
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    if sd == 0:
        return mean, mean
    lo, hi = stats.t.interval(confidence, n - 1, loc=mean, scale=sd / math.sqrt(n))
    return float(lo), float(hi)


def paired_p(diffs: np.ndarray) -> float:
    """Two-sided one-sample t-test of mean 0 (paired t-test); 1 when every difference is exactly 0."""
    (x,) = _finite(diffs)
    if x.size < 2:
        return math.nan
    if np.all(x == x[0]):
        return 1.0 if x[0] == 0 else 0.0
    return float(stats.ttest_1samp(x, 0.0).pvalue)


def _bootstrap(samples: tuple[np.ndarray, ...], statistic, confidence: float, n_boot: int,
               seed: int) -> tuple[float, float]:
    """``scipy.stats.bootstrap`` (BCa, paired resampling of replicates, seeded); the percentile interval where
    BCa is undefined (a statistic without jackknife spread, e.g. a fraction of exactly 1 in every
    replicate); NaN when neither can say."""
    if np.all(samples[0] == samples[0][0]) and len(samples) == 1:
        return float(samples[0][0]), float(samples[0][0])
    for method in ("BCa", "percentile"):  # BCa is undefined when the jackknife has no spread
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap(samples, statistic, paired=True, vectorized=True, confidence_level=confidence,
                                  n_resamples=n_boot, method=method, rng=np.random.default_rng(seed))
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if np.isfinite(lo) and np.isfinite(hi):
            return lo, hi
    return math.nan, math.nan


def bootstrap_interval(diffs: np.ndarray, confidence: float = CONFIDENCE, n_boot: int = N_BOOT,
                       seed: int = 0) -> tuple[float, float]:
    """BCa bootstrap interval of the mean (resampling replicates)."""
    (x,) = _finite(diffs)
    if x.size < 2:
        return math.nan, math.nan
    return _bootstrap((x,), lambda a, axis=-1: np.mean(a, axis=axis), confidence, n_boot, seed)


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


def _adjusted(p: np.ndarray, method: str) -> np.ndarray:
    """``statsmodels`` adjusted p-values over the finite entries (NaN entries stay NaN, not counted)."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN entries stay NaN and are not counted)."""
    return _adjusted(p, "holm")


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg (false discovery rate) adjusted p-values (NaN entries stay NaN)."""
    return _adjusted(p, "fdr_bh")


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
    """Ratio of mean paired differences, mean(full - cell) / mean(full - control), with a BCa bootstrap
    interval that resamples replicates (numerator and denominator together, so the pairing is kept).
    The ratio of means is used because a per-replicate ratio explodes when one replicate's gain is near 0;
    the per-replicate median is reported beside it."""
    f, c, k = _finite(full, cell, control)
    n = int(f.size)
    if n == 0:
        return Fraction(0, math.nan, math.nan, math.nan, math.nan)
    num, den = f - c, f - k
    est = float(num.mean() / den.mean()) if den.mean() != 0 else math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(den != 0, num / den, np.nan)
    med = float(np.nanmedian(per)) if np.isfinite(per).any() else math.nan
    if n < 2 or not np.isfinite(est):
        return Fraction(n, est, math.nan, math.nan, med)

    def ratio(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(a, axis=axis) / np.mean(b, axis=axis)

    lo, hi = _bootstrap((num, den), ratio, confidence, n_boot, seed)
    return Fraction(n, est, lo, hi, med)


def interaction(full: np.ndarray, a: np.ndarray, b: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Per-replicate 2x2 interaction contrast (AB - A - B + full): 0 when the two changes add up."""
    f, x, y, xy = (np.asarray(v, dtype=float) for v in (full, a, b, ab))
    return xy - x - y + f
