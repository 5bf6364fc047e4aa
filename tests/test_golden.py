"""Every shipped scenario reproduces its golden trajectory (tests/golden.py says how they are made), on both
engines: the compiled kernels and the numpy reference path (:mod:`abm.engine.jit`) are held to the same files."""

from __future__ import annotations

import numpy as np
import pytest
from golden import RTOL, golden_file, read_golden, shipped_scenarios, trajectory

from abm.engine import jit
from abm.engine.jit import ENGINES


def test_every_shipped_scenario_has_a_golden_trajectory():
    missing = [name for name in shipped_scenarios() if not golden_file(name).is_file()]
    assert not missing, f"no golden trajectory for {missing}: run `make golden`"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_shipped_scenario_matches_its_golden_trajectory(name, engine, monkeypatch):
    if engine == "compiled" and not jit.numba_available():
        pytest.skip("numba is not installed here")
    monkeypatch.setenv("ABM_ENGINE", engine)
    expected = read_golden(name)
    got = trajectory(shipped_scenarios()[name])
    assert list(got.columns) == list(expected.columns), "recorded columns changed"
    assert got["arm"].tolist() == expected["arm"].tolist()
    bad = {}
    for col in expected.columns.drop("arm"):
        a, b = got[col].to_numpy(float), expected[col].to_numpy(float)
        if not np.allclose(a, b, rtol=RTOL, atol=0.0, equal_nan=True):
            i = int(np.flatnonzero(~np.isclose(a, b, rtol=RTOL, atol=0.0, equal_nan=True))[0])
            bad[col] = f"row {i}: {a[i]!r} != golden {b[i]!r}"
    assert not bad, f"{name} differs from its golden trajectory (make golden after a deliberate change): {bad}"


def test_the_golden_comparison_can_fail():
    """A perturbed copy of a golden trajectory is told apart at the stated tolerance."""
    name = next(iter(shipped_scenarios()))
    expected = read_golden(name)
    col = "blood_treg_pct_cd4"
    shifted = expected[col].to_numpy(float) * (1 + 10 * RTOL)
    assert not np.allclose(shifted, expected[col], rtol=RTOL, atol=0.0)
