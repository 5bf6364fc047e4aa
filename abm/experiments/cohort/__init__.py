"""Virtual patients and virtual trials: ``abm cohort SPEC`` (docs/cohort.md).

A cohort samples patient-parameter vectors from priors (:mod:`.patients`), burns every patient in and
screens it against the trial's inclusion criteria on its untreated day-0 state, runs the included
patients' arms paired from their own burn-in (:mod:`.pipeline`, on the batch backends), and reads the
trial the way a clinic would (:mod:`.analyse`: response and remission rates over patients, relapse curves,
index trajectories, power, which patient parameters separate responders).  Clinical numbers are model
surrogates (:mod:`abm.clinical`).
"""

from abm.experiments.cohort.spec import CohortSpec, load_cohort_spec

__all__ = ["CohortSpec", "load_cohort_spec"]
