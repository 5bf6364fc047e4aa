"""The rule table as coefficient arrays (abm.biology.rules.program) gives the hazards of the numpy evaluator
(abm.biology.rules.evaluate) for every cell type, behaviour and state; the compiled compartment draws are
numpy's draws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.biology.cells import BCELLS, MACROPHAGES, TCELLS
from abm.biology.levels import Levels
from abm.biology.rules import compiled
from abm.biology.rules.custom import Signals
from abm.biology.rules.evaluate import RuleSet, default_rules
from abm.biology.rules.grammar import RuleTableError
from abm.biology.rules.program import build, evaluate
from abm.config import validate_dict
from abm.engine import hazards, jit, kernels

pytestmark = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed here")

HILLS = {"tcells": ["tgfb_hill", "ido_hill", "il6_hill", "infl_hill", "il10_hill", "pge2_hill", "contact_hill"],
         "macrophages": ["pge2_hill", "il10_hill", "tgfb_hill", "infl_hill"],
         "bcells": ["infl_hill", "pge2_hill", "contact_hill"]}
TYPES = {"tcells": (TCELLS, compiled.T_BEHAVIOURS), "macrophages": (MACROPHAGES, compiled.M_BEHAVIOURS),
         "bcells": (BCELLS, compiled.B_BEHAVIOURS)}


def _scenario(preset: str, hill: float):
    return validate_dict({"disease": {"preset": preset},
                          "biology": {k: {h: hill for h in v} for k, v in HILLS.items()}})


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), preset=st.sampled_from(["sle", "ra", "healthy"]),
       hill=st.sampled_from([1.0, 2.0, 2.7]), n=st.integers(1, 60), prolif=st.sampled_from([1.0, 0.4]),
       disease_scale=st.sampled_from([1.0, 0.3, 1.7]))
def test_program_hazards_equal_the_numpy_evaluator(seed, preset, hill, n, prolif, disease_scale):
    scenario = _scenario(preset, hill)
    rules = RuleSet(scenario.biology, scenario.disease)
    rng = np.random.default_rng(seed)
    levels = rng.exponential(1.0, (6, n)) * (rng.random((6, n)) < 0.8)
    contacts = rng.integers(0, 5, n).astype(np.int16)
    marker = rng.random(n) < 0.3
    f_th17, f_treg = rng.random(2) * 0.5
    for key, (ct, behaviours) in TYPES.items():
        program = build(rules, ct, behaviours, scenario.biology, scenario.disease)
        state = rng.integers(0, len(ct.states), n).astype(np.int8)
        codes = {s.key: i for i, s in enumerate(ct.states)}
        sig = Signals(Levels.from_rows(levels), contacts=contacts, markers={m.key: marker for m in ct.markers},
                      fractions={"th17": f_th17, "treg": f_treg}, proliferation_factor=prolif,
                      disease_scale=disease_scale)
        signals = np.vstack([levels, contacts.astype(float), marker.astype(float)])
        for b, behaviour in enumerate(behaviours):
            got = np.zeros(n)
            for s in range(len(ct.states)):
                cells = np.flatnonzero(state == s)
                evaluate(program.arrays(), b, s, cells, signals, f_th17, f_treg, np.array([prolif, disease_scale]),
                         got)
            if behaviour.startswith("lose:"):  # a marker's rule: the step applies it where the marker is
                want = np.broadcast_to(rules.rate(key, behaviour[5:], behaviour, sig), (n,))
            else:
                want = np.broadcast_to(rules.hazard(key, behaviour, sig, state, codes), (n,))
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=0, err_msg=f"{key} {behaviour}")


def test_a_custom_term_without_compiled_form_is_refused_by_name():
    scenario = _scenario("sle", 1.0)
    rows = [r for r in default_rules() if r.cell_type == "msc" and r.behaviour == "engulfed"]
    rules = RuleSet(scenario.biology, scenario.disease, table=rows)
    from abm.biology.cells import MSC
    with pytest.raises(RuleTableError, match="efferocytosis.*no compiled form.*ABM_ENGINE=numpy"):
        build(rules, MSC, ("engulfed",), scenario.biology, scenario.disease)


def test_the_kernels_state_codes_are_the_cell_tables():
    """The compiled steps use state codes as numbers (numba bakes globals into its cache, so they are
    literals there); a reordered cell-type table must fail here, not silently in a kernel."""
    from abm.biology.rules import bcells, macrophages, tcells

    assert (tcells.NAIVE, tcells.TH17, tcells.TREG) == (0, 1, 2)
    assert (macrophages.M1, macrophages.M2) == (0, 1)
    assert (bcells.B, bcells.PLASMA) == (0, 1)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.sampled_from([0, 1, 7, 300, 50_000]),
       rates=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=4))
def test_binomial_fates_twin(seed, count, rates):
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    want = hazards.binomial_fates(count, rates, 2.0, a)
    got = kernels.binomial_fates(count, np.array(rates, float), 2.0, b)
    np.testing.assert_array_equal(got, want)
    assert a.bit_generator.state == b.bit_generator.state
