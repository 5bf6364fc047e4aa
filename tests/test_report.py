"""The run report (abm.report): summary values at the summary days and paired differences from control."""

from __future__ import annotations

import pandas as pd
import pytest

from abm import report


def _traj() -> pd.DataFrame:
    rows = []
    for arm, k in (("msc", 2.0), ("untreated", 1.0)):
        for d in range(0, 31):
            rows.append({"arm": arm, "t_days": float(d), "blood_treg_th17_ratio": k * (1 + d / 30),
                         "blood_treg_pct_cd4": 5.0 + k, "blood_th17_pct_cd4": 1.0})
    return pd.DataFrame(rows)


def test_summary_table_takes_the_nearest_day_and_skips_days_after_the_end():
    table = report.summary_table(_traj())
    assert sorted(table["day"].unique()) == [0, 7, 30]  # 90 and 180 lie after day 30
    msc30 = table[(table.arm == "msc") & (table.day == 30)].iloc[0]
    assert msc30["blood_treg_th17_ratio"] == pytest.approx(4.0)


def test_effects_are_differences_from_the_control_arm():
    table = report.summary_table(_traj())
    assert report.control_arm(["msc", "untreated"], {"msc": False, "untreated": True}) == "untreated"
    eff = report.effects(table, "untreated")
    row = eff[eff.day == 30].iloc[0]
    assert row["arm"] == "msc - untreated"
    assert row["blood_treg_th17_ratio"] == pytest.approx(2.0) and row["blood_treg_pct_cd4"] == pytest.approx(1.0)
    assert report.effects(table[table.arm == "untreated"], "untreated").empty
