"""One figure per study: the simulated trajectories of each measured column, per arm, with a band over
replicates (mean +/- 1 SD), and the study's time windows shaded and labelled with the finding ids."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.transforms as mtransforms  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

CONTEXT_COLUMNS = ("blood_treg_pct_cd4", "blood_th17_pct_cd4")
"""Shown for a study none of whose rows the model can score (what the model predicts in its scenario)."""
LUNG_DAYS = 7.0
"""Days after the first infusion shown for lung MSC panels (log scale)."""
LUNG_PLOT = {"msc_alive_lung": "msc_alive_lung", "lung_msc_total": "lung_msc_total",
             "lung_trap_fraction": "lung_msc_total"}
"""Model column of a lung finding -> column plotted."""
LABELS = {
    "blood_treg_pct_cd4": "blood Treg (% of CD4)", "blood_th17_pct_cd4": "blood Th17 (% of CD4)",
    "blood_treg_th17_ratio": "blood Treg/Th17", "systemic_il6": "lymphoid-local IL-6 (a.u.)",
    "systemic_tgfb": "lymphoid-local TGF-β (a.u.)", "systemic_infl": "lymphoid-local IFN-γ/TNF-α (a.u.)",
    "plasma_il6": "plasma IL-6 (a.u.)", "plasma_tgfb": "plasma TGF-β (a.u.)",
    "plasma_infl": "plasma IFN-γ/TNF-α (a.u.)", "plasma_il10": "plasma IL-10 (a.u.)",
    "plasma_ido": "plasma kynurenine (a.u.)",
    "msc_alive_lung": "viable MSC in lung (cells)", "lung_msc_total": "MSC in lung, incl. apoptotic (cells)",
}


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe lower-case form of ``text``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].rstrip("-") or "study"


def _windows(rows: pd.DataFrame) -> list[tuple[str, float, float]]:
    """(finding id, first day, last day) of rows whose time point is a window."""
    out = []
    for _, r in rows.iterrows():
        m = re.match(r"days? (\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?", str(r["timepoint"]))
        if m:
            lo = float(m.group(1))
            out.append((str(r["finding_id"]), lo, float(m.group(2)) if m.group(2) else lo))
    return list(dict.fromkeys(out))


def _panels(rows: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> list[tuple[str, str, pd.DataFrame]]:
    """(scenario, plotted column, the rows it shows) for one study."""
    panels: dict[tuple[str, str], list[int]] = {}
    for idx, r in rows.iterrows():
        label = str(r["scenario"])
        if label not in frames or frames[label].empty:
            continue
        col = str(r["model_column"])
        cols = [LUNG_PLOT.get(col, col)] if col else []
        for c in cols:
            if c in frames[label].columns:
                panels.setdefault((label, c), []).append(idx)
    for label in dict.fromkeys(str(s) for s in rows["scenario"]):
        if label in frames and not frames[label].empty and not any(k[0] == label for k in panels):
            for c in CONTEXT_COLUMNS:  # nothing scorable: show what the model predicts
                if c in frames[label].columns:
                    panels[(label, c)] = list(rows.index[rows["scenario"] == label])
    return [(label, col, rows.loc[idx]) for (label, col), idx in panels.items()]


def plot_study(study: str, rows: pd.DataFrame, frames: Mapping[str, pd.DataFrame], path: Path) -> Path | None:
    """Draw one study's figure into ``path`` (PNG); None when no scenario of it has trajectories."""
    panels = _panels(rows, frames)
    if not panels:
        return None
    ncol = min(3, len(panels))
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.6 * nrow + 0.6), squeeze=False,
                             layout="constrained")
    for ax, (label, col, prow) in zip(axes.flat, panels, strict=False):
        frame = frames[label]
        data = frame[["run_id", "arm", "t_days", col]] if "run_id" in frame.columns else (
            frame[["arm", "t_days", col]])
        lung = col in ("msc_alive_lung", "lung_msc_total")
        if lung:
            data = data[(data["t_days"] <= LUNG_DAYS) & (data[col] > 0)]
        n_rep = data["run_id"].nunique() if "run_id" in data.columns else 1
        sns.lineplot(data=data, x="t_days", y=col, hue="arm", errorbar="sd" if n_rep > 1 else None, ax=ax,
                     linewidth=1.2)
        if lung and not data.empty:
            ax.set_yscale("log")
        ax.set_xlim(left=0)
        trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
        scored = prow[prow["model_column"].map(lambda c, col=col: LUNG_PLOT.get(str(c), str(c)) == col)]
        t_end = float(data["t_days"].max()) if not data.empty else 0.0
        shown = [w for w in _windows(scored) if w[1] <= t_end]  # windows after the run's end: not drawn
        for k, (fid, lo, hi) in enumerate(shown):
            if lo == hi:  # a single day: a line and a narrow band
                a, b = lo - 0.5, hi + 0.5
                ax.axvline(lo, color="0.4", lw=0.8, ls=":")
            else:
                a, b = lo, hi
            ax.axvspan(a, b, color="0.5", alpha=0.12, lw=0)
            verdict = scored.loc[scored["finding_id"] == fid, "verdict"]
            tag = f"{fid}: {verdict.iloc[0]}" if len(verdict) else fid
            text = ax.text(max(a, 0.0), 0.98 - 0.08 * (k % 4), tag, transform=trans, fontsize=7, va="top",
                           ha="left", clip_on=True)
            text.set_in_layout(False)
        ax.set_title(f"{label}", fontsize=9)
        ax.set_xlabel("days after first infusion")
        ax.set_ylabel(LABELS.get(col, col), fontsize=8)
        ax.legend(fontsize=7, title=None, loc="best")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    title = textwrap.shorten(study, 60 * ncol + 40, placeholder="...")
    fig.suptitle("\n".join(textwrap.wrap(title, 60 * ncol)) + "\nbands: mean ± SD over replicates; shaded: the "
                 "study's time points", fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def study_figures(df: pd.DataFrame, frames: Mapping[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """One PNG per study of the comparison table (``study-<slug>.png``) that has simulated trajectories."""
    out = Path(out_dir)
    paths = []
    for study in dict.fromkeys(df["study"].astype(str)):
        rows = df[(df["study"].astype(str) == study) & (df["scenario"].astype(str) != "")]
        if rows.empty:
            continue
        p = plot_study(study, rows, frames, out / f"study-{slug(study)}.png")
        if p is not None:
            paths.append(p)
    return paths
