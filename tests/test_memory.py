"""Memory: models are released when dropped, and batch runs never build Mesa's per-voxel grid."""

import copyreg
import gc
import weakref

import numpy as np

from abm.config import validate_dict
from abm.model import MSCModel


def _scenario():
    return validate_dict({"tissue": {"width_voxels": 12, "height_voxels": 12}})


def test_models_are_released():
    """Building many models (as a batch worker does) must not keep their grids alive, even once built."""
    scenario = _scenario()
    before = len(copyreg.dispatch_table)
    models = [MSCModel(scenario, rng=i) for i in range(3)]
    for m in models:
        assert m.grid is not None  # build the lazy grid too: its copyreg entry must not stay behind
    refs = [weakref.ref(m.space.fields) for m in models]
    del models, m
    gc.collect()
    assert len(copyreg.dispatch_table) == before
    assert all(r() is None for r in refs)


def test_the_grid_is_built_only_when_asked_for_and_changes_nothing():
    """A run steps without Mesa's grid; asking for it mid-run publishes the fields and leaves the run as it was."""
    scenario = _scenario()
    plain, viewed = MSCModel(scenario, rng=7), MSCModel(scenario, rng=7)
    for _ in range(5):
        plain.step()
        viewed.step()
    assert not plain.space.grid_built
    layers = viewed.grid and viewed.space.layers
    assert viewed.space.grid_built
    for i, name in enumerate(viewed.space.field_names):
        np.testing.assert_array_equal(layers[name].data, viewed.space.fields[i])
    for _ in range(5):
        plain.step()
        viewed.step()
    np.testing.assert_array_equal(plain.space.fields, viewed.space.fields)
    for pop in ("tcells", "macrophages", "bcells"):
        np.testing.assert_array_equal(getattr(plain, pop).x, getattr(viewed, pop).x)
    viewed.space.publish_fields()
    np.testing.assert_array_equal(viewed.space.layers["infl"].data, viewed.space.fields[-1])
