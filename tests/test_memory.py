"""Memory: models are released when dropped."""


def test_models_are_released():
    """Building many models (as a batch worker does) must not keep their grids alive."""
    import copyreg
    import gc
    import weakref

    from abm.config import validate_dict
    from abm.model import MSCModel

    scenario = validate_dict({"tissue": {"width_voxels": 12, "height_voxels": 12}})
    before = len(copyreg.dispatch_table)
    refs = [weakref.ref(MSCModel(scenario, rng=i).space.fields) for i in range(3)]
    gc.collect()
    assert len(copyreg.dispatch_table) == before
    assert all(r() is None for r in refs)
