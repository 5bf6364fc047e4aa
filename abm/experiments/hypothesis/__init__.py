"""Hypothesis tests: which mechanism carries the MSC effect (blockades, factorial designs, paired by seed).

``abm hypothesis SPEC`` expands a hypothesis spec (:mod:`abm.experiments.hypothesis.spec`) into one scenario per
replicate (:mod:`abm.experiments.hypothesis.design`), runs it through the batch layer, and scores the paired
differences (:mod:`abm.experiments.common.stats`) into a table, a forest plot, trajectories and plain-language
lines (:mod:`abm.experiments.hypothesis.report`).
"""

from abm.experiments.hypothesis.report import analyse, run_hypothesis

__all__ = ["analyse", "run_hypothesis"]
