"""The tissue grid: field planes and an occupancy map, with Mesa's grid built only when asked for.

Cells live in populations (arrays); the space records which voxels are occupied (one cell per
voxel) and offers the vectorised spatial operations the rules need: random free voxels, jumps
with exclusion, placement of daughters next to a mother, and neighbourhood counts.

Mesa's ``OrthogonalMooreGrid`` (one Python ``Cell`` object per voxel, ~4 kB per cell of the
tissue) and its property layers are what the app and Mesa's renderers read.  Batch runs never
touch them, so :attr:`TissueSpace.grid` builds them on first access (lazily) and from then on
:meth:`TissueSpace.publish_fields` keeps the layers current.  Nothing the model computes reads
the grid, so a run is the same with or without it.
"""

from __future__ import annotations

import copyreg

import numpy as np
from mesa.discrete_space import OrthogonalMooreGrid

from abm.engine import kernels
from abm.engine.populations import Population

MOORE = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)], np.int32)


class TissueSpace:
    """A ``width x height`` patch of voxels with fields and an occupancy map."""

    def __init__(self, width: int, height: int, voxel_um: float, field_names: tuple[str, ...],
                 random=None, compiled: bool = False):
        self.width, self.height, self.voxel_um = width, height, voxel_um
        self.compiled = compiled
        """Whether the spatial operations run as compiled kernels (:mod:`abm.engine.kernels`); both ways give
        the same cells from the same random numbers."""
        self._random = random
        self._grid: OrthogonalMooreGrid | None = None
        self._layers: dict = {}
        self.field_names = field_names
        self.fields = np.zeros((len(field_names), width, height), np.float32)
        """Field concentrations (a.u.), one plane per mediator; the solver writes here."""
        self.occupied = np.zeros((width, height), dtype=np.bool_)
        pad = max(width, height)
        self.pad = pad
        self.reflect_x = self._reflect_table(width, pad)
        self.reflect_y = self._reflect_table(height, pad)
        self.seen = np.zeros((width, height), np.uint8)
        """Scratch marks of the compiled kernels (all zero between calls)."""

    @staticmethod
    def _reflect_table(size: int, pad: int) -> np.ndarray:
        """Lookup table: coordinate v + pad -> v reflected into [0, size) (mirror at the edges)."""
        v = np.arange(-pad, size + pad)
        v = np.where(v < 0, -v - 1, v)
        v = np.where(v >= size, 2 * size - v - 1, v)
        return np.clip(v, 0, size - 1).astype(np.int32)

    @property
    def grid(self) -> OrthogonalMooreGrid:
        """Mesa's grid of the patch with one property layer per field, built on first access."""
        if self._grid is None:
            grid = OrthogonalMooreGrid((self.width, self.height), torus=False, capacity=1, random=self._random)
            # Mesa 3.5 registers each grid's cell class with copyreg, which keeps every grid's layers
            # alive for the life of the process (a leak across the thousands of models a batch worker
            # builds).  Checkpoints never pickle the grid, so the registration is dropped.
            copyreg.dispatch_table.pop(grid.cell_klass, None)
            self._layers = {name: grid.create_property_layer(name, 0.0) for name in self.field_names}
            self._grid = grid
            self.publish_fields()
        return self._grid

    @property
    def grid_built(self) -> bool:
        """Whether something has asked for :attr:`grid` yet."""
        return self._grid is not None

    @property
    def layers(self) -> dict:
        """Mesa property layers by field name (builds the grid if needed)."""
        _ = self.grid
        return self._layers

    @property
    def area_mm2(self) -> float:
        """Area of the patch in mm2."""
        return self.width * self.height * (self.voxel_um / 1000.0) ** 2

    def publish_fields(self) -> None:
        """Copy the solved fields into Mesa's property layers (in place: the one write path); nothing to do
        while no one has asked for the grid."""
        for i, name in enumerate(self.field_names):
            if name in self._layers:
                self._layers[name].data[:] = self.fields[i]

    def sample(self, pop: Population) -> np.ndarray:
        """Field values at each cell's voxel: array (n_fields, n)."""
        return self.fields[:, pop.x, pop.y]

    def claim(self, x: np.ndarray, y: np.ndarray) -> None:
        """Mark voxels occupied."""
        self.occupied[x, y] = True

    def release(self, x: np.ndarray, y: np.ndarray) -> None:
        """Mark voxels free."""
        self.occupied[x, y] = False

    def random_free(self, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` distinct free voxels chosen uniformly; fewer if the patch is nearly full."""
        if self.compiled:
            x, y, complete = kernels.random_free(int(k), self.occupied, self.seen, rng)
            if complete:
                return x, y
            return self._random_free_fallback(k, rng)
        n_vox = self.width * self.height
        k = min(k, n_vox - int(np.count_nonzero(self.occupied)))
        if k <= 0:
            empty = np.zeros(0, np.int32)
            return empty, empty
        guess = rng.integers(0, n_vox, size=4 * k + 8)  # fast path: rejection sampling
        guess = guess[~self.occupied.ravel()[guess]]
        _, first = np.unique(guess, return_index=True)
        if first.size >= k:
            pick = guess[np.sort(first)[:k]]
            return (pick // self.height).astype(np.int32), (pick % self.height).astype(np.int32)
        return self._random_free_fallback(k, rng)

    def _random_free_fallback(self, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``k`` free voxels drawn without replacement among all free ones (a nearly full patch)."""
        free = np.flatnonzero(~self.occupied.ravel())
        k = min(k, free.size)
        pick = rng.choice(free, size=k, replace=False) if k else free[:0]
        return (pick // self.height).astype(np.int32), (pick % self.height).astype(np.int32)

    def _reflect(self, v: np.ndarray, table: np.ndarray) -> np.ndarray:
        return table[np.clip(v + self.pad, 0, table.size - 1)]

    def _winners(self, tx: np.ndarray, ty: np.ndarray, cand: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
        """Among candidates whose targets are free, one random winner per target voxel."""
        ok = cand[~self.occupied[tx[cand], ty[cand]]]
        if ok.size == 0:
            return ok
        ok = ok[rng.permutation(ok.size)]
        _, first = np.unique(tx[ok] * self.height + ty[ok], return_index=True)
        return ok[first]

    def jump(self, pop: Population, sigma_voxels: float, rng: np.random.Generator) -> int:
        """Random-walk step with exclusion: each cell proposes a Gaussian jump and moves if free.

        Returns the number of cells that moved.  Cells are conserved and never share a voxel.
        """
        n = pop.n
        if n == 0 or sigma_voxels <= 0:
            return 0
        if self.compiled:
            return int(kernels.jump(pop.x, pop.y, float(sigma_voxels), self.occupied, self.seen,
                                    self.reflect_x, self.reflect_y, self.pad, rng))
        dx = np.rint(rng.normal(0.0, sigma_voxels, n)).astype(np.int32)
        dy = np.rint(rng.normal(0.0, sigma_voxels, n)).astype(np.int32)
        tx = self._reflect(pop.x + dx, self.reflect_x)
        ty = self._reflect(pop.y + dy, self.reflect_y)
        movers = self._winners(tx, ty, np.flatnonzero((tx != pop.x) | (ty != pop.y)), rng)
        if movers.size:
            self.occupied[pop.x[movers], pop.y[movers]] = False
            pop.x[movers], pop.y[movers] = tx[movers], ty[movers]
            self.occupied[tx[movers], ty[movers]] = True
        return int(movers.size)

    def daughter_sites(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A free Moore neighbour for each mother, if one can be had.

        Returns (mother index, x, y) of the placements that succeeded; the voxels are claimed.
        """
        k = x.size
        if k == 0:
            empty = np.zeros(0, np.int32)
            return empty, empty, empty
        if self.compiled:
            return kernels.daughter_sites(x.astype(np.int32), y.astype(np.int32), self.occupied, self.seen,
                                          self.reflect_x, self.reflect_y, self.pad, rng)
        off = MOORE[rng.integers(0, 8, k)]
        tx = self._reflect(x + off[:, 0], self.reflect_x)
        ty = self._reflect(y + off[:, 1], self.reflect_y)
        won = self._winners(tx, ty, np.arange(k), rng)
        won = np.sort(won)
        self.occupied[tx[won], ty[won]] = True
        return won, tx[won], ty[won]

    def neighbour_grid(self, x: np.ndarray, y: np.ndarray, radius: int) -> np.ndarray:
        """For every voxel, the number of the cells (x, y) within the (2r+1)^2 square around it."""
        r = radius
        if self.compiled:
            return kernels.neighbour_grid(x.astype(np.int32), y.astype(np.int32), int(r), self.width, self.height)
        marks = np.zeros((self.width + 2 * r, self.height + 2 * r), np.int16)
        np.add.at(marks, (x + r, y + r), 1)
        rows = marks[: self.width].copy()
        for i in range(1, 2 * r + 1):
            rows += marks[i : i + self.width]
        out = rows[:, : self.height].copy()
        for j in range(1, 2 * r + 1):
            out += rows[:, j : j + self.height]
        return out
