"""Publication figures from run and batch directories (seaborn/matplotlib; 300 dpi PNG, or PDF).

Three figures:

* ``trajectories``: blood Treg %, Th17 % and the Treg/Th17 ratio over time, one colour per arm, mean
  and 95 % confidence band over replicates (seeds).  From a batch directory (``abm batch``) or from
  run directories (``abm run``; one replicate each).
* ``snapshots``: the tissue (cells, chosen fields) of one arm at chosen days, a grid day x panel.
  The arm is simulated again from the run's burned-in checkpoint with the run's seeds (as
  ``abm animate`` does), so the pictures belong to the recorded trajectories; or from a scenario YAML.
* ``paired``: treated minus control per replicate (same seed, same burned-in patient: common random
  numbers), thin lines per replicate and the mean with its 95 % confidence band.

Command line::

    python analysis/figures.py trajectories BATCH_DIR [RUN_DIR ...] --out fig.png [--pdf]
    python analysis/figures.py snapshots RUN_DIR --days 0 1 7 30 --fields ido tgfb --out fig.png
    python analysis/figures.py paired BATCH_DIR --control untreated --out fig.png

Confidence bands: mean +/- t(0.975, n-1) x SD / sqrt(n) over replicates at each recorded day
(no band when n = 1); ratios undefined in a replicate (no Th17) are left out of that day's mean.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from scipy import stats  # noqa: E402

try:
    import abm  # noqa: F401
except ImportError:  # run as `python analysis/figures.py` from a checkout without an installed abm
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from abm.experiments.batch.summary import load_trajectories  # noqa: E402
from abm.viz import animate as anim  # noqa: E402

PCT = "% of CD4⁺ T cells"
MEASURES: dict[str, tuple[str, str]] = {
    "blood_treg_pct_cd4": ("Blood Treg", PCT),
    "blood_th17_pct_cd4": ("Blood Th17", PCT),
    "blood_treg_th17_ratio": ("Blood Treg/Th17", "ratio (Treg/Th17)"),
    "tissue_treg_pct_cd4": ("Tissue Treg", PCT),
    "tissue_th17_pct_cd4": ("Tissue Th17", PCT),
    "tissue_treg_th17_ratio": ("Tissue Treg/Th17", "ratio (Treg/Th17)"),
}
"""Plottable trajectory columns: (panel title, y-axis label with unit)."""
DEFAULT_MEASURES = ("blood_treg_pct_cd4", "blood_th17_pct_cd4", "blood_treg_th17_ratio")
CONTROL_NAMES = ("untreated", "control", "vehicle")
DAY_LABEL = "Days after first infusion"
DPI = 300


class FigureError(ValueError):
    """Bad input (not a run or batch directory, unknown arm or measure); the message says what."""


def style() -> None:
    """Journal style: white ticks, sans-serif 8-10 pt at print size, editable text in PDF."""
    sns.set_theme(context="paper", style="ticks", font_scale=1.0, rc={
        "axes.spines.top": False, "axes.spines.right": False, "pdf.fonttype": 42, "ps.fonttype": 42,
        "svg.fonttype": "none", "axes.titleweight": "bold", "legend.frameon": False,
        "savefig.bbox": "tight", "savefig.pad_inches": 0.03})


def save(fig, out: str | Path, pdf: bool = False) -> list[Path]:
    """Write the figure (PNG at 300 dpi, or the format of the suffix); with ``pdf`` also a PDF beside it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = [out]
    fig.savefig(out, dpi=DPI)
    if pdf and out.suffix.lower() != ".pdf":
        written.append(out.with_suffix(".pdf"))
        fig.savefig(written[-1])
    plt.close(fig)
    return written


# ----------------------------------------------------------------------------- data
def is_batch(path: Path) -> bool:
    """A batch directory (``abm batch``) has batch.json and runs/."""
    return (path / "batch.json").is_file() and (path / "runs").is_dir()


def is_run(path: Path) -> bool:
    """A run directory (``abm run``) has manifest.json and trajectories.parquet."""
    return (path / "manifest.json").is_file() and (path / "trajectories.parquet").is_file()


def _param_label(params: dict) -> str:
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={v:.3g}" if isinstance(v, int | float) else f"{k.rsplit('.', 1)[-1]}={v}"
                     for k, v in params.items())


def load(sources: Sequence[str | Path]) -> pd.DataFrame:
    """Trajectories of batch and/or run directories as one long frame.

    Columns: ``replicate_id`` (one per seed/run: the unit of pairing), ``group`` (arm, plus the swept
    parameters when a batch has several points), ``arm``, ``t_days`` and the measures.
    """
    frames = []
    for src in map(Path, sources):
        if is_batch(src):
            df = load_trajectories(src)
            if df.empty:
                raise FigureError(f"{src}: batch directory without finished runs")
            meta = json.loads((src / "batch.json").read_text())
            params = {t["point"]: t["params"] for t in meta.get("tasks", [])}
            several = len(params) > 1
            df["replicate_id"] = f"{src.name}/" + df["run_id"].astype(str)
            df["group"] = [f"{a} ({_param_label(params[p])})" if several and params.get(p) else a
                           for a, p in zip(df["arm"], df["point"], strict=True)]
        elif is_run(src):
            df = pd.read_parquet(src / "trajectories.parquet")
            df["replicate_id"] = src.name
            df["group"] = df["arm"]
        else:
            raise FigureError(f"{src}: neither a batch directory (batch.json + runs/) nor a run directory "
                              f"(manifest.json + trajectories.parquet)")
        frames.append(df)
    if not frames:
        raise FigureError("no run or batch directory given")
    return pd.concat(frames, ignore_index=True)


def mean_ci(df: pd.DataFrame, by: list[str], value: str, level: float = 0.95) -> pd.DataFrame:
    """Mean, t-based confidence interval and n of ``value`` over rows, per ``by`` (NaN rows skipped)."""
    g = df.dropna(subset=[value]).groupby(by, sort=False)[value]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    q = stats.t.ppf(0.5 + level / 2, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, q * out["sd"] / np.sqrt(out["n"]), 0.0)
    out["lo"], out["hi"] = out["mean"] - half, out["mean"] + half
    return out


def control_arm(sources: Sequence[str | Path], arms: Sequence[str]) -> str:
    """The control arm: the first arm giving no cells in the sources' configs, else a usual name."""
    for src in map(Path, sources):
        try:
            if is_run(src):
                cfg = json.loads((src / "manifest.json").read_text())["config"]
            elif is_batch(src):
                cfg = json.loads((src / "batch.json").read_text())["tasks"][0]["config"]
            else:
                continue
            found = [a for a, spec in cfg.get("arms", {}).items() if spec.get("control", "none") != "none"]
        except (KeyError, IndexError, ValueError):
            continue
        if found and found[0] in arms:
            return found[0]
    named = [a for a in CONTROL_NAMES if a in arms]
    if named:
        return named[0]
    raise FigureError(f"no control arm found; pass --control (arms: {', '.join(arms)})")


# ----------------------------------------------------------------------------- figures
def _palette(groups: Sequence[str]) -> dict[str, tuple]:
    return dict(zip(groups, sns.color_palette("colorblind", len(groups)), strict=True))


def _time_axes(n: int, height: float = 2.4):
    fig, axes = plt.subplots(1, n, figsize=(2.35 * n + 0.2, height), sharex=True, squeeze=False,
                             layout="constrained")
    for ax in axes.flat:
        ax.set_xlabel(DAY_LABEL)
        ax.axvline(0, color="0.6", lw=0.8, ls=":", zorder=0)
    return fig, list(axes.flat)


def _check_measures(data: pd.DataFrame, measures: Sequence[str]) -> list[str]:
    bad = [m for m in measures if m not in data.columns]
    if bad:
        raise FigureError(f"unknown measure(s) {bad}; allowed: {', '.join(MEASURES)}")
    return list(measures)


def trajectories(data: pd.DataFrame, out: str | Path, measures: Sequence[str] = DEFAULT_MEASURES,
                 title: str | None = None, pdf: bool = False) -> list[Path]:
    """Mean +/- 95 % CI over replicates of each measure, one colour per arm (group)."""
    style()
    measures = _check_measures(data, measures)
    groups = list(dict.fromkeys(data["group"]))
    colours = _palette(groups)
    fig, axes = _time_axes(len(measures))
    for ax, col in zip(axes, measures, strict=True):
        summary = mean_ci(data, ["group", "t_days"], col)
        for g in groups:
            s = summary[summary.group == g].sort_values("t_days")
            n = int(data.loc[data.group == g, "replicate_id"].nunique())
            ax.plot(s.t_days, s["mean"], color=colours[g], lw=1.6, label=f"{g} (n = {n})")
            ax.fill_between(s.t_days, s.lo, s.hi, color=colours[g], alpha=0.22, lw=0)
        title_, unit = MEASURES.get(col, (col, ""))
        ax.set_title(title_)
        ax.set_ylabel(unit)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(groups), 4),
               title="mean ± 95 % CI over replicates")
    if title:
        fig.suptitle(title)
    return save(fig, out, pdf)


def paired(data: pd.DataFrame, out: str | Path, control: str, measures: Sequence[str] = DEFAULT_MEASURES,
           title: str | None = None, pdf: bool = False, max_lines: int = 40) -> list[Path]:
    """Treated minus control per replicate (same seed and burned-in patient) over time, with band."""
    style()
    measures = _check_measures(data, measures)
    if control not in set(data["arm"]):
        raise FigureError(f"control arm {control!r} not found; arms: {', '.join(dict.fromkeys(data['arm']))}")
    keys = ["replicate_id", "t_days"]
    base = data[data.arm == control].set_index(keys)[measures]
    treated = data[data.arm != control]
    if treated.empty:
        raise FigureError(f"only the control arm {control!r} is present; nothing to pair")
    diff = treated.set_index(keys)[measures] - base.reindex(treated.set_index(keys).index).to_numpy()
    diff = diff.reset_index()
    diff["group"] = treated["group"].to_numpy()
    groups = list(dict.fromkeys(diff["group"]))
    colours = _palette(groups)
    fig, axes = _time_axes(len(measures))
    for ax, col in zip(axes, measures, strict=True):
        ax.axhline(0, color="0.3", lw=0.8)
        for g in groups:
            d = diff[diff.group == g]
            reps = list(dict.fromkeys(d.replicate_id))
            for r in reps[:max_lines]:
                one = d[d.replicate_id == r].sort_values("t_days")
                ax.plot(one.t_days, one[col], color=colours[g], lw=0.5, alpha=0.35)
            s = mean_ci(d, ["t_days"], col).sort_values("t_days")
            ax.plot(s.t_days, s["mean"], color=colours[g], lw=1.8, label=f"{g} − {control} (n = {len(reps)})")
            ax.fill_between(s.t_days, s.lo, s.hi, color=colours[g], alpha=0.25, lw=0)
        title_, unit = MEASURES.get(col, (col, ""))
        ax.set_title(f"Δ {title_}")
        ax.set_ylabel(("Δ percentage points" if unit == PCT else f"Δ {unit}") + "\n(treated − control)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(groups), 3),
               title="paired difference per replicate (thin), mean ± 95 % CI (thick)")
    if title:
        fig.suptitle(title)
    return save(fig, out, pdf)


def snapshots(source: str | Path, out: str | Path, days: Sequence[float] = (0, 1, 7, 30),
              fields: Sequence[str] = ("ido", "tgfb"), arm: str | None = None, cells: bool = True,
              title: str | None = None, pdf: bool = False) -> list[Path]:
    """Grid of panels, one row per day, one column per field (tissue cells first): colour scale shared
    per column; viable MSC marked with stars."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    style()
    days = sorted({float(d) for d in days})
    if not days:
        raise FigureError("give at least one day")
    fields = anim.check_fields(fields)
    src = anim.load_source(source, arm, max(days[-1], 1e-9))
    frames = anim.simulate(src, days, fields)
    tissue = src.scenario.tissue
    mm = tissue.voxel_um / 1000.0
    extent = (0, tissue.width_voxels * mm, 0, tissue.height_voxels * mm)
    columns = (["cells"] if cells else []) + fields
    if not columns:
        raise FigureError("nothing to show: no fields and cells turned off")
    fig, axes = plt.subplots(len(days), len(columns), figsize=(1.85 * len(columns) + 0.4, 1.75 * len(days) + 0.9),
                             squeeze=False, layout="constrained", sharex=True, sharey=True)
    cat = ListedColormap([c for _, c in anim.CELL_CLASSES])
    star = float(np.clip(6e3 / max(tissue.width_voxels, tissue.height_voxels) ** 1.1, 8, 60))
    for j, col in enumerate(columns):
        top = max(float(fr.fields[col].max()) for fr in frames) if col != "cells" else 0.0
        for i, fr in enumerate(frames):
            ax = axes[i, j]
            alive = fr.msc_state != anim.msc.APOPTOTIC
            x, y = (fr.msc_x[alive] + 0.5) * mm, (fr.msc_y[alive] + 0.5) * mm
            if col == "cells":
                ax.imshow(fr.cells.T, origin="lower", extent=extent, cmap=cat, vmin=-0.5,
                          vmax=len(anim.CELL_CLASSES) - 0.5, interpolation="nearest")
                ax.scatter(x, y, s=star, marker="*", facecolor="#ffd92f", edgecolor="k", linewidth=0.5)
            else:
                im = ax.imshow(fr.fields[col].T, origin="lower", extent=extent, cmap="magma", vmin=0,
                               vmax=top if top > 0 else 1.0, interpolation="nearest")
                ax.scatter(x, y, s=star, marker="*", facecolor="none", edgecolor="#7fffd4", linewidth=0.5)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set(visible=True, linewidth=0.6, color="0.3")
            if i == 0:
                name = "Tissue cells" if col == "cells" else anim.FIELD_LABELS.get(col, col)
                ax.set_title(name)
            if j == 0:
                ax.set_ylabel(f"day {fr.t_days:g}", fontweight="bold")
        if col != "cells":
            cb = fig.colorbar(im, ax=axes[:, j], location="bottom", shrink=0.9, aspect=18, pad=0.02)
            cb.set_label(f"{anim.FIELD_LABELS.get(col, col)} (a.u.)")
            cb.ax.tick_params(labelsize=7)
    if cells:
        handles = [Patch(facecolor=c, edgecolor="0.4", lw=0.3, label=lab) for lab, c in anim.CELL_CLASSES[1:-1]]
        handles.append(plt.Line2D([], [], ls="", marker="*", ms=8, mfc="#ffd92f", mec="k", label="viable MSC"))
        fig.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=7, handlelength=1.0,
                   columnspacing=0.8)
    scale = f"{tissue.width_voxels * mm:g} × {tissue.height_voxels * mm:g} mm patch"
    fig.suptitle(title or f"{src.label} ({scale}; days after first infusion)", fontsize=9)
    return save(fig, out, pdf)


# ----------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    """``python analysis/figures.py {trajectories,snapshots,paired} ...``; exit 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python analysis/figures.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="figure", required=True)

    def common(p, many: bool = True) -> None:
        if many:
            p.add_argument("sources", nargs="+", type=Path, help="batch and/or run directories")
        p.add_argument("--out", type=Path, required=True, help="output file (.png at 300 dpi, .pdf, .svg)")
        p.add_argument("--pdf", action="store_true", help="also write a PDF beside the PNG")
        p.add_argument("--title", help="figure title")

    p = sub.add_parser("trajectories", help="measures over time per arm, mean ± 95%% CI over replicates")
    common(p)
    p.add_argument("--measures", nargs="+", default=list(DEFAULT_MEASURES), help=f"of: {', '.join(MEASURES)}")
    p = sub.add_parser("paired", help="treated minus control per replicate over time, mean ± 95%% CI")
    common(p)
    p.add_argument("--control", help="control arm (default: the arm giving no cells)")
    p.add_argument("--measures", nargs="+", default=list(DEFAULT_MEASURES), help=f"of: {', '.join(MEASURES)}")
    p = sub.add_parser("snapshots", help="tissue cells and fields of one arm at chosen days")
    p.add_argument("source", type=Path, help="run directory (or scenario YAML)")
    common(p, many=False)
    p.add_argument("--days", nargs="+", type=float, default=[0, 1, 7, 30], help="days after first infusion")
    p.add_argument("--fields", nargs="+", default=["ido", "tgfb"], help="of: ido pge2 tgfb il6 il10 infl")
    p.add_argument("--arm", help="arm to show (default: the first)")
    p.add_argument("--no-cells", action="store_true", help="leave out the tissue-cell column")
    args = parser.parse_args(argv)
    try:
        if args.figure == "snapshots":
            written = snapshots(args.source, args.out, args.days, args.fields, args.arm, not args.no_cells,
                                args.title, args.pdf)
        else:
            data = load(args.sources)
            if args.figure == "trajectories":
                written = trajectories(data, args.out, args.measures, args.title, args.pdf)
            else:
                control = args.control or control_arm(args.sources, list(dict.fromkeys(data["arm"])))
                written = paired(data, args.out, control, args.measures, args.title, args.pdf)
    except (ValueError, OSError) as exc:  # FigureError, AnimationError, ConfigError, CheckpointError
        parser.exit(2, f"error: {exc}\n")
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
