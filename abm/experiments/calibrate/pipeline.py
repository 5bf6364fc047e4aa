"""ABC-SMC runs (pyABC) and their outputs: posterior.csv, marginals.png, overlay.yaml, report.md."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from abm.config.load import ConfigError, config_hash
from abm.config.names import inside
from abm.experiments.calibrate.model import (
    FindingDistance,
    Model,
    Prior,
    load_for_spec,
    measure,
    nested,
    resolve_priors,
    scenario_for,
    simulate,
    statistics,
)
from abm.experiments.calibrate.sampler import make_sampler
from abm.experiments.calibrate.spec import CalibrationSpec, load_calibration_spec
from abm.experiments.common.outdir import prepare_directory

META_FILE = "calibration_inputs.json"
"""What a calibration directory holds (its fingerprint); a resume must match it."""

IDENTITY = ("priors", "statistics", "base_config_hash", "population_size", "replicates", "seed", "synthetic")
"""Fingerprint keys that must match to resume: everything that shapes the ABC database's particles
(the sampler kind and worker count do not: every sampler gives the same posterior)."""


def fingerprint(spec: CalibrationSpec, scenario: Any, priors: list[Prior], stats: list[Any]) -> dict[str, Any]:
    """The inputs that determine a calibration's particles, as plain data."""
    return {"name": spec.name, "spec": spec.model_dump(mode="json"),
            "priors": [[p.name, p.path, p.low, p.high, p.shape] for p in priors],
            "statistics": [s.key for s in stats], "base_config_hash": config_hash(scenario),
            "population_size": spec.population_size, "replicates": spec.replicates, "seed": spec.seed,
            "synthetic": spec.data.synthetic}


@dataclass
class CalibrationResult:
    """What a calibration wrote."""

    directory: Path
    posterior: pd.DataFrame  # key paths + weight
    summary: pd.DataFrame  # per parameter: prior, median, 5 %, 95 %
    predictive: pd.DataFrame | None
    failing: list[str]
    wall_seconds: float


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Quantile of weighted samples (interpolated on the cumulative weight at sample midpoints)."""
    order = np.argsort(x)
    x, w = np.asarray(x, float)[order], np.asarray(w, float)[order]
    cw = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cw, x))


def run_calibration(spec_path: str | Path, out: str | Path | None = None, workers: int | None = None,
                    scheduler: str | None = None, resume: bool = False) -> CalibrationResult:
    """Run (or, with ``resume``, continue) the ABC-SMC calibration of a spec and write its outputs."""
    import pyabc

    t0 = time.perf_counter()
    spec_path = Path(spec_path)
    spec, base = load_calibration_spec(spec_path)
    out = Path(out) if out else inside(Path("runs"), "calibration", spec.name)
    db_file = out / "abc.db"
    priors = resolve_priors(spec, base)
    findings, scenario, every = load_for_spec(spec, spec_path.parent, base)
    stats, skipped = statistics(findings, scenario)
    if not stats:
        raise ConfigError("data.findings: none of the findings gives a summary statistic on this scenario: "
                          + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    prepare_directory(out, META_FILE, "calibration", resume, fingerprint(spec, scenario, priors, stats),
                      list(IDENTITY))
    model = Model(base, priors, stats, spec.replicates)
    prior = pyabc.Distribution(**{p.name: p.rv() for p in priors})
    np.random.seed(spec.seed)
    truth = None
    if spec.data.synthetic is not None:
        from abm.experiments.calibrate.model import full_path

        truth = {full_path(k): float(v) for k, v in spec.data.synthetic.items()}
        observed = measure(stats, simulate(scenario_for(base, truth, priors, spec.seed)))
        distance: Any = pyabc.AdaptivePNormDistance(p=2)
    else:
        observed = {s.key: 0.0 for s in stats}  # targets live in the distance
        distance = FindingDistance(stats, scenario.disease.preset)
    sampler = make_sampler(spec.sampler.kind, spec.seed, workers or spec.sampler.workers,
                           scheduler or spec.sampler.scheduler, spec.sampler.jobqueue)
    try:
        abc = pyabc.ABCSMC(model, prior, distance, population_size=spec.population_size, sampler=sampler)
        db = f"sqlite:///{db_file.resolve()}"
        if resume and db_file.exists():
            history = abc.load(db, 1)
            done = history.max_t + 1
        else:
            history = abc.new(db, observed)
            done = 0
        remaining = spec.generations - done
        if remaining > 0:
            kw: dict[str, Any] = {"minimum_epsilon": spec.min_epsilon, "max_nr_populations": remaining}
            if spec.max_simulations:
                kw["max_total_nr_simulations"] = spec.max_simulations
            history = abc.run(**kw)
    finally:
        sampler.stop()
    generations = all_generations(history, priors)
    generations.to_csv(out / "posterior_all_generations.csv", index=False)
    posterior = generations[generations["generation"] == history.max_t].drop(columns="generation")
    posterior = posterior.reset_index(drop=True)
    posterior.to_csv(out / "posterior.csv", index=False)
    summary = summarise(priors, posterior, truth)
    medians = {r["key"]: (int(round(r["median"])) if r["integer"] else float(r["median"]))
               for r in summary.to_dict("records")}
    (out / "overlay.yaml").write_text(
        f"# posterior medians of calibration {spec.name!r} (abm calibrate {spec_path}); use as\n"
        f"# `abm run SCENARIO --overlay overlay.yaml` / `abm.config.load(path, overlays=[...])`\n"
        + yaml.safe_dump(nested(medians), sort_keys=False), encoding="utf-8")
    plot_marginals(priors, posterior, truth, out / "marginals.png", generations)
    predictive, failing = predictive_check(spec, base, priors, posterior, findings, every)
    if predictive is not None:
        predictive.to_csv(out / "predictive.csv", index=False)
    pops = history.get_all_populations()
    wall = time.perf_counter() - t0
    write_report(out, spec, summary, skipped, stats, pops, predictive, failing, wall, truth)
    (out / "calibration.json").write_text(json.dumps({
        "spec": spec.model_dump(mode="json"), "wall_seconds": round(wall, 2), "generations": int(history.max_t + 1),
        "total_simulations": int(history.total_nr_simulations), "failing": failing}, indent=2))
    return CalibrationResult(out, posterior, summary, predictive, failing, wall)


def all_generations(history: Any, priors: list[Prior]) -> pd.DataFrame:
    """Every generation's weighted particles: ``generation``, one column per key path, ``weight``."""
    frames = []
    for t in range(history.max_t + 1):
        frame, w = history.get_distribution(m=0, t=t)
        part = pd.DataFrame({p.path: frame[p.name].to_numpy(float) for p in priors})
        part.insert(0, "generation", t)
        part["weight"] = np.asarray(w, float)
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def summarise(priors: list[Prior], posterior: pd.DataFrame, truth: dict[str, float] | None) -> pd.DataFrame:
    """Per parameter: prior, prior median, posterior median and 90 % credible interval (and truth)."""
    rows = []
    w = posterior["weight"].to_numpy(float)
    for p in priors:
        x = posterior[p.path].to_numpy(float)
        rows.append({"key": p.path, "prior": f"{p.shape} [{p.low:g}, {p.high:g}]", "default": p.default,
                     "prior_median": p.median, "median": weighted_quantile(x, w, 0.5),
                     "q05": weighted_quantile(x, w, 0.05), "q95": weighted_quantile(x, w, 0.95),
                     "truth": (truth or {}).get(p.path, math.nan), "integer": p.integer})
    return pd.DataFrame(rows)


def plot_marginals(priors: list[Prior], posterior: pd.DataFrame, truth: dict[str, float] | None,
                   path: Path, generations: pd.DataFrame | None = None) -> None:
    """One weighted histogram per parameter over its prior range (truth as a line when known); earlier
    generations (``generations``, as in posterior_all_generations.csv) as outlines, to show the narrowing."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(priors), figsize=(4 * len(priors), 3), squeeze=False)
    for ax, p in zip(axes[0], priors, strict=True):
        bins = np.geomspace(p.low, p.high, 25) if p.shape == "log_uniform" else np.linspace(p.low, p.high, 25)
        if generations is not None:
            last = generations["generation"].max()
            for t, part in generations[generations["generation"] < last].groupby("generation"):
                ax.hist(part[p.path], bins=bins, weights=part["weight"], density=True, histtype="step",
                        color=str(0.8 - 0.5 * (t + 1) / (last + 1)), label=f"generation {t}")
        ax.hist(posterior[p.path], bins=bins, weights=posterior["weight"], density=True, color="#4a7fb5",
                alpha=0.8, label="posterior")
        if p.shape == "log_uniform":
            ax.set_xscale("log")
        if truth and p.path in truth:
            ax.axvline(truth[p.path], color="k", ls="--", label="truth")
        ax.axvline(p.default, color="#c44", ls=":", label="default")
        ax.set_xlabel(p.path)
        if ax is axes[0][0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def predictive_check(spec: CalibrationSpec, base: dict[str, Any], priors: list[Prior], posterior: pd.DataFrame,
                     findings: list[Any], every: list[Any]) -> tuple[pd.DataFrame | None, list[str]]:
    """Rerun ``predictive_draws`` posterior draws (one seed each) and score every finding of the spec and
    the base scenario with the ``abm compare`` rules; replicates = draws (parameter + run noise)."""
    if spec.predictive_draws < 1:
        return None, []
    from abm.experiments.trials.compare import FAILS, Source, score
    rng = np.random.default_rng(spec.seed + 1)
    w = posterior["weight"].to_numpy(float)
    idx = rng.choice(len(posterior), size=spec.predictive_draws, p=w / w.sum())
    frames, scenario = [], None
    for j, i in enumerate(idx):
        values = {p.path: float(posterior[p.path].iloc[i]) for p in priors}
        scenario = scenario_for(base, values, priors, seed=int(rng.integers(0, 2**31 - 1)))
        frames.append(simulate(scenario, run_id=f"draw{j}"))
    fit, held = [f.finding_id for f in findings], list(spec.data.validation)
    ids = list(dict.fromkeys(fit + held + list(scenario.findings)))
    scenario = scenario.model_copy(update={"findings": ids})
    all_findings = [f for f in every if f.finding_id in ids]
    table = score([Source("posterior", scenario, pd.concat(frames, ignore_index=True))], all_findings)
    table = table[table["finding_id"].isin(ids)].copy()
    table.insert(1, "role", ["fit" if i in fit else "validate" if i in held else "not fit (scenario)"
                             for i in table["finding_id"]])
    failing = sorted(set(table.loc[table["verdict"] == FAILS, "finding_id"]))
    return table, failing


def write_report(out: Path, spec: CalibrationSpec, summary: pd.DataFrame, skipped: dict[str, str], stats: list,
                 pops: pd.DataFrame, predictive: pd.DataFrame | None, failing: list[str], wall: float,
                 truth: dict[str, float] | None) -> None:
    """``report.md``: posterior summaries, generations, statistics used and skipped, predictive verdicts."""
    from abm.experiments.common.tables import markdown_table

    lines = [f"# Calibration {spec.name}", "",
             f"ABC-SMC (pyABC), population {spec.population_size}, {len(pops) - 1} generation(s) after the "
             f"calibration run, sampler {spec.sampler.kind}, {wall:.0f} s. Data: "
             + ("synthetic (model output at " + ", ".join(f"{k} = {v:g}" for k, v in truth.items()) + ")"
                if truth else "reported findings") + ".", "", "## Posterior", "",
             markdown_table(summary.drop(columns=["integer"]) if truth else
                            summary.drop(columns=["integer", "truth"]),
                            [c for c in summary.columns if c != "integer" and (truth or c != "truth")]),
             "", "Median and q05/q95 are weighted posterior quantiles (90 % credible interval). The medians are "
             "in `overlay.yaml`.", "", "## Generations", "",
             markdown_table(pops, list(pops.columns)), "", "## Summary statistics", ""]
    for s in stats:
        what = (f"% change of arm {s.arm} from {s.comparator or 'own day 0'} over {s.finding.window.label()}, "
                f"hinge on '{s.finding.kind}'" if s.direction else
                f"level over {s.finding.window.label()} in arm {s.arm}")
        lines.append(f"- `{s.key}`: {what}")
    lines += [f"- `{k}` not used: {v}" for k, v in skipped.items()]
    lines += ["", "## Posterior-predictive check", ""]
    if predictive is None:
        lines.append("Not run (predictive_draws: 0).")
    else:
        lines += [f"{spec.predictive_draws} posterior draws, one seed each, scored with the `abm compare` rules "
                  "(replicates = draws). Fit on: " + (", ".join(spec.data.findings) or "-") + ". Held out "
                  "(validate): " + (", ".join(spec.data.validation) or "none") + ".", "",
                  markdown_table(predictive, ["finding_id", "role", "model_column", "timepoint", "arm", "control",
                                              "n_replicates", "effect_mean", "ci_low", "ci_high", "reported",
                                              "verdict"]), "",
                  ("**Findings the posterior still fails:** " + ", ".join(failing)) if failing else
                  "No finding fails under the posterior."]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
