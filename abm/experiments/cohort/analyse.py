"""Reading a virtual trial (model surrogates): rates over patients, relapse curves, index bands, power, responders.

Inputs are two long tables the pipeline builds from the arms' trajectories:

* ``courses``: one :class:`abm.clinical.events.Course` row per patient x draw x replicate x arm;
* ``visits``: the index at every visit, one row per patient x draw x replicate x arm x visit day.

Every interval is over **patients** (the cohort's unit): a patient's value is first averaged over its
posterior draws and seeds, then patients are bootstrapped (scipy ``bootstrap``, percentile method).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

UNIT = ["patient", "draw", "replicate"]
"""The columns that identify one simulated course (besides the arm)."""


def _bootstrap_mean(values: np.ndarray, resamples: int, rng: np.random.Generator) -> tuple[float, float]:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if len(values) < 2 or np.all(values == values[0]):
        v = float(values[0]) if len(values) else float("nan")
        return v, v
    res = stats.bootstrap((values,), np.mean, n_resamples=resamples, method="percentile", rng=rng)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def per_patient(frame: pd.DataFrame, column: str) -> pd.Series:
    """A course column averaged over each patient's draws and seeds (a probability for booleans)."""
    return frame.groupby("patient")[column].apply(lambda s: s.astype(float).mean())


def rates(courses: pd.DataFrame, days: list[float], resamples: int, rng: np.random.Generator) -> pd.DataFrame:
    """Per arm: response, remission and (among responders) relapse by each reporting day, with 95 % intervals.

    A patient responds "by day D" when its first response is at or before D; the rate is the mean over
    patients of the share of their runs (draws x seeds) that did.
    """
    rows = []
    for arm, group in courses.groupby("arm", sort=False):
        for day in days:
            g = group.assign(
                response=group["responded"] & (group["response_day"] <= day),
                remission_by=group["remission"] & (group["remission_day"] <= day),
                relapse_by=group["relapsed"] & (group["relapse_day"] <= day))
            for event, column, subset in (("response", "response", g), ("remission", "remission_by", g),
                                          ("relapse among responders", "relapse_by", g[g["response"]])):
                if subset.empty:
                    rows.append({"arm": arm, "day": day, "event": event, "patients": 0, "rate": np.nan,
                                 "ci_low": np.nan, "ci_high": np.nan})
                    continue
                p = per_patient(subset, column)
                lo, hi = _bootstrap_mean(p.to_numpy(), resamples, rng)
                rows.append({"arm": arm, "day": day, "event": event, "patients": len(p), "rate": float(p.mean()),
                             "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def index_bands(visits: pd.DataFrame, treated: str, control: str, resamples: int,
                rng: np.random.Generator) -> pd.DataFrame:
    """Per arm and visit day: the mean index over patients with a bootstrap band; and the paired difference
    ``treated - control`` (arm ``treated-control``), patient by patient."""
    rows = []
    wide = visits.pivot_table(index=[*UNIT, "day"], columns="arm", values="value", aggfunc="first")
    if treated in wide.columns and control in wide.columns:
        wide[f"{treated}-{control}"] = wide[treated] - wide[control]
    for arm in wide.columns:
        for day, sub in wide[arm].groupby(level="day"):
            p = sub.groupby(level="patient").mean().dropna()
            if p.empty:
                continue
            lo, hi = _bootstrap_mean(p.to_numpy(), resamples, rng)
            rows.append({"arm": arm, "day": float(day), "patients": len(p), "mean": float(p.mean()),
                         "sd_over_patients": float(p.std(ddof=1)) if len(p) > 1 else 0.0,
                         "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def relapse_free(courses: pd.DataFrame, arm: str) -> pd.DataFrame:
    """Kaplan-Meier relapse-free survival of the responders of ``arm``, in days since their first response.

    scipy ``stats.ecdf`` on right-censored data (censored at the last visit) with its 95 % log-log
    pointwise interval.  Every run of a responder (draws x seeds) counts as one observation, so with more
    than one run per patient the interval is too narrow by their within-patient correlation.
    """
    resp = courses[(courses["arm"] == arm) & courses["responded"]]
    if resp.empty:
        return pd.DataFrame(columns=["days_since_response", "survival", "ci_low", "ci_high", "at_risk"])
    t = resp["benefit_days"].to_numpy(float)
    event = resp["relapsed"].to_numpy(bool)
    data = stats.CensoredData(uncensored=t[event], right=t[~event])
    sf = stats.ecdf(data).sf
    grid = np.unique(np.concatenate([[0.0], t]))
    survival = sf.evaluate(grid)
    import warnings

    with warnings.catch_warnings():  # undefined where survival is 1 or 0; filled below
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = sf.confidence_interval(method="log-log") if event.any() else None
    low = ci.low.evaluate(grid) if ci is not None else survival
    high = ci.high.evaluate(grid) if ci is not None else survival
    at_risk = np.array([(t >= g).sum() for g in grid])
    return pd.DataFrame({"days_since_response": grid, "survival": survival, "ci_low": np.nan_to_num(low, nan=0.0),
                         "ci_high": np.nan_to_num(high, nan=1.0), "at_risk": at_risk})


def power(visits: pd.DataFrame, arm: str, days: list[float], sizes: list[int], alpha: float, resamples: int,
          rng: np.random.Generator) -> pd.DataFrame:
    """Power of a trial of n patients to show the index falling from baseline in ``arm`` (one-sided paired t).

    Each resample draws n virtual patients with replacement and one of each patient's runs (a real patient is
    one realisation, not a mean), and tests the change from the day-0 visit with ``scipy.stats.ttest_1samp``.
    """
    sub = visits[visits["arm"] == arm]
    base = sub[sub["day"] == 0].set_index(UNIT)["value"]
    rows = []
    for day in days:
        at = sub[sub["day"] == day].set_index(UNIT)["value"]
        change = (at - base.reindex(at.index)).dropna()
        if change.empty:
            continue
        by_patient = [g.to_numpy() for _, g in change.groupby(level="patient")]
        for n in sizes:
            hits = 0
            for _ in range(resamples):
                pick = rng.integers(len(by_patient), size=n)
                sample = np.array([by_patient[i][rng.integers(len(by_patient[i]))] for i in pick])
                if np.all(sample == sample[0]):
                    hits += bool(sample[0] < 0)
                    continue
                hits += stats.ttest_1samp(sample, 0.0, alternative="less").pvalue < alpha
            rows.append({"arm": arm, "day": day, "patients": n, "power": hits / resamples,
                         "mean_change": float(change.mean())})
    return pd.DataFrame(rows)


def responders(courses: pd.DataFrame, patients: pd.DataFrame, arm: str, keys: list[str], day: float
               ) -> pd.DataFrame:
    """Which patient parameters separate responders (by ``day``) from non-responders in ``arm``.

    A responder is a patient whose runs responded in at least half the cases.  Per parameter: the AUC of the
    parameter for responders (Mann-Whitney U / (n1 n0); 0.5 = no separation, > 0.5 = higher in responders)
    with its two-sided p-value, Holm-adjusted over parameters (statsmodels), and the standardised
    coefficient of a multivariable logistic regression (statsmodels ``Logit`` on z-scored parameters; left
    empty when it does not converge, e.g. under perfect separation).  Rows are ranked by |AUC - 0.5|.
    """
    from statsmodels.stats.multitest import multipletests

    g = courses[courses["arm"] == arm]
    prob = per_patient(g.assign(r=g["responded"] & (g["response_day"] <= day)), "r")
    table = patients.set_index("patient").loc[prob.index]
    y = (prob >= 0.5).to_numpy()
    rows = []
    for key in keys:
        x = table[key].to_numpy(float)
        if y.all() or not y.any() or np.all(x == x[0]):
            rows.append({"parameter": key, "auc": np.nan, "p": np.nan})
            continue
        u = stats.mannwhitneyu(x[y], x[~y], alternative="two-sided")
        rows.append({"parameter": key, "auc": float(u.statistic / (y.sum() * (~y).sum())), "p": float(u.pvalue)})
    out = pd.DataFrame(rows)
    ok = out["p"].notna()
    out["p_holm"] = np.nan
    if ok.any():
        out.loc[ok, "p_holm"] = multipletests(out.loc[ok, "p"], method="holm")[1]
    out["logit_coef_per_sd"] = _logit(table[keys].to_numpy(float), y, keys)
    out["responders"], out["patients"] = int(y.sum()), len(y)
    return out.reindex((out["auc"] - 0.5).abs().sort_values(ascending=False, na_position="last").index)


def _logit(x: np.ndarray, y: np.ndarray, keys: list[str]) -> list[float]:
    import warnings

    import statsmodels.api as sm

    if y.all() or not y.any() or len(y) <= len(keys) + 1:
        return [np.nan] * len(keys)
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.Logit(y.astype(float), sm.add_constant(z, has_constant="add")).fit(disp=0, maxiter=200)
        if not fit.mle_retvals.get("converged", False):
            return [np.nan] * len(keys)
        return [float(v) for v in fit.params[1:]]
    except Exception:  # statsmodels raises on perfect separation and singular designs
        return [np.nan] * len(keys)


@dataclass(frozen=True)
class Variation:
    """Spread of a per-run effect by its source (the three kinds of variation, kept apart)."""

    source: str
    sd: float
    levels: int
    method: str


def variation(visits: pd.DataFrame, treated: str, control: str, day: float) -> pd.DataFrame:
    """SD of the paired effect (treated - control index at ``day``) by source: patient, posterior draw, seed.

    Method-of-moments summaries of the crossed patient x draw x seed design, not a fitted mixed model:
    patient = SD over patients of each patient's mean; draw = SD over draws of each draw's mean; seed = the
    pooled SD over replicates within each patient x draw.  A source with one level has no spread (NaN).
    """
    sub = visits[visits["day"] == day]
    wide = sub.pivot_table(index=UNIT, columns="arm", values="value", aggfunc="first")
    if treated not in wide.columns or control not in wide.columns:
        return pd.DataFrame(columns=["source", "sd", "levels", "method"])
    effect = (wide[treated] - wide[control]).rename("effect").reset_index()
    rows = []
    for source, level in (("patient", "patient"), ("posterior draw", "draw")):
        means = effect.groupby(level)["effect"].mean()
        rows.append(Variation(source, float(means.std(ddof=1)) if len(means) > 1 else np.nan, len(means),
                              f"SD over {level}s of the {level} mean"))
    cells = effect.groupby(["patient", "draw"])["effect"]
    reps = int(effect["replicate"].nunique())
    pooled = float(np.sqrt(cells.var(ddof=1).mean())) if reps > 1 else np.nan
    rows.append(Variation("seed", pooled, reps, "pooled SD over replicates within patient x draw"))
    return pd.DataFrame([r.__dict__ for r in rows])
