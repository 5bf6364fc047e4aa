"""Is this checkout's engine the previous engine's equal, seed for seed, on full default trials?

For seeds 1..``--seeds`` the full default trial (120-day burn-in, two 180-day arms) runs on this checkout
(``ABM_ENGINE`` as set, compiled by default) and on a git revision (default: the last numpy-only engine),
in fresh interpreters, two at a time.  The report gives:

1. how many seeds give bit-identical trajectories (every recorded column, rtol 1e-12);
2. for the seeds that do not, each recorded column's paired difference of time-means over seeds with
   its 95 % t-interval and a Holm-adjusted p-value (statistical equivalence: no column's interval may
   exclude 0 after adjustment);
3. the paired spread: the standard deviation over seeds of the day-180 blood Treg/Th17 ratio difference
   MSC minus untreated, for each engine (common random numbers keep it small; it must not widen).

    PYTHONPATH=. .venv/bin/python benchmarks/equivalence.py [--seeds 20] [--against REV]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_engine import PREVIOUS_ENGINE, export  # noqa: E402

RUN = r"""
import sys
from abm.config import load
from abm.experiments.calibrate.model import simulate
scenario = load("configs/default_trial.yaml", overrides={"seed": int(sys.argv[1])})
frame = simulate(scenario, run_id="x").drop(columns=["run_id", "wall_s"], errors="ignore")
sys.stdout.write(frame.to_csv(index=False))
"""


def trajectory(tree: Path, seed: int) -> pd.DataFrame:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if tree != REPO:
        env.pop("ABM_ENGINE", None)
    out = subprocess.run([sys.executable, "-c", RUN, str(seed)], env=env, cwd=tree, check=True,
                         capture_output=True, text=True)
    return pd.read_csv(io.StringIO(out.stdout))


def identical(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    num = a.select_dtypes("number").columns
    return bool(np.allclose(a[num], b[num], rtol=1e-12, atol=0.0, equal_nan=True))


def ratio_difference(frame: pd.DataFrame) -> float:
    """Day-180 blood Treg/Th17 ratio, MSC arm minus untreated arm."""
    last = frame[frame["t_days"] == frame["t_days"].max()].set_index("arm")["blood_treg_th17_ratio"]
    return float(last["msc"] - last["untreated"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--against", default=PREVIOUS_ENGINE)
    args = parser.parse_args(argv)
    seeds = list(range(1, args.seeds + 1))
    with tempfile.TemporaryDirectory(prefix="abm-equiv-") as tmp:
        prev = Path(tmp)
        commit = export(args.against, prev)
        with cf.ThreadPoolExecutor(max_workers=2) as pool:
            new = dict(zip(seeds, pool.map(lambda s: trajectory(REPO, s), seeds), strict=True))
            old = dict(zip(seeds, pool.map(lambda s: trajectory(prev, s), seeds), strict=True))
    same = [s for s in seeds if identical(new[s], old[s])]
    engine = os.environ.get("ABM_ENGINE", "compiled (default)")
    print(f"this checkout ({engine}) vs {commit[:10]}, full default trial, seeds 1-{args.seeds}")
    print(f"1. bit-identical trajectories: {len(same)} of {len(seeds)} seeds")
    differ = [s for s in seeds if s not in same]
    if differ:
        num = [c for c in new[differ[0]].select_dtypes("number").columns if c != "t_days"]
        rows = []
        for arm in new[differ[0]]["arm"].unique():
            for col in num:
                d = np.array([new[s].loc[new[s]["arm"] == arm, col].mean()
                              - old[s].loc[old[s]["arm"] == arm, col].mean() for s in seeds])
                if np.allclose(d, 0):
                    continue
                t = stats.ttest_1samp(d, 0.0)
                lo, hi = t.confidence_interval(0.95)
                rows.append((arm, col, d.mean(), lo, hi, t.pvalue))
        if rows:
            p_holm = multipletests([r[5] for r in rows], method="holm")[1]
            bad = [(r, p) for r, p in zip(rows, p_holm, strict=True) if p < 0.05]
            print(f"2. paired time-means over all {len(seeds)} seeds, {len(rows)} (arm, column) pairs that differ "
                  f"anywhere: {len(bad)} with a Holm-adjusted p < 0.05")
            for (arm, col, m, lo, hi, _), p in bad:
                print(f"   {arm} {col}: mean difference {m:+.4g} [{lo:+.4g}, {hi:+.4g}], p_holm {p:.3g}")
    else:
        print("2. no seed differs: statistical equivalence holds trivially")
    d_new = [ratio_difference(new[s]) for s in seeds]
    d_old = [ratio_difference(old[s]) for s in seeds]
    print(f"3. paired spread, SD over seeds of the day-180 Treg/Th17 ratio difference (MSC - untreated): "
          f"this {np.std(d_new, ddof=1):.3f}, previous {np.std(d_old, ddof=1):.3f} "
          f"(means {np.mean(d_new):+.3f} and {np.mean(d_old):+.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
