"""`abm trials` and `abm compare` from the command line: a tiny trial run, and the error paths."""

from pathlib import Path

from typer.testing import CliRunner

from abm.cli import app


def test_compare_rejects_a_missing_directory(tmp_path):
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "no such directory" in res.output


def test_trials_rejects_a_bad_backend(tmp_path):
    res = CliRunner().invoke(app, ["trials", "--out", str(tmp_path), "--backend", "mpi"])
    assert res.exit_code == 2 and "allowed: local, dask, serial" in res.output


def test_trials_rejects_a_missing_findings_file(tmp_path):
    res = CliRunner().invoke(app, ["trials", "--out", str(tmp_path), "--findings", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and "no such file" in res.output


def test_compare_a_run_directory(tmp_path):
    """A single `abm run` of the default trial, shrunk, is scored against the findings it names."""
    config = tmp_path / "trial.yaml"
    default = Path(__file__).resolve().parents[2] / "configs" / "default_trial.yaml"
    config.write_text(f"extends: {default}\ntissue: {{width_voxels: 20, height_voxels: 20}}\n"
                      "simulation: {days: 8, burn_in_days: 4}\n")
    run_dir = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(config), "--out", str(run_dir), "--no-progress", "--no-report"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["compare", str(run_dir)])
    assert res.exit_code == 0, res.output
    assert (run_dir / "comparison.csv").is_file() and "LIU11-TH17-7" in res.output


def _nothing_written(out: Path) -> None:
    assert not out.exists(), sorted(p.name for p in out.rglob("*"))


def test_trials_refuse_a_bad_findings_file_before_any_run(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("finding_id,study\n\"unterminated,x\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["trials", "--out", str(out), "--findings", str(bad), "--replicates", "1"])
    assert res.exit_code == 2 and str(bad) in res.output and "Traceback" not in res.output
    _nothing_written(out)


def test_trials_refuse_an_overlay_key_before_writing_specs(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("biology: {tcells: {treg_half_life_dayz: 9}}\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["trials", "--out", str(out), "--overlay", str(overlay), "--replicates", "1"])
    assert res.exit_code == 2 and "treg_half_life_dayz" in res.output
    _nothing_written(out)


def test_trials_refuse_an_unrelated_non_empty_directory(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("")
    res = CliRunner().invoke(app, ["trials", "--out", str(out), "--replicates", "1"])
    assert res.exit_code == 2 and "use another --out" in res.output
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


def test_compare_names_a_manifest_without_config_and_skips_partial_runs(tmp_path):
    run = tmp_path / "runs" / "a"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text('{"abm_version": "0"}')
    (run / "trajectories.parquet").write_bytes(b"")
    res = CliRunner().invoke(app, ["compare", str(run)])
    assert res.exit_code == 2 and "has no 'config'" in res.output and "manifest.json" in res.output
    (run / "manifest.json").write_text('{"config": ')
    res = CliRunner().invoke(app, ["compare", str(run)])
    assert res.exit_code == 2 and "not a readable manifest" in res.output
    from abm.experiments.trials.compare import discover

    (run.parent / "b.partial").mkdir()
    (run.parent / "b.partial" / "manifest.json").write_text("{}")
    (run.parent / "b.partial" / "trajectories.parquet").write_bytes(b"")
    assert discover(tmp_path / "runs") == [run]
