"""The calibration specification (YAML): base scenario, parameters with priors, data, ABC-SMC settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from abm.config.load import load_with_base
from abm.config.names import RunName
from abm.experiments.batch.spec import JobQueue
from abm.experiments.common.spec import Strict
from abm.experiments.sensitivity.spec import Parameter as VariedParameter


class Parameter(VariedParameter):
    """One calibrated parameter: key path, optional bounds (default: the plausible range), prior shape."""

    prior: Literal["uniform", "log_uniform"] = Field("uniform", description="prior over the bounds")


class Data(Strict):
    """What the model is fitted to: findings ids (reported values), optionally replaced by synthetic data.

    ``findings`` define the summary statistics (level rows: the simulated window mean against the reported
    interval; direction rows: the signed paired effect, a hinge distance).  With ``synthetic`` (key path ->
    value) the target of every statistic is instead the model's own output at those parameter values.
    """

    findings: list[str] = Field(description="finding ids of the findings file: the rows the posterior is fit to")
    validation: list[str] = Field(default_factory=list, description="finding ids held out: never fit, scored in the "
                                "posterior-predictive check beside the fit rows")
    one_treated_per_study: bool = Field(False, description="refuse a fit list with more than one treated time "
                                        "point of one study (fit on baselines and at most one treated row each)")
    synthetic: dict[str, float] | None = Field(None, description="key path -> true value: fit model output")

    @model_validator(mode="after")
    def _split(self) -> Data:
        both = sorted(set(self.findings) & set(self.validation))
        if both:
            raise ValueError(f"data.validation: {', '.join(both)} also in data.findings; a row is either fit or "
                             f"held out")
        return self


class Sampler(Strict):
    """How pyABC evaluates the model (every kind gives the same posterior for the same seed)."""

    kind: Literal["single", "multicore", "dask"] = "multicore"
    workers: int | None = Field(None, ge=1, description="processes / Dask workers (default: all cores)")
    scheduler: str | None = Field(None, description="address of a running Dask scheduler (kind: dask)")
    jobqueue: JobQueue | None = Field(None, description="SLURM/PBS cluster via dask-jobqueue (kind: dask), "
                                      "as in batch specs")


class CalibrationSpec(Strict):
    """A validated calibration specification."""

    name: RunName = "calibration"
    base: str | None = Field(None, description="scenario YAML, relative to the spec file")
    overrides: dict[str, Any] = Field(default_factory=dict, description="nested overrides of the base (speed)")
    parameters: list[str | Parameter] = Field(min_length=1, description="key paths (or {key, bounds, prior})")
    data: Data
    findings_file: str | None = Field(None, description="findings CSV (default: the shared findings.csv)")
    population_size: int = Field(100, ge=5, le=100_000)
    generations: int = Field(6, ge=1, le=100, description="maximum ABC-SMC generations")
    min_epsilon: float = Field(0.0, ge=0, description="stop once the acceptance threshold is at or below this")
    max_simulations: int | None = Field(None, ge=1, description="stop after this many model runs in total")
    replicates: int = Field(1, ge=1, le=100, description="model runs (seeds) averaged per parameter draw")
    sampler: Sampler = Field(default_factory=Sampler)
    seed: int = Field(0, ge=0, description="seed of the ABC sampler: same seed, same posterior on any sampler")
    predictive_draws: int = Field(8, ge=0, le=1000, description="posterior draws rerun for the predictive check")

    def parameter_list(self) -> list[Parameter]:
        """Parameters, bare key paths expanded."""
        return [p if isinstance(p, Parameter) else Parameter(key=p) for p in self.parameters]


def load_calibration_spec(path: str | Path) -> tuple[CalibrationSpec, dict[str, Any]]:
    """The spec and its base scenario mapping (``base`` followed, ``overrides`` merged)."""
    return load_with_base(path, CalibrationSpec, "calibration")
