"""Running a scenario: one shared burn-in, then every arm branched from it, written to a run directory.

Seeds: the root seed feeds ``numpy.random.SeedSequence``; its first child drives the burn-in and
its second child drives every arm.  All arms start from the same burned-in patient *and* the same
random stream (common random numbers), so treated and control arms of one seed are paired.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

import abm
from abm import burn_in as burn_in_module
from abm import checkpoint
from abm.biology import dosing
from abm.clinical import COLUMNS as CLINICAL_COLUMNS
from abm.clinical import SURROGATE, observe
from abm.clinical.observe import OBSERVATION_SPAWN_KEY
from abm.config import Scenario, config_hash, to_dict
from abm.config.names import inside
from abm.engine import jit
from abm.model import MSCModel
from abm.record import Recorder

Progress = Callable[[int], None]
"""Called with the number of steps just done."""


@dataclass
class RunResult:
    """What a finished run produced."""

    directory: Path
    trajectories: pd.DataFrame
    manifest: dict


TREATMENT_ONLY_KEYS: tuple[str, ...] = (
    "biology.msc.licensing_half_time_h", "biology.msc.licensing_signal_k", "biology.msc.survival_half_life_h",
    "biology.msc.licensed_survival_factor", "biology.msc.apoptotic_persistence_h", "biology.msc.efferocytosis_per_h",
    "biology.msc.efferocytosis_radius_voxels",
    "biology.lung.phagocytes_per_msc", "biology.lung.regulatory_half_life_days",
    "biology.lung.inflammation_reversal_gain",
    "biology.delivery",
    "biology.systemic.regulatory_phagocyte_ido", "biology.systemic.regulatory_phagocyte_tgfb",
    "biology.systemic.lung_msc_gain",
    "patient.trait_seed", "observation",  # read after the run by the observation layer only
    "simulation.days",  # the follow-up: a cohort screens on a one-day run and reuses its burn-in for the arms
    "biology.secretion.msc_resting", "biology.secretion.msc_licensed", "biology.secretion.ido_phagocyte",
    "biology.macrophages.ido_phenotype_half_life_days",
    "biology.msc.host_lysis_share", "patient.host_cytotoxicity", "biology.persistence", "biology.relay",
)
"""Configuration the untreated burn-in never reads to any effect: parameters of MSC, of cells and states that
only MSC create (IDO+ and regulatory phagocytes) and of MSC delivery (a section path covers the section).
Without MSC these enter the dynamics only multiplied by zero counts, so burned-in patients that differ only
here are identical, which ``tests/test_run.py`` checks key by key at the ends of each plausible range.
(``msc.contact_radius_voxels`` is not here: Treg contacts use it too; nor ``lung.phagocytes_per_kg``: the
lung's phagocyte count is part of the state.)"""


def burn_in_config(config: dict) -> dict:
    """The part of a scenario mapping the burn-in depends on: no arms, name, findings or treatment-only keys.

    Two scenarios with equal ``burn_in_config`` (seed included) burn in to identical patients, so a batch
    shares one cached burn-in among them (``abm.experiments.batch.execute.burned_state``).
    """
    data = copy.deepcopy({k: v for k, v in config.items() if k not in ("arms", "name", "findings")})
    for path in TREATMENT_ONLY_KEYS:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(last, None)
    return data


def seed_streams(root_seed: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """(burn-in, arms) seed sequences derived from the root seed."""
    burn, arms = np.random.SeedSequence(root_seed).spawn(2)
    return burn, arms


def steps_for(hours: float, dt_h: float) -> int:
    """Number of steps covering ``hours``."""
    return int(round(hours / dt_h))


def burn_in(scenario: Scenario, progress: Progress | None = None) -> MSCModel:
    """Build the untreated patient and run the burn-in up to treatment day 0."""
    burn_seed, _ = seed_streams(scenario.seed)
    model = MSCModel(scenario, rng=burn_seed)
    report = burn_in_module.run(model, progress)
    history = report.pop("history")
    model.run_info = {"phase": "burned_in", "burn_in": report, "history": history}
    return model


def branch(scenario: Scenario, burned: tuple[dict, dict], arm_name: str) -> MSCModel:
    """A model for one arm, starting from the burned-in state with the arms' seed stream."""
    model = MSCModel(scenario, rng=0)
    model.load_state_dict(*burned)
    model.set_arm(scenario.arms[arm_name])
    model.reseed(seed_streams(scenario.seed)[1])
    model.events = Counter()  # events count from the start of the arm
    history = model.run_info.get("history", [])  # the burn-in's last days, for the observation layer
    model.run_info = {"phase": "arm", "arm": arm_name, "step": 0, "rows": [], "events_at_last": {},
                      "history": history}
    return model


def run_arm(model: MSCModel, progress: Progress | None = None,
            checkpoint_path: Path | None = None, checkpoint_every_steps: int = 0) -> pd.DataFrame:
    """Run (or continue) an arm to the end of follow-up; returns its trajectory."""
    sim = model.cfg.simulation
    n_steps = steps_for(sim.days * 24, model.dt_h)
    every = steps_for(sim.record_every_h, model.dt_h)
    info = model.run_info
    recorder = Recorder(info.get("rows"), info.get("events_at_last"))
    step = int(info.get("step", 0))
    if step == 0 and not recorder.rows:
        recorder.record(model)
    while step < n_steps:
        model.step()
        step += 1
        if step % every == 0:
            recorder.record(model)
        if progress:
            progress(1)
        if checkpoint_path and checkpoint_every_steps and step % checkpoint_every_steps == 0 and step < n_steps:
            model.run_info = {**info, "step": step, "rows": recorder.rows,
                              "events_at_last": dict(recorder.events_at_last)}
            checkpoint.save(model, checkpoint_path)
    frame = recorder.frame()
    frame.insert(0, "arm", info.get("arm", "arm"))
    return observe(frame, model.cfg, history=info.get("history"))


def total_steps(scenario: Scenario, with_burn_in: bool = True) -> int:
    """Steps a full run takes (for progress bars)."""
    sim = scenario.simulation
    arms = len(scenario.arms) * steps_for(sim.days * 24, sim.dt_h)
    return arms + (steps_for(sim.burn_in_days * 24, sim.dt_h) if with_burn_in else 0)


def run_scenario(scenario: Scenario, out_dir: Path, progress: Progress | None = None,
                 resume_from: Path | None = None, checkpoint_every_days: float = 30.0,
                 command: str = "", report: bool = True) -> RunResult:
    """Run every arm of a scenario into ``out_dir`` (created; must not exist yet).

    The directory is written as ``<out_dir>.partial`` and renamed when complete, so a run
    directory without that suffix is always whole.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"run directory {out_dir} already exists; a finished run is never rewritten")
    started = datetime.now(UTC)
    t0 = time.perf_counter()

    # read everything a resume needs before the work directory (which may hold it) is replaced
    resumed_arm: MSCModel | None = None
    if resume_from is not None:
        resumed = checkpoint.restore(resume_from)
        if resumed.run_info.get("phase") == "arm":
            resumed_arm = resumed
            burn_file = Path(resume_from).parent / "burnin.npz"
            if not burn_file.is_file():
                raise checkpoint.CheckpointError(
                    f"{burn_file}: missing; the other arms of the run branch from it (it is written "
                    f"beside every arm checkpoint)")
            burned = checkpoint.restore(burn_file).state_dict()
        else:
            burned = resumed.state_dict()
    work = out_dir.with_name(out_dir.name + ".partial")
    if work.exists():
        left = {p.name for p in work.iterdir()} if work.is_dir() else {"?"}
        if not left <= PARTIAL_CONTENTS:
            raise OSError(f"{work} exists and holds {sorted(left - PARTIAL_CONTENTS)}, which no interrupted run "
                          f"leaves; move it away or choose another --out")
        shutil.rmtree(work)
    (work / "checkpoints").mkdir(parents=True)
    if resume_from is None:
        model = burn_in(scenario, progress)
        burned = model.state_dict()
        checkpoint.save(model, work / "checkpoints" / "burnin.npz")
    else:
        burn_model = MSCModel(scenario, rng=0)
        burn_model.load_state_dict(*burned)
        checkpoint.save(burn_model, work / "checkpoints" / "burnin.npz")

    every = steps_for(checkpoint_every_days * 24, scenario.simulation.dt_h) if checkpoint_every_days else 0
    frames = []
    for name in scenario.arms:
        if resumed_arm is not None and resumed_arm.run_info.get("arm") == name:
            arm_model = resumed_arm
        else:
            arm_model = branch(scenario, burned, name)
        frames.append(run_arm(arm_model, progress, work / "checkpoints" / f"{name}.npz", every))
    trajectories = pd.concat(frames, ignore_index=True)
    trajectories.to_parquet(work / "trajectories.parquet", index=False)
    ended = datetime.now(UTC)
    manifest = build_manifest(scenario, started, ended, time.perf_counter() - t0, command, resume_from)
    manifest["burn_in"] = burned[1].get("run_info", {}).get("burn_in")
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2, allow_nan=False))
    if report:
        from abm import report as report_mod
        report_mod.write(work, trajectories, manifest)
    os.replace(work, out_dir)
    return RunResult(out_dir, trajectories, manifest)


def build_manifest(scenario: Scenario, started: datetime, ended: datetime, wall_s: float,
                   command: str, resume_from: Path | None) -> dict:
    """Everything needed to reproduce the run."""
    burn, arms = seed_streams(scenario.seed)
    return {
        "name": scenario.name,
        "seed": scenario.seed,
        "seed_streams": {"burn_in": list(burn.spawn_key), "arms": list(arms.spawn_key),
                         "assay_noise": [OBSERVATION_SPAWN_KEY], "entropy": str(burn.entropy)},
        "clinical_columns": {"label": SURROGATE, "doc": "docs/clinical.md",
                             "columns": {c: unit for c, (unit, _) in CLINICAL_COLUMNS.items()}},
        "config_hash": config_hash(scenario),
        "config": to_dict(scenario),
        "dose_mapping": {name: [vars(i) for i in dosing.plan(scenario, arm)]
                         for name, arm in scenario.arms.items()},
        "versions": versions(),
        "engine": jit.engine(),
        "git_commit": git_commit(),
        "command": command,
        "resumed_from": str(resume_from) if resume_from else None,
        "started": started.isoformat(),
        "ended": ended.isoformat(),
        "wall_seconds": round(wall_s, 3),
        "platform": platform.platform(),
    }


def versions() -> dict[str, str]:
    """Versions of Python, msc-abm and the libraries that shape results."""
    out = {"python": sys.version.split()[0], "abm": abm.__version__}
    for pkg in ("mesa", "numpy", "numba", "scipy", "pandas", "pyarrow", "pydantic", "networkx"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def git_commit() -> str:
    """The source tree's git commit (with ``-dirty`` when modified), or ``unknown``."""
    src = Path(abm.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


PARTIAL_CONTENTS = {"checkpoints", "trajectories.parquet", "manifest.json", "report.png", "summary.md",
                    "summary.csv", "events.json"}
"""What an interrupted run can leave in ``<out>.partial`` (anything else there is not removed)."""


def default_run_dir(scenario: Scenario, root: Path = Path("runs")) -> Path:
    """``runs/<UTC time>-<name>-s<seed>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return inside(root, f"{stamp}-{scenario.name}-s{scenario.seed}")
