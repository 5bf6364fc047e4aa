"""Biomarkers of the observation layer: CRP kinetics against the analytic solution, serology, assay noise."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.clinical import biomarkers as bm
from abm.clinical.params import Activity, Biomarkers

B = Biomarkers()


def test_crp_relaxes_to_a_new_level_as_the_first_order_solution():
    # a step of IL-6 at t = 0 from a settled patient: CRP(t) = ss + (c0 - ss) exp(-k t), at any record spacing
    t = np.array([0.0, 0.3, 1.0, 2.5, 7.0])
    il6 = np.full(t.shape, 0.3)
    c0 = 2.0
    crp = bm.crp_kinetics(t, il6, B, initial_mg_l=c0)
    ss = bm.crp_synthesis_level(0.3, B)
    k = np.log(2.0) / B.crp_half_life_h
    np.testing.assert_allclose(crp, ss + (c0 - ss) * np.exp(-k * t * 24.0), rtol=1e-12)


def test_crp_falls_by_half_in_one_half_life_when_synthesis_stops():
    t = np.array([0.0, B.crp_half_life_h / 24.0])
    crp = bm.crp_kinetics(t, np.zeros(2), B, initial_mg_l=100.0 + B.crp_basal_mg_l)
    assert np.isclose(crp[1] - B.crp_basal_mg_l, 50.0)


def test_crp_steady_state_is_basal_without_il6_and_bounded_by_the_maximum():
    assert bm.crp_synthesis_level(0.0, B) == B.crp_basal_mg_l
    assert bm.crp_synthesis_level(1e6, B) <= B.crp_basal_mg_l + B.crp_max_mg_l
    half = bm.crp_synthesis_level(B.crp_il6_half_max, B, response=0.3)
    assert np.isclose(half, B.crp_basal_mg_l + 0.5 * 0.3 * B.crp_max_mg_l)


def test_anti_dsdna_is_zero_at_the_healthy_background_and_the_reference_value_at_reference():
    assert bm.anti_dsdna(np.array([B.anti_dsdna_background]), B)[0] == 0.0
    assert np.isclose(bm.anti_dsdna(np.array([1.0]), B)[0], B.anti_dsdna_iu_ml_per_reference)


def test_complement_falls_with_immune_complexes_and_is_normal_without():
    c3, c4 = bm.complement(np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0]), B)
    assert c3[0] == B.c3_normal_g_l and c4[0] == B.c4_normal_g_l
    assert np.all(np.diff(c3) < 0) and np.all(np.diff(c4) < 0)


def test_organ_activity_is_one_at_the_reference_state():
    p = Activity()
    a = bm.organ_activity(np.array([p.th17_reference_pct]), np.array([p.autoantibody_reference_per_voxel]),
                          np.array([p.inflammation_reference]), p)
    assert np.isclose(a[0], p.th17_weight + p.autoantibody_weight + p.inflammation_weight)


@settings(max_examples=30, deadline=None)
@given(cv=st.floats(0.02, 0.4), true=st.floats(0.1, 100.0))
def test_assay_noise_has_mean_one_and_the_stated_cv(cv, true):
    rng = np.random.default_rng(1)
    reads = bm.measured(np.full(40_000, true), cv, rng)
    assert abs(reads.mean() / true - 1.0) < 5 * cv / np.sqrt(40_000) + 1e-3
    assert abs(reads.std() / reads.mean() - cv) < 0.1 * cv


def test_above_probability_matches_the_measured_reads():
    rng = np.random.default_rng(2)
    true, cutoff, cv = 28.0, 30.0, 0.15
    reads = bm.measured(np.full(100_000, true), cv, rng)
    assert abs((reads > cutoff).mean() - bm.above_probability(np.array([true]), cutoff, cv)[0]) < 0.01
