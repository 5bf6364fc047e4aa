"""The cohort report: report.md and its figures (index over time, relapse-free survival, responders)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from abm.clinical import SURROGATE  # noqa: E402
from abm.experiments.common.tables import markdown_table  # noqa: E402


def plot_index(index: pd.DataFrame, column: str, path: Path) -> None:
    """Mean index over patients per arm with its 95 % bootstrap band, and the paired difference."""
    arms = [a for a in index["arm"].unique() if "-" not in a]
    diffs = [a for a in index["arm"].unique() if "-" in a]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for arm in arms:
        d = index[index["arm"] == arm]
        axes[0].plot(d["day"], d["mean"], marker="o", label=arm)
        axes[0].fill_between(d["day"], d["ci_low"], d["ci_high"], alpha=0.25)
    axes[0].set(xlabel="days after the first infusion", ylabel=f"{column} ({SURROGATE})", title="by arm")
    axes[0].legend()
    for arm in diffs:
        d = index[index["arm"] == arm]
        axes[1].plot(d["day"], d["mean"], marker="o", color="k", label=arm)
        axes[1].fill_between(d["day"], d["ci_low"], d["ci_high"], color="k", alpha=0.2)
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[1].set(xlabel="days after the first infusion", ylabel=f"paired difference in {column}",
                title="treated - control, patient by patient")
    fig.suptitle(f"Virtual trial: mean over patients, 95 % bootstrap band ({SURROGATE})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_relapse_free(km: pd.DataFrame, arm: str, path: Path) -> None:
    """Kaplan-Meier relapse-free survival of the responders, with its 95 % interval."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    if not km.empty:
        ax.step(km["days_since_response"], km["survival"], where="post", color="C0")
        ax.fill_between(km["days_since_response"], km["ci_low"], km["ci_high"], step="post", alpha=0.25)
    ax.set(xlabel="days since first response", ylabel="relapse-free", ylim=(0, 1.02),
           title=f"Responders of arm {arm} ({SURROGATE})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_responders(resp: pd.DataFrame, path: Path) -> None:
    """AUC of each patient parameter for responders (0.5 = no separation)."""
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(resp) + 1.5))
    r = resp.iloc[::-1]
    ax.barh(r["parameter"], r["auc"].fillna(0.5) - 0.5, left=0.5, color="C2")
    ax.axvline(0.5, color="grey", lw=0.8)
    ax.set(xlim=(0, 1), xlabel="AUC for responders (Mann-Whitney)", title="What separates responders")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(out: Path, spec, index: str, patients: pd.DataFrame, tables: dict[str, pd.DataFrame],
          draws: pd.DataFrame, result, cost: dict[str, float]) -> None:
    """Write report.md and the figures into ``out``."""
    plot_index(tables["index"], index, out / "index.png")
    plot_relapse_free(tables["relapse_free"], spec.treated_arm, out / "relapse_free.png")
    plot_responders(tables["responders"], out / "responders.png")
    n_in = int(patients["included"].sum())
    reasons = patients.loc[~patients["included"], "excluded_by"].value_counts()
    arm_runs = int(cost.get("arms_runs", 0))
    lines: list[str] = [
        f"# Virtual trial {spec.name}", "",
        f"**Every clinical number here is a {SURROGATE}** (docs/clinical.md): what the model's state implies "
        "for the clinical measure under stated, partly fitted assumptions, not a prediction of it.", "",
        "## Population", "",
        f"- {len(patients)} virtual patients sampled (Latin hypercube over {len(spec.priors)} priors, seed "
        f"{spec.seed}); {n_in} included ({100 * n_in / len(patients):.0f} %) by "
        f"{'; '.join(c.describe() for c in spec.inclusion) or 'no criterion'} on the untreated day-0 state.",
        *[f"  - excluded by {k}: {v}" for k, v in reasons.items()],
        *_baseline_lines(spec, patients),
        f"- Per included patient: {len(draws)} posterior draw(s) x {spec.replicates} seed(s) x arms "
        f"{spec.treated_arm} and {spec.control_arm} (paired from the patient's own burn-in).",
        f"- Events read on `{index}` at visits; intervals are 95 % bootstrap intervals over patients.", "",
        "## Response, remission, relapse", "",
        markdown_table(_fmt(tables["rates"])), "",
        "## Index over time", "", "![index](index.png)", "",
        markdown_table(_fmt(tables["index"])), "",
        "## Relapse among responders (Kaplan-Meier, scipy.stats.ecdf)", "", "![relapse-free](relapse_free.png)", "",
        "## Power at trial sizes", "",
        "One-sided paired t-test of the change from baseline in the treated arm, n patients resampled with "
        "replacement, one run per patient.", "",
        markdown_table(_fmt(tables["power"])), "",
        "## What separates responders", "",
        "AUC of each patient parameter (Mann-Whitney; Holm-adjusted p) and the standardised coefficient of a "
        "multivariable logistic regression (statsmodels). Responders emerge from the simulation; none is "
        "assigned.", "", "![responders](responders.png)", "",
        markdown_table(_fmt(tables["responders"])), "",
        "## Three kinds of variation (paired effect, treated - control index)", "",
        markdown_table(_fmt(tables["variation"])), "",
        "## Cost", "",
        f"- screening: {cost.get('screen_runs', 0):.0f} runs (burn-in + 1 day), {cost.get('screen', 0):.0f} s of "
        f"run time ({cost.get('screen', 0) / max(len(patients), 1):.1f} s per sampled patient)",
        f"- arms: {arm_runs} runs, {cost.get('arms', 0):.0f} s of run time "
        f"({cost.get('arms', 0) / max(arm_runs, 1):.1f} s per run, burn-in reused)",
        "- wall time of this invocation: " + ", ".join(f"{k} {v:.0f} s" for k, v in result.wall_seconds.items()),
        "",
    ]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


def _baseline_lines(spec, patients: pd.DataFrame) -> list[str]:
    t = spec.baseline
    if t is None:
        return []
    x = patients.loc[patients["included"], f"screen_{t.column}"]
    return [f"- Selected to the baseline {t.column} {t.mean:g} +/- {t.sd:g} ({t.source}; Allen 2016 acceptance): "
            f"the selected patients have {x.mean():.3g} +/- {x.std(ddof=1):.3g}."]


def _fmt(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.3g}")
    return out

