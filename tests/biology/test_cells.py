"""The cell-type table (abm.biology.cells): populations, state codes, columns, palette, secretion rows."""

from __future__ import annotations

import re

import numpy as np
import pytest

from abm.biology import cells
from abm.biology.parameters import SecretionTable
from abm.biology.rules import bcells, macrophages, msc, tcells
from abm.config import validate_dict
from abm.model import MSCModel
from abm.record import snapshot


@pytest.mark.parametrize("ct", cells.CELL_TYPES, ids=lambda c: c.key)
def test_population_has_position_state_markers_and_columns(ct):
    pop = ct.population()
    assert pop.name == ct.key and pop.n == 0
    assert {"x", "y", "state", *(m.key for m in ct.markers), *ct.columns} == set(pop.columns)
    pop.add(x=np.array([1, 2]), y=np.array([3, 4]), state=1)
    assert pop.x.dtype == np.int32 and pop.state.dtype == np.int8 and pop.count(1) == 2


def test_rule_state_codes_come_from_the_table():
    assert (tcells.NAIVE, tcells.TH17, tcells.TREG, tcells.ITREG, tcells.TR1) == (0, 1, 2, 3, 4)
    assert cells.MACROPHAGES.codes("m1", "m2") == (macrophages.M1, macrophages.M2)
    assert cells.BCELLS.codes("b", "plasma") == (bcells.B, bcells.PLASMA)
    assert cells.MSC.codes("resting", "licensed", "apoptotic") == (msc.RESTING, msc.LICENSED, msc.APOPTOTIC)
    with pytest.raises(KeyError, match="tcells has no state 'th2'"):
        cells.TCELLS.code("th2")


def test_every_secretion_row_names_an_entry_of_the_parameter_table_and_a_source():
    entries = set(SecretionTable.model_fields)
    used = [row.secretes for _, row in cells.secreting()]
    assert set(used) == entries, "every secretion entry is used by exactly the table's rows"
    assert len(used) == len(set(used))
    for _, row in cells.secreting():
        assert re.search(r"\d{4}", row.source), f"{row.key}: secretion without a citation"


def test_one_palette_and_unique_labels_and_columns():
    rows = [r for ct in cells.CELL_TYPES for r in (*ct.states, *ct.markers)]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", r.colour) for r in rows)
    for attr in ("label", "column", "colour"):
        values = [getattr(r, attr) for r in rows]
        assert len(values) == len(set(values)), f"duplicate {attr}"


def test_recorded_counts_are_named_by_the_table_and_add_up():
    model = MSCModel(validate_dict({"tissue": {"width_voxels": 12, "height_voxels": 12}}), rng=1)
    model.step()
    row = snapshot(model, model.events)
    for ct in cells.CELL_TYPES:
        pop = getattr(model, ct.key)
        assert sum(row[s.column] for s in ct.states) == pop.n
        for i, s in enumerate(ct.states):
            assert row[s.column] == pop.count(i)
        for m in ct.markers:
            assert row[m.column] == int(getattr(pop, m.key).sum())


def test_categories_give_markers_precedence_over_states():
    pop = cells.MACROPHAGES.population()
    pop.add(x=np.arange(3), y=np.zeros(3, int), state=np.array([0, 1, 1]), ido_pos=np.array([False, False, True]))
    cats = cells.immune_categories()
    labels = [cats[i].label for i in cells.categories_of(cells.MACROPHAGES, pop)]
    assert labels == ["M1 macrophage", "M2 macrophage", "IDO+ phagocyte"]
