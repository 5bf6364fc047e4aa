"""Virtual cohorts: spec validation, patient sampling, the trial read-outs on known inputs, and real runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from abm.cli import app
from abm.config import ConfigError
from abm.experiments.cohort import analyse as an
from abm.experiments.cohort import patients as pt
from abm.experiments.cohort.pipeline import run_cohort
from abm.experiments.cohort.spec import CohortSpec, load_cohort_spec

BASE = """\
name: tiny-sle
seed: 5
disease: {preset: sle}
tissue: {width_voxels: 24, height_voxels: 24}
simulation: {burn_in_days: 4, days: 30, dt_h: 2}
arms:
  msc:
    product: {source: umbilical_cord, donor: allogeneic}
    dose: {cells_per_kg: 1.0e6}
    route: iv
    schedule: {days: [0]}
  untreated:
    control: untreated
"""
SPEC = """\
name: tiny-cohort
base: base.yaml
patients: 5
seed: 3
replicates: 2
priors:
  disease.antigen_drive: {distribution: lognormal, median: 0.7, sd_log: 0.3, source: "assumption: test"}
  patient.host_cytotoxicity: {distribution: loguniform, low: 0.25, high: 4, source: "Galleu 2017"}
inclusion:
  - {column: sledai2k_expected, min: 0.0}
readout: {days: [14, 30], trial_sizes: [4], bootstrap: 200, power_resamples: 100}
backend: {kind: serial}
"""


def write_spec(tmp: Path, text: str = SPEC, **replace: str) -> Path:
    (tmp / "base.yaml").write_text(BASE)
    for old, new in replace.items():
        text = text.replace(old, new)
    (tmp / "cohort.yaml").write_text(textwrap.dedent(text))
    return tmp / "cohort.yaml"


# --------------------------------------------------------------------------- the request
@pytest.mark.parametrize(("old", "new", "message"), [
    ("sd_log: 0.3, ", "", "lognormal prior needs sd_log"),
    ("disease.antigen_drive", "disease.antigen_driv", "unknown key"),
    ("sledai2k_expected, min", "nonsense, min", "allowed:"),
    ("days: [14, 30]", "days: [14, 60]", "after the follow-up"),
    ("patient.host_cytotoxicity", "patient.trait_seed", "set by the cohort"),
])
def test_bad_requests_are_named_before_anything_is_written(tmp_path, old, new, message):
    spec = write_spec(tmp_path, SPEC.replace(old, new))
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=message):
        run_cohort(spec, out)
    assert not out.exists()


def test_cli_refuses_a_bad_spec_with_exit_2(tmp_path):
    spec = write_spec(tmp_path, SPEC.replace("treated_arm", "x").replace("patients: 5", "patients: 1"))
    result = CliRunner().invoke(app, ["cohort", str(spec), "--out", str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 2 and "patients" in result.output
    assert not (tmp_path / "out").exists()


def test_posterior_draws_must_be_treatment_only(tmp_path):
    spec = write_spec(tmp_path, SPEC + "posterior: {file: post.csv, draws: 2}\n")
    pd.DataFrame({"disease.il6_tone": [0.1, 0.2], "weight": [1, 1]}).to_csv(tmp_path / "post.csv", index=False)
    with pytest.raises(ConfigError, match="read by the burn-in"):
        run_cohort(spec, tmp_path / "out")


# --------------------------------------------------------------------------- patients
def _spec(n: int = 50, **priors) -> CohortSpec:
    return CohortSpec.model_validate({"base": "x.yaml", "patients": n, "seed": 1, "priors": priors or {
        "disease.treg_function": {"distribution": "uniform", "low": 0.5, "high": 0.9, "source": "assumption: t"}}})


def test_latin_hypercube_puts_one_patient_in_each_stratum_and_is_reproducible():
    spec = _spec(50)
    a, b = pt.sample(spec), pt.sample(spec)
    pd.testing.assert_frame_equal(a, b)
    strata = np.floor(50 * (a["disease.treg_function"] - 0.5) / 0.4).astype(int)
    assert sorted(strata) == list(range(50))
    assert a["trait_seed"].nunique() == 50


def test_lognormal_prior_has_its_median_and_is_clipped():
    spec = _spec(2001, **{"disease.antigen_drive": {"distribution": "lognormal", "median": 0.7, "sd_log": 0.5,
                                                    "high": 1.5, "source": "assumption: t"}})
    x = pt.sample(spec)["disease.antigen_drive"]
    assert abs(np.median(x) - 0.7) < 0.01 and x.max() <= 1.5


def test_selection_recovers_a_target_baseline_distribution_from_a_broad_sample():
    from scipy import stats

    from abm.experiments.cohort import select

    rng = np.random.default_rng(4)
    plausible = rng.uniform(0, 30, 6000)  # baselines of plausible patients: broad and flat
    kept = plausible[select.select(plausible, 12.2, 3.3, rng)]
    assert len(kept) > 500
    assert abs(kept.mean() - 12.2) < 0.4 and abs(kept.std() - 3.3) < 0.4
    assert stats.kstest(kept, stats.norm(12.2, 3.3).cdf).pvalue > 0.01
    with pytest.raises(ValueError, match="at least 3 distinct"):
        select.select(np.ones(10), 1.0, 1.0, rng)


# --------------------------------------------------------------------------- read-outs on known inputs
def _courses(responded: np.ndarray, arm: str = "msc") -> pd.DataFrame:
    n = len(responded)
    return pd.DataFrame({"patient": np.arange(n), "draw": 0, "replicate": 0, "arm": arm, "responded": responded,
                         "response_day": np.where(responded, 30.0, np.nan), "remission": False,
                         "remission_day": np.nan, "relapsed": False, "relapse_day": np.nan,
                         "benefit_days": np.where(responded, 150.0, np.nan)})


def test_responders_emerge_from_the_parameter_that_matters_by_construction():
    rng = np.random.default_rng(0)
    n = 80
    patients = pd.DataFrame({"patient": np.arange(n), "matters": rng.normal(size=n), "noise": rng.normal(size=n),
                             "noise2": rng.normal(size=n)})
    responded = (patients["matters"] + 0.3 * rng.normal(size=n) > 0).to_numpy()
    out = an.responders(_courses(responded), patients, "msc", ["noise", "matters", "noise2"], 90.0)
    assert out.iloc[0]["parameter"] == "matters" and out.iloc[0]["auc"] > 0.85
    assert out.iloc[0]["p_holm"] < 0.001 and out.iloc[0]["logit_coef_per_sd"] > 1


def test_response_rate_and_its_bootstrap_interval():
    responded = np.arange(100) < 30
    rates = an.rates(_courses(responded), [90.0], 500, np.random.default_rng(1))
    row = rates[rates["event"] == "response"].iloc[0]
    assert row["rate"] == 0.3 and row["ci_low"] < 0.3 < row["ci_high"] and row["ci_high"] - row["ci_low"] < 0.25
    assert rates[rates["event"] == "response"].iloc[0]["patients"] == 100


def test_kaplan_meier_relapse_free_by_hand():
    c = _courses(np.ones(4, bool))
    c["benefit_days"] = [30.0, 60.0, 90.0, 120.0]
    c["relapsed"] = [True, False, True, False]
    km = an.relapse_free(c, "msc").set_index("days_since_response")["survival"]
    assert km[0.0] == 1 and km[30.0] == 0.75 and km[60.0] == 0.75 and km[90.0] == pytest.approx(0.375)


def _visits(effect_by_patient: np.ndarray, seeds: int, seed_sd: float) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = []
    for p, e in enumerate(effect_by_patient):
        for r in range(seeds):
            for arm, shift in (("msc", e + seed_sd * rng.normal()), ("untreated", 0.0)):
                rows += [{"patient": p, "draw": 0, "replicate": r, "arm": arm, "day": 0.0, "value": 10.0},
                         {"patient": p, "draw": 0, "replicate": r, "arm": arm, "day": 90.0, "value": 10.0 + shift}]
    return pd.DataFrame(rows)


def test_patient_and_seed_variation_are_reported_apart():
    v = an.variation(_visits(np.linspace(-4, 0, 20), seeds=3, seed_sd=0.0), "msc", "untreated", 90.0)
    by = v.set_index("source")
    assert by.loc["patient", "sd"] == pytest.approx(np.linspace(-4, 0, 20).std(ddof=1))
    assert by.loc["seed", "sd"] == 0 and np.isnan(by.loc["posterior draw", "sd"])
    v = an.variation(_visits(np.full(20, -2.0), seeds=3, seed_sd=1.0), "msc", "untreated", 90.0).set_index("source")
    assert 0.7 < v.loc["seed", "sd"] < 1.3 and v.loc["patient", "sd"] < v.loc["seed", "sd"]


def test_power_is_high_for_a_large_fall_and_near_alpha_for_none():
    rng = np.random.default_rng(3)
    falls = an.power(_visits(np.full(30, -4.0), 1, 1.0), "msc", [90.0], [10], 0.05, 300, rng)
    flat = an.power(_visits(np.zeros(200), 1, 1.0), "msc", [90.0], [10], 0.05, 400, rng)
    assert falls["power"].iloc[0] > 0.99 and flat["power"].iloc[0] < 0.15


# --------------------------------------------------------------------------- real runs
def test_a_tiny_cohort_runs_reports_and_resumes_identically(tmp_path):
    spec = write_spec(tmp_path)
    r = run_cohort(spec, tmp_path / "out")
    assert r.stage == "done" and r.screened == 5 and r.included == 5
    for name in ("patients", "courses", "rates", "index", "relapse_free", "power", "responders", "variation"):
        assert (tmp_path / "out" / f"{name}.csv").is_file(), name
    report = (tmp_path / "out" / "report.md").read_text()
    assert "model surrogate" in report
    courses = pd.read_csv(tmp_path / "out" / "courses.csv")
    assert len(courses) == 5 * 2 * 2  # patients x replicates x arms
    again = run_cohort(spec, tmp_path / "out", resume=True)
    pd.testing.assert_frame_equal(r.tables["courses"], again.tables["courses"])
    v = r.tables["variation"].set_index("source")
    assert v.loc["seed", "levels"].max() == 2 and v.loc["patient", "levels"].max() == 5


def test_baseline_selection_runs_in_the_pipeline(tmp_path):
    spec = write_spec(tmp_path, SPEC.replace("patients: 5", "patients: 8") + textwrap.dedent("""\
        baseline: {column: activity_index, mean: 0.3, sd: 0.05, source: "synthetic"}
        """))
    r = run_cohort(spec, tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "patients.csv")
    assert "screen_activity_index" in table.columns and r.included == int(table["included"].sum()) >= 1
    assert "Allen 2016" in (tmp_path / "out" / "report.md").read_text()


def test_inclusion_screens_patients_out_before_their_arms_run(tmp_path):
    spec = write_spec(tmp_path, SPEC.replace("min: 0.0}", "min: 0.0, max: 0.0}"))
    with pytest.raises(ConfigError, match="no patient of 5 passes"):
        run_cohort(spec, tmp_path / "out")
    assert not (tmp_path / "out" / "arms").exists()
    assert len(pd.read_csv(tmp_path / "out" / "patients.csv")) == 5


@pytest.mark.slow
def test_sharded_cohort_with_posterior_draws_equals_the_straight_run(tmp_path):
    extra = "posterior: {file: post.csv, draws: 2}\n"
    spec = write_spec(tmp_path, SPEC.replace("replicates: 2", "replicates: 1").replace("patients: 5", "patients: 3")
                      + extra)
    pd.DataFrame({"biology.lung.regulatory_half_life_days": [20.0, 140.0], "weight": [1, 1]}).to_csv(
        tmp_path / "post.csv", index=False)
    straight = run_cohort(spec, tmp_path / "straight")
    for _stage in range(2):  # screening shards, then arm shards
        for i in range(2):
            run_cohort(spec, tmp_path / "sharded", shard=(i, 2))
    sharded = run_cohort(spec, tmp_path / "sharded", resume=True)
    assert sharded.stage == "done"
    pd.testing.assert_frame_equal(straight.tables["courses"], sharded.tables["courses"])
    v = straight.tables["variation"].set_index("source")
    assert v.loc["posterior draw", "levels"].max() == 2
    assert load_cohort_spec(spec)[0].posterior.draws == 2


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[2] / "configs" / "cohorts").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_cohort_specs_validate_and_sample(path):
    from abm.experiments.cohort.pipeline import validate

    spec, base = load_cohort_spec(path)
    integer, index = validate(spec, base)
    table = pt.sample(spec, integer)
    assert len(table) == spec.patients >= 200 and index in ("sledai2k", "das28_crp")
    assert all(p.source for p in spec.priors.values())
