"""Tidy batch results: one summary row per run and arm, and all trajectories as one long frame."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from abm.experiments.batch.execute import RUNS, finished_record, read_batch, write_parquet
from abm.experiments.common import outcomes

KEY = "blood_treg_th17_ratio"
SUMMARY_FILE = "summary.parquet"


def run_files(batch_dir: str | Path) -> list[Path]:
    """Trajectory files of the finished runs (those with a record), in run order."""
    runs = Path(batch_dir) / RUNS
    return sorted(p for p in runs.glob("*.parquet") if finished_record(runs, p.stem) is not None)


def load_trajectories(batch_dir: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """All finished runs' trajectories as one long frame (run id, seed, swept parameters, arm, t_days, ...).

    Pass ``columns`` to read only what a plot needs (memory stays small for large batches).
    """
    files = run_files(batch_dir)
    if not files:
        return pd.DataFrame()
    if columns is None:
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    frames = []
    for f in files:  # one-at-a-time sweeps: not every file has every swept column
        present = [c for c in columns if c in pq.read_schema(f).names]
        frames.append(pd.read_parquet(f, columns=present).reindex(columns=columns))
    return pd.concat(frames, ignore_index=True)


def arm_statistics(df: pd.DataFrame, days: list[float]) -> dict[str, float]:
    """Key outcomes of one arm's trajectory (:func:`abm.experiments.common.outcomes.summary_names`): the
    blood ratio, Treg % and Th17 % at chosen days, the ratio's baseline, peak, time to peak and its area
    against the day-0 baseline (ratio x days)."""
    return outcomes.of_arm(df, outcomes.summary_names(days))


def summarise(batch_dir: str | Path, days: list[float] | None = None) -> pd.DataFrame:
    """One row per finished run and arm: ids, seed, swept parameters, statistics, wall time."""
    batch_dir = Path(batch_dir)
    if days is None:
        meta = read_batch(batch_dir)
        days = meta["spec"].get("summary_days", [7, 30, 90, 180])
    rows = []
    for path in run_files(batch_dir):
        traj = pd.read_parquet(path)
        record = finished_record(path.parent, path.stem)
        for arm, df in traj.groupby("arm", sort=False):
            rows.append({"run_id": record["run_id"], "point": record["point"],
                         "replicate": record["replicate"], "seed": record["seed"], **record["params"],
                         "arm": arm, **arm_statistics(df, days),
                         "wall_seconds": record.get("wall_seconds")})
    return pd.DataFrame(rows)


def write_summary(batch_dir: str | Path) -> pd.DataFrame:
    """Write ``summary.parquet`` (atomically) and return it."""
    frame = summarise(batch_dir)
    write_parquet(Path(batch_dir) / SUMMARY_FILE, frame)
    return frame
