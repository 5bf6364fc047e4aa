"""Choosing the engine: ABM_ENGINE picks the compiled kernels or the numpy path; a bad value is refused."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from abm.cli import app
from abm.config import validate_dict
from abm.engine import jit
from abm.model import MSCModel


def test_the_default_is_compiled_where_numba_imports(monkeypatch):
    monkeypatch.delenv("ABM_ENGINE", raising=False)
    assert jit.engine() == ("compiled" if jit.numba_available() else "numpy")


def test_numpy_is_chosen_by_name_and_the_model_says_which_ran(monkeypatch):
    monkeypatch.setenv("ABM_ENGINE", "NumPy ")
    model = MSCModel(validate_dict({"tissue": {"width_voxels": 12, "height_voxels": 12}}), rng=1)
    assert model.engine == "numpy" and not model.space.compiled and model.programs == {}


def test_a_bad_engine_is_refused_with_the_allowed_values(monkeypatch):
    monkeypatch.setenv("ABM_ENGINE", "gpu")
    with pytest.raises(ValueError, match="ABM_ENGINE='gpu'.*compiled, numpy"):
        jit.engine()
    res = CliRunner().invoke(app, ["validate"])
    assert res.exit_code == 2 and res.stderr.startswith("error: ABM_ENGINE='gpu'")
    assert "Traceback" not in res.output
