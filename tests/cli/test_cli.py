"""Command line (abm.cli): validate, run, config show/table; bad input exits 2 and starts nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from abm.cli import app
from abm.config import Scenario, config_hash, load, to_dict, validate_dict
from abm.config.table import rows

TINY: dict[str, Any] = {
    "name": "tiny-cli",
    "seed": 3,
    "tissue": {"width_voxels": 24, "height_voxels": 24},
    "simulation": {"burn_in_days": 3, "days": 6, "dt_h": 2},
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def tiny_cfg(tmp_path) -> Path:
    return write_yaml(tmp_path / "tiny.yaml", TINY)


@pytest.fixture
def bad_cfg(tmp_path) -> Path:
    return write_yaml(tmp_path / "bad.yaml", {**TINY, "arms": {"msc": {"doze": 3}}})


def nothing_at(out: Path) -> None:
    assert not out.exists(), f"{out} was created"
    assert not out.with_name(out.name + ".partial").exists(), f"{out}.partial was created"


# --------------------------------------------------------------------------- validate
def test_validate_ok(runner, tiny_cfg):
    res = runner.invoke(app, ["validate", str(tiny_cfg)])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("ok:")
    assert str(tiny_cfg) in res.stdout and "'tiny-cli'" in res.stdout
    assert "sle" in res.stdout and "6 days" in res.stdout and "msc, untreated" in res.stdout
    assert res.stderr == ""


def test_validate_error_names_key_and_value(runner, bad_cfg):
    res = runner.invoke(app, ["validate", str(bad_cfg)])
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith("error:")
    assert "arms.msc.doze" in res.stderr and "3" in res.stderr and str(bad_cfg) in res.stderr
    assert "Traceback" not in res.output


@pytest.mark.parametrize(("data", "needles"), [
    ({"simulation": {"days": "ten"}}, ["simulation.days", "'ten'"]),
    ({"arms": {"msc": {"dose": {"cells_per_kg": -1.0}}}}, ["arms.msc.dose.cells_per_kg", "-1.0"]),
    ({"disease": {"preset": "lupus"}}, ["disease", "'lupus'", "sle"]),
    ({"simulation": {"days": 5}, "arms": {"msc": {"schedule": {"days": [0, 9]}}}},
     ["arms.msc.schedule", "[9.0]"]),
])
def test_validate_errors_exit_2(runner, tmp_path, data, needles):
    path = write_yaml(tmp_path / "bad.yaml", data)
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 2
    for needle in needles:
        assert needle in res.stderr, res.stderr


@pytest.mark.parametrize("text", ["a: [1, 2\n", "- 1\n- 2\n"], ids=["invalid-yaml", "top-level-list"])
def test_validate_broken_files_exit_2(runner, tmp_path, text):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 2 and str(path) in res.stderr


def test_validate_missing_file_exits_2(runner, tmp_path):
    res = runner.invoke(app, ["validate", str(tmp_path / "none.yaml")])
    assert res.exit_code == 2 and "no such file" in res.stderr


def test_compare_missing_against_exits_2(runner, tmp_path):
    res = runner.invoke(app, ["compare", str(tmp_path), "--against", str(tmp_path / "none")])
    assert res.exit_code == 2 and "--against" in res.stderr


def test_trials_missing_overlay_exits_2(runner, tmp_path):
    res = runner.invoke(app, ["trials", "--out", str(tmp_path / "t"), "--overlay", str(tmp_path / "none.yaml")])
    assert res.exit_code == 2 and "--overlay" in res.stderr and "none.yaml" in res.stderr
    assert not (tmp_path / "t").exists()


# --------------------------------------------------------------------------- run: refused input
def test_run_bad_config_exits_2_and_creates_nothing(runner, tmp_path, bad_cfg):
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(bad_cfg), "--out", str(out), "--no-progress"])
    assert res.exit_code == 2
    assert "arms.msc.doze" in res.stderr
    nothing_at(out)


def test_run_missing_config_exits_2(runner, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(tmp_path / "none.yaml"), "--out", str(out), "--no-progress"])
    assert res.exit_code == 2 and "no such file" in res.stderr
    nothing_at(out)


def test_run_negative_days_exits_2(runner, tmp_path, tiny_cfg):
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(tiny_cfg), "--days", "-5", "--out", str(out),
                              "--no-progress"])
    assert res.exit_code == 2
    assert "simulation.days" in res.stderr and "-5" in res.stderr
    nothing_at(out)


def test_run_days_before_a_scheduled_infusion_exits_2(runner, tmp_path):
    cfg = write_yaml(tmp_path / "two.yaml", {**TINY, "arms": {"msc": {"schedule": {"days": [0, 5]}}}})
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(cfg), "--days", "3", "--out", str(out), "--no-progress"])
    assert res.exit_code == 2 and "arms.msc.schedule" in res.stderr and "[5.0]" in res.stderr
    nothing_at(out)


def test_run_negative_checkpoint_every_exits_2(runner, tmp_path, tiny_cfg):
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(tiny_cfg), "--checkpoint-every", "-1", "--out", str(out),
                              "--no-progress"])
    assert res.exit_code == 2 and "--checkpoint-every" in res.stderr
    nothing_at(out)


def test_run_existing_out_exits_2_and_leaves_it_alone(runner, tmp_path, tiny_cfg):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    res = runner.invoke(app, ["run", str(tiny_cfg), "--out", str(out), "--no-progress"])
    assert res.exit_code == 2
    assert "--out" in res.stderr and str(out) in res.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert not out.with_name("out.partial").exists()


def test_run_resume_from_missing_checkpoint_exits_2(runner, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--resume-from", str(tmp_path / "none.npz"), "--out", str(out),
                              "--no-progress"])
    assert res.exit_code == 2 and "none.npz" in res.stderr
    nothing_at(out)


# --------------------------------------------------------------------------- run: success
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One successful tiny CLI run with report (and arm checkpoints every 2 days)."""
    tmp = tmp_path_factory.mktemp("cli")
    cfg = write_yaml(tmp / "tiny.yaml", TINY)
    out = tmp / "run"
    res = CliRunner().invoke(app, ["run", str(cfg), "--seed", "9", "--out", str(out),
                                   "--checkpoint-every", "2", "--no-progress"])
    return res, out, cfg


def test_run_writes_report_and_prints_the_directory(finished):
    res, out, _ = finished
    assert res.exit_code == 0, res.output
    assert f"run directory: {out}" in res.stdout
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (out / "summary.md").read_text()
    assert summary.strip() and summary.strip() in res.stdout  # the summary is printed
    assert {"manifest.json", "trajectories.parquet"} <= {p.name for p in out.iterdir()}
    assert not out.with_name("run.partial").exists()


def test_run_applies_seed_and_records_the_command(finished):
    _, out, cfg = finished
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 9
    assert manifest["config_hash"] == config_hash(load(cfg))  # the seed is not part of the hash
    assert manifest["command"].startswith("abm")


def test_cli_run_equals_library_run(finished, tmp_path):
    from abm.run import run_scenario

    _, out, cfg = finished
    lib = run_scenario(load(cfg, overrides={"seed": 9}), tmp_path / "lib", report=False)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "trajectories.parquet"), lib.trajectories,
                                  check_exact=True)


def test_run_resume_from_cli_equals_the_uninterrupted_run(finished, runner, tmp_path):
    _, out, _ = finished
    ckpt = out / "checkpoints" / "msc.npz"
    assert ckpt.is_file()
    out2 = tmp_path / "resumed"
    res = runner.invoke(app, ["run", "--resume-from", str(ckpt), "--out", str(out2), "--no-report",
                              "--no-progress"])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_parquet(out2 / "trajectories.parquet"),
                                  pd.read_parquet(out / "trajectories.parquet"), check_exact=True)


def test_run_resume_refuses_seed_or_days(finished, runner, tmp_path):
    _, out, _ = finished
    ckpt = out / "checkpoints" / "msc.npz"
    for extra in (["--seed", "1"], ["--days", "4"]):
        out2 = tmp_path / "resumed"
        res = runner.invoke(app, ["run", "--resume-from", str(ckpt), "--out", str(out2),
                                  "--no-progress", *extra])
        assert res.exit_code == 2 and "resumed" in res.stderr
        nothing_at(out2)


def test_run_days_option_and_no_report(runner, tmp_path, tiny_cfg):
    out = tmp_path / "short"
    res = runner.invoke(app, ["run", str(tiny_cfg), "--days", "2", "--out", str(out), "--no-report",
                              "--no-progress", "--checkpoint-every", "0"])
    assert res.exit_code == 0, res.output
    assert f"run directory: {out}" in res.stdout
    assert not (out / "report.png").exists() and not (out / "summary.md").exists()
    traj = pd.read_parquet(out / "trajectories.parquet")
    assert sorted(set(traj.t_days)) == [0.0, 1.0, 2.0]
    assert json.loads((out / "manifest.json").read_text())["config"]["simulation"]["days"] == 2.0


# --------------------------------------------------------------------------- config show / table
def test_config_show_round_trips(runner, tiny_cfg):
    res = runner.invoke(app, ["config", "show", str(tiny_cfg)])
    assert res.exit_code == 0, res.output
    shown = validate_dict(yaml.safe_load(res.stdout))
    assert shown == load(tiny_cfg)
    assert config_hash(shown) == config_hash(load(tiny_cfg))
    assert yaml.safe_load(res.stdout) == to_dict(load(tiny_cfg))


def test_config_show_defaults(runner):
    res = runner.invoke(app, ["config", "show"])
    assert res.exit_code == 0, res.output
    assert validate_dict(yaml.safe_load(res.stdout)) == Scenario()


def test_config_show_bad_config_exits_2(runner, bad_cfg):
    res = runner.invoke(app, ["config", "show", str(bad_cfg)])
    assert res.exit_code == 2 and "arms.msc.doze" in res.stderr


def flatten(data: dict[str, Any], prefix: str) -> set[str]:
    out: set[str] = set()
    for key, value in data.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out.add(f"{prefix}{key}")
    return out


def table_rows(text: str) -> list[list[str]]:
    """Body rows of every Markdown table (header and separator lines dropped)."""
    out = []
    for line in text.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("key", "preset"):
            continue
        out.append(cells)
    return out


def test_config_table_lists_every_biology_parameter_with_a_source(runner):
    res = runner.invoke(app, ["config", "table"])
    assert res.exit_code == 0, res.output
    text = res.stdout
    for section in ("simulation", "tissue", "patient", "biology", "disease presets"):
        assert f"## {section}" in text
    body = table_rows(text)
    assert body
    keyed = {cells[0].strip("`"): cells for cells in body if cells[0].startswith("`")}
    expected = flatten(to_dict(Scenario().biology), "biology.")
    listed = {k for k in keyed if k.startswith("biology.")}
    assert listed == expected
    for section in ("simulation", "tissue", "patient"):
        assert flatten(to_dict(getattr(Scenario(), section)), f"{section}.") <= set(keyed)
    # every row of the generated table (parameters and preset entries) names its source
    no_source = [cells for cells in body if not cells[-1]]
    assert not no_source, no_source
    # parameter rows: key | value | unit | range | source
    assert all(len(cells) == 5 for cells in keyed.values())
    # preset rows: preset | key | value | source, one per preset value
    preset_rows = [cells for cells in body if not cells[0].startswith("`")]
    assert {c[0] for c in preset_rows} == {"healthy", "ra", "sle"}
    assert all(len(c) == 4 and re.fullmatch(r"`\w+`", c[1]) for c in preset_rows)


def test_table_rows_have_units_and_sources():
    for row in rows(Scenario().biology, "biology."):
        assert row["source"].strip(), row["key"]
        assert row["unit"].strip(), row["key"]


def test_no_arguments_shows_help(runner):
    res = runner.invoke(app, [])
    assert "run" in res.output and "validate" in res.output and "config" in res.output


def test_run_with_a_missing_overlay_exits_2(tmp_path):
    from typer.testing import CliRunner

    from abm.cli import app

    res = CliRunner().invoke(app, ["run", "--overlay", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "--overlay" in res.output and not (tmp_path / "r").exists()


def test_run_applies_an_overlay(tmp_path):
    from typer.testing import CliRunner

    from abm.cli import app

    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("disease: {systemic_il6: 0.33}\n")
    config = tmp_path / "tiny.yaml"
    config.write_text("tissue: {width_voxels: 12, height_voxels: 12}\nsimulation: {days: 2, burn_in_days: 2}\n")
    out = tmp_path / "r"
    res = CliRunner().invoke(app, ["run", str(config), "--overlay", str(overlay), "--out", str(out),
                                   "--no-progress", "--no-report"])
    assert res.exit_code == 0, res.output
    import json
    assert json.loads((out / "manifest.json").read_text())["config"]["disease"]["systemic_il6"] == 0.33


def test_a_checkpoint_interval_shorter_than_one_step_is_refused(runner, tiny_cfg, tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", str(tiny_cfg), "--out", str(out), "--checkpoint-every", "0.01"])
    assert res.exit_code == 2 and "shorter than one step" in res.stderr
    nothing_at(out)


def test_a_foreign_partial_directory_is_not_deleted(runner, tiny_cfg, tmp_path):
    out = tmp_path / "run"
    partial = tmp_path / "run.partial"
    partial.mkdir()
    (partial / "my_notes.txt").write_text("keep me")
    res = runner.invoke(app, ["run", str(tiny_cfg), "--out", str(out), "--no-progress", "--no-report"])
    assert res.exit_code == 2 and "my_notes.txt" in res.stderr
    assert (partial / "my_notes.txt").read_text() == "keep me" and not out.exists()


def test_run_files_follow_the_umask(runner, tiny_cfg, tmp_path):
    import os

    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        res = runner.invoke(app, ["run", str(tiny_cfg), "--out", str(out), "--no-progress", "--no-report"])
        assert res.exit_code == 0, res.output
        for f in (out / "checkpoints").iterdir():
            assert f.stat().st_mode & 0o777 == 0o644, f
    finally:
        os.umask(old)
