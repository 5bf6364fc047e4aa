"""Disease-activity indices (model surrogates): SLEDAI-2K, joint counts and globals, DAS28-CRP, JADAS10/cJADAS10.

Signs follow one law (:class:`abm.clinical.params.Manifestations`): sign i shows when
``(A - threshold) / spread + logit(prevalence_i) > u_i``, with ``u_i`` a standard logistic draw that belongs to
the patient (``patient.trait_seed``), not to a simulation seed.  So a patient's rash persists while activity
stays high and leaves when it falls, and over patients of the same activity the sign shows with probability
``logistic((A - threshold) / spread + logit(prevalence_i))``.  Each index comes twice: the realised score of
this patient (``sledai2k``), and the *expected* score, the mean over patients of this activity and over assay
noise (``sledai2k_expected``), which is what a trial's group mean estimates.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from scipy.special import expit, logit

from abm.clinical.params import Manifestations

JOINTS_28 = 28
JOINTS_71 = 71
"""JADAS counts 71 joints; DAS28 a subset of 28 (here: the first 28 of the patient's 71)."""


@dataclass(frozen=True)
class Item:
    """One SLEDAI-2K descriptor (a row of ``abm/clinical/sledai2k_items.csv``)."""

    name: str
    weight: int
    driver: str  # organ (logistic in organ activity), proteinuria, complement or anti_dsdna (a biomarker)
    prevalence: float  # at A = threshold (organ items only; NaN for biomarker items)
    source: str


@cache
def sledai_items() -> tuple[Item, ...]:
    """The 24 SLEDAI-2K descriptors with their weights (Gladman DD 2002 J Rheumatol), from the item table."""
    text = (resources.files("abm.clinical") / "sledai2k_items.csv").read_text()
    items = tuple(Item(r["item"], int(r["weight"]), r["driver"], float(r["prevalence"] or "nan"), r["source"])
                  for r in csv.DictReader(text.splitlines()))
    return items


def organ_items() -> tuple[Item, ...]:
    """The descriptors driven by organ activity."""
    return tuple(i for i in sledai_items() if i.driver == "organ")


def sign_logit(activity: np.ndarray, prevalence: float | np.ndarray, p: Manifestations) -> np.ndarray:
    """Log-odds of a sign at organ activity A: (A - threshold) / spread + logit(prevalence)."""
    a = np.asarray(activity, float)
    return (a[..., None] - p.threshold) / p.spread + logit(np.asarray(prevalence, float))


def sign_probability(activity: np.ndarray, prevalence: float | np.ndarray, p: Manifestations) -> np.ndarray:
    """Probability (over patients) that a sign shows at activity A; shape activity.shape + prevalence.shape."""
    return expit(sign_logit(activity, prevalence, p))


def sign_present(activity: np.ndarray, prevalence: float | np.ndarray, offsets: np.ndarray,
                 p: Manifestations) -> np.ndarray:
    """Whether each sign shows in the patient whose logistic offsets are ``offsets`` (one per sign)."""
    return sign_logit(activity, prevalence, p) > np.asarray(offsets, float)


def sledai2k(organ_present: np.ndarray, proteinuria: np.ndarray, low_complement: np.ndarray,
             dna_binding: np.ndarray) -> np.ndarray:
    """SLEDAI-2K (0-105) from the descriptors present (booleans) or their probabilities (then the expected score).

    Args:
        organ_present: shape (times, organ items), in the order of :func:`organ_items`.
        proteinuria, low_complement, dna_binding: shape (times,).
    """
    weights = {i.name: i.weight for i in sledai_items()}
    organ_w = np.array([i.weight for i in organ_items()], float)
    return (np.asarray(organ_present, float) @ organ_w + weights["proteinuria"] * np.asarray(proteinuria, float)
            + weights["low_complement"] * np.asarray(low_complement, float)
            + weights["increased_dna_binding"] * np.asarray(dna_binding, float))


SLEDAI_BANDS = ((0.0, "no activity"), (4.0, "mild"), (10.0, "moderate"))
"""SLEDAI-2K bands 0 / 1-4 / 5-10 / > 10 (upper bound of each band, label); above the last: 'high'."""


def sledai_band(score: float) -> str:
    """The activity band of a SLEDAI-2K score."""
    for upper, label in SLEDAI_BANDS:
        if score <= upper:
            return label
    return "high"


def das28_crp(tjc28: np.ndarray, sjc28: np.ndarray, crp_mg_l: np.ndarray, gh_0_100: np.ndarray) -> np.ndarray:
    """DAS28-CRP = 0.56 sqrt(TJC28) + 0.28 sqrt(SJC28) + 0.36 ln(CRP + 1) + 0.014 GH + 0.96 (CRP in mg/L)."""
    return (0.56 * np.sqrt(np.maximum(tjc28, 0)) + 0.28 * np.sqrt(np.maximum(sjc28, 0))
            + 0.36 * np.log(np.maximum(crp_mg_l, 0) + 1.0) + 0.014 * np.asarray(gh_0_100, float) + 0.96)


def jadas10(physician_0_10: np.ndarray, parent_0_10: np.ndarray, active_joints: np.ndarray,
            esr_mm_h: np.ndarray | None = None) -> np.ndarray:
    """JADAS10 (0-40), or cJADAS10 (0-30) without ESR (Consolaro A 2009 Arthritis Rheum).

    Active joints are capped at 10; ESR is normalised as (ESR - 20) / 10, clipped to 0-10.
    """
    score = (np.clip(physician_0_10, 0, 10) + np.clip(parent_0_10, 0, 10)
             + np.minimum(np.maximum(active_joints, 0), 10))
    if esr_mm_h is not None:
        score = score + np.clip((np.asarray(esr_mm_h, float) - 20.0) / 10.0, 0.0, 10.0)
    return score


JADAS_CUTOFFS: dict[str, dict[str, dict[str, float]]] = {
    "backstrom2019": {"oligo": {"inactive": 0.5, "low": 3.8}, "poly": {"inactive": 0.7, "low": 5.1}},
}
"""cJADAS10 band cut-offs (upper bounds of inactive and low activity; above: moderate/high) by source
(Backstrom M 2019 RMD Open 5:e000888); other published sets (Consolaro, Trincianti) are added as entries."""


def jadas_band(score: float, course: str, cutoffs: str = "backstrom2019") -> str:
    """inactive / low / higher activity of a cJADAS10 score for an oligo- or polyarticular course."""
    try:
        cut = JADAS_CUTOFFS[cutoffs][course]
    except KeyError as err:
        raise ValueError(f"no cJADAS10 cut-offs for set {cutoffs!r}, course {course!r}; allowed sets: "
                         f"{', '.join(JADAS_CUTOFFS)}; courses: oligo, poly") from err
    if score <= cut["inactive"]:
        return "inactive"
    return "low" if score <= cut["low"] else "higher"
