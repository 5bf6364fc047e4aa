"""Approximate Bayesian computation (ABC-SMC, pyABC) of model parameters against the findings file.

``abm calibrate SPEC``: see docs/calibrate.md.  :func:`abm.calibrate.pipeline.run_calibration` is the entry point.
"""

from abm.calibrate.spec import CalibrationSpec, load_calibration_spec

__all__ = ["CalibrationSpec", "load_calibration_spec"]
