"""Batch layer (abm.experiments.batch): spec validation, expansion, seeds, shards, run files, resume, summary.

Everything here runs in this process on the serial backend with tiny scenarios (16x16 tissue,
2-day burn-in, 4-day arms), so a run takes a fraction of a second.  The process-pool and Dask
backends are in test_batch_backends.py, the command line in test_batch_cli.py.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.config import ConfigError
from abm.experiments.batch import execute
from abm.experiments.batch.execute import BURNIN, RUNS, run_task
from abm.experiments.batch.plan import (
    RunTask,
    expand,
    nested,
    parameter_points,
    replicate_seeds,
    sample_points,
    shard,
    spec_fingerprint,
)
from abm.experiments.batch.runner import BATCH_FILE, prepare, run_batch, status, tasks_of
from abm.experiments.batch.spec import BatchSpec, Sample, load_spec
from abm.experiments.batch.summary import (
    SUMMARY_FILE,
    arm_statistics,
    load_trajectories,
    run_files,
    summarise,
    write_summary,
)

REPO = Path(__file__).resolve().parents[2]
DOSE = "arms.msc.dose.cells_per_kg"
TINY: dict[str, Any] = {
    "tissue": {"width_voxels": 16, "height_voxels": 16},
    "simulation": {"burn_in_days": 2, "days": 4},
}


def write_spec(path: Path, **fields: Any) -> Path:
    """A tiny batch spec (serial backend) with ``fields`` replacing the defaults."""
    data: dict[str, Any] = {"name": "tiny", "overrides": TINY, "summary_days": [1, 3],
                            "root_seed": 11, "backend": {"kind": "serial"}}
    data.update(fields)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def spec_of(**fields: Any) -> BatchSpec:
    return BatchSpec.model_validate(fields)


def plan(path: Path) -> list[RunTask]:
    spec, base = load_spec(path)
    return expand(spec, base)


def without_wall(frame: pd.DataFrame) -> pd.DataFrame:
    """A summary without its wall times (the only column that may differ between two executions)."""
    return frame.drop(columns=["wall_seconds"])


# --------------------------------------------------------------------------- spec validation
def _spec_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    msg = str(info.value)
    assert str(path) in msg and "invalid batch spec" in msg
    return msg


@pytest.mark.parametrize(("text", "needles"), [
    ("replicate: 3\n", ["replicate", "unknown key"]),
    ("sweep:\n  grd: {seed: [1]}\n", ["sweep.grd", "unknown key"]),
    ("backend: {kind: local, wrokers: 2}\n", ["backend.wrokers", "unknown key"]),
    ("sweep:\n  sample: {n: 4, bounds: {a.b: [1, 1]}, sede: 3}\n", ["sweep.sample.sede", "unknown key"]),
    ("sweep:\n  grid: {arms.msc.dose.cells_per_kg: []}\n",
     ["sweep.grid.arms.msc.dose.cells_per_kg", "at least one value"]),
    ("sweep:\n  sample: {n: 4, bounds: {patient.body_weight_kg: [60, 20]}}\n",
     ["sample.bounds.patient.body_weight_kg", "low 60.0 must be < high 20.0"]),
    ("sweep:\n  sample: {n: 4, bounds: {patient.body_weight_kg: [30, 30]}}\n",
     ["sample.bounds.patient.body_weight_kg", "must be <"]),
    ("sweep:\n  sample: {n: 4, bounds: {arms.msc.dose.cells_per_kg: [0, 1.0e6]}, "
     "log: [arms.msc.dose.cells_per_kg]}\n",
     ["sample.bounds.arms.msc.dose.cells_per_kg", "log-scale bound must be > 0"]),
    ("sweep:\n  sample: {n: 4, bounds: {patient.body_weight_kg: [20, 60]}, log: [patient.weight]}\n",
     ["sample.log", "patient.weight"]),
    ("sweep:\n  sample: {n: 4, bounds: {}}\n", ["sweep.sample", "at least one key path"]),
    ("sweep:\n  sample: {n: 0, bounds: {patient.body_weight_kg: [20, 60]}}\n", ["sweep.sample.n", "0"]),
    ("sweep:\n  sample: {n: 3, method: sobol, bounds: {patient.body_weight_kg: [20, 60]}}\n",
     ["sweep.sample.method", "'sobol'"]),
    ("replicates: 0\n", ["replicates", "0"]),
    ("root_seed: -1\n", ["root_seed", "-1"]),
    ("backend: {kind: slurm}\n", ["backend.kind", "'slurm'"]),
    ("backend: {workers: 0}\n", ["backend.workers", "0"]),
])
def test_spec_errors_name_key_and_value(tmp_path, text, needles):
    msg = _spec_error(tmp_path, text)
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_spec_not_a_mapping_and_missing_files(tmp_path):
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_spec(tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="no such file"):
        load_spec(tmp_path / "absent.yaml")
    spec = write_spec(tmp_path / "spec.yaml", base="nowhere.yaml")
    with pytest.raises(ConfigError, match="base: no such scenario .*nowhere.yaml"):
        load_spec(spec)


def test_yaml_floats_in_exponent_form_are_numbers(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(
        "name: floats\n"
        "overrides:\n"
        "  tissue: {width_voxels: 16, height_voxels: 16}\n"
        "  simulation: {burn_in_days: 2, days: 4}\n"
        "  arms:\n"
        "    msc: {dose: {cells_per_kg: 1.0e6}}\n"
        "sweep:\n"
        "  grid:\n"
        "    arms.msc.dose.cells_per_kg: [5.0e5, 1e6, 2.0E+6]\n"
        "  sample:\n"
        "    n: 2\n"
        "    bounds: {patient.body_weight_kg: [2.0e1, 6e1]}\n")
    spec, base = load_spec(path)
    assert spec.sweep.grid[DOSE] == [5e5, 1e6, 2e6]
    assert all(isinstance(v, float) for v in spec.sweep.grid[DOSE])
    assert spec.sweep.sample.bounds["patient.body_weight_kg"] == (20.0, 60.0)
    assert base["arms"]["msc"]["dose"]["cells_per_kg"] == 1e6
    tasks = expand(spec, base)
    assert len(tasks) == 6
    assert {t.config["arms"]["msc"]["dose"]["cells_per_kg"] for t in tasks} == {5e5, 1e6, 2e6}


def test_bad_key_path_in_sweep_names_point_and_key(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", sweep={"grid": {"arms.msc.doze": [1, 2]}})
    with pytest.raises(ConfigError) as info:
        plan(spec)
    msg = str(info.value)
    assert "sweep point 0" in msg and "arms.msc.doze" in msg and "unknown key" in msg


def test_bad_value_in_a_later_point_names_that_point(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml",
                      sweep={"points": [{"patient.body_weight_kg": 60}, {"patient.body_weight_kg": -5}]})
    with pytest.raises(ConfigError) as info:
        plan(spec)
    msg = str(info.value)
    assert "sweep point 1" in msg and "patient.body_weight_kg" in msg and "-5" in msg
    assert "sweep point 0" not in msg


def test_sweep_through_a_scalar_is_an_error(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", sweep={"grid": {"tissue.width_voxels.x": [3]}})
    with pytest.raises(ConfigError, match=r"sweep point 0.*\n.*tissue\.width_voxels"):
        plan(spec)


def test_bad_overrides_are_reported(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", overrides={**TINY, "tisue": {"width_voxels": 8}})
    with pytest.raises(ConfigError, match="tisue: unknown key"):
        plan(spec)


def test_base_is_relative_to_the_spec_file_and_extends_works(tmp_path):
    (tmp_path / "scen").mkdir()
    (tmp_path / "scen" / "parent.yaml").write_text(yaml.safe_dump({"patient": {"body_weight_kg": 33}, **TINY}))
    (tmp_path / "scen" / "child.yaml").write_text("extends: parent.yaml\nname: child\n")
    (tmp_path / "specs").mkdir()
    spec = write_spec(tmp_path / "specs" / "spec.yaml", base="../scen/child.yaml",
                      overrides={"disease": {"preset": "ra"}})
    tasks = plan(spec)
    cfg = tasks[0].config
    assert cfg["name"] == "child" and cfg["patient"]["body_weight_kg"] == 33
    assert cfg["disease"]["preset"] == "ra" and cfg["tissue"]["width_voxels"] == 16


def test_project_batch_specs_load_and_expand():
    specs = sorted((REPO / "configs" / "batches").glob("*.yaml"))
    assert specs, "configs/batches/ has no batch spec"
    for path in specs:
        spec, base = load_spec(path)
        tasks = expand(spec, base)
        assert len(tasks) == len(parameter_points(spec)) * spec.replicates
        assert len({t.run_id for t in tasks}) == len(tasks)


# --------------------------------------------------------------------------- expansion
def test_counts_points_times_grid_times_samples_times_replicates(tmp_path):
    spec = write_spec(
        tmp_path / "spec.yaml", replicates=3,
        sweep={"points": [{"disease.preset": "sle"}, {"disease.preset": "ra"}],
               "grid": {DOSE: [5e5, 1e6], "arms.msc.route": ["iv", "local", "intra_arterial"]},
               "sample": {"n": 4, "bounds": {"patient.body_weight_kg": [20, 80]}}})
    tasks = plan(spec)
    assert len(tasks) == 2 * 6 * 4 * 3
    assert len({t.run_id for t in tasks}) == len(tasks)
    assert sorted({t.point for t in tasks}) == list(range(48))
    # every combination of the explicit points and grid values appears with every sample
    combos = {(t.params["disease.preset"], t.params[DOSE], t.params["arms.msc.route"]) for t in tasks}
    assert len(combos) == 12
    weights = {t.params["patient.body_weight_kg"] for t in tasks}
    assert len(weights) == 4
    for t in tasks:
        assert t.run_id == f"p{t.point:05d}-r{t.replicate:04d}"
        assert set(t.params) == {"disease.preset", DOSE, "arms.msc.route", "patient.body_weight_kg"}
        assert t.config["disease"]["preset"] == t.params["disease.preset"]
        assert t.config["arms"]["msc"]["route"] == t.params["arms.msc.route"]
        assert t.config["patient"]["body_weight_kg"] == t.params["patient.body_weight_kg"]
        assert t.config["seed"] == t.seed
        assert t.scenario().arms["msc"].dose.cells_per_kg == t.params[DOSE]


def test_no_sweep_is_one_point(tmp_path):
    tasks = plan(write_spec(tmp_path / "spec.yaml", replicates=2))
    assert [(t.point, t.replicate, t.params) for t in tasks] == [(0, 0, {}), (0, 1, {})]


def test_nested():
    assert nested("a.b.c", 2) == {"a": {"b": {"c": 2}}}
    assert nested("seed", 1) == {"seed": 1}


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), dims=st.integers(1, 3), seed=st.integers(0, 2**32 - 1),
       log=st.booleans())
def test_lhs_is_inside_bounds_and_stratified(n, dims, seed, log):
    bounds = {f"k{i}": (10.0 ** i, 10.0 ** (i + 2)) for i in range(dims)}
    sample = Sample(method="lhs", n=n, bounds=bounds, seed=seed, log=list(bounds) if log else [])
    points = sample_points(sample)
    assert len(points) == n
    for key, (lo, hi) in bounds.items():
        values = np.array([p[key] for p in points])
        assert np.all((values >= lo) & (values <= hi)), (key, values)
        # each of the n equal-width bins (of log values for log keys) is hit exactly once
        u = (np.log(values) - np.log(lo)) / (np.log(hi) - np.log(lo)) if log else (values - lo) / (hi - lo)
        bins = np.clip(np.floor(u * n + 1e-9).astype(int), 0, n - 1)
        assert sorted(bins) == list(range(n)), (key, u)


def test_lhs_log_scale_is_not_linear_scale():
    bounds = {"x": (1e3, 1e7)}
    lin = [p["x"] for p in sample_points(Sample(n=20, bounds=bounds, seed=4))]
    log = [p["x"] for p in sample_points(Sample(n=20, bounds=bounds, seed=4, log=["x"]))]
    # on a linear scale 19 of 20 samples lie above 5e5; on a log scale half lie below 1e5
    assert sum(v < 1e5 for v in lin) <= 1
    assert sum(v < 1e5 for v in log) == 10
    assert np.median(log) == pytest.approx(1e5, rel=0.6)


def test_random_sampling_is_seeded_and_inside_bounds():
    bounds = {"a": (2.0, 3.0), "b": (1e-3, 1.0)}
    one = sample_points(Sample(method="random", n=50, bounds=bounds, seed=5, log=["b"]))
    assert one == sample_points(Sample(method="random", n=50, bounds=bounds, seed=5, log=["b"]))
    assert one != sample_points(Sample(method="random", n=50, bounds=bounds, seed=6, log=["b"]))
    for p in one:
        assert 2.0 <= p["a"] <= 3.0 and 1e-3 <= p["b"] <= 1.0
    assert sum(p["b"] < 0.0316 for p in one) > 10  # log-uniform: about half below the geometric mean


def test_sample_points_do_not_depend_on_root_seed(tmp_path):
    sweep = {"sample": {"n": 5, "bounds": {"patient.body_weight_kg": [20, 80]}, "seed": 3}}
    a = plan(write_spec(tmp_path / "a.yaml", sweep=sweep, root_seed=1))
    b = plan(write_spec(tmp_path / "b.yaml", sweep=sweep, root_seed=2))
    assert [t.params for t in a] == [t.params for t in b]
    assert [t.seed for t in a] != [t.seed for t in b]


def test_replicate_seeds_paired_across_points_distinct_across_replicates(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", replicates=5, sweep={"grid": {DOSE: [5e5, 1e6, 2e6]}})
    tasks = plan(spec)
    by_replicate: dict[int, set[int]] = {}
    for t in tasks:
        by_replicate.setdefault(t.replicate, set()).add(t.seed)
    assert all(len(seeds) == 1 for seeds in by_replicate.values())  # paired: one seed per replicate
    seeds = [next(iter(by_replicate[r])) for r in range(5)]
    assert len(set(seeds)) == 5  # distinct across replicates
    assert seeds == replicate_seeds(11, 5)
    assert all(0 <= s < 2**63 for s in seeds)


def test_point_seeds_give_each_point_its_own_replicate_seeds(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", replicates=2, point_seeds=[7, 8, 7],
                      sweep={"grid": {DOSE: [5e5, 1e6, 2e6]}})
    tasks = plan(spec)
    seeds = {(t.point, t.replicate): t.seed for t in tasks}
    assert [seeds[(0, r)] for r in range(2)] == replicate_seeds(7, 2)
    assert [seeds[(1, r)] for r in range(2)] == replicate_seeds(8, 2)
    assert seeds[(0, 0)] == seeds[(2, 0)] != seeds[(1, 0)]


def test_point_seeds_must_match_the_points(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", point_seeds=[1], sweep={"grid": {DOSE: [5e5, 1e6]}})
    with pytest.raises(ConfigError, match="point_seeds: 1 seeds for 2 sweep points"):
        plan(spec)


def test_replicate_seeds_deterministic_and_prefix_stable():
    assert replicate_seeds(3, 4) == replicate_seeds(3, 4)
    assert replicate_seeds(3, 4) != replicate_seeds(4, 4)
    assert replicate_seeds(3, 6)[:4] == replicate_seeds(3, 4)  # adding replicates keeps the old ones
    many = replicate_seeds(0, 2000)
    assert len(set(many)) == 2000


def test_sweeping_msc_keys_keeps_the_default_untreated_arm(tmp_path):
    tasks = plan(write_spec(tmp_path / "spec.yaml", sweep={"grid": {DOSE: [5e5, 2e6]}}))
    for t in tasks:
        scenario = t.scenario()
        assert list(scenario.arms) == ["msc", "untreated"]
        assert scenario.arms["untreated"].control == "untreated"
        assert scenario.arms["msc"].dose.cells_per_kg == t.params[DOSE]


def test_base_arms_are_respected(tmp_path):
    overrides = {**TINY, "arms": {"msc": {"dose": {"cells_per_kg": 1e6}}}}
    tasks = plan(write_spec(tmp_path / "spec.yaml", overrides=overrides, sweep={"grid": {DOSE: [5e5]}}))
    assert list(tasks[0].scenario().arms) == ["msc"]


def test_a_sweep_key_naming_no_arm_is_refused(tmp_path):
    """A misspelt arm (arms.mcs...) would add a default arm and leave the real one unswept."""
    with pytest.raises(ConfigError, match=r"arms\.mcs: no such arm \(the arms are msc, untreated\)"):
        plan(write_spec(tmp_path / "spec.yaml", sweep={"grid": {"arms.mcs.dose.cells_per_kg": [5e5]}}))


def test_a_sweep_key_with_plus_adds_a_new_arm(tmp_path):
    tasks = plan(write_spec(tmp_path / "spec.yaml", sweep={"grid": {"arms.+extra.dose.cells_per_kg": [5e5]}}))
    arms = tasks[0].scenario().arms
    assert list(arms) == ["msc", "untreated", "extra"] and arms["extra"].dose.cells_per_kg == 5e5
    with pytest.raises(ConfigError, match="exists already"):
        plan(write_spec(tmp_path / "spec.yaml", sweep={"grid": {"arms.+msc.dose.cells_per_kg": [5e5]}}))


def test_fingerprint_changes_with_runs_only(tmp_path):
    a = plan(write_spec(tmp_path / "a.yaml", sweep={"grid": {DOSE: [5e5, 1e6]}}))
    same = plan(write_spec(tmp_path / "b.yaml", sweep={"grid": {DOSE: [5e5, 1e6]}}, summary_days=[2],
                           backend={"kind": "local", "workers": 3}))
    other = plan(write_spec(tmp_path / "c.yaml", sweep={"grid": {DOSE: [5e5, 2e6]}}))
    more = plan(write_spec(tmp_path / "d.yaml", sweep={"grid": {DOSE: [5e5, 1e6]}}, replicates=2))
    assert spec_fingerprint(a) == spec_fingerprint(same)
    assert len({spec_fingerprint(a), spec_fingerprint(other), spec_fingerprint(more)}) == 3


# --------------------------------------------------------------------------- shards
def _fake_tasks(n: int) -> list[RunTask]:
    return [RunTask(f"p{i:05d}-r0000", i, 0, 1, {}, {}) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(n_tasks=st.integers(0, 60), count=st.integers(1, 5))
def test_shards_are_disjoint_and_cover_every_run_once(n_tasks, count):
    tasks = _fake_tasks(n_tasks)
    slices = [shard(tasks, i, count) for i in range(count)]
    ids = [t.run_id for s in slices for t in s]
    assert len(ids) == len(set(ids)) == n_tasks
    assert sorted(ids) == [t.run_id for t in tasks]
    sizes = [len(s) for s in slices]
    assert max(sizes) - min(sizes) <= 1  # balanced


@pytest.mark.parametrize(("i", "n"), [(0, 0), (1, 1), (-1, 3), (3, 3)])
def test_shard_rejects_bad_slices(i, n):
    with pytest.raises(ValueError, match="need 0 <= i < n"):
        shard(_fake_tasks(3), i, n)


# --------------------------------------------------------------------------- one run
@pytest.fixture
def tiny_tasks(tmp_path) -> tuple[Path, list[RunTask]]:
    spec = write_spec(tmp_path / "spec.yaml", replicates=2, sweep={"grid": {DOSE: [5e5, 2e6]}})
    out = tmp_path / "out"
    _, tasks = prepare(spec, out, resume=False)
    return out, tasks


def test_run_task_writes_parquet_and_record(tiny_tasks):
    out, tasks = tiny_tasks
    task = tasks[1]
    record = run_task(task, out)
    runs = out / RUNS
    assert record["status"] == "done" and record["run_id"] == task.run_id
    assert sorted(p.name for p in runs.iterdir()) == [f"{task.run_id}.json", f"{task.run_id}.parquet"]
    on_disk = json.loads((runs / f"{task.run_id}.json").read_text())
    assert on_disk["status"] == "done" and on_disk["seed"] == task.seed and on_disk["params"] == task.params
    assert on_disk["rows"] == 10 and on_disk["wall_seconds"] >= 0
    traj = pd.read_parquet(runs / f"{task.run_id}.parquet")
    assert list(traj.columns[:6]) == ["run_id", "point", "replicate", "seed", DOSE, "arm"]
    assert set(traj["run_id"]) == {task.run_id} and set(traj["seed"]) == {task.seed}
    assert set(traj[DOSE]) == {task.params[DOSE]}
    assert list(traj["arm"].unique()) == ["msc", "untreated"]
    assert traj.groupby("arm")["t_days"].apply(list).to_dict() == {
        "msc": [0.0, 1.0, 2.0, 3.0, 4.0], "untreated": [0.0, 1.0, 2.0, 3.0, 4.0]}
    assert len(list((out / BURNIN).glob("*.npz"))) == 1


def test_failing_run_writes_error_record_and_a_later_success_clears_it(tiny_tasks, monkeypatch,
                                                                        make_run_fail):
    out, tasks = tiny_tasks
    task = tasks[0]
    make_run_fail(task.run_id, RuntimeError("model blew up at step 7"))
    record = run_task(task, out)
    assert record["status"] == "failed"
    err = json.loads((out / RUNS / f"{task.run_id}.error.json").read_text())
    assert err["error"] == "RuntimeError: model blew up at step 7"
    assert "Traceback" in err["traceback"] and "flaky" in err["traceback"]
    assert not (out / RUNS / f"{task.run_id}.json").exists()
    assert not (out / RUNS / f"{task.run_id}.parquet").exists()
    assert status(out).failed == [task.run_id]

    monkeypatch.undo()
    assert run_task(task, out)["status"] == "done"
    assert not (out / RUNS / f"{task.run_id}.error.json").exists()
    assert status(out).done == [task.run_id] and status(out).failed == []


def test_burnin_is_shared_by_points_that_differ_in_treatment_only(tiny_tasks):
    out, tasks = tiny_tasks
    for t in tasks:
        run_task(t, out)
    assert len(list((out / BURNIN).glob("*.npz"))) == 2  # one per replicate seed, not per point
    assert not list((out / BURNIN).glob(".*.tmp"))


def test_cached_burnin_gives_the_same_trajectories(tiny_tasks):
    out, tasks = tiny_tasks
    task = tasks[0]
    run_task(task, out)  # computes and caches the burn-in
    fresh = pd.read_parquet(out / RUNS / f"{task.run_id}.parquet")
    run_task(task, out)  # from the cache
    cached = pd.read_parquet(out / RUNS / f"{task.run_id}.parquet")
    pd.testing.assert_frame_equal(fresh, cached, check_exact=True)
    # a damaged cache file (crash while writing outside the atomic path) is recomputed
    (cache,) = (out / BURNIN).glob("*.npz")
    cache.write_bytes(cache.read_bytes()[:100])
    assert run_task(task, out)["status"] == "done"
    pd.testing.assert_frame_equal(fresh, pd.read_parquet(out / RUNS / f"{task.run_id}.parquet"),
                                  check_exact=True)


def test_batch_record_is_compact_and_rebuilds_every_run_exactly(tmp_path):
    """batch.json keeps the base once and per run only its parameters; tasks_of rebuilds expand's tasks."""
    spec = write_spec(tmp_path / "spec.yaml", replicates=3,
                      sweep={"grid": {DOSE: [5e5, 2e6], "patient.body_weight_kg": [40, 60]}})
    _, planned = prepare(spec, tmp_path / "out", resume=False)
    meta = json.loads((tmp_path / "out" / BATCH_FILE).read_text())
    assert "base" in meta and all("config" not in t for t in meta["tasks"])
    assert tasks_of(tmp_path / "out") == planned
    # a directory written in the former layout (every run's full config) still reads
    meta["tasks"] = [vars(t) for t in planned]
    del meta["base"]
    (tmp_path / "out" / BATCH_FILE).write_text(json.dumps(meta))
    assert tasks_of(tmp_path / "out") == planned
    assert prepare(spec, tmp_path / "out", resume=True)[1] == planned  # same fingerprint: resumable


def test_burnin_is_not_shared_across_seeds_or_biology(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", replicates=2, sweep={"grid": {"patient.body_weight_kg": [40, 60]}})
    _, tasks = prepare(spec, tmp_path / "out", resume=False)
    keys = {execute.burnin_key(t.config) for t in tasks}
    assert len(keys) == 4


def test_points_differing_in_treatment_only_parameters_share_a_correct_burn_in(tmp_path):
    """Two values of an MSC-only parameter: one cached burn-in, and each run equals its standalone run."""
    from abm.run import run_scenario

    key = "biology.lung.regulatory_half_life_days"
    spec = write_spec(tmp_path / "spec.yaml", sweep={"grid": {key: [10.0, 180.0]}})
    result = run_batch(spec, tmp_path / "out", backend="serial")
    assert result.status.line() == "2 done, 0 failed, 0 pending of 2 runs"
    assert len(list((tmp_path / "out" / BURNIN).glob("*.npz"))) == 1
    tasks = tasks_of(tmp_path / "out")
    batch = [pd.read_parquet(tmp_path / "out" / RUNS / f"{t.run_id}.parquet") for t in tasks]
    ratios = [f.loc[f["arm"] == "msc", "blood_treg_th17_ratio"].to_numpy() for f in batch]
    assert not np.array_equal(*ratios)  # the parameter acts after treatment
    for task, frame in zip(tasks, batch, strict=True):
        alone = run_scenario(task.scenario(), tmp_path / task.run_id, report=False).trajectories
        cols = list(alone.columns)
        pd.testing.assert_frame_equal(frame[cols].reset_index(drop=True), alone.reset_index(drop=True),
                                      check_exact=True)


# --------------------------------------------------------------------------- whole batches (serial)
@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """An uninterrupted serial batch of 3 points x 2 replicates: (spec path, batch directory)."""
    root = tmp_path_factory.mktemp("reference")
    spec = write_spec(root / "spec.yaml", replicates=2, sweep={"grid": {DOSE: [5e5, 1e6, 2e6]}})
    result = run_batch(spec, root / "out", backend="serial")
    assert result.status.line() == "6 done, 0 failed, 0 pending of 6 runs"
    return spec, root / "out"


def test_batch_directory_contents(reference):
    spec, out = reference
    meta = json.loads((out / BATCH_FILE).read_text())
    assert meta["name"] == "tiny" and len(meta["tasks"]) == 6 and len(meta["fingerprint"]) == 16
    assert meta["spec"]["summary_days"] == [1.0, 3.0] and meta["spec_file"] == str(spec)
    assert [t.run_id for t in tasks_of(out)] == [t.run_id for t in plan(spec)]
    assert spec_fingerprint(tasks_of(out)) == meta["fingerprint"]
    names = sorted(p.name for p in (out / RUNS).iterdir())
    assert names == sorted(f"{t.run_id}.{ext}" for t in plan(spec) for ext in ("json", "parquet"))
    assert (out / SUMMARY_FILE).is_file()


def test_summary_rows_and_columns(reference):
    spec, out = reference
    summary = pd.read_parquet(out / SUMMARY_FILE)
    assert len(summary) == 6 * 2  # one row per run x arm
    assert list(summary.columns[:6]) == ["run_id", "point", "replicate", "seed", DOSE, "arm"]
    for col in ["ratio_day1", "ratio_day3", "treg_pct_day1", "th17_pct_day3", "ratio_baseline",
                "ratio_peak", "ratio_time_to_peak_days", "ratio_auc_vs_baseline", "wall_seconds"]:
        assert col in summary.columns, col
    assert all(arms == ["msc", "untreated"] for arms in summary.groupby("run_id")["arm"].apply(list))
    tasks = {t.run_id: t for t in plan(spec)}
    for row in summary.to_dict("records"):
        task = tasks[row["run_id"]]
        assert (row["point"], row["replicate"], row["seed"]) == (task.point, task.replicate, task.seed)
        assert row[DOSE] == task.params[DOSE]
    # the untreated arms of one replicate are the same patient whatever the MSC dose (paired)
    untreated = summary[summary["arm"] == "untreated"]
    assert untreated.groupby("replicate")["ratio_day3"].nunique().eq(1).all()
    assert untreated["ratio_day3"].nunique() == 2
    pd.testing.assert_frame_equal(without_wall(summary), without_wall(summarise(out)), check_exact=True)


def test_summary_agrees_with_trajectories(reference):
    _, out = reference
    summary = summarise(out)
    traj = load_trajectories(out)
    assert len(traj) == 6 * 2 * 5
    for row in summary.itertuples(index=False):
        df = traj[(traj["run_id"] == row.run_id) & (traj["arm"] == row.arm)]
        y = df["blood_treg_th17_ratio"].to_numpy()
        t = df["t_days"].to_numpy()
        assert row.ratio_day1 == y[t == 1.0][0] and row.ratio_day3 == y[t == 3.0][0]
        assert row.ratio_baseline == y[0] and row.ratio_peak == y.max()
        assert row.ratio_time_to_peak_days == t[y.argmax()]
        assert row.ratio_auc_vs_baseline == pytest.approx(np.trapezoid(y - y[0], t), abs=1e-12)


def test_load_trajectories_reads_only_the_given_columns(reference):
    _, out = reference
    cols = ["run_id", "arm", "t_days", "blood_treg_th17_ratio"]
    part = load_trajectories(out, columns=cols)
    assert list(part.columns) == cols and len(part) == 60
    full = load_trajectories(out)
    pd.testing.assert_frame_equal(part, full[cols], check_exact=True)
    assert list(full["run_id"].unique()) == sorted(full["run_id"].unique())  # run order


def test_unfinished_runs_are_left_out_of_results(reference, tmp_path):
    import shutil

    _, out = reference
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / RUNS / "p00001-r0000.json").unlink()  # parquet without a record: not finished
    assert [p.stem for p in run_files(copy)] == [
        "p00000-r0000", "p00000-r0001", "p00001-r0001", "p00002-r0000", "p00002-r0001"]
    assert "p00001-r0000" not in set(summarise(copy)["run_id"])
    assert status(copy).pending == ["p00001-r0000"]


def test_empty_batch_summary(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml")
    prepare(spec, tmp_path / "out", resume=False)
    assert load_trajectories(tmp_path / "out").empty
    assert write_summary(tmp_path / "out").empty
    assert (tmp_path / "out" / SUMMARY_FILE).is_file()


def test_failing_run_does_not_stop_the_others(tmp_path, monkeypatch, make_run_fail):
    make_run_fail("p00001-r0000", FloatingPointError("overflow in field solver"))
    spec = write_spec(tmp_path / "spec.yaml", replicates=2, sweep={"grid": {DOSE: [5e5, 1e6]}})
    seen: list[dict] = []
    result = run_batch(spec, tmp_path / "out", backend="serial", progress=seen.append)
    assert [r["run_id"] for r in seen] == ["p00000-r0000", "p00000-r0001", "p00001-r0000", "p00001-r0001"]
    assert result.status.done == ["p00000-r0000", "p00000-r0001", "p00001-r0001"]
    assert result.status.failed == ["p00001-r0000"] and result.status.pending == []
    assert result.status.line() == "3 done, 1 failed, 0 pending of 4 runs"
    err = json.loads((tmp_path / "out" / RUNS / "p00001-r0000.error.json").read_text())
    assert err["status"] == "failed" and err["error"] == "FloatingPointError: overflow in field solver"
    assert set(pd.read_parquet(tmp_path / "out" / SUMMARY_FILE)["run_id"]) == {
        "p00000-r0000", "p00000-r0001", "p00001-r0001"}

    # --resume retries the failed run (and only it)
    monkeypatch.undo()
    again = run_batch(spec, tmp_path / "out", backend="serial", resume=True)
    assert again.ran == 1 and again.status.line() == "4 done, 0 failed, 0 pending of 4 runs"
    assert not (tmp_path / "out" / RUNS / "p00001-r0000.error.json").exists()


# --------------------------------------------------------------------------- resume
def test_resume_reruns_only_the_missing_runs(reference, tmp_path):
    import shutil

    spec, ref_out = reference
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    runs = out / RUNS
    (runs / "p00001-r0001.json").unlink()  # interrupted between the parquet and the record
    (runs / "p00002-r0000.json").unlink()  # interrupted while writing the parquet:
    (runs / "p00002-r0000.parquet").unlink()
    stale = runs / ".p00002-r0000.parquet.k3j2h1.tmp"
    stale.write_bytes(b"PAR1 partial")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))  # debris of an interrupted write long ago
    (out / SUMMARY_FILE).unlink()
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in runs.iterdir() if p != stale}

    result = run_batch(spec, out, backend="serial", resume=True)
    assert result.ran == 2 and result.status.line() == "6 done, 0 failed, 0 pending of 6 runs"
    assert not stale.exists() and not list(runs.glob(".*.tmp"))
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in runs.iterdir()}
    rerun = {"p00001-r0001.json", "p00001-r0001.parquet", "p00002-r0000.json", "p00002-r0000.parquet"}
    for name, value in before.items():
        if name not in rerun:
            assert after[name] == value, f"{name} was rewritten"
    assert after["p00001-r0001.parquet"][0] > before["p00001-r0001.parquet"][0]
    pd.testing.assert_frame_equal(without_wall(pd.read_parquet(out / SUMMARY_FILE)),
                                  without_wall(pd.read_parquet(ref_out / SUMMARY_FILE)), check_exact=True)
    pd.testing.assert_frame_equal(load_trajectories(out), load_trajectories(ref_out), check_exact=True)


def test_resume_of_a_finished_batch_runs_nothing(reference, tmp_path):
    import shutil

    spec, ref_out = reference
    shutil.copytree(ref_out, tmp_path / "out")
    result = run_batch(spec, tmp_path / "out", backend="serial", resume=True)
    assert result.ran == 0 and len(result.status.done) == 6


def test_existing_batch_needs_resume_and_the_same_runs(reference, tmp_path):
    import shutil

    spec, ref_out = reference
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    with pytest.raises(ConfigError, match="batch directory exists; pass --resume"):
        run_batch(spec, out, backend="serial")
    other = write_spec(tmp_path / "other.yaml", replicates=2, sweep={"grid": {DOSE: [5e5, 1e6, 4e6]}})
    with pytest.raises(ConfigError, match="holds a batch of different runs \\(fingerprint") as info:
        run_batch(other, out, backend="serial", resume=True)
    fp = json.loads((out / BATCH_FILE).read_text())["fingerprint"]
    assert fp in str(info.value) and spec_fingerprint(plan(other)) in str(info.value)
    # the refused attempts touched nothing
    assert sorted(p.name for p in (out / RUNS).iterdir()) == sorted(p.name for p in (ref_out / RUNS).iterdir())


def test_foreign_directory_is_refused(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="exists and is not a batch directory"):
        run_batch(spec, out, backend="serial")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_batch(spec, empty, backend="serial").status.line() == "1 done, 0 failed, 0 pending of 1 runs"


def test_shards_into_one_directory_equal_the_whole_batch(reference, tmp_path):
    spec, ref_out = reference
    out = tmp_path / "out"
    for i in range(4):
        result = run_batch(spec, out, backend="serial", resume=True, shard_spec=(i, 4))
        assert result.ran == len(shard(plan(spec), i, 4))
    assert status(out).line() == "6 done, 0 failed, 0 pending of 6 runs"
    pd.testing.assert_frame_equal(without_wall(summarise(out)), without_wall(summarise(ref_out)), check_exact=True)


def test_a_starting_shard_does_not_break_runs_in_flight(tmp_path, monkeypatch):
    spec = write_spec(tmp_path / "spec.yaml", replicates=2)
    out = tmp_path / "out"
    _, tasks = prepare(spec, out, resume=False)
    real = pd.DataFrame.to_parquet

    def slice_starts_meanwhile(self, path, *args, **kwargs):
        real(self, path, *args, **kwargs)
        prepare(spec, out, resume=True)  # another slice: `abm batch SPEC --resume --shard 1/2`

    monkeypatch.setattr(pd.DataFrame, "to_parquet", slice_starts_meanwhile)
    record = run_task(tasks[0], out)
    assert record["status"] == "done", record.get("error")


# --------------------------------------------------------------------------- arm statistics
def _arm(t: list[float], y: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"t_days": t, "blood_treg_th17_ratio": y,
                         "blood_treg_pct_cd4": [10 * v for v in y], "blood_th17_pct_cd4": [1.0] * len(y)})


def test_arm_statistics_by_hand():
    df = _arm([0, 1, 2, 3, 4], [2.0, 3.0, 5.0, 4.0, 2.0])
    s = arm_statistics(df, [1, 3, 2.4, 10])
    assert s["ratio_day1"] == 3.0 and s["ratio_day3"] == 4.0
    assert s["treg_pct_day1"] == 30.0 and s["th17_pct_day3"] == 1.0
    assert s["ratio_day2.4"] == 5.0  # nearest recorded day within half a day
    assert math.isnan(s["ratio_day10"]) and math.isnan(s["treg_pct_day10"])  # no row near day 10
    assert s["ratio_baseline"] == 2.0
    assert s["ratio_peak"] == 5.0 and s["ratio_time_to_peak_days"] == 2.0
    # trapezoid of y - 2 = [0, 1, 3, 2, 0]: 0.5 + 2 + 2.5 + 1
    assert s["ratio_auc_vs_baseline"] == pytest.approx(6.0, abs=1e-12)


def test_arm_statistics_uneven_times_and_decline():
    df = _arm([0, 0.5, 2, 5], [4.0, 3.0, 3.0, 1.0])
    s = arm_statistics(df, [])
    assert s["ratio_peak"] == 4.0 and s["ratio_time_to_peak_days"] == 0.0
    # y - 4 = [0, -1, -1, -3] over widths 0.5, 1.5, 3: -0.25 - 1.5 - 6
    assert s["ratio_auc_vs_baseline"] == pytest.approx(-7.75, abs=1e-12)


def test_auc_of_a_constant_trajectory_is_zero():
    s = arm_statistics(_arm([0, 1, 2, 3], [1.7] * 4), [1])
    assert s["ratio_auc_vs_baseline"] == 0.0
    assert s["ratio_peak"] == 1.7 and s["ratio_time_to_peak_days"] == 0.0  # the first of equal peaks


def test_arm_statistics_skip_non_finite_values():
    s = arm_statistics(_arm([0, 1, 2, 3], [2.0, np.inf, 6.0, np.nan]), [])
    assert s["ratio_peak"] == 6.0 and s["ratio_time_to_peak_days"] == 2.0
    assert math.isfinite(s["ratio_auc_vs_baseline"])


# --------------------------------------------------------------------------- known bugs
def test_list_valued_sweep_parameters_run(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml",
                      sweep={"grid": {"arms.msc.concomitant": [[], ["steroids"]],
                                      "arms.msc.schedule.days": [[0], [0, 2]]}})
    result = run_batch(spec, tmp_path / "out", backend="serial")
    errors = [json.loads((tmp_path / "out" / RUNS / f"{r}.error.json").read_text())["error"]
              for r in result.status.failed]
    assert result.status.failed == [], errors
    summary = summarise(tmp_path / "out")
    assert len(summary) == 8


def test_load_trajectories_columns_with_one_at_a_time_points(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml",
                      sweep={"points": [{DOSE: 2e6}, {"patient.body_weight_kg": 30}]})
    run_batch(spec, tmp_path / "out", backend="serial")
    assert len(summarise(tmp_path / "out")) == 4  # the summary copes with differing keys
    part = load_trajectories(tmp_path / "out", columns=["run_id", "arm", "t_days", DOSE])
    assert part[DOSE].isna().sum() == 10


def test_sweeping_seed_is_rejected_up_front(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", sweep={"grid": {"seed": [1, 2]}})
    with pytest.raises(ConfigError, match="seed"):
        plan(spec)
