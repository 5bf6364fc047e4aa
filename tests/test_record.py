"""Trajectory rows (abm.record): columns named by the cell-type table, percentages consistent with counts."""

from __future__ import annotations

import math

from abm.biology import cells
from abm.config import MEDIATORS, validate_dict
from abm.model import MSCModel
from abm.record import EVENT_KEYS, Recorder, snapshot


def _model() -> MSCModel:
    return MSCModel(validate_dict({"tissue": {"width_voxels": 16, "height_voxels": 16}}), rng=8)


def test_a_row_has_every_column_and_consistent_percentages():
    model = _model()
    model.step()
    row = snapshot(model, model.events)
    for ct in cells.CELL_TYPES:
        for r in (*ct.states, *ct.markers):
            assert r.column in row
    for m in MEDIATORS:
        assert {f"field_{m}_mean", f"field_{m}_max", f"systemic_{m}"} <= set(row)
    assert all(f"events_{k}" in row for k in EVENT_KEYS)
    b = model.blood
    assert row["blood_treg_pct_cd4"] == 100.0 * b.treg / b.total
    cd4 = row["tissue_naive"] + row["tissue_th17"] + row["tissue_treg"]
    assert math.isclose(row["tissue_treg_pct_cd4"], 100.0 * row["tissue_treg"] / cd4)
    assert math.isclose(row["blood_treg_th17_ratio"], b.treg / b.th17)


def test_the_recorder_counts_events_since_its_last_row():
    model = _model()
    rec = Recorder()
    rec.record(model)
    for _ in range(12):
        model.step()
    rec.record(model)
    frame = rec.frame()
    assert len(frame) == 2 and frame["t_days"].is_monotonic_increasing
    total = sum(v for k, v in model.events.items() if k == "t_treg_induced")
    assert frame["events_t_treg_induced"].sum() == total
