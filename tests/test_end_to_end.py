"""End to end: the default virtual trial on the full grid over several seeds (slow, ~30-60 s).

Checks the calibrated baseline against the shared finding rows and the direction of the MSC
effect.  Run with ``pytest -m slow``; skip with ``-m "not slow"``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from abm.config import load, to_dict, validate_dict
from abm.run import run_scenario

pytestmark = pytest.mark.slow

DEFAULT_TRIAL = Path(__file__).resolve().parent.parent / "configs" / "default_trial.yaml"
SEEDS = (20261127, 1, 2)
DAYS, BURN_IN = 30, 120
SLE_TH17 = (1.54, 0.38)  # BASE-SLE-TH17: active SLE, blood Th17 % of CD4, mean +/- SD
HEALTHY_TH17 = (0.88, 0.41)  # healthy controls of the same row (healthy.yaml calibration target)


@pytest.fixture(scope="module")
def trials(tmp_path_factory) -> dict[int, dict[str, pd.DataFrame]]:
    """Per seed: the default trial (SLE; msc and untreated arms) and an untreated healthy run."""
    root = tmp_path_factory.mktemp("e2e")
    out: dict[int, dict[str, pd.DataFrame]] = {}
    for seed in SEEDS:
        sle = load(DEFAULT_TRIAL, overrides={
            "seed": seed, "simulation": {"days": DAYS, "burn_in_days": BURN_IN}})
        assert sle.disease.preset == "sle" and sle.tissue.width_voxels == 100
        traj = run_scenario(sle, root / f"sle-{seed}", report=False,
                            checkpoint_every_days=0).trajectories
        data = to_dict(sle)
        data["disease"] = {"preset": "healthy"}
        data["arms"] = {"untreated": {"control": "untreated"}}
        healthy = validate_dict(data)
        htraj = run_scenario(healthy, root / f"healthy-{seed}", report=False,
                             checkpoint_every_days=0).trajectories
        out[seed] = {"msc": traj[traj.arm == "msc"], "untreated": traj[traj.arm == "untreated"],
                     "healthy": htraj}
    return out


def at_day(df: pd.DataFrame, day: float) -> pd.Series:
    rows = df[df.t_days == day]
    assert len(rows) == 1, f"no single row at day {day}"
    return rows.iloc[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_msc_raise_blood_treg_th17_ratio_at_day_30(trials, seed):
    msc = at_day(trials[seed]["msc"], DAYS).blood_treg_th17_ratio
    ctrl = at_day(trials[seed]["untreated"], DAYS).blood_treg_th17_ratio
    assert msc > ctrl, f"seed {seed}: MSC {msc:.3g} <= untreated {ctrl:.3g}"


@pytest.mark.parametrize("seed", SEEDS)
def test_arms_start_from_the_same_patient(trials, seed):
    a = at_day(trials[seed]["msc"], 0).drop("arm")
    b = at_day(trials[seed]["untreated"], 0).drop("arm")
    pd.testing.assert_series_equal(a, b, check_exact=True, check_names=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_untreated_sle_th17_matches_base_sle_th17(trials, seed):
    mean, sd = SLE_TH17
    th17 = trials[seed]["untreated"].blood_th17_pct_cd4.mean()
    assert mean - 2 * sd <= th17 <= mean + 2 * sd, f"seed {seed}: SLE Th17 {th17:.3g} %"


def test_untreated_sle_th17_mean_over_seeds(trials):
    mean, sd = SLE_TH17
    th17 = sum(trials[s]["untreated"].blood_th17_pct_cd4.mean() for s in SEEDS) / len(SEEDS)
    assert mean - 2 * sd <= th17 <= mean + 2 * sd


@pytest.mark.parametrize("seed", SEEDS)
def test_sle_treg_is_below_healthy(trials, seed):
    sle = trials[seed]["untreated"].blood_treg_pct_cd4.mean()
    healthy = trials[seed]["healthy"].blood_treg_pct_cd4.mean()
    assert sle < healthy, f"seed {seed}: SLE Treg {sle:.3g} % >= healthy {healthy:.3g} %"


@pytest.mark.parametrize("seed", SEEDS)
def test_healthy_th17_is_below_sle_and_in_the_control_range(trials, seed):
    mean, sd = HEALTHY_TH17
    healthy = trials[seed]["healthy"].blood_th17_pct_cd4.mean()
    sle = trials[seed]["untreated"].blood_th17_pct_cd4.mean()
    assert healthy < sle
    assert mean - 2 * sd <= healthy <= mean + 2 * sd, f"seed {seed}: healthy Th17 {healthy:.3g} %"


@pytest.mark.parametrize("seed", SEEDS)
def test_msc_reach_the_lung_and_clear(trials, seed):
    msc = trials[seed]["msc"]
    lung = msc.set_index("t_days").msc_alive_lung
    assert lung[0.0] == 0 and lung[1.0] > 0
    assert lung[float(DAYS)] < lung[1.0]  # cleared over the month
    assert (trials[seed]["untreated"].msc_alive_lung == 0).all()
