"""Arms of one seed are paired: they share the burned-in patient and per-process random streams."""

import numpy as np
import pandas as pd

from abm.config import validate_dict
from abm.run import branch, burn_in, run_arm


def scenario(dose_per_kg: float):
    return validate_dict({
        "tissue": {"width_voxels": 40, "height_voxels": 40},
        "simulation": {"burn_in_days": 20, "days": 20},
        "arms": {"tiny": {"dose": {"cells_per_kg": dose_per_kg}}, "untreated": {"control": "untreated"}},
    })


def test_an_arm_without_biological_effect_tracks_the_control():
    """A dose too small to matter still draws random numbers for its infusion; with one stream per
    process the blood of both arms must stay (nearly) identical, far below the noise between seeds."""
    s = scenario(1.0)  # 60 cells in all: nothing reaches the slice, the lung signal is negligible
    burned = burn_in(s).state_dict()
    tiny = run_arm(branch(s, burned, "tiny"))
    ctrl = run_arm(branch(s, burned, "untreated"))
    col = "blood_th17_pct_cd4"
    paired_rms = float(np.sqrt(np.mean((tiny[col].to_numpy() - ctrl[col].to_numpy()) ** 2)))
    other = validate_dict({**s.model_dump(mode="json"), "seed": s.seed + 1})
    other_ctrl = run_arm(branch(other, burn_in(other).state_dict(), "untreated"))
    unpaired_rms = float(np.sqrt(np.mean((other_ctrl[col].to_numpy() - ctrl[col].to_numpy()) ** 2)))
    assert paired_rms < 0.25 * unpaired_rms, (paired_rms, unpaired_rms)


def test_first_row_of_an_arm_counts_no_burn_in_events():
    s = scenario(1e6)
    burned = burn_in(s).state_dict()
    traj = run_arm(branch(s, burned, "untreated"))
    events = [c for c in traj.columns if c.startswith("events_")]
    assert (traj.loc[0, events] == 0).all()
    assert traj.loc[1:, "events_t_divisions"].sum() > 0  # events are counted after day 0


def test_arms_share_day_zero():
    s = scenario(1e6)
    burned = burn_in(s).state_dict()
    a = run_arm(branch(s, burned, "tiny"))
    b = run_arm(branch(s, burned, "untreated"))
    pd.testing.assert_series_equal(a.iloc[0].drop("arm"), b.iloc[0].drop("arm"), check_names=False)
