"""From a spec to a SALib problem, its samples and the explicit sweep points they become.

Sample order (SALib 1.6, documented in docs/sensitivity.md):

* Sobol (Saltelli) — base sample i gives one contiguous block of ``2D+2`` rows (``D+2`` without
  second order): A_i, the D rows A_i with column j from B_i, (second order: the D rows B_i with
  column j from A_i,) B_i.  The first ``k`` base samples are therefore rows ``[0, k * block)``.
* Morris — trajectory t is the contiguous block of rows ``[t (D+1), (t+1)(D+1))``.

So a "first half" subset is a prefix of complete blocks; point index = row index everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from abm.config.load import ConfigError
from abm.config.table import SECTIONS, is_integer_valued, parameter_table, varied_parameter  # noqa: F401
from abm.experiments.sensitivity.functions import FUNCTIONS
from abm.experiments.sensitivity.spec import SensitivitySpec


@dataclass(frozen=True)
class Problem:
    """The varied parameters: names as written in the spec, config key paths, bounds, defaults."""

    names: list[str]
    paths: list[str]
    bounds: list[tuple[float, float]]
    defaults: list[Any]

    def salib(self) -> dict[str, Any]:
        """The SALib problem dictionary."""
        return {"num_vars": len(self.names), "names": list(self.names), "bounds": [list(b) for b in self.bounds]}

    @property
    def dim(self) -> int:
        return len(self.names)


def resolve_problem(spec: SensitivitySpec, base: dict[str, Any]) -> Problem:
    """Key paths and bounds of the spec's parameters; bounds default to the parameter's plausible range."""
    names, paths, bounds, defaults = [], [], [], []
    if spec.function is not None:
        if spec.function not in FUNCTIONS:
            raise ConfigError(f"function: unknown test function {spec.function!r}; known: {sorted(FUNCTIONS)}")
        known = FUNCTIONS[spec.function].bounds
        for p in spec.parameter_list():
            if p.key not in known:
                raise ConfigError(f"parameters: {spec.function} has no input {p.key!r}; inputs: {sorted(known)}")
            names.append(p.key)
            paths.append(p.key)
            bounds.append(tuple(p.bounds or known[p.key]))
            defaults.append(None)
        return Problem(names, paths, bounds, defaults)
    table = parameter_table(base)
    for p in spec.parameter_list():
        path, default, lo, hi = varied_parameter(table, p.key, p.bounds)
        names.append(p.key)
        paths.append(path)
        bounds.append((lo, hi))
        defaults.append(default)
    return Problem(names, paths, bounds, defaults)


def block_size(spec: SensitivitySpec, dim: int) -> int:
    """Rows per Sobol base sample or per Morris trajectory."""
    if spec.method == "morris":
        return dim + 1
    return 2 * dim + 2 if spec.second_order else dim + 2


def sample(spec: SensitivitySpec, problem: Problem) -> np.ndarray:
    """The SALib sample matrix (rows = sample points), deterministic given the spec's seed."""
    if spec.method == "sobol":
        from SALib.sample import sobol

        X = sobol.sample(problem.salib(), spec.n, calc_second_order=spec.second_order, seed=spec.seed)
    else:
        from SALib.sample import morris

        X = morris.sample(problem.salib(), spec.n, num_levels=spec.num_levels, seed=spec.seed)
    assert X.shape[0] == spec.n * block_size(spec, problem.dim)
    return X


def points(problem: Problem, X: np.ndarray) -> list[dict[str, Any]]:
    """Explicit sweep points (config key path -> value), in sample order (point i = row i).

    Integer-valued parameters are rounded to the nearest whole number: the model sees a step function of
    the sampled value, which the Sobol/Morris estimators treat like any other response (docs/sensitivity.md).
    """
    out = []
    for row in X:
        out.append({path: (int(round(float(v))) if is_integer_valued(d) else float(v))
                    for path, v, d in zip(problem.paths, row, problem.defaults, strict=True)})
    return out


def first_blocks(spec: SensitivitySpec, problem: Problem, k: int) -> slice:
    """Rows of the first ``k`` base samples (Sobol) or trajectories (Morris): complete blocks only."""
    return slice(0, k * block_size(spec, problem.dim))
