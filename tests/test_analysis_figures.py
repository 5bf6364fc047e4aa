"""Publication figures (analysis/figures.py) from a tiny batch directory and a tiny run directory."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abm.config import validate_dict
from abm.experiments.batch.runner import run_batch
from abm.run import run_scenario

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"

SPEC = """\
name: tiny-figures
overrides:
  tissue: {width_voxels: 16, height_voxels: 16}
  simulation: {burn_in_days: 2, days: 4}
  arms:
    msc: {dose: {total_cells: 1.0e7}, route: local, schedule: {days: [0]}}
    untreated: {control: untreated}
replicates: 3
root_seed: 5
backend: {kind: serial}
"""


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location("analysis_figures", ROOT / "analysis" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fig-batch")
    (root / "spec.yaml").write_text(SPEC)
    result = run_batch(root / "spec.yaml", root / "batch")
    assert len(result.status.done) == 3
    return result.directory


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fig-run") / "run"
    scenario = validate_dict({
        "name": "tiny-run", "seed": 9, "tissue": {"width_voxels": 16, "height_voxels": 16},
        "simulation": {"burn_in_days": 2, "days": 4},
        "arms": {"msc": {"dose": {"total_cells": 1.0e7}, "route": "local", "schedule": {"days": [0]}},
                 "untreated": {"control": "untreated"}}})
    run_scenario(scenario, out, report=False, checkpoint_every_days=0)
    return out


def is_png(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG


def test_load_batch_and_runs(figures, batch_dir, run_dir):
    data = figures.load([batch_dir, run_dir])
    assert data.replicate_id.nunique() == 4
    assert set(data.group) == {"msc", "untreated"}


def test_mean_ci_is_the_t_interval(figures):
    df = pd.DataFrame({"t": [0, 0, 0], "v": [1.0, 2.0, 3.0]})
    s = figures.mean_ci(df, ["t"], "v").iloc[0]
    assert s["mean"] == 2 and s["n"] == 3
    assert s["hi"] - s["mean"] == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-5)


def test_trajectories_from_batch_and_runs(figures, batch_dir, run_dir, tmp_path):
    written = figures.trajectories(figures.load([batch_dir]), tmp_path / "t.png", pdf=True)
    assert is_png(written[0]) and written[1].suffix == ".pdf" and written[1].stat().st_size > 0
    assert is_png(figures.trajectories(figures.load([run_dir]), tmp_path / "r.png")[0])


def test_paired_from_batch_and_run(figures, batch_dir, run_dir, tmp_path):
    data = figures.load([batch_dir])
    assert figures.control_arm([batch_dir], ["msc", "untreated"]) == "untreated"
    assert is_png(figures.paired(data, tmp_path / "p.png", control="untreated")[0])
    assert is_png(figures.paired(figures.load([run_dir]), tmp_path / "q.png", control="untreated")[0])


def test_snapshots_from_run_dir(figures, run_dir, tmp_path):
    out = figures.snapshots(run_dir, tmp_path / "s.png", days=[0, 1, 4], fields=["ido", "tgfb"], arm="msc")
    assert is_png(out[0])


def test_cli(figures, batch_dir, run_dir, tmp_path, capsys):
    assert figures.main(["trajectories", str(batch_dir), "--out", str(tmp_path / "a.png")]) == 0
    assert figures.main(["paired", str(batch_dir), "--control", "untreated", "--out", str(tmp_path / "b.png")]) == 0
    assert figures.main(["snapshots", str(run_dir), "--days", "0", "2", "--fields", "il6",
                         "--out", str(tmp_path / "c.png")]) == 0
    assert all(is_png(tmp_path / f) for f in ("a.png", "b.png", "c.png"))
    for bad in (["paired", str(batch_dir), "--control", "nope", "--out", str(tmp_path / "x.png")],
                ["trajectories", str(tmp_path), "--out", str(tmp_path / "x.png")],
                ["snapshots", str(run_dir), "--fields", "xyz", "--out", str(tmp_path / "x.png")],
                ["snapshots", str(run_dir), "--days", "0.01", "--out", str(tmp_path / "x.png")]):
        with pytest.raises(SystemExit) as exc:
            figures.main(bad)
        assert exc.value.code == 2
        assert "error:" in capsys.readouterr().err
