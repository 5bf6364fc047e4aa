"""Expanding a hypothesis spec into design cells and one batch (one scenario per replicate).

Every replicate is one scenario whose arms are the control, the full-mechanism reference and one arm
per *arm-level* design cell (the reference's treatment with the cell's changes).  All arms of a
scenario branch from the same burned-in patient with the same random streams, so the differences
between arms of one replicate are paired (common random numbers).

Factors that change the scenario itself (``biology.*``, ``disease.*``, ``patient.*``, ``tissue.*``,
``simulation.burn_in_days``) change the burn-in, so their cells cannot share it.  Each distinct
scenario-level setting becomes one more sweep point of the batch (point 0 is the unchanged
scenario).  Points share the replicate seeds, so such cells are still paired by seed (same random
streams), but their burned-in patient differs: the difference includes the change's effect on the
untreated patient.  Every point runs every arm (the batch layer gives all points the same arms), so a
scenario-level level costs as much as a whole replicate.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from abm.config import Scenario, to_dict, validate_dict
from abm.config.load import ConfigError, deep_merge, merge_onto
from abm.experiments.batch.plan import nested
from abm.experiments.common import outcomes
from abm.experiments.hypothesis.spec import HypothesisSpec, parse_outcome

SCENARIO_FILE = "scenario.yaml"


@dataclass(frozen=True)
class Cell:
    """One design cell: which factor levels it sets, and where its trajectories are (point, arm)."""

    name: str
    levels: dict[str, Any]
    point: int
    arm: str
    arm_changes: dict[str, Any] = field(default_factory=dict)
    scenario_changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Design:
    """The expanded design."""

    spec: HypothesisSpec
    scenario: dict[str, Any]
    points: list[dict[str, Any]]
    cells: list[Cell]
    reference: Cell
    control: Cell

    def batch_spec(self, scenario_file: str = SCENARIO_FILE) -> dict[str, Any]:
        """The batch spec running this design (base = the generated scenario)."""
        days = sorted({d for o in self.spec.outcomes if (d := parse_outcome(o)[2]) is not None}) or [30.0]
        return {"name": self.spec.name, "base": scenario_file,
                "sweep": {"points": self.points} if self.points != [{}] else {},
                "replicates": self.spec.replicates, "root_seed": self.spec.root_seed,
                "summary_days": days, "backend": self.spec.backend.model_dump(mode="json", exclude_none=True)}

    def cell(self, name: str) -> Cell:
        for c in (self.reference, self.control, *self.cells):
            if c.name == name:
                return c
        raise KeyError(name)


def slug(value: Any) -> str:
    """A level as arm-name text."""
    text = str(value).lower() if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value)
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "x"


def _part(spec: HypothesisSpec, factor: str, level: Any) -> str:
    return factor if len(spec.factors[factor].levels or []) == 1 else f"{factor}-{slug(level)}"


def combinations(spec: HypothesisSpec) -> list[dict[str, Any]]:
    """The non-reference cells as {factor: level}: one per factor level (one-at-a-time), or every
    combination of factors at baseline or a level except all-baseline (factorial)."""
    if spec.design == "one_at_a_time":
        return [{f: level} for f, fac in spec.factors.items() for level in fac.levels or []]
    options = [[None, *(fac.levels or [])] for fac in spec.factors.values()]
    out = []
    for combo in itertools.product(*options):
        chosen = {f: v for f, v in zip(spec.factors, combo, strict=True) if v is not None}
        if chosen:
            out.append(chosen)
    order = {f: i for i, f in enumerate(spec.factors)}
    return sorted(out, key=lambda c: (len(c), [order[f] for f in c]))  # main effects first, in factor order


def _findings(spec: HypothesisSpec, base: dict[str, Any]) -> list[str]:
    """The finding ids the cells are scored against (the spec's, else the base scenario's), all known."""
    ids = list(spec.findings if spec.findings is not None else base.get("findings") or [])
    if ids:
        from abm.experiments.trials.findings import load_findings

        known = {f.finding_id for f in load_findings()}
        missing = [i for i in ids if i not in known]
        if missing:
            where = "findings" if spec.findings is not None else "the base scenario's findings"
            raise ConfigError(f"{where}: ids not in the shared findings file: {', '.join(missing)}")
    return ids


def expand(spec: HypothesisSpec, base: dict[str, Any]) -> Design:
    """The design: the generated scenario (all arms), the sweep points and where each cell lives."""
    base_arms = base.get("arms") or to_dict(Scenario())["arms"]
    for role, arm in (("reference", spec.reference), ("control", spec.control)):
        if arm not in base_arms:
            raise ConfigError(f"{role} arm {arm!r} is not an arm of the base scenario (arms: {sorted(base_arms)})")
    ref_treatment = base_arms[spec.reference] or {}
    arms: dict[str, Any] = {spec.control: copy.deepcopy(base_arms[spec.control] or {}),
                            spec.reference: copy.deepcopy(ref_treatment)}
    points: list[dict[str, Any]] = [{}]
    cells: list[Cell] = []
    for levels in combinations(spec):
        arm_changes = {spec.factors[f].path: v for f, v in levels.items() if spec.factors[f].arm_level}
        scen_changes = {spec.factors[f].path: v for f, v in levels.items() if not spec.factors[f].arm_level}
        arm_parts = [_part(spec, f, v) for f, v in levels.items() if spec.factors[f].arm_level]
        name = "__".join(_part(spec, f, v) for f, v in levels.items())
        arm = "__".join(arm_parts) if arm_parts else spec.reference
        if arm in (spec.reference, spec.control) and arm_parts:
            raise ConfigError(f"design cell {arm!r} has the name of the reference or control arm; rename the factor")
        if arm_parts and arm not in arms:
            treatment = ref_treatment
            for path, value in arm_changes.items():
                treatment = deep_merge(treatment, nested(path, value))
            arms[arm] = copy.deepcopy(treatment)
        if scen_changes not in points:
            points.append(scen_changes)
        cells.append(Cell(name, levels, points.index(scen_changes), arm, arm_changes, scen_changes))
    scenario = {k: v for k, v in base.items() if k not in ("arms", "findings", "seed")}
    scenario["name"] = spec.name
    scenario["findings"] = _findings(spec, base)
    scenario["arms"] = arms
    for i, point in enumerate(points):
        config = scenario
        for path, value in point.items():
            config = merge_onto(config, nested(path, value), origin=f"factor key {path}")
        resolved = validate_dict(config, origin=f"hypothesis {spec.name} point {i} {point}")
        for name in spec.outcomes:
            o = outcomes.parse(name)
            if o.stat == "day" and o.day > resolved.simulation.days:
                raise ConfigError(f"outcomes: {name} asks for day {o.day:g}, after the end of the run "
                                  f"(simulation.days = {resolved.simulation.days:g})")
    reference = Cell("full", {}, 0, spec.reference)
    control = Cell("control", {}, 0, spec.control)
    return Design(spec, scenario, points, cells, reference, control)
