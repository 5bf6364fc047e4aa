"""Blood and lung compartments (abm.biology.compartments): initial pool, systemic levels, homeostasis."""

from __future__ import annotations

import numpy as np
import pytest

from abm.biology import compartments
from abm.biology.parameters import MEDIATORS, Systemic
from abm.biology.treatment import Blockades
from abm.config import validate_dict
from abm.model import MSCModel


def _model(**over) -> MSCModel:
    return MSCModel(validate_dict({"tissue": {"width_voxels": 10, "height_voxels": 10}, **over}), rng=4)


def test_initial_blood_takes_its_shares_from_the_parameters():
    b = compartments.initial_blood(Systemic(pool_cells=10000, initial_th17_fraction=0.02, initial_treg_fraction=0.05))
    assert (b.th17, b.treg, b.total) == (200, 500, 10000)


def test_regulatory_lung_phagocytes_raise_systemic_ido_and_tgfb():
    model = _model()
    base = compartments.systemic_levels(model)
    model.lung.regulatory = 0.5 * model.lung.phagocytes
    more = compartments.systemic_levels(model)
    assert base.ido == 0.0 < more.ido
    assert more.tgfb > base.tgfb and more.il10 > base.il10


def test_blockades_zero_their_systemic_mediator():
    model = _model()
    model.lung.regulatory = 0.5 * model.lung.phagocytes
    model.set_arm(model.arm.model_copy(update={"blockades": Blockades(ido_inhibitor=True)}))
    assert compartments.systemic_levels(model).ido == 0.0


def test_blood_homeostasis_keeps_the_pool_at_its_set_point():
    model = _model()
    for _ in range(24):
        s = compartments.systemic_levels(model)
        compartments.step_blood(model, s)
        assert model.blood.total >= model.bio.systemic.pool_cells
        assert min(model.blood.naive, model.blood.th17, model.blood.treg) >= 0


def test_lung_msc_are_cleared_and_leave_regulatory_phagocytes():
    model = _model()
    model.lung.msc_resting = 1e6
    events = []
    for _ in range(48):
        events.append(compartments.step_lung(model, compartments.systemic_levels(model)))
    assert model.lung.msc_alive < 1e4
    assert model.lung.regulatory > 0 and sum(e["lung_msc_engulfed"] for e in events) > 0
    assert np.isfinite([model.lung.regulatory_fraction]).all() and len(MEDIATORS) == 6


def _lung_after(hours: float, cytotoxicity: float) -> compartments.LungState:
    model = _model(patient={"host_cytotoxicity": cytotoxicity})
    model.lung.msc_resting = 1e6
    for _ in range(round(hours / model.dt_h)):
        compartments.step_lung(model, compartments.systemic_levels(model))
    return model.lung


def test_a_more_cytotoxic_host_kills_lung_msc_faster_and_makes_efferocytes_sooner():
    low, high = _lung_after(4.0, 0.25), _lung_after(4.0, 4.0)
    assert high.msc_alive < low.msc_alive
    assert high.regulatory > low.regulatory


def test_host_lysis_scales_only_the_host_share_of_msc_death():
    from abm.biology.rules.custom import host_lysis

    assert host_lysis(0.7, 1.0) == 1.0  # the reference patient: the shipped survival half-life
    assert host_lysis(0.7, 0.0) == pytest.approx(0.3)  # no cytotoxic cells: the spontaneous share only
    assert host_lysis(0.0, 5.0) == 1.0


def _infused(persistence: str, hours: float) -> MSCModel:
    model = _model(biology={"persistence": persistence})
    model.lung.msc_resting = 6e7
    for _ in range(round(hours / model.dt_h)):
        model.systemic = compartments.systemic_levels(model)
        compartments.step_lung(model, model.systemic)
    return model


def test_the_relay_makes_short_lived_efferocytes_instead_of_long_lived_regulatory_phagocytes():
    day2, day16 = _infused("relay", 48), _infused("relay", 16 * 24)
    assert day2.lung.regulatory == 0.0 and day2.lung.efferocytes > 1e7
    # two days of MSC death feed the pool, then it halves every efferocyte_half_life_days (3)
    assert day16.lung.efferocytes / day2.lung.efferocytes == pytest.approx(0.5 ** (14 / 3), rel=0.15)
    long_lived = _infused("long_lived_phagocyte", 16 * 24)
    assert long_lived.lung.efferocytes == 0.0 and long_lived.lung.regulatory > 0


def test_efferocytes_signal_with_their_own_gains_and_fade_where_the_phagocyte_stays():
    relay, kept = _infused("relay", 20 * 24), _infused("long_lived_phagocyte", 20 * 24)
    early = _infused("relay", 48)
    s_early, s_relay, s_kept = (compartments.systemic_levels(m) for m in (early, relay, kept))
    assert s_early.ido > 10 * s_relay.ido and s_early.pge2 > 0
    assert s_kept.ido > 10 * s_relay.ido


def test_efferocytes_bound_for_the_inflamed_tissue_land_in_the_slice_as_ido_positive_m2():
    model = _model(biology={"persistence": "relay"})
    model.slice_share = 1e-6  # a larger slice share than the 10 x 10 test tissue has
    before = model.macrophages.n
    landed = compartments._relay(model, 5e7, compartments.Signals(compartments.systemic_levels(model)))
    assert landed > 0 and model.macrophages.n == before + landed
    assert model.macrophages.ido_pos[-landed:].all()
