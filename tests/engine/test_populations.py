"""Population: struct-of-arrays bookkeeping (add, remove, growth, write-through, round-trip)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.engine.populations import Population


def small(capacity: int = 2) -> Population:
    return Population("cells", {"x": np.int32, "state": np.int8, "age_h": np.float64,
                                "flag": np.bool_}, capacity=capacity)


def test_add_appends_in_order_and_grows_capacity():
    pop = small(capacity=2)
    pop.add(x=np.arange(3), state=np.array([0, 1, 2]), age_h=1.5)
    pop.add(x=np.arange(3, 40), state=1)
    pop.add(x=99)  # scalars only: one cell
    assert pop.n == len(pop) == 41
    assert pop.x.tolist() == [*range(40), 99]
    assert pop.state[:4].tolist() == [0, 1, 2, 1]
    assert pop.age_h[:3].tolist() == [1.5] * 3
    assert np.all(pop.age_h[3:] == 0.0)  # columns not given are zero
    assert not pop.flag.any()
    assert pop.x.dtype == np.int32 and pop.state.dtype == np.int8
    assert pop.count(1) == 38


def test_add_nothing_and_bad_input():
    pop = small()
    pop.add(x=np.zeros(0, np.int32), state=np.zeros(0, np.int8), age_h=0.0)
    assert pop.n == 0
    with pytest.raises(ValueError):
        pop.add(x=np.arange(3), state=np.arange(2))
    with pytest.raises(KeyError):
        pop.add(x=np.arange(2), colour=np.arange(2))
    assert pop.n == 0


def test_remove_keeps_the_order_of_survivors():
    pop = small()
    pop.add(x=np.arange(10), state=np.arange(10) % 3, age_h=np.arange(10) * 0.5)
    dead = np.isin(np.arange(10), [0, 3, 4, 9])
    pop.remove(dead)
    assert pop.x.tolist() == [1, 2, 5, 6, 7, 8]
    assert pop.state.tolist() == [1, 2, 2, 0, 1, 2]
    assert pop.age_h.tolist() == [0.5, 1.0, 2.5, 3.0, 3.5, 4.0]
    pop.remove(np.zeros(pop.n, bool))
    assert pop.n == 6
    pop.remove(np.ones(pop.n, bool))
    assert pop.n == 0 and pop.x.size == 0


def test_column_assignment_writes_through():
    pop = small()
    pop.add(x=np.arange(5), age_h=1.0)
    pop.age_h += 1  # the idiom the rules use
    assert pop.age_h.tolist() == [2.0] * 5
    pop.state[[1, 3]] = 2  # in-place on the live view
    assert pop.count(2) == 2
    pop.x = pop.x[::-1].copy()  # whole-column assignment
    assert pop.x.tolist() == [4, 3, 2, 1, 0]
    pop.flag = True  # broadcast
    assert pop.flag.all()
    pop.add(x=7)  # the new cell starts from zeros, not from the broadcast
    assert pop.flag.tolist() == [True] * 5 + [False]
    assert pop.age_h[-1] == 0.0


def test_live_views_only_show_n_cells():
    pop = small(capacity=16)
    pop.add(x=np.arange(4))
    assert pop.x.size == 4
    pop.remove(np.array([True, False, False, False]))
    assert pop.x.tolist() == [1, 2, 3]
    with pytest.raises(AttributeError):
        _ = pop.no_such_column


def test_arrays_round_trip_and_are_copies():
    pop = small()
    pop.add(x=np.arange(20), state=np.arange(20) % 3, age_h=np.linspace(0, 5, 20),
            flag=np.arange(20) % 2 == 0)
    saved = pop.arrays()
    assert set(saved) == set(pop.columns)
    saved["x"][:] = -1  # a copy: the population is untouched
    assert pop.x.tolist() == list(range(20))
    saved = pop.arrays()

    other = small(capacity=1)
    other.add(x=np.arange(3))
    other.load_arrays(saved)
    assert other.n == 20
    for key, arr in saved.items():
        np.testing.assert_array_equal(getattr(other, key), arr)
        assert getattr(other, key).dtype == arr.dtype
    other.add(x=100)  # still usable after a load
    assert other.n == 21 and other.x[-1] == 100
    np.testing.assert_array_equal(other.x[:20], saved["x"])

    empty = small()
    empty.load_arrays({k: v[:0] for k, v in saved.items()})
    assert empty.n == 0
    with pytest.raises(ValueError):
        other.load_arrays({"x": saved["x"]})


OPS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 40)),
    st.tuples(st.just("remove"), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("age"), st.floats(0.0, 5.0)),
    st.tuples(st.just("reload"), st.integers(1, 8)),
), max_size=30)


@settings(max_examples=150, deadline=None)
@given(ops=OPS, capacity=st.integers(1, 8))
def test_population_matches_a_list_model(ops, capacity):
    """Any sequence of births, deaths, ageing and reloads matches a plain list of records."""
    pop = Population("p", {"cid": np.int64, "age_h": np.float64}, capacity=capacity)
    model: list[list[float]] = []  # [cid, age]
    next_id = 0
    for op, arg in ops:
        if op == "add":
            ids = np.arange(next_id, next_id + arg)
            next_id += arg
            pop.add(cid=ids, age_h=0.0)
            model += [[int(i), 0.0] for i in ids]
        elif op == "remove":
            dead = np.random.default_rng(arg).random(pop.n) < 0.4
            pop.remove(dead)
            model = [row for row, d in zip(model, dead, strict=True) if not d]
        elif op == "age":
            pop.age_h += arg
            for row in model:
                row[1] += arg
        else:
            fresh = Population("p", {"cid": np.int64, "age_h": np.float64}, capacity=arg)
            fresh.load_arrays(pop.arrays())
            pop = fresh
        assert pop.n == len(model)
        assert pop.cid.tolist() == [row[0] for row in model]
        np.testing.assert_allclose(pop.age_h, [row[1] for row in model])
