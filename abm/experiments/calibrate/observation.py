"""Fitting observation parameters to reported index values on stored trajectories (no re-simulation).

The observation layer reads recorded columns only, so its parameters can be fitted after the simulation:
each target is a replicate mean of one observation column at one day of one arm, and the fit moves the named
``observation.*`` parameters until the re-observed means hit the targets (scipy ``least_squares``; one
residual per target, scaled by the target's reported SD where given).  The honesty rule of docs/clinical.md
applies: fit on baselines and at most one treated time point per study, validate on the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from abm.clinical.observe import observe


@dataclass(frozen=True)
class Target:
    """A reported group mean the observation should reproduce."""

    finding_id: str  # where the number comes from (a findings row)
    arm: str
    day: float
    column: str
    value: float
    sd: float = 1.0  # residual scale (the reported spread; 1 when none is given)


def set_key(observation: dict, key: str, value: float) -> None:
    """Set ``observation.<a>.<b>`` (``key`` without the leading ``observation.``) in a plain dict."""
    node = observation
    *parents, last = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = float(value)


def replicate_mean(frame: pd.DataFrame, scenario, target: Target,
                   histories: dict[str, list[dict] | None] | None = None) -> float:
    """Mean over runs of ``target.column`` at the record nearest ``target.day`` in ``target.arm`` (each run
    re-observed with its burn-in history, ``histories`` by run id, where known)."""
    rows = frame[frame["arm"] == target.arm]
    if rows.empty:
        raise ValueError(f"{target.finding_id}: no arm {target.arm!r} in the trajectories")
    observed = []
    for run_id, run in rows.groupby("run_id") if "run_id" in rows.columns else [(None, rows)]:
        seed = int(run["seed"].iloc[0]) if "seed" in run.columns else scenario.seed
        obs = observe(run.drop(columns=[c for c in run.columns if c in _clinical()]),
                      scenario.model_copy(update={"seed": seed}), (histories or {}).get(str(run_id)))
        i = int(np.abs(obs["t_days"].to_numpy(float) - target.day).argmin())
        observed.append(float(obs[target.column].iloc[i]))
    return float(np.mean(observed))


def _clinical() -> set[str]:
    from abm.clinical.observe import COLUMNS

    return set(COLUMNS)


def fit(frame: pd.DataFrame, scenario, targets: Sequence[Target], keys: Sequence[str],
        start: Sequence[float], bounds: tuple[Sequence[float], Sequence[float]],
        histories: dict[str, list[dict] | None] | None = None) -> dict[str, float]:
    """Observation parameter values (by key) that make the re-observed replicate means meet the targets."""
    from abm.config import validate_dict

    base = scenario.model_dump(mode="json")

    def residuals(x: np.ndarray) -> np.ndarray:
        cfg = {**base, "observation": _deep_copy(base["observation"])}
        for key, value in zip(keys, x, strict=True):
            set_key(cfg["observation"], key, value)
        sc = validate_dict(cfg, origin="observation fit")
        return np.array([(replicate_mean(frame, sc, t, histories) - t.value) / t.sd for t in targets])

    result = least_squares(residuals, np.asarray(start, float), bounds=bounds, x_scale="jac")
    return dict(zip(keys, (float(v) for v in result.x), strict=True)) | {"cost": float(result.cost)}


def _deep_copy(d: dict) -> dict:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in d.items()}
