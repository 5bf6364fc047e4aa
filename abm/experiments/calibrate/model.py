"""Parameters -> scenario -> trajectories -> summary statistics, and the distances ABC-SMC uses.

Summary statistics come from findings (``method: column`` rows only; half-life, vanish and lung-fraction
rows are scored in the posterior-predictive check but are not statistics):

* **level** rows: the window mean of the model column in the arm the finding describes (the untreated
  baseline); distance ``((x - reported mean) / reported SD)^2`` (range: midpoint and range/4; a bound:
  0 inside, else the excess over the bound in units of the bound).
* **direction** rows: the signed paired effect (arm minus comparator arm, or minus own day 0) over the
  window, in per cent of the comparator level; hinge distance with margin ``SMALL_CHANGE_PCT`` (5 %):
  ``increase`` costs ``max(0, margin - effect) / margin``, ``decrease`` ``max(0, effect + margin) / margin``,
  ``no_change`` ``max(0, |effect| - margin) / margin``; squared.

The total distance is the square root of the sum over statistics.  With synthetic data the targets are the
model's own statistics and pyABC's adaptive p-norm distance is used instead.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from abm.config import Scenario
from abm.config.load import ConfigError, merge_onto, validate_dict
from abm.config.table import SECTIONS, is_integer_valued, parameter_table, varied_parameter
from abm.experiments.trials.compare import DIRECTIONS, SMALL_CHANGE_PCT, _arms, day0_value, window_mean, with_derived
from abm.experiments.trials.findings import Finding, by_id, load_findings
from abm.run import branch, burn_in, run_arm


@dataclass(frozen=True)
class Prior:
    """One calibrated parameter: pyABC name, config key path, bounds, prior shape, default, integer-valued."""

    name: str
    path: str
    low: float
    high: float
    shape: str
    default: Any
    integer: bool

    def rv(self) -> Any:
        import pyabc

        if self.shape == "log_uniform":
            return pyabc.RV("loguniform", self.low, self.high)
        return pyabc.RV("uniform", self.low, self.high - self.low)

    @property
    def median(self) -> float:
        return math.sqrt(self.low * self.high) if self.shape == "log_uniform" else (self.low + self.high) / 2


def full_path(key: str) -> str:
    """``systemic.x`` -> ``biology.systemic.x``; section-qualified keys unchanged."""
    return key if key.split(".")[0] in SECTIONS else f"biology.{key}"


def resolve_priors(spec: Any, base: dict[str, Any]) -> list[Prior]:
    """Priors of the spec's parameters; bounds default to the parameter table's plausible range."""
    table = parameter_table(base)
    out = []
    for i, p in enumerate(spec.parameter_list()):
        path, default, lo, hi = varied_parameter(table, p.key, p.bounds)
        if p.prior == "log_uniform" and lo <= 0:
            raise ConfigError(f"parameters: {p.key}: a log-uniform prior needs low > 0 (got {lo})")
        out.append(Prior(f"p{i}", path, lo, hi, p.prior, default, is_integer_valued(default)))
    return out


def nested(values: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b.c": 1}`` -> ``{"a": {"b": {"c": 1}}}``."""
    out: dict[str, Any] = {}
    for path, v in values.items():
        d = out
        *head, last = path.split(".")
        for k in head:
            d = d.setdefault(k, {})
        d[last] = v
    return out


def scenario_for(base: dict[str, Any], values: dict[str, float], priors: list[Prior] | None = None,
                 seed: int | None = None) -> Scenario:
    """The base scenario with parameter values (key path -> value) and optionally a seed."""
    ints = {p.path for p in priors or [] if p.integer}
    vals = {k: (int(round(v)) if k in ints else float(v)) for k, v in values.items()}
    data = merge_onto(copy.deepcopy(base), nested(vals), origin="calibration parameters")
    if seed is not None:
        data["seed"] = int(seed)
    return validate_dict(data, origin="calibration point")


def simulate(scenario: Scenario, run_id: str = "run") -> pd.DataFrame:
    """All arms of one run (shared burn-in), as a long frame with ``run_id``."""
    burned = burn_in(scenario).state_dict()
    frame = pd.concat([run_arm(branch(scenario, burned, a)) for a in scenario.arms], ignore_index=True)
    frame.insert(0, "run_id", run_id)
    return with_derived(frame)


# --------------------------------------------------------------------------------------------------
# statistics


@dataclass(frozen=True)
class Statistic:
    """One summary statistic from one finding and model column."""

    key: str
    finding: Finding
    column: str
    arm: str
    comparator: str | None  # None: own day 0 (directions) / unused (levels)
    direction: bool


def statistics(findings: list[Finding], scenario: Scenario) -> tuple[list[Statistic], dict[str, str]]:
    """Statistics of the findings on the scenario, and the reason each unusable finding id is skipped."""
    stats, skipped = [], {}
    t_end = scenario.simulation.days
    for f in findings:
        if not f.model.comparable or f.model.method != "column":
            skipped[f.finding_id] = f.model.reason or f"method {f.model.method!r} is not a summary statistic " \
                                                       f"(scored in the predictive check only)"
            continue
        if f.kind not in (*DIRECTIONS, "level") or f.window is None:
            skipped[f.finding_id] = f.kind_reason or f.window_reason or f"kind {f.kind!r} not used"
            continue
        if f.window.hi_days > t_end:
            skipped[f.finding_id] = f"window ends at day {f.window.hi_days:g}, after the run (day {t_end:g})"
            continue
        arms, comparator, why = _arms(scenario, f)
        if not arms:
            skipped[f.finding_id] = why
            continue
        direction = f.kind in DIRECTIONS
        for col in f.model.columns:
            stats.append(Statistic(f"{f.finding_id}:{col}", f, col, arms[0], comparator, direction))
    return stats, skipped


def measure(stats: list[Statistic], frame: pd.DataFrame) -> dict[str, float]:
    """Statistic values on one run: levels as window means, directions as % change from the comparator."""
    out = {}
    for s in stats:
        rows = frame[frame["arm"] == s.arm]
        a = window_mean(rows, s.column, s.finding.window)
        if not s.direction:
            out[s.key] = a
            continue
        if s.comparator is None:
            b = day0_value(rows, s.column)
        else:
            b = window_mean(frame[frame["arm"] == s.comparator], s.column, s.finding.window)
        out[s.key] = 100.0 * (a - b) / b if b else (math.nan if a == b else math.copysign(1e3, a - b))
    return out


class Model:
    """The pyABC model: a parameter draw -> mean statistics over ``replicates`` seeds (picklable)."""

    def __init__(self, base: dict[str, Any], priors: list[Prior], stats: list[Statistic], replicates: int = 1):
        self.base, self.priors, self.stats, self.replicates = base, priors, stats, replicates

    def values(self, par: Any) -> dict[str, float]:
        return {p.path: float(par[p.name]) for p in self.priors}

    def __call__(self, par: Any) -> dict[str, float]:
        values = self.values(par)
        runs = []
        for _ in range(self.replicates):
            seed = int(np.random.randint(0, 2**31 - 1))
            runs.append(measure(self.stats, simulate(scenario_for(self.base, values, self.priors, seed))))
        return {k: float(np.nanmean([r[k] for r in runs])) for k in runs[0]} if runs else {}


def level_cost(x: float, f: Finding, preset: str) -> float:
    """Squared standardised distance of a level statistic from the reported value (0 inside a bound)."""
    interval, _ = f.reported_interval(preset)
    if interval is None or not np.isfinite(x):
        return 0.0 if interval is None else 1e6
    if interval.center is not None and interval.sd:
        return ((x - interval.center) / interval.sd) ** 2
    if interval.contains(x):
        return 0.0
    edge = interval.low if x < interval.low else interval.high
    return ((x - edge) / max(abs(edge), 1e-9)) ** 2


def direction_cost(pct: float, kind: str, margin: float = SMALL_CHANGE_PCT) -> float:
    """Squared hinge distance of a % effect from the reported direction (0 beyond the margin)."""
    if not np.isfinite(pct):
        return 1e6
    if kind == "increase":
        h = max(0.0, margin - pct)
    elif kind == "decrease":
        h = max(0.0, pct + margin)
    else:
        h = max(0.0, abs(pct) - margin)
    return (h / margin) ** 2


class FindingDistance:
    """Distance of simulated statistics from the reported findings (``x_0`` is ignored)."""

    def __init__(self, stats: list[Statistic], preset: str):
        self.stats, self.preset = stats, preset

    def costs(self, x: dict[str, float]) -> dict[str, float]:
        return {s.key: (direction_cost(x[s.key], s.finding.kind) if s.direction
                        else level_cost(x[s.key], s.finding, self.preset)) for s in self.stats}

    def __call__(self, x: dict[str, float], x_0: dict[str, float] | None = None) -> float:
        return float(math.sqrt(sum(self.costs(x).values())))


def load_for_spec(spec: Any, spec_dir: Any, base: dict[str, Any]) -> tuple[list[Finding], Scenario, list[Finding]]:
    """The spec's findings (in the spec's order), the base scenario and every finding of the file."""
    path = spec.findings_file
    if path is not None:
        from pathlib import Path

        path = (Path(spec_dir) / path).resolve()
    every = load_findings(path)
    known = by_id(every)
    for key, ids in (("findings", spec.data.findings), ("validation", spec.data.validation)):
        missing = [i for i in ids if i not in known]
        if missing:
            raise ConfigError(f"data.{key}: ids not in the findings file: {', '.join(missing)}")
    if spec.data.one_treated_per_study:
        treated: dict[str, list[str]] = {}
        for i in spec.data.findings:
            if known[i].role == "treated":
                treated.setdefault(known[i].study, []).append(i)
        many = {study: ids for study, ids in treated.items() if len(ids) > 1}
        if many:
            raise ConfigError("data.findings: one_treated_per_study allows one treated time point per study; "
                              + "; ".join(f"{study}: {', '.join(ids)}" for study, ids in many.items()))
    return [known[i] for i in spec.data.findings], validate_dict(base, origin="calibration base"), every
