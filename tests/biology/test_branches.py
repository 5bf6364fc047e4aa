"""The rule table's switched branches (biology.branches): induced vs committed Treg, Th17 -> Tr1.  Each
new rule's direction in isolation, the first chapter's rules switched off where a branch corrects them, and
both engines alike with the branches on."""

from __future__ import annotations

import math

import numpy as np
import pytest

from abm.biology.levels import Levels
from abm.biology.parameters import MEDIATORS, Biology
from abm.biology.rules.custom import Signals
from abm.biology.rules.evaluate import RuleSet
from abm.config import validate_dict
from abm.engine import jit
from abm.model import MSCModel

ON = Biology(branches={"treg_commitment": True, "tr1": True})


def _rules(bio: Biology = ON) -> RuleSet:
    return RuleSet(bio, validate_dict({}).disease)


def _signals(**levels: float) -> Signals:
    base = {m: 0.0 for m in MEDIATORS}
    base.update(levels)
    return Signals(Levels(**base), fractions={"th17": 0.02, "treg": 0.05})


def test_the_branches_replace_the_rules_they_correct():
    off, on = _rules(Biology()), _rules()
    for key in (("tcells", "naive", "to:treg"), ("tcells", "th17", "to:treg"), ("tcells", "treg", "to:th17")):
        assert key in off.rules and key not in on.rules
    for key in (("tcells", "naive", "to:itreg"), ("tcells", "itreg", "to:treg"), ("tcells", "itreg", "to:naive"),
                ("tcells", "itreg", "to:th17"), ("tcells", "th17", "to:tr1"), ("tcells", "tr1", "death")):
        assert key in on.rules and key not in off.rules


def test_committed_treg_survive_il6_where_induced_treg_turn_th17():
    rs = _rules()
    il6 = _signals(il6=5.0)
    assert float(rs.rate("tcells", "itreg", "to:th17", il6)) > 0.0
    assert float(rs.rate("tcells", "treg", "to:th17", il6)) == 0.0
    assert float(rs.rate("tcells", "itreg", "to:th17", _signals())) == 0.0  # no IL-6, no reprogramming


def test_induced_treg_commit_only_while_tgfb_persists_and_lose_foxp3_with_their_half_life():
    rs = _rules()
    assert float(rs.rate("tcells", "itreg", "to:treg", _signals())) == 0.0
    assert float(rs.rate("tcells", "itreg", "to:treg", _signals(tgfb=3.0))) > 0.0
    want = math.log(2) / (ON.tcells.itreg_foxp3_half_life_days * 24)
    assert float(rs.rate("tcells", "itreg", "to:naive", _signals(tgfb=3.0))) == pytest.approx(want)


def test_th17_turn_tr1_only_with_tgfb_more_with_kynurenine_and_not_under_il6():
    rs = _rules()
    rate = lambda **lv: float(rs.rate("tcells", "th17", "to:tr1", _signals(**lv)))  # noqa: E731
    assert rate() == 0.0 < rate(tgfb=2.0) < rate(tgfb=2.0, ido=2.0)
    assert rate(tgfb=2.0, il6=50.0) < 0.05 * rate(tgfb=2.0)


def _branched(engine: str, monkeypatch, seed: int = 3):
    monkeypatch.setenv("ABM_ENGINE", engine)
    cfg = validate_dict({"tissue": {"width_voxels": 40, "height_voxels": 40},
                         "simulation": {"burn_in_days": 20, "days": 10},
                         "biology": {"branches": {"treg_commitment": True, "tr1": True}}})
    model = MSCModel(cfg, rng=seed)
    for _ in range(round(30 * 24 / model.dt_h)):
        model.step()
    return model


def test_with_the_branches_on_the_new_states_fill_and_the_pools_stay_whole(monkeypatch):
    model = _branched("compiled" if jit.numba_available() else "numpy", monkeypatch)
    b = model.blood
    assert b.itreg > 0 and b.tr1 > 0
    assert min(b.counts()) >= 0 and b.total >= model.bio.systemic.pool_cells
    states = np.bincount(model.tcells.state, minlength=5)
    assert states[3] > 0  # induced Treg in the tissue
    from abm.record import snapshot

    row = snapshot(model, model.events)
    assert row["blood_treg_pct_cd4"] == pytest.approx(100.0 * (b.treg + b.itreg) / b.total)  # Tr1 are FOXP3-


def test_both_engines_draw_the_branches_alike(monkeypatch):
    if not jit.numba_available():
        pytest.skip("numba is not installed")
    a, b = _branched("numpy", monkeypatch), _branched("compiled", monkeypatch)
    assert a.blood.counts() == b.blood.counts()
    np.testing.assert_array_equal(a.tcells.state, b.tcells.state)
    np.testing.assert_array_equal(a.tcells.x, b.tcells.x)


def test_ido_not_pge2_brakes_plasma_cells_when_the_ido_brake_is_on():
    legacy, braked = _rules(Biology()), _rules(Biology(branches={"b_ido_brake": True}))
    inflamed = {"infl": 2.0}
    rate = lambda rs, **lv: float(rs.rate("bcells", "b", "to:plasma", _signals(**inflamed, **lv)))  # noqa: E731
    assert rate(braked, ido=5.0) < 0.5 * rate(braked)
    assert rate(braked, pge2=5.0) == pytest.approx(rate(braked))
    assert rate(legacy, pge2=5.0) < 0.5 * rate(legacy) and rate(legacy, ido=5.0) == pytest.approx(rate(legacy))


def test_b_cells_become_breg_with_tgfb_and_not_when_inflamed():
    rs = _rules(Biology(branches={"breg": True}))
    rate = lambda **lv: float(rs.rate("bcells", "b", "to:breg", _signals(**lv)))  # noqa: E731
    assert rate() == 0.0 < rate(tgfb=2.0)
    assert rate(tgfb=2.0, infl=20.0) < 0.1 * rate(tgfb=2.0)
    assert ("bcells", "b", "to:breg") not in _rules(Biology()).rules


def test_both_engines_draw_the_b_cell_branches_alike(monkeypatch):
    if not jit.numba_available():
        pytest.skip("numba is not installed")
    out = []
    for engine in ("numpy", "compiled"):
        monkeypatch.setenv("ABM_ENGINE", engine)
        cfg = validate_dict({"tissue": {"width_voxels": 40, "height_voxels": 40},
                             "simulation": {"burn_in_days": 20, "days": 10}, "disease": {"preset": "healthy"},
                             "biology": {"branches": {"breg": True, "b_ido_brake": True}}})
        model = MSCModel(cfg, rng=4)
        for _ in range(round(20 * 24 / model.dt_h)):
            model.step()
        out.append((model.bcells.state.copy(), model.autoantibody))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    assert out[0][1] == out[1][1] and (out[0][0] == 2).any()  # some Breg formed


def test_th17_memory_is_the_other_version_of_the_th17_death_rule():
    from abm.biology.rules import grammar

    versions = [r for r in grammar.rules() if r.rate.rule == "tcells.th17->death"]
    assert [r.when for r in versions] == ["!branches.th17_memory", "branches.th17_memory"]
    assert all(r.versioned for r in versions) and len({r.name for r in versions}) == 2
    long = _rules(Biology(branches={"th17_memory": True}))
    want = math.log(2) / (Biology().tcells.th17_memory_half_life_days * 24)
    assert float(long.rate("tcells", "th17", "death", _signals())) == pytest.approx(want)
    short = math.log(2) / (Biology().tcells.th17_half_life_days * 24)
    assert float(_rules(Biology()).rate("tcells", "th17", "death", _signals())) == pytest.approx(short)


def test_il1b_raises_th17_induction_only_with_its_switch_on():
    on, off = _rules(Biology(branches={"il1b_th17": True})), _rules(Biology())
    rate = lambda rs, **lv: float(rs.rate("tcells", "naive", "to:th17",  # noqa: E731
                                          _signals(**{"il6": 2.0, "tgfb": 0.2, **lv})))
    assert rate(on, infl=3.0) > 1.5 * rate(on) > 0.0
    assert rate(off, infl=3.0) == pytest.approx(rate(off))
    assert rate(on) == pytest.approx(rate(off))  # no inflammation, no IL-1beta
    assert rate(on, infl=3.0, il6=0.0) == 0.0  # IL-1beta helps IL-6, it does not replace it


def test_msc_secrete_il6_only_with_their_switch_on():
    from abm.biology import secretion

    plain = Biology()
    assert secretion.for_branches(plain.secretion, plain) is plain.secretion
    on = Biology(branches={"msc_il6": True})
    table = secretion.for_branches(on.secretion, on)
    assert table.msc_resting.il6 == table.msc_licensed.il6 == on.msc.il6_secretion > 0
    assert table.msc_licensed.ido == plain.secretion.msc_licensed.ido and table.m1 == plain.secretion.m1
    cfg = validate_dict({"tissue": {"width_voxels": 30, "height_voxels": 30},
                         "simulation": {"burn_in_days": 2, "days": 2}, "biology": {"branches": {"msc_il6": True}}})
    assert MSCModel(cfg, rng=1).secretion.msc_resting.il6 == on.msc.il6_secretion


MEMORY = Biology(branches={"treg_memory": True})


def test_committed_treg_become_resident_memory_only_in_inflamed_tissue_and_only_with_the_switch():
    on, off = _rules(MEMORY), _rules(Biology())
    rate = lambda rs, **lv: float(rs.rate("tcells", "treg", "to:treg_mem", _signals(**lv)))  # noqa: E731
    assert rate(on) == 0.0 < rate(on, infl=1.0) < rate(on, infl=5.0)  # antigen (the inflammatory tone) needed
    assert rate(off, infl=5.0) == 0.0
    assert ("tcells", "treg_mem", "death") not in off.rules


def test_memory_treg_stay_in_the_tissue_outlive_committed_treg_and_expand_on_recall():
    rs = _rules(MEMORY)
    assert float(rs.rate("tcells", "treg_mem", "egress", _signals())) == 0.0
    assert float(rs.rate("tcells", "treg", "egress", _signals())) == MEMORY.trafficking.t_egress_per_h
    assert (float(rs.rate("tcells", "treg_mem", "death", _signals()))
            < 0.5 * float(rs.rate("tcells", "treg", "death", _signals())))
    quiet, recall = (float(rs.rate("tcells", "treg_mem", "divide", _signals(**lv))) for lv in ({}, {"infl": 5.0}))
    assert recall > 2.0 * quiet > 0.0
    from abm.biology import compartments

    fates, _ = compartments.blood_plan(rs)
    assert all(b != "to:treg_mem" for plan in fates for b, _ in plan)  # memory forms on the grid only


def test_the_egress_of_a_state_with_its_own_rule_overrides_the_star_rule_on_both_paths():
    """The numpy path reads a state's own rule before the ``*`` rule, as the compiled program does."""
    from abm.biology.rules import tcells

    rs = _rules(MEMORY)
    state = np.array([tcells.TREG, tcells.TREG_MEM, tcells.NAIVE], np.int8)
    h = rs.hazard("tcells", "egress", _signals(), state, tcells.CODES)
    np.testing.assert_allclose(h, [MEMORY.trafficking.t_egress_per_h, 0.0, MEMORY.trafficking.t_egress_per_h])


def _memory_model(engine: str, monkeypatch, days: float = 25.0):
    monkeypatch.setenv("ABM_ENGINE", engine)
    cfg = validate_dict({"tissue": {"width_voxels": 40, "height_voxels": 40},
                         "simulation": {"burn_in_days": 5, "days": days},
                         "biology": {"branches": {"treg_memory": True},
                                     "tcells": {"treg_memory_formation_per_h": 0.01}}})
    model = MSCModel(cfg, rng=6)
    for _ in range(round(days * 24 / model.dt_h)):
        model.step()
    return model


def test_resident_memory_treg_fill_the_tissue_never_the_blood_and_count_as_treg(monkeypatch):
    from abm.biology.rules import tcells
    from abm.record import snapshot

    model = _memory_model("compiled" if jit.numba_available() else "numpy", monkeypatch)
    n_mem = int((model.tcells.state == tcells.TREG_MEM).sum())
    assert n_mem > 0 and model.blood.treg_mem == 0
    row = snapshot(model, model.events)
    foxp3 = int(np.isin(model.tcells.state, tcells.FOXP3).sum())
    assert row["tissue_treg_mem"] == n_mem
    assert row["tissue_treg_pct_cd4"] == pytest.approx(100.0 * foxp3 / model.tcells.n)
    assert model.events["t_treg_memory_formed"] > 0


def test_both_engines_draw_the_memory_branch_alike(monkeypatch):
    if not jit.numba_available():
        pytest.skip("numba is not installed")
    a, b = (_memory_model(e, monkeypatch, days=12.0) for e in ("numpy", "compiled"))
    assert a.blood.counts() == b.blood.counts()
    np.testing.assert_array_equal(a.tcells.state, b.tcells.state)
    np.testing.assert_array_equal(a.tcells.x, b.tcells.x)
