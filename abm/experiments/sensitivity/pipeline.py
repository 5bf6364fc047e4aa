"""The sensitivity pipeline: spec -> problem -> samples -> points -> evaluation -> indices -> files.

Everything but the evaluation is the same for the model and for a registered test function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.config.load import ConfigError
from abm.config.names import inside
from abm.experiments.common.outdir import prepare_directory
from abm.experiments.sensitivity import analyse as an
from abm.experiments.sensitivity.evaluate import BatchEvaluator, Evaluation, FunctionEvaluator, PointFunction
from abm.experiments.sensitivity.functions import FUNCTIONS
from abm.experiments.sensitivity.problem import Problem, points, resolve_problem, sample
from abm.experiments.sensitivity.spec import SensitivitySpec, load_sensitivity_spec

META_FILE = "sensitivity.json"


@dataclass
class SensitivityResult:
    """What a sensitivity invocation did; ``indices`` is None while runs are pending or failed."""

    directory: Path
    n_points: int
    evaluation: Evaluation
    indices: pd.DataFrame | None = None
    convergence: pd.DataFrame | None = None

    @property
    def complete(self) -> bool:
        return self.indices is not None

    def lines(self, spec: SensitivitySpec) -> list[str]:
        """Console summary."""
        out = [f"sensitivity directory: {self.directory}", f"{self.n_points} sample points"]
        ev = self.evaluation
        if ev.pending or ev.failed:
            out.append(f"{ev.pending} runs pending, {len(ev.failed)} failed: analysis not written; finish with "
                       f"--resume (see `abm batch status {self.directory / 'batch'}`)")
            return out
        out += [f"indices: {self.directory / 'indices.md'}", *an.convergence_lines(spec, self.convergence)]
        return out


def check_outputs(spec: SensitivitySpec, base: dict[str, Any]) -> None:
    """Every model output names arms of the base scenario and a day inside its follow-up."""
    from abm.config.load import validate_dict, with_default_arms

    scenario = validate_dict(with_default_arms(base), origin="sensitivity base")
    for o in spec.outputs:
        for role, arm in (("arm", o.arm), ("minus", o.minus)):
            if arm is not None and arm not in scenario.arms:
                raise ConfigError(f"outputs: {o.label}: {role} {arm!r} is not an arm of the base scenario "
                                  f"(arms: {', '.join(scenario.arms)})")
        day = o.day()
        if day is not None and day > scenario.simulation.days:
            raise ConfigError(f"outputs: {o.label} asks for day {day:g}, after the end of the run "
                              f"(simulation.days = {scenario.simulation.days:g})")


def plan(spec: SensitivitySpec, base: dict[str, Any]) -> tuple[Problem, np.ndarray, list[dict[str, Any]]]:
    """Problem, sample matrix and explicit points (deterministic given the spec); the outputs are checked
    against the base scenario (their arms exist, their days fall inside the run) before anything runs."""
    if spec.function is None:
        check_outputs(spec, base)
    problem = resolve_problem(spec, base)
    X = sample(spec, problem)
    return problem, X, points(problem, X)


def run_sensitivity(spec_path: str | Path, out: Path | None = None, *, backend: str | None = None,
                    workers: int | None = None, scheduler: str | None = None, resume: bool = False,
                    shard: tuple[int, int] | None = None, prepare_only: bool = False,
                    evaluate: PointFunction | None = None,
                    progress: Callable[[dict[str, Any]], None] | None = None,
                    on_start: Callable[[int], None] | None = None) -> SensitivityResult:
    """Sample, evaluate (model batch or function), analyse and write indices.{csv,md,png}.

    ``evaluate`` replaces the spec's evaluation by any ``point -> {output: value}`` function (run in
    this process).  Returns without analysis while runs of the batch are pending or failed.
    ``prepare_only`` creates the directory and plans the batch's runs (before job-array slices).
    """
    spec, base = load_sensitivity_spec(spec_path)
    out = Path(out) if out is not None else inside(Path("runs"), "sensitivity", spec.name)
    problem, X, pts = plan(spec, base)
    fingerprint = {"name": spec.name, "spec_file": str(spec_path), "spec": spec.model_dump(mode="json"),
                   "method": spec.method, "n": spec.n, "seed": spec.seed, "replicates": spec.replicates,
                   "second_order": spec.second_order, "num_levels": spec.num_levels, "function": spec.function,
                   "problem": {"names": problem.names, "paths": problem.paths,
                               "bounds": [list(b) for b in problem.bounds]},
                   "n_points": len(pts), "salib": _salib_version()}
    prepare_directory(out, META_FILE, "sensitivity analysis", resume or prepare_only, fingerprint,
                      ["problem", "method", "n", "seed", "replicates", "second_order", "num_levels", "function"])
    samples = pd.DataFrame(X, columns=problem.names)
    samples.index.name = "point"
    samples.to_csv(out / "samples.csv")

    if evaluate is not None:
        evaluator: Any = FunctionEvaluator(evaluate)
    elif spec.function is not None:
        evaluator = FunctionEvaluator(FUNCTIONS[spec.function].evaluate)
    else:
        evaluator = BatchEvaluator(spec, base, out, backend=backend, workers=workers, scheduler=scheduler,
                                   resume=resume, shard=shard, progress=progress, on_start=on_start)
    if prepare_only:
        if not isinstance(evaluator, BatchEvaluator):
            raise ConfigError("prepare: only model specs run as a batch (a function is evaluated in this process)")
        planned = evaluator.prepare(pts)
        return SensitivityResult(out, len(pts), Evaluation(pd.DataFrame(), pending=planned))
    evaluation = evaluator(pts, spec.outputs)
    evaluation.table.to_csv(out / "outputs.csv")
    result = SensitivityResult(out, len(pts), evaluation)
    if evaluation.pending or evaluation.failed:
        return result
    indices = an.analyse(spec, problem, X, evaluation.table)
    conv = an.convergence(spec, problem, X, evaluation.table, indices)
    indices.to_csv(out / "indices.csv", index=False)
    if conv is not None:
        conv.to_csv(out / "convergence.csv", index=False)
    (out / "indices.md").write_text(an.markdown(spec, problem, indices, conv, evaluation.noise, len(pts)))
    an.plot(spec, indices, out / "indices.png")
    result.indices, result.convergence = indices, conv
    return result


def _salib_version() -> str:
    from importlib.metadata import version

    return version("SALib")
