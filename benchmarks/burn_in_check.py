"""Does a short settled burn-in reach the steady state a long fixed one reaches, across the plausible ranges
of the parameters that slow equilibration?

For each such parameter at each end of its plausible range (the parameter table's ``plausible``), and at
the defaults, ``--seeds`` patients are burned in three ways: ``settled`` for ``--settled-days`` (the slow
compartments fast-forwarded 20 days before the end), ``fixed`` for 120 days (the default burn-in) and a
``fixed`` reference for ``--reference-days``.  The table gives, per observable, the mean over seeds of each
short burn-in relative to the reference, with the standard error of that difference (seeds are
independent patients here: the three burn-ins of one seed share their first random numbers only).

    PYTHONPATH=. .venv/bin/python benchmarks/burn_in_check.py [--seeds 4] [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from abm import burn_in  # noqa: E402
from abm.biology.parameters import Biology  # noqa: E402
from abm.config import load  # noqa: E402
from abm.run import burn_in as run_burn_in  # noqa: E402

SLOW_PARAMETERS = ("bcells.b_half_life_days", "bcells.plasma_half_life_days", "bcells.antibody_half_life_days",
                   "tcells.naive_half_life_days", "tcells.treg_half_life_days")
"""Parameters whose compartments equilibrate slowest (half-lives of weeks to months)."""
OBSERVABLES = ("tissue_b", "tissue_plasma", "autoantibody", "tissue_treg", "tissue_th17", "blood_treg_pct")


def plausible(path: str) -> tuple[float, float]:
    section, key = path.split(".")
    field = type(getattr(Biology(), section)).model_fields[key]
    lo, hi = field.json_schema_extra["plausible"]
    return float(lo), float(hi)


def burned(overrides: dict, seed: int, mode: str, days: float) -> dict[str, float]:
    scenario = load(REPO / "configs" / "default_trial.yaml", overrides={
        **overrides, "seed": seed, "simulation": {"burn_in_mode": mode, "burn_in_days": days}})
    return burn_in.observe(run_burn_in(scenario))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--settled-days", type=float, default=90.0)
    parser.add_argument("--reference-days", type=float, default=400.0)
    parser.add_argument("--quick", action="store_true", help="defaults only, 2 seeds, a 200-day reference")
    args = parser.parse_args(argv)
    seeds = 2 if args.quick else args.seeds
    reference = 200.0 if args.quick else args.reference_days
    settings: list[tuple[str, dict]] = [("defaults", {})]
    if not args.quick:
        for path in SLOW_PARAMETERS:
            section, key = path.split(".")
            for end, value in zip(("low", "high"), plausible(path), strict=True):
                settings.append((f"{path}={value:g} ({end})", {"biology": {section: {key: value}}}))
    print(f"mean over {seeds} seeds relative to a {reference:g}-day fixed burn-in: (short - reference) / "
          f"reference, +- standard error; settled = {args.settled_days:g} days")
    print(f"{'setting':48s} {'burn-in':>12s} " + " ".join(f"{o:>16s}" for o in OBSERVABLES))
    for label, overrides in settings:
        ref = [burned(overrides, s, "fixed", reference) for s in range(1, seeds + 1)]
        for name, mode, days in (("settled", "settled", args.settled_days), ("fixed 120", "fixed", 120.0)):
            short = [burned(overrides, s, mode, days) for s in range(1, seeds + 1)]
            cells = []
            for o in OBSERVABLES:
                r = np.array([x[o] for x in ref])
                d = np.array([x[o] for x in short]) - r
                scale = max(abs(r.mean()), 1e-12)
                se = np.sqrt(np.var([x[o] for x in short], ddof=1) / seeds + r.var(ddof=1) / seeds) / scale
                cells.append(f"{d.mean() / scale:+7.1%} ±{se:5.1%}")
            print(f"{label:48s} {name:>12s} " + " ".join(f"{c:>16s}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
