"""The cohort specification (YAML): the trial scenario, the patient priors, inclusion criteria, read-outs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from abm.config.names import RunName
from abm.experiments.batch.spec import Backend
from abm.experiments.common.spec import Strict


class Prior(Strict):
    """The distribution of one patient parameter over the virtual population, with its source."""

    distribution: Literal["lognormal", "loguniform", "uniform", "normal"]
    median: float | None = Field(None, gt=0, description="lognormal: median")
    sd_log: float | None = Field(None, gt=0, description="lognormal: SD of the natural log")
    low: float | None = Field(None, description="uniform / loguniform: lower end; others: clip below")
    high: float | None = Field(None, description="uniform / loguniform: upper end; others: clip above")
    mean: float | None = Field(None, description="normal: mean")
    sd: float | None = Field(None, gt=0, description="normal: SD")
    source: str = Field(min_length=3, description="where the spread comes from (a paper, or 'assumption: why')")

    @model_validator(mode="after")
    def _complete(self) -> Prior:
        need = {"lognormal": ("median", "sd_log"), "loguniform": ("low", "high"), "uniform": ("low", "high"),
                "normal": ("mean", "sd")}[self.distribution]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.distribution} prior needs {', '.join(missing)}")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low {self.low} must be < high {self.high}")
        if self.distribution == "loguniform" and self.low is not None and self.low <= 0:
            raise ValueError(f"a loguniform prior needs low > 0, got {self.low}")
        return self


class Criterion(Strict):
    """An inclusion criterion on the untreated state at screening (day 0): ``column`` within [min, max]."""

    column: str = Field(description="an observation or trajectory column, e.g. sledai2k, das28_crp")
    min: float | None = Field(None, description="include when the value is >= min")
    max: float | None = Field(None, description="include when the value is <= max")
    source: str = Field("", description="the trial's criterion this stands for")

    @model_validator(mode="after")
    def _bounded(self) -> Criterion:
        if self.min is None and self.max is None:
            raise ValueError(f"inclusion on {self.column}: give min and/or max")
        return self

    def describe(self) -> str:
        """``sledai2k >= 8``-style text."""
        parts = ([f"{self.column} >= {self.min:g}"] if self.min is not None else []) + (
            [f"{self.column} <= {self.max:g}"] if self.max is not None else [])
        return " and ".join(parts)


class BaselineTarget(Strict):
    """A trial's published baseline distribution the virtual population is selected to match (after the
    inclusion criteria; :mod:`abm.experiments.cohort.select`)."""

    column: str = Field(description="a screened column, e.g. sledai2k")
    mean: float
    sd: float = Field(gt=0)
    source: str = Field(min_length=3, description="the trial the numbers come from")


class Posterior(Strict):
    """Epistemic variation: every patient is run under ``draws`` parameter sets resampled (by weight) from a
    calibration posterior (``posterior.csv`` of ``abm calibrate``)."""

    file: str = Field(description="posterior.csv, relative to the spec file")
    draws: int = Field(4, ge=1, le=1000)


class Readout(Strict):
    """How the trial is read."""

    index: str | None = Field(None, description="the index column events are read on (default: the disease's: "
                              "SLE sledai2k, RA das28_crp)")
    days: list[float] = Field(default_factory=lambda: [30.0, 90.0, 180.0],
                              description="days at which rates, changes and power are reported")
    trial_sizes: list[int] = Field(default_factory=lambda: [14, 40], description="patients per arm for the power "
                                   "of a paired test of the index change from baseline (Liu 2011: 14; Wang D 2014: 40)")
    bootstrap: int = Field(2000, ge=100, le=100_000, description="bootstrap resamples over patients")
    power_resamples: int = Field(1000, ge=100, le=100_000)
    alpha: float = Field(0.05, gt=0, lt=1)


class CohortSpec(Strict):
    """A validated cohort specification."""

    name: RunName = "cohort"
    base: str = Field(description="the trial scenario YAML, relative to the spec file")
    overlay: str | None = Field(None, description="a calibrated overlay (e.g. posterior medians), relative to the "
                                "spec file, merged onto the base before the overrides")
    overrides: dict[str, Any] = Field(default_factory=dict, description="nested overrides of the base")
    patients: int = Field(ge=2, le=100_000, description="virtual patients to sample and screen")
    seed: int = Field(0, ge=0, description="seed of the patient sampler, trait seeds, bootstrap and run seeds")
    replicates: int = Field(1, ge=1, le=1000, description="simulation seeds per patient (aleatory variation)")
    priors: dict[str, Prior] = Field(description="key path -> prior of that patient parameter")
    inclusion: list[Criterion] = Field(default_factory=list)
    baseline: BaselineTarget | None = Field(None, description="select the included patients to this baseline "
                                            "distribution (Allen 2016)")
    treated_arm: str = "msc"
    control_arm: str = "untreated"
    posterior: Posterior | None = None
    readout: Readout = Field(default_factory=Readout)
    backend: Backend = Field(default_factory=Backend)

    @model_validator(mode="after")
    def _keys(self) -> CohortSpec:
        if not self.priors:
            raise ValueError("priors: give at least one patient parameter")
        reserved = {"seed", "name", "patient.trait_seed"} & set(self.priors)
        if reserved:
            raise ValueError(f"priors: {sorted(reserved)} are set by the cohort (seed, name, trait seed)")
        if self.treated_arm == self.control_arm:
            raise ValueError("treated_arm and control_arm must differ")
        return self


def load_cohort_spec(path: str | Path) -> tuple[CohortSpec, dict[str, Any]]:
    """Read and validate a spec; returns it and the base scenario mapping (overlay and overrides merged)."""
    from abm.config.load import ConfigError, load_with_base, merge_onto, read_yaml

    path = Path(path)
    spec, base = load_with_base(path, CohortSpec, "cohort")
    if spec.overlay:
        overlay_path = (path.parent / spec.overlay).resolve()
        if not overlay_path.is_file():
            raise ConfigError(f"{path}: overlay: no such file {overlay_path}")
        base = merge_onto(base, read_yaml(overlay_path), origin=f"{path}: overlay")
        base = merge_onto(base, spec.overrides, origin=f"{path}: overrides")
    return spec, base
