"""Clinical indices against hand-computed values: DAS28-CRP, SLEDAI-2K weights, JADAS10 caps and bands."""

from __future__ import annotations

import math

import numpy as np
import pytest

from abm.clinical import indices as ix
from abm.clinical.params import Manifestations


def test_das28_crp_formula_by_hand():
    # TJC 9, SJC 4, CRP 15 mg/L, patient global 60 mm
    expected = 0.56 * 3.0 + 0.28 * 2.0 + 0.36 * math.log(16.0) + 0.014 * 60 + 0.96
    assert np.isclose(ix.das28_crp(9, 4, 15.0, 60.0), expected)
    assert np.isclose(expected, 5.0381, atol=1e-3)
    # no joints, CRP 0, global 0: the constant
    assert np.isclose(ix.das28_crp(0, 0, 0.0, 0.0), 0.96)


def test_sledai2k_item_table_has_the_published_weights():
    items = ix.sledai_items()
    assert len(items) == 24
    weights = {i.name: i.weight for i in items}
    assert sum(weights.values()) == 105
    assert sorted(weights.values()).count(8) == 8  # seizure ... vasculitis
    assert sorted(weights.values()).count(4) == 6  # arthritis, myositis, casts, haematuria, proteinuria, pyuria
    assert sorted(weights.values()).count(2) == 7
    assert sorted(weights.values()).count(1) == 3  # fever, thrombocytopenia, leukopenia
    assert weights["proteinuria"] == 4 and weights["low_complement"] == 2 and weights["increased_dna_binding"] == 2


def test_sledai2k_sums_the_weights_of_the_present_items():
    organ = ix.organ_items()
    present = np.zeros((1, len(organ)), bool)
    names = [i.name for i in organ]
    for name in ("arthritis", "rash"):
        present[0, names.index(name)] = True
    score = ix.sledai2k(present, np.array([True]), np.array([True]), np.array([False]))
    assert score[0] == 4 + 2 + 4 + 2
    everything = ix.sledai2k(np.ones((1, len(organ))), np.ones(1), np.ones(1), np.ones(1))
    assert everything[0] == 105


def test_expected_sledai_is_the_weighted_sign_probabilities():
    m = Manifestations()
    a = np.array([0.5, m.threshold, 2.0])
    prevalence = np.array([i.prevalence for i in ix.organ_items()])
    p = ix.sign_probability(a, prevalence, m)
    np.testing.assert_allclose(p[1], prevalence)  # at the threshold each sign shows at its prevalence
    assert np.all(np.diff(p, axis=0) > 0)  # more activity, more signs


def test_jadas10_caps_joints_at_ten_and_globals_at_ten():
    assert ix.jadas10(12.0, -1.0, 25) == 10 + 0 + 10
    assert ix.jadas10(3.0, 2.0, 4) == 9.0
    # ESR normalised (ESR - 20) / 10 within 0-10
    assert ix.jadas10(0, 0, 0, esr_mm_h=np.array([10.0, 45.0, 200.0])).tolist() == [0.0, 2.5, 10.0]
    assert ix.jadas10(10, 10, 71, esr_mm_h=np.array([500.0]))[0] == 40


def test_bands():
    assert [ix.sledai_band(s) for s in (0, 3, 8, 12)] == ["no activity", "mild", "moderate", "high"]
    assert ix.jadas_band(0.6, "oligo") == "low" and ix.jadas_band(0.6, "poly") == "inactive"
    assert ix.jadas_band(5.2, "poly") == "higher"
    with pytest.raises(ValueError, match="allowed sets"):
        ix.jadas_band(1.0, "poly", cutoffs="nope")
