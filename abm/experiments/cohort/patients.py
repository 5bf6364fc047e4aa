"""Virtual patients: parameter vectors sampled from priors, trait seeds, posterior draws.

Three kinds of variation are kept apart by construction (Marino S 2008 J Theor Biol):

* **patient** (inter-individual): the sampled parameter vector and the patient's ``trait_seed`` (which signs
  and joints its disease shows, :mod:`abm.clinical.observe`);
* **posterior draw** (epistemic): parameter sets resampled from a calibration posterior, crossed with every
  patient;
* **seed** (aleatory): ``replicates`` simulation seeds per patient, from the patient's own root seed
  (``run_seed``; the batch layer's ``point_seeds``), shared by its arms and its posterior draws (paired), not
  by other patients: two patients never share their stochastic course or their assay noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri
from scipy.stats import qmc

from abm.config import ConfigError
from abm.experiments.cohort.spec import CohortSpec, Prior

SAMPLER_KEY, TRAIT_KEY, POSTERIOR_KEY, BOOTSTRAP_KEY, RUN_SEED_KEY, SELECT_KEY = 0, 1, 2, 3, 4, 5
"""Spawn keys under the cohort seed: patient sampler, trait seeds, posterior resampling, bootstrap, run seeds,
baseline selection."""


def stream(seed: int, key: int) -> np.random.Generator:
    """The cohort's independent random stream number ``key``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def quantile(prior: Prior, u: np.ndarray) -> np.ndarray:
    """The prior's quantile function at unit-interval points ``u`` (clipped to low/high where given)."""
    u = np.clip(np.asarray(u, float), 1e-12, 1 - 1e-12)
    if prior.distribution == "lognormal":
        x = prior.median * np.exp(prior.sd_log * ndtri(u))
    elif prior.distribution == "normal":
        x = prior.mean + prior.sd * ndtri(u)
    elif prior.distribution == "uniform":
        x = prior.low + u * (prior.high - prior.low)
    else:
        x = np.exp(np.log(prior.low) + u * (np.log(prior.high) - np.log(prior.low)))
    lo = prior.low if prior.low is not None else -np.inf
    hi = prior.high if prior.high is not None else np.inf
    return np.clip(x, lo, hi)


def sample(spec: CohortSpec, integer_keys: set[str] = frozenset()) -> pd.DataFrame:
    """One row per virtual patient: ``patient`` id, ``trait_seed``, ``run_seed`` and every prior's key path.

    Latin-hypercube in the unit cube (scipy ``qmc``), mapped through each prior's quantile function, so the
    marginals are the priors and the patients fill the space evenly.
    """
    keys = list(spec.priors)
    unit = qmc.LatinHypercube(d=len(keys), rng=stream(spec.seed, SAMPLER_KEY)).random(spec.patients)
    table = pd.DataFrame({"patient": np.arange(spec.patients)})
    traits = np.random.SeedSequence(spec.seed, spawn_key=(TRAIT_KEY,)).generate_state(spec.patients)
    table["trait_seed"] = traits.astype(np.int64)
    runs = np.random.SeedSequence(spec.seed, spawn_key=(RUN_SEED_KEY,)).generate_state(spec.patients)
    table["run_seed"] = runs.astype(np.int64)
    for j, key in enumerate(keys):
        values = quantile(spec.priors[key], unit[:, j])
        table[key] = np.rint(values).astype(int) if key in integer_keys else values
    return table


def check_keys(spec: CohortSpec, base: dict[str, Any]) -> set[str]:
    """Raise ConfigError for a prior key that is no numeric scenario parameter; return the integer ones."""
    from abm.config.table import is_integer_valued, parameter_table, varied_parameter

    table = parameter_table(base)
    integer = set()
    for key in spec.priors:
        if key.split(".")[0] not in ("disease", "patient", "biology"):
            raise ConfigError(f"priors: {key}: a patient parameter is a disease.*, patient.* or biology.* key path")
        _, default, _, _ = varied_parameter(table, key, (-np.inf, np.inf))
        if is_integer_valued(default):
            integer.add(key)
    return integer


def posterior_draws(spec: CohortSpec, spec_dir: Path) -> pd.DataFrame:
    """``draws`` parameter sets resampled by weight from the posterior file (one row each; empty without one).

    Only parameters the burn-in never reads (``abm.run.TREATMENT_ONLY_KEYS``) may come from a posterior, so
    screening (on the untreated day-0 state) stays a property of the patient, not of the draw.
    """
    if spec.posterior is None:
        return pd.DataFrame(index=pd.RangeIndex(1, name="draw"))
    from abm.run import TREATMENT_ONLY_KEYS

    path = (spec_dir / spec.posterior.file).resolve()
    if not path.is_file():
        raise ConfigError(f"posterior.file: no such file {path}")
    frame = pd.read_csv(path)
    if "weight" not in frame.columns or len(frame.columns) < 2:
        raise ConfigError(f"posterior.file {path}: needs a weight column and parameter key-path columns "
                          f"(posterior.csv of abm calibrate); has {list(frame.columns)}")
    keys = [c for c in frame.columns if c != "weight"]
    burn_in_read = [k for k in keys if not any(k == t or k.startswith(t + ".") for t in TREATMENT_ONLY_KEYS)]
    if burn_in_read:
        raise ConfigError(f"posterior.file: {burn_in_read} are read by the burn-in; a cohort draws only "
                          "treatment-only parameters from a posterior (abm.run.TREATMENT_ONLY_KEYS), so that "
                          "screening belongs to the patient")
    overlap = set(keys) & set(spec.priors)
    if overlap:
        raise ConfigError(f"posterior.file: {sorted(overlap)} also have a patient prior; give each key one role")
    w = frame["weight"].to_numpy(float)
    pick = stream(spec.seed, POSTERIOR_KEY).choice(len(frame), size=spec.posterior.draws, p=w / w.sum())
    out = frame.loc[pick, keys].reset_index(drop=True)
    out.index.name = "draw"
    return out
