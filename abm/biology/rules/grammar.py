"""The rule table (``table.csv``): the behaviour grammar of the model's cells, one row per signal.

In the spirit of PhysiCell's cell-behaviour rules, a *rule* is a behaviour of cells of one type in one
state (``tcells, naive, to:treg``), and its rows say how fast it happens:

- one **rate row** (``signal`` empty) gives its maximal rate: ``effect`` is ``rate`` (the parameter is in
  1/h), ``half-life`` (the parameter is a half-life or half-time in its unit, h or days: rate = ln 2 / t)
  or ``mean-time`` (rate = 1 / t);
- each **term row** multiplies it by a factor in the cell's signal ``x`` (a mediator level, ``contact``
  = suppressor neighbours, or a marker such as ``ido_pos``), with ``h = hill(x, half_max, hill)`` (or
  ``h = x`` for a marker, which is 0 or 1):

  ========== =========================== ==========================================================
  effect     factor                      reads as
  ========== =========================== ==========================================================
  requires   h                           no signal, no behaviour
  increases  1 + max * h                 the signal raises the rate up to (1 + max)-fold
  decreases  1 - max * h                 the signal lowers the rate by up to the fraction max
  blocks     1 - h                       the signal stops the behaviour at saturation
  drives     1 - prod(1 - max * h)       any one of the ``drives`` rows suffices (``max`` blank = 1)
  custom     a registered function       :mod:`abm.biology.rules.custom` (its parameters and source)
  ========== =========================== ==========================================================

Factors multiply in the order of the rows (the ``drives`` rows of a rule combine into one factor at
the place of the first).  ``state`` ``*`` means every state.  Behaviours: ``to:<state>`` (a transition),
``divide``, ``death``, ``egress``, ``lose:<marker>``, and the MSC fates ``engulfed`` and ``cleared``.
Parameter paths are relative to ``biology`` (``tcells.il6_half_max``), or ``disease.*`` / ``patient.*``.
Every row names its source: a citation, or ``assumption: <reason>``.

A row's ``when`` makes it conditional on a switch of ``biology.branches``: ``branches.tr1`` (the row
holds when the switch is on) or ``!branches.tr1`` (when it is off).  On a rate row it conditions the whole
rule; on a term row, that factor.  So the table holds both hypotheses of a corrected rule, each with its
source, and a model uses one of them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from abm.biology import cells
from abm.biology.parameters import MEDIATORS
from abm.biology.rules.custom import CUSTOM_TERMS

TABLE = Path(__file__).resolve().parent / "table.csv"
COLUMNS = ("cell_type", "state", "behaviour", "signal", "effect", "max", "half_max", "hill", "source", "when")
SWITCH_SECTION = "branches"
"""The section of ``biology`` whose switches ``when`` names."""
RATE_EFFECTS = ("rate", "half-life", "mean-time")
TERM_EFFECTS = ("requires", "increases", "decreases", "blocks", "drives", "custom")
CHANNELS = ("contact",)
"""Signals that are not mediators: suppressor contacts (Treg and viable MSC in contact range)."""

COMPARTMENT_POPULATIONS: dict[str, tuple[str, ...]] = {"lung_phagocytes": ("regulatory",),
                                                       "efferocytes": ("active",)}
"""Populations of well-mixed compartments that rules act on (beside the cell types of the tissue)."""

EXTRA_BEHAVIOURS = ("divide", "death", "egress", "engulfed", "cleared")


class RuleTableError(ValueError):
    """A rule table that cannot be used: the message names the row and what is wrong."""


@dataclass(frozen=True)
class Row:
    """One row of the rule table (blank cells are empty strings)."""

    line: int
    cell_type: str
    state: str
    behaviour: str
    signal: str
    effect: str
    max: str
    half_max: str
    hill: str
    source: str
    when: str = ""
    """Condition on a switch: ``branches.<key>``, ``!branches.<key>`` or empty (always)."""

    def holds(self, biology) -> bool:
        """Whether the row is part of a model with these biology parameters (its switch condition)."""
        if not self.when:
            return True
        negated = self.when.startswith("!")
        key = self.when.lstrip("!").partition(".")[2]
        return bool(getattr(getattr(biology, SWITCH_SECTION), key)) != negated

    @property
    def rule(self) -> str:
        """The rule this row belongs to: ``cell_type.state->behaviour``."""
        return f"{self.cell_type}.{self.state}->{self.behaviour}"

    @property
    def is_rate(self) -> bool:
        return not self.signal

    def parameters(self) -> list[str]:
        """Parameter paths this row reads (a custom term's registered ones included)."""
        own = [p for p in (self.max, self.half_max, self.hill) if p]
        if self.effect == "custom":
            own += list(CUSTOM_TERMS[self.signal].parameters)
        return own


@dataclass(frozen=True)
class Rule:
    """A behaviour of one state of one cell type: its rate row and its term rows, in table order."""

    cell_type: str
    state: str
    behaviour: str
    rate: Row
    terms: tuple[Row, ...]
    versioned: bool = False
    """Whether the table has a second version of this rule (on the other side of its switch)."""

    @property
    def name(self) -> str:
        """``cell_type.state->behaviour``, with the switch condition for a rule that has two versions."""
        return f"{self.rate.rule} [{self.when}]" if self.versioned else self.rate.rule

    @property
    def when(self) -> str:
        """The switch condition of the rule (its rate row's ``when``)."""
        return self.rate.when

    def holds(self, biology) -> bool:
        """Whether the rule is part of a model with these biology parameters (its rate row's switch)."""
        return self.rate.holds(biology)


def _switches() -> tuple[str, ...]:
    from abm.biology.parameters import Branches

    return tuple(Branches.model_fields)


def read_rows(path: Path = TABLE) -> list[Row]:
    """The rows of a rule table file, checked (:func:`check_rows`)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise RuleTableError(f"{path}: columns must be {', '.join(COLUMNS)} (got {reader.fieldnames})")
        rows = [Row(i + 2, **{k: (v or "").strip() for k, v in r.items()}) for i, r in enumerate(reader)]
    check_rows(rows, str(path))
    return rows


def _states(cell_type: str) -> tuple[str, ...]:
    if cell_type in COMPARTMENT_POPULATIONS:
        return COMPARTMENT_POPULATIONS[cell_type]
    ct = cells.cell_type(cell_type)
    return (*(s.key for s in ct.states), *(m.key for m in ct.markers))


def check_rows(rows: list[Row], origin: str = "rule table") -> None:
    """Every row well formed: known cell type, state, behaviour, signal and effect, parameters given where
    the effect needs them, a source, one rate row per rule (first).  Parameter paths are checked against
    the parameter tables when a rule set is built."""
    known_types = {c.key for c in cells.CELL_TYPES} | set(COMPARTMENT_POPULATIONS)
    rates: dict[str, list[str]] = {}
    for r in rows:
        where = f"{origin}, line {r.line} ({r.rule})"
        if r.cell_type not in known_types:
            raise RuleTableError(f"{where}: cell_type {r.cell_type!r} is not in the cell-type table "
                                 f"(known: {', '.join(sorted(known_types))})")
        states = _states(r.cell_type)
        if r.state != "*" and r.state not in states:
            raise RuleTableError(f"{where}: state {r.state!r} of {r.cell_type} unknown (states: {', '.join(states)})")
        kind, _, target = r.behaviour.partition(":")
        if not ((kind in ("to", "lose") and target in states) or r.behaviour in EXTRA_BEHAVIOURS):
            raise RuleTableError(f"{where}: behaviour {r.behaviour!r}: use to:<state>, lose:<marker> or one of "
                                 f"{', '.join(EXTRA_BEHAVIOURS)}")
        if not r.source:
            raise RuleTableError(f"{where}: every row names its source (a citation or 'assumption: <reason>')")
        if r.when:
            head, _, key = r.when.lstrip("!").partition(".")
            if head != SWITCH_SECTION or key not in _switches():
                raise RuleTableError(f"{where}: when {r.when!r}: use {SWITCH_SECTION}.<switch> or "
                                     f"!{SWITCH_SECTION}.<switch> with a switch of biology.{SWITCH_SECTION} "
                                     f"({', '.join(_switches())})")
        if r.is_rate:
            if r.effect not in RATE_EFFECTS or not r.max or r.half_max or r.hill:
                raise RuleTableError(f"{where}: a rate row (no signal) has effect {' / '.join(RATE_EFFECTS)} and "
                                     f"its parameter in 'max', nothing else")
            if r.rule in rates:  # a second version of the rule: only as the other side of one switch
                (other,) = rates[r.rule] if len(rates[r.rule]) == 1 else ("",)
                if not (r.when and other and r.when.lstrip("!") == other.lstrip("!") and r.when != other):
                    raise RuleTableError(f"{where}: a second rate row for the rule (two versions of a rule need "
                                         f"opposite 'when's of one switch: branches.x and !branches.x)")
            rates.setdefault(r.rule, []).append(r.when)
            continue
        if r.rule not in rates:
            raise RuleTableError(f"{where}: a term row before its rule's rate row")
        if r.effect not in TERM_EFFECTS:
            raise RuleTableError(f"{where}: effect {r.effect!r}; allowed: {', '.join(TERM_EFFECTS)}")
        if r.effect == "custom":
            if r.signal not in CUSTOM_TERMS:
                raise RuleTableError(f"{where}: custom term {r.signal!r} is not registered "
                                     f"(abm.biology.rules.custom: {', '.join(CUSTOM_TERMS)})")
            continue
        markers = {m.key for ct in cells.CELL_TYPES if ct.key == r.cell_type for m in ct.markers}
        if r.signal not in (*MEDIATORS, *CHANNELS, *markers):
            raise RuleTableError(f"{where}: signal {r.signal!r}; allowed: a mediator ({', '.join(MEDIATORS)}), "
                                 f"{', '.join(CHANNELS)}, a marker of {r.cell_type}, or a custom term")
        if r.signal not in markers and not (r.half_max and r.hill):
            raise RuleTableError(f"{where}: signal {r.signal} needs half_max and hill parameters")
        if r.effect in ("increases", "decreases") and not r.max:
            raise RuleTableError(f"{where}: effect {r.effect} needs its size in 'max'")
        if r.effect in ("requires", "blocks") and r.max:
            raise RuleTableError(f"{where}: effect {r.effect} takes no 'max'")


def rules(rows: list[Row] | None = None) -> list[Rule]:
    """Rows grouped into rules, in table order: a rate row opens a rule (or a second version of one, on the
    other side of a switch), and term rows join the latest version of their rule."""
    rows = read_rows() if rows is None else rows
    groups: list[list[Row]] = []
    latest: dict[str, list[Row]] = {}
    for r in rows:
        if r.is_rate or r.rule not in latest:
            latest[r.rule] = [r]
            groups.append(latest[r.rule])
        else:
            latest[r.rule].append(r)
    versions = {name: sum(g[0].rule == name for g in groups) for name in latest}
    return [Rule(g[0].cell_type, g[0].state, g[0].behaviour, g[0], tuple(g[1:]), versions[g[0].rule] > 1)
            for g in groups]
