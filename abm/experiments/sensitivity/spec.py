"""The sensitivity specification (YAML): what to vary, how to sample it, what to measure, where to run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from abm.config.names import RunName
from abm.experiments.batch.spec import Backend
from abm.experiments.common import outcomes
from abm.experiments.common.spec import Strict

ARM_STATS = tuple(outcomes.summary_names([]))
"""The day-free outcomes a batch summary keeps (:func:`abm.experiments.common.outcomes.summary_names`)."""
DAY_STAT = re.compile(r"^(ratio|treg_pct|th17_pct)_day(\d+(?:\.\d+)?)$")
"""The day outcomes a batch summary keeps (at the spec's summary days)."""


class Parameter(Strict):
    """One varied parameter: a key path and optional bounds (default: its plausible range)."""

    key: str = Field(description="key path: 'lung.regulatory_half_life_days' (biology) or 'patient.body_weight_kg'")
    bounds: tuple[float, float] | None = Field(None, description="(low, high); default: the parameter table range")

    @model_validator(mode="after")
    def _order(self) -> Parameter:
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"parameters.{self.key}: low {self.bounds[0]} must be < high {self.bounds[1]}")
        return self


class Output(Strict):
    """One analysed output.

    For the model: an arm statistic of ``abm.experiments.batch.summary.arm_statistics`` (``ratio_day30``,
    ``treg_pct_day90``, ``ratio_auc_vs_baseline``, ``ratio_peak``, ...) in ``arm``, optionally minus
    the same statistic in the arm ``minus`` of the same run (a paired difference). For a test
    function: the key of the value the function returns (``arm``/``minus`` unused).
    """

    stat: str = Field(description="statistic (model) or returned key (test function)")
    arm: str | None = Field(None, description="arm of the scenario (model outputs)")
    minus: str | None = Field(None, description="subtract the same statistic of this arm (paired by run)")
    name: str | None = Field(None, description="column name in the results (default: derived)")

    @property
    def label(self) -> str:
        """The output's column name."""
        if self.name:
            return self.name
        if self.arm is None:
            return self.stat
        return f"{self.stat}[{self.arm}-{self.minus}]" if self.minus else f"{self.stat}[{self.arm}]"

    def day(self) -> float | None:
        """The summary day the statistic needs, if any."""
        match = DAY_STAT.match(self.stat)
        return float(match.group(2)) if match else None


class SensitivitySpec(Strict):
    """A validated sensitivity specification."""

    name: RunName = "sensitivity"
    method: Literal["morris", "sobol"]
    base: str | None = Field(None, description="scenario YAML, relative to the spec file")
    overrides: dict[str, Any] = Field(default_factory=dict, description="nested overrides of the base")
    function: str | None = Field(None, description="a registered test function (e.g. 'ishigami') instead of "
                                 "the model; see abm.experiments.sensitivity.functions")
    parameters: list[str | Parameter] = Field(description="key paths (or {key, bounds}) to vary")
    n: int = Field(description="Sobol: base samples N (a power of 2; N(2D+2) or N(D+2) points); "
                   "Morris: trajectories r (r(D+1) points)", ge=2, le=1_000_000)
    num_levels: int = Field(4, ge=2, le=100, description="Morris grid levels (even)")
    second_order: bool = Field(True, description="Sobol: also second-order indices (N(2D+2) instead of N(D+2))")
    outputs: list[Output] = Field(description="what to analyse")
    seed: int = Field(0, ge=0, description="seed of the sampler, the bootstrap, and the runs' root seed")
    replicates: int = Field(1, ge=1, le=10_000, description="runs per sample point (outputs are averaged)")
    conf_level: float = Field(0.95, gt=0, lt=1)
    num_resamples: int = Field(100, ge=10, le=100_000, description="bootstrap resamples of the intervals")
    backend: Backend = Field(default_factory=Backend)

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, params: list[str | Parameter]) -> list[str | Parameter]:
        keys = [p if isinstance(p, str) else p.key for p in params]
        if not keys:
            raise ValueError("give at least one parameter")
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"parameters listed twice: {dup}")
        return params

    @model_validator(mode="after")
    def _consistent(self) -> SensitivitySpec:
        if not self.outputs:
            raise ValueError("give at least one output")
        labels = [o.label for o in self.outputs]
        if len(set(labels)) != len(labels):
            raise ValueError(f"outputs: duplicate names {labels}")
        if self.method == "sobol" and (self.n < 4 or self.n & (self.n - 1)):
            raise ValueError(f"n: Sobol needs a power of 2 >= 4 (so N and N/2 are balanced Sobol sets), got {self.n}")
        if self.method == "morris" and self.num_levels % 2:
            raise ValueError(f"num_levels: Morris needs an even number of levels, got {self.num_levels}")
        if self.function is not None:
            if self.base or self.overrides:
                raise ValueError("a test function takes no base scenario or overrides")
            bad = [o.label for o in self.outputs if o.arm or o.minus]
            if bad:
                raise ValueError(f"outputs {bad}: arm/minus apply to the model, not a test function")
        else:
            for o in self.outputs:
                if o.arm is None:
                    raise ValueError(f"outputs: {o.stat!r} needs an arm (e.g. arm: msc)")
                if o.stat not in ARM_STATS and not DAY_STAT.match(o.stat):
                    raise ValueError(f"outputs: unknown statistic {o.stat!r}; allowed: {', '.join(ARM_STATS)}, "
                                     f"ratio_day<d>, treg_pct_day<d>, th17_pct_day<d>")
        return self

    def parameter_list(self) -> list[Parameter]:
        """Parameters as objects (plain keys become bound-less parameters)."""
        return [Parameter(key=p) if isinstance(p, str) else p for p in self.parameters]

    def summary_days(self) -> list[float]:
        """The summary days the outputs need (for the batch spec)."""
        return sorted({d for o in self.outputs if (d := o.day()) is not None})


def load_sensitivity_spec(path: str | Path) -> tuple[SensitivitySpec, dict[str, Any]]:
    """Read and validate a spec; returns it and the base scenario mapping (merged with overrides)."""
    from abm.config.load import load_with_base

    return load_with_base(path, SensitivitySpec, "sensitivity")
