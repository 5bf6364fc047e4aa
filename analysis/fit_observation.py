"""Fit the SLEDAI-2K law of the observation layer on stored trial trajectories (docs/clinical.md).

    python analysis/fit_observation.py runs/trials-calibrated/batches

Fit rows (the honesty rule: baselines and at most one treated time point per study): the baseline SLEDAI-2K
of Liu 2011 (10.4 +/- 0.9, the baseline of LIU11-SLEDAI-90, scored on the untreated arm at day 0) and
LIU11-SLEDAI-90 (7.8 +/- 1.2 in the MSC arm at day 90).  Fitted: ``observation.manifestations.threshold``
and ``.spread``.  Every other SLEDAI, DAS28 and activity row validates.  The trajectories are not re-simulated:
the observation layer reads recorded columns only.
"""

from __future__ import annotations

import argparse

from abm.experiments.calibrate.observation import Target, fit
from abm.experiments.trials.compare import load_sources

SCENARIO = "trial-sle-ucmsc-single"
TARGETS = (
    Target("LIU11-SLEDAI-90 (baseline)", "untreated", 0.0, "sledai2k_expected", 10.4, 0.9),
    Target("LIU11-SLEDAI-90", "msc", 90.0, "sledai2k_expected", 7.8, 1.2),
)
KEYS = ("manifestations.threshold", "manifestations.spread")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trials", help="a trials batch folder (abm trials OUT/batches)")
    args = parser.parse_args()
    source = next((s for s in load_sources(args.trials) if s.label == SCENARIO), None)
    if source is None:
        raise SystemExit(f"{args.trials}: no {SCENARIO} batch (run `abm trials` first)")
    values = fit(source.frame, source.scenario, TARGETS, KEYS, start=(1.0, 0.2), bounds=((0.3, 0.02), (2.0, 1.0)),
                 histories=source.histories)
    known = sum(h is not None for h in source.histories.values())
    print(f"burn-in histories found for {known} of {len(source.histories)} runs (the recall windows reach "
          "before day 0 only for those)")
    n_runs = source.frame["run_id"].nunique()
    print(f"fitted on {n_runs} runs of {SCENARIO} ({args.trials}); targets:")
    for t in TARGETS:
        print(f"  {t.finding_id}: {t.column} of arm {t.arm} at day {t.day:g} = {t.value} +/- {t.sd}")
    for key, value in values.items():
        print(f"  observation.{key}: {value:.4g}" if key != "cost" else f"  residual cost: {value:.3g}")


if __name__ == "__main__":
    main()
