"""The observation step: columns, patients kept apart from seeds, paired assay noise, realised vs expected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abm.clinical import COLUMNS
from abm.clinical.observe import observe, observe_arm, trailing_mean
from abm.config import Scenario

SC = Scenario()
VOXELS = SC.tissue.width_voxels * SC.tissue.height_voxels


def trajectory(activity_scale: np.ndarray, arm: str = "msc") -> pd.DataFrame:
    """A synthetic recorded trajectory at ``activity_scale`` x the reference state of every input."""
    a = SC.observation.activity
    t = np.arange(len(activity_scale), dtype=float) * 7.0
    return pd.DataFrame({
        "t_days": t, "arm": arm,
        "tissue_th17_pct_cd4": a.th17_reference_pct * activity_scale,
        "autoantibody_index": a.autoantibody_reference_per_voxel * VOXELS * activity_scale,
        "inflammation_index": a.inflammation_reference * activity_scale,
        "plasma_il6": 0.1 * activity_scale,
    })


def arm_obs(traj: pd.DataFrame, trait_seed: int = 0, seed: int = 0) -> pd.DataFrame:
    return observe_arm(traj, SC.observation, voxels=VOXELS, crp_response=1.0, trait_seed=trait_seed, seed=seed)


def test_every_documented_column_is_added_and_finite():
    out = observe(trajectory(np.linspace(0.2, 1.6, 12)), SC)
    assert set(COLUMNS) <= set(out.columns)
    assert np.isfinite(out[list(COLUMNS)].to_numpy(float)).all()


def test_missing_input_column_is_named():
    with pytest.raises(ValueError, match="plasma_il6"):
        arm_obs(trajectory(np.ones(3)).drop(columns="plasma_il6"))


def test_scores_rise_with_activity():
    out = arm_obs(trajectory(np.linspace(0.2, 2.0, 20)))
    for col in ("sledai2k_expected", "das28_crp_expected", "cjadas10_expected", "tender_joints28_expected"):
        assert np.all(np.diff(out[col].to_numpy()) >= -1e-9), col
    assert out["c3_g_l"].is_monotonic_decreasing


def test_patient_signs_belong_to_the_trait_seed_not_the_simulation_seed():
    traj = trajectory(np.full(6, 1.1))
    one, other_seed = arm_obs(traj, trait_seed=5, seed=1), arm_obs(traj, trait_seed=5, seed=2)
    np.testing.assert_array_equal(one["tender_joints28"], other_seed["tender_joints28"])
    # the assay noise does belong to the seed
    assert not np.array_equal(one["crp_mg_l_measured"], other_seed["crp_mg_l_measured"])
    patients = {tuple(arm_obs(traj, trait_seed=k)["tender_joints28"]) for k in range(10)}
    assert len(patients) > 1


def test_arms_are_observed_with_paired_assay_noise():
    traj = trajectory(np.full(5, 1.0))
    both = pd.concat([traj.assign(arm="untreated"), traj.assign(arm="msc")], ignore_index=True)
    out = observe(both, SC)
    a, b = (out[out["arm"] == arm] for arm in ("untreated", "msc"))
    for col in ("crp_mg_l_measured", "anti_dsdna_iu_ml_measured", "sledai2k", "das28_crp"):
        np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy())


def test_mean_realised_sledai_over_patients_and_noise_is_the_expected_score():
    traj = trajectory(np.array([0.6, 1.0, 1.2, 1.5]))
    scores = np.array([arm_obs(traj, trait_seed=k, seed=k)["sledai2k"].to_numpy() for k in range(600)])
    expected = arm_obs(traj)["sledai2k_expected"].to_numpy()
    standard_error = scores.std(axis=0) / np.sqrt(len(scores))
    assert np.all(np.abs(scores.mean(axis=0) - expected) < 4 * standard_error + 0.05)


def test_observation_is_deterministic():
    traj = trajectory(np.linspace(0.5, 1.5, 8))
    pd.testing.assert_frame_equal(arm_obs(traj, 3, 4), arm_obs(traj, 3, 4))


def test_trailing_mean_by_hand():
    t = np.arange(6.0)
    x = np.array([0.0, 6.0, 0.0, 3.0, 3.0, 3.0])
    np.testing.assert_allclose(trailing_mean(t, x, 3.0), [0.0, 3.0, 2.0, 3.0, 2.0, 3.0])
    np.testing.assert_array_equal(trailing_mean(t, x, 0.0), x)


def test_recall_window_reaches_into_the_burn_in_history():
    traj = trajectory(np.full(3, 1.0))
    hot = trajectory(np.full(30, 1.6)).assign(t_days=np.arange(-30.0, 0.0))
    without = arm_obs(traj)
    with_history = observe_arm(traj, SC.observation, voxels=VOXELS, crp_response=1.0, trait_seed=0, seed=0,
                               history=hot.drop(columns="arm").to_dict("records"))
    assert with_history["sledai2k_expected"].iloc[0] > without["sledai2k_expected"].iloc[0]
    assert with_history["activity_index"].iloc[0] == without["activity_index"].iloc[0]  # A itself is today's
