"""Observe one arm's trajectory: add the clinical read-out columns (model surrogates) to it.

Randomness has two sources, kept apart:

* the **patient's traits** (which SLEDAI-2K signs and which joints the disease shows; the offsets of the
  global assessments) come from ``patient.trait_seed``, so every replicate (simulation seed) of a scenario
  observes the same patient, and a cohort gives each virtual patient its own;
* the **assay noise** of each visit comes from the scenario's seed and the patient (its own stream, spawn key
  (2, trait seed) beside the burn-in and arm streams of :func:`abm.run.seed_streams`), restarted for every
  arm, so the arms of a run are observed with common random numbers (paired).

The columns are computed from recorded columns only (:data:`INPUTS`); :func:`observe` can be re-applied to a
stored trajectory with other observation parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from abm.clinical import biomarkers as bm
from abm.clinical import indices as ix
from abm.clinical.params import Observation

SURROGATE = "model surrogate"
"""The label every clinical output carries: these are the model's stand-ins for the clinical measures."""

INPUTS = ("t_days", "tissue_th17_pct_cd4", "autoantibody_index", "inflammation_index", "plasma_il6")
"""Recorded columns the observation reads."""

COLUMNS: dict[str, tuple[str, str]] = {
    "activity_index": ("A (1 = reference active SLE)", "organ activity: tissue Th17, autoantibody and inflammation "
                       "relative to the reference patient (observation.activity)"),
    "crp_mg_l": ("mg/L", "serum CRP, true level (first-order kinetics from plasma IL-6)"),
    "crp_mg_l_measured": ("mg/L", "serum CRP as the assay reads it"),
    "anti_dsdna_iu_ml": ("IU/mL", "serum anti-dsDNA, true level"),
    "anti_dsdna_iu_ml_measured": ("IU/mL", "serum anti-dsDNA as the assay reads it"),
    "c3_g_l": ("g/L", "serum C3, true level"),
    "c3_g_l_measured": ("g/L", "serum C3 as the assay reads it"),
    "c4_g_l": ("g/L", "serum C4, true level"),
    "c4_g_l_measured": ("g/L", "serum C4 as the assay reads it"),
    "proteinuria_g_day": ("g/day", "urinary protein, true level"),
    "proteinuria_g_day_measured": ("g/day", "urinary protein as measured"),
    "sledai2k": ("score 0-105", "SLEDAI-2K of this patient (signs from patient.trait_seed, measured serology)"),
    "sledai2k_expected": ("score 0-105", "expected SLEDAI-2K over patients of this activity and over assay noise"),
    "tender_joints28": ("joints", "tender joint count (28 joints) of this patient"),
    "swollen_joints28": ("joints", "swollen joint count (28 joints) of this patient"),
    "tender_joints28_expected": ("joints", "expected tender joint count over patients of this activity"),
    "swollen_joints28_expected": ("joints", "expected swollen joint count over patients of this activity"),
    "active_joints71": ("joints", "active (swollen) joints of the 71 JADAS counts, this patient"),
    "patient_global": ("mm on 0-100", "patient global assessment of this patient (with scatter)"),
    "physician_global": ("0-10", "physician global assessment of this patient (with scatter)"),
    "das28_crp": ("DAS28", "DAS28-CRP of this patient (counts, measured CRP, patient global)"),
    "das28_crp_expected": ("DAS28", "DAS28-CRP of the expected counts, true CRP and the median patient's global"),
    "cjadas10": ("score 0-30", "clinical JADAS10 (no ESR) of this patient; parent global = patient global / 10"),
    "cjadas10_expected": ("score 0-30", "cJADAS10 of the expected active joints and the median patient's globals"),
}
"""Every column :func:`observe` adds: (unit, meaning).  All are model surrogates."""

OBSERVATION_SPAWN_KEY = 2
"""Spawn key of the assay-noise stream under the scenario seed (0: burn-in, 1: arms; abm.run.seed_streams)."""


def patient_traits(trait_seed: int) -> dict[str, np.ndarray]:
    """The patient's standard logistic offsets: one per organ sign, per joint (71) and per global assessment."""
    rng = np.random.default_rng(np.random.SeedSequence(trait_seed, spawn_key=(0,)))
    return {"organ": rng.logistic(size=len(ix.organ_items())), "joints": rng.logistic(size=ix.JOINTS_71),
            "globals": rng.logistic(size=2)}


def noise_generator(seed: int, trait_seed: int = 0) -> np.random.Generator:
    """The assay-noise stream of a scenario seed and patient (restarted per arm: arms are observed with paired
    noise; two patients of one seed are measured independently)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(OBSERVATION_SPAWN_KEY, trait_seed)))


def trailing_mean(t: np.ndarray, x: np.ndarray, window: float) -> np.ndarray:
    """Mean of ``x`` over the records in (t - window, t] at each record (``x`` itself for window 0)."""
    t, x = np.asarray(t, float), np.asarray(x, float)
    if window <= 0 or len(x) == 0:
        return x.copy()
    csum = np.concatenate([[0.0], np.cumsum(x)])
    start = np.searchsorted(t, t - window + 1e-9, side="left")
    end = np.arange(1, len(x) + 1)
    return (csum[end] - csum[start]) / (end - start)


def _activity(frame: pd.DataFrame, obs: Observation, voxels: int) -> np.ndarray:
    return bm.organ_activity(frame["tissue_th17_pct_cd4"].to_numpy(float),
                             frame["autoantibody_index"].to_numpy(float) / voxels,
                             frame["inflammation_index"].to_numpy(float), obs.activity)


def observe_arm(traj: pd.DataFrame, obs: Observation, *, voxels: int, crp_response: float, trait_seed: int,
                seed: int, history: list[dict] | pd.DataFrame | None = None) -> pd.DataFrame:
    """The clinical columns of one arm's trajectory (rows in time order), as a new frame with the same index.

    ``history`` holds the burn-in's last days (``t_days`` < 0; ``abm.burn_in.HISTORY_DAYS``), so the recall
    windows of the indices reach back before day 0.  Without it (trajectories stored before the history was
    kept) a window covers the recorded days only.
    """
    missing = [c for c in INPUTS if c not in traj.columns]
    if missing:
        raise ValueError(f"trajectory lacks the column(s) {missing} the observation layer reads")
    b, m, noise = obs.biomarkers, obs.manifestations, obs.noise
    rng = noise_generator(seed, trait_seed)
    traits = patient_traits(trait_seed)
    n = len(traj)
    ab_voxel = traj["autoantibody_index"].to_numpy(float) / voxels
    a = _activity(traj, obs, voxels)
    rel_ab = bm.relative_autoantibody(ab_voxel, obs.activity)
    out: dict[str, np.ndarray] = {"activity_index": a}
    past = pd.DataFrame(history if history is not None else [], columns=list(INPUTS))
    past = past[past["t_days"] < traj["t_days"].min()] if len(past) else past
    t_all = np.concatenate([past["t_days"].to_numpy(float), traj["t_days"].to_numpy(float)])
    a_all = np.concatenate([_activity(past, obs, voxels) if len(past) else np.empty(0), a])
    a_recall = trailing_mean(t_all, a_all, m.recall_days)[len(past):]  # SLEDAI-2K organ signs
    a_exam = trailing_mean(t_all, a_all, m.exam_days)[len(past):]  # joints and globals

    # biomarkers: true level, then as measured (one draw per record and biomarker, in a fixed order)
    crp = bm.crp_kinetics(traj["t_days"].to_numpy(float), traj["plasma_il6"].to_numpy(float), b, crp_response)
    dna = bm.anti_dsdna(rel_ab, b)
    c3, c4 = bm.complement(rel_ab, a, b)
    prot = bm.proteinuria(a, b)
    true = {"crp_mg_l": (crp, "crp"), "anti_dsdna_iu_ml": (dna, "anti_dsdna"), "c3_g_l": (c3, "c3"),
            "c4_g_l": (c4, "c4"), "proteinuria_g_day": (prot, "proteinuria")}
    for col, (values, name) in true.items():
        out[col] = values
        out[f"{col}_measured"] = bm.measured(values, bm.cv_of(name, noise), rng)
    global_scatter = rng.normal(0.0, noise.global_sd, size=(n, 2))

    # SLEDAI-2K: this patient's signs and the expectation over patients and assay noise
    prevalence = np.array([i.prevalence for i in ix.organ_items()])
    present = ix.sign_present(a_recall, prevalence, traits["organ"], m)
    prot_item = out["proteinuria_g_day_measured"] > b.proteinuria_item_g_day
    low_c = (out["c3_g_l_measured"] < b.c3_low_g_l) | (out["c4_g_l_measured"] < b.c4_low_g_l)
    dna_item = out["anti_dsdna_iu_ml_measured"] > b.anti_dsdna_cutoff_iu_ml
    out["sledai2k"] = ix.sledai2k(present, prot_item, low_c, dna_item)
    p_prot = bm.above_probability(prot, b.proteinuria_item_g_day, noise.proteinuria_cv)
    # C3 and C4 share the consumption factor; the assays err independently
    p_c3_ok = bm.above_probability(c3, b.c3_low_g_l, noise.complement_cv)
    p_c4_ok = bm.above_probability(c4, b.c4_low_g_l, noise.complement_cv)
    p_dna = bm.above_probability(dna, b.anti_dsdna_cutoff_iu_ml, noise.anti_dsdna_cv)
    out["sledai2k_expected"] = ix.sledai2k(ix.sign_probability(a_recall, prevalence, m), p_prot,
                                           1.0 - p_c3_ok * p_c4_ok, p_dna)

    # joints: a joint is tender / swollen when its log-odds pass the patient's joint offset (swollen within tender)
    joint_u = traits["joints"]
    tender = ix.sign_logit(a_exam, m.joint_tender_prevalence, m) > joint_u[None, :]
    swollen = ix.sign_logit(a_exam, m.joint_swollen_prevalence, m) > joint_u[None, :]
    out["tender_joints28"] = tender[:, :ix.JOINTS_28].sum(axis=1).astype(float)
    out["swollen_joints28"] = swollen[:, :ix.JOINTS_28].sum(axis=1).astype(float)
    out["tender_joints28_expected"] = ix.JOINTS_28 * ix.sign_probability(a_exam, m.joint_tender_prevalence, m)[:, 0]
    out["swollen_joints28_expected"] = ix.JOINTS_28 * ix.sign_probability(a_exam, m.joint_swollen_prevalence,
                                                                          m)[:, 0]
    out["active_joints71"] = swollen.sum(axis=1).astype(float)
    active71_expected = ix.JOINTS_71 * ix.sign_probability(a_exam, m.joint_swollen_prevalence, m)[:, 0]

    # global assessments (0-10): the patient's own offset plus visit scatter; expected = the median patient
    g_logit = ix.sign_logit(a_exam, m.global_prevalence, m)[:, 0]
    median_global = 10.0 * expit(g_logit)
    patient_g = np.clip(10.0 * expit(g_logit - traits["globals"][0]) + global_scatter[:, 0], 0.0, 10.0)
    physician_g = np.clip(10.0 * expit(g_logit - traits["globals"][1]) + global_scatter[:, 1], 0.0, 10.0)
    out["patient_global"] = 10.0 * patient_g
    out["physician_global"] = physician_g
    out["das28_crp"] = ix.das28_crp(out["tender_joints28"], out["swollen_joints28"], out["crp_mg_l_measured"],
                                    out["patient_global"])
    out["das28_crp_expected"] = ix.das28_crp(out["tender_joints28_expected"], out["swollen_joints28_expected"],
                                             crp, 10.0 * median_global)
    out["cjadas10"] = ix.jadas10(physician_g, patient_g, out["active_joints71"])
    out["cjadas10_expected"] = ix.jadas10(median_global, median_global, active71_expected)
    return pd.DataFrame({c: out[c] for c in COLUMNS}, index=traj.index)


def observe(traj: pd.DataFrame, scenario, history: list[dict] | pd.DataFrame | None = None) -> pd.DataFrame:
    """``traj`` with the clinical columns appended, arm by arm (each arm restarts the assay-noise stream;
    ``history``: the burn-in's last days, shared by the arms, see :func:`observe_arm`)."""
    kw = {"voxels": scenario.tissue.width_voxels * scenario.tissue.height_voxels,
          "crp_response": scenario.disease.crp_response, "trait_seed": scenario.patient.trait_seed,
          "seed": scenario.seed, "history": history}
    if "arm" not in traj.columns:
        return pd.concat([traj, observe_arm(traj, scenario.observation, **kw)], axis=1)
    parts = [observe_arm(group.sort_values("t_days"), scenario.observation, **kw)
             for _, group in traj.groupby("arm", sort=False)]
    return pd.concat([traj, pd.concat(parts).loc[traj.index]], axis=1)
