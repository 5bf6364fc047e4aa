"""Parameters of the observation layer (a scenario's ``observation`` section): every one with unit, source, range.

Three parameters were fitted (``analysis/fit_observation.py``; docs/clinical.md says on which rows); the
rest are published constants, definitions of the indices, or assumptions stated as such.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from abm.params import Section, param

DAMAGE_WEIGHTS = ("assumption: the weights of the damage loop's effector activity (biology.damage: IL-17-driven "
                  "injury half, immune complexes and IFN-gamma/TNF a quarter each)")
REFERENCE = ("normalisation, not biology: the untreated adult SLE preset at the calibrated persistence "
             "(configs/calibration/sle_phagocyte_split.yaml; 100x100 tissue, day 0 after a 120-day burn-in), so "
             "its organ activity is about 1")


class Activity(Section):
    """Organ activity A (dimensionless): the effector state of the modelled tissue relative to a reference.

    A = w_th17 x (tissue Th17 % / ref) + w_ab x (autoantibody per voxel / ref) + w_infl x (inflammation / ref).
    Intensive inputs only, so the tissue size does not change it.
    """

    th17_weight: float = param(0.5, "-", DAMAGE_WEIGHTS, ge=0, plausible=(0.2, 0.8))
    autoantibody_weight: float = param(0.25, "-", DAMAGE_WEIGHTS, ge=0, plausible=(0.0, 0.5))
    inflammation_weight: float = param(0.25, "-", DAMAGE_WEIGHTS, ge=0, plausible=(0.0, 0.5))
    th17_reference_pct: float = param(4.0, "% of tissue CD4", REFERENCE, gt=0)
    autoantibody_reference_per_voxel: float = param(0.14, "index/voxel", REFERENCE, gt=0)
    inflammation_reference: float = param(1.08, "a.u.", REFERENCE, gt=0)

    @model_validator(mode="after")
    def _some_weight(self) -> Activity:
        if self.th17_weight + self.autoantibody_weight + self.inflammation_weight <= 0:
            raise ValueError("observation.activity: th17_weight, autoantibody_weight and inflammation_weight "
                             "must not all be 0")
        return self


class Biomarkers(Section):
    """Serum and urine biomarkers from model state."""

    crp_half_life_h: float = param(
        19.0, "h", "plasma half-life of CRP, the same in health and disease, so synthesis alone sets the level "
        "(Vigushin DM 1993 J Clin Invest)", gt=0, plausible=(15.0, 24.0))
    crp_basal_mg_l: float = param(
        0.8, "mg/L", "median CRP of healthy adults ~0.8 mg/L (Pepys MB, Hirschfield GM 2003 J Clin Invest)", ge=0,
        plausible=(0.3, 2.0))
    crp_max_mg_l: float = param(
        200.0, "mg/L", "assumption: hepatic synthesis saturates at acute-phase levels of a few hundred mg/L",
        gt=0, plausible=(100.0, 500.0))
    crp_il6_half_max: float = param(
        0.19, "a.u. (plasma IL-6)", "assumption: scaled so the untreated RA preset (plasma IL-6 ~0.1 a.u.) has "
        "CRP ~15 mg/L, typical of active RA in trials, and the healthy preset (~0.05 a.u.) ~2 mg/L", gt=0,
        plausible=(0.12, 0.3))
    crp_il6_hill: float = param(
        4.0, "-", "assumption: IL-6 induces hepatic CRP steeply above a threshold (a switch-like acute-phase "
        "response)", ge=1, le=8, plausible=(2.0, 6.0))
    anti_dsdna_iu_ml_per_reference: float = param(
        90.0, "IU/mL", "assumption: the reference active-SLE patient (autoantibody at its reference) is at 3x "
        "the ELISA cut-off, a healthy one at 0; a relative scale, since the model's index has no absolute unit", gt=0,
        plausible=(40.0, 300.0))
    anti_dsdna_background: float = param(
        0.39, "x reference autoantibody", "normalisation: the relative autoantibody of the untreated healthy preset "
        "(the model's index counts all plasma-cell IgG-like output; healthy people are anti-dsDNA negative, so "
        "only the part above the healthy level is read as anti-dsDNA)", ge=0, lt=1, plausible=(0.2, 0.6))
    anti_dsdna_cutoff_iu_ml: float = param(
        30.0, "IU/mL", "assumption: a common ELISA positivity cut-off (kit-dependent, 20-50 IU/mL)", gt=0,
        plausible=(20.0, 50.0))
    c3_normal_g_l: float = param(
        1.2, "g/L", "mid reference range of serum C3 (0.9-1.8 g/L)", gt=0, plausible=(0.9, 1.8))
    c4_normal_g_l: float = param(
        0.25, "g/L", "mid reference range of serum C4 (0.1-0.4 g/L)", gt=0, plausible=(0.1, 0.4))
    complement_consumption: float = param(
        0.5, "-", "C = normal / (1 + k x immune complexes), immune complexes = relative autoantibody x organ "
        "activity (classical-pathway consumption; C3/C4 fall as SLEDAI rises, Narayanan K 2010 Med J Armed "
        "Forces India); k assumption: C3 0.8 g/L, under the 0.9 g/L limit, in the reference patient", ge=0,
        plausible=(0.1, 1.5))
    c3_low_g_l: float = param(0.9, "g/L", "lower limit of the C3 reference range (SLEDAI-2K low complement)",
                              gt=0, plausible=(0.8, 0.9))
    c4_low_g_l: float = param(0.1, "g/L", "lower limit of the C4 reference range (SLEDAI-2K low complement)",
                              gt=0, plausible=(0.1, 0.16))
    proteinuria_basal_g_day: float = param(
        0.08, "g/day", "normal urinary protein under 0.15 g/day", ge=0, plausible=(0.03, 0.15))
    proteinuria_onset_activity: float = param(
        0.5, "A", "assumption: glomerular leak starts at half the reference organ activity", ge=0,
        plausible=(0.2, 0.8))
    proteinuria_gain_g_day: float = param(
        1.2, "g/day per unit A", "assumption: the reference patient (A = 1) leaks ~0.7 g/day, above the "
        "SLEDAI-2K 0.5 g/day item; renal involvement differs widely between patients", ge=0,
        plausible=(0.3, 4.0))
    proteinuria_item_g_day: float = param(
        0.5, "g/day", "SLEDAI-2K proteinuria item: > 0.5 g/24 h (Gladman DD 2002 J Rheumatol)", gt=0)


class AssayNoise(Section):
    """Measurement noise: multiplicative (log-normal) with the given CV for biomarkers, additive for globals."""

    crp_cv: float = param(0.08, "CV", "assumption: high-sensitivity CRP immunoassays have CVs of 5-10 %", ge=0,
                          plausible=(0.03, 0.15))
    anti_dsdna_cv: float = param(0.15, "CV", "assumption: anti-dsDNA ELISA inter-assay CVs of 10-20 %", ge=0,
                                 plausible=(0.05, 0.3))
    complement_cv: float = param(0.05, "CV", "assumption: nephelometric C3/C4 CVs of ~5 %", ge=0,
                                 plausible=(0.02, 0.1))
    proteinuria_cv: float = param(0.2, "CV", "assumption: spot protein/creatinine ratio against 24-h urine, "
                                  "~20 % scatter", ge=0, plausible=(0.1, 0.4))
    global_sd: float = param(1.0, "points on 0-10", "assumption: test-retest scatter of a 0-10 global assessment",
                             ge=0, plausible=(0.5, 2.0))


class Manifestations(Section):
    """Clinical signs (SLEDAI-2K items, joints, global assessments) present with a logistic law in organ activity.

    A sign i shows in a patient when (A - threshold) / spread + logit(prevalence_i) > u_i, with u_i a standard
    logistic draw of the patient (:mod:`abm.clinical.indices`): over patients the sign has probability
    logistic((A - threshold) / spread + logit(prevalence_i)), prevalence_i at A = threshold.
    """

    threshold: float = param(
        1.06, "A", "fit (analysis/fit_observation.py, 10 runs of trial-sle-ucmsc-single at the "
        "sle_phagocyte_split posterior, 30-day recall window): the LIU11 baseline SLEDAI-2K 10.4 on the untreated "
        "arm at day 0", plausible=(0.5, 1.5))
    spread: float = param(
        0.062, "A", "fit (analysis/fit_observation.py, as threshold): LIU11-SLEDAI-90, 7.8 in the MSC arm at "
        "day 90; one spread for every sign, joints and globals included (assumption)", gt=0, plausible=(0.05, 0.5))
    recall_days: float = param(
        30.0, "days", "SLEDAI-2K scores descriptors present over the preceding 30 days (the 30-day window: Touma Z "
        "2010 J Rheumatol; the original 10 days: Gladman DD 2002 J Rheumatol): organ signs follow the mean organ "
        "activity over this window (the mean, not the maximum, is an assumption: the simulated tissue slice "
        "adds day-to-day small-number noise a whole organ does not have)", ge=0, le=30, plausible=(10.0, 30.0))
    exam_days: float = param(
        7.0, "days", "assumption: joint counts and global assessments follow the mean organ activity of the last "
        "week (synovitis and how a patient feels persist for days); 0 = the visit day alone", ge=0, le=30,
        plausible=(0.0, 14.0))
    joint_tender_prevalence: float = param(
        0.25, "fraction of joints", "assumption: ~7 of 28 joints tender in a patient at the reference activity "
        "(active RA trial cohorts report 8-15 of 28)", gt=0, lt=1, plausible=(0.1, 0.5))
    joint_swollen_prevalence: float = param(
        0.18, "fraction of joints", "assumption: ~5 of 28 swollen at the reference activity (fewer swollen than "
        "tender joints in RA cohorts)", gt=0, lt=1, plausible=(0.05, 0.4))
    global_prevalence: float = param(
        0.5, "fraction of the 0-10 scale", "assumption: global assessments at mid-scale (5 of 10) at the "
        "reference activity", gt=0, lt=1, plausible=(0.3, 0.7))


class Events(Section):
    """Trial events at visits (:mod:`abm.clinical.events`); defaults from published definitions."""

    visit_days: list[float] = param(
        [0, 7, 14, 30, 60, 90, 120, 150, 180, 270, 365], "days",
        "assumption: a typical MSC trial schedule (weeks 1 and 2, then monthly to 6 months, then 9 and 12 "
        "months); visits after the follow-up are dropped")
    sledai_response_drop: float = param(
        4.0, "points", "SLEDAI-2K reduction >= 4 from baseline (the SLEDAI part of the SRI-4: Furie RA 2009 "
        "Arthritis Rheum)", gt=0, plausible=(3.0, 6.0))
    sledai_remission_below: float = param(
        4.0, "points", "assumption: low disease activity band (SLEDAI-2K 0 / 1-4 / 5-10 / > 10, Gladman 2002)",
        gt=0, plausible=(1.0, 6.0))
    sledai_flare_rise: float = param(
        3.0, "points", "SELENA-SLEDAI flare index: a rise of >= 3 (mild/moderate; Petri M 2005 N Engl J Med)",
        gt=0, plausible=(2.0, 5.0))
    das28_remission_below: float = param(
        2.6, "DAS28", "DAS28 remission < 2.6 (derived for DAS28-ESR; CRP-specific cut-offs are lower)", gt=0,
        plausible=(2.0, 2.6))
    das28_good_response: float = param(
        1.2, "DAS28", "EULAR response: improvement > 1.2 (van Gestel AM 1996 Arthritis Rheum)", gt=0)
    das28_moderate_response: float = param(
        0.6, "DAS28", "EULAR response: improvement > 0.6 counts when the current DAS28 is <= 5.1 (van Gestel 1996)",
        gt=0)
    das28_low_activity: float = param(3.2, "DAS28", "EULAR low disease activity <= 3.2", gt=0)
    das28_high_activity: float = param(5.1, "DAS28", "EULAR high disease activity > 5.1", gt=0)
    remission_apart_days: float = param(
        90.0, "days", "assumption: remission counts when confirmed at two visits >= 3 months apart", gt=0,
        plausible=(30.0, 180.0))


class Observation(Section):
    """The observation layer: how clinical read-outs are taken from the model (all outputs model surrogates)."""

    activity: Activity = Field(default_factory=Activity)
    biomarkers: Biomarkers = Field(default_factory=Biomarkers)
    noise: AssayNoise = Field(default_factory=AssayNoise)
    manifestations: Manifestations = Field(default_factory=Manifestations)
    events: Events = Field(default_factory=Events)
