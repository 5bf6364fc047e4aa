"""Dose mapping (abm.biology.dosing): clinical prescription -> lung share, tissue arrivals, potency."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.biology import dosing
from abm.config import Scenario, Treatment, validate_dict
from abm.model import MSCModel


def scenario(**sections: Any) -> Scenario:
    return validate_dict(sections)


def arm(**fields: Any) -> Treatment:
    return Treatment.model_validate(fields)


def one(s: Scenario, a: Treatment) -> dosing.Infusion:
    plan = dosing.plan(s, a)
    assert len(plan) == 1
    return plan[0]


def expected_iv_tissue(s: Scenario, total: float) -> float:
    d = s.biology.delivery
    share = dosing.slice_volume_ml(s) / s.disease.inflamed_tissue_volume_ml
    return total * (1 - d.lung_trap_fraction_iv) * d.homing_fraction_to_inflamed * share


# --------------------------------------------------------------------------- geometry
def test_slice_volume_of_the_default_tissue():
    # 100 x 100 voxels of 20 um = 2 mm x 2 mm, 20 um thick = 0.08 mm3 = 8e-5 mL
    assert dosing.slice_volume_ml(Scenario()) == pytest.approx(8e-5, rel=1e-12)
    s = scenario(tissue={"width_voxels": 50, "height_voxels": 40, "voxel_um": 10.0},
                 biology={"delivery": {"slice_thickness_um": 30.0}})
    assert dosing.slice_volume_ml(s) == pytest.approx(0.5 * 0.4 * 0.03 / 1000, rel=1e-12)


# --------------------------------------------------------------------------- IV
def test_iv_lung_share_is_trap_fraction_times_total():
    s = Scenario()
    inf = one(s, arm(dose={"cells_per_kg": 1e6}))
    total = 1e6 * s.patient.body_weight_kg
    assert inf.total_cells == pytest.approx(total)
    assert inf.to_lung == pytest.approx(s.biology.delivery.lung_trap_fraction_iv * total)
    assert inf.tissue_expected == pytest.approx(expected_iv_tissue(s, total), rel=1e-12)
    assert inf.day == 0.0 and inf.potency == 1.0 and inf.licensed is False


@pytest.mark.parametrize("trap", [0.0, 0.5, 0.8, 0.99, 1.0])
def test_iv_lung_share_follows_the_trap_parameter(trap):
    s = scenario(biology={"delivery": {"lung_trap_fraction_iv": trap}})
    inf = one(s, arm(dose={"total_cells": 4e7}))
    assert inf.to_lung == pytest.approx(trap * 4e7)
    assert inf.tissue_expected == pytest.approx(expected_iv_tissue(s, 4e7), rel=1e-12)
    if trap == 1.0:
        assert inf.tissue_expected == 0.0


def test_iv_tissue_share_falls_with_inflamed_volume():
    small = scenario(disease={"preset": "sle", "inflamed_tissue_volume_ml": 50.0})
    large = scenario(disease={"preset": "sle", "inflamed_tissue_volume_ml": 200.0})
    a = arm(dose={"total_cells": 4e7})
    assert one(small, a).tissue_expected == pytest.approx(4 * one(large, a).tissue_expected)
    assert one(small, a).to_lung == one(large, a).to_lung


@pytest.mark.parametrize("route", ["iv", "intra_arterial", "local"])
def test_tissue_and_lung_scale_linearly_with_dose(route):
    s = Scenario()
    doses = [0.25e6, 0.5e6, 1e6, 2e6, 8e6]
    infs = [one(s, arm(route=route, dose={"cells_per_kg": d})) for d in doses]
    ref = infs[2]
    for d, inf in zip(doses, infs, strict=True):
        k = d / 1e6
        assert inf.total_cells == pytest.approx(k * ref.total_cells, rel=1e-12)
        assert inf.tissue_expected == pytest.approx(k * ref.tissue_expected, rel=1e-12)
        assert inf.to_lung == pytest.approx(k * ref.to_lung, rel=1e-12)
    assert ref.tissue_expected > 0


@settings(max_examples=40, deadline=None)
@given(dose=st.floats(min_value=1e4, max_value=1e8), weight=st.floats(min_value=3.0, max_value=200.0),
       route=st.sampled_from(["iv", "intra_arterial", "local"]))
def test_cells_per_kg_scales_with_weight_total_cells_does_not(dose, weight, route):
    ref = Scenario()
    s = scenario(patient={"body_weight_kg": weight})
    per_kg = arm(route=route, dose={"cells_per_kg": dose})
    fixed = arm(route=route, dose={"total_cells": dose})
    k = weight / ref.patient.body_weight_kg
    a, b = one(s, per_kg), one(ref, per_kg)
    assert a.total_cells == pytest.approx(dose * weight, rel=1e-12)
    assert a.tissue_expected == pytest.approx(k * b.tissue_expected, rel=1e-9)
    assert a.to_lung == pytest.approx(k * b.to_lung, rel=1e-9)
    # a fixed total dose does not depend on the patient's weight
    assert one(s, fixed) == one(ref, fixed)


def test_child_gets_less_than_adult_at_same_cells_per_kg():
    a = arm(dose={"cells_per_kg": 1e6})
    child, adult = scenario(patient={"body_weight_kg": 25}), scenario(patient={"body_weight_kg": 60})
    assert one(child, a).tissue_expected == pytest.approx(25 / 60 * one(adult, a).tissue_expected)


# --------------------------------------------------------------------------- other routes
def test_local_route_sends_nothing_to_the_lung():
    s = Scenario()
    inf = one(s, arm(route="local", dose={"total_cells": 1e7}))
    assert inf.to_lung == 0.0
    d = s.biology.delivery
    assert inf.tissue_expected == pytest.approx(
        1e7 * dosing.slice_volume_ml(s) / d.local_injection_volume_ml, rel=1e-12)
    # the inflamed-tissue volume matters for homing, not for a local injection
    other = scenario(disease={"preset": "sle", "inflamed_tissue_volume_ml": 999.0})
    assert one(other, arm(route="local", dose={"total_cells": 1e7})) == inf
    # and a local injection lands far more cells in the slice than the same IV dose
    assert inf.tissue_expected > 100 * one(s, arm(dose={"total_cells": 1e7})).tissue_expected


def test_intra_arterial_mapping():
    s = Scenario()
    d = s.biology.delivery
    total = 4e7
    inf = one(s, arm(route="intra_arterial", dose={"total_cells": total}))
    fp = d.intra_arterial_first_pass
    rest = total * (1 - fp)
    share = dosing.slice_volume_ml(s) / s.disease.inflamed_tissue_volume_ml
    assert inf.to_lung == pytest.approx(rest * d.lung_trap_fraction_iv)
    assert inf.tissue_expected == pytest.approx(
        (total * fp + rest * (1 - d.lung_trap_fraction_iv) * d.homing_fraction_to_inflamed) * share)
    iv = one(s, arm(route="iv", dose={"total_cells": total}))
    assert inf.tissue_expected > iv.tissue_expected and inf.to_lung < iv.to_lung


# --------------------------------------------------------------------------- controls
@pytest.mark.parametrize("control", ["untreated", "vehicle", "conditioned_medium"])
def test_control_arms_plan_nothing(control):
    a = arm(control=control, dose={"total_cells": 1e8}, schedule={"days": [0, 7, 14]}, route="local")
    assert not a.gives_cells
    assert dosing.plan(Scenario(), a) == []


def test_default_arm_gives_cells():
    a = Treatment()
    assert a.gives_cells and len(dosing.plan(Scenario(), a)) == 1


# --------------------------------------------------------------------------- potency
def test_potency_falls_with_passage():
    s = Scenario()
    pots = {p: dosing.potency(s, arm(product={"passage": p})) for p in range(1, 16)}
    assert all(pots[p] == 1.0 for p in (1, 2, 3, 4))
    loss = s.biology.delivery.passage_potency_loss
    assert pots[6] == pytest.approx(1.0 - 2 * loss)
    later = [pots[p] for p in range(4, 16)]
    assert all(b < a for a, b in zip(later, later[1:], strict=False))
    assert min(pots.values()) >= 0.0


def test_potency_never_negative():
    s = scenario(biology={"delivery": {"passage_potency_loss": 0.2}})
    assert dosing.potency(s, arm(product={"passage": 15})) == 0.0


def test_autologous_cells_impaired_in_sle_not_in_ra_or_healthy():
    factor = Scenario().biology.delivery.autologous_disease_potency
    auto, allo = arm(product={"donor": "autologous"}), arm(product={"donor": "allogeneic"})
    sle, ra, healthy = (scenario(disease={"preset": p}) for p in ("sle", "ra", "healthy"))
    assert dosing.potency(sle, allo) == 1.0
    assert dosing.potency(sle, auto) == pytest.approx(factor) and factor < 1.0
    assert dosing.potency(ra, auto) == dosing.potency(ra, allo) == 1.0
    assert dosing.potency(healthy, auto) == 1.0
    # the flag, not the preset name, decides
    ra_impaired = scenario(disease={"preset": "ra", "autologous_msc_impaired": True})
    assert dosing.potency(ra_impaired, auto) == pytest.approx(factor)


def test_passage_and_autologous_impairment_combine():
    s = Scenario()
    d = s.biology.delivery
    a = arm(product={"donor": "autologous", "passage": 6})
    assert dosing.potency(s, a) == pytest.approx((1 - 2 * d.passage_potency_loss)
                                                    * d.autologous_disease_potency)
    assert all(inf.potency == dosing.potency(s, a) for inf in dosing.plan(s, a))


def test_licensed_product_arrives_licensed():
    s = Scenario()
    assert one(s, arm(product={"licensed_ex_vivo": True})).licensed is True
    assert one(s, arm()).licensed is False


# --------------------------------------------------------------------------- schedules
@pytest.mark.parametrize(("schedule", "days"), [
    ({"every_days": 7, "times": 4}, [0.0, 7.0, 14.0, 21.0]),
    ({"every_days": 7, "times": 4, "start_day": 2}, [2.0, 9.0, 16.0, 23.0]),
    ({"every_days": 0.5, "times": 3, "start_day": 1}, [1.0, 1.5, 2.0]),
    ({"every_days": 30, "times": 1}, [0.0]),
    ({"days": [0, 7]}, [0.0, 7.0]),
    ({"days": [3.5]}, [3.5]),
])
def test_schedule_expands(schedule, days):
    a = arm(schedule=schedule)
    assert a.schedule.infusion_days() == days
    plan = dosing.plan(Scenario(), a)
    assert [inf.day for inf in plan] == days
    assert len({(i.total_cells, i.to_lung, i.tissue_expected, i.potency) for i in plan}) == 1


def test_every_n_days_equals_the_explicit_list():
    s = Scenario()
    periodic = dosing.plan(s, arm(schedule={"every_days": 14, "times": 3, "start_day": 1}))
    explicit = dosing.plan(s, arm(schedule={"days": [1, 15, 29]}))
    assert periodic == explicit


# --------------------------------------------------------------------------- model delivery
def small(**extra: Any) -> Scenario:
    return validate_dict({"tissue": {"width_voxels": 24, "height_voxels": 24},
                          "simulation": {"burn_in_days": 0, "days": 2}, **extra})


def test_model_delivers_the_plan_into_lung_and_tissue():
    s = small()
    a = arm(route="iv", dose={"total_cells": 4e7})
    inf = one(s, a)
    model = MSCModel(s, rng=3, arm=a)
    lung_before = model.lung.msc_alive
    model.step()  # the infusion is due at t = 0
    assert model.events["infusion"] == 1
    assert lung_before == 0
    # the lung share arrived (within one step some may have changed state or been cleared)
    lung = model.lung
    in_lung = lung.msc_resting + lung.msc_licensed + lung.msc_apoptotic
    assert 0.9 * inf.to_lung <= in_lung <= round(inf.to_lung) + 1


def test_model_local_arrivals_are_poisson_around_the_expectation():
    s = small()
    a = arm(route="local", dose={"total_cells": 2e7})
    inf = one(s, a)
    assert 20 < inf.tissue_expected < 200  # the test is informative at this size
    counts = []
    for seed in range(12):
        model = MSCModel(s, rng=seed, arm=a)
        model.step()
        counts.append(model.events["msc_arrived_tissue"])
        assert model.lung.msc_alive == 0
    mean = float(np.mean(counts))
    # 12 Poisson draws: the mean is within ~5 standard errors of the expectation
    assert abs(mean - inf.tissue_expected) < 5 * np.sqrt(inf.tissue_expected / len(counts))


def test_control_arm_model_gets_no_cells():
    s = small()
    model = MSCModel(s, rng=1, arm=arm(control="vehicle"))
    for _ in range(3):
        model.step()
    assert model.events["infusion"] == 0 and model.msc.n == 0 and model.lung.msc_alive == 0


def test_background_medication_acts_in_every_arm_and_counts_once():
    c = Scenario().biology.concomitant
    untreated, with_dmard = Treatment(), Treatment(concomitant=["dmard"])
    assert dosing.comedication(c, untreated) == (1.0, 1.0)
    assert dosing.comedication(c, untreated, ["dmard"]) == (1.0, c.dmard_inflammation)
    assert dosing.comedication(c, with_dmard, ["dmard"]) == dosing.comedication(c, with_dmard)
    both = dosing.comedication(c, Treatment(concomitant=["cyclophosphamide"]), ["steroids"])
    assert both == (c.cyclophosphamide_proliferation, c.steroid_inflammation)


def test_background_medication_is_taken_through_the_burn_in():
    scenario = validate_dict({"patient": {"background_medication": ["steroids"]}}, origin="test")
    model = MSCModel(scenario)  # the burn-in runs the untreated arm
    assert model.inflammation_factor == scenario.biology.concomitant.steroid_inflammation
