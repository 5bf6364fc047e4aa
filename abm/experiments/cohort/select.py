"""Selecting a virtual population whose baseline matches a trial's published baseline distribution.

Allen RJ, Rieger TR, Musante CJ 2016 CPT Pharmacometrics Syst Pharmacol 5:140: keep each plausible patient
with probability proportional to target density / sampled density at its baseline value, scaled so the
largest ratio is 1.  The sampled density is a Gaussian kernel density estimate (scipy ``gaussian_kde``) of the
plausible patients' baselines; the target is normal (a trial reports mean +/- SD).  The kept patients then
follow the target wherever the plausible ones cover it; where they do not, the match fails visibly (the
report gives the selected mean and SD beside the target's).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def acceptance(values: np.ndarray, mean: float, sd: float) -> np.ndarray:
    """The probability of keeping each patient (target pdf / sampled pdf, scaled to a maximum of 1)."""
    x = np.asarray(values, float)
    if len(x) < 3 or np.allclose(x, x[0]):
        raise ValueError(f"baseline selection needs at least 3 distinct baseline values, got {len(x)}")
    sampled = stats.gaussian_kde(x)(x)
    ratio = stats.norm.pdf(x, mean, sd) / np.maximum(sampled, 1e-300)
    return ratio / ratio.max()


def select(values: np.ndarray, mean: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of the patients kept (one uniform draw per patient, in patient order)."""
    return rng.random(len(values)) < acceptance(values, mean, sd)
