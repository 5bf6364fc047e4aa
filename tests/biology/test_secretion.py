"""Secretion (abm.biology.secretion): what the cell-type table says each state secretes reaches the fields."""

from __future__ import annotations

import numpy as np

from abm.biology import cells, secretion
from abm.biology.parameters import MEDIATORS
from abm.biology.rules import msc, tcells
from abm.biology.treatment import Blockades
from abm.config import validate_dict
from abm.model import MSCModel


def _empty_model(**over) -> MSCModel:
    model = MSCModel(validate_dict({"tissue": {"width_voxels": 10, "height_voxels": 10}, **over}), rng=2)
    for ct in cells.CELL_TYPES:
        pop = getattr(model, ct.key)
        model.space.release(pop.x, pop.y)
        pop.remove(np.ones(pop.n, bool))
    return model


def test_one_treg_secretes_its_row_on_top_of_the_background():
    model = _empty_model()
    model.tcells.add(x=np.array([3]), y=np.array([4]), state=tcells.TREG, age_h=0.0)
    src = secretion.tissue_sources(model)
    rates = secretion.vector(model.bio.secretion.treg)
    background = np.zeros(len(MEDIATORS))
    background[MEDIATORS.index("infl")] = model.disease.inflammatory_tone
    background[MEDIATORS.index("il6")] = model.disease.il6_tone
    np.testing.assert_allclose(src[:, 3, 4], background + rates)
    np.testing.assert_allclose(src[:, 0, 0], background)


def test_msc_secretion_is_weighted_by_potency_and_a_blockade_removes_its_field():
    model = _empty_model()
    model.msc.add(x=np.array([1, 2]), y=np.array([1, 1]), state=msc.LICENSED, potency=np.array([1.0, 0.5]),
                  state_h=0.0)
    src = secretion.tissue_sources(model)
    pge2 = MEDIATORS.index("pge2")
    assert src[pge2, 2, 1] == 0.5 * src[pge2, 1, 1] > 0
    model.set_arm(model.arm.model_copy(update={"blockades": Blockades(cox2_inhibitor=True)}))
    assert not secretion.tissue_sources(model)[pge2].any()


def test_an_ido_positive_m2_macrophage_adds_the_phagocyte_row_to_its_own():
    model = _empty_model()
    model.macrophages.add(x=np.array([5]), y=np.array([5]), state=1, ido_pos=np.array([True]), age_h=0.0)
    src = secretion.tissue_sources(model)
    tab = model.bio.secretion
    ido = MEDIATORS.index("ido")
    assert src[ido, 5, 5] == tab.m2.ido + tab.ido_phagocyte.ido > 0


def test_the_msc_tgfb_knockdown_silences_msc_tgfb_but_not_the_hosts():
    import numpy as np

    from abm.biology import compartments, secretion
    from abm.biology.parameters import MEDIATORS
    from abm.biology.treatment import Blockades
    from abm.config import validate_dict
    from abm.model import MSCModel

    model = MSCModel(validate_dict({"tissue": {"width_voxels": 20, "height_voxels": 20}}), rng=1)
    model.msc.add(x=np.array([3]), y=np.array([3]), state=np.array([1], np.int8), potency=1.0, state_h=0.0)
    model.lung.msc_licensed = 6e7
    tgfb = MEDIATORS.index("tgfb")
    before = secretion.tissue_sources(model)[tgfb].copy()
    lung_before = compartments.systemic_levels(model).tgfb
    model.set_arm(model.arm.model_copy(update={"blockades": Blockades(msc_tgfb_knockdown=True)}))
    after = secretion.tissue_sources(model)[tgfb]
    assert after[3, 3] < before[3, 3]  # the MSC's own TGF-beta is gone
    assert after.sum() > 0  # Treg and M2 still make it
    assert compartments.systemic_levels(model).tgfb < lung_before
    assert model.secretion.msc_licensed.tgfb == 0.0 and model.secretion.treg.tgfb == model.bio.secretion.treg.tgfb
