"""The outcome grammar every experiment uses: what "ratio at day 30", "AUC vs baseline" and "gain vs
control" mean.

An **outcome** is ``<measure>_<statistic>`` of one arm's trajectory:

- measures: :data:`MEASURES` (``ratio`` = blood Treg/Th17 ratio, ``treg_pct``, ``th17_pct``, the tissue
  ones, ``autoantibody``, ``inflammation``, ``m2_fraction``);
- statistics: ``day<d>`` (the value at day d, within half a day of a recorded row, else NaN);
  ``auc`` or ``auc_vs_baseline`` (area between the trajectory and its own day-0 value, measure x days,
  trapezoids); ``peak``, ``min`` (over finite values); ``time_to_peak_days``; ``baseline`` (the day-0 value);
  ``duration_above_baseline`` (days above the day-0 value).

A **gain** (or effect) is an outcome in one arm minus the same outcome in another arm of the same run
(``minus`` in sensitivity specs, the control in hypothesis specs, the comparator of a finding): runs of
one seed are paired, so the difference is taken per replicate before any averaging.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

MEASURES = {
    "ratio": "blood_treg_th17_ratio",
    "treg_pct": "blood_treg_pct_cd4",
    "th17_pct": "blood_th17_pct_cd4",
    "tissue_ratio": "tissue_treg_th17_ratio",
    "tissue_treg_pct": "tissue_treg_pct_cd4",
    "tissue_th17_pct": "tissue_th17_pct_cd4",
    "autoantibody": "autoantibody_index",
    "inflammation": "inflammation_index",
    "m2_fraction": "m2_fraction",
}
"""Short measure names -> trajectory columns."""

LABELS = {
    "ratio": "blood Treg/Th17 ratio",
    "treg_pct": "blood Treg %",
    "th17_pct": "blood Th17 %",
    "tissue_ratio": "tissue Treg/Th17 ratio",
    "tissue_treg_pct": "tissue Treg %",
    "tissue_th17_pct": "tissue Th17 %",
    "autoantibody": "autoantibody index",
    "inflammation": "inflammation index",
    "m2_fraction": "M2 fraction",
}

STATISTICS = ("auc_vs_baseline", "auc", "peak", "min", "time_to_peak_days", "baseline", "duration_above_baseline")
OUTCOME_RE = re.compile(rf"^(?P<measure>[a-z0-9_]+?)_(?:day(?P<day>\d+(?:\.\d+)?)|(?P<stat>{'|'.join(STATISTICS)}))$")


@dataclass(frozen=True)
class Outcome:
    """A parsed outcome: its name, measure, trajectory column, statistic and day (for ``day<d>``)."""

    name: str
    measure: str
    column: str
    stat: str
    day: float | None

    @property
    def label(self) -> str:
        """Words for the outcome: ``ratio_day30`` -> ``day-30 blood Treg/Th17 ratio``."""
        what = LABELS.get(self.measure, self.measure)
        if self.stat == "day":
            return f"day-{self.day:g} {what}"
        return {"auc": f"{what} AUC", "auc_vs_baseline": f"{what} AUC", "peak": f"peak {what}",
                "min": f"lowest {what}", "time_to_peak_days": f"day of peak {what}",
                "baseline": f"day-0 {what}", "duration_above_baseline": f"days of {what} above baseline"}[self.stat]


def parse(name: str) -> Outcome:
    """Parse an outcome name; ValueError naming the allowed forms."""
    m = OUTCOME_RE.match(name)
    if not m or m["measure"] not in MEASURES:
        raise ValueError(f"outcome {name!r}: use <measure>_day<d> or <measure>_<statistic> with measure one of "
                         f"{sorted(MEASURES)} and statistic one of {list(STATISTICS)}")
    stat = "day" if m["day"] else m["stat"]
    return Outcome(name, m["measure"], MEASURES[m["measure"]], stat, float(m["day"]) if m["day"] else None)


def value(t: np.ndarray, y: np.ndarray, stat: str, day: float | None = None) -> float:
    """One statistic of one trajectory (``t`` sorted, day 0 first)."""
    if stat == "day":
        i = int(np.abs(t - day).argmin())
        return float(y[i]) if abs(t[i] - day) <= 0.5 else math.nan
    if stat == "baseline":
        return float(y[0])
    finite = np.isfinite(y)
    if not finite.any():
        return math.nan
    if stat == "peak":
        return float(np.max(y[finite]))
    if stat == "min":
        return float(np.min(y[finite]))
    if stat == "time_to_peak_days":
        return float(t[int(np.nanargmax(np.where(finite, y, -np.inf)))])
    base = y[0]
    if stat in ("auc", "auc_vs_baseline"):
        return float(np.trapezoid(np.where(finite, y - base, 0.0), t))
    if stat == "duration_above_baseline":
        above = np.where(finite, y > base, False).astype(float)
        return float(np.sum(np.diff(t) * (above[1:] + above[:-1]) / 2))
    raise ValueError(stat)


def of_arm(df: pd.DataFrame, names: list[str]) -> dict[str, float]:
    """The named outcomes of one arm's trajectory rows."""
    df = df.sort_values("t_days")
    t = df["t_days"].to_numpy(dtype=float)
    out = {}
    for name in names:
        o = parse(name)
        out[name] = value(t, df[o.column].to_numpy(dtype=float), o.stat, o.day)
    return out


def summary_names(days: list[float]) -> list[str]:
    """The outcomes a batch summary keeps per run and arm (``summary.parquet`` columns)."""
    names = [f"{m}_day{d:g}" for d in days for m in ("ratio", "treg_pct", "th17_pct")]
    return names + ["ratio_baseline", "ratio_peak", "ratio_time_to_peak_days", "ratio_auc_vs_baseline"]
