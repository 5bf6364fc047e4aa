"""Golden trajectories: a short fixed-seed run of every shipped scenario, stored in the repository.

Any change of the model's behaviour shows up as a failing ``tests/test_golden.py`` and, once accepted,
as a reviewed diff of ``tests/golden_trajectories/*.csv``.  Regenerate (after a deliberate change of the
biology, in a commit of its own that says why) with::

    make golden        # = .venv/bin/python tests/golden.py --regenerate

Each golden run is the shipped scenario shortened so the whole set takes seconds: a 40x40-voxel tissue,
a 6-day burn-in (the damage loop, where a scenario turns it on, averages its last 3 days) and 14 days
of follow-up (every shipped infusion day falls inside), recorded daily, every arm.  Values are written
with 17 significant digits, so a bit-identical model reproduces them exactly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = Path(__file__).resolve().parent / "golden_trajectories"
SHORTEN = {"tissue": {"width_voxels": 40, "height_voxels": 40},
           "simulation": {"burn_in_days": 6, "days": 14},
           "biology": {"damage": {"reference_days": 3.0}}}  # the damage loop's window fits the short burn-in
SEED = 20261202

RTOL = 1e-12
"""Relative tolerance of the comparison: the model is expected bit-identical; 1e-12 leaves room only for
a reordering of floating-point operations (stated per column when it is ever needed)."""


def shipped_scenarios() -> dict[str, Path]:
    """Golden name -> scenario file: the default trial, the examples and the trial scenarios."""
    files = [ROOT / "configs" / "default_trial.yaml", *sorted((ROOT / "configs" / "examples").glob("*.yaml")),
             *sorted((ROOT / "configs" / "trials").glob("*.yaml"))]
    return {f"{f.parent.name}-{f.stem}" if f.parent.name != "configs" else f.stem: f for f in files}


def trajectory(path: Path) -> pd.DataFrame:
    """The golden run of one scenario file: every arm, one row a day, all recorded columns."""
    from abm.config import load
    from abm.experiments.calibrate.model import simulate

    scenario = load(path, overrides={**SHORTEN, "seed": SEED})
    return simulate(scenario, run_id=path.stem).drop(columns=["run_id", "wall_s"], errors="ignore")


def golden_file(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.csv"


def read_golden(name: str) -> pd.DataFrame:
    return pd.read_csv(golden_file(name))


def regenerate(names: list[str] | None = None) -> list[Path]:
    """Write the golden CSV of the named (default: all) shipped scenarios."""
    GOLDEN_DIR.mkdir(exist_ok=True)
    written = []
    for name, path in shipped_scenarios().items():
        if names and name not in names:
            continue
        trajectory(path).to_csv(golden_file(name), index=False, float_format="%.17g")
        written.append(golden_file(name))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--regenerate", action="store_true", help="rewrite the golden trajectories")
    parser.add_argument("names", nargs="*", help="golden names (default: all): " + ", ".join(shipped_scenarios()))
    args = parser.parse_args(argv)
    if not args.regenerate:
        parser.print_help()
        return 2
    for path in regenerate(args.names):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
