"""Running a virtual trial: sample, burn in and screen, run the included patients' arms, read the trial.

Two batches, both on the batch layer (local, Dask or SLURM backends; resumable; sharded for job arrays):

1. ``screen/``: every sampled patient's burn-in and its control arm for one day.  Inclusion criteria are
   applied to the untreated state at day 0 (the burned-in patient).  Rejected patients cost a burn-in only.
2. ``arms/``: the included patients x posterior draws x replicates, every arm, paired from the patient's
   burned-in state.  The burn-ins of replicate 0 are reused from the screening batch (hard links of its
   checkpoint cache), since the burn-in reads neither the arms nor the follow-up nor the
   treatment-only parameters a posterior draws.

``--shard i/n`` runs slice i of whichever batch is pending; run the job array again (or once without
``--shard``) after the screening is complete.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from abm.clinical import COLUMNS as CLINICAL_COLUMNS
from abm.clinical import SURROGATE, events
from abm.config import ConfigError, validate_dict
from abm.config.names import inside
from abm.experiments.cohort import analyse as an
from abm.experiments.cohort import patients as pt
from abm.experiments.cohort.spec import CohortSpec, load_cohort_spec
from abm.experiments.common.outdir import prepare_directory

META_FILE = "cohort.json"
SCREEN_COLUMNS = ("blood_treg_pct_cd4", "blood_th17_pct_cd4", "blood_treg_th17_ratio", "tissue_treg_pct_cd4",
                  "tissue_th17_pct_cd4")
"""Recorded columns an inclusion criterion may use besides the clinical ones."""


@dataclass
class CohortResult:
    """What a cohort invocation did and found."""

    directory: Path
    stage: str  # "screen" or "arms" while runs are pending or failed, "done" after the analysis
    pending: int = 0
    failed: list[str] = field(default_factory=list)
    screened: int = 0
    included: int = 0
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    wall_seconds: dict[str, float] = field(default_factory=dict)


def index_column(spec: CohortSpec, base: dict[str, Any]) -> str:
    """The index the trial's events are read on (the spec's, else the disease's)."""
    if spec.readout.index:
        return spec.readout.index
    return events.index_for(validate_dict(base, origin="cohort base").disease.preset)


def validate(spec: CohortSpec, base: dict[str, Any]) -> tuple[set[str], str]:
    """Check the whole request before anything is written; returns the integer prior keys and the index."""
    scenario = validate_dict(base, origin="cohort base")
    for role, arm in (("treated_arm", spec.treated_arm), ("control_arm", spec.control_arm)):
        if arm not in scenario.arms:
            raise ConfigError(f"{role}: {arm!r} is no arm of the base scenario (arms: {', '.join(scenario.arms)})")
    integer = pt.check_keys(spec, base)
    index = index_column(spec, base)
    if index not in events.RESPONSE_RULES:
        raise ConfigError(f"readout.index: {index!r} has no response definition; allowed: "
                          f"{', '.join(events.RESPONSE_RULES)}")
    allowed = set(CLINICAL_COLUMNS) | set(SCREEN_COLUMNS)
    for role, column in [("inclusion", c.column) for c in spec.inclusion] + (
            [("baseline", spec.baseline.column)] if spec.baseline else []):
        if column not in allowed:
            raise ConfigError(f"{role}: column {column!r} is not screened; allowed: {', '.join(sorted(allowed))}")
    too_late = [d for d in spec.readout.days if d > scenario.simulation.days]
    if too_late:
        raise ConfigError(f"readout.days {too_late} lie after the follow-up ({scenario.simulation.days:g} days)")
    return integer, index


def _batch_spec(spec: CohortSpec, base: dict[str, Any], points: list[dict[str, Any]], seeds: list[int],
                name: str, replicates: int) -> dict[str, Any]:
    return {"name": f"{spec.name}-{name}", "overrides": base, "sweep": {"points": points},
            "replicates": replicates, "root_seed": spec.seed, "point_seeds": [int(s) for s in seeds],
            "summary_days": [0.0],
            "backend": spec.backend.model_dump(mode="json", exclude_none=True)}


def _write_spec(path: Path, doc: dict[str, Any]) -> Path:
    from abm.experiments.batch.execute import _atomic_write_bytes

    text = "# written by abm cohort; do not edit (resume checks its runs)\n" + yaml.safe_dump(doc, sort_keys=False)
    _atomic_write_bytes(path, text.encode())
    return path


def screening_base(base: dict[str, Any], control_arm: str) -> dict[str, Any]:
    """The screening scenario: the control arm only, for one recorded day after the burn-in."""
    sim = dict(base.get("simulation", {}))
    sim["days"] = max(1, int(round(float(sim.get("record_every_h", 24.0)) / 24.0)))
    return {**base, "arms": {control_arm: base["arms"][control_arm]}, "simulation": sim,
            "findings": []}


def patient_params(row: pd.Series, keys: list[str]) -> dict[str, Any]:
    """A patient's sweep point: its sampled parameters and its trait seed."""
    point = {k: row[k].item() if hasattr(row[k], "item") else row[k] for k in keys}  # numpy -> Python
    return point | {"patient.trait_seed": int(row["trait_seed"])}


def screen(frame: pd.DataFrame, spec: CohortSpec) -> pd.DataFrame:
    """Per patient (sweep point): the screened values at day 0 and whether every criterion holds."""
    day0 = frame[frame["t_days"] == 0].groupby("point").first()
    out = pd.DataFrame(index=day0.index)
    out["included"] = True
    out["excluded_by"] = ""
    for column in screened_columns(spec):
        out[f"screen_{column}"] = day0[column].astype(float)
    for c in spec.inclusion:
        v = day0[c.column].astype(float)
        ok = pd.Series(True, index=v.index)
        if c.min is not None:
            ok &= v >= c.min
        if c.max is not None:
            ok &= v <= c.max
        newly = out["included"] & ~ok
        out.loc[newly, "excluded_by"] = c.describe()
        out["included"] &= ok
    return out


def screened_columns(spec: CohortSpec) -> set[str]:
    """The columns read at screening (criteria and the baseline target)."""
    return {c.column for c in spec.inclusion} | ({spec.baseline.column} if spec.baseline else set())


def select_baseline(table: pd.DataFrame, spec: CohortSpec) -> pd.DataFrame:
    """Keep included patients with the Allen 2016 acceptance probability for the baseline target."""
    from abm.experiments.cohort import select

    t = spec.baseline
    ok = table["included"].to_numpy()
    values = table[f"screen_{t.column}"].to_numpy(float)
    kept = np.zeros(len(table), bool)
    try:
        kept[ok] = select.select(values[ok], t.mean, t.sd, pt.stream(spec.seed, pt.SELECT_KEY))
    except ValueError as exc:
        raise ConfigError(f"baseline: {exc} (only {int(ok.sum())} patients pass the inclusion)") from None
    table = table.copy()
    table.loc[ok & ~kept, "excluded_by"] = f"baseline selection to {t.column} {t.mean:g} +/- {t.sd:g}"
    table["included"] = ok & kept
    return table


def share_burn_ins(screen_dir: Path, arms_dir: Path) -> int:
    """Hard-link (or copy) the screening batch's burn-in checkpoints into the arms batch's cache."""
    from abm.experiments.batch.execute import BURNIN

    src, dst = screen_dir / BURNIN, arms_dir / BURNIN
    if not src.is_dir():
        return 0
    dst.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in src.glob("*.npz"):
        target = dst / f.name
        if target.exists():
            continue
        try:
            os.link(f, target)
        except OSError:
            shutil.copy2(f, target)
        n += 1
    return n


def run_cohort(spec_path: str | Path, out: Path | None = None, *, backend: str | None = None,
               workers: int | None = None, scheduler: str | None = None, resume: bool = False,
               shard: tuple[int, int] | None = None,
               progress: Callable[[dict[str, Any]], None] | None = None,
               on_start: Callable[[int], None] | None = None) -> CohortResult:
    """Sample, screen, run and read a virtual trial; writes its tables, figures and report into ``out``."""
    from abm.experiments.batch.runner import run_batch
    from abm.experiments.batch.summary import load_trajectories

    spec_path = Path(spec_path)
    spec, base = load_cohort_spec(spec_path)
    integer, index = validate(spec, base)
    draws = pt.posterior_draws(spec, spec_path.parent)
    table = pt.sample(spec, integer)
    out = Path(out) if out is not None else inside(Path("runs"), "cohort", spec.name)
    fingerprint = {"name": spec.name, "spec_file": str(spec_path), "spec": spec.model_dump(mode="json"),
                   "base": base, "label": SURROGATE}
    prepare_directory(out, META_FILE, "cohort", resume or shard is not None, fingerprint, ["spec", "base"])
    table.to_csv(out / "patients_sampled.csv", index=False)
    keys = list(spec.priors)
    result = CohortResult(out, "screen")
    kw = {"backend": backend, "workers": workers, "scheduler": scheduler, "progress": progress,
          "on_start": on_start}

    # 1. screening: burn-in + one day of the control arm per sampled patient
    t0 = time.perf_counter()
    points = [patient_params(row, keys) for _, row in table.iterrows()]
    screen_spec = _write_spec(out / "screen.yaml", _batch_spec(
        spec, screening_base(base, spec.control_arm), points, table["run_seed"].tolist(), "screen", 1))
    screen_dir = out / "screen"
    res = run_batch(screen_spec, screen_dir, resume=screen_dir.exists(), shard_spec=shard, **kw)
    result.wall_seconds["screen"] = time.perf_counter() - t0
    if res.status.pending or res.status.failed:
        result.pending, result.failed = len(res.status.pending), list(res.status.failed)
        return result
    needed = ["point", "t_days", *sorted(screened_columns(spec))]
    screened = screen(load_trajectories(screen_dir, columns=needed), spec)
    table = table.join(screened, on="patient")
    if spec.baseline is not None:
        table = select_baseline(table, spec)
    table.to_csv(out / "patients.csv", index=False)
    included = table[table["included"]].reset_index(drop=True)
    result.screened, result.included = len(table), len(included)
    if included.empty:
        criteria = "; ".join(c.describe() for c in spec.inclusion)
        raise ConfigError(f"inclusion: no patient of {len(table)} passes ({criteria}): "
                          "widen the priors or the criteria")

    # 2. the arms: included patients x posterior draws x replicates
    t0 = time.perf_counter()
    result.stage = "arms"
    cells = [(p, d) for p in range(len(included)) for d in range(len(draws))]
    arm_points = [patient_params(included.iloc[p], keys) | {k: float(draws.iloc[d][k]) for k in draws.columns}
                  for p, d in cells]
    arm_seeds = [int(included.iloc[p]["run_seed"]) for p, _ in cells]  # a patient's draws share its seeds
    arms_spec = _write_spec(out / "arms.yaml", _batch_spec(spec, base, arm_points, arm_seeds, "arms",
                                                         spec.replicates))
    arms_dir = out / "arms"
    if not arms_dir.exists():
        from abm.experiments.batch.runner import prepare

        prepare(arms_spec, arms_dir, resume=False)
    share_burn_ins(screen_dir, arms_dir)
    res = run_batch(arms_spec, arms_dir, resume=True, shard_spec=shard, **kw)
    result.wall_seconds["arms"] = time.perf_counter() - t0
    if res.status.pending or res.status.failed:
        result.pending, result.failed = len(res.status.pending), list(res.status.failed)
        return result

    # 3. the trial as a clinic reads it
    t0 = time.perf_counter()
    frame = load_trajectories(arms_dir, columns=["point", "replicate", "arm", "t_days", index])
    cell_of = pd.DataFrame(cells, columns=["included_row", "draw"])
    cell_of["patient"] = included["patient"].to_numpy()[cell_of["included_row"]]
    frame = frame.join(cell_of[["patient", "draw"]], on="point")
    ev = validate_dict(base, origin="cohort base").observation.events
    visit_rows, course_rows = [], []
    for (patient, draw, rep, arm), g in frame.groupby(["patient", "draw", "replicate", "arm"], sort=True):
        days, values = events.at_visits(g["t_days"].to_numpy(), g[index].to_numpy(), ev.visit_days)
        ids = {"patient": patient, "draw": draw, "replicate": rep, "arm": arm}
        visit_rows += [ids | {"day": d, "value": v} for d, v in zip(days, values, strict=True)]
        course_rows.append(ids | events.course(days, values, index, ev).__dict__)
    visits, courses = pd.DataFrame(visit_rows), pd.DataFrame(course_rows)
    rng = pt.stream(spec.seed, pt.BOOTSTRAP_KEY)
    r = spec.readout
    last = max(r.days)
    tables = {
        "courses": courses, "visits": visits,
        "rates": an.rates(courses, r.days, r.bootstrap, rng),
        "index": an.index_bands(visits, spec.treated_arm, spec.control_arm, r.bootstrap, rng),
        "relapse_free": an.relapse_free(courses, spec.treated_arm),
        "power": an.power(visits, spec.treated_arm, r.days, r.trial_sizes, r.alpha, r.power_resamples, rng),
        "responders": an.responders(courses, included, spec.treated_arm, keys, last),
        "variation": pd.concat([an.variation(visits, spec.treated_arm, spec.control_arm, d).assign(day=d)
                                for d in r.days], ignore_index=True),
    }
    for name, t in tables.items():
        t.to_csv(out / f"{name}.csv", index=False)
    result.wall_seconds["analysis"] = time.perf_counter() - t0
    result.stage, result.tables = "done", tables
    from abm.experiments.cohort import report

    report.write(out, spec, index, table, tables, draws, result, _cost(screen_dir, arms_dir))
    return result


def _cost(screen_dir: Path, arms_dir: Path) -> dict[str, float]:
    """Summed run wall time (s) of each batch, from the runs' records."""
    import json

    from abm.experiments.batch.execute import RUNS

    out = {}
    for name, d in (("screen", screen_dir), ("arms", arms_dir)):
        walls = [json.loads(f.read_text()).get("wall_seconds", 0.0) for f in (d / RUNS).glob("*.json")
                 if not f.name.endswith(".error.json")]
        out[name] = float(sum(walls))
        out[f"{name}_runs"] = len(walls)
    return out
