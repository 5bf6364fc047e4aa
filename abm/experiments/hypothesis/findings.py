"""Which design cell the reported findings prefer: every cell of a hypothesis scored as a trial.

Each design cell (the full-mechanism reference and every cell of the design) is turned into a two-arm trial:
the cell's arm, renamed to the reference arm, beside the control arm of the *same* batch point (so a
scenario-level cell, a switch of the biology, is scored against the control of its own burned-in patient).
Its replicates are the hypothesis's replicates.  The scenario's ``findings`` (or the spec's ``findings``)
are then scored exactly as ``abm trials`` scores them (:func:`abm.experiments.trials.compare.score`: a
verdict per finding and model column) and, where a finding is a summary statistic, by the calibration
distance (:class:`abm.experiments.calibrate.model.FindingDistance`, on the replicate means of the
statistics, as the ABC fits do).

What this is: a ranking of mechanisms at *one* parameter set (the spec's base and overrides), not a fit of
each mechanism.  A mechanism the findings reject here may hold at other parameters.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.config import validate_dict
from abm.experiments.batch.summary import load_trajectories
from abm.experiments.calibrate.model import FindingDistance, measure, statistics
from abm.experiments.common.tables import markdown_table
from abm.experiments.hypothesis.design import Cell, Design
from abm.experiments.trials.compare import FAILS, HOLDS, NOT_COMPARABLE, Source, score, with_derived
from abm.experiments.trials.findings import Finding, load_findings

SYMBOL = {HOLDS: "holds", FAILS: "**fails**", NOT_COMPARABLE: "–"}


def named_findings(design: Design) -> list[Finding]:
    """The findings the design's scenario names, in the order it names them."""
    ids = list(design.scenario.get("findings") or [])
    known = {f.finding_id: f for f in load_findings()}
    return [known[i] for i in ids if i in known]


def cell_source(design: Design, cell: Cell, config: dict[str, Any], frame: pd.DataFrame) -> Source:
    """The two-arm trial of one cell: its arm (named as the reference arm) and its point's control arm."""
    ref, ctl = design.reference.arm, design.control.arm
    arms = config["arms"]
    two = {**config, "arms": {ref: arms[cell.arm], ctl: arms[ctl]}}
    scenario = validate_dict(two, origin=f"hypothesis cell {cell.name}")
    mine = frame[(frame["point"] == cell.point) & frame["arm"].isin([cell.arm, ctl])].copy()
    mine["arm"] = np.where(mine["arm"] == cell.arm, ref, ctl)
    return Source(cell.name, scenario, with_derived(mine))


def score_cells(batch_dir: str | Path, design: Design) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(verdicts, summary): the comparison rows of every cell (``cell`` column first), and one row per
    cell with its counts of holds / fails / not comparable, the calibration distance of its replicate-mean
    statistics, and the rows it holds or fails where the reference does not."""
    from abm.experiments.batch.runner import tasks_of

    batch_dir = Path(batch_dir)
    findings = named_findings(design)
    cells = [design.reference, *design.cells]
    if not findings:
        return pd.DataFrame(), pd.DataFrame()
    configs: dict[int, dict[str, Any]] = {}
    for t in tasks_of(batch_dir):
        configs.setdefault(t.point, t.config)
    frame = load_trajectories(batch_dir)
    frame = frame[frame["arm"].isin({c.arm for c in cells} | {design.control.arm})]
    verdicts, summary = [], []
    for cell in cells:
        src = cell_source(design, cell, configs[cell.point], frame)
        rows = score([src], findings)
        rows.insert(0, "cell", cell.name)
        verdicts.append(rows)
        summary.append({"cell": cell.name, "factors": ",".join(cell.levels) or "(reference)",
                        "holds": int((rows["verdict"] == HOLDS).sum()),
                        "fails": int((rows["verdict"] == FAILS).sum()),
                        "not_comparable": int((rows["verdict"] == NOT_COMPARABLE).sum()),
                        "distance": _distance(src, findings)})
    table = pd.concat(verdicts, ignore_index=True)
    out = pd.DataFrame(summary)
    key = ["finding_id", "model_column", "arm"]
    ref = table[table["cell"] == design.reference.name].set_index(key)["verdict"]
    for i, cell in enumerate(cells):
        mine = table[table["cell"] == cell.name].set_index(key)["verdict"]
        both = pd.concat({"ref": ref, "cell": mine}, axis=1).dropna()
        out.loc[i, "worse"] = ", ".join(sorted({k[0] for k, r in both.iterrows()
                                                if r["ref"] == HOLDS and r["cell"] != HOLDS}))
        out.loc[i, "better"] = ", ".join(sorted({k[0] for k, r in both.iterrows()
                                                 if r["ref"] != HOLDS and r["cell"] == HOLDS}))
    out["rank"] = out.sort_values(["holds", "fails", "distance"], ascending=[False, True, True]).index.argsort() + 1
    return table, out


def _distance(src: Source, findings: list[Finding]) -> float:
    """The calibration distance of the replicate-mean statistics (NaN when no finding is a statistic)."""
    stats, _ = statistics(findings, src.scenario)
    if not stats or src.frame.empty:
        return math.nan
    per_run = [measure(stats, run) for _, run in src.frame.groupby("run_id", sort=True)]
    mean = {s.key: float(np.nanmean([r[s.key] for r in per_run])) for s in stats}
    return FindingDistance(stats, src.scenario.disease.preset)(mean)


def markdown(table: pd.DataFrame, summary: pd.DataFrame) -> str:
    """The report section: the ranking, then a verdict grid (cells x findings)."""
    if summary.empty:
        return ""
    best = summary.sort_values("rank").iloc[0]
    ref = summary.iloc[0]
    lines = ["## Which cell the reported findings prefer", "",
             f"Every cell scored as a trial against its own control ({int(table['n_replicates'].max())} "
             f"replicates; the verdict rules of `abm trials`, docs/trials.md), ranked by findings held, then "
             f"fewest failed, then the calibration distance (replicate means; 0 = every statistic inside its "
             f"margin). One parameter set: a cell the findings reject here may hold at others.", "",
             f"The findings prefer **{best['cell']}** ({best['holds']} hold, {best['fails']} fail, distance "
             f"{best['distance']:.3g}); the reference holds {ref['holds']}, fails {ref['fails']} (distance "
             f"{ref['distance']:.3g}).", ""]
    lines += [markdown_table(summary.sort_values("rank")[["rank", "cell", "holds", "fails", "not_comparable",
                                                           "distance", "better", "worse"]]), ""]
    column = table["model_column"].fillna("").astype(str)
    several = column.groupby(table["finding_id"]).transform(lambda c: c[c != ""].nunique() > 1)
    row = table["finding_id"].where(~several | (column == ""), table["finding_id"] + " (" + column + ")")
    grid = table.assign(finding=row).pivot_table(index="finding", columns="cell", values="verdict",
                                                 aggfunc="first", sort=False)
    grid = grid[[c for c in summary.sort_values("rank")["cell"] if c in grid.columns]]
    grid = grid.map(lambda v: SYMBOL.get(v, "–")).reset_index()
    lines += ["Verdict per finding (column: cell; – not comparable):", "", markdown_table(grid), ""]
    return "\n".join(lines)
