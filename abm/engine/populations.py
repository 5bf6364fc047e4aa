"""Cell populations as data: one struct-of-arrays per cell type.

A population keeps named numpy columns (position, state, age, flags) with spare capacity, so
births append in amortised O(1) and deaths compact in one vectorised pass.  Rules read and
write the live views (``pop.x``, ``pop.state`` ...) which are slices of the first ``n`` rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class Population:
    """Columns of equal length describing ``n`` live cells of one type."""

    def __init__(self, name: str, columns: Mapping[str, np.dtype | type], capacity: int = 256):
        self.name = name
        self.n = 0
        self._cols = {key: np.zeros(capacity, dtype=dt) for key, dt in columns.items()}

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names."""
        return tuple(self._cols)

    def __getattr__(self, key: str) -> np.ndarray:
        cols = self.__dict__.get("_cols")
        if cols is not None and key in cols:
            return cols[key][: self.n]
        raise AttributeError(key)

    def __setattr__(self, key: str, value) -> None:
        cols = self.__dict__.get("_cols")
        if cols is not None and key in cols:  # `pop.age_h += dt` writes through to the column
            cols[key][: self.n] = value
        else:
            super().__setattr__(key, value)

    def __len__(self) -> int:
        return self.n

    def add(self, **values: np.ndarray | float | int) -> None:
        """Append cells; every column not given is zero.  Array values must share one length."""
        lengths = {np.size(v) for v in values.values() if np.ndim(v) > 0}
        if len(lengths) > 1:
            raise ValueError(f"{self.name}: columns of unequal length {lengths}")
        k = lengths.pop() if lengths else 1
        if k == 0:
            return
        unknown = set(values) - set(self._cols)
        if unknown:
            raise KeyError(f"{self.name}: unknown column(s) {sorted(unknown)}")
        self._reserve(self.n + k)
        for key, arr in self._cols.items():
            arr[self.n : self.n + k] = values.get(key, 0)
        self.n += k

    def remove(self, dead: np.ndarray) -> None:
        """Drop the cells where ``dead`` is True, keeping the order of the others."""
        if not dead.any():
            return
        keep = ~dead
        m = int(keep.sum())
        for arr in self._cols.values():
            arr[:m] = arr[: self.n][keep]
        self.n = m

    def _reserve(self, size: int) -> None:
        cap = len(next(iter(self._cols.values())))
        if size <= cap:
            return
        new_cap = max(size, 2 * cap)
        for key, arr in self._cols.items():
            grown = np.zeros(new_cap, dtype=arr.dtype)
            grown[: self.n] = arr[: self.n]
            self._cols[key] = grown

    def count(self, state: int) -> int:
        """Number of cells in a state."""
        return int(np.count_nonzero(self.state == state))

    def arrays(self) -> dict[str, np.ndarray]:
        """Copies of the live columns (for checkpoints)."""
        return {key: arr[: self.n].copy() for key, arr in self._cols.items()}

    def load_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Replace the contents with saved columns (inverse of :meth:`arrays`)."""
        if set(arrays) != set(self._cols):
            raise ValueError(f"{self.name}: saved columns {sorted(arrays)} != {sorted(self._cols)}")
        n = len(next(iter(arrays.values())))
        self.n = 0
        self._reserve(n)
        for key, arr in arrays.items():
            self._cols[key][:n] = arr
        self.n = n


POSITION = {"x": np.int32, "y": np.int32}
"""The grid position columns every population has (voxel indices)."""
