"""Global sensitivity analysis (SALib Morris screening and Sobol indices) over model parameters.

A spec (YAML) names the parameters (bounds default to the parameter table's plausible ranges),
the method, the sample size and the outputs.  SALib's samples become explicit sweep points of a
batch, so local, Dask and SLURM backends, resume and shards work as for any batch; the summary
outputs are analysed in sample order.  See docs/sensitivity.md.
"""

from abm.experiments.sensitivity.functions import FUNCTIONS, TestFunction, ishigami, ishigami_indices, register
from abm.experiments.sensitivity.pipeline import SensitivityResult, plan, run_sensitivity
from abm.experiments.sensitivity.problem import Problem, resolve_problem
from abm.experiments.sensitivity.spec import Output, Parameter, SensitivitySpec, load_sensitivity_spec

__all__ = ["FUNCTIONS", "Output", "Parameter", "Problem", "SensitivityResult", "SensitivitySpec", "TestFunction",
           "ishigami", "ishigami_indices", "load_sensitivity_spec", "plan", "register", "resolve_problem",
           "run_sensitivity"]
