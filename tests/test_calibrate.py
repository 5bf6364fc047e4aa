"""abm calibrate: ABC-SMC recovers a known parameter from the model's own output on a tiny config."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

pytest.importorskip("pyabc")

from abm.calibrate.model import direction_cost  # noqa: E402
from abm.calibrate.pipeline import run_calibration  # noqa: E402
from abm.config.load import load  # noqa: E402

TRUTH = 0.4  # disease.systemic_il6; prior uniform [0, 2] (plausible range), prior median 1.0


def test_hinge_distance():
    assert direction_cost(-20.0, "decrease") == 0.0
    assert direction_cost(20.0, "decrease") > 0.0
    assert direction_cost(1.0, "no_change") == 0.0


def test_recovers_systemic_il6(tmp_path):
    spec = {
        "name": "test-synthetic",
        "overrides": {"disease": {"preset": "sle"}, "tissue": {"width_voxels": 16, "height_voxels": 16},
                      "simulation": {"burn_in_days": 3, "days": 1},
                      "arms": {"untreated": {"control": "untreated"}}},
        "parameters": ["disease.systemic_il6"],
        "data": {"findings": ["BASE-SLE-TH17"], "synthetic": {"disease.systemic_il6": TRUTH}},
        "population_size": 30, "generations": 3, "sampler": {"kind": "single"}, "seed": 3, "predictive_draws": 2,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    res = run_calibration(path, tmp_path / "out")
    row = res.summary.iloc[0]
    assert abs(row["median"] - TRUTH) < abs(row["prior_median"] - TRUTH)
    assert row["q05"] <= TRUTH <= row["q95"]
    for name in ("posterior.csv", "marginals.png", "overlay.yaml", "report.md"):
        assert (res.directory / name).is_file()
    post = pd.read_csv(res.directory / "posterior.csv")
    assert set(post.columns) == {"disease.systemic_il6", "weight"}
    scenario = load(None, overlays=[res.directory / "overlay.yaml"])
    assert scenario.disease.systemic_il6 == pytest.approx(row["median"])
    assert "BASE-SLE-TH17" in (res.directory / "report.md").read_text()
