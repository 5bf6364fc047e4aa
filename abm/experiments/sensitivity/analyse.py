"""SALib analysis of the evaluated outputs, the convergence check, and the index table and plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from abm.config.load import ConfigError
from abm.experiments.sensitivity.problem import Problem, first_blocks
from abm.experiments.sensitivity.spec import SensitivitySpec

SOBOL_COLUMNS = ["S1", "S1_conf", "ST", "ST_conf"]
MORRIS_COLUMNS = ["mu", "mu_star", "mu_star_conf", "sigma"]


def index_columns(spec: SensitivitySpec) -> list[str]:
    return SOBOL_COLUMNS if spec.method == "sobol" else MORRIS_COLUMNS


def analyse_output(spec: SensitivitySpec, problem: Problem, X: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Indices of one output (rows: parameters), from sample rows ``X`` and values ``y`` in sample order."""
    if spec.method == "sobol":
        from SALib.analyze import sobol

        res = sobol.analyze(problem.salib(), y, calc_second_order=spec.second_order, conf_level=spec.conf_level,
                            num_resamples=spec.num_resamples, seed=spec.seed)
    else:
        from SALib.analyze import morris

        res = morris.analyze(problem.salib(), X, y, num_resamples=spec.num_resamples, conf_level=spec.conf_level,
                             num_levels=spec.num_levels, seed=spec.seed)
    frame = pd.DataFrame({c: np.asarray(res[c], dtype=float) for c in index_columns(spec)})
    frame.insert(0, "parameter", problem.names)
    return frame


def analyse(spec: SensitivitySpec, problem: Problem, X: np.ndarray, Y: pd.DataFrame) -> pd.DataFrame:
    """Indices of every output: columns output, parameter and the method's indices with intervals."""
    frames = []
    for label in Y.columns:
        y = Y[label].to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise ConfigError(f"output {label}: {bad.size} of {y.size} points have no finite value "
                              f"(first: {bad[:5].tolist()}); failed or missing runs? rerun with --resume")
        frame = analyse_output(spec, problem, X, y)
        frame.insert(0, "output", label)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def convergence(spec: SensitivitySpec, problem: Problem, X: np.ndarray, Y: pd.DataFrame,
                full: pd.DataFrame) -> pd.DataFrame | None:
    """Indices from the first half of the base samples / trajectories against all of them.

    ``within`` says whether the change lies inside the interval of the half-size estimate (i.e.
    doubling the samples moved the index by less than its stated uncertainty).  ``None`` when a
    half is too small to analyse (Morris with r < 4, Sobol with N < 4).
    """
    half = spec.n // 2
    if half < 2:
        return None
    rows = first_blocks(spec, problem, half)
    halved = analyse(spec, problem, X[rows], Y.iloc[rows])
    keys = [("S1", "S1_conf"), ("ST", "ST_conf")] if spec.method == "sobol" else [("mu_star", "mu_star_conf")]
    out = full[["output", "parameter"]].copy()
    for value, conf in keys:
        out[f"{value}_half"] = halved[value].to_numpy()
        out[f"{value}_full"] = full[value].to_numpy()
        out[f"d_{value}"] = (full[value] - halved[value]).abs().to_numpy()
        out[f"{conf}_half"] = halved[conf].to_numpy()
        out[f"{value}_within"] = out[f"d_{value}"] <= out[f"{conf}_half"]
    out["within"] = np.logical_and.reduce([out[f"{v}_within"] for v, _ in keys])
    return out


def convergence_lines(spec: SensitivitySpec, conv: pd.DataFrame | None) -> list[str]:
    """A plain-language verdict of the convergence check."""
    unit = "base samples" if spec.method == "sobol" else "trajectories"
    if conv is None:
        return [f"Convergence check skipped: {spec.n} {unit} cannot be halved into an analysable set (need >= 4)."]
    values = ["S1", "ST"] if spec.method == "sobol" else ["mu_star"]
    parts = [f"max |Δ{v}| = {conv[f'd_{v}'].max():.4g}" for v in values]
    ok = bool(conv["within"].all())
    verdict = ("all indices moved by less than their interval: stable" if ok else
               f"{int((~conv['within']).sum())} of {len(conv)} indices moved by more than their interval: "
               f"not yet converged, double n")
    return [f"Convergence ({spec.n // 2} vs {spec.n} {unit}): {', '.join(parts)}; {verdict}."]


def markdown(spec: SensitivitySpec, problem: Problem, indices: pd.DataFrame, conv: pd.DataFrame | None,
             noise: pd.DataFrame | None, n_points: int) -> str:
    """``indices.md``: settings, one table per output, convergence and noise."""
    lines = [f"# Sensitivity: {spec.name}", "",
             f"Method: **{spec.method}**, n = {spec.n} "
             f"({'base samples' if spec.method == 'sobol' else 'trajectories'}), {problem.dim} parameters, "
             f"{n_points} sample points x {spec.replicates} replicate(s), seed {spec.seed}, "
             f"intervals: {spec.conf_level:.0%} bootstrap ({spec.num_resamples} resamples).", "",
             "| parameter | key path | low | high | default |", "|---|---|---|---|---|"]
    for name, path, (lo, hi), default in zip(problem.names, problem.paths, problem.bounds, problem.defaults,
                                             strict=True):
        lines.append(f"| {name} | `{path}` | {lo:g} | {hi:g} | {'' if default is None else default} |")
    cols = index_columns(spec)
    for label, frame in indices.groupby("output", sort=False):
        lines += ["", f"## {label}", "", "| parameter | " + " | ".join(cols) + " |",
                  "|---|" + "---|" * len(cols)]
        order = frame.sort_values("ST" if spec.method == "sobol" else "mu_star", ascending=False)
        for _, r in order.iterrows():
            lines.append(f"| {r['parameter']} | " + " | ".join(f"{r[c]:.4g}" for c in cols) + " |")
    lines += ["", "## Convergence", "", *convergence_lines(spec, conv)]
    if noise is not None:
        lines += ["", "## Replicate noise", "",
                  "Run-to-run SD at a fixed point against the SD of the point means; `noise_share` is the part "
                  "of the between-point variance that is replicate noise (indices are biased towards noise "
                  "when it is not small).", "",
                  "| output | replicates | replicate SD | point-mean SD | noise share |", "|---|---|---|---|---|"]
        for _, r in noise.iterrows():
            lines.append(f"| {r['output']} | {r['replicates']:g} | {r['replicate_sd']:.4g} | "
                         f"{r['point_mean_sd']:.4g} | {r['noise_share']:.3g} |")
    elif spec.function is None:
        lines += ["", "One run per point: the model's stochastic noise is part of the output variance and "
                  "inflates the indices of weak parameters (set `replicates` to measure it)."]
    return "\n".join(lines) + "\n"


def plot(spec: SensitivitySpec, indices: pd.DataFrame, path: Path) -> None:
    """``indices.png``: horizontal bars with intervals, one panel per output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outputs = list(dict.fromkeys(indices["output"]))
    n_par = indices["parameter"].nunique()
    fig, axes = plt.subplots(1, len(outputs), figsize=(5.5 * len(outputs), 1.0 + 0.45 * n_par), squeeze=False)
    bars = [("S1", "S1_conf", "first order S1"), ("ST", "ST_conf", "total ST")] if spec.method == "sobol" else \
        [("mu_star", "mu_star_conf", "μ*"), ("sigma", None, "σ")]
    for ax, label in zip(axes[0], outputs, strict=True):
        frame = indices[indices["output"] == label].iloc[::-1]
        y = np.arange(len(frame))
        h = 0.38
        for k, (value, conf, name) in enumerate(bars):
            err = frame[conf].to_numpy() if conf else None
            ax.barh(y + (0.5 - k) * h, frame[value].to_numpy(), height=h, xerr=err, capsize=2, label=name)
        ax.set_yticks(y, frame["parameter"].tolist(), fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.axvline(0, color="0.3", lw=0.6)
        ax.set_xlabel("index" if spec.method == "sobol" else "elementary effect (output units per unit range)")
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{spec.name}: {spec.method} (n={spec.n}, {spec.conf_level:.0%} intervals)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
