"""abm calibrate: ABC-SMC recovers a known parameter from the model's own output on a tiny config."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

pytest.importorskip("pyabc")

from abm.config.load import ConfigError, load  # noqa: E402
from abm.experiments.calibrate.model import direction_cost  # noqa: E402
from abm.experiments.calibrate.pipeline import run_calibration  # noqa: E402

TRUTH = 0.4  # disease.systemic_il6; prior uniform [0, 2] (plausible range), prior median 1.0


def _tiny_spec(tmp_path, name: str, **over) -> object:
    spec = {
        "name": name,
        "overrides": {"disease": {"preset": "sle"}, "tissue": {"width_voxels": 12, "height_voxels": 12},
                      "simulation": {"burn_in_days": 1, "days": 1},
                      "arms": {"untreated": {"control": "untreated"}}},
        "parameters": ["disease.systemic_il6"],
        "data": {"findings": ["BASE-SLE-TH17"], "synthetic": {"disease.systemic_il6": TRUTH}},
        "population_size": 8, "generations": 2, "sampler": {"kind": "single"}, "seed": 11, "predictive_draws": 0,
    }
    spec.update(over)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _all_generations(directory) -> pd.DataFrame:
    return pd.read_csv(directory / "posterior_all_generations.csv")


def test_hinge_distance():
    assert direction_cost(-20.0, "decrease") == 0.0
    assert direction_cost(20.0, "decrease") > 0.0
    assert direction_cost(1.0, "no_change") == 0.0


def test_recovers_systemic_il6(tmp_path):
    path = _tiny_spec(tmp_path, "test-synthetic", population_size=30, generations=3, seed=3, predictive_draws=2,
                      overrides={"disease": {"preset": "sle"}, "tissue": {"width_voxels": 16, "height_voxels": 16},
                                 "simulation": {"burn_in_days": 3, "days": 1},
                                 "arms": {"untreated": {"control": "untreated"}}})
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


@pytest.mark.slow
def test_same_seed_same_posterior_on_every_sampler(tmp_path):
    """Single core, a process pool and a Dask LocalCluster give identical particles and weights."""
    single = run_calibration(_tiny_spec(tmp_path, "single"), tmp_path / "single")
    multi = run_calibration(_tiny_spec(tmp_path, "multi", sampler={"kind": "multicore", "workers": 2}),
                            tmp_path / "multi")
    dask = run_calibration(_tiny_spec(tmp_path, "dask", sampler={"kind": "dask", "workers": 2}), tmp_path / "dask")
    reference = _all_generations(single.directory)
    assert sorted(reference["generation"].unique()) == [0, 1]
    pd.testing.assert_frame_equal(_all_generations(multi.directory), reference)
    pd.testing.assert_frame_equal(_all_generations(dask.directory), reference)
    other_seed = run_calibration(_tiny_spec(tmp_path, "other", seed=12), tmp_path / "other")
    assert not _all_generations(other_seed.directory).equals(reference)


def test_resume_continues_to_the_same_posterior(tmp_path):
    """Stopping after one generation and resuming to two equals running two generations at once."""
    straight = run_calibration(_tiny_spec(tmp_path, "straight"), tmp_path / "straight")
    out = tmp_path / "resumed"
    run_calibration(_tiny_spec(tmp_path, "first", generations=1), out)
    with pytest.raises(ConfigError, match="--resume"):
        run_calibration(_tiny_spec(tmp_path, "again"), out)
    resumed = run_calibration(_tiny_spec(tmp_path, "rest"), out, resume=True)
    pd.testing.assert_frame_equal(_all_generations(resumed.directory), _all_generations(straight.directory))
    post = pd.read_csv(resumed.directory / "posterior.csv")
    assert len(post) == 8 and post["weight"].sum() == pytest.approx(1.0)


def test_resume_refuses_a_different_calibration(tmp_path):
    """--resume with other parameters (or bounds, or data) is refused before anything is written."""
    out = tmp_path / "c"
    run_calibration(_tiny_spec(tmp_path, "a", generations=1), out)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    others = {"bounds": {"parameters": [{"key": "disease.systemic_il6", "bounds": [0.0, 1.0]}]},
              "key": {"parameters": ["disease.antigen_drive"]},
              "data": {"data": {"findings": ["BASE-SLE-TH17"], "synthetic": {"disease.systemic_il6": 0.9}}}}
    for label, over in others.items():
        with pytest.raises(ConfigError, match="holds a different calibration"):
            run_calibration(_tiny_spec(tmp_path, f"b-{label}", **over), out, resume=True)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_resume_refuses_a_directory_without_its_record(tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    (out / "abc.db").write_text("")
    with pytest.raises(ConfigError, match="no record"):
        run_calibration(_tiny_spec(tmp_path, "a"), out, resume=True)


@pytest.mark.parametrize("name", ["sle_trial", "sle_persistence", "synthetic_il6_small"])
def test_shipped_specs_resolve(name):
    """Every shipped calibration spec loads, has priors inside the parameter table and gives statistics."""
    from pathlib import Path

    from abm.experiments.calibrate.model import load_for_spec, resolve_priors, statistics
    from abm.experiments.calibrate.spec import load_calibration_spec

    path = Path(__file__).resolve().parents[2] / "configs" / "calibration" / f"{name}.yaml"
    spec, base = load_calibration_spec(path)
    priors = resolve_priors(spec, base)
    assert all(p.low < p.high for p in priors)
    findings, scenario, _ = load_for_spec(spec, path.parent, base)
    stats, skipped = statistics(findings, scenario)
    assert stats and not skipped


@pytest.mark.parametrize("name", ["sle_trial", "sle_persistence"])
def test_shipped_posterior_overlays_load_within_the_priors(name):
    """The shipped posterior medians load as overlays of the default trial and lie inside their priors."""
    from pathlib import Path

    from abm.config.table import rows

    root = Path(__file__).resolve().parents[2]
    overlay = root / "configs" / "calibration" / "posteriors" / f"{name}.yaml"
    scenario = load(root / "configs" / "default_trial.yaml", overlays=[overlay])
    table = {r["key"]: r for r in rows(scenario.biology)}
    values = yaml.safe_load(overlay.read_text())["biology"]
    for section, keys in values.items():
        for key, value in keys.items():
            low, high = (float(v) for v in table[f"{section}.{key}"]["plausible"])
            assert getattr(getattr(scenario.biology, section), key) == value and low <= value <= high


@pytest.mark.parametrize("content", [None, "", "finding_id\nX\n"])
def test_a_missing_or_columnless_findings_file_is_a_clear_error(tmp_path, content):
    findings = tmp_path / "findings.csv"
    if content is not None:
        findings.write_text(content)
    out = tmp_path / "c"
    with pytest.raises(ConfigError, match="findings"):
        run_calibration(_tiny_spec(tmp_path, "f", findings_file=str(findings)), out)
    assert not out.exists()


def test_held_out_rows_are_scored_as_validation_never_fit(tmp_path):
    path = _tiny_spec(tmp_path, "test-split", predictive_draws=2, population_size=6, generations=1,
                      data={"findings": ["BASE-SLE-TH17"], "validation": ["SEED-SLE-TREG"]},
                      overrides={"disease": {"preset": "sle"}, "tissue": {"width_voxels": 12, "height_voxels": 12},
                                 "simulation": {"burn_in_days": 2, "days": 1},
                                 "arms": {"untreated": {"control": "untreated"}}})
    res = run_calibration(path, tmp_path / "out")
    roles = dict(zip(res.predictive["finding_id"], res.predictive["role"], strict=False))
    assert roles["BASE-SLE-TH17"] == "fit" and roles["SEED-SLE-TREG"] == "validate"
    report = (res.directory / "report.md").read_text()
    assert "Fit on: BASE-SLE-TH17. Held out (validate): SEED-SLE-TREG." in report


@pytest.mark.parametrize(("data", "needle"), [
    ({"findings": ["BASE-SLE-TH17"], "validation": ["BASE-SLE-TH17"]}, "also in data.findings"),
    ({"findings": ["BASE-SLE-TH17"], "validation": ["NO-SUCH-ROW"]}, "data.validation: ids not in the findings file"),
    ({"findings": ["LIU11-TH17-7", "LIU11-TH17-30"], "one_treated_per_study": True},
     "one treated time point per study"),
])
def test_a_bad_split_is_refused_by_key(tmp_path, data, needle):
    path = _tiny_spec(tmp_path, "test-bad-split", data=data)
    with pytest.raises((ConfigError, ValueError), match=needle):
        run_calibration(path, tmp_path / "out")
