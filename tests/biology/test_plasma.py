"""The plasma pool (abm.biology.plasma): exact relaxation to background + spillover x lymphoid level, a
TGF-beta background that dominates, and the pool recorded apart from the lymphoid-local level."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from abm.biology import plasma
from abm.biology.levels import Levels
from abm.biology.parameters import MEDIATORS, Plasma
from abm.config import validate_dict
from abm.model import MSCModel

LEVEL = st.floats(0.0, 5.0)


@given(start=st.lists(LEVEL, min_size=6, max_size=6), lymph=st.lists(LEVEL, min_size=6, max_size=6),
       dt=st.floats(0.01, 24.0))
def test_two_steps_are_one_step_of_their_sum_and_stay_between_start_and_target(start, lymph, dt):
    p, lymphoid = Plasma(), Levels(*lymph)
    level = np.array(start)
    one = plasma.step(plasma.step(level, p, lymphoid, dt), p, lymphoid, dt)
    np.testing.assert_allclose(one, plasma.step(level, p, lymphoid, 2 * dt), rtol=1e-10, atol=1e-12)
    goal = plasma.target(p, lymphoid)
    lo, hi = np.minimum(level, goal), np.maximum(level, goal)
    assert np.all(one >= lo - 1e-12) and np.all(one <= hi + 1e-12)


def test_the_pool_settles_at_background_plus_spillover_of_the_lymphoid_level():
    p, lymphoid = Plasma(), Levels(*np.arange(1.0, 7.0))
    level = plasma.background(p)
    for _ in range(100):
        level = plasma.step(level, p, lymphoid, 2.0)
    want = plasma.background(p) + p.spillover * np.arange(1.0, 7.0)
    np.testing.assert_allclose(level, want, rtol=1e-6)


def test_a_lymphoid_tgfb_rise_moves_plasma_tgfb_far_less_than_il10():
    """Platelet latent TGF-beta is most of plasma TGF-beta: a regulatory source adds little to it."""
    p = Plasma()
    base, up = Levels(*np.zeros(6)), Levels(*np.zeros(6))
    base.tgfb, base.il10, up.tgfb, up.il10 = 0.2, 0.2, 0.5, 0.5
    rel = plasma.target(p, up) / plasma.target(p, base) - 1.0
    i = {m: k for k, m in enumerate(MEDIATORS)}
    assert rel[i["tgfb"]] < 0.05 < rel[i["il10"]]


def test_the_model_records_plasma_apart_from_the_lymphoid_level():
    from abm.record import snapshot

    model = MSCModel(validate_dict({"tissue": {"width_voxels": 20, "height_voxels": 20},
                                    "simulation": {"burn_in_days": 2, "days": 2}}), rng=2)
    for _ in range(12):
        model.step()
    row = snapshot(model, model.events)
    for m in MEDIATORS:
        assert row[f"plasma_{m}"] == pytest.approx(float(model.plasma[MEDIATORS.index(m)]))
    assert row["plasma_tgfb"] > row["systemic_tgfb"]  # the platelet background
