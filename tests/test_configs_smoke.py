"""Every scenario shipped under configs/ validates and runs a few steps on a shrunken grid."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from abm.biology import dosing
from abm.cli import app
from abm.config import load
from abm.run import run_scenario

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
# scenarios only: batch specs (configs/batches/) are checked in tests/experiments/test_batch.py, cohort specs
# (configs/cohorts/) in tests/experiments/test_cohort.py
SPECS = {"batches", "hypotheses", "sensitivity", "calibration", "cohorts"}
FILES = sorted(p for p in CONFIGS.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
               and not SPECS & set(p.relative_to(CONFIGS).parts))
IDS = [str(p.relative_to(CONFIGS)) for p in FILES]


def test_configs_are_found():
    names = {p.relative_to(CONFIGS).as_posix() for p in FILES}
    assert "default_trial.yaml" in names
    assert any(n.startswith("examples/") for n in names)
    assert not any(p.name.lower().startswith("readme") for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_config_validates(path):
    s = load(path)
    assert s.arms
    assert any(a.gives_cells for a in s.arms.values()), "a shipped scenario should give MSC"
    res = CliRunner().invoke(app, ["validate", str(path)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_config_runs_shrunk(path, tmp_path):
    full = load(path)
    last = max((d for a in full.arms.values() if a.gives_cells for d in a.schedule.infusion_days()),
               default=0.0)
    days = float(last) + 1.0  # every infusion falls inside the shortened follow-up
    s = load(path, overrides={"tissue": {"width_voxels": 20, "height_voxels": 20},
                              "simulation": {"days": days, "burn_in_days": 1},
                              "biology": {"damage": {"reference_days": 0.5}}})
    # shrinking keeps everything but the grid, the times and the damage loop's reference window
    unwindowed = s.biology.model_copy(update={"damage": s.biology.damage.model_copy(
        update={"reference_days": full.biology.damage.reference_days})})
    assert s.arms == full.arms and s.disease == full.disease and unwindowed == full.biology
    res = run_scenario(s, tmp_path / "run", report=False, checkpoint_every_days=0)
    traj = res.trajectories
    assert list(dict.fromkeys(traj.arm)) == list(s.arms)
    for name, arm in s.arms.items():
        rows = traj[traj.arm == name]
        assert rows.t_days.max() == pytest.approx(days)
        assert rows.events_infusion.sum() == len(dosing.plan(s, arm))
        assert rows.blood_treg_pct_cd4.notna().all() and rows.blood_th17_pct_cd4.notna().all()
    assert (tmp_path / "run" / "manifest.json").is_file()
