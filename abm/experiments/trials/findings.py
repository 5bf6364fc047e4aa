"""Reported findings (the shared ``findings.csv``) as typed records, and what each one means for the model.

Every row of the file becomes a :class:`Finding`: its time window in days after the first infusion,
the kind of claim (a direction, a level, a disappearance), the reported interval where numbers are
given, and the model quantity it is compared with (:class:`ModelMeasure`).  Nothing here needs to know
a row in advance: a new row with a measure the model cannot speak to parses to a finding that is
*not comparable*, with the reason, and the comparison goes on (``docs/trials.md``).

Interpretation rules (each documented where it is applied):

* **time points** — ``"7"`` is day 7; ``"30-180"`` is days 30 to 180 inclusive; text is looked up in
  :data:`TEXT_TIMEPOINTS` (``"after first infusion"`` -> days 7-30); any other text is not comparable.
* **directions** — ``increase`` / ``decrease`` / ``no_change`` / ``level``, a few synonyms, and three
  phrases: ``"~24 h"`` (a level, value within a factor of :data:`APPROX_FACTOR`), ``">95% ..."`` (a
  level bounded below), ``"... none after 24 h"`` (the quantity vanishes: below
  :data:`DETECTION_FRACTION` of what arrived, at the first record after 24 h).  Other phrases
  (``"lasts"``) are not scored.
* **values** — ``"5-10"`` is the range; ``"1.54 +/- 0.38"`` (mean +/- SD of patients) is read as the
  interval mean +/- 2 SD (about 95 % of patients); a bare number has no spread and is read as
  "within a factor of 2"; ``">95%"`` is [95 %, 100 %].  Parts separated by ``;`` with labels
  (``"active 1.54 +/- 0.38; inactive ...; healthy 0.88 +/- 0.41"``) describe populations: a label with
  "healthy" applies to the ``healthy`` preset, "inactive" to no preset (the presets are active
  disease), "active" (or no recognised label) to the row's own disease when the scenario's preset is
  that disease.  See :meth:`Finding.reported_interval`.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_FINDINGS = Path(os.environ.get("ABM_FINDINGS", Path(__file__).resolve().parent / "data" / "findings.csv"))
"""The findings table: ``$ABM_FINDINGS``, else the copy shipped in ``abm/experiments/trials/data/findings.csv``."""

Kind = Literal["increase", "decrease", "no_change", "level", "vanish", "unscored"]
Method = Literal["column", "half_life", "vanish", "lung_fraction", "none"]
Role = Literal["treated", "control", "baseline"]

PRESETS = ("healthy", "sle", "ra")
"""Disease presets of the model (``abm/biology/diseases``); rows of other diseases (mouse, mixed) are
kinetic findings applied to any scenario."""

APPROX_FACTOR = 2.0
"""A value printed without spread (``"~24 h"``, ``"24"``) holds within this factor either way."""

DETECTION_FRACTION = 1e-3
"""``"none after X h"``: "none" means fewer than this fraction of the cells that arrived (assumption:
re-culture / PCR assays detect about 1 in 1000 of the injected cells)."""

TEXT_TIMEPOINTS: dict[str, tuple[float, float, str]] = {
    "after first infusion": (
        7.0, 30.0, "read as days 7-30: after the first infusion's acute days, before any repeat infusion "
        "(Wang L 2013 repeated at 3 months)"),
}
"""Documented readings of time points given as text (lower case, single spaces): (first day, last day, why)."""

RECORD_KEYS = ("finding_id", "study", "disease", "n", "product", "dose", "route", "schedule_days", "arm",
               "measure", "timepoint_days", "direction", "value", "baseline_value", "unit", "statistic",
               "source", "notes")
REQUIRED_KEYS = ("finding_id", "study", "measure", "timepoint_days", "direction")

NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"


# --------------------------------------------------------------------------------------------------
# time points


@dataclass(frozen=True)
class Window:
    """A time window in days after the first infusion (day 0), both ends included."""

    lo_days: float
    hi_days: float
    note: str = ""  # the text a window was read from
    why: str = ""  # why it was read so

    def label(self) -> str:
        """``day 7`` / ``days 30-180`` (plus the reading of a text time point)."""
        text = f"day {self.lo_days:g}" if self.lo_days == self.hi_days else f"days {self.lo_days:g}-{self.hi_days:g}"
        return f"{text} ({self.note})" if self.note else text


def parse_timepoint(text: str) -> tuple[Window | None, str]:
    """A time point as printed -> (window, reason when there is none)."""
    t = " ".join(str(text).strip().lower().split())
    if t in ("", "-", "nan"):
        return None, "no time point given"
    if m := re.fullmatch(rf"({NUMBER})", t):
        day = float(m.group(1))
        return Window(day, day), ""
    if m := re.fullmatch(rf"({NUMBER})\s*-\s*({NUMBER})", t):
        lo, hi = float(m.group(1)), float(m.group(2))
        if lo > hi:
            return None, f"time window {text!r} ends before it starts"
        return Window(lo, hi), ""
    if t in TEXT_TIMEPOINTS:
        lo, hi, why = TEXT_TIMEPOINTS[t]
        return Window(lo, hi, f"read from {text!r}", why), ""
    return None, f"time point {text!r} has no documented reading (add it to TEXT_TIMEPOINTS)"


# --------------------------------------------------------------------------------------------------
# reported values


@dataclass(frozen=True)
class Interval:
    """A reported interval in the row's unit (fractions for ``unit: fraction``)."""

    low: float
    high: float
    text: str  # what was printed and how it was read
    center: float | None = None  # reported mean / midpoint
    sd: float | None = None  # reported SD, or range/4 for a range

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies inside (ends included)."""
        return self.low <= x <= self.high

    def show(self) -> str:
        """``[0.78, 2.3]``."""
        return f"[{self.low:.3g}, {self.high:.3g}]"


def _unit_scale(part: str, unit: str) -> float:
    """A percentage printed for a quantity whose unit is a fraction is divided by 100 (this divisor)."""
    return 100.0 if "%" in part and unit.strip().lower() == "fraction" else 1.0


def parse_interval(part: str, unit: str = "") -> Interval | None:
    """One unlabelled value -> interval (None when it is not a number form we know)."""
    p = part.strip()
    scale = _unit_scale(p, unit)
    top = 1.0 if unit.strip().lower() == "fraction" else (100.0 if "%" in p else math.inf)
    if m := re.fullmatch(rf"({NUMBER})\s*(?:\+/-|±|\+-)\s*({NUMBER})\s*%?", p):
        mean, sd = float(m.group(1)) / scale, float(m.group(2)) / scale
        return Interval(mean - 2 * sd, mean + 2 * sd, f"{p} (mean +/- 2 SD)", mean, sd)
    if m := re.fullmatch(rf"({NUMBER})\s*%?\s*(?:-|–|to)\s*({NUMBER})\s*%?", p):
        lo, hi = sorted((float(m.group(1)) / scale, float(m.group(2)) / scale))
        return Interval(lo, hi, f"{p} (range)", (lo + hi) / 2, (hi - lo) / 4)
    if m := re.fullmatch(rf"(>=|>|≥)\s*({NUMBER})\s*%?.*", p):
        lo = float(m.group(2)) / scale
        return Interval(lo, top, f"{p} (lower bound, ends included)")
    if m := re.fullmatch(rf"(<=|<|≤)\s*({NUMBER})\s*%?.*", p):
        hi = float(m.group(2)) / scale
        return Interval(0.0, hi, f"{p} (upper bound, from 0)")
    if m := re.fullmatch(rf"~?\s*({NUMBER})\s*%?\s*[a-z]*", p):
        x = float(m.group(1)) / scale
        lo, hi = sorted((x / APPROX_FACTOR, x * APPROX_FACTOR))
        return Interval(lo, hi, f"{p} (no spread given: within a factor of {APPROX_FACTOR:g})", x)
    return None


def _population(label: str, row_disease: str) -> str | None:
    """Which preset a labelled part describes (None: a population the model has no preset for)."""
    lab = label.lower()
    if "healthy" in lab or "control" in lab:
        return "healthy"
    if "inactive" in lab or "remission" in lab:
        return None
    return row_disease  # "active", "active RA", or no label


def parse_parts(text: str) -> list[tuple[str, str]]:
    """``"active 1.54 +/- 0.38; healthy 0.88 +/- 0.41"`` -> [("active", "1.54 +/- 0.38"), ...]."""
    parts = []
    for raw in str(text).split(";"):
        raw = raw.strip()
        if not raw:
            continue
        m = re.match(r"^([A-Za-z][A-Za-z\s]*?)\s*(?=[~<>≤≥]|[-+]?\d|\.\d)", raw)
        label = m.group(1).strip() if m else ""
        parts.append((label, raw[m.end():].strip() if m else raw))
    return parts


# --------------------------------------------------------------------------------------------------
# measures


@dataclass(frozen=True)
class ModelMeasure:
    """What a reported measure is compared with in the model."""

    columns: tuple[str, ...] = ()  # trajectory columns scored (one comparison row each); empty: not comparable
    method: Method = "none"
    note: str = ""  # caveat printed with every verdict
    reason: str = ""  # why it is not comparable (empty when it is)

    @property
    def comparable(self) -> bool:
        """Whether the model has a counterpart."""
        return bool(self.columns) and not self.reason


DIRECT: dict[str, str] = {
    "blood_treg_pct_of_cd4": "blood_treg_pct_cd4",
    "blood_th17_pct_of_cd4": "blood_th17_pct_cd4",
    "blood_treg_th17_ratio": "blood_treg_th17_ratio",
    "tissue_treg_pct_of_cd4": "tissue_treg_pct_cd4",
    "tissue_th17_pct_of_cd4": "tissue_th17_pct_cd4",
    "tissue_treg_th17_ratio": "tissue_treg_th17_ratio",
}
"""Reported measure -> trajectory column of the same quantity (blood: the circulating CD4 pool, % of CD4)."""

LUNG_TOTAL = "lung_msc_total"
"""Derived column: donor MSC in the lung not yet engulfed or disintegrated (resting + licensed + apoptotic)."""

SPECIAL: dict[str, ModelMeasure] = {
    "msc_viable": ModelMeasure(
        ("msc_alive_lung",), "vanish",
        "viable MSC in the lung (resting + licensed); an IV infusion puts ~0.2 MSC into the modelled tissue "
        "slice, so viable MSC are found in the lung only, by construction; mouse row: per-cell kinetics only"),
    "msc_lung_half_life": ModelMeasure(
        (LUNG_TOTAL,), "half_life",
        "half-life of donor MSC in the lung (resting + licensed + apoptotic, log-linear fit over the first "
        "days after infusion); assays of donor DNA also count cells already engulfed by lung phagocytes, "
        "which the model does not track, and the viable half-life is set to 6 h "
        "(biology.msc.survival_half_life_h); mouse row: per-cell kinetics only"),
    "msc_lung_fraction": ModelMeasure(
        ("lung_trap_fraction",), "lung_fraction",
        "share of each IV infusion lodged in the lung from the dose mapping (abm.biology.dosing.plan); it is the "
        "input biology.delivery.lung_trap_fraction_iv, so this is a check of the setting, not an "
        "independent test"),
}
"""Measures computed by a rule of their own (biodistribution)."""

CYTOKINES: dict[str, str] = {
    "il6": "il6", "tgfb": "tgfb", "tgf": "tgfb", "il10": "il10", "tnf": "infl", "tnfa": "infl",
    "ifng": "infl", "ifn": "infl", "ido": "ido", "kynurenine": "ido", "pge2": "pge2",
}
"""Cytokine token of a ``plasma_*`` / ``serum_*`` measure -> model mediator (``plasma_<mediator>``)."""

PLASMA_NOTE = ("plasma_* are the model's plasma pools (abm.biology.plasma: background + spillover of the "
               "lymphoid-local level, with each mediator's clearance), in a.u., not concentrations")
SYSTEMIC_NOTE = ("systemic_* are the lymphoid-local levels circulating T cells see in the model (a.u.), not "
                 "plasma: a blood draw measures plasma_*")

CLINICAL_NOTE = ("model surrogate (abm.clinical): {index} of the expected patient at the model's organ activity "
                 "(tissue Th17, autoantibody and inflammation; docs/clinical.md), not a prediction of the clinical "
                 "score; observation parameters fitted on LIU11 (baseline and LIU11-SLEDAI-90)")
ACTIVITY_INDEX: dict[str, tuple[str, str]] = {
    "sle": ("sledai2k_expected", "SLEDAI-2K"),
    "ra": ("das28_crp_expected", "DAS28-CRP"),
}
"""Disease -> the index a row's plain ``disease_activity`` is read as (trials of that disease report it)."""
CLINICAL_COLUMNS: dict[str, tuple[str, str]] = {
    "sledai": ("sledai2k_expected", "SLEDAI-2K"), "das28": ("das28_crp_expected", "DAS28-CRP"),
    "jadas": ("cjadas10_expected", "cJADAS10"), "crp": ("crp_mg_l_measured", "CRP"),
    "dsdna": ("anti_dsdna_iu_ml_measured", "anti-dsDNA"), "complement_c3": ("c3_g_l_measured", "C3"),
    "proteinuria": ("proteinuria_g_day_measured", "proteinuria"),
}
"""Token of a clinical measure name -> (observation column, index name); the first token found wins."""
UNMAPPED_CLINICAL = ("acr20", "acr50", "acr70", "haq", "bilag")
NO_SCORE = ("not comparable: the observation layer has no {name} (abm.clinical computes SLEDAI-2K, DAS28-CRP, "
            "cJADAS10, CRP, anti-dsDNA, C3/C4 and proteinuria)")


def clinical_measure(key: str, disease: str) -> ModelMeasure | None:
    """The observation column of a clinical measure name (None when the name is not clinical)."""
    for token, (col, index) in CLINICAL_COLUMNS.items():
        if token in key:
            return ModelMeasure((col,), "column", CLINICAL_NOTE.format(index=index))
    if any(k in key for k in UNMAPPED_CLINICAL):
        return ModelMeasure(reason=NO_SCORE.format(name=key))
    if key.startswith("disease_activity"):
        d = disease.strip().lower()
        if d not in ACTIVITY_INDEX:
            return ModelMeasure(reason=f"not comparable: no disease-activity index for disease {disease!r} "
                                       f"(have: {', '.join(ACTIVITY_INDEX)})")
        col, index = ACTIVITY_INDEX[d]
        return ModelMeasure((col,), "column", CLINICAL_NOTE.format(index=index))
    return None


def map_measure(name: str, disease: str = "") -> ModelMeasure:
    """A reported measure name (of a row of ``disease``) -> its model counterpart, or the reason there is none."""
    key = str(name).strip().lower()
    if key in DIRECT:
        col = DIRECT[key]
        note = "blood: the model's circulating CD4 pool" if col.startswith("blood") else (
            "tissue: the modelled 2 mm slice; trials rarely sample tissue")
        return ModelMeasure((col,), "column", note)
    if key in SPECIAL:
        return SPECIAL[key]
    if key in DIRECT.values() or key in ("inflammation_index", "autoantibody_index", "m2_fraction"):
        return ModelMeasure((key,), "column", "a model column named directly")
    clinical = clinical_measure(key, disease)
    if clinical is not None:
        return clinical
    if "benefit" in key or "duration" in key:
        return ModelMeasure(reason="not comparable: the model has no clinical benefit whose duration could be "
                                   "timed (how long blood Treg stays raised is in the Treg rows and figures)")
    if "autoantibod" in key or "dsdna" in key:
        return ModelMeasure(("autoantibody_index",), "column",
                            "autoantibody_index is a relative index (IgG-like half-life), direction only")
    tokens = key.split("_")
    if tokens[0] in ("plasma", "serum", "systemic", "blood") and len(tokens) > 1:
        mediators: list[str] = []
        unknown: list[str] = []
        for tok in tokens[1:]:
            med = CYTOKINES.get(tok)
            if med is None:
                unknown.append(tok)
            elif med not in mediators:
                mediators.append(med)
        if mediators:
            pool = "systemic" if tokens[0] == "systemic" else "plasma"
            note = (SYSTEMIC_NOTE if pool == "systemic" else PLASMA_NOTE) + (
                f"; tnf/ifng map to the IFN-gamma/TNF-alpha inflammation signal ({pool}_infl)"
                if "infl" in mediators else "")
            if unknown:
                note += f"; {', '.join(unknown)}: no model counterpart, not scored"
            return ModelMeasure(tuple(f"{pool}_{m}" for m in mediators), "column", note)
        return ModelMeasure(reason=f"not comparable: no model mediator for {', '.join(unknown) or key!r}")
    return ModelMeasure(reason=f"not comparable: measure {name!r} has no model counterpart (add it to "
                               f"DIRECT or SPECIAL in abm/experiments/trials/findings.py)")


# --------------------------------------------------------------------------------------------------
# directions

DIRECTIONS: dict[str, Kind] = {
    "increase": "increase", "increased": "increase", "up": "increase", "rise": "increase",
    "decrease": "decrease", "decreased": "decrease", "down": "decrease", "fall": "decrease",
    "no_change": "no_change", "no change": "no_change", "unchanged": "no_change", "none": "no_change",
    "level": "level", "baseline": "level",
}


def parse_direction(text: str) -> tuple[Kind, str, float | None, str]:
    """A direction as printed -> (kind, value text from a phrase, hours of a ``none after`` phrase, reason)."""
    t = " ".join(str(text).strip().lower().split())
    if t in DIRECTIONS:
        return DIRECTIONS[t], "", None, ""
    if m := re.search(rf"none after\s*({NUMBER})\s*h", t):
        return "vanish", "", float(m.group(1)), ""
    if m := re.match(rf"^(~\s*{NUMBER}\s*%?|[<>]=?\s*{NUMBER}\s*%?)", t):
        return "level", m.group(1), None, ""
    return "unscored", "", None, f"not comparable: direction {text!r} has no scoring rule"


# --------------------------------------------------------------------------------------------------
# the record


@dataclass(frozen=True)
class Finding:
    """One row of findings.csv, parsed."""

    finding_id: str
    study: str
    measure: str
    timepoint: str
    direction: str
    disease: str = ""
    arm: str = ""
    value: str = ""
    baseline_value: str = ""
    unit: str = ""
    statistic: str = ""
    n: str = ""
    notes: str = ""
    raw: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def window(self) -> Window | None:
        """Time window in days after the first infusion."""
        return parse_timepoint(self.timepoint)[0]

    @property
    def window_reason(self) -> str:
        """Why there is no window (empty when there is one)."""
        reason = parse_timepoint(self.timepoint)[1]
        return f"not comparable: {reason}" if reason else ""

    @property
    def kind(self) -> Kind:
        """What is claimed: a direction, a level, a disappearance, or nothing the comparison scores."""
        return parse_direction(self.direction)[0]

    @property
    def kind_reason(self) -> str:
        """Why the claim is not scored (empty when it is)."""
        return parse_direction(self.direction)[3]

    @property
    def vanish_after_h(self) -> float | None:
        """Hours of a ``none after X h`` claim."""
        return parse_direction(self.direction)[2]

    @property
    def model(self) -> ModelMeasure:
        """The model counterpart of the measure."""
        return map_measure(self.measure, self.disease)

    @property
    def role(self) -> Role:
        """Which arm the row describes: the untreated baseline, a cell-free control, or a treated arm."""
        a = self.arm.strip().lower()
        if a in ("baseline", "-", ""):
            return "baseline" if self.kind == "level" or a == "baseline" else "treated"
        if any(k in a for k in ("medium", "vehicle", "placebo", "control", "untreated", "saline")):
            return "control"
        return "treated"

    @property
    def row_preset(self) -> str | None:
        """The preset the row's population corresponds to (None for mouse / mixed rows)."""
        d = self.disease.strip().lower()
        return d if d in PRESETS else None

    def reported_interval(self, preset: str) -> tuple[Interval | None, str]:
        """The reported interval that applies to a scenario with disease ``preset``, or why none does.

        Level rows: the value (or the value in a ``~24 h`` / ``>95 %`` direction phrase).  Rows of a
        preset disease apply to scenarios of that preset; a part labelled healthy applies to the healthy
        preset.  Rows of other diseases (mouse, mixed) apply to any scenario.
        """
        text = self.value.strip()
        phrase = parse_direction(self.direction)[1]
        if not text and phrase:
            text = phrase
        if not text or text == "-":
            return None, "no value reported"
        parts = parse_parts(text)
        row = self.row_preset
        chosen: list[tuple[str, str]] = []
        for label, body in parts:
            pop = _population(label, row) if row else None
            if row is None or pop == preset:
                chosen.append((label, body))
        if not chosen:
            described = ", ".join(lab or (row or "?") for lab, _ in parts)
            return None, (f"not comparable: the row reports {described} ({self.disease}); none applies to the "
                          f"scenario's preset {preset!r}")
        label, body = chosen[0]
        interval = parse_interval(body, self.unit)
        if interval is None:
            return None, f"not comparable: value {body!r} is not a form the comparison reads"
        if label:
            interval = Interval(interval.low, interval.high, f"{label}: {interval.text}", interval.center,
                                interval.sd)
        return interval, ""

    def reported_text(self, preset: str | None = None) -> str:
        """What the study reported, in a few words."""
        stat = f" ({self.statistic})" if self.statistic else ""
        unit = f" {self.unit}" if self.unit else ""
        if self.kind in ("level",) and preset is not None:
            iv, reason = self.reported_interval(preset)
            if iv is not None:
                return f"{iv.text} -> {iv.show()}{unit}"
            return f"{self.value or self.direction}{unit}"
        if self.kind == "vanish":
            return (f"{self.direction} -> viable < {DETECTION_FRACTION:.1%} of the cells that arrived, "
                    f"after {self.vanish_after_h:g} h (assumed detection limit)")
        if self.kind in ("increase", "decrease", "no_change"):
            extra = f"; {self.baseline_value} -> {self.value}{unit}" if self.value and self.baseline_value else ""
            return f"{self.direction}{stat}{extra}"
        return f"{self.direction}{stat}"


def _row_value(row: dict[str, str], key: str) -> str:
    value = row.get(key, "")
    return "" if value is None else str(value).strip()


def from_row(row: dict[str, str]) -> Finding:
    """A mapping of one CSV row (strings) -> :class:`Finding`."""
    g = _row_value
    return Finding(
        finding_id=g(row, "finding_id"), study=g(row, "study"), measure=g(row, "measure"),
        timepoint=g(row, "timepoint_days"), direction=g(row, "direction"), disease=g(row, "disease"),
        arm=g(row, "arm"), value=g(row, "value"), baseline_value=g(row, "baseline_value"), unit=g(row, "unit"),
        statistic=g(row, "statistic"), n=g(row, "n"), notes=g(row, "notes"),
        raw={k: g(row, k) for k in row})


def load_findings(path: str | Path | None = None) -> list[Finding]:
    """Read findings.csv (every cell as text) into findings, in file order.

    Raises ConfigError (a ValueError) naming the file when it is missing or unreadable, a required column is
    missing or an id is empty or repeated.
    """
    from abm.config.load import ConfigError

    path = Path(path) if path is not None else DEFAULT_FINDINGS
    if not path.is_file():
        raise ConfigError(f"{path}: no such findings file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"{path}: not a readable findings CSV ({str(exc).strip() or type(exc).__name__})") from None
    missing = [k for k in REQUIRED_KEYS if k not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: missing column(s) {missing}")
    findings = [from_row(r) for r in frame.to_dict(orient="records")]
    ids = [f.finding_id for f in findings]
    empty = [i + 2 for i, x in enumerate(ids) if not x]
    if empty:
        raise ConfigError(f"{path}: empty finding_id on line(s) {empty}")
    repeated = sorted({x for x in ids if ids.count(x) > 1})
    if repeated:
        raise ConfigError(f"{path}: repeated finding_id(s) {repeated}")
    return findings


def by_id(findings: list[Finding]) -> dict[str, Finding]:
    """Findings keyed by id."""
    return {f.finding_id: f for f in findings}
