"""The compiled kernels against their numpy twins: same inputs and seed -> same outputs and the same random
stream afterwards (so a compiled step stays paired with the numpy step, draw for draw)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.config import MEDIATORS
from abm.engine import hazards, jit, kernels
from abm.engine.populations import Population
from abm.engine.space import TissueSpace

pytestmark = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed here")

SEED = st.integers(0, 2**32 - 1)


def _same_stream(a: np.random.Generator, b: np.random.Generator) -> bool:
    return a.bit_generator.state == b.bit_generator.state


def _spaces(width: int, height: int, fill: float, seed: int) -> tuple[TissueSpace, TissueSpace, Population,
                                                                      Population]:
    """Twin spaces (numpy, compiled) with the same cells at density ``fill``."""
    rng = np.random.default_rng(seed)
    out = []
    pick = rng.choice(width * height, size=int(fill * width * height), replace=False)
    for compiled in (False, True):
        space = TissueSpace(width, height, 20.0, MEDIATORS, compiled=compiled)
        pop = Population("cells", {"x": np.int32, "y": np.int32}, capacity=4)
        x, y = (pick // height).astype(np.int32), (pick % height).astype(np.int32)
        pop.add(x=x, y=y)
        space.claim(x, y)
        out.append((space, pop))
    (s0, p0), (s1, p1) = out
    return s0, s1, p0, p1


@settings(max_examples=40, deadline=None)
@given(seed=SEED, n=st.integers(0, 300), fates=st.integers(1, 5), scale=st.sampled_from([1e-4, 0.05, 1.0, 20.0]))
def test_competing_fates_twin(seed, n, fates, scale):
    rng = np.random.default_rng(seed)
    rates = rng.exponential(scale, (fates, n)) * (rng.random((fates, n)) < 0.7)
    a, b = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    if n == 0:
        return
    want = hazards.competing_fates(list(rates), n, 2.0, a)
    np.testing.assert_array_equal(kernels.competing_fates(rates, 2.0, b), want)
    assert _same_stream(a, b)


@settings(max_examples=30, deadline=None)
@given(seed=SEED, m=st.integers(0, 2000))
def test_permutation_is_numpys(seed, m):
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    np.testing.assert_array_equal(kernels.permutation(m, b), a.permutation(m))
    assert _same_stream(a, b)


@settings(max_examples=40, deadline=None)
@given(seed=SEED, width=st.integers(2, 30), height=st.integers(2, 30), fill=st.floats(0.0, 0.95),
       sigma=st.sampled_from([0.0, 0.3, 1.0, 4.0, 50.0]))
def test_jump_twin(seed, width, height, fill, sigma):
    s0, s1, p0, p1 = _spaces(width, height, fill, seed)
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    assert s0.jump(p0, sigma, a) == s1.jump(p1, sigma, b)
    np.testing.assert_array_equal(p0.x, p1.x)
    np.testing.assert_array_equal(p0.y, p1.y)
    np.testing.assert_array_equal(s0.occupied, s1.occupied)
    assert not s1.seen.any()
    assert _same_stream(a, b)


@settings(max_examples=40, deadline=None)
@given(seed=SEED, width=st.integers(2, 30), height=st.integers(2, 30), fill=st.floats(0.0, 0.95),
       mothers=st.floats(0.0, 1.0))
def test_daughter_sites_twin(seed, width, height, fill, mothers):
    s0, s1, p0, _ = _spaces(width, height, fill, seed)
    pick = np.flatnonzero(np.random.default_rng(seed).random(p0.n) < mothers)
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    got0 = s0.daughter_sites(p0.x[pick], p0.y[pick], a)
    got1 = s1.daughter_sites(p0.x[pick], p0.y[pick], b)
    for u, v in zip(got0, got1, strict=True):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(s0.occupied, s1.occupied)
    assert _same_stream(a, b)


@settings(max_examples=60, deadline=None)
@given(seed=SEED, width=st.integers(1, 25), height=st.integers(1, 25), fill=st.floats(0.0, 1.0),
       k=st.integers(0, 700))
def test_random_free_twin_including_a_nearly_full_patch(seed, width, height, fill, k):
    s0, s1, _, _ = _spaces(width, height, fill, seed)
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    x0, y0 = s0.random_free(k, a)
    x1, y1 = s1.random_free(k, b)
    np.testing.assert_array_equal(x0, x1)
    np.testing.assert_array_equal(y0, y1)
    assert x1.dtype == np.int32 and not s1.seen.any()
    assert _same_stream(a, b)


@settings(max_examples=40, deadline=None)
@given(seed=SEED, width=st.integers(1, 30), height=st.integers(1, 30), fill=st.floats(0.0, 1.0),
       radius=st.integers(0, 3))
def test_neighbour_grid_twin(seed, width, height, fill, radius):
    s0, s1, p0, _ = _spaces(width, height, fill, seed)
    got = s1.neighbour_grid(p0.x, p0.y, radius)
    np.testing.assert_array_equal(got, s0.neighbour_grid(p0.x, p0.y, radius))
    assert got.dtype == np.int16


def test_compaction_keeps_the_survivors_in_order():
    dead = np.array([False, True, True, False, False, True])
    keep = kernels.kept(dead)
    column = np.arange(10.0)
    kernels.compact(column, keep)
    np.testing.assert_array_equal(column[: keep.size], [0.0, 3.0, 4.0])
