"""The short report that ends a run: a seaborn figure of the arms and a summary table."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

PANELS = (
    ("blood_treg_th17_ratio", "Blood Treg/Th17 ratio"),
    ("blood_treg_pct_cd4", "Blood Treg (% of CD4)"),
    ("blood_th17_pct_cd4", "Blood Th17 (% of CD4)"),
    ("tissue_treg_th17_ratio", "Tissue Treg/Th17 ratio"),
)
SUMMARY_DAYS = (0, 7, 30, 90, 180)
SUMMARY_COLUMNS = ("blood_treg_th17_ratio", "blood_treg_pct_cd4", "blood_th17_pct_cd4")


def control_arm(arms: list[str], controls: dict[str, bool]) -> str | None:
    """The first arm that gives no cells, if any."""
    return next((a for a in arms if controls.get(a)), None)


def summary_table(traj: pd.DataFrame, days: tuple[float, ...] = SUMMARY_DAYS) -> pd.DataFrame:
    """Values of the key blood measures per arm at the summary days (nearest recorded day)."""
    recs = []
    for arm, df in traj.groupby("arm", sort=False):
        for d in days:
            if d > df.t_days.max() + 1e-9:
                continue
            row = df.loc[(df.t_days - d).abs().idxmin()]
            recs.append({"arm": arm, "day": d, **{c: row[c] for c in SUMMARY_COLUMNS}})
    return pd.DataFrame(recs)


def effects(table: pd.DataFrame, control: str) -> pd.DataFrame:
    """Differences of each arm from the control arm at the same day."""
    base = table[table.arm == control].set_index("day")
    out = []
    for arm, df in table[table.arm != control].groupby("arm", sort=False):
        d = df.set_index("day")[list(SUMMARY_COLUMNS)] - base[list(SUMMARY_COLUMNS)]
        d.insert(0, "arm", f"{arm} - {control}")
        out.append(d.reset_index())
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def figure(traj: pd.DataFrame, path: Path, title: str) -> None:
    """Four panels of blood and tissue measures over time, one line per arm."""
    sns.set_theme(style="whitegrid", context="notebook")
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for ax, (col, label) in zip(axes.flat, PANELS, strict=True):
        sns.lineplot(data=traj, x="t_days", y=col, hue="arm", ax=ax, legend=ax is axes.flat[0])
        ax.set_ylabel(label)
        ax.set_xlabel("days after first infusion")
        ax.axvline(0, color="grey", lw=0.8, ls=":")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(run_dir: Path, traj: pd.DataFrame, manifest: dict) -> str:
    """Write ``report.png``, ``summary.csv`` and ``summary.md`` into the run directory.

    Returns the Markdown summary (also printed by the CLI).
    """
    run_dir = Path(run_dir)
    cfg = manifest["config"]
    controls = {name: arm["control"] != "none" for name, arm in cfg["arms"].items()}
    title = f"{manifest['name']}: {cfg['disease']['preset'].upper()}, seed {manifest['seed']}"
    figure(traj, run_dir / "report.png", title)
    table = summary_table(traj)
    table.to_csv(run_dir / "summary.csv", index=False)
    lines = [f"# {title}", "", "Blood measures by arm (nearest recorded day):", "",
             table.to_markdown(index=False, floatfmt=".3g"), ""]
    ctrl = control_arm(list(controls), controls)
    if ctrl:
        eff = effects(table, ctrl)
        if not eff.empty:
            lines += [f"Differences from the control arm `{ctrl}` (paired: same burned-in patient and"
                      " random stream):", "", eff.to_markdown(index=False, floatfmt="+.3g"), ""]
    lines += ["Figure: report.png. Full trajectories: trajectories.parquet.", ""]
    text = "\n".join(lines)
    (run_dir / "summary.md").write_text(text)
    return text
