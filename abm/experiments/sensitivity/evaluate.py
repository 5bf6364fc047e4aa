"""Evaluating sample points: the model through the batch layer, or a registered test function.

Both evaluators take the same explicit points (config key path -> value, point i = sample row i)
and return the same table: one row per point (index ``point``), one column per output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from abm.config.load import ConfigError
from abm.experiments.sensitivity.spec import Output, SensitivitySpec

PointFunction = Callable[[dict[str, Any]], dict[str, float]]


@dataclass
class Evaluation:
    """Outputs per point, and per-run noise when points were replicated."""

    table: pd.DataFrame
    noise: pd.DataFrame | None = None
    pending: int = 0
    failed: list[str] = field(default_factory=list)


class FunctionEvaluator:
    """Evaluate ``evaluate(point) -> dict[str, float]`` at every point, in this process."""

    def __init__(self, function: PointFunction):
        self.function = function

    def __call__(self, points: list[dict[str, Any]], outputs: list[Output]) -> Evaluation:
        records = []
        for i, point in enumerate(points):
            values = self.function(point)
            missing = [o.stat for o in outputs if o.stat not in values]
            if missing:
                raise ConfigError(f"outputs {missing}: the function returns only {sorted(values)}")
            records.append({"point": i, **{o.label: float(values[o.stat]) for o in outputs}})
        return Evaluation(pd.DataFrame(records).set_index("point"))


def batch_spec(spec: SensitivitySpec, base: dict[str, Any], points: list[dict[str, Any]]) -> dict[str, Any]:
    """The batch spec that runs every sample point (``sweep.points``) x ``replicates``."""
    return {"name": f"{spec.name}-runs", "overrides": base, "sweep": {"points": points},
            "replicates": spec.replicates, "root_seed": spec.seed,
            "summary_days": spec.summary_days() or [30.0],
            "backend": spec.backend.model_dump(mode="json", exclude_none=True)}


def outputs_from_summary(summary: pd.DataFrame, outputs: list[Output], n_points: int
                         ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Per-point outputs (mean over replicates; differences paired by run) and their replicate noise."""
    index = pd.RangeIndex(n_points, name="point")
    table = pd.DataFrame(index=index)
    noise = []
    for o in outputs:
        if summary.empty:
            table[o.label] = np.nan
            continue
        wide = summary.pivot_table(index=["point", "replicate"], columns="arm", values=o.stat, aggfunc="first")
        for arm in (o.arm, o.minus):
            if arm is not None and arm not in wide.columns:
                raise ConfigError(f"outputs {o.label}: no arm {arm!r} in the runs (arms: {sorted(wide.columns)})")
        per_run = wide[o.arm] - wide[o.minus] if o.minus else wide[o.arm]
        by_point = per_run.groupby(level="point")
        table[o.label] = by_point.mean().reindex(index)
        reps = by_point.size()
        if reps.max() > 1:
            within = float(by_point.var(ddof=1).mean())  # run-to-run variance at a fixed point
            between = float(table[o.label].var(ddof=1))  # variance of the point means across points
            noise.append({"output": o.label, "replicates": float(reps.mean()), "replicate_sd": within**0.5,
                          "point_mean_sd": between**0.5,
                          "noise_share": within / reps.mean() / between if between > 0 else np.nan})
    return table, (pd.DataFrame(noise) if noise else None)


@dataclass
class BatchEvaluator:
    """Run the points through the batch layer (backends, resume, shards) and read its summary."""

    spec: SensitivitySpec
    base: dict[str, Any]
    directory: Path
    backend: str | None = None
    workers: int | None = None
    scheduler: str | None = None
    resume: bool = False
    shard: tuple[int, int] | None = None
    progress: Callable[[dict[str, Any]], None] | None = None
    on_start: Callable[[int], None] | None = None

    @property
    def batch_dir(self) -> Path:
        return self.directory / "batch"

    @property
    def spec_file(self) -> Path:
        return self.directory / "batch.yaml"

    def write_spec(self, points: list[dict[str, Any]]) -> Path:
        """Write ``batch.yaml`` (atomically: job-array slices may write it at the same time)."""
        from abm.experiments.batch.execute import _atomic_write_bytes

        text = yaml.safe_dump(batch_spec(self.spec, self.base, points), sort_keys=False)
        _atomic_write_bytes(self.spec_file, ("# written by abm sensitivity; do not edit (resume checks its runs)\n"
                                             + text).encode())
        return self.spec_file

    def prepare(self, points: list[dict[str, Any]]) -> int:
        """Create the batch directory and plan its runs without running any (before job-array slices)."""
        from abm.experiments.batch.runner import prepare

        return len(prepare(self.write_spec(points), self.batch_dir, resume=True)[1])

    def __call__(self, points: list[dict[str, Any]], outputs: list[Output]) -> Evaluation:
        from abm.experiments.batch.runner import run_batch

        self.write_spec(points)
        result = run_batch(self.spec_file, self.batch_dir, backend=self.backend, workers=self.workers,
                           scheduler=self.scheduler, resume=self.resume or self.batch_dir.exists(),
                           shard_spec=self.shard, progress=self.progress, on_start=self.on_start)
        summary = pd.read_parquet(self.batch_dir / "summary.parquet")
        table, noise = outputs_from_summary(summary, outputs, len(points))
        st = result.status
        return Evaluation(table, noise, pending=len(st.pending), failed=list(st.failed))
