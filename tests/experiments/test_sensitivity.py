"""Sensitivity analysis: SALib Morris/Sobol through the spec -> samples -> points -> evaluation -> analysis path.

The Ishigami tests run the same pipeline as the model (spec file, problem, SALib sample, explicit
points, per-point evaluation, analysis in sample order, convergence, files); only the evaluation of
a point differs (a registered function instead of a batch run).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("SALib")

from abm.config import ConfigError, Scenario  # noqa: E402
from abm.config.table import rows  # noqa: E402
from abm.experiments.sensitivity import ishigami_indices, load_sensitivity_spec, resolve_problem, run_sensitivity  # noqa: E402
from abm.experiments.sensitivity.problem import first_blocks, points, sample  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = {"tissue": {"width_voxels": 16, "height_voxels": 16}, "simulation": {"burn_in_days": 2, "days": 4}}


def write(path: Path, **spec) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def ishigami_spec(path: Path, method: str, n: int, seed: int = 1) -> Path:
    return write(path, name=f"ishigami-{method}", method=method, function="ishigami",
                 parameters=["x1", "x2", "x3"], n=n, outputs=[{"stat": "y"}], seed=seed)


def test_sobol_recovers_the_ishigami_indices(tmp_path):
    result = run_sensitivity(ishigami_spec(tmp_path / "s.yaml", "sobol", 2048), tmp_path / "out")
    truth = ishigami_indices()
    assert truth["S1"]["x1"] == pytest.approx(0.314, abs=1e-3) and truth["ST"]["x3"] == pytest.approx(0.244, abs=1e-3)
    got = result.indices.set_index("parameter")
    for p in ("x1", "x2", "x3"):
        assert got.loc[p, "S1"] == pytest.approx(truth["S1"][p], abs=0.03), p
        assert got.loc[p, "ST"] == pytest.approx(truth["ST"][p], abs=0.03), p
        assert abs(got.loc[p, "S1"] - truth["S1"][p]) <= got.loc[p, "S1_conf"] + 0.01
        assert abs(got.loc[p, "ST"] - truth["ST"][p]) <= got.loc[p, "ST_conf"] + 0.01
    assert result.convergence["within"].all()
    for name in ("indices.csv", "indices.md", "indices.png", "convergence.csv", "samples.csv", "outputs.csv"):
        assert (tmp_path / "out" / name).is_file(), name
    assert "stable" in (tmp_path / "out" / "indices.md").read_text()
    assert len(pd.read_csv(tmp_path / "out" / "samples.csv")) == 2048 * (2 * 3 + 2)


def test_morris_ishigami_screening(tmp_path):
    result = run_sensitivity(ishigami_spec(tmp_path / "m.yaml", "morris", 50), tmp_path / "out")
    got = result.indices.set_index("parameter")
    # 4 levels {-pi, -pi/3, pi/3, pi}: every step in x2 changes a sin^2 x2 by a * 3/4 over a step of 2/3
    assert got.loc["x2", "mu_star"] == pytest.approx(7.0 * 0.75 / (2 / 3))
    assert min(got.loc["x1", "mu_star"], got.loc["x2", "mu_star"]) > got.loc["x3", "mu_star"] > 1.0
    # x3 acts only through its interaction with x1: mean effect ~0, spread largest of all
    assert abs(got.loc["x3", "mu"]) < 0.5 * got.loc["x3", "mu_star"]
    assert got.loc["x3", "sigma"] == got["sigma"].max()
    assert result.convergence is not None and (tmp_path / "out" / "indices.png").stat().st_size > 1000


def test_sobol_halves_are_complete_blocks():
    """SALib orders Saltelli rows by base sample, so the first N/2 blocks are the N/2 sample itself."""
    spec_full = _spec("sobol", 16)
    spec_half = _spec("sobol", 8)
    problem = resolve_problem(spec_full, {})
    full, half = sample(spec_full, problem), sample(spec_half, problem)
    assert full.shape == (16 * 8, 3)
    np.testing.assert_array_equal(full[first_blocks(spec_full, problem, 8)], half)
    morris_full, morris_half = sample(_spec("morris", 6), problem), sample(_spec("morris", 3), problem)
    assert morris_full.shape == (6 * 4, 3) and first_blocks(_spec("morris", 6), problem, 3) == slice(0, 12)
    assert morris_half.shape == (12, 3)


def _spec(method: str, n: int):
    from abm.experiments.sensitivity import SensitivitySpec

    return SensitivitySpec(method=method, function="ishigami", parameters=["x1", "x2", "x3"], n=n,
                           outputs=[{"stat": "y"}], seed=5)


def test_bounds_default_to_the_parameter_table(tmp_path):
    spec, base = load_sensitivity_spec(write(
        tmp_path / "s.yaml", method="morris", n=4, outputs=[{"stat": "ratio_day30", "arm": "msc"}],
        parameters=["lung.regulatory_half_life_days", {"key": "tcells.treg_half_life_days", "bounds": [6, 12]},
                    {"key": "patient.body_weight_kg", "bounds": [20, 90]}]))
    problem = resolve_problem(spec, base)
    table = {r["key"]: r for r in rows(Scenario().biology)}
    assert problem.paths == ["biology.lung.regulatory_half_life_days", "biology.tcells.treg_half_life_days",
                             "patient.body_weight_kg"]
    assert problem.bounds[0] == tuple(float(v) for v in table["lung.regulatory_half_life_days"]["plausible"])
    assert problem.bounds[1] == (6.0, 12.0)
    assert problem.defaults[0] == table["lung.regulatory_half_life_days"]["default"]
    assert problem.bounds[2] == (20.0, 90.0)


def test_integer_parameters_are_sampled_as_whole_numbers(tmp_path):
    """A grid side varied over [10, 20] becomes whole numbers covering the range; floats stay floats."""
    spec, base = load_sensitivity_spec(write(
        tmp_path / "s.yaml", method="sobol", n=8, outputs=[{"stat": "ratio_day30", "arm": "msc"}],
        parameters=[{"key": "tissue.width_voxels", "bounds": [10, 20]}, "lung.regulatory_half_life_days"]))
    problem = resolve_problem(spec, base)
    pts = points(problem, sample(spec, problem))
    sides = [p["tissue.width_voxels"] for p in pts]
    assert all(type(v) is int for v in sides) and min(sides) >= 10 and max(sides) <= 20 and len(set(sides)) > 3
    assert all(type(p["biology.lung.regulatory_half_life_days"]) is float for p in pts)


def test_missing_range_and_bad_specs_are_clear_errors(tmp_path):
    no_range = next(r["key"] for r in rows(Scenario()) if r["plausible"] is None
                    and isinstance(r["default"], float) and r["key"].startswith("disease."))
    common = {"method": "morris", "n": 4, "outputs": [{"stat": "ratio_day30", "arm": "msc"}]}
    spec, base = load_sensitivity_spec(write(tmp_path / "a.yaml", parameters=[no_range], **common))
    with pytest.raises(ConfigError, match=rf"{no_range} has no plausible range.*give bounds"):
        resolve_problem(spec, base)
    spec, base = load_sensitivity_spec(write(tmp_path / "b.yaml", parameters=["lung.regulatory_half_life_dayz"],
                                             **common))
    with pytest.raises(ConfigError, match="unknown key.*did you mean biology.lung.regulatory_half_life_days"):
        resolve_problem(spec, base)
    bad = [({"method": "sobol", "n": 12}, "power of 2"),
           ({"outputs": [{"stat": "ratio_day30"}]}, "needs an arm"),
           ({"outputs": [{"stat": "ratio_dya30", "arm": "msc"}]}, "unknown statistic"),
           ({"parameters": ["a", "a"]}, "listed twice")]
    for change, message in bad:
        data = {**common, "parameters": ["lung.regulatory_half_life_days"], **change}
        with pytest.raises(ConfigError, match=message):
            load_sensitivity_spec(write(tmp_path / "c.yaml", **data))


def test_a_point_function_plugs_into_the_same_pipeline(tmp_path):
    """Any ``evaluate(point) -> dict`` runs in place of the model; a linear function gives S_i ~ a_i^2 / sum."""
    spec = ishigami_spec(tmp_path / "s.yaml", "sobol", 512)
    seen = []

    def linear(point):
        seen.append(point)
        return {"y": 3 * point["x1"] + point["x2"]}

    result = run_sensitivity(spec, tmp_path / "out", evaluate=linear)
    got = result.indices.set_index("parameter")["S1"]
    assert got["x1"] == pytest.approx(0.9, abs=0.03) and got["x2"] == pytest.approx(0.1, abs=0.03)
    assert abs(got["x3"]) < 0.02 and len(seen) == 512 * 8 and set(seen[0]) == {"x1", "x2", "x3"}


def test_tiny_model_morris_writes_files_and_resumes(tmp_path):
    spec = write(tmp_path / "tiny.yaml", name="tiny", method="morris",
                 base=str(ROOT / "configs" / "default_trial.yaml"), overrides=TINY,
                 parameters=["tcells.treg_half_life_days", "lung.regulatory_half_life_days"], n=2,
                 outputs=[{"stat": "ratio_day3", "arm": "msc", "minus": "untreated", "name": "gain_day3"},
                          {"stat": "ratio_auc_vs_baseline", "arm": "msc"}],
                 seed=3, backend={"kind": "serial"})
    out = tmp_path / "out"
    result = run_sensitivity(spec, out)
    assert result.complete and result.n_points == 2 * 3
    for name in ("indices.csv", "indices.md", "indices.png", "batch.yaml", "sensitivity.json"):
        assert (out / name).is_file(), name
    indices = pd.read_csv(out / "indices.csv")
    assert set(indices["output"]) == {"gain_day3", "ratio_auc_vs_baseline[msc]"}
    assert np.isfinite(indices["mu_star"]).all()
    batch = json.loads((out / "batch" / "batch.json").read_text())
    assert len(batch["tasks"]) == 6 and batch["spec"]["summary_days"] == [3.0]
    # the points are the sample rows, in order
    samples = pd.read_csv(out / "samples.csv")
    first = batch["tasks"][0]["params"]
    assert first["biology.tcells.treg_half_life_days"] == pytest.approx(samples.loc[0, "tcells.treg_half_life_days"])
    with pytest.raises(ConfigError, match="pass --resume"):
        run_sensitivity(spec, out)
    runs = sorted((out / "batch" / "runs").glob("*.parquet"))
    stamp = [p.stat().st_mtime_ns for p in runs]
    again = run_sensitivity(spec, out, resume=True)
    assert [p.stat().st_mtime_ns for p in runs] == stamp  # nothing re-run
    pd.testing.assert_frame_equal(again.indices, result.indices)


def test_job_array_slices_then_analysis(tmp_path):
    spec = write(tmp_path / "tiny.yaml", name="tiny", method="morris",
                 base=str(ROOT / "configs" / "default_trial.yaml"), overrides=TINY,
                 parameters=["tcells.treg_half_life_days", "lung.regulatory_half_life_days"], n=2,
                 outputs=[{"stat": "ratio_day2", "arm": "msc", "minus": "untreated"}], seed=4,
                 backend={"kind": "serial"})
    out = tmp_path / "out"
    assert run_sensitivity(spec, out, prepare_only=True).evaluation.pending == 6
    first = run_sensitivity(spec, out, resume=True, shard=(0, 2))
    assert not first.complete and first.evaluation.pending == 3 and not (out / "indices.csv").exists()
    run_sensitivity(spec, out, resume=True, shard=(1, 2))
    assert run_sensitivity(spec, out, resume=True).complete and (out / "indices.md").is_file()


def test_cli_command_runs_a_spec(tmp_path):
    import typer
    from typer.testing import CliRunner

    from abm.cli.sensitivity import command

    app = typer.Typer()
    app.command("sensitivity")(command)
    app.command("noop")(lambda: None)  # keep typer in multi-command mode
    spec = ishigami_spec(tmp_path / "s.yaml", "sobol", 64)
    res = CliRunner().invoke(app, ["sensitivity", str(spec), "--out", str(tmp_path / "o"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "indices:" in res.output and "Convergence (32 vs 64" in res.output
    res = CliRunner().invoke(app, ["sensitivity", str(spec), "--out", str(tmp_path / "o"), "--no-progress"])
    assert res.exit_code == 2 and "--resume" in res.output


@pytest.mark.parametrize("name", ["morris_persistence.yaml", "sobol_small.yaml"])
def test_shipped_specs_plan(name):
    from abm.experiments.sensitivity import plan

    spec, base = load_sensitivity_spec(ROOT / "configs" / "sensitivity" / name)
    problem, X, points = plan(spec, base)
    assert len(points) == X.shape[0] and all(math.isfinite(v) for p in points[:5] for v in p.values())
    assert spec.function is None and spec.summary_days()


@pytest.mark.parametrize(("output", "needle"), [
    ({"stat": "ratio_day30", "arm": "msc"}, "asks for day 30, after the end of the run"),
    ({"stat": "ratio_day3", "arm": "mcs"}, "arm 'mcs' is not an arm of the base scenario"),
    ({"stat": "ratio_day3", "arm": "msc", "minus": "control"}, "minus 'control' is not an arm"),
])
def test_outputs_are_checked_before_anything_runs(tmp_path, output, needle):
    spec = write(tmp_path / "tiny.yaml", name="tiny", method="morris",
                 base=str(ROOT / "configs" / "default_trial.yaml"), overrides=TINY,
                 parameters=["tcells.treg_half_life_days"], n=2, outputs=[output], seed=3,
                 backend={"kind": "serial"})
    with pytest.raises(ConfigError, match=needle):
        run_sensitivity(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()
