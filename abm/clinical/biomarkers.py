"""Biomarkers from model state (model surrogates): organ activity, CRP, anti-dsDNA, C3/C4, proteinuria, assay noise.

All functions take arrays over the recorded times of one arm and are vectorised; none reads the model itself,
so a stored trajectory can be observed again with other observation parameters (``analysis/fit_observation.py``).
"""

from __future__ import annotations

import numpy as np

from abm.clinical.params import Activity, AssayNoise, Biomarkers


def organ_activity(tissue_th17_pct: np.ndarray, autoantibody_per_voxel: np.ndarray, inflammation: np.ndarray,
                   p: Activity) -> np.ndarray:
    """Organ activity A (dimensionless; about 1 in the reference active-SLE patient).

    Args:
        tissue_th17_pct: Th17 as % of tissue CD4.
        autoantibody_per_voxel: the autoantibody index divided by the number of tissue voxels.
        inflammation: mean tissue inflammation field (a.u.).
    """
    return (p.th17_weight * np.asarray(tissue_th17_pct, float) / p.th17_reference_pct
            + p.autoantibody_weight * np.asarray(autoantibody_per_voxel, float) / p.autoantibody_reference_per_voxel
            + p.inflammation_weight * np.asarray(inflammation, float) / p.inflammation_reference)


def relative_autoantibody(autoantibody_per_voxel: np.ndarray, p: Activity) -> np.ndarray:
    """Autoantibody relative to the reference patient's (1 = reference)."""
    return np.asarray(autoantibody_per_voxel, float) / p.autoantibody_reference_per_voxel


def crp_synthesis_level(plasma_il6: np.ndarray, p: Biomarkers, response: float = 1.0) -> np.ndarray:
    """Steady-state CRP (mg/L) for a plasma IL-6 level held constant: basal + max x response x hill(IL-6).

    ``response`` is the disease's hepatic responsiveness (``disease.crp_response``; type I interferon blunts
    IL-6-induced CRP in SLE).
    """
    x = np.maximum(np.asarray(plasma_il6, float), 0.0) / p.crp_il6_half_max
    xn = x ** p.crp_il6_hill
    return p.crp_basal_mg_l + p.crp_max_mg_l * response * xn / (1.0 + xn)


def crp_kinetics(t_days: np.ndarray, plasma_il6: np.ndarray, p: Biomarkers, response: float = 1.0,
                 initial_mg_l: float | None = None) -> np.ndarray:
    """Serum CRP (mg/L) at the recorded times: dCRP/dt = k (CRP_ss(IL-6) - CRP), k = ln 2 / half-life.

    Between two records the synthesis is taken constant at the mean of its values at both ends and the
    equation is solved exactly (exponential integrator), so a constant IL-6 gives the analytic solution at any
    record spacing.  The first record starts at its steady state unless ``initial_mg_l`` is given (an arm
    starts from the burned-in, settled patient).
    """
    t = np.asarray(t_days, float) * 24.0
    target = crp_synthesis_level(plasma_il6, p, response)
    out = np.empty_like(target)
    out[0] = target[0] if initial_mg_l is None else float(initial_mg_l)
    if len(t) > 1:
        k = np.log(2.0) / p.crp_half_life_h
        decay = np.exp(-k * np.diff(t))
        drive = 0.5 * (target[1:] + target[:-1])
        for i in range(1, len(t)):  # a first-order recursion over ~10^2 records: no vectorised form needed
            out[i] = drive[i - 1] + (out[i - 1] - drive[i - 1]) * decay[i - 1]
    return out


def anti_dsdna(relative_ab: np.ndarray, p: Biomarkers) -> np.ndarray:
    """Serum anti-dsDNA (IU/mL): the systemic autoantibody pool above the healthy background, scaled so the
    reference patient reads ``anti_dsdna_iu_ml_per_reference``."""
    excess = np.maximum(np.asarray(relative_ab, float) - p.anti_dsdna_background, 0.0)
    return p.anti_dsdna_iu_ml_per_reference * excess / (1.0 - p.anti_dsdna_background)


def complement(relative_ab: np.ndarray, activity: np.ndarray, p: Biomarkers) -> tuple[np.ndarray, np.ndarray]:
    """Serum (C3, C4) in g/L: constant synthesis, consumption by immune complexes (antibody x organ activity)."""
    complexes = np.maximum(np.asarray(relative_ab, float), 0.0) * np.maximum(np.asarray(activity, float), 0.0)
    factor = 1.0 / (1.0 + p.complement_consumption * complexes)
    return p.c3_normal_g_l * factor, p.c4_normal_g_l * factor


def proteinuria(activity: np.ndarray, p: Biomarkers) -> np.ndarray:
    """Urinary protein (g/day): basal leak plus a leak growing with organ activity above its onset."""
    return p.proteinuria_basal_g_day + p.proteinuria_gain_g_day * np.maximum(
        np.asarray(activity, float) - p.proteinuria_onset_activity, 0.0)


def log_sigma(cv: float) -> float:
    """SD of log(measured / true) for a log-normal assay error of coefficient of variation ``cv``."""
    return float(np.sqrt(np.log1p(cv * cv)))


def measured(true: np.ndarray, cv: float, rng: np.random.Generator) -> np.ndarray:
    """A biomarker as an assay reads it: log-normal noise with mean 1 and coefficient of variation ``cv``."""
    true = np.asarray(true, float)
    s = log_sigma(cv)
    return true * np.exp(rng.normal(-0.5 * s * s, s, size=true.shape))


def above_probability(true: np.ndarray, cutoff: float, cv: float) -> np.ndarray:
    """Probability that the assay reads ``true`` above ``cutoff`` (log-normal noise of ``measured``)."""
    from scipy.special import ndtr

    true = np.maximum(np.asarray(true, float), 1e-300)
    s = log_sigma(cv)
    if s == 0:
        return (true > cutoff).astype(float)
    return ndtr((np.log(true / cutoff) - 0.5 * s * s) / s)


NOISE_FIELDS: dict[str, str] = {"crp": "crp_cv", "anti_dsdna": "anti_dsdna_cv", "c3": "complement_cv",
                                "c4": "complement_cv", "proteinuria": "proteinuria_cv"}
"""Biomarker -> the AssayNoise field of its CV."""


def cv_of(name: str, noise: AssayNoise) -> float:
    """The assay CV of a biomarker."""
    return float(getattr(noise, NOISE_FIELDS[name]))
