"""The one vectorised evaluator of the rule table: rules compiled against a model's parameters, then
evaluated into hazards (1/h) for arrays of cells (the tissue) or for counts (blood, lung).

A :class:`RuleSet` is built once per model (parameters are fixed for a run): every parameter path is
resolved to a number and every term to a small closure, so a step costs the arithmetic of the factors
and nothing more.  Unknown parameter paths are refused when the set is built.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from abm.biology.patient import Patient
from abm.biology.rules.custom import CUSTOM_TERMS, Signals
from abm.biology.rules.grammar import Row, Rule, RuleTableError, rules
from abm.engine.hazards import hill

ArrayLike = np.ndarray | float
Factor = Callable[[Signals], ArrayLike]

UNIT_HOURS = {"h": 1.0, "days": 24.0}


def parameter(biology: Any, disease: Any, path: str, patient: Any = None) -> tuple[float, str]:
    """(value, unit) of a parameter path: ``section.key`` of the biology, ``disease.key`` or ``patient.key``
    (the default patient when none is given)."""
    head, _, key = path.partition(".")
    if head == "patient" and patient is None:
        patient = Patient()
    owner = {"disease": disease, "patient": patient}.get(head) or getattr(biology, head, None)
    if owner is None or "." in key or key not in type(owner).model_fields:
        raise RuleTableError(f"parameter {path!r} is not in the parameter tables")
    extra = type(owner).model_fields[key].json_schema_extra or {}
    return float(getattr(owner, key)), str(extra.get("unit", ""))


def _rate(row: Row, biology: Any, disease: Any) -> float:
    value, unit = parameter(biology, disease, row.max)
    if row.effect == "rate":
        return value
    if unit not in UNIT_HOURS:
        raise RuleTableError(f"line {row.line} ({row.rule}): a {row.effect} needs a parameter in h or days, "
                             f"{row.max} is in {unit!r}")
    hours = value * UNIT_HOURS[unit]
    return math.log(2.0) / hours if row.effect == "half-life" else 1.0 / hours


def _signal(row: Row) -> Callable[[Signals], ArrayLike]:
    if row.signal == "contact":
        return lambda s: s.contacts
    if row.signal in ("ido", "pge2", "tgfb", "il6", "il10", "infl"):
        name = row.signal
        return lambda s: getattr(s.levels, name)
    name = row.signal
    return lambda s: s.markers[name]  # a marker (0/1): used as it is


def _response(row: Row, v: Mapping[str, float]) -> Callable[[Signals], ArrayLike]:
    x = _signal(row)
    if not row.half_max:
        return lambda s: np.asarray(x(s), dtype=float)
    k, n = v[row.half_max], v[row.hill]
    return lambda s: hill(x(s), k, n)


def _term(row: Row, v: Mapping[str, float]) -> Factor:
    if row.effect == "custom":
        fn = CUSTOM_TERMS[row.signal].factor
        return lambda s: fn(v, s)
    h = _response(row, v)
    if row.effect == "requires":
        return h
    if row.effect == "blocks":
        return lambda s: 1.0 - h(s)
    size = v[row.max]
    if row.effect == "increases":
        return lambda s: 1.0 + size * h(s)
    return lambda s: 1.0 - size * h(s)  # decreases


def _drives(rows: list[Row], v: Mapping[str, float]) -> Factor:
    parts = [(_response(r, v), v[r.max] if r.max else None) for r in rows]

    def factor(s: Signals) -> ArrayLike:
        rest = 1.0
        for h, size in parts:
            rest = rest * (1.0 - (h(s) if size is None else size * h(s)))
        return 1.0 - rest
    return factor


class CompiledRule:
    """A rule with its parameters resolved: ``rate(signals)`` -> hazard (1/h)."""

    def __init__(self, rule: Rule, biology: Any, disease: Any, patient: Any = None):
        self.rule = rule
        self.base = _rate(rule.rate, biology, disease)
        self.terms = tuple(r for r in rule.terms if r.holds(biology))
        """The term rows that hold for this biology (a row's ``when`` switch), in table order."""
        v = {p: parameter(biology, disease, p, patient)[0] for r in self.terms for p in r.parameters()}
        self.values = v
        """The terms' parameters, resolved (path -> value)."""
        self.factors: list[Factor] = []
        drives = [r for r in self.terms if r.effect == "drives"]
        for r in self.terms:
            if r.effect == "drives":
                if r is drives[0]:
                    self.factors.append(_drives(drives, v))
                continue
            self.factors.append(_term(r, v))

    def rate(self, signals: Signals) -> ArrayLike:
        """Hazard (1/h) for the cells the signals describe."""
        out: ArrayLike = self.base
        for f in self.factors:
            out = out * f(signals)
        return out


class RuleSet:
    """Every rule of a table, compiled for one biology, disease and patient (the default patient when
    ``patient`` is None)."""

    def __init__(self, biology: Any, disease: Any, table: list[Rule] | None = None, patient: Any = None):
        self.rules: dict[tuple[str, str, str], CompiledRule] = {}
        self._plans: dict[tuple[str, str], tuple[str, Any]] = {}
        for r in table if table is not None else default_rules():
            if r.holds(biology):  # a rule of a switched-off branch is not part of this model
                self.rules[(r.cell_type, r.state, r.behaviour)] = CompiledRule(r, biology, disease, patient)

    def rate(self, cell_type: str, state: str, behaviour: str, signals: Signals) -> ArrayLike:
        """Hazard of ``behaviour`` for cells of ``state`` (a rule for ``*`` applies to every state);
        0.0 when no rule says it happens."""
        rule = self.rules.get((cell_type, state, behaviour)) or self.rules.get((cell_type, "*", behaviour))
        return 0.0 if rule is None else rule.rate(signals)

    def hazard(self, cell_type: str, behaviour: str, signals: Signals, state: np.ndarray,
               codes: Mapping[str, int], masks: Mapping[str, np.ndarray] | None = None) -> ArrayLike:
        """Hazard of ``behaviour`` for every cell of a population (``state``: codes; ``codes``: state key
        -> code; ``masks``: optional ``state == code`` per key, computed once per step): each cell gets
        the rule of its own state."""
        plan = self._plans.get((cell_type, behaviour))
        if plan is None:
            plan = self._plans[(cell_type, behaviour)] = self._plan(cell_type, behaviour, codes)
        kind, what = plan
        if kind == "star":
            return what.rate(signals)
        if kind == "table":
            return what[state]
        out: ArrayLike = 0.0
        for key, code, rule in what:
            mask = masks[key] if masks is not None else state == code
            out = np.where(mask, rule.rate(signals), out)
        return out

    def _plan(self, cell_type: str, behaviour: str, codes: Mapping[str, int]) -> tuple[str, Any]:
        """How :meth:`hazard` evaluates a behaviour (decided once): one rule for every state, a lookup
        of constant rates by state code, or the rules of the states that have one (a state's own rule
        before the ``*`` rule, as :meth:`rate` and the compiled program read them)."""
        star = self.rules.get((cell_type, "*", behaviour))
        if star is not None and not any((cell_type, key, behaviour) in self.rules for key in codes):
            return "star", star
        own = [(key, code, self.rules.get((cell_type, key, behaviour), star)) for key, code in codes.items()
               if (cell_type, key, behaviour) in self.rules or star is not None]
        if all(not rule.factors for _, _, rule in own):
            table = np.zeros(max(codes.values()) + 1)
            for _, code, rule in own:
                table[code] = rule.base
            return "table", table
        return "rules", own


_DEFAULT: list[Rule] | None = None


def default_rules() -> list[Rule]:
    """The shipped rule table, read once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = rules()
    return _DEFAULT
