"""The batch specification (YAML): a base scenario, sweeps, replicates, seeds, backend options."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from abm.config.names import RunName
from abm.experiments.common.spec import Strict


class Sample(Strict):
    """Random or Latin-hypercube samples of parameters within bounds."""

    method: Literal["random", "lhs"] = "lhs"
    n: int = Field(ge=1, le=1_000_000, description="number of parameter points")
    bounds: dict[str, tuple[float, float]] = Field(description="key path -> (low, high)")
    log: list[str] = Field(default_factory=list, description="key paths sampled on a log scale")
    seed: int = Field(0, ge=0, description="seed of the sampler (independent of run seeds)")

    @model_validator(mode="after")
    def _bounds(self) -> Sample:
        if not self.bounds:
            raise ValueError("sample.bounds needs at least one key path")
        for key, (lo, hi) in self.bounds.items():
            if not lo < hi:
                raise ValueError(f"sample.bounds.{key}: low {lo} must be < high {hi}")
            if key in self.log and lo <= 0:
                raise ValueError(f"sample.bounds.{key}: a log-scale bound must be > 0, got {lo}")
        unknown = set(self.log) - set(self.bounds)
        if unknown:
            raise ValueError(f"sample.log names keys without bounds: {sorted(unknown)}")
        return self


class Sweep(Strict):
    """Which parameter points to run: explicit points, a full grid, and/or samples (combined as a
    product: every explicit point x every grid point x every sample)."""

    points: list[dict[str, Any]] = Field(default_factory=list, description="explicit points: key path -> value")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="key path -> values (full factorial)")
    sample: Sample | None = None

    @field_validator("grid")
    @classmethod
    def _grid(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if not values:
                raise ValueError(f"sweep.grid.{key}: give at least one value")
        return grid


class JobQueue(Strict):
    """A SLURM or PBS cluster through dask-jobqueue (one Dask worker per job)."""

    kind: Literal["slurm", "pbs"] = "slurm"
    jobs: int = Field(2, ge=1, description="number of batch jobs (workers) to request")
    cores: int = Field(1, ge=1, description="cores per job")
    memory: str = Field("2GB", description="memory per job, e.g. '4GB'")
    walltime: str = Field("01:00:00", description="walltime per job HH:MM:SS")
    queue: str | None = Field(None, description="partition / queue")
    account: str | None = Field(None, description="account / project to charge")
    job_extra_directives: list[str] = Field(default_factory=list, description="extra #SBATCH/#PBS lines")
    job_script_prologue: list[str] = Field(default_factory=list, description="shell lines before the worker")
    interface: str | None = Field(None, description="network interface of the workers, e.g. 'ib0'")
    scheduler_host: str | None = Field(None, description="address the scheduler binds to")
    loopback_only: bool = Field(False, description="bind scheduler, workers and dashboards to 127.0.0.1 "
                                "(a single-node test cluster; never on a real multi-node cluster)")
    python: str | None = Field(None, description="python of the workers (default: this interpreter)")
    local_directory: str | None = Field(None, description="worker scratch directory")
    log_directory: str | None = Field(None, description="where job output files go (default: the cwd)")


class Backend(Strict):
    """Execution settings (the CLI may override them)."""

    kind: Literal["local", "dask", "serial"] = "local"
    workers: int | None = Field(None, ge=1, description="processes (local) or Dask workers; default: cores")
    scheduler: str | None = Field(None, description="address of a running Dask scheduler")
    retries: int = Field(2, ge=0, le=20, description="re-runs of a task whose worker died")
    jobqueue: JobQueue | None = None


class BatchSpec(Strict):
    """A validated batch specification."""

    name: RunName = "batch"
    base: str | None = Field(None, description="scenario YAML, relative to the spec file")
    overrides: dict[str, Any] = Field(default_factory=dict, description="nested overrides of the base")
    sweep: Sweep = Field(default_factory=Sweep)
    replicates: int = Field(1, ge=1, le=100_000)
    root_seed: int = Field(0, ge=0)
    point_seeds: list[int] | None = Field(
        None, description="a root seed per sweep point, whose replicates then have seeds of their own (virtual "
        "patients); default: every point shares the replicates' seeds of root_seed (points paired by replicate)")
    summary_days: list[float] = Field(default_factory=lambda: [7.0, 30.0, 90.0, 180.0])
    backend: Backend = Field(default_factory=Backend)


def load_spec(path: str | Path) -> tuple[BatchSpec, dict[str, Any]]:
    """Read and validate a spec; returns it and the base scenario mapping (not yet validated)."""
    from abm.config.load import load_with_base

    return load_with_base(path, BatchSpec, "batch")
