"""The burn-in: fixed and settled modes, the fast-forward of the slow compartments, the drift report."""

from __future__ import annotations

import numpy as np
import pytest

from abm import burn_in
from abm.biology.rules import bcells
from abm.config import ConfigError, validate_dict
from abm.engine.hazards import per_h
from abm.model import MSCModel
from abm.run import burn_in as run_burn_in

SMALL = {"tissue": {"width_voxels": 30, "height_voxels": 30}}


def _scenario(**simulation):
    return validate_dict({**SMALL, "simulation": simulation})


def test_drift_is_zero_for_a_constant_and_large_for_a_trend():
    flat = [{"x": 5.0} for _ in range(20)]
    assert burn_in.drift(flat, ("x",)) == {"x": (0.0, 0.0)}
    trend = [{"x": 100.0 + 3 * i} for i in range(20)]
    rel, z = burn_in.drift(trend, ("x",))["x"]
    assert rel == pytest.approx(30 / 143.5) and z > 3  # half means 113.5 and 143.5
    assert not burn_in.stationary({"x": (rel, z)}, 0.05)


def test_noise_alone_is_stationary():
    """Independent day-to-day noise of 20 % around a constant is within 3 standard errors (on most days)."""
    rng = np.random.default_rng(0)
    passed = [burn_in.stationary(burn_in.drift([{"x": v} for v in 50 + 10 * rng.standard_normal(20)], ("x",)),
                                 0.05) for _ in range(200)]
    assert np.mean(passed) > 0.95


def test_fast_forward_puts_the_slow_compartments_at_their_steady_state():
    model = MSCModel(_scenario(), rng=3)
    for _ in range(24):
        model.step()
    k = 5e-4
    out = burn_in.fast_forward(model, k)
    p, area = model.bio.bcells, model.space.area_mm2
    recruit = model.bio.trafficking.b_ingress_per_mm2_per_h * area
    b_star = recruit / (per_h(p.b_half_life_days, 24) + k)
    p_star = k * b_star / per_h(p.plasma_half_life_days, 24)
    assert model.bcells.count(bcells.B) == out["b_after"] == int(np.rint(b_star))
    assert model.bcells.count(bcells.PLASMA) == out["plasma_after"] == int(np.rint(p_star))
    n_plasma = model.bcells.count(bcells.PLASMA)
    assert model.autoantibody == pytest.approx(p.antibody_per_plasma_per_day / 24 * n_plasma
                                               / per_h(p.antibody_half_life_days, 24))
    # one cell per voxel still, and the grid knows every cell
    occupied = sum(getattr(model, k).n for k in ("tcells", "macrophages", "bcells", "msc"))
    assert int(model.space.occupied.sum()) == occupied


def test_settled_burn_in_reports_itself_and_ends_on_day_0():
    model = run_burn_in(_scenario(burn_in_mode="settled", burn_in_days=44))
    r = model.run_info["burn_in"]
    assert r["mode"] == "settled" and r["days"] == 44 and model.t_h == 0.0
    assert r["fast_forward"]["k_plasma_per_h"] > 0
    assert set(r["drift"]) == set(burn_in.FAST + burn_in.SLOW) and isinstance(r["stationary"], bool)


def test_fixed_burn_in_is_reported_too_and_draws_nothing_extra():
    """Reporting observes only: a fixed burn-in is the plain sequence of steps (the golden trajectories
    hold it to the steps of earlier revisions)."""
    scenario = _scenario(burn_in_days=22)
    model = run_burn_in(scenario)
    assert model.run_info["burn_in"]["mode"] == "fixed" and model.run_info["burn_in"]["drift"] is not None
    from abm.run import seed_streams
    plain = MSCModel(scenario, rng=seed_streams(scenario.seed)[0])
    for _ in range(22 * 12):
        plain.step()
    np.testing.assert_array_equal(plain.tcells.x, model.tcells.x)
    assert plain.rngs.state() == model.rngs.state()


def test_a_settled_burn_in_needs_40_days():
    with pytest.raises(ConfigError, match=r"burn_in_days \(30.0\) must be at least 40 with burn_in_mode settled"):
        _scenario(burn_in_mode="settled", burn_in_days=30)


def test_the_burn_in_keeps_its_last_days_for_the_observation_layer():
    from abm.clinical.observe import INPUTS
    from abm.clinical.params import Manifestations

    model = run_burn_in(_scenario(burn_in_days=5, days=2))
    history = model.run_info["history"]
    assert [row["t_days"] for row in history] == [-4.0, -3.0, -2.0, -1.0]  # day 0 is the arms' first record
    assert set(history[0]) == set(INPUTS)
    assert "history" not in model.run_info["burn_in"]  # the manifest's report stays small
    limit = Manifestations.model_fields["recall_days"].metadata
    assert any(getattr(m, "le", None) == burn_in.HISTORY_DAYS for m in limit)
