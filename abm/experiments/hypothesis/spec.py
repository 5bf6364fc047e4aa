"""The hypothesis specification (YAML): base scenario, reference and control arms, factors, design,
outcomes, replicates, statistics and backend.

```yaml
name: sle-blockades
base: ../default_trial.yaml        # scenario file, relative to this spec
overrides: {simulation: {days: 90}}
reference: msc                     # the full-mechanism arm of the base scenario
control: untreated                 # the untreated arm: gain = reference - control
design: one_at_a_time              # or factorial
factors:
  ido: {blockade: ido_inhibitor}                 # levels default to [true]
  no_msc: {key: control, levels: [untreated]}    # a key of the reference arm's treatment
  il6: {key: biology.some_key, levels: [0.5]}     # a scenario key: changes the burn-in (see design.py)
outcomes: [ratio_day30, ratio_auc, th17_pct_day30]
findings: [LIU11-TH17-7]            # scored in every cell (default: the base scenario's findings)
replicates: 8
root_seed: 2026
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from abm.biology.treatment import Blockades, Treatment
from abm.config.names import RunName
from abm.experiments.batch.spec import Backend
from abm.experiments.common import outcomes
from abm.experiments.common.spec import Strict

ARM_KEYS = frozenset(Treatment.model_fields)
SCENARIO_KEYS = frozenset({"tissue", "patient", "disease", "biology", "simulation"})
FORBIDDEN_KEYS = frozenset({"simulation.days", "simulation.dt_h", "simulation.record_every_h"})

MEASURES, LABELS, OUTCOME_RE = outcomes.MEASURES, outcomes.LABELS, outcomes.OUTCOME_RE
"""The shared outcome grammar (:mod:`abm.experiments.common.outcomes`)."""


class Factor(Strict):
    """A blockade (levels default to [true]) or a key path with the levels to try.

    A key path starting with a treatment field (``blockades``, ``control``, ``dose``, ``product``,
    ``route``, ``schedule``, ``concomitant``) changes the reference arm's treatment (arm level: same
    burned-in patient).  A key path starting with ``biology``, ``disease``, ``patient``, ``tissue`` or
    ``simulation`` changes the scenario (and so the burn-in)."""

    blockade: str | None = Field(None, description="a Blockades field, e.g. ido_inhibitor")
    key: str | None = Field(None, description="key path, relative to the arm's treatment or the scenario")
    levels: list[Any] | None = Field(None, description="values to try (the reference's own value is the baseline)")
    label: str | None = Field(None, description="words for the plain-language line, e.g. 'blocking IDO'")

    @model_validator(mode="after")
    def _one(self) -> Factor:
        if (self.blockade is None) == (self.key is None):
            raise ValueError("give exactly one of blockade or key")
        if self.blockade is not None:
            if self.blockade not in Blockades.model_fields:
                raise ValueError(f"unknown blockade {self.blockade!r}; one of {sorted(Blockades.model_fields)}")
            if self.levels is None:
                self.levels = [True]
        if not self.levels:
            raise ValueError("give at least one level")
        head = self.path.split(".")[0]
        if head not in ARM_KEYS | SCENARIO_KEYS:
            raise ValueError(f"key {self.path!r} must start with a treatment field {sorted(ARM_KEYS)} or a "
                             f"scenario section {sorted(SCENARIO_KEYS)}")
        if self.path in FORBIDDEN_KEYS:
            raise ValueError(f"{self.path} cannot be a factor (arms must share the time axis)")
        return self

    @property
    def path(self) -> str:
        """Key path (blockades as ``blockades.<name>``)."""
        return f"blockades.{self.blockade}" if self.blockade else str(self.key)

    @property
    def arm_level(self) -> bool:
        """True when the factor changes only the treatment (all its cells share the burned-in patient)."""
        return self.path.split(".")[0] in ARM_KEYS


class HypothesisSpec(Strict):
    """A validated hypothesis specification."""

    name: RunName = "hypothesis"
    base: str | None = Field(None, description="scenario YAML, relative to the spec file")
    overrides: dict[str, Any] = Field(default_factory=dict, description="nested overrides of the base")
    reference: str = Field("msc", description="the full-mechanism arm of the base scenario")
    control: str = Field("untreated", description="the untreated arm (gain = reference - control)")
    design: Literal["one_at_a_time", "factorial"] = "one_at_a_time"
    factors: dict[str, Factor]
    outcomes: list[str] = Field(default_factory=lambda: ["ratio_day30", "ratio_auc"])
    replicates: int = Field(8, ge=2, le=100_000)
    root_seed: int = Field(0, ge=0)
    correction: Literal["holm", "bh", "none"] = "holm"
    family: Literal["outcome", "all"] = Field(
        "outcome", description="multiple-testing family: the contrasts of one outcome, or every contrast")
    interval: Literal["t", "bootstrap"] = Field("t", description="interval used in the lines and forest plot")
    n_boot: int = Field(4000, ge=200, le=1_000_000)
    bootstrap_seed: int = Field(0, ge=0)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    backend: Backend = Field(default_factory=Backend)
    findings: list[str] | None = Field(
        None, description="finding ids every cell is scored against (default: the base scenario's findings; "
                          "[] for none)")

    @field_validator("factors")
    @classmethod
    def _factors(cls, factors: dict[str, Factor]) -> dict[str, Factor]:
        if not factors:
            raise ValueError("give at least one factor")
        for name in factors:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name) or "__" in name:
                raise ValueError(f"factor name {name!r}: letters, digits, '-' or '_' (no '__')")
        return factors

    @field_validator("outcomes")
    @classmethod
    def _outcomes(cls, outcomes: list[str]) -> list[str]:
        if not outcomes:
            raise ValueError("give at least one outcome")
        for o in outcomes:
            parse_outcome(o)
        return outcomes

    @model_validator(mode="after")
    def _arms(self) -> HypothesisSpec:
        if self.reference == self.control:
            raise ValueError("reference and control must be different arms")
        return self


def parse_outcome(name: str) -> tuple[str, str, float | None]:
    """``ratio_day30`` -> (column, "day", 30.0); ``th17_pct_auc`` -> (column, "auc", None)
    (:func:`abm.experiments.common.outcomes.parse`)."""
    o = outcomes.parse(name)
    return o.column, o.stat, o.day


def outcome_label(name: str) -> str:
    """Words for an outcome: ``ratio_day30`` -> ``day-30 blood Treg/Th17 ratio``."""
    try:
        return outcomes.parse(name).label
    except ValueError:
        return name


def load_spec(path: str | Path) -> tuple[HypothesisSpec, dict[str, Any]]:
    """Read and validate a spec; returns it and the base scenario mapping (overrides applied)."""
    from abm.config.load import load_with_base

    return load_with_base(path, HypothesisSpec, "hypothesis")
