"""Running a hypothesis through the batch layer, scoring it, and writing its report.

Files written to the output directory:

* ``hypothesis.yaml`` (the spec as given), ``scenario.yaml`` (the generated scenario, every arm),
  ``batch.yaml`` (the batch spec), ``batch/`` (the batch directory: resumable, any backend);
* ``hypothesis.csv``: one row per contrast and outcome (see :func:`analyse`);
* ``hypothesis.md``: the table and one plain-language line per mechanism and outcome, then which cell the
  reported findings prefer (:mod:`abm.experiments.hypothesis.findings`);
* ``findings.csv`` / ``findings_summary.csv``: every cell scored as a trial against the scenario's findings
  (a verdict per finding and model column), and one row per cell (counts, distance, rank); only when the
  scenario names findings;
* ``forest.png``: paired differences from the full-mechanism arm with intervals (filled = significant
  after the multiple-testing correction);
* ``trajectories.png``: blood Treg/Th17 ratio and Th17 % per arm, mean and 95 % band over replicates.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from abm.config.load import ConfigError
from abm.config.names import inside
from abm.experiments.batch.execute import write_json
from abm.experiments.batch.summary import load_trajectories
from abm.experiments.common import outcomes, stats
from abm.experiments.common.outdir import check_directory
from abm.experiments.common.tables import markdown_table
from abm.experiments.hypothesis.design import SCENARIO_FILE, Design, expand
from abm.experiments.hypothesis.spec import HypothesisSpec, load_spec, outcome_label, parse_outcome

BATCH_DIR = "batch"
ALPHA = 0.05
BLOCKADE_WORDS = {
    "ido_inhibitor": "blocking IDO",
    "cox2_inhibitor": "blocking COX-2 (PGE2)",
    "anti_tgfb": "neutralising TGF-β",
    "no_efferocytosis": "preventing efferocytosis of MSC",
    "no_contact": "removing contact-dependent suppression",
}


# --------------------------------------------------------------------------- outcomes
outcome_value = outcomes.value
"""One outcome of one arm's trajectory (the shared grammar's :func:`abm.experiments.common.outcomes.value`)."""


def outcome_table(traj: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """One row per (replicate, point, arm) with a column per outcome."""
    rows = []
    for (rep, point, arm), df in traj.groupby(["replicate", "point", "arm"], sort=True):
        df = df.sort_values("t_days")
        t = df["t_days"].to_numpy(dtype=float)
        row: dict[str, Any] = {"replicate": int(rep), "point": int(point), "arm": arm}
        for o in outcomes:
            column, stat, day = parse_outcome(o)
            row[o] = outcome_value(t, df[column].to_numpy(dtype=float), stat, day)
        rows.append(row)
    return pd.DataFrame(rows)


def design_of(batch_dir: Path, spec: HypothesisSpec | str | Path) -> tuple[HypothesisSpec, Design]:
    """The spec and its design; the base scenario comes from the batch's own record."""
    if not isinstance(spec, HypothesisSpec):
        spec, _ = load_spec(spec)
    from abm.experiments.batch.runner import tasks_of

    first = tasks_of(Path(batch_dir))[0]  # point 0: the unchanged scenario with every arm
    if first.point != 0 or first.params:
        raise ConfigError(f"{batch_dir}: its first run is not an unchanged scenario; not a hypothesis batch")
    return spec, expand(spec, first.config)


# --------------------------------------------------------------------------- analysis
def _cell_values(table: pd.DataFrame, design: Design, outcome: str) -> pd.DataFrame:
    """Replicates x cells (full, control, every design cell), complete replicates only."""
    cols = {}
    for cell in (design.reference, design.control, *design.cells):
        sel = table[(table["point"] == cell.point) & (table["arm"] == cell.arm)]
        cols[cell.name] = sel.set_index("replicate")[outcome]
        if cell.point and cell.arm != design.control.arm:  # a scenario-level cell: its own patient's control
            own = table[(table["point"] == cell.point) & (table["arm"] == design.control.arm)]
            cols[_OWN_CONTROL + cell.name] = own.set_index("replicate")[outcome]
    return pd.DataFrame(cols).dropna(how="any")


_OWN_CONTROL = "control of "
"""Column prefix of the control arm at a scenario-level cell's own batch point."""


def _describe(spec: HypothesisSpec, levels: dict[str, Any]) -> str:
    parts = []
    for f, v in levels.items():
        fac = spec.factors[f]
        if fac.label:
            parts.append(fac.label)
        elif fac.blockade and v is True:
            parts.append(BLOCKADE_WORDS.get(fac.blockade, f"blocking {fac.blockade}"))
        elif fac.path == "control" and v != "none":
            parts.append(f"giving no MSC ({v})")
        else:
            parts.append(f"setting {fac.path} to {v}")
    return " and ".join(parts)


def analyse(batch_dir: str | Path, spec: HypothesisSpec | str | Path) -> pd.DataFrame:
    """Score a finished (or partly finished) hypothesis batch: one row per contrast and outcome.

    Contrasts: ``gain`` (full - control, for reference), ``effect`` (cell - full per replicate, with
    the fraction of the gain removed, (full - cell) / (full - control)), for every scenario-level cell
    ``own_gain`` (its own gain, cell - the control arm of its own burned-in patient, minus the reference gain:
    whether the change alters the MSC effect, apart from what it does to the untreated patient) and, for
    factorial designs,
    ``interaction`` (AB - A - B + full for every pair of factors at every pair of levels).  Only
    replicates where every cell finished are used.  p-values (paired t-test) are adjusted with the
    spec's correction over the effects and interactions of each outcome (``family: outcome``) or of
    all outcomes (``family: all``); the gain row is not part of any family.
    """
    batch_dir = Path(batch_dir)
    spec, design = design_of(batch_dir, spec)
    needed = sorted({parse_outcome(o)[0] for o in spec.outcomes})
    traj = load_trajectories(batch_dir, columns=["replicate", "point", "arm", "t_days", *needed])
    if traj.empty:
        raise ConfigError(f"{batch_dir}: no finished runs to analyse")
    table = outcome_table(traj, spec.outcomes)
    kw = {"confidence": spec.confidence, "n_boot": spec.n_boot, "seed": spec.bootstrap_seed}
    rows: list[dict[str, Any]] = []
    for outcome in spec.outcomes:
        vals = _cell_values(table, design, outcome)
        full, control = vals["full"].to_numpy(), vals["control"].to_numpy()
        common = {"outcome": outcome, "outcome_label": outcome_label(outcome), "full_mean": np.mean(full),
                  "control_mean": np.mean(control)}
        gain = stats.paired(full - control, **kw)
        rows.append({"kind": "gain", "contrast": f"{spec.reference} - {spec.control}", "factors": "",
                     "description": "the MSC gain", **common, "cell_mean": np.mean(full),
                     **_prefixed(gain), "frac_removed": math.nan, "frac_low": math.nan, "frac_high": math.nan,
                     "frac_median": math.nan})
        for cell in design.cells:
            x = vals[cell.name].to_numpy()
            res = stats.paired(x - full, **kw)
            frac = stats.fraction_removed(full, x, control, **kw)
            rows.append({"kind": "effect", "contrast": cell.name, "factors": ",".join(cell.levels),
                         "description": _describe(spec, cell.levels), **common, "cell_mean": np.mean(x),
                         **_prefixed(res), "frac_removed": frac.estimate, "frac_low": frac.low,
                         "frac_high": frac.high, "frac_median": frac.per_replicate_median})
            if _OWN_CONTROL + cell.name in vals:
                own = vals[_OWN_CONTROL + cell.name].to_numpy()
                res = stats.paired((x - own) - (full - control), **kw)
                rows.append({"kind": "own_gain", "contrast": f"{cell.name} (own patient)",
                             "factors": ",".join(cell.levels), "description": _describe(spec, cell.levels),
                             **common, "cell_mean": np.mean(x), "own_control_mean": np.mean(own),
                             **_prefixed(res), "frac_removed": math.nan, "frac_low": math.nan,
                             "frac_high": math.nan, "frac_median": math.nan})
        if spec.design == "factorial":
            by_levels = {tuple(sorted(c.levels.items(), key=str)): c.name for c in design.cells}
            names = list(spec.factors)
            for f1, f2 in ((a, b) for i, a in enumerate(names) for b in names[i + 1:]):
                for v1 in spec.factors[f1].levels or []:
                    for v2 in spec.factors[f2].levels or []:
                        a = by_levels[((f1, v1),)]
                        b = by_levels[((f2, v2),)]
                        ab = by_levels[tuple(sorted({f1: v1, f2: v2}.items(), key=str))]
                        inter = stats.interaction(full, vals[a].to_numpy(), vals[b].to_numpy(), vals[ab].to_numpy())
                        res = stats.paired(inter, **kw)
                        rows.append({"kind": "interaction", "contrast": f"{a} x {b}", "factors": f"{f1},{f2}",
                                     "description": f"interaction of {_describe(spec, {f1: v1})} and "
                                                    f"{_describe(spec, {f2: v2})}",
                                     **common, "cell_mean": np.mean(vals[ab].to_numpy()), **_prefixed(res),
                                     "frac_removed": math.nan, "frac_low": math.nan, "frac_high": math.nan,
                                     "frac_median": math.nan})
    frame = pd.DataFrame(rows)
    frame["p_adj"] = np.nan
    tested = frame["kind"] != "gain"
    groups = [tested] if spec.family == "all" else [tested & (frame["outcome"] == o) for o in spec.outcomes]
    for mask in groups:
        frame.loc[mask, "p_adj"] = stats.adjust(frame.loc[mask, "p"].to_numpy(), spec.correction)
    frame.loc[~tested, "p_adj"] = frame.loc[~tested, "p"]
    frame["significant"] = frame["p_adj"] < ALPHA
    frame["correction"] = spec.correction
    lo, hi = ("t_low", "t_high") if spec.interval == "t" else ("boot_low", "boot_high")
    frame["ci_low"], frame["ci_high"] = frame[lo], frame[hi]
    return frame


def _prefixed(res: stats.Paired) -> dict[str, float]:
    d = res.as_dict()
    return {"n": d.pop("n"), "diff_mean": d.pop("mean"), "diff_sd": d.pop("sd"), **d}


# --------------------------------------------------------------------------- words
def _pct(x: float) -> str:
    return f"{round(100 * x) + 0:d}" if np.isfinite(x) else "n/a"  # + 0: no "-0"


def plain_line(row: pd.Series, spec: HypothesisSpec) -> str:
    """'blocking IDO removes 62 % [48–75 %] of the day-30 blood Treg/Th17 ratio gain (...)'."""
    what = row["outcome_label"]
    corr = {"holm": "Holm", "bh": "BH", "none": "unadjusted"}[spec.correction]
    stat = (f"difference {row['diff_mean']:+.3g} [{row['ci_low']:.3g}, {row['ci_high']:.3g}], d = {row['d']:.2g}, "
            f"{corr} p = {row['p_adj']:.2g}, n = {int(row['n'])}")
    if row["kind"] == "interaction":
        verdict = "interact" if row["significant"] else "add up (no interaction detected)"
        return f"{row['description']}: the effects on the {what} {verdict} ({stat})."
    if row["kind"] == "own_gain":
        own = row["cell_mean"] - row["own_control_mean"]
        verdict = "changes" if row["significant"] else "does not detectably change"
        text = row["description"]
        return (f"{text[:1].upper() + text[1:]}, in its own burned-in patient, {verdict} the {what} gain: "
                f"{own:+.3g} there vs {row['full_mean'] - row['control_mean']:+.3g} in the reference (this arm "
                f"{row['cell_mean']:.3g}, its control {row['own_control_mean']:.3g}; {stat}).")
    est, lo, hi = row["frac_removed"], row["frac_low"], row["frac_high"]
    if not np.isfinite(est):
        share = f"changes the {what} (the gain is 0, so no fraction)"
    elif est >= 0:
        share = f"removes {_pct(est)} % [{_pct(lo)}–{_pct(hi)} %] of the {what} gain"
    else:
        share = f"adds {_pct(-est)} % [{_pct(-hi)}–{_pct(-lo)} %] to the {what} gain"
    caveat = "" if row["significant"] else "; not distinguishable from no effect"
    text = row["description"]
    return (f"{text[:1].upper() + text[1:]} {share} ({spec.reference} {row['full_mean']:.3g}, "
            f"{spec.control} {row['control_mean']:.3g}, this arm {row['cell_mean']:.3g}; {stat}{caveat}).")


def markdown(frame: pd.DataFrame, spec: HypothesisSpec) -> str:
    """The report: plain-language lines first, then the table."""
    lines = [f"# Hypothesis: {spec.name}", "",
             f"Design {spec.design}, {spec.replicates} replicates paired by seed (all arms of a replicate branch "
             f"from the same burned-in patient), reference arm `{spec.reference}`, control arm `{spec.control}`. "
             f"Intervals: {int(100 * spec.confidence)} % {spec.interval}; fractions of the gain: ratio of mean paired "
             f"differences with a percentile bootstrap interval ({spec.n_boot} resamples). Multiple testing: "
             f"{spec.correction} per {'outcome' if spec.family == 'outcome' else 'whole report'}.", ""]
    for outcome in spec.outcomes:
        sub = frame[frame["outcome"] == outcome]
        gain = sub[sub["kind"] == "gain"].iloc[0]
        lines += [f"## {outcome_label(outcome)}", "",
                  f"Gain ({spec.reference} − {spec.control}): {gain['diff_mean']:+.3g} "
                  f"[{gain['ci_low']:.3g}, {gain['ci_high']:.3g}], n = {int(gain['n'])}.", ""]
        lines += [f"- {plain_line(r, spec)}" for _, r in sub[sub["kind"] != "gain"].iterrows()]
        lines.append("")
    cols = ["outcome", "kind", "contrast", "n", "full_mean", "control_mean", "cell_mean", "diff_mean", "ci_low",
            "ci_high", "d", "g", "p", "p_adj", "frac_removed", "frac_low", "frac_high"]
    table = frame[cols].copy()
    lines += ["## Table", "", markdown_table(table), ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- figures
def forest(frame: pd.DataFrame, spec: HypothesisSpec, path: Path) -> None:
    """Paired differences from the full arm (and interactions) per outcome, filled when significant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    tested = frame[frame["kind"] != "gain"]
    contrasts = list(dict.fromkeys(tested["contrast"]))
    n_out = len(spec.outcomes)
    fig, axes = plt.subplots(1, n_out, figsize=(3.6 * n_out + 1.5, 0.45 * len(contrasts) + 1.6), sharey=True,
                             squeeze=False)
    colors = {"effect": sns.color_palette()[0], "interaction": sns.color_palette()[3],
              "own_gain": sns.color_palette()[2]}
    for ax, outcome in zip(axes[0], spec.outcomes, strict=True):
        sub = tested[tested["outcome"] == outcome].set_index("contrast")
        for y, name in enumerate(contrasts):
            if name not in sub.index:
                continue
            r = sub.loc[name]
            c = colors[r["kind"]]
            ax.plot([r["ci_low"], r["ci_high"]], [y, y], color=c, lw=1.6)
            ax.plot(r["diff_mean"], y, "o", color=c, mfc=c if r["significant"] else "white", ms=7)
            if r["significant"]:
                ax.annotate("*", (r["ci_high"], y), xytext=(4, -4), textcoords="offset points", fontsize=12)
        ax.axvline(0, color="0.3", lw=0.8, ls="--")
        ax.set_title(outcome_label(outcome), fontsize=9)
        ax.set_xlabel("difference from full arm (own patient: of gains)")
    axes[0][0].set_yticks(range(len(contrasts)), contrasts, fontsize=8)
    axes[0][0].invert_yaxis()
    fig.suptitle(f"{spec.name}: paired differences, {int(100 * spec.confidence)} % {spec.interval} intervals "
                 f"(filled, * = {spec.correction}-adjusted p < {ALPHA})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def trajectories(traj: pd.DataFrame, design: Design, path: Path) -> None:
    """Blood Treg/Th17 ratio and Th17 % per arm: mean and 95 % band over replicates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    label = {(c.point, c.arm): c.name if c.point else c.arm for c in (design.reference, design.control, *design.cells)}
    label[(0, design.reference.arm)] = f"{design.reference.arm} (full)"
    label[(0, design.control.arm)] = f"{design.control.arm} (control)"
    df = traj[[k in label for k in zip(traj["point"], traj["arm"], strict=True)]].copy()
    df["arm label"] = [label[k] for k in zip(df["point"], df["arm"], strict=True)]
    order = list(dict.fromkeys(label.values()))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    for ax, (col, name) in zip(axes, (("blood_treg_th17_ratio", "blood Treg/Th17 ratio"),
                                      ("blood_th17_pct_cd4", "blood Th17 % of CD4")), strict=True):
        sns.lineplot(df, x="t_days", y=col, hue="arm label", hue_order=order, style="arm label",
                     style_order=order, errorbar=("ci", 95), n_boot=300,
                     seed=0, ax=ax, lw=1.3, legend=ax is axes[-1])
        ax.set_xlabel("days after first infusion")
        ax.set_ylabel(name)
    axes[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle("mean and 95 % band over replicates (arms identical by design overlap; see line styles)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def write_report(out_dir: Path, frame: pd.DataFrame, spec: HypothesisSpec, batch_dir: Path) -> None:
    """hypothesis.csv, hypothesis.md, forest.png, trajectories.png and, when the scenario names findings,
    findings.csv and findings_summary.csv."""
    from abm.experiments.hypothesis import findings

    out_dir = Path(out_dir)
    _, design = design_of(batch_dir, spec)
    verdicts, ranking = findings.score_cells(batch_dir, design)
    frame.to_csv(out_dir / "hypothesis.csv", index=False)
    if not ranking.empty:
        verdicts.to_csv(out_dir / "findings.csv", index=False)
        ranking.to_csv(out_dir / "findings_summary.csv", index=False)
    (out_dir / "hypothesis.md").write_text(markdown(frame, spec) + findings.markdown(verdicts, ranking))
    forest(frame, spec, out_dir / "forest.png")
    traj = load_trajectories(batch_dir, columns=["replicate", "point", "arm", "t_days", "blood_treg_th17_ratio",
                                                 "blood_th17_pct_cd4"])
    trajectories(traj, design, out_dir / "trajectories.png")


# --------------------------------------------------------------------------- running
class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dump(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_NoAliases, sort_keys=False)


META_FILE = "hypothesis_inputs.json"
"""What a hypothesis directory holds (the design's fingerprint); a resume must match it."""


def prepare(spec_path: str | Path, out_dir: Path, resume: bool) -> tuple[HypothesisSpec, Design, Path]:
    """Validate and expand the spec, check that ``out_dir`` is new (or, with ``resume``, holds the same
    design), then write the generated scenario, batch spec and design into it."""
    spec, base = load_spec(spec_path)
    design = expand(spec, base)
    out_dir = Path(out_dir)
    cells = [{"name": c.name, "levels": c.levels, "point": c.point, "arm": c.arm, "scenario_changes":
              c.scenario_changes} for c in (design.reference, design.control, *design.cells)]
    fingerprint = json.loads(json.dumps({"scenario": design.scenario, "batch_spec": design.batch_spec(),
                                         "cells": cells}, default=str))
    legacy = (out_dir / BATCH_DIR / "batch.json").is_file() and not (out_dir / META_FILE).is_file()
    if legacy and resume and (out_dir / "batch.yaml").is_file():  # made before directories carried a record
        if yaml.safe_load((out_dir / "batch.yaml").read_text()) != yaml.safe_load(_dump(design.batch_spec())):
            raise ConfigError(f"{out_dir}: holds a different hypothesis run (its batch.yaml differs); use another "
                              f"--out")
    else:
        check_directory(out_dir, META_FILE, "hypothesis run", resume, fingerprint, list(fingerprint))
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(spec_path, out_dir / "hypothesis.yaml")
    (out_dir / SCENARIO_FILE).write_text(_dump(design.scenario))
    batch_yaml = out_dir / "batch.yaml"
    batch_yaml.write_text(_dump(design.batch_spec()))
    (out_dir / "design.json").write_text(json.dumps({"points": design.points, "cells": cells}, indent=1,
                                                    default=str))
    write_json(out_dir / META_FILE, fingerprint)
    return spec, design, batch_yaml


def run_hypothesis(spec_path: str | Path, out_dir: str | Path | None = None, backend: str | None = None,
                   workers: int | None = None, resume: bool = False,
                   progress: Callable[[dict[str, Any]], None] | None = None,
                   on_start: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Run a hypothesis spec through the batch layer and write its report; returns :func:`analyse`'s frame.

    ``out_dir`` defaults to ``runs/hypotheses/<name>``; the batch lives in ``<out_dir>/batch`` and can be
    resumed (``resume=True``) after an interruption or with another backend.
    """
    from abm.experiments.batch.runner import run_batch

    if out_dir is None:
        spec, _ = load_spec(spec_path)
        out_dir = inside(Path("runs"), "hypotheses", spec.name)
    out_dir = Path(out_dir)
    spec, _design, batch_yaml = prepare(spec_path, out_dir, resume)
    run_batch(batch_yaml, out_dir / BATCH_DIR, backend=backend, workers=workers, resume=resume,
              progress=progress, on_start=on_start)
    frame = analyse(out_dir / BATCH_DIR, spec)
    write_report(out_dir, frame, spec, out_dir / BATCH_DIR)
    return frame
