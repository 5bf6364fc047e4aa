"""Trial events at visits against hand-worked visit series."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from abm.clinical import events as ev
from abm.clinical.params import Events

E = Events()
DAYS = np.array([0, 30, 60, 90, 120, 150, 180], float)


def test_sledai_response_remission_and_relapse_by_hand():
    scores = np.array([12, 9, 7, 3, 2, 3, 8], float)  # -5 at day 60; < 4 from day 90 to 150; +5 at day 180
    c = ev.course(DAYS, scores, "sledai2k", E)
    assert c.responded and c.response_day == 60
    assert not c.remission  # under 4 for 60 days only (90 to 150), not the 90 of the definition
    assert c.relapsed and c.relapse_day == 180 and c.benefit_days == 120 and not c.benefit_censored
    lasting = ev.course(DAYS, np.array([12, 9, 7, 3, 2, 3, 3], float), "sledai2k", E)
    assert lasting.remission and lasting.remission_day == 90 and not lasting.relapsed


def test_remission_needs_two_visits_far_enough_apart():
    short = Events(remission_apart_days=90)
    scores = np.array([12, 9, 3, 3, 8, 3, 3], float)  # under 4 at 60-90 (30 d) and 150-180 (30 d)
    assert not ev.course(DAYS, scores, "sledai2k", short).remission
    assert ev.course(DAYS, scores, "sledai2k", Events(remission_apart_days=30)).remission_day == 60


def test_no_response_gives_no_relapse_and_no_benefit():
    c = ev.course(DAYS, np.array([12, 11, 10, 11, 12, 10, 9], float), "sledai2k", E)
    assert not c.responded and not c.relapsed and math.isnan(c.benefit_days)


def test_lasting_response_is_censored_at_the_last_visit():
    c = ev.course(DAYS, np.array([12, 7, 6, 6, 5, 6, 6], float), "sledai2k", E)
    assert c.responded and c.response_day == 30 and not c.relapsed
    assert c.benefit_censored and c.benefit_days == 150


def test_eular_response_by_hand():
    # baseline 5.5: 4.8 is a 0.7 improvement with DAS28 <= 5.1 (moderate); 4.4 -> 1.1 (moderate); 5.3 none
    scores = np.array([5.5, 5.3, 4.8, 4.4, 3.0], float)
    assert ev.responding(5.5, scores, "das28_crp", E).tolist() == [False, False, True, True, True]
    # a 0.7 improvement from 6.2 to 5.5 is above 5.1: no response
    assert not ev.responding(6.2, np.array([5.5]), "das28_crp", E)[0]
    assert ev.in_remission(scores, "das28_crp", E).tolist() == [False] * 4 + [False]
    assert ev.flaring(np.array([3.0, 3.7, 3.9, 5.2]), "das28_crp", E).tolist() == [False, True, False, True]


def test_visits_are_read_between_records_and_cut_at_the_follow_up():
    days, values = ev.at_visits(np.arange(0, 101, 10.0), np.arange(0, 101, 10.0), [0, 7, 14, 30, 120])
    assert days.tolist() == [0, 7, 14, 30] and values.tolist() == [0, 7, 14, 30]


def test_courses_give_one_row_per_patient_arm():
    t = np.tile(DAYS, 2)
    frame = pd.DataFrame({"run_id": "r0", "arm": ["msc"] * 7 + ["untreated"] * 7, "t_days": t,
                          "sledai2k": [12, 9, 7, 3, 2, 3, 8] + [12] * 7})
    out = ev.courses(frame, "sledai2k", Events(visit_days=DAYS.tolist()))
    assert out.set_index("arm")["responded"].to_dict() == {"msc": True, "untreated": False}


def test_unknown_index_and_disease_are_named():
    with pytest.raises(ValueError, match="allowed: sledai2k"):
        ev.course(DAYS, DAYS, "cjadas10", E)
    with pytest.raises(ValueError, match="allowed: sle, ra"):
        ev.index_for("jia")
