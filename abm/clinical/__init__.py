"""The observation layer: clinical read-outs computed from the model's state (model surrogates).

The simulation never reads these numbers; they are observations of its trajectories, as a clinic would
take them: biomarkers with their own kinetics and assay noise (:mod:`abm.clinical.biomarkers`), disease
activity indices built from them (:mod:`abm.clinical.indices`), trial events at visits
(:mod:`abm.clinical.events`) and the step that adds them to a trajectory (:mod:`abm.clinical.observe`).
Every number here is a **model surrogate** of the clinical measure of the same name, not a prediction of it.
"""

from abm.clinical.observe import COLUMNS, SURROGATE, observe

__all__ = ["COLUMNS", "SURROGATE", "observe"]
