"""Comparison of the model with reported clinical findings (``abm/experiments/trials/data/findings.csv``).

* :mod:`abm.experiments.trials.findings` — the findings file as typed records and their model counterparts;
* :mod:`abm.experiments.trials.compare` — scoring simulated trajectories against them (``compare``), the report
  files (``write_report``);
* :mod:`abm.experiments.trials.figures` — one figure per study;
* :mod:`abm.experiments.trials.run` — running every trial batch (``configs/trials/batches/``) and comparing
  (``run_trials``).

The function ``compare`` is not re-exported here (it would hide the module ``abm.experiments.trials.compare``):
``from abm.experiments.trials.compare import compare, write_report``.  See ``docs/trials.md``.
"""

from abm.experiments.trials.findings import DEFAULT_FINDINGS, Finding, load_findings, map_measure
from abm.experiments.trials.run import run_trials, trial_specs

__all__ = ["DEFAULT_FINDINGS", "Finding", "load_findings", "map_measure", "run_trials", "trial_specs"]
