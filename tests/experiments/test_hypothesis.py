"""Hypothesis tests (abm.experiments.hypothesis): statistics against scipy/statsmodels and hand computations, spec
expansion, and a tiny end-to-end run on the serial backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as sps

from abm.config import ConfigError
from abm.experiments.common import stats
from abm.experiments.hypothesis.design import expand
from abm.experiments.hypothesis.spec import HypothesisSpec, parse_outcome
from abm.experiments.trials.findings import load_findings

RNG = np.random.default_rng(42)
DIFFS = RNG.normal(0.7, 1.3, size=12)


# --------------------------------------------------------------------------- statistics
def test_t_interval_matches_scipy():
    lo, hi = stats.t_interval(DIFFS)
    ref = sps.t.interval(0.95, DIFFS.size - 1, DIFFS.mean(), sps.sem(DIFFS))
    assert (lo, hi) == pytest.approx(ref, rel=1e-12)
    assert stats.paired_p(DIFFS) == pytest.approx(sps.ttest_1samp(DIFFS, 0).pvalue, rel=1e-12)
    a, b = RNG.normal(size=12), RNG.normal(size=12)
    assert stats.paired_p(a - b) == pytest.approx(sps.ttest_rel(a, b).pvalue, rel=1e-12)


def test_bootstrap_interval_is_scipys_bca():
    ours = stats.bootstrap_interval(DIFFS, n_boot=20000, seed=2)
    ref = sps.bootstrap((DIFFS,), np.mean, method="BCa", n_resamples=20000, rng=np.random.default_rng(2))
    assert ours == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high), rel=1e-12)
    assert stats.bootstrap_interval(DIFFS, seed=3) == stats.bootstrap_interval(DIFFS, seed=3)  # seeded
    assert ours[0] < DIFFS.mean() < ours[1]
    assert stats.bootstrap_interval(np.full(5, 0.3)) == (0.3, 0.3)  # no spread, no interval width


def test_effect_sizes():
    d = DIFFS.mean() / DIFFS.std(ddof=1)
    assert stats.effect_size(DIFFS) == pytest.approx(d)
    n = DIFFS.size
    assert stats.effect_size(DIFFS, hedges=True) == pytest.approx(d * (1 - 3 / (4 * (n - 1) - 1)))
    res = stats.paired(DIFFS)
    assert res.n == n and res.mean == pytest.approx(DIFFS.mean()) and res.d == pytest.approx(d)
    zero = stats.paired(np.zeros(4))
    assert (zero.t_low, zero.t_high, zero.p) == (0.0, 0.0, 1.0) and np.isnan(zero.d)


P = np.array([0.01, 0.04, 0.03, 0.005, np.nan, 0.2])


def test_holm_and_bh_by_hand():
    # finite p sorted: 0.005, 0.01, 0.03, 0.04, 0.2 (m = 5)
    holm = {0.005: 0.025, 0.01: 0.04, 0.03: 0.09, 0.04: 0.09, 0.2: 0.2}
    bh = {0.005: 0.025, 0.01: 0.025, 0.03: 0.05, 0.04: 0.05, 0.2: 0.2}
    got_h, got_b = stats.holm(P), stats.benjamini_hochberg(P)
    for i, p in enumerate(P):
        if np.isnan(p):
            assert np.isnan(got_h[i]) and np.isnan(got_b[i])
        else:
            assert got_h[i] == pytest.approx(holm[p]) and got_b[i] == pytest.approx(bh[p])


def test_holm_and_bh_match_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.concatenate([RNG.uniform(0, 0.06, 15), RNG.uniform(0, 1, 15)])
    for method, ours in (("holm", stats.holm), ("fdr_bh", stats.benjamini_hochberg)):
        ref = multitest.multipletests(p, method=method)[1]
        assert ours(p) == pytest.approx(ref, rel=1e-12)


def test_fraction_removed_and_interaction():
    n = 10
    control = RNG.normal(1.0, 0.1, n)
    full = control + 2.0 + RNG.normal(0, 0.1, n)
    blocked = full - 0.6 * (full - control)  # removes exactly 60 % per replicate
    frac = stats.fraction_removed(full, blocked, control, seed=0)
    assert frac.estimate == pytest.approx(0.6) and frac.low == pytest.approx(0.6) and frac.high == pytest.approx(0.6)
    noisy = blocked + RNG.normal(0, 0.3, n)
    frac = stats.fraction_removed(full, noisy, control, seed=0)
    assert frac.low < frac.estimate < frac.high
    assert frac.estimate == pytest.approx((full - noisy).mean() / (full - control).mean())
    a, b = full - 0.5, full - 0.3
    additive = stats.interaction(full, a, b, full - 0.8)
    assert additive == pytest.approx(np.zeros(n), abs=1e-12)
    assert stats.interaction(full, a, b, full - 1.0) == pytest.approx(np.full(n, -0.2))


def test_adjust_rejects_unknown():
    with pytest.raises(ValueError, match="unknown correction"):
        stats.adjust(P, "bonferroni-ish")


# --------------------------------------------------------------------------- spec and design
def test_outcomes_parse_and_reject():
    assert parse_outcome("ratio_day30") == ("blood_treg_th17_ratio", "day", 30.0)
    assert parse_outcome("th17_pct_auc") == ("blood_th17_pct_cd4", "auc", None)
    assert parse_outcome("autoantibody_duration_above_baseline")[1] == "duration_above_baseline"
    with pytest.raises(ValueError, match="outcome"):
        HypothesisSpec.model_validate({"factors": {"x": {"blockade": "ido_inhibitor"}}, "outcomes": ["ratio_d30"]})
    with pytest.raises(ValueError, match="unknown blockade"):
        HypothesisSpec.model_validate({"factors": {"x": {"blockade": "ido"}}})


def test_factorial_design_and_scenario_level_points():
    spec = HypothesisSpec.model_validate({"design": "factorial", "factors": {
        "ido": {"blockade": "ido_inhibitor"}, "cox2": {"blockade": "cox2_inhibitor"},
        "light": {"key": "patient.body_weight_kg", "levels": [30]}}})
    design = expand(spec, {})
    names = [c.name for c in design.cells]
    assert names[:3] == ["ido", "cox2", "light"] and "ido__cox2" in names and len(names) == 7
    assert design.points == [{}, {"patient.body_weight_kg": 30}]
    assert set(design.scenario["arms"]) == {"untreated", "msc", "ido", "cox2", "ido__cox2"}
    both = design.scenario["arms"]["ido__cox2"]["blockades"]
    assert both["ido_inhibitor"] is True and both["cox2_inhibitor"] is True
    light = design.cell("light")
    assert (light.point, light.arm) == (1, "msc")
    with pytest.raises(ConfigError, match="reference arm 'full'"):
        expand(spec.model_copy(update={"reference": "full"}), {})


# --------------------------------------------------------------------------- end to end
TINY = {
    "name": "tiny-hypothesis",
    "overrides": {"tissue": {"width_voxels": 20, "height_voxels": 20}, "simulation": {"burn_in_days": 4, "days": 10}},
    "factors": {
        "no_msc": {"key": "control", "levels": ["untreated"]},
        "noop": {"key": "product.passage", "levels": [4]},  # the default value: changes nothing
        # a scenario-level factor (its own sweep point, paired by seed) at the default value: changes nothing
        "noop_scenario": {"key": "biology.tcells.treg_half_life_days", "levels": [8.5]},
        "ido": {"blockade": "ido_inhibitor"},
    },
    "outcomes": ["ratio_day7", "ratio_auc", "th17_pct_day7"],
    "findings": ["LIU11-TH17-7", "LIU11-TH17-30"],
    "replicates": 3, "root_seed": 5, "n_boot": 1000, "backend": {"kind": "serial"},
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from abm.experiments.hypothesis import run_hypothesis

    root = tmp_path_factory.mktemp("hyp")
    spec = root / "spec.yaml"
    spec.write_text(yaml.safe_dump(TINY))
    return spec, root / "out", run_hypothesis(spec, root / "out")


def test_end_to_end_no_msc_removes_everything_noop_nothing(tiny_run):
    _, out, frame = tiny_run
    eff = frame[frame["kind"] == "effect"].set_index(["contrast", "outcome"])
    gain = frame[(frame["kind"] == "gain") & (frame["outcome"] == "ratio_day7")].iloc[0]
    assert gain["t_low"] > 0  # the MSC gain exists at this scale
    for outcome in TINY["outcomes"]:
        full = eff.loc[("no_msc", outcome)]
        assert full["frac_removed"] == pytest.approx(1.0, abs=0.05)
        assert full["frac_low"] <= 1.0 <= full["frac_high"]
        noop = eff.loc[("noop", outcome)]
        assert noop["frac_removed"] == pytest.approx(0.0, abs=0.05)
        assert noop["frac_low"] <= 0.0 <= noop["frac_high"] and noop["t_low"] <= 0 <= noop["t_high"]
        assert not noop["significant"]
        same = eff.loc[("noop_scenario", outcome)]  # another sweep point, same seeds: exactly the reference
        assert same["diff_mean"] == 0.0 and same["frac_removed"] == 0.0
    assert (eff["n"] == 3).all()
    for name in ("hypothesis.csv", "hypothesis.md", "forest.png", "trajectories.png", "scenario.yaml", "batch.yaml"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    text = (out / "hypothesis.md").read_text()
    assert "Giving no MSC (untreated) removes 100 % [100–100 %] of the day-7 blood Treg/Th17 ratio gain" in text
    assert "Blocking IDO" in text


def test_a_scenario_level_cell_gets_its_gain_in_its_own_patient(tiny_run):
    """own_gain = (cell - its own point's control) - (full - control): 0 for the no-op scenario change, and the
    only scenario-level cells that get one."""
    _, out, frame = tiny_run
    own = frame[frame["kind"] == "own_gain"]
    assert set(own["contrast"]) == {"noop_scenario (own patient)"}
    assert (own["diff_mean"] == 0.0).all() and (own["own_control_mean"] == own["control_mean"]).all()
    assert "in its own burned-in patient, does not detectably change" in (out / "hypothesis.md").read_text()


def test_every_cell_is_scored_as_a_trial_against_the_findings(tiny_run):
    """Each cell is a two-arm trial against its own point's control: the no-op cells score exactly as the
    reference, a cell giving no MSC has no treated arm to score, a day-30 row is past the 10-day run."""
    _, out, _ = tiny_run
    verdicts = pd.read_csv(out / "findings.csv")
    summary = pd.read_csv(out / "findings_summary.csv").set_index("cell")
    assert summary.index[0] == "full" and set(summary.index) == {"full", "no_msc", "noop", "noop_scenario", "ido"}
    rows = verdicts.set_index(["cell", "finding_id"])
    for same in ("noop", "noop_scenario"):
        assert rows.loc[(same, "LIU11-TH17-7"), "effect_mean"] == rows.loc[("full", "LIU11-TH17-7"), "effect_mean"]
        assert summary.loc[same, "distance"] == summary.loc["full", "distance"]
    assert rows.loc[("no_msc", "LIU11-TH17-7"), "verdict"] == "not comparable"
    assert "no arm that gives MSC" in rows.loc[("no_msc", "LIU11-TH17-7"), "reason"]
    assert (verdicts[verdicts["finding_id"] == "LIU11-TH17-30"]["verdict"] == "not comparable").all()
    assert (summary["holds"] + summary["fails"] + summary["not_comparable"] == 2).all()
    assert sorted(summary["rank"]) == [1, 2, 3, 4, 5]
    assert "## Which cell the reported findings prefer" in (out / "hypothesis.md").read_text()


def test_an_unknown_finding_id_is_refused_before_anything_runs(tmp_path):
    from abm.experiments.hypothesis import run_hypothesis

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**TINY, "findings": ["LIU11-TH17-7", "NOPE-1"]}))
    with pytest.raises(ConfigError, match="findings: ids not in the shared findings file: NOPE-1"):
        run_hypothesis(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_end_to_end_resume_and_reanalyse(tiny_run):
    from abm.experiments.hypothesis import analyse, run_hypothesis

    spec, out, frame = tiny_run
    with pytest.raises(ConfigError, match="--resume"):
        run_hypothesis(spec, out)
    again = run_hypothesis(spec, out, resume=True)  # nothing left to run: same numbers
    assert again.drop(columns=["p_adj"]).equals(frame.drop(columns=["p_adj"]))
    assert analyse(out / "batch", spec)["diff_mean"].to_list() == frame["diff_mean"].to_list()


def test_a_refused_resume_with_another_spec_leaves_the_directory_unchanged(tiny_run, tmp_path):
    """A resume with a different design is refused before any file of the directory is rewritten."""
    from abm.experiments.hypothesis import run_hypothesis

    _, out, _ = tiny_run
    before = {p: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**TINY, "factors": {"ido": {"blockade": "ido_inhibitor"}}}))
    with pytest.raises(ConfigError, match="holds a different hypothesis run"):
        run_hypothesis(other, out, resume=True)
    assert {p: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()} == before


def test_an_unrelated_non_empty_directory_is_refused(tmp_path):
    from abm.experiments.hypothesis import run_hypothesis

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my own work")
    with pytest.raises(ConfigError, match="exists and is not empty"):
        run_hypothesis(spec, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_an_outcome_after_the_end_of_the_run_is_refused_before_anything_runs(tmp_path):
    from abm.experiments.hypothesis import run_hypothesis

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**TINY, "outcomes": ["ratio_day400"]}))
    with pytest.raises(ConfigError, match=r"ratio_day400 asks for day 400, after the end of the run"):
        run_hypothesis(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


SHIPPED = sorted((Path(__file__).resolve().parents[2] / "configs" / "hypotheses").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_hypothesis_spec_validates_and_expands(path):
    from abm.experiments.hypothesis.spec import load_spec

    spec, base = load_spec(path)
    design = expand(spec, base)
    assert design.cells and set(design.scenario["findings"]) <= {f.finding_id for f in load_findings()}
