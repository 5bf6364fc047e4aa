"""Approximate Bayesian computation (ABC-SMC, pyABC) of model parameters against the findings file.

``abm calibrate SPEC``: see docs/calibrate.md.  :func:`abm.experiments.calibrate.pipeline.run_calibration` is
the entry point.
"""

from abm.experiments.calibrate.spec import CalibrationSpec, load_calibration_spec

__all__ = ["CalibrationSpec", "load_calibration_spec"]
