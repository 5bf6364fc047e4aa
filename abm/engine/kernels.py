"""Compiled kernels of the engine: competing fates (per cell and per count), free-voxel draws, jumps with
exclusion, daughter placement, neighbourhood counts, population compaction and field block averages, one
loop each.

Each kernel is the compiled twin of a numpy function of :mod:`abm.engine.hazards` or
:mod:`abm.engine.space` (named in its docstring): it draws the same random numbers, in the same order,
from the same numpy ``Generator`` (numba shares the bit generator's state), and does the same float64
arithmetic, so both give the same cells.  They are hand-written loops rather than numpy calls because a
model step is dominated by the number of calls, not by arithmetic (``benchmarks/bench_model.py``).
"""

from __future__ import annotations

import math

import numpy as np

from abm.engine.jit import njit

try:  # numba's port of numpy's random_interval (the draw of Generator.shuffle)
    from numba.np.random.random_methods import random_interval as _random_interval
except ImportError:  # pragma: no cover - no numba (kernels unused) or a numba that moved it
    _random_interval = None

MOORE_DX = np.array([-1, -1, -1, 0, 0, 1, 1, 1], np.int32)
MOORE_DY = np.array([-1, 0, 1, -1, 1, -1, 0, 1], np.int32)
"""The Moore offsets in the order of :data:`abm.engine.space.MOORE`."""


@njit
def competing_fates(rates, dt_h, rng):
    """Twin of :func:`abm.engine.hazards.competing_fates` for ``rates`` (F, n) float64 hazards (1/h)."""
    n_fates, n = rates.shape
    total = np.zeros(n)
    for j in range(n_fates):
        for i in range(n):
            total[i] = total[i] + rates[j, i]
    u = rng.random(n)
    fate = np.zeros(n, np.int8)
    for i in range(n):
        p_any = -math.expm1(-total[i] * dt_h)
        if u[i] < p_any:
            v = u[i] / p_any * total[i]
            f = 1
            cum = 0.0
            for j in range(n_fates - 1):
                cum = cum + rates[j, i]
                if v >= cum:
                    f += 1
            fate[i] = f
    return fate


@njit
def bernoulli(rates, dt_h, rng):
    """``rng.random(n) < prob(rates, dt_h)`` (:func:`abm.engine.hazards.prob`) for n float64 hazards."""
    n = rates.size
    u = rng.random(n)
    out = np.zeros(n, np.bool_)
    for i in range(n):
        out[i] = u[i] < -math.expm1(-rates[i] * dt_h)
    return out


@njit
def permutation(m, rng):
    """``rng.permutation(m)``, drawn the same way (numpy's Fisher-Yates shuffle of ``arange(m)``, one
    ``random_interval`` per position), but as a plain loop: numba's own ``Generator.permutation`` copies an
    array view per swap, five times slower than numpy."""
    out = np.arange(m)
    for i in range(m - 1, 0, -1):
        j = np.intp(_random_interval(rng.bit_generator, i))
        if i != j:
            out[i], out[j] = out[j], out[i]
    return out


@njit
def winners(tx, ty, cand, occupied, seen, rng):
    """Twin of ``TissueSpace._winners``: among the candidates whose target voxel is free, one random winner
    per target (the first in a random permutation).  ``seen``: a zero uint8 grid, left zero again.

    Returns the winners in no particular order (callers sort when order matters).
    """
    ok = np.empty(cand.size, np.int64)
    m = 0
    for c in cand:
        if not occupied[tx[c], ty[c]]:
            ok[m] = c
            m += 1
    if m == 0:
        return ok[:0]
    ok = ok[:m][permutation(m, rng)]
    won = np.empty(m, np.int64)
    w = 0
    for c in ok:
        if seen[tx[c], ty[c]] == 0:
            seen[tx[c], ty[c]] = 1
            won[w] = c
            w += 1
    won = won[:w]
    for c in won:
        seen[tx[c], ty[c]] = 0
    return won


@njit
def reflect(v, table, pad):
    """Coordinate ``v`` mirrored into the grid through the space's reflection table."""
    i = v + pad
    if i < 0:
        i = 0
    elif i > table.size - 1:
        i = table.size - 1
    return table[i]


@njit
def jump(x, y, sigma, occupied, seen, reflect_x, reflect_y, pad, rng):
    """Twin of :meth:`abm.engine.space.TissueSpace.jump` on the position columns ``x``, ``y`` (changed in
    place); returns the number of cells that moved."""
    n = x.size
    if n == 0 or sigma <= 0:
        return 0
    dx = rng.normal(0.0, sigma, n)
    dy = rng.normal(0.0, sigma, n)
    tx = np.empty(n, np.int32)
    ty = np.empty(n, np.int32)
    cand = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        tx[i] = reflect(x[i] + np.int32(np.rint(dx[i])), reflect_x, pad)
        ty[i] = reflect(y[i] + np.int32(np.rint(dy[i])), reflect_y, pad)
        if tx[i] != x[i] or ty[i] != y[i]:
            cand[m] = i
            m += 1
    movers = winners(tx, ty, cand[:m], occupied, seen, rng)
    for i in movers:
        occupied[x[i], y[i]] = False
    for i in movers:
        x[i] = tx[i]
        y[i] = ty[i]
        occupied[tx[i], ty[i]] = True
    return movers.size


@njit
def daughter_sites(x, y, occupied, seen, reflect_x, reflect_y, pad, rng):
    """Twin of :meth:`abm.engine.space.TissueSpace.daughter_sites` for mothers at (x, y): returns
    (mother index, x, y) of the placements that succeeded, by mother index; the voxels are claimed."""
    k = x.size
    if k == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32)
    off = rng.integers(0, 8, k)
    tx = np.empty(k, np.int32)
    ty = np.empty(k, np.int32)
    for i in range(k):
        tx[i] = reflect(x[i] + MOORE_DX[off[i]], reflect_x, pad)
        ty[i] = reflect(y[i] + MOORE_DY[off[i]], reflect_y, pad)
    won = np.sort(winners(tx, ty, np.arange(k), occupied, seen, rng))
    for i in won:
        occupied[tx[i], ty[i]] = True
    return won, tx[won], ty[won]


@njit
def random_free(k, occupied, seen, rng):
    """The fast path of :meth:`abm.engine.space.TissueSpace.random_free`: up to ``k`` distinct free voxels by
    rejection sampling.  Returns (x, y, complete); when ``complete`` is False the caller finishes with the
    numpy fallback (a nearly full patch: ``Generator.choice`` without replacement), as the numpy path does."""
    width, height = occupied.shape
    n_vox = width * height
    free = n_vox - np.count_nonzero(occupied)
    if k > free:
        k = free
    if k <= 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), True
    guess = rng.integers(0, n_vox, 4 * k + 8)
    px = np.empty(k, np.int32)
    py = np.empty(k, np.int32)
    got = 0
    for g in guess:
        gx, gy = g // height, g % height
        if not occupied[gx, gy] and seen[gx, gy] == 0:
            seen[gx, gy] = 1
            if got < k:
                px[got] = gx
                py[got] = gy
            got += 1
    for g in guess:
        seen[g // height, g % height] = 0
    if got < k:
        return px[:0], py[:0], False
    return px, py, True


@njit
def neighbour_grid(x, y, radius, width, height):
    """Twin of :meth:`abm.engine.space.TissueSpace.neighbour_grid`: per voxel, the cells (x, y) within the
    (2r+1)^2 square around it (int16)."""
    out = np.zeros((width, height), np.int16)
    for c in range(x.size):
        for i in range(max(x[c] - radius, 0), min(x[c] + radius + 1, width)):
            for j in range(max(y[c] - radius, 0), min(y[c] + radius + 1, height)):
                out[i, j] += 1
    return out


@njit
def kept(dead):
    """Indices of the cells to keep (``~dead``), in order, and how many there are."""
    keep = np.empty(dead.size, np.int64)
    m = 0
    for i in range(dead.size):
        if not dead[i]:
            keep[m] = i
            m += 1
    return keep[:m]


@njit
def compact(column, keep):
    """``column[:m] = column[keep]`` in place (``keep`` increasing), the survivors first."""
    for j in range(keep.size):
        column[j] = column[keep[j]]


@njit
def restrict(src, f):
    """Block means of ``f x f`` voxels of fields ``(F, nx, ny)``: the sum over the block's offsets in row-major
    order, times ``1 / f^2`` (the arithmetic of ``abm.engine.fields._restrict``)."""
    n_f, nx, ny = src.shape
    out = np.zeros((n_f, nx // f, ny // f), src.dtype)
    for k in range(n_f):
        for i in range(nx // f):
            for j in range(ny // f):
                acc = src[k, i * f, j * f]
                for a in range(f):
                    for b in range(f):
                        if a or b:
                            acc += src[k, i * f + a, j * f + b]
                out[k, i, j] = acc
    scale = src.dtype.type(1.0 / (f * f))
    for k in range(n_f):
        for i in range(nx // f):
            for j in range(ny // f):
                out[k, i, j] *= scale
    return out


@njit
def prolong(c, i0, i1, w, j0, j1, v, out):
    """Linear interpolation of coarse fields ``c`` to the tissue grid, along x then y (the arithmetic of
    ``abm.engine.fields._prolong``)."""
    n_f = c.shape[0]
    one = c.dtype.type(1.0)
    along_x = np.empty((n_f, i0.size, c.shape[2]), c.dtype)
    for k in range(n_f):
        for i in range(i0.size):
            for j in range(c.shape[2]):
                along_x[k, i, j] = c[k, i0[i], j] * (one - w[i]) + c[k, i1[i], j] * w[i]
    for k in range(n_f):
        for i in range(i0.size):
            for j in range(j0.size):
                out[k, i, j] = along_x[k, i, j0[j]] * (one - v[j]) + along_x[k, i, j1[j]] * v[j]


@njit
def _multinomial(count, probs, rng):
    """``rng.multinomial(count, probs)`` drawn as numpy draws it (one binomial per category, conditional on
    the ones before, until none are left)."""
    d = probs.size
    out = np.zeros(d, np.int64)
    remaining = 1.0
    left = count
    for j in range(d - 1):
        out[j] = rng.binomial(left, probs[j] / remaining)
        left -= out[j]
        if left <= 0:
            break
        remaining -= probs[j]
    if left > 0:
        out[d - 1] = left
    return out


@njit
def binomial_fates(count, rates, dt_h, rng):
    """Twin of :func:`abm.engine.hazards.binomial_fates` (``rates``: a float64 array, 1/h)."""
    total = 0.0
    for r in rates:
        total = total + r
    if count <= 0 or total <= 0:
        return np.zeros(rates.size, np.int64)
    p_any = -np.expm1(-total * dt_h)
    probs = np.empty(rates.size + 1)
    for j in range(rates.size):
        probs[j] = rates[j] / total * p_any
    probs[rates.size] = max(0.0, 1.0 - p_any)
    return _multinomial(count, probs, rng)[:-1]
