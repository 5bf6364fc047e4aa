"""Quasi-steady-state solver for diffusing cytokine fields.

Cytokine and metabolite fields (IDO activity, PGE2, TGF-beta, IL-6, IL-10, inflammation)
diffuse across a few hundred micrometres and decay or are taken up within minutes, whereas the
cells that secrete them move, divide and change state over hours. The fields therefore relax to
steady state long before the cells change, so at every agent step each field is taken to be the
steady-state solution of the screened Poisson equation

    D * laplacian(c) - k * c + s = 0

on the 2-D grid of square voxels of side ``h`` (um), with

* ``c`` concentration (any concentration unit, e.g. ng/mL),
* ``D`` diffusion coefficient (um^2/min),
* ``k`` first-order loss rate (1/min: decay plus uptake), which must be positive,
* ``s`` source (concentration units per min, per voxel),

and zero-flux (Neumann) boundaries, because the modelled patch sits inside similar tissue.
The diffusion length ``sqrt(D / k)`` sets how far a signal reaches from its source.

Method. The Laplacian is the standard 5-point stencil with reflecting boundaries (the ghost
voxel outside each edge equals the edge voxel). That matrix is diagonalised exactly by the
type-II discrete cosine transform: the DCT-II mode (i, j) is an eigenvector with eigenvalue

    -lambda_ij = (2 cos(pi i / nx) - 2 + 2 cos(pi j / ny) - 2) / h^2  (<= 0).

So in DCT space the equation is ``(D * lambda_ij + k) * c_hat = s_hat``, and one forward
transform, one element-wise division and one inverse transform give the solution of the discrete
equations exactly, up to round-off. There is no iteration, no tolerance and no time step; the
cost is O(N log N) for N voxels per field. All fields with a nonzero source are transformed in
one batched call; fields whose source is identically zero are skipped (their steady state is
exactly zero), and fields with ``D == 0`` are solved point-wise as ``c = s / k``.

Because ``k > 0``, the discrete operator ``k I - D L`` is a strictly diagonally dominant
M-matrix, so its inverse is element-wise non-negative: non-negative sources give non-negative
concentrations. The transform produces tiny negative values (of order machine epsilon times the
field maximum) where the true concentration is near zero; these are clipped to 0.
"""

from collections.abc import Sequence

import numpy as np
from scipy import fft

from abm.engine import jit, kernels

STORED_DENOMINATOR_VOXELS = 2**20
"""Largest grid (voxels) whose DCT-space denominators are stored rather than made at each solve."""


class SteadyStateSolver:
    """Steady-state screened-Poisson solver for F fields on one (nx, ny) voxel grid.

    Args:
        shape: grid size ``(nx, ny)`` in voxels.
        voxel_um: voxel side ``h`` (um), > 0.
        diffusion_um2_per_min: diffusion coefficient ``D`` of each field (um^2/min), >= 0.
        loss_per_min: first-order loss rate ``k`` of each field (1/min: decay + uptake), > 0.
        dtype: floating type of the transforms; float32 halves the cost of a solve and keeps a
            relative accuracy of ~1e-6, ample for cytokine levels; float64 (default) for analysis.

    Raises:
        ValueError: on a non-positive voxel size, a negative ``D``, a non-positive ``k``
            (no steady state exists without loss), or mismatched per-field lengths.

    An instance keeps a scratch buffer, so one instance must not be used by two threads at once.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        voxel_um: float,
        diffusion_um2_per_min: Sequence[float],
        loss_per_min: Sequence[float],
        dtype: type = np.float64,
    ) -> None:
        nx, ny = (int(n) for n in shape)
        if nx < 1 or ny < 1:
            raise ValueError(f"grid shape must be positive, got {shape}")
        if not voxel_um > 0:
            raise ValueError(f"voxel_um must be > 0, got {voxel_um}")
        diff = np.asarray(diffusion_um2_per_min, dtype=float)
        loss = np.asarray(loss_per_min, dtype=float)
        if diff.ndim != 1 or diff.shape != loss.shape:
            raise ValueError(
                f"need one D and one k per field, got {diff.shape[0] if diff.ndim else 0} D "
                f"and {loss.shape[0] if loss.ndim else 0} k"
            )
        for i, (d, k) in enumerate(zip(diff, loss, strict=True)):
            if not k > 0:
                raise ValueError(
                    f"field {i}: loss rate k = {k} 1/min must be > 0 (no steady state without loss)"
                )
            if not d >= 0:
                raise ValueError(f"field {i}: diffusion coefficient D = {d} um^2/min must be >= 0")

        self.shape: tuple[int, int] = (nx, ny)
        self.voxel_um: float = float(voxel_um)
        self.diffusion_um2_per_min: np.ndarray = diff
        self.loss_per_min: np.ndarray = loss
        self.n_fields: int = diff.shape[0]

        # Eigenvalues of minus the reflecting 5-point Laplacian (1/um^2), >= 0.
        h2 = self.voxel_um**2
        lam_x = (2.0 - 2.0 * np.cos(np.pi * np.arange(nx) / nx)) / h2
        lam_y = (2.0 - 2.0 * np.cos(np.pi * np.arange(ny) / ny)) / h2
        self._lam_x, self._lam_y = lam_x, lam_y
        self.dtype = np.dtype(dtype)
        # Denominators D * lambda + k in DCT space, shape (F, nx, ny), units 1/min: kept for grids up to
        # STORED_DENOMINATOR_VOXELS (where a step's cost is its calls), made per field and solve on larger
        # grids (where they would be a third of the model's memory, and the arithmetic is cheap beside the DCT).
        self._denominators: np.ndarray | None = None
        if nx * ny <= STORED_DENOMINATOR_VOXELS:
            self._denominators = np.stack([self._make_denominator(f) for f in range(self.n_fields)])
        self._diffusing: np.ndarray = diff > 0
        self._work: np.ndarray | None = None  # scratch for solve(), allocated when first needed

    def _make_denominator(self, field: int) -> np.ndarray:
        lam = self._lam_x[:, None] + self._lam_y[None, :]  # eigenvalues of minus the Laplacian (1/um^2)
        return (self.diffusion_um2_per_min[field] * lam + self.loss_per_min[field]).astype(self.dtype)

    def denominator(self, field: int) -> np.ndarray:
        """``D * lambda + k`` of one field in DCT space (1/min), shape (nx, ny)."""
        if self._denominators is not None:
            return self._denominators[field]
        return self._make_denominator(field)

    def solve(self, sources: np.ndarray, out: np.ndarray | None = None,
              overwrite_sources: bool = False) -> np.ndarray:
        """Return the steady-state concentrations for the given sources.

        Args:
            sources: array ``(F, nx, ny)`` of non-negative sources (concentration per min, per
                voxel).
            out: optional float array ``(F, nx, ny)`` filled in place with the result.
            overwrite_sources: the caller gives ``sources`` up (a scratch array of the solver's
                dtype): when every field diffuses and has a source, the transforms run in it
                directly instead of in a copy.  The result is the same either way.

        Returns:
            Concentrations ``(F, nx, ny)`` (concentration units); ``out`` itself if given.
            Fields whose source is identically zero are exactly zero. Round-off negatives are
            clipped to 0.

        Raises:
            ValueError: if ``sources`` or ``out`` has the wrong shape, or a source is negative.
        """
        src = np.asarray(sources, dtype=self.dtype)
        expected = (self.n_fields, *self.shape)
        if src.shape != expected:
            raise ValueError(f"sources must have shape {expected}, got {src.shape}")
        if src.size and src.min() < 0:
            raise ValueError("sources must be non-negative")

        nonzero = src.reshape(self.n_fields, -1).any(axis=1)
        spectral = np.flatnonzero(nonzero & self._diffusing)
        local = np.flatnonzero(nonzero & ~self._diffusing)

        # Everything is computed before `out` is written, so `out` may alias `sources`.
        conc = None
        in_place = overwrite_sources and src is sources
        large = self._denominators is None
        if spectral.size and in_place and large and spectral.size < self.n_fields and not local.size:
            # some fields have no source (IDO before any MSC) on a large grid: transform the others plane by
            # plane in the given array, the rest stay zero; no scratch of F planes is needed
            for field in spectral:
                src[field] = self._transform(src[field], self.denominator(field))
            conc = src
            spectral = np.arange(self.n_fields)
        elif spectral.size:
            if in_place and spectral.size == self.n_fields:
                conc = src  # every field is transformed: no copy needed
            else:
                # Transform in the preallocated buffer: avoids allocating (and page-faulting) fresh
                # arrays every call, which otherwise roughly doubles the time of a solve.
                if self._work is None:
                    self._work = np.empty((self.n_fields, *self.shape), self.dtype)
                conc = self._work[: spectral.size]
                np.take(src, spectral, axis=0, out=conc)
            conc = fft.dctn(conc, axes=(1, 2), norm="ortho", workers=1, overwrite_x=True)
            for j, field in enumerate(spectral):
                conc[j] /= self.denominator(field)
            conc = fft.idctn(conc, axes=(1, 2), norm="ortho", workers=1, overwrite_x=True)
            np.maximum(conc, 0.0, out=conc)
        local_conc = src[local] / self.loss_per_min[local, None, None].astype(self.dtype)

        if out is None:
            out = np.zeros(expected, self.dtype)
        elif out.shape != expected:
            raise ValueError(f"out must have shape {expected}, got {out.shape}")
        if conc is not None and spectral.size == self.n_fields:
            out[:] = conc
            return out
        out[:] = 0.0
        if conc is not None:
            out[spectral] = conc
        out[local] = local_conc
        return out

    @staticmethod
    def _transform(plane: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        """Steady state of one field plane: DCT, divide by the denominator, inverse DCT, clip at 0."""
        c = fft.dctn(plane, norm="ortho", workers=1, overwrite_x=True)
        c /= denominator
        c = fft.idctn(c, norm="ortho", workers=1, overwrite_x=True)
        return np.maximum(c, 0.0, out=c)

    def diffusion_length_um(self) -> np.ndarray:
        """Return the diffusion length ``sqrt(D / k)`` of each field (um), shape (F,)."""
        return np.sqrt(self.diffusion_um2_per_min / self.loss_per_min)


class CoarsenedSolver:
    """The steady state solved on a grid ``factor`` times coarser than the tissue, for speed.

    The sources are averaged over blocks of ``factor x factor`` voxels (which keeps the total source), the
    screened Poisson equation is solved on the coarse grid of side ``factor * h`` by :class:`SteadyStateSolver`,
    and the result is interpolated back linearly between coarse-voxel centres (mirrored at the edges, as
    the zero-flux boundary is), which keeps the total amount and non-negativity.  With diffusion lengths of
    7.5-10 voxels a factor of 2 leaves 4-5 coarse voxels per length; ``tests/engine/test_fields.py`` checks it
    against the continuum Green's function, a uniform source, the mass balance and the fine solve.  A field
    near a single cell is smoothed over ``factor`` voxels: use factor 1 (the default) where that matters.

    Args:
        shape: the tissue grid ``(nx, ny)`` in voxels; both must be multiples of ``factor``.
        factor: coarse voxel side in tissue voxels (>= 1).
        compiled: block averages and interpolation by the compiled kernels (same numbers as the numpy
            twins); ``None``: wherever numba imports.
        The other arguments are those of :class:`SteadyStateSolver`.
    """

    def __init__(self, shape: tuple[int, int], voxel_um: float, diffusion_um2_per_min: Sequence[float],
                 loss_per_min: Sequence[float], factor: int, dtype: type = np.float64,
                 compiled: bool | None = None) -> None:
        nx, ny = (int(n) for n in shape)
        if factor < 1 or nx % factor or ny % factor:
            raise ValueError(f"grid {shape} is not a whole number of {factor} x {factor} blocks")
        self.shape = (nx, ny)
        self.factor = int(factor)
        self.compiled = jit.numba_available() if compiled is None else compiled
        self.coarse = SteadyStateSolver((nx // factor, ny // factor), voxel_um * factor, diffusion_um2_per_min,
                                        loss_per_min, dtype=dtype)
        self.n_fields = self.coarse.n_fields
        self.dtype = self.coarse.dtype
        self._x = self._weights(nx, factor)
        self._y = self._weights(ny, factor)
        if self.dtype != np.float32:
            self._x = (*self._x[:2], self._x[2].astype(self.dtype))
            self._y = (*self._y[:2], self._y[2].astype(self.dtype))

    @staticmethod
    def _weights(n: int, factor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each fine index: the two coarse indices around its centre and the weight of the second."""
        u = (np.arange(n) + 0.5) / factor - 0.5
        lower = np.floor(u)
        w = u - lower
        m = n // factor
        i0 = np.clip(lower.astype(np.int64), 0, m - 1)
        i1 = np.clip(lower.astype(np.int64) + 1, 0, m - 1)
        return i0, i1, w.astype(np.float32)

    def solve(self, sources: np.ndarray, out: np.ndarray | None = None,
              overwrite_sources: bool = False) -> np.ndarray:
        """Steady-state concentrations ``(F, nx, ny)`` on the tissue grid for sources ``(F, nx, ny)``."""
        f = self.factor
        src = np.asarray(sources, dtype=self.dtype)
        nx, ny = self.shape
        if src.shape != (self.n_fields, nx, ny):
            raise ValueError(f"sources must have shape {(self.n_fields, nx, ny)}, got {src.shape}")
        block = kernels.restrict(src, f) if self.compiled else _restrict(src, f)
        c = self.coarse.solve(block, overwrite_sources=True)
        if out is None:
            out = np.empty((self.n_fields, nx, ny), self.dtype)
        (kernels.prolong if self.compiled else _prolong)(c, *self._x, *self._y, out)
        return out

    def diffusion_length_um(self) -> np.ndarray:
        """The diffusion length ``sqrt(D / k)`` of each field (um), shape (F,)."""
        return self.coarse.diffusion_length_um()


def _restrict(src: np.ndarray, f: int) -> np.ndarray:
    """Block means of ``f x f`` voxels, summed in the order of :func:`abm.engine.kernels.restrict` (its twin
    where numba is missing)."""
    acc = src[:, 0::f, 0::f].copy()
    for a in range(f):
        for b in range(f):
            if a or b:
                acc += src[:, a::f, b::f]
    acc *= src.dtype.type(1.0 / (f * f))
    return acc


def _prolong(c: np.ndarray, i0: np.ndarray, i1: np.ndarray, w: np.ndarray, j0: np.ndarray, j1: np.ndarray,
             v: np.ndarray, out: np.ndarray) -> None:
    """Linear interpolation from coarse centres, x then y (twin of :func:`abm.engine.kernels.prolong`)."""
    one = c.dtype.type(1.0)
    along_x = c[:, i0, :] * (one - w)[None, :, None] + c[:, i1, :] * w[None, :, None]
    out[:] = along_x[:, :, j0] * (one - v)[None, None, :] + along_x[:, :, j1] * v[None, None, :]
