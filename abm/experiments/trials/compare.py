"""Scoring reported findings against simulated trajectories: paired effects over replicates, verdicts, reports.

A *source* is a batch directory (``batch.json`` + ``runs/``), a single run directory (``manifest.json``
+ ``trajectories.parquet``), or a folder holding such directories.  Each source's scenario names the
finding ids it speaks to (``findings:``); every named finding is scored on that source's trajectories.

Rules (``docs/trials.md``):

* **direction** (increase / decrease / no_change): per replicate (one seed), the window mean of the
  arm minus the window mean of the paired control arm of the same run, or minus the arm's own day-0
  value when the scenario has no control arm.  Over replicates: mean, 95 % t-interval, and the
  standardised effect size d = mean / SD of the per-replicate differences.  increase / decrease hold
  when the interval excludes 0 on the reported side; no_change holds when the interval lies within
  +/- ``SMALL_CHANGE_PCT`` of the comparator level (equivalence, two one-sided tests at 5 %: a change no
  clinical assay would see) or, more weakly, when it includes 0 (no change detected over the replicates).
* **level**: the replicate mean of the window mean must lie inside the reported interval (mean +/- 2
  SD, a range, a bound, or a factor of 2 around a bare value); effect size = (model mean - reported
  mean) / reported SD where both exist.
* **vanish** (``none after X h``): the viable fraction of the cells that arrived, at the first record
  after X h, must fall below :data:`abm.experiments.trials.findings.DETECTION_FRACTION` (replicate mean).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.biology import dosing
from abm.clinical import COLUMNS as CLINICAL_COLUMNS
from abm.clinical import observe
from abm.clinical.observe import INPUTS as OBSERVATION_INPUTS
from abm.config import ConfigError, Scenario, validate_dict
from abm.experiments.common import stats
from abm.experiments.common.tables import markdown_table
from abm.experiments.trials.findings import (
    DETECTION_FRACTION,
    LUNG_TOTAL,
    Finding,
    Interval,
    Kind,
    Window,
    load_findings,
)

COLUMNS = ["finding_id", "study", "measure", "model_column", "timepoint", "direction", "arm", "control",
           "n_replicates", "effect_mean", "ci_low", "ci_high", "effect_size", "reported", "verdict", "reason",
           "scenario", "unit", "note"]
"""Columns of the comparison table (the last three: the scoring scenario, the row's unit, model caveats)."""

HOLDS, FAILS, NOT_COMPARABLE = "holds", "fails", "not comparable"
CONFIDENCE = 0.95
DIRECTIONS: tuple[Kind, ...] = ("increase", "decrease", "no_change")
HALF_LIFE_POINTS = 4
"""Records after an infusion used for the log-linear half-life fit (days 1-4 at daily records)."""
EPS = 1e-9
SMALL_CHANGE_PCT = 5.0
"""The equivalence margin, % of the comparator level: a change inside it would be hard to see in a clinical
assay (assumption: cytokine immunoassays have inter-assay CVs of ~10-15 %, so a 5 % shift in a group mean is
below what a trial of tens of patients resolves).  A no_change row holds when the whole 95 % interval lies
inside it (the calibration distance uses the same margin, ``abm.experiments.calibrate.model``); for
increase / decrease rows a smaller effect is only flagged in the reason, the verdict is not changed."""


# --------------------------------------------------------------------------------------------------
# statistics


@dataclass(frozen=True)
class Summary:
    """Replicate statistics of one per-replicate quantity."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float


def t_interval(values: Iterable[float], confidence: float = CONFIDENCE) -> Summary:
    """Mean, SD and two-sided t-interval of the mean over replicates (NaN bounds below 2 replicates).

    The interval is :func:`abm.experiments.common.stats.t_interval`; non-finite values are dropped."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n < 2:
        return Summary(1, mean, math.nan, math.nan, math.nan)
    lo, hi = stats.t_interval(x, confidence)
    return Summary(n, mean, float(x.std(ddof=1)), lo, hi)


def judge_direction(kind: Kind, s: Summary, ref_level: float = math.nan) -> tuple[str, str, float]:
    """Verdict of a direction finding from the per-replicate differences -> (verdict, reason, effect size d).

    ``ref_level`` (the comparator's mean level) adds the change in per cent to the reason, with a flag when
    it is under :data:`SMALL_CHANGE_PCT`; for a no_change row it also sets the equivalence margin (a 95 %
    interval inside +/- the margin holds even when it excludes 0).  Without a level only the weak test is left.
    """
    d = s.mean / s.sd if s.n >= 2 and s.sd > 0 else math.nan
    if s.n < 2:
        return NOT_COMPARABLE, f"not comparable: {s.n} replicate(s), no interval (need at least 2)", d
    ci = f"95 % CI [{s.ci_low:.3g}, {s.ci_high:.3g}]"
    rel = ""
    if ref_level and np.isfinite(ref_level):
        pct = 100 * s.mean / ref_level
        rel = f"; {pct:+.1f} % of the comparator level"
        if abs(pct) < SMALL_CHANGE_PCT:
            rel += f" (under {SMALL_CHANGE_PCT:g} %: a change this small would be hard to see in a clinical assay)"
    if kind == "increase":
        if s.ci_low > 0:
            return HOLDS, f"rises: {ci} above 0{rel}", d
        if s.ci_high < 0:
            return FAILS, f"falls instead: {ci} below 0{rel}", d
        return FAILS, f"{ci} includes 0: no rise beyond replicate noise{rel}", d
    if kind == "decrease":
        if s.ci_high < 0:
            return HOLDS, f"falls: {ci} below 0{rel}", d
        if s.ci_low > 0:
            return FAILS, f"rises instead: {ci} above 0{rel}", d
        return FAILS, f"{ci} includes 0: no fall beyond replicate noise{rel}", d
    if kind == "no_change":
        if ref_level and np.isfinite(ref_level):
            margin = abs(ref_level) * SMALL_CHANGE_PCT / 100
            if -margin < s.ci_low and s.ci_high < margin:
                return HOLDS, (f"equivalent: {ci} inside +/- {margin:.3g} ({SMALL_CHANGE_PCT:g} % of the "
                               f"comparator level, the assay margin){rel}"), d
        if s.ci_low <= 0 <= s.ci_high:
            return HOLDS, (f"{ci} includes 0 (a weak test: no change detected over {s.n} replicates, "
                           f"not shown equivalent){rel}"), d
        return FAILS, f"changes by {s.mean:+.3g}: {ci} excludes 0{rel}", d
    raise ValueError(f"not a direction: {kind}")


def judge_level(s: Summary, interval: Interval | None, why_none: str = "") -> tuple[str, str, float]:
    """Verdict of a level finding: the replicate mean inside the reported interval -> (verdict, reason, effect)."""
    if interval is None:
        return NOT_COMPARABLE, why_none or "not comparable: no reported interval", math.nan
    if s.n == 0:
        return NOT_COMPARABLE, "not comparable: no finite model value", math.nan
    size = (s.mean - interval.center) / interval.sd if interval.center is not None and interval.sd else math.nan
    if interval.contains(s.mean):
        return HOLDS, f"model mean {s.mean:.3g} inside the reported {interval.show()}", size
    side = "below" if s.mean < interval.low else "above"
    return FAILS, f"model mean {s.mean:.3g} {side} the reported {interval.show()}", size


def judge_vanish(s: Summary, day: float) -> tuple[str, str, float]:
    """Verdict of a ``none after X h`` finding from the per-replicate viable fractions."""
    if s.n == 0:
        return NOT_COMPARABLE, "not comparable: no viable-fraction value", math.nan
    text = f"{s.mean:.3g} of the cells that arrived still viable at day {day:g}"
    if s.mean < DETECTION_FRACTION:
        return HOLDS, f"{text} (< {DETECTION_FRACTION:g}, the assumed detection limit)", math.nan
    return FAILS, f"{text} (>= {DETECTION_FRACTION:g}, the assumed detection limit)", math.nan


# --------------------------------------------------------------------------------------------------
# sources


@dataclass
class Source:
    """Simulated trajectories of one scenario: a long frame with ``run_id``, ``arm``, ``t_days`` and columns."""

    label: str
    scenario: Scenario
    frame: pd.DataFrame
    path: Path | None = None
    origin: tuple[str, str | None, int] | None = None  # (directory, label given, index in load_dir)
    histories: dict[str, list[dict] | None] = field(default_factory=dict)  # run id -> the burn-in's last days


def is_batch_dir(path: Path) -> bool:
    """A batch directory (``abm batch``)."""
    return (path / "batch.json").is_file()


def is_run_dir(path: Path) -> bool:
    """A single run directory (``abm run``)."""
    return (path / "manifest.json").is_file() and (path / "trajectories.parquet").is_file()


def discover(path: str | Path, depth: int = 2) -> list[Path]:
    """Batch and run directories at ``path`` or below it (``depth`` levels), sorted."""
    p = Path(path)
    if is_batch_dir(p) or is_run_dir(p):
        return [p]
    if not p.is_dir():
        raise FileNotFoundError(f"{p}: no such directory")
    found: list[Path] = []
    if depth > 0:
        for child in sorted(c for c in p.iterdir()
                            if c.is_dir() and not c.name.startswith(".") and not c.name.endswith(".partial")):
            found.extend(discover(child, depth - 1))
    return found


def with_derived(frame: pd.DataFrame) -> pd.DataFrame:
    """Add derived columns (``lung_msc_total``: lung MSC resting + licensed + apoptotic, cells)."""
    parts = ["lung_msc_resting", "lung_msc_licensed", "lung_msc_apoptotic"]
    if not frame.empty and all(c in frame.columns for c in parts) and LUNG_TOTAL not in frame.columns:
        frame = frame.assign(**{LUNG_TOTAL: frame[parts].sum(axis=1)})
    return frame


def with_observation(frame: pd.DataFrame, scenario: Scenario,
                     histories: dict[str, list[dict] | None] | None = None) -> pd.DataFrame:
    """Add the clinical columns (abm.clinical) to trajectories recorded before the observation layer existed.

    Each run is observed with its own seed (the ``seed`` column of a batch, else the scenario's) and its
    burn-in history where the batch's burn-in cache has it (``histories``, by run id)."""
    if frame.empty or all(c in frame.columns for c in CLINICAL_COLUMNS) or any(
            c not in frame.columns for c in OBSERVATION_INPUTS):
        return frame
    frame = frame.reset_index(drop=True)
    parts = []
    for _, group in frame.groupby("run_id" if "run_id" in frame.columns else "arm", sort=False):
        seed = int(group["seed"].iloc[0]) if "seed" in group.columns else scenario.seed
        history = (histories or {}).get(str(group["run_id"].iloc[0])) if "run_id" in group.columns else None
        parts.append(observe(group, scenario.model_copy(update={"seed": seed}), history)[list(CLINICAL_COLUMNS)])
    return pd.concat([frame, pd.concat(parts).loc[frame.index]], axis=1)


def load_dir(path: Path, label: str | None = None) -> list[Source]:
    """The sources of one batch or run directory (a batch with sweep points gives one per point)."""
    from abm.experiments.batch.summary import load_trajectories

    if is_run_dir(path):
        where = path / "manifest.json"
        try:
            manifest = json.loads(where.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{where}: not a readable manifest ({exc})") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("config"), dict):
            raise ConfigError(f"{where}: has no 'config' (the resolved scenario); it is not an abm run manifest")
        scenario = validate_dict(manifest["config"], origin=str(where))
        frame = pd.read_parquet(path / "trajectories.parquet")
        frame.insert(0, "run_id", path.name)
        return [Source(label or scenario.name, scenario, with_observation(with_derived(frame), scenario), path)]
    if not is_batch_dir(path):
        raise FileNotFoundError(f"{path}: neither a batch directory (batch.json) nor a run directory "
                                f"(manifest.json + trajectories.parquet)")
    from abm.experiments.batch.execute import burn_in_history
    from abm.experiments.batch.runner import tasks_of

    tasks = tasks_of(path)
    frame = with_derived(load_trajectories(path))
    points = sorted({t.point for t in tasks})
    out = []
    for point in points:
        config = next(t.config for t in tasks if t.point == point)
        scenario = validate_dict(config, origin=f"{path} point {point}")
        sub = frame[frame["point"] == point] if "point" in frame.columns else frame
        histories = {t.run_id: burn_in_history(path, t.config) for t in tasks if t.point == point}
        sub = with_observation(sub, scenario, histories)
        name = label or scenario.name
        out.append(Source(name if len(points) == 1 else f"{name}/p{point}", scenario, sub, path,
                          histories=histories))
    return out


def load_sources(sources: Mapping[str, str | Path] | Iterable[str | Path] | str | Path) -> list[Source]:
    """Sources from a mapping label -> directory, a list of directories, or one directory (searched)."""
    if isinstance(sources, str | Path):
        items: list[tuple[str | None, Path]] = [(None, p) for p in discover(sources)]
    elif isinstance(sources, Mapping):
        items = [(str(k), Path(v)) for k, v in sources.items()]
    else:
        items = [(None, p) for s in sources for p in discover(s)]
    out: list[Source] = []
    for label, path in items:
        for i, src in enumerate(load_dir(Path(path), label)):
            src.origin = (str(path), label, i)
            out.append(src)
    seen: dict[str, int] = {}
    for src in out:  # labels must be unique
        k = seen.get(src.label, 0)
        seen[src.label] = k + 1
        if k:
            src.label = f"{src.label}#{k + 1}"
    return out


def reload_frames(origins: Mapping[str, tuple[str, str | None, int]]) -> dict[str, pd.DataFrame]:
    """Trajectories again from ``df.attrs["sources"]`` (label -> (directory, label given, index))."""
    frames = {}
    for label, (path, given, index) in origins.items():
        srcs = load_dir(Path(path), given)
        if index < len(srcs):
            frames[label] = srcs[index].frame
    return frames


# --------------------------------------------------------------------------------------------------
# scoring


def window_mean(rows: pd.DataFrame, col: str, window: Window) -> float:
    """Mean of ``col`` over the records inside the window; the nearest record within a day when none is."""
    t = rows["t_days"].to_numpy(dtype=float)
    inside = (t >= window.lo_days - EPS) & (t <= window.hi_days + EPS)
    if inside.any():
        return float(np.nanmean(rows[col].to_numpy(dtype=float)[inside]))
    mid = (window.lo_days + window.hi_days) / 2
    i = int(np.abs(t - mid).argmin()) if t.size else -1
    if i >= 0 and abs(t[i] - mid) <= 1.0:
        return float(rows[col].iloc[i])
    return math.nan


def day0_value(rows: pd.DataFrame, col: str) -> float:
    """The arm's value at its first record (day 0: the burned-in state before any infusion)."""
    return float(rows.sort_values("t_days")[col].iloc[0])


def half_life_h(rows: pd.DataFrame, col: str, after_day: float) -> float:
    """Half-life (h) of ``col`` from a log-linear fit over the first records after ``after_day`` (> 0 values)."""
    r = rows[rows["t_days"] > after_day + EPS].sort_values("t_days")
    r = r[r[col] > 0].head(HALF_LIFE_POINTS)
    if len(r) < 2:
        return math.nan
    slope = np.polyfit(r["t_days"].to_numpy(dtype=float), np.log(r[col].to_numpy(dtype=float)), 1)[0]
    return float(np.log(2) / -slope * 24.0) if slope < 0 else math.nan


def _infusions(scenario: Scenario, arm: str) -> list[dosing.Infusion]:
    return dosing.plan(scenario, scenario.arms[arm])


def _arms(scenario: Scenario, f: Finding) -> tuple[list[str], str | None, str]:
    """(arms the finding describes, comparator arm or None for day 0, reason when none)."""
    treated = [n for n, a in scenario.arms.items() if a.gives_cells]
    controls = [n for n, a in scenario.arms.items() if not a.gives_cells]
    if f.role == "baseline":
        return (controls or list(scenario.arms))[:1], None, ""
    if f.role == "control":
        return controls, None, "" if controls else "not comparable: the scenario has no control arm"
    return treated, (controls[0] if controls else None), "" if treated else (
        "not comparable: the scenario has no arm that gives MSC")


def _row(f: Finding, label: str, preset: str | None, **kw: Any) -> dict[str, Any]:
    window = f.window
    base: dict[str, Any] = {
        "finding_id": f.finding_id, "study": f.study, "measure": f.measure, "model_column": "",
        "timepoint": window.label() if window else f.timepoint, "direction": f.direction, "arm": "",
        "control": "", "n_replicates": 0, "effect_mean": math.nan, "ci_low": math.nan, "ci_high": math.nan,
        "effect_size": math.nan, "reported": f.reported_text(preset), "verdict": NOT_COMPARABLE,
        "reason": "", "scenario": label, "unit": f.unit, "note": ""}
    base.update(kw)
    return base


def _notes(f: Finding, scenario: Scenario) -> str:
    notes = [f.model.note] if f.model.note else []
    w = f.window
    if w is not None and w.why:
        notes.append(f"time point {w.note}: {w.why}")
    preset = scenario.disease.preset
    if f.row_preset is None and f.disease and f.disease.lower() not in ("", "-"):
        notes.append(f"a {f.disease} row scored on the {preset} scenario")
    return "; ".join(notes)


def score_finding(f: Finding, source: Source) -> list[dict[str, Any]]:
    """Comparison rows of one finding on one source (one per described arm and model column)."""
    scenario, label = source.scenario, source.label
    preset = scenario.disease.preset
    note = _notes(f, scenario)
    if not f.model.comparable:
        return [_row(f, label, preset, reason=f.model.reason, note=note)]
    if f.kind == "unscored":
        return [_row(f, label, preset, reason=f.kind_reason, note=note)]
    window = f.window
    if window is None:
        return [_row(f, label, preset, reason=f.window_reason, note=note)]
    arms, comparator, why = _arms(scenario, f)
    if not arms:
        return [_row(f, label, preset, reason=why, note=note)]
    rows = []
    for arm in arms:
        for col in f.model.columns:
            rows.append(_score_one(f, source, arm, comparator, col, window, note))
    return rows


def _score_one(f: Finding, source: Source, arm: str, comparator: str | None, col: str, window: Window,
               note: str) -> dict[str, Any]:
    scenario, frame, label = source.scenario, source.frame, source.label
    preset = scenario.disease.preset
    direction = f.kind in DIRECTIONS
    control = (comparator or "own day 0") if direction else ""
    row = _row(f, label, preset, model_column=col, arm=arm, control=control, note=note)

    def na(reason: str) -> dict[str, Any]:
        return {**row, "reason": f"not comparable: {reason}"}

    method = f.model.method
    if frame.empty or "arm" not in frame.columns:
        return na("no finished runs")
    runs = sorted(frame["run_id"].unique()) if "run_id" in frame.columns else ["run"]
    if "run_id" not in frame.columns:
        frame = frame.assign(run_id="run")
    mine = frame[frame["arm"] == arm]
    if mine.empty:
        return na(f"arm {arm!r} is not in the trajectories")
    if method == "lung_fraction":
        inf = _infusions(scenario, arm)
        if not inf:
            return na(f"arm {arm!r} gives no cells")
        share = sum(i.to_lung for i in inf) / sum(i.total_cells for i in inf)
        s = Summary(len(runs), share, 0.0, share, share)  # deterministic: the same in every replicate
        interval, why = f.reported_interval(preset)
        verdict, reason, size = judge_level(s, interval, why)
        reason = f"{reason} (set by biology.delivery.lung_trap_fraction_iv: a check of the input)"
        return _filled(row, s, verdict, reason, size)
    if col not in frame.columns:
        return na(f"column {col!r} is not in the trajectories")
    t_max = float(mine["t_days"].max())
    if window.hi_days > t_max + EPS:
        return na(f"the run ends at day {t_max:g}, before the window ends (day {window.hi_days:g})")
    if comparator is not None and direction and frame[frame["arm"] == comparator].empty:
        return na(f"control arm {comparator!r} is not in the trajectories")

    values: list[float] = []
    levels: list[float] = []
    refs: list[float] = []
    first_day = min((i.day for i in _infusions(scenario, arm)), default=0.0)
    for run in runs:
        r = mine[mine["run_id"] == run]
        if r.empty:
            continue
        if method == "half_life":
            values.append(half_life_h(r, col, first_day))
        elif method == "vanish":
            inf = _infusions(scenario, arm)
            arrived = inf[0].to_lung if inf else 0.0
            after = first_day + (f.vanish_after_h or 0.0) / 24.0
            later = r[r["t_days"] > after + EPS].sort_values("t_days")
            values.append(float(later[col].iloc[0]) / arrived if arrived > 0 and not later.empty else math.nan)
        else:
            a = window_mean(r, col, window)
            if not direction:
                values.append(a)
                continue
            if comparator is None:
                b = day0_value(r, col)
            else:
                c = frame[(frame["arm"] == comparator) & (frame["run_id"] == run)]
                if c.empty:
                    continue  # unpaired replicate: dropped
                b = window_mean(c, col, window)
            values.append(a - b)
            levels.append(a)
            refs.append(b)
    s = t_interval(values)
    if method == "vanish":
        later_day = first_day + (f.vanish_after_h or 0.0) / 24.0
        day = float(mine.loc[mine["t_days"] > later_day + EPS, "t_days"].min()) if (
            mine["t_days"] > later_day + EPS).any() else math.nan
        if not np.isfinite(day):
            return na(f"no record after {f.vanish_after_h:g} h")
        verdict, reason, size = judge_vanish(s, day)
        return _filled(row, s, verdict, reason, size)
    if not direction:
        interval, why = f.reported_interval(preset)
        verdict, reason, size = judge_level(s, interval, why)
        return _filled(row, s, verdict, reason, size)
    ref = float(np.mean(refs)) if refs else math.nan
    verdict, reason, size = judge_direction(f.kind, s, ref)
    if verdict == HOLDS and f.value and f.kind != "no_change":  # magnitude, where one is reported
        interval, _ = f.reported_interval(preset)
        lv = t_interval(levels)
        if interval is not None and not interval.contains(lv.mean):
            verdict = FAILS
            reason += f"; but the level reached ({lv.mean:.3g}) is outside the reported {interval.show()}"
    return _filled(row, s, verdict, reason, size)


def _filled(row: dict[str, Any], s: Summary, verdict: str, reason: str, size: float) -> dict[str, Any]:
    return {**row, "n_replicates": s.n, "effect_mean": s.mean, "ci_low": s.ci_low, "ci_high": s.ci_high,
            "effect_size": size, "verdict": verdict, "reason": reason}


def score(sources: list[Source], findings: list[Finding]) -> pd.DataFrame:
    """The comparison table: every finding in file order, scored on every source whose scenario names it
    (a finding no source names gets one *not comparable* row; ids a scenario names that the file lacks
    get one row each)."""
    rows: list[dict[str, Any]] = []
    known = {f.finding_id for f in findings}
    for f in findings:
        users = [s for s in sources if f.finding_id in s.scenario.findings]
        for src in users:
            rows.extend(score_finding(f, src))
        if not users:
            reason = f.model.reason or f.kind_reason or f.window_reason or ""
            reason = (reason + "; " if reason else "not comparable: ") + "no simulated scenario names this finding"
            rows.append(_row(f, "", None, reason=reason, note=f.model.note))
    for src in sources:
        for fid in src.scenario.findings:
            if fid not in known:
                rows.append({**{c: "" for c in COLUMNS}, "finding_id": fid, "scenario": src.label,
                             "n_replicates": 0, "effect_mean": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                             "effect_size": math.nan, "verdict": NOT_COMPARABLE,
                             "reason": "not comparable: the scenario names an id that is not in findings.csv"})
    return pd.DataFrame(rows, columns=COLUMNS)


def compare(sources: Mapping[str, str | Path] | Iterable[str | Path] | str | Path,
            findings_path: str | Path | None = None) -> pd.DataFrame:
    """Score every finding of ``findings_path`` (default: the shared findings.csv) against the simulated
    trajectories of the sources whose scenario names it.  Returns the comparison table (:data:`COLUMNS`);
    ``df.attrs["sources"]`` says where each source's trajectories are (for the figures)."""
    srcs = load_sources(sources)
    df = score(srcs, load_findings(findings_path))
    df.attrs["sources"] = {s.label: s.origin for s in srcs if s.origin is not None}
    return df


CHANGE_KEYS = ["finding_id", "scenario", "model_column", "timepoint", "arm"]
"""What identifies one comparison row across two comparisons of the same scenarios."""


def verdict_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Row by row, the verdict and effect of two comparisons (e.g. before and after a calibration overlay).

    Rows are matched on :data:`CHANGE_KEYS`; a row only one side has gets a blank verdict on the other.
    Columns: the keys, ``verdict_before``, ``verdict_after``, ``effect_before``, ``effect_after`` (with
    their 95 % intervals) and ``changed``.
    """
    cols = CHANGE_KEYS + ["verdict", "effect_mean", "ci_low", "ci_high"]
    def keyed(df: pd.DataFrame) -> pd.DataFrame:
        out = df[cols].copy()
        for k in CHANGE_KEYS:  # blanks are None in a fresh table and NaN in a CSV read back
            out[k] = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in out[k]]
        return out

    b, a = keyed(before), keyed(after)
    merged = b.merge(a, on=CHANGE_KEYS, how="outer", suffixes=("_before", "_after"), sort=False)
    merged = merged.rename(columns={"effect_mean_before": "effect_before", "effect_mean_after": "effect_after"})
    for side in ("before", "after"):
        merged[f"verdict_{side}"] = merged[f"verdict_{side}"].fillna("")
    merged["changed"] = merged["verdict_before"] != merged["verdict_after"]
    return merged


def changes_markdown(changes: pd.DataFrame, before_label: str, after_label: str) -> str:
    """Counts of each verdict before and after, then the rows whose verdict changed, then all rows."""
    counts = [f"- {v}: {int((changes['verdict_before'] == v).sum())} -> {int((changes['verdict_after'] == v).sum())}"
              for v in (HOLDS, FAILS, NOT_COMPARABLE)]
    moved = changes[changes["changed"]]
    cols = CHANGE_KEYS + ["verdict_before", "verdict_after", "effect_before", "ci_low_before", "ci_high_before",
                          "effect_after", "ci_low_after", "ci_high_after"]
    return "\n".join([f"# Verdicts: {after_label} against {before_label}", "",
                      f"{len(changes)} comparison rows; verdict counts before -> after:", "", *counts, "",
                      "## Rows whose verdict changed", "",
                      markdown_table(moved, cols) if len(moved) else "None.", "", "## All rows", "",
                      markdown_table(changes, cols), ""])


# --------------------------------------------------------------------------------------------------
# reports


def sentence(r: Mapping[str, Any]) -> str:
    """One plain sentence about one comparison row."""
    head = f"**{r['finding_id']}** ({r['study']})"
    if r["verdict"] == NOT_COMPARABLE:
        return f"{head}: {r['reason']}."
    unit = str(r.get("unit") or "")
    if r["control"] and unit.startswith("%"):
        unit = f" percentage points ({unit})"  # a difference of percentages
    elif unit:
        unit = f" {unit}"
    where = f"in {r['scenario']}, arm {r['arm']}"
    n = int(r["n_replicates"])
    ci = "" if not np.isfinite(r["ci_low"]) else f" (95 % CI {r['ci_low']:.3g} to {r['ci_high']:.3g})"
    if r["control"]:
        when = f"at {r['timepoint']}" if str(r["timepoint"]).startswith("day ") else f"over {r['timepoint']}"
        what = (f"the {r['model_column']} difference from {r['control']} {when} is "
                f"{r['effect_mean']:+.3g}{unit}{ci}")
        if np.isfinite(r["effect_size"]):
            what += f", d = {r['effect_size']:.2g}"
    else:
        what = f"{r['model_column']} gives {r['effect_mean']:.3g}{ci} ({r['timepoint']})"
    return (f"{head} reported {r['reported']}; {where} ({n} replicates) {what}: "
            f"it {r['verdict']} — {r['reason']}.")


def write_report(df: pd.DataFrame, out_dir: str | Path, frames: Mapping[str, pd.DataFrame] | None = None,
                 figures: bool = True) -> dict[str, Path]:
    """Write ``comparison.csv``, ``comparison.md``, ``comparison.html`` and one PNG per study into ``out_dir``.

    Figures need the trajectories: ``frames`` (label -> long frame), else the directories in
    ``df.attrs["sources"]`` are read again.  Returns the written paths by name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["csv"] = out / "comparison.csv"
    df.to_csv(paths["csv"], index=False)
    counts = df["verdict"].value_counts()
    table_cols = ["finding_id", "scenario", "model_column", "timepoint", "arm", "control", "n_replicates",
                  "effect_mean", "ci_low", "ci_high", "effect_size", "reported", "verdict"]
    md = ["# Model versus reported findings", "",
          f"{len(df)} comparisons: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in (HOLDS, FAILS, NOT_COMPARABLE))
          + ". Effects are model minus control (or own day 0) averaged over the window, per replicate; "
          "CI = 95 % t-interval over replicates; effect_size = mean / SD of the replicate differences "
          "(levels: (model - reported mean) / reported SD). Rules: docs/trials.md.", "",
          markdown_table(df, table_cols), "", "## Finding by finding", ""]
    md += [f"- {sentence(r)}" + (f" *Note: {r['note']}.*" if r.get("note") else "") for _, r in df.iterrows()]
    paths["md"] = out / "comparison.md"
    paths["md"].write_text("\n".join(md) + "\n", encoding="utf-8")
    paths["html"] = out / "comparison.html"
    paths["html"].write_text(
        "<!doctype html><meta charset='utf-8'><title>Model versus reported findings</title>"
        "<style>body{font-family:sans-serif} td,th{padding:2px 6px;font-size:12px;vertical-align:top}"
        " .holds{background:#e3f4e1} .fails{background:#fbe3e1}</style>"
        f"<h1>Model versus reported findings</h1><p>{md[2]}</p>"
        + df.to_html(index=False, na_rep="", float_format=lambda x: f"{x:.3g}", classes="comparison",
                     escape=True).replace("<td>holds</td>", "<td class='holds'>holds</td>")
        .replace("<td>fails</td>", "<td class='fails'>fails</td>"), encoding="utf-8")
    if figures:
        from abm.experiments.trials.figures import study_figures

        if frames is None:
            frames = reload_frames(df.attrs.get("sources", {}))
        for i, p in enumerate(study_figures(df, frames, out)):
            paths[f"figure{i}"] = p
    return paths
