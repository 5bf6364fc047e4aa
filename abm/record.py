"""Trajectories: one row per recorded time with the quantities trials and users look at."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from abm.biology import cells
from abm.biology.rules import macrophages, msc, tcells
from abm.config import MEDIATORS


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def snapshot(model, events: Counter[str]) -> dict[str, float]:
    """The recorded quantities of the model now (``events``: counts since the last row).

    Also refreshes the grid's property layers, so Mesa views see the fields of the last row.
    """
    model.space.publish_fields()
    b, T, M, S, lung = model.blood, model.tcells, model.macrophages, model.msc, model.lung
    t_th17 = T.count(tcells.TH17)
    t_treg = sum(T.count(code) for code in tcells.FOXP3)  # FOXP3+: committed, induced and resident memory
    cd4 = max(T.n, 1)
    m2 = M.count(macrophages.M2)
    row: dict[str, float] = {
        "t_days": round(model.t_days, 9),
        "blood_treg_pct_cd4": 100.0 * b.foxp3 / max(b.total, 1),
        "blood_th17_pct_cd4": 100.0 * b.th17 / max(b.total, 1),
        "blood_treg_th17_ratio": _ratio(b.foxp3, b.th17),
        "tissue_treg_pct_cd4": 100.0 * t_treg / cd4,
        "tissue_th17_pct_cd4": 100.0 * t_th17 / cd4,
        "tissue_treg_th17_ratio": _ratio(t_treg, t_th17),
        "msc_alive_lung": float(lung.msc_alive),
        "msc_alive_tissue": float(S.n - S.count(msc.APOPTOTIC)),
        "m2_fraction": m2 / max(M.n, 1),
        "lung_regulatory_fraction": lung.regulatory_fraction,
        "efferocyte_fraction": lung.efferocyte_fraction,
        "blood_naive": b.naive, "blood_th17": b.th17, "blood_treg": b.treg, "blood_itreg": b.itreg,
        "blood_tr1": b.tr1, "blood_tr1_pct_cd4": 100.0 * b.tr1 / max(b.total, 1),
        **tissue_counts(model),
        "lung_msc_resting": lung.msc_resting, "lung_msc_licensed": lung.msc_licensed,
        "lung_msc_apoptotic": lung.msc_apoptotic,
        "autoantibody_index": model.autoantibody,
        "damage_level": model.damage.level,
        "inflammation_index": float(model.space.fields[MEDIATORS.index("infl")].mean()),
    }
    fields = model.space.fields
    for i, name in enumerate(MEDIATORS):
        row[f"field_{name}_mean"] = float(fields[i].mean())
        row[f"field_{name}_max"] = float(fields[i].max())
        row[f"systemic_{name}"] = float(getattr(model.systemic, name))
        row[f"plasma_{name}"] = float(model.plasma[i])
    for key in EVENT_KEYS:
        row[f"events_{key}"] = int(events.get(key, 0))
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


EVENT_KEYS = ("infusion", "msc_arrived_tissue", "msc_licensed", "msc_apoptotic", "msc_engulfed",
              "lung_msc_licensed", "lung_msc_engulfed", "t_treg_induced", "t_th17_induced",
              "t_divisions", "efferocytes_to_tissue", "t_itreg_induced", "t_tr1_induced",
              "t_treg_memory_formed")


def tissue_counts(model) -> dict[str, int]:
    """Cells on the grid by state and marker, one column each as the cell-type table names them."""
    out: dict[str, int] = {}
    for ct in cells.CELL_TYPES:
        pop = getattr(model, ct.key)
        counts = np.bincount(pop.state, minlength=len(ct.states))
        out.update({s.column: int(counts[i]) for i, s in enumerate(ct.states)})
        out.update({m.column: int(getattr(pop, m.key).sum()) for m in ct.markers})
    return out


class Recorder:
    """Collects trajectory rows; each row carries the events counted since the previous row."""

    def __init__(self, rows: list[dict] | None = None, events_at_last: dict | None = None):
        self.rows: list[dict[str, float]] = list(rows or [])
        self.events_at_last: Counter[str] = Counter(events_at_last or {})

    def record(self, model) -> None:
        """Append a row for the model's current state."""
        since = Counter(model.events)
        since.subtract(self.events_at_last)
        self.rows.append(snapshot(model, since))
        self.events_at_last = Counter(model.events)

    def frame(self) -> pd.DataFrame:
        """The trajectory table."""
        return pd.DataFrame(self.rows)
