"""Tests for the steady-state cytokine field solver (abm.engine.fields)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import k0

from abm.engine import fields
from abm.engine.fields import SteadyStateSolver


def apply_operator(c: np.ndarray, diff: np.ndarray, loss: np.ndarray, h: float) -> np.ndarray:
    """Explicit D * lap(c) - k * c with the reflecting 5-point stencil, for c of shape (F,nx,ny)."""
    p = np.pad(c, ((0, 0), (1, 1), (1, 1)), mode="edge")
    lap = (p[:, 2:, 1:-1] + p[:, :-2, 1:-1] + p[:, 1:-1, 2:] + p[:, 1:-1, :-2] - 4 * c) / h**2
    return diff[:, None, None] * lap - loss[:, None, None] * c


def test_decay_only_is_pointwise():
    rng = np.random.default_rng(1)
    loss = np.array([0.3, 2.0])
    solver = SteadyStateSolver((17, 23), 10.0, [0.0, 0.0], loss)
    s = rng.uniform(0, 5, size=(2, 17, 23))
    c = solver.solve(s)
    np.testing.assert_array_equal(c, s / loss[:, None, None])


def test_uniform_source_gives_s_over_k():
    loss = np.array([0.05, 1.0, 7.0])
    solver = SteadyStateSolver((31, 12), 15.0, [10.0, 6000.0, 1e5], loss)
    s = np.empty((3, 31, 12))
    s[:] = np.array([2.0, 0.5, 3.0])[:, None, None]
    c = solver.solve(s)
    np.testing.assert_allclose(c, s / loss[:, None, None], rtol=1e-12)


def test_mass_balance():
    rng = np.random.default_rng(2)
    loss = np.array([0.01, 0.2, 3.0])
    solver = SteadyStateSolver((40, 25), 20.0, [500.0, 6000.0, 30000.0], loss)
    s = rng.exponential(1.0, size=(3, 40, 25)) * (rng.random((3, 40, 25)) < 0.1)
    c = solver.solve(s)
    total_loss = (loss[:, None, None] * c).sum(axis=(1, 2))
    np.testing.assert_allclose(total_loss, s.sum(axis=(1, 2)), rtol=1e-10)


def test_point_source_matches_continuum_green_function():
    n, h, diff, lam = 257, 20.0, 6000.0, 150.0
    loss = diff / lam**2
    solver = SteadyStateSolver((n, n), h, [diff], [loss])
    np.testing.assert_allclose(solver.diffusion_length_um(), [lam])
    q = 4.0
    s = np.zeros((1, n, n))
    mid = n // 2
    s[0, mid, mid] = q
    c = solver.solve(s)[0]
    x = (np.arange(n) - mid) * h
    r = np.hypot(x[:, None], x[None, :])
    ring = (r >= 3 * h) & (r <= 5 * lam)
    exact = q * h**2 / (2 * np.pi * diff) * k0(r[ring] / lam)
    rel = np.abs(c[ring] - exact) / exact
    assert rel.max() < 0.03


def test_residual_of_discrete_operator():
    rng = np.random.default_rng(3)
    h = 12.5
    diff = np.array([100.0, 6000.0, 50000.0, 0.0])
    loss = np.array([0.02, 0.5, 0.1, 1.0])
    solver = SteadyStateSolver((33, 48), h, diff, loss)
    s = rng.uniform(0, 1, size=(4, 33, 48)) ** 4
    c = solver.solve(s)
    residual = apply_operator(c, diff, loss, h) + s
    assert np.linalg.norm(residual) <= 1e-9 * np.linalg.norm(s)


def test_zero_fields_are_skipped_and_out_is_filled_in_place(monkeypatch):
    rng = np.random.default_rng(4)
    diff, loss = [6000.0, 2000.0, 9000.0], [0.3, 0.1, 1.0]
    solver = SteadyStateSolver((20, 30), 20.0, diff, loss)
    s = rng.uniform(0, 1, size=(3, 20, 30))
    s[1] = 0.0
    reference = SteadyStateSolver((20, 30), 20.0, diff[::2], loss[::2]).solve(s[::2])
    transformed = []
    real_dctn = fields.fft.dctn

    def spy_dctn(x, *args, **kwargs):
        transformed.append(np.shape(x))
        return real_dctn(x, *args, **kwargs)

    monkeypatch.setattr(fields.fft, "dctn", spy_dctn)
    out = np.full((3, 20, 30), np.nan)
    result = solver.solve(s, out=out)
    assert transformed == [(2, 20, 30)]  # one batched transform of the two nonzero fields
    assert result is out
    assert np.all(out[1] == 0.0)
    np.testing.assert_allclose(out[::2], reference, rtol=1e-13, atol=0)
    assert np.all(solver.solve(np.zeros((3, 20, 30))) == 0.0)
    np.testing.assert_array_equal(solver.solve(s), out)  # scratch-buffer reuse is harmless


@settings(max_examples=60, deadline=None, database=None)
@given(
    nx=st.integers(1, 16),
    ny=st.integers(1, 16),
    h=st.floats(1.0, 50.0),
    diff=st.floats(0.0, 1e5),
    loss=st.floats(1e-3, 10.0),
    a=st.floats(0.0, 100.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_nonnegative_and_linear(nx, ny, h, diff, loss, a, seed):
    rng = np.random.default_rng(seed)
    diffs, losses = np.array([diff, diff / 3]), np.array([loss, 2 * loss])
    solver = SteadyStateSolver((nx, ny), h, diffs, losses)
    s1 = rng.exponential(1.0, size=(2, nx, ny)) * (rng.random((2, nx, ny)) < 0.3)
    s2 = rng.exponential(1.0, size=(2, nx, ny)) * (rng.random((2, nx, ny)) < 0.3)
    c1, c2, c12 = solver.solve(s1), solver.solve(s2), solver.solve(a * s1 + s2)
    # largest eigenvalue of k - D lap (1/min)
    op_norm = max(solver.denominator(f).max() for f in range(solver.n_fields))
    for s, c in ((s1, c1), (s2, c2), (a * s1 + s2, c12)):
        assert np.all(c >= 0)
        # Clipping negatives must not hide a real error: backward-error residual check (round-off
        # in c is amplified by up to op_norm, so the bound is relative to op_norm * |c| + |s|).
        residual = apply_operator(c, diffs, losses, h) + s
        scale = op_norm * np.linalg.norm(c) + np.linalg.norm(s)
        assert np.linalg.norm(residual) <= 1e-12 * scale
    expected = a * c1 + c2
    np.testing.assert_allclose(c12, expected, rtol=0, atol=1e-10 * max(expected.max(), 1e-300))


@pytest.mark.parametrize("bad_k", [0.0, -0.5])
def test_nonpositive_loss_raises_naming_field(bad_k):
    with pytest.raises(ValueError, match=rf"field 2: loss rate k = {bad_k}"):
        SteadyStateSolver((8, 8), 10.0, [1.0, 1.0, 1.0], [0.1, 0.1, bad_k])


def test_other_invalid_arguments_raise():
    with pytest.raises(ValueError, match="field 1: diffusion"):
        SteadyStateSolver((8, 8), 10.0, [1.0, -1.0], [0.1, 0.1])
    with pytest.raises(ValueError, match="voxel_um"):
        SteadyStateSolver((8, 8), 0.0, [1.0], [0.1])
    solver = SteadyStateSolver((8, 8), 10.0, [1.0], [0.1])
    with pytest.raises(ValueError, match="shape"):
        solver.solve(np.ones((1, 8, 9)))
    with pytest.raises(ValueError, match="non-negative"):
        solver.solve(-np.ones((1, 8, 8)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("zero_field", [None, 1])
def test_solving_in_the_given_sources_gives_the_same_result(dtype, zero_field):
    """``overwrite_sources=True`` (the model's in-place solve) is bit-identical to a solve from a copy."""
    rng = np.random.default_rng(3)
    solver = SteadyStateSolver((20, 14), 20.0, [300.0, 50.0, 80.0], [0.5, 0.1, 2.0], dtype=dtype)
    s = rng.uniform(0, 3, size=(3, 20, 14)).astype(dtype)
    if zero_field is not None:
        s[zero_field] = 0.0
    expected = solver.solve(s.copy())
    out = np.full_like(s, np.nan)
    got = solver.solve(s, out=out, overwrite_sources=True)
    assert got is out
    np.testing.assert_array_equal(got, expected)


# --------------------------------------------------------------------------- the coarsened field grid
def _coarse(shape, factor, diff=(6000.0, 300.0), loss=(0.06, 0.5), dtype=np.float64):
    from abm.engine.fields import CoarsenedSolver

    return CoarsenedSolver(shape, 20.0, list(diff), list(loss), factor, dtype=dtype)


@pytest.mark.parametrize("factor", [1, 2, 3])
def test_coarsened_uniform_source_gives_s_over_k(factor):
    solver = _coarse((24, 18), factor)
    s = np.full((2, 24, 18), 1.7)
    np.testing.assert_allclose(solver.solve(s), s / np.array([0.06, 0.5])[:, None, None], rtol=1e-12)


@pytest.mark.parametrize("factor", [2, 4])
def test_coarsened_solve_keeps_the_mass_balance_and_non_negativity(factor):
    """At steady state the total loss k * sum(c) equals the total source, on any grid."""
    rng = np.random.default_rng(8)
    solver = _coarse((48, 32), factor)
    s = rng.exponential(1.0, (2, 48, 32)) * (rng.random((2, 48, 32)) < 0.3)
    c = solver.solve(s)
    assert c.min() >= 0
    np.testing.assert_allclose(np.array([0.06, 0.5]) * c.sum(axis=(1, 2)), s.sum(axis=(1, 2)), rtol=1e-10)


def test_coarsened_point_source_matches_the_continuum_green_function_from_its_block_centre():
    """A source is placed at the centre of its block (half a voxel away here, with factor 2): from there the
    field follows the continuum within 3 % beyond 3 voxels.  The shift itself is the price of the option:
    about shift / diffusion length (10 um / 150 um here) of the field at the source's own distance."""
    n, h, diff, lam, factor = 256, 20.0, 6000.0, 150.0, 2
    solver = _coarse((n, n), factor, diff=(diff,), loss=(diff / lam**2,))
    q = 4.0
    s = np.zeros((1, n, n))
    mid = n // 2
    s[0, mid, mid] = q
    c = solver.solve(s)[0]
    x = (np.arange(n) - mid - 0.5) * h  # the centre of the source's 2 x 2 block
    r = np.hypot(x[:, None], x[None, :])
    ring = (r >= 3 * h) & (r <= 5 * lam)
    exact = q * h**2 / (2 * np.pi * diff) * k0(r[ring] / lam)
    assert (np.abs(c[ring] - exact) / exact).max() < 0.03


def test_coarsened_fields_of_scattered_cells_stay_close_to_the_fine_solve():
    """Sources like the model's (cells at 0.3/voxel, diffusion lengths 7.5-10 voxels): factor 2 is within a
    few per cent of the fine solve (relative L2), the figure docs/model.md quotes."""
    rng = np.random.default_rng(5)
    diff, loss = (3000.0, 6000.0), (3000.0 / 150.0**2, 6000.0 / 200.0**2)
    s = rng.exponential(1.0, (2, 100, 100)) * (rng.random((2, 100, 100)) < 0.3)
    fine = SteadyStateSolver((100, 100), 20.0, list(diff), list(loss)).solve(s)
    coarse = _coarse((100, 100), 2, diff=diff, loss=loss).solve(s)
    rel = np.linalg.norm(coarse - fine, axis=(1, 2)) / np.linalg.norm(fine, axis=(1, 2))
    assert rel.max() < 0.03


def test_coarsened_numpy_and_compiled_block_steps_agree():
    from abm.engine import fields as fmod
    from abm.engine import jit, kernels

    if not jit.numba_available():
        pytest.skip("numba is not installed here")
    rng = np.random.default_rng(2)
    src = rng.random((3, 12, 9)).astype(np.float32)
    np.testing.assert_array_equal(kernels.restrict(src, 3), fmod._restrict(src, 3))
    solver = _coarse((12, 9), 3, diff=(1.0, 2.0, 3.0), loss=(1.0, 1.0, 1.0), dtype=np.float32)
    c = rng.random((3, 4, 3)).astype(np.float32)
    a, b = np.empty((3, 12, 9), np.float32), np.empty((3, 12, 9), np.float32)
    kernels.prolong(c, *solver._x, *solver._y, a)
    fmod._prolong(c, *solver._x, *solver._y, b)
    np.testing.assert_array_equal(a, b)


def test_coarsening_must_divide_the_tissue():
    with pytest.raises(ValueError, match="whole number of 3 x 3 blocks"):
        _coarse((10, 9), 3)
