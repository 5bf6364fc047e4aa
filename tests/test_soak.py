"""Soak: a 365-day arm at ~1e5 cells keeps its memory flat (resident set sampled; its slope reported)."""

from __future__ import annotations

import numpy as np
import psutil
import pytest

from abm.config import validate_dict
from abm.record import Recorder
from abm.run import branch, burn_in, steps_for

SIDE = 588  # ~1e5 cells at the default densities (the benchmark's largest size)


@pytest.mark.slow
def test_a_year_at_1e5_cells_has_flat_memory(capsys):
    scenario = validate_dict({"tissue": {"width_voxels": SIDE, "height_voxels": SIDE},
                              "simulation": {"burn_in_days": 2, "days": 365}})
    model = branch(scenario, burn_in(scenario).state_dict(), "msc")
    proc = psutil.Process()
    recorder = Recorder()
    per_day = steps_for(24.0, scenario.simulation.dt_h)
    days, rss = [], []
    for day in range(1, 366):
        for _ in range(per_day):
            model.step()
        recorder.record(model)
        if day % 15 == 0:
            days.append(day)
            rss.append(proc.memory_info().rss / 2**20)
    cells = model.tcells.n + model.macrophages.n + model.bcells.n + model.msc.n
    settled = np.asarray(days) >= 60  # past the first weeks (allocator warm-up, MSC come and go)
    slope = float(np.polyfit(np.asarray(days)[settled], np.asarray(rss)[settled], 1)[0])
    with capsys.disabled():
        print(f"\nsoak: {cells:,} cells after 365 days; RSS {rss[0]:.0f} -> {rss[-1]:.0f} MiB, "
              f"slope {slope * 365:+.1f} MiB/year from day 60 (samples every 15 days)")
    assert cells > 5e4
    assert len(recorder.frame()) == 365
    assert slope * 365 < 50.0, f"memory grows {slope * 365:.1f} MiB/year"
