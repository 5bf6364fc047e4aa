"""TissueSpace: volume exclusion, jumps, daughters, free voxels and neighbourhood counts."""

from __future__ import annotations

import functools
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.config import MEDIATORS
from abm.engine.populations import Population
from abm.engine.space import TissueSpace

SIZE = st.integers(4, 30)
SEED = st.integers(0, 2**32 - 1)


@functools.cache
def _space(width: int, height: int) -> TissueSpace:
    return TissueSpace(width, height, 20.0, MEDIATORS, random=random.Random(0))


def make_space(width: int, height: int) -> TissueSpace:
    """An empty space (cached per size: building the Mesa grid dominates the cost)."""
    space = _space(width, height)
    space.occupied[:] = False
    return space


def scatter(space: TissueSpace, n: int, rng: np.random.Generator, name: str = "cells"
            ) -> Population:
    """A population of ``n`` cells on distinct free voxels (claimed), each with a unique id."""
    free = np.flatnonzero(~space.occupied.ravel())
    pick = rng.choice(free, size=min(n, free.size), replace=False)
    pop = Population(name, {"x": np.int32, "y": np.int32, "cid": np.int64}, capacity=4)
    x, y = (pick // space.height).astype(np.int32), (pick % space.height).astype(np.int32)
    pop.add(x=x, y=y, cid=np.arange(x.size) + 1000 * len(name))
    space.claim(x, y)
    return pop


def occupancy_from(space: TissueSpace, *pops: Population) -> np.ndarray:
    occ = np.zeros((space.width, space.height), int)
    for pop in pops:
        np.add.at(occ, (pop.x, pop.y), 1)
    return occ


def assert_exclusive_and_consistent(space: TissueSpace, *pops: Population) -> None:
    for pop in pops:
        assert np.all((pop.x >= 0) & (pop.x < space.width)), pop.name
        assert np.all((pop.y >= 0) & (pop.y < space.height)), pop.name
    occ = occupancy_from(space, *pops)
    assert occ.max(initial=0) <= 1, "two cells share a voxel"
    np.testing.assert_array_equal(space.occupied, occ == 1)


# --------------------------------------------------------------------------- jump
@settings(max_examples=120, deadline=None)
@given(width=SIZE, height=SIZE, density=st.floats(0.0, 0.9), share=st.floats(0.0, 1.0),
       sigma=st.floats(0.0, 10.0), seed=SEED, rounds=st.integers(1, 3))
def test_jump_conserves_cells_and_keeps_exclusion(width, height, density, share, sigma, seed,
                                                  rounds):
    space = make_space(width, height)
    rng = np.random.default_rng(seed)
    n = int(round(density * width * height))
    a = scatter(space, int(round(share * n)), rng, "a")
    b = scatter(space, n - a.n, rng, "b")  # a second population sharing the grid
    before = {p.name: (p.x.copy(), p.y.copy(), p.cid.copy()) for p in (a, b)}
    for _ in range(rounds):
        for pop in (a, b):
            occupied_before = space.occupied.copy()
            x0, y0 = pop.x.copy(), pop.y.copy()
            moved = space.jump(pop, sigma, rng)
            changed = (pop.x != x0) | (pop.y != y0)
            assert moved == int(changed.sum())
            # a mover lands only on a voxel that was free before the jump
            assert not occupied_before[pop.x[changed], pop.y[changed]].any()
            assert_exclusive_and_consistent(space, a, b)
    for pop in (a, b):
        x0, y0, cid0 = before[pop.name]
        assert pop.n == x0.size  # conserved
        np.testing.assert_array_equal(pop.cid, cid0)  # identities and order kept


def test_jump_without_motility_moves_nothing():
    space = make_space(10, 12)
    pop = scatter(space, 40, np.random.default_rng(0))
    x0, y0 = pop.x.copy(), pop.y.copy()
    assert space.jump(pop, 0.0, np.random.default_rng(1)) == 0
    np.testing.assert_array_equal(pop.x, x0)
    np.testing.assert_array_equal(pop.y, y0)


def test_jump_on_a_full_grid_moves_nothing():
    space = make_space(6, 5)
    pop = scatter(space, 30, np.random.default_rng(0))
    assert space.occupied.all()
    assert space.jump(pop, 3.0, np.random.default_rng(1)) == 0
    assert_exclusive_and_consistent(space, pop)


def test_jump_actually_moves_cells_on_a_sparse_grid():
    space = make_space(30, 30)
    pop = scatter(space, 50, np.random.default_rng(0))
    assert space.jump(pop, 2.0, np.random.default_rng(1)) > 25


# --------------------------------------------------------------------------- daughters
def chebyshev(x0, y0, x1, y1) -> np.ndarray:
    return np.maximum(np.abs(x1 - x0), np.abs(y1 - y0))


@settings(max_examples=120, deadline=None)
@given(width=SIZE, height=SIZE, density=st.floats(0.0, 1.0), mothers=st.floats(0.0, 1.0),
       seed=SEED)
def test_daughter_sites_are_free_distinct_and_adjacent(width, height, density, mothers, seed):
    space = make_space(width, height)
    rng = np.random.default_rng(seed)
    pop = scatter(space, int(round(density * width * height)), rng)
    k = int(round(mothers * pop.n))
    idx = np.sort(rng.choice(pop.n, size=k, replace=False)) if k else np.zeros(0, int)
    mx, my = pop.x[idx], pop.y[idx]
    free_before = ~space.occupied.copy()

    won, dx, dy = space.daughter_sites(mx, my, rng)

    assert won.size == dx.size == dy.size
    assert np.all(np.diff(won) > 0)  # sorted, one daughter per mother at most
    assert np.all((won >= 0) & (won < k))
    assert np.all((dx >= 0) & (dx < width) & (dy >= 0) & (dy < height))
    assert free_before[dx, dy].all()  # only previously free voxels
    assert np.unique(dx * height + dy).size == dx.size  # distinct
    assert np.all(chebyshev(mx[won], my[won], dx, dy) == 1)  # a Moore neighbour of the mother
    assert won.size <= free_before.sum()
    # the voxels are claimed, and nothing else changed
    expected = ~free_before
    expected[dx, dy] = True
    np.testing.assert_array_equal(space.occupied, expected)


def test_daughter_sites_in_corners_reflect_inside_the_grid():
    space = make_space(4, 4)
    corners = np.array([0, 0, 3, 3], np.int32), np.array([0, 3, 0, 3], np.int32)
    placed = 0
    for seed in range(40):
        space.occupied[:] = False
        space.claim(*corners)
        won, dx, dy = space.daughter_sites(*corners, np.random.default_rng(seed))
        assert np.all(chebyshev(corners[0][won], corners[1][won], dx, dy) == 1)
        placed += won.size
    assert placed > 0


def test_daughter_sites_none_when_no_free_neighbour():
    space = make_space(5, 5)
    space.occupied[:] = True
    won, dx, dy = space.daughter_sites(np.array([2], np.int32), np.array([2], np.int32),
                                       np.random.default_rng(0))
    assert won.size == dx.size == dy.size == 0
    won, dx, dy = space.daughter_sites(np.zeros(0, np.int32), np.zeros(0, np.int32),
                                       np.random.default_rng(0))
    assert won.size == 0


# --------------------------------------------------------------------------- random_free
@settings(max_examples=150, deadline=None)
@given(width=SIZE, height=SIZE, density=st.floats(0.0, 1.0), k_frac=st.floats(0.0, 1.2),
       nearly_full=st.integers(0, 3), seed=SEED)
def test_random_free_returns_distinct_free_voxels(width, height, density, k_frac, nearly_full,
                                                  seed):
    space = make_space(width, height)
    rng = np.random.default_rng(seed)
    n_vox = width * height
    n_cells = n_vox - nearly_full if density > 0.95 else int(round(density * n_vox))
    scatter(space, n_cells, rng)
    occupied = space.occupied.copy()
    n_free = int((~occupied).sum())
    k = int(round(k_frac * n_vox))

    x, y = space.random_free(k, rng)

    assert x.size == y.size == min(k, n_free)
    assert np.all((x >= 0) & (x < width) & (y >= 0) & (y < height))
    assert not occupied[x, y].any()
    assert np.unique(x * height + y).size == x.size
    np.testing.assert_array_equal(space.occupied, occupied)  # it does not claim


def test_random_free_on_a_full_grid_and_for_zero_cells():
    space = make_space(4, 6)
    rng = np.random.default_rng(0)
    assert space.random_free(0, rng)[0].size == 0
    space.occupied[:] = True
    assert space.random_free(5, rng)[0].size == 0
    space.occupied[2, 3] = False
    x, y = space.random_free(5, rng)
    assert (x.tolist(), y.tolist()) == ([2], [3])


@pytest.mark.parametrize("k", [1, 3])
def test_random_free_is_uniform_over_free_voxels(k):
    space = make_space(6, 6)
    rng = np.random.default_rng(3)
    scatter(space, 26, rng)  # 10 free voxels
    free = np.flatnonzero(~space.occupied.ravel())
    trials = 4000
    counts = np.zeros(space.width * space.height)
    for _ in range(trials):
        x, y = space.random_free(k, rng)
        counts[x * space.height + y] += 1
    p = k / free.size
    se = np.sqrt(trials * p * (1 - p))
    assert np.all(np.abs(counts[free] - trials * p) < 5 * se)
    assert counts.sum() == trials * k


# --------------------------------------------------------------------------- neighbour_grid
def brute_neighbours(width, height, x, y, r) -> np.ndarray:
    out = np.zeros((width, height), int)
    for i in range(width):
        for j in range(height):
            out[i, j] = int(np.sum((np.abs(x - i) <= r) & (np.abs(y - j) <= r)))
    return out


@settings(max_examples=100, deadline=None)
@given(width=st.integers(4, 20), height=st.integers(4, 20), n=st.integers(0, 120),
       radius=st.integers(1, 3), seed=SEED)
def test_neighbour_grid_matches_brute_force(width, height, n, radius, seed):
    space = make_space(width, height)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, width, n).astype(np.int32)  # duplicates allowed: counts add up
    y = rng.integers(0, height, n).astype(np.int32)
    got = space.neighbour_grid(x, y, radius)
    assert got.shape == (width, height)
    np.testing.assert_array_equal(got, brute_neighbours(width, height, x, y, radius))
