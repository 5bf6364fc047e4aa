"""Expanding a spec into runs: parameter points x replicates, each with its own seed."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import qmc

from abm.config import ConfigError, Scenario, validate_dict
from abm.config.load import merge_onto, with_default_arms
from abm.experiments.batch.spec import BatchSpec, Sample


@dataclass(frozen=True)
class RunTask:
    """One run of a batch: a parameter point and a replicate."""

    run_id: str
    point: int
    replicate: int
    seed: int
    params: dict[str, Any]
    config: dict[str, Any]

    def scenario(self) -> Scenario:
        """The validated scenario of this run."""
        return validate_dict(self.config, origin=f"run {self.run_id}")


def nested(path: str, value: Any) -> dict[str, Any]:
    """``"arms.msc.dose.cells_per_kg", 2e6`` -> ``{"arms": {"msc": {"dose": {"cells_per_kg": 2e6}}}}``."""
    out: Any = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return out


def sample_points(sample: Sample) -> list[dict[str, float]]:
    """Random or Latin-hypercube points within the bounds (log scale where asked)."""
    keys = list(sample.bounds)
    if sample.method == "lhs":
        unit = qmc.LatinHypercube(d=len(keys), rng=np.random.default_rng(sample.seed)).random(sample.n)
    else:
        unit = np.random.default_rng(sample.seed).random((sample.n, len(keys)))
    points = []
    for row in unit:
        point = {}
        for key, u in zip(keys, row, strict=True):
            lo, hi = sample.bounds[key]
            if key in sample.log:
                point[key] = float(np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo))))
            else:
                point[key] = float(lo + u * (hi - lo))
        points.append(point)
    return points


def parameter_points(spec: BatchSpec) -> list[dict[str, Any]]:
    """All parameter points: explicit points x grid x samples (each factor defaults to one empty point)."""
    sweep = spec.sweep
    explicit = sweep.points or [{}]
    keys = list(sweep.grid)
    grid = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*sweep.grid.values())] or [{}]
    samples = sample_points(sweep.sample) if sweep.sample else [{}]
    return [{**a, **b, **c} for a, b, c in itertools.product(explicit, grid, samples)]


def replicate_seeds(root_seed: int, replicates: int) -> list[int]:
    """One seed per replicate, shared by every parameter point (so points are paired by replicate)."""
    children = np.random.SeedSequence(root_seed).spawn(replicates)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


def batch_base(base: dict[str, Any]) -> dict[str, Any]:
    """The scenario mapping every point starts from: ``base``, with the default arms if it names none
    (sweeping one arm's keys must not drop the default control arm)."""
    return with_default_arms(base)


def point_config(base: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The scenario mapping of one sweep point: the batch base with the point's key paths set."""
    config = base
    for key, value in params.items():
        config = merge_onto(config, nested(key, value), origin=f"sweep key {key}")
    return config


def expand(spec: BatchSpec, base: dict[str, Any]) -> list[RunTask]:
    """Every run of the batch, validated; raises ConfigError naming the first bad point."""
    points = parameter_points(spec)
    shared = replicate_seeds(spec.root_seed, spec.replicates)
    if spec.point_seeds is not None and len(spec.point_seeds) != len(points):
        raise ConfigError(f"point_seeds: {len(spec.point_seeds)} seeds for {len(points)} sweep points; give one "
                          "per point")
    base = batch_base(base)
    tasks = []
    reserved = {"seed", "name"} & {k for p in points for k in p}
    if reserved:
        raise ConfigError(f"sweep: {sorted(reserved)} cannot be swept; seeds come from root_seed and "
                          f"replicates, the name from the spec")
    for i, params in enumerate(points):
        config = point_config(base, params)
        try:
            validate_dict(config, origin=f"sweep point {i} {params}")
        except ConfigError as exc:
            raise ConfigError(str(exc)) from None
        seeds = shared if spec.point_seeds is None else replicate_seeds(spec.point_seeds[i], spec.replicates)
        for r, seed in enumerate(seeds):
            tasks.append(RunTask(f"p{i:05d}-r{r:04d}", i, r, seed, params, {**config, "seed": seed}))
    return tasks


def spec_fingerprint(tasks: list[RunTask]) -> str:
    """Hash of every run's config: a batch directory may only be resumed with the same runs."""
    blob = json.dumps([[t.run_id, t.config] for t in tasks], sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def shard(tasks: list[RunTask], index: int, count: int) -> list[RunTask]:
    """The ``index``-th of ``count`` disjoint slices (for job arrays): every run in exactly one."""
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard {index}/{count}: need 0 <= i < n")
    return tasks[index::count]
