"""Rate laws of the rule table (evaluated through abm.biology.rules): directions and relations set by the
biology, and the fate samplers.

Every assertion is a direction or relation stated by the cited biology (or by probability
theory for the samplers), never a value copied from the model's output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import rule_laws as laws
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from abm.biology.disease import Disease
from abm.biology.levels import Levels
from abm.biology.parameters import MSC, BCells, Macrophages, TCells
from abm.engine.hazards import binomial_fates, competing_fates, hill, prob

TC, MAC, BC, MS = TCells(), Macrophages(), BCells(), MSC()
RISING = np.geomspace(1e-3, 1e3, 61)  # a mediator sweep over six decades around 1 a.u.


def lv(**kw) -> Levels:
    """Levels with every mediator 0 unless given."""
    base = dict(ido=0.0, pge2=0.0, tgfb=0.0, il6=0.0, il10=0.0, infl=0.0)
    base.update(kw)
    return Levels(**base)


def strictly_increasing(a) -> bool:
    return bool(np.all(np.diff(np.asarray(a, float)) > 0))


def strictly_decreasing(a) -> bool:
    return bool(np.all(np.diff(np.asarray(a, float)) < 0))


# --------------------------------------------------------------------------- common helpers
def test_hill_is_a_saturating_curve():
    h = hill(RISING)
    assert strictly_increasing(h)
    assert np.all((h > 0) & (h < 1))
    assert hill(0.0) == 0.0
    assert hill(1.0) == pytest.approx(0.5)  # one a.u. is the half-maximal level
    assert hill(-3.0) == 0.0  # negative round-off is no signal
    assert hill(2.0, k=2.0, n=3.0) == pytest.approx(0.5)


def test_prob_of_a_constant_hazard():
    assert prob(0.0, 2.0) == 0.0
    assert prob(0.1, 2.0) == pytest.approx(1 - math.exp(-0.2))
    assert strictly_increasing(prob(RISING[:40], 1.0))  # below saturation in double precision
    assert np.all((prob(RISING, 1.0) > 0) & (prob(RISING, 1.0) <= 1.0))


# --------------------------------------------------------------------------- T-cell induction
def test_treg_induction_rises_with_tgfb_without_il6():
    r = laws.treg_induction(TC, lv(tgfb=RISING))
    assert strictly_increasing(r)
    assert laws.treg_induction(TC, lv(tgfb=0.0)) == 0.0  # no TGF-beta, no iTreg


@pytest.mark.parametrize("il6", [0.0, 0.01, 0.05])
@pytest.mark.parametrize("tgfb", [2.0, 5.0, 20.0, 100.0])
def test_high_tgfb_without_il6_favours_treg_over_th17(tgfb, il6):
    s = lv(tgfb=tgfb, il6=il6)
    assert laws.treg_induction(TC, s) > laws.th17_induction(TC, s)


def test_no_il6_no_th17_induction():
    assert np.all(laws.th17_induction(TC, lv(tgfb=RISING)) == 0.0)


@pytest.mark.parametrize("il6", [3.0, 10.0, 100.0])
@pytest.mark.parametrize("tgfb", [0.05, 0.1, 0.2, 0.3, 0.5])
def test_il6_with_low_tgfb_favours_th17_over_treg(tgfb, il6):
    s = lv(tgfb=tgfb, il6=il6)
    assert laws.th17_induction(TC, s) > laws.treg_induction(TC, s)


@pytest.mark.parametrize("tgfb", [0.1, 1.0, 10.0])
def test_il6_lowers_treg_induction(tgfb):
    r = laws.treg_induction(TC, lv(tgfb=tgfb, il6=RISING))
    assert strictly_decreasing(r)
    assert r[-1] < laws.treg_induction(TC, lv(tgfb=tgfb))


def test_th17_needs_some_tgfb_but_high_tgfb_opposes_it():
    r = laws.th17_induction(TC, lv(il6=5.0, tgfb=RISING))
    top = int(np.argmax(r))
    assert 0 < top < r.size - 1  # a window of TGF-beta, not a monotone response
    assert laws.th17_induction(TC, lv(il6=5.0, tgfb=0.0)) == 0.0


@pytest.mark.parametrize(("tgfb", "il6"), [(0.2, 0.0), (1.0, 0.5), (5.0, 0.1), (0.5, 3.0)])
def test_ido_raises_treg_and_lowers_th17_induction(tgfb, il6):
    s = lv(tgfb=tgfb, il6=il6, ido=RISING)
    assert strictly_increasing(laws.treg_induction(TC, s))
    if il6 > 0:
        assert strictly_decreasing(laws.th17_induction(TC, s))
        assert strictly_decreasing(laws.treg_to_th17(TC, s))


@settings(max_examples=60, deadline=None)
@given(tgfb=st.floats(0, 1e3), il6=st.floats(0, 1e3), pge2=st.floats(0, 1e3),
       infl=st.floats(0, 1e3))
def test_ido_at_zero_has_no_effect(tgfb, il6, pge2, infl):
    """An IDO level of 0 (the IDO inhibitor removes every source) leaves no IDO effect: the rates
    equal those of a parameter set without any IDO action."""
    no_ido_action = TC.model_copy(update={"kynurenine_treg_boost": 0.0, "ido_blocks_th17": 0.0,
                                          "tryptophan_arrest": 0.0})
    blocked = lv(tgfb=tgfb, il6=il6, pge2=pge2, infl=infl, ido=0.0)
    for law in (laws.treg_induction, laws.th17_induction, laws.treg_to_th17):
        assert law(TC, blocked) == law(no_ido_action, blocked)
    assert (laws.th17_expansion(TC, blocked, 0.7, 0.02, contacts=2)
            == laws.th17_expansion(no_ido_action, blocked, 0.7, 0.02, contacts=2))


# --------------------------------------------------------------------------- PGE2 on Th17
def pge2_crossover(p: TCells) -> float:
    """The PGE2 level where its effect on Th17 turns from support (>1) to suppression (<1)."""
    lo, hi = 1e-4, 1e4
    assert laws.pge2_on_th17(p, lo) > 1 > laws.pge2_on_th17(p, hi)
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if laws.pge2_on_th17(p, mid) > 1:
            lo = mid
        else:
            hi = mid
    return lo


def test_pge2_on_th17_is_dose_dependent():
    assert laws.pge2_on_th17(TC, 0.0) == pytest.approx(1.0)  # no PGE2, no effect
    for low in (0.01, 0.05, 0.1, 0.3):
        assert laws.pge2_on_th17(TC, low) > 1.0, low
    for high in (3.0, 10.0, 100.0, 1e4):
        assert laws.pge2_on_th17(TC, high) < 1.0, high
    # the same direction shows in the induction rate itself
    base = laws.th17_induction(TC, lv(il6=3.0, tgfb=0.2))
    assert laws.th17_induction(TC, lv(il6=3.0, tgfb=0.2, pge2=0.05)) > base
    assert laws.th17_induction(TC, lv(il6=3.0, tgfb=0.2, pge2=10.0)) < base


def test_pge2_crossover_moves_with_pge2_suppress_k():
    ks = [0.3, 1.0, 3.0]
    cross = [pge2_crossover(TC.model_copy(update={"pge2_suppress_k": k})) for k in ks]
    assert strictly_increasing(cross)
    # the crossover lies in the order of pge2_suppress_k (the parameter's documented meaning)
    for k, c in zip(ks, cross, strict=True):
        assert k / 3 < c < 3 * k


# --------------------------------------------------------------------------- macrophages
@pytest.mark.parametrize(("il10", "tgfb"), [(0.0, 0.0), (0.5, 0.5), (2.0, 0.0)])
def test_pge2_drives_m2(il10, tgfb):
    r = laws.to_m2(MAC, lv(pge2=RISING, il10=il10, tgfb=tgfb))
    assert strictly_increasing(r)
    assert np.all(r <= MAC.m1_to_m2_per_h)


def test_to_m1_is_zero_for_ido_pos_and_rises_with_inflammation_otherwise():
    s = lv(infl=RISING)
    assert np.all(laws.to_m1(MAC, s, np.ones(RISING.size, bool)) == 0.0)
    assert strictly_increasing(laws.to_m1(MAC, s, np.zeros(RISING.size, bool)))
    mixed = np.arange(RISING.size) % 2 == 0
    r = laws.to_m1(MAC, s, mixed)
    assert np.all(r[mixed] == 0.0)
    assert np.all(r[~mixed] > 0.0)


# --------------------------------------------------------------------------- expansion
def test_tryptophan_depletion_lowers_th17_expansion():
    r = laws.th17_expansion(TC, lv(infl=1.0, ido=RISING), 0.7, 0.02)
    assert strictly_decreasing(r)
    assert r[-1] > 0  # arrest is partial (tryptophan_arrest < 1)


def test_treg_suppression_lowers_th17_expansion():
    contacts = np.arange(0, 9)
    r = laws.th17_expansion(TC, lv(infl=1.0), 0.7, 0.02, contacts=contacts)
    assert strictly_decreasing(r)
    full = laws.th17_expansion(TC, lv(infl=1.0, il10=1e3), 0.7, 0.02, contacts=1000, treg_function=1.5)
    assert full == pytest.approx(0.0)  # complete suppression stops expansion


def test_treg_suppression_needs_contacts_or_il10_and_scales_with_treg_function():
    assert laws.treg_suppression(TC, 0, 0.0, 1.0) == 0.0
    assert laws.treg_suppression(TC, np.zeros(5), np.zeros(5), 1.3).tolist() == [0.0] * 5
    contacts = np.arange(0, 9)
    assert strictly_increasing(laws.treg_suppression(TC, contacts, 0.0, 1.0))
    assert strictly_increasing(laws.treg_suppression(TC, 0, RISING, 1.0))
    full = laws.treg_suppression(TC, contacts, 0.7, 1.0)
    for f in (0.0, 0.5, 0.7, 1.2):
        np.testing.assert_allclose(laws.treg_suppression(TC, contacts, 0.7, f), f * full)


def test_suppression_is_a_fraction_for_every_allowed_treg_function():
    # the largest treg_function the Disease schema accepts (le=1.5 at the time of writing)
    tf_max = min(m.le for m in Disease.model_fields["treg_function"].metadata
                 if getattr(m, "le", None) is not None)
    Disease(treg_function=tf_max)  # accepted by validation
    supp = laws.treg_suppression(TC, 8, 10.0, tf_max)  # 8 suppressor neighbours, IL-10 10 a.u.
    assert supp <= 1.0
    assert laws.th17_expansion(TC, lv(infl=1.0, il10=10.0), 0.7, 0.02, contacts=8, treg_function=tf_max) >= 0.0


def test_treg_expansion_limited_by_treg_frequency():
    r = laws.treg_expansion(TC, np.linspace(0.0, 1.0, 11))
    assert strictly_decreasing(r)
    assert np.all(r > 0)


def test_th17_to_treg_under_tgfb_and_against_il6():
    assert strictly_increasing(laws.th17_to_treg(TC, lv(tgfb=RISING)))
    assert strictly_decreasing(laws.th17_to_treg(TC, lv(tgfb=1.0, il6=RISING)))
    assert strictly_increasing(laws.treg_to_th17(TC, lv(il6=RISING)))


# --------------------------------------------------------------------------- B cells, MSC
def test_plasma_differentiation_falls_with_treg_contacts_and_pge2():
    s = lv(infl=1.0)
    assert strictly_decreasing(laws.to_plasma(BC, s, np.arange(0, 9), 1.0))
    assert strictly_decreasing(laws.to_plasma(BC, lv(infl=1.0, pge2=RISING), 0, 1.0))
    assert strictly_increasing(laws.to_plasma(BC, lv(infl=RISING), 0, 1.0))
    assert laws.to_plasma(BC, s, 0, 0.5) < laws.to_plasma(BC, s, 0, 1.0)  # cyclophosphamide


def test_msc_licensing_rises_with_inflammation_and_licensed_msc_live_longer():
    assert strictly_increasing(laws.licensing(MS, RISING))
    assert laws.licensing(MS, 0.0) == 0.0
    resting = laws.apoptosis(MS, False)
    licensed = laws.apoptosis(MS, True)
    assert licensed < resting
    both = laws.apoptosis(MS, np.array([False, True]))
    assert both[1] < both[0]


# --------------------------------------------------------------------------- competing fates
def _split_check(fate: np.ndarray, rates: list[float], dt: float) -> None:
    n = fate.size
    total = sum(rates)
    p_any = 1 - math.exp(-total * dt)
    events = int((fate > 0).sum())
    se = math.sqrt(p_any * (1 - p_any) / n)
    assert abs(events / n - p_any) < 4 * se
    for i, r in enumerate(rates):
        q = r / total
        got = int((fate == i + 1).sum())
        if q == 0:
            assert got == 0
            continue
        se_q = math.sqrt(q * (1 - q) / events)
        assert abs(got / events - q) <= 4 * se_q, (i, got / events, q)


@pytest.mark.parametrize(("rates", "dt"), [
    ([0.05, 0.1, 0.02], 2.0),
    ([0.3], 1.0),
    ([0.01, 0.0, 0.2, 0.04], 2.0),
    ([0.0, 0.5], 0.5),
    ([2.0, 1.0, 0.5], 3.0),
])
def test_competing_fates_frequencies(rates, dt):
    n = 200_000
    fate = competing_fates(rates, n, dt, np.random.default_rng(12345))
    assert fate.shape == (n,)
    _split_check(fate, rates, dt)


def test_competing_fates_with_per_cell_rates():
    n = 200_000
    rng = np.random.default_rng(7)
    group = np.arange(n) % 2 == 0
    a = np.where(group, 0.2, 0.01)
    b = np.where(group, 0.05, 0.3)
    c = 0.02  # a scalar among arrays
    fate = competing_fates([a, b, c], n, 2.0, rng)
    _split_check(fate[group], [0.2, 0.05, 0.02], 2.0)
    _split_check(fate[~group], [0.01, 0.3, 0.02], 2.0)


def test_competing_fates_zero_rates_and_no_cells():
    rng = np.random.default_rng(0)
    assert not competing_fates([0.0, 0.0], 1000, 2.0, rng).any()
    assert not competing_fates([np.zeros(50), np.zeros(50)], 50, 2.0, rng).any()
    assert competing_fates([0.1], 0, 2.0, rng).size == 0
    some = np.r_[np.zeros(500), np.full(500, 5.0)]
    fate = competing_fates([some, some], 1000, 2.0, rng)
    assert not fate[:500].any()
    assert fate[500:].all()  # hazard 10/h over 2 h: essentially certain


# hazards below ~1e-308 make u / p_any overflow for cells where nothing happens (those values are
# discarded by np.where); the warning is harmless
@pytest.mark.filterwarnings("ignore:overflow encountered in divide:RuntimeWarning")
@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(0, 300), k=st.integers(1, 5),
       dt=st.floats(0.01, 12.0), seed=st.integers(0, 2**32 - 1))
def test_competing_fates_values_are_fate_indices(data, n, k, dt, seed):
    rate = st.floats(0.0, 50.0)
    rates = []
    for _ in range(k):
        if data.draw(st.booleans()):
            rates.append(data.draw(rate))
        else:
            rates.append(data.draw(hnp.arrays(np.float64, n, elements=rate)))
    fate = competing_fates(rates, n, dt, np.random.default_rng(seed))
    assert fate.shape == (n,)
    assert np.all((fate >= 0) & (fate <= k))
    total = sum(np.broadcast_to(r, (n,)) for r in rates)
    assert not np.any(fate[total == 0])
    for i, r in enumerate(rates):  # a fate with zero hazard never happens
        zero = np.broadcast_to(np.asarray(r) == 0, (n,))
        assert not np.any(fate[zero] == i + 1)


# --------------------------------------------------------------------------- binomial fates
def test_binomial_fates_expectation():
    rng = np.random.default_rng(99)
    count, rates, dt = 1_000_000, [0.01, 0.03, 0.002], 2.0
    got = binomial_fates(count, rates, dt, rng)
    total = sum(rates)
    p_any = 1 - math.exp(-total * dt)
    for i, r in enumerate(rates):
        p = p_any * r / total
        assert abs(got[i] - count * p) < 4 * math.sqrt(count * p * (1 - p))


@settings(max_examples=80, deadline=None)
@given(count=st.integers(-5, 10_000), rates=st.lists(st.floats(0, 20.0), min_size=1, max_size=5),
       dt=st.floats(0.01, 12.0), seed=st.integers(0, 2**32 - 1))
def test_binomial_fates_counts(count, rates, dt, seed):
    got = binomial_fates(count, rates, dt, np.random.default_rng(seed))
    assert got.shape == (len(rates),)
    assert np.all(got >= 0)
    assert got.sum() <= max(count, 0)
    for i, r in enumerate(rates):
        if r == 0:
            assert got[i] == 0


# --------------------------------------------------------------------------- all laws
LEVEL = st.one_of(st.sampled_from([0.0, 1e-300, 1.0, 1e6, 1e12, 1e30]),
                  st.floats(0.0, 1e30, allow_nan=False, allow_infinity=False))


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n=st.integers(1, 20), treg_function=st.floats(0.0, 1.0),
       antigen=st.floats(0.0, 2.0), fraction=st.floats(0.0, 1.0), factor=st.floats(0.0, 1.0))
def test_every_rate_law_is_finite_and_non_negative(data, n, treg_function, antigen, fraction,
                                                   factor):
    rows = [data.draw(hnp.arrays(np.float64, n, elements=LEVEL)) for _ in range(6)]
    s = Levels.from_rows(np.array(rows))
    contacts = data.draw(hnp.arrays(np.int16, n, elements=st.integers(0, 9)))
    ido_pos = data.draw(hnp.arrays(np.bool_, n))
    supp = laws.treg_suppression(TC, contacts, s.il10, treg_function)
    out = {
        "treg_induction": laws.treg_induction(TC, s),
        "th17_induction": laws.th17_induction(TC, s),
        "pge2_on_th17": laws.pge2_on_th17(TC, s.pge2),
        "treg_suppression": supp,
        "th17_expansion": laws.th17_expansion(TC, s, antigen, fraction, contacts=contacts,
                                              treg_function=treg_function),
        "treg_expansion": laws.treg_expansion(TC, fraction),
        "th17_to_treg": laws.th17_to_treg(TC, s),
        "treg_to_th17": laws.treg_to_th17(TC, s),
        "to_m2": laws.to_m2(MAC, s),
        "to_m1": laws.to_m1(MAC, s, ido_pos),
        "to_plasma": laws.to_plasma(BC, s, contacts, factor),
        "licensing": laws.licensing(MS, s.infl),
        "apoptosis": laws.apoptosis(MS, ido_pos),
    }
    for name, r in out.items():
        r = np.asarray(r, float)
        assert np.all(np.isfinite(r)), name
        assert np.all(r >= 0), name
    assert np.all(supp <= 1.0)


@settings(max_examples=60, deadline=None)
@given(il6_blocks=st.floats(0, 1), ido_blocks=st.floats(0, 1), arrest=st.floats(0, 1),
       supp_max=st.floats(0, 1), boost=st.floats(0, 10), support=st.floats(0, 10),
       level=LEVEL, seed=st.integers(0, 1000))
def test_t_cell_laws_non_negative_for_valid_parameters(il6_blocks, ido_blocks, arrest, supp_max,
                                                       boost, support, level, seed):
    p = TCells(il6_blocks_treg=il6_blocks, ido_blocks_th17=ido_blocks, tryptophan_arrest=arrest,
               treg_suppression_max=supp_max, kynurenine_treg_boost=boost,
               pge2_low_support=support)
    rng = np.random.default_rng(seed)
    s = Levels.from_rows(rng.choice([0.0, level, 1.0], size=(6, 8)))
    supp = laws.treg_suppression(p, rng.integers(0, 9, 8), s.il10, 1.0)
    assert np.all((supp >= 0) & (supp <= 1))
    for r in (laws.treg_induction(p, s), laws.th17_induction(p, s),
              laws.th17_expansion(p, s, 1.0, 0.1, contacts=rng.integers(0, 9, 8)), laws.treg_to_th17(p, s),
              laws.th17_to_treg(p, s)):
        assert np.all(np.isfinite(r)) and np.all(r >= 0)
