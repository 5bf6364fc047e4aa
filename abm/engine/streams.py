"""Independent random streams, one per process of the model.

Arms of a trial start from one burned-in state with the same seed.  If all processes drew from one
stream, the treated arm's extra draws (infusions, lung MSC) would shift every later draw and the
arms would decorrelate at once.  With one stream per process, blood, trafficking, motility and
each cell type keep their own sequence, so arms stay paired (common random numbers) wherever the
biology does not differ.
"""

from __future__ import annotations

import numpy as np

NAMES = ("treatment", "traffic", "msc", "tcells", "macrophages", "bcells", "lung", "blood", "motility", "setup")


def _sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):  # a fresh copy: spawning must not depend on history
        return np.random.SeedSequence(entropy=seed.entropy, spawn_key=seed.spawn_key)
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    return np.random.SeedSequence(seed)


class Streams:
    """Named numpy Generators spawned from one seed (int or SeedSequence)."""

    def __init__(self, seed=None):
        children = _sequence(seed).spawn(len(NAMES))
        self._gens = {name: np.random.default_rng(c) for name, c in zip(NAMES, children, strict=True)}

    def __getattr__(self, name: str) -> np.random.Generator:
        gens = self.__dict__.get("_gens")
        if gens is not None and name in gens:
            return gens[name]
        raise AttributeError(name)

    def state(self) -> dict[str, dict]:
        """Bit-generator states (JSON-able)."""
        return {name: g.bit_generator.state for name, g in self._gens.items()}

    def set_state(self, states: dict[str, dict]) -> None:
        """Restore states saved by :meth:`state`."""
        if set(states) != set(self._gens):
            raise ValueError(f"random streams {sorted(states)} != {sorted(self._gens)}")
        for name, st in states.items():
            self._gens[name].bit_generator.state = st
