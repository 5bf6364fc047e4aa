"""Trial events at visits (model surrogates): response, remission, flare, relapse and benefit duration.

A trial sees a patient at visits, not every day.  :func:`at_visits` reads an index at the visit days of
``observation.events`` (linear between records; visits after the follow-up are dropped), and
:func:`course` turns one patient-arm's visit series into its events, by the published definitions the
``observation.events`` parameters name:

* **response**, first visit at which it holds, relative to the day-0 visit (baseline):
  SLEDAI-2K: a drop of ``sledai_response_drop`` or more (the SLEDAI part of the SRI-4);
  DAS28-CRP: a EULAR good or moderate response (van Gestel 1996: improvement > 1.2, or > 0.6 with the current
  score <= 5.1).
* **remission**: the index under its remission cut-off at two visits ``remission_apart_days`` or more apart
  and at every visit between them; the day is the first of the two.
* **relapse** after a response: the first later visit with a flare (SLEDAI-2K: a rise of
  ``sledai_flare_rise`` or more since the previous visit, SELENA; DAS28: a rise > 1.2, or > 0.6 when the
  score is above the low-activity cut-off 3.2) or with the response lost.
* **benefit duration**: days from the first response to the relapse, or to the last visit (censored).

Each output is a per-patient-arm row, ready for rates over patients and Kaplan-Meier curves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from abm.clinical.params import Events

INDEX_OF_DISEASE: dict[str, str] = {"sle": "sledai2k", "ra": "das28_crp"}
"""Disease preset -> the observation column its trial events are read on (the index its trials report)."""

RESPONSE_RULES = ("sledai2k", "sledai2k_expected", "das28_crp", "das28_crp_expected")
"""Index columns with a response, remission and flare definition (cJADAS10 bands: issue 'children')."""


def index_for(disease: str) -> str:
    """The index column trial events of ``disease`` are read on; ValueError names the allowed presets."""
    try:
        return INDEX_OF_DISEASE[disease]
    except KeyError:
        raise ValueError(f"no trial-event index for disease preset {disease!r}; allowed: "
                         f"{', '.join(INDEX_OF_DISEASE)}") from None


def at_visits(t_days: np.ndarray, values: np.ndarray, visit_days: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """(visit days within the recorded span, the index at them, linear between records)."""
    t = np.asarray(t_days, float)
    v = np.asarray(values, float)
    order = np.argsort(t)
    t, v = t[order], v[order]
    days = np.array([d for d in visit_days if t[0] - 1e-9 <= d <= t[-1] + 1e-9], float)
    return days, np.interp(days, t, v)


def _family(index: str) -> str:
    if index not in RESPONSE_RULES:
        raise ValueError(f"no response definition for index column {index!r}; allowed: {', '.join(RESPONSE_RULES)}")
    return "sledai" if index.startswith("sledai") else "das28"


def responding(baseline: float, scores: np.ndarray, index: str, e: Events) -> np.ndarray:
    """Whether the response criterion holds at each visit (relative to ``baseline``)."""
    improvement = baseline - np.asarray(scores, float)
    if _family(index) == "sledai":
        return improvement >= e.sledai_response_drop
    return (improvement > e.das28_good_response) | (
        (improvement > e.das28_moderate_response) & (np.asarray(scores, float) <= e.das28_high_activity))


def in_remission(scores: np.ndarray, index: str, e: Events) -> np.ndarray:
    """Whether each visit's score is under the remission cut-off."""
    cut = e.sledai_remission_below if _family(index) == "sledai" else e.das28_remission_below
    return np.asarray(scores, float) < cut


def flaring(scores: np.ndarray, index: str, e: Events) -> np.ndarray:
    """Whether each visit is a flare against the previous visit (the first visit never is)."""
    s = np.asarray(scores, float)
    rise = np.concatenate([[0.0], np.diff(s)])
    if _family(index) == "sledai":
        return rise >= e.sledai_flare_rise
    return (rise > e.das28_good_response) | ((rise > e.das28_moderate_response) & (s > e.das28_low_activity))


@dataclass(frozen=True)
class Course:
    """The events of one patient in one arm (days after the first infusion; NaN when the event did not occur)."""

    index: str
    baseline: float
    last_visit_day: float
    responded: bool
    response_day: float
    remission: bool
    remission_day: float
    relapsed: bool
    relapse_day: float
    benefit_days: float  # first response to relapse, or to the last visit (then censored); NaN if no response
    benefit_censored: bool


def _remission_day(days: np.ndarray, below: np.ndarray, apart: float) -> float:
    for i in np.flatnonzero(below):
        run_end = i
        while run_end + 1 < len(days) and below[run_end + 1]:
            run_end += 1
        if days[run_end] - days[i] >= apart:
            return float(days[i])
    return float("nan")


def course(days: np.ndarray, scores: np.ndarray, index: str, e: Events) -> Course:
    """The events of one visit series; ``days[0]`` is the baseline visit (day 0)."""
    days = np.asarray(days, float)
    scores = np.asarray(scores, float)
    if len(days) == 0:
        raise ValueError("no visit inside the recorded span: is the follow-up shorter than the first visit?")
    baseline = float(scores[0])
    resp = responding(baseline, scores, index, e)
    resp[0] = False
    nan = float("nan")
    first = int(np.argmax(resp)) if resp.any() else -1
    remission_day = _remission_day(days, in_remission(scores, index, e), e.remission_apart_days)
    if first < 0:
        return Course(index, baseline, float(days[-1]), False, nan, not np.isnan(remission_day), remission_day,
                      False, nan, nan, False)
    after = np.arange(len(days)) > first
    lost = after & (flaring(scores, index, e) | ~resp)
    relapse = int(np.argmax(lost)) if lost.any() else -1
    end = days[relapse] if relapse >= 0 else days[-1]
    return Course(index, baseline, float(days[-1]), True, float(days[first]), not np.isnan(remission_day),
                  remission_day, relapse >= 0, float(days[relapse]) if relapse >= 0 else nan,
                  float(end - days[first]), relapse < 0)


def courses(frame: pd.DataFrame, index: str, e: Events, by: tuple[str, ...] = ("run_id", "arm")) -> pd.DataFrame:
    """One :class:`Course` row per group of ``by`` (a patient-arm) of an observed trajectory frame."""
    keys = [k for k in by if k in frame.columns]
    if index not in frame.columns:
        raise ValueError(f"trajectories lack the index column {index!r}: observe them first (abm.clinical.observe)")
    groups = frame.groupby(keys, sort=False) if keys else [((), frame)]
    rows = []
    for key, group in groups:
        days, scores = at_visits(group["t_days"].to_numpy(), group[index].to_numpy(), e.visit_days)
        key = key if isinstance(key, tuple) else (key,)
        rows.append(dict(zip(keys, key, strict=True)) | asdict(course(days, scores, index, e)))
    return pd.DataFrame(rows)
