"""A per-object Mesa baseline of the T-cell step, and the same step written the abm way.

Both versions do the same three things to the same T cells on the same fields, one step of
``dt_h`` hours each:

1. **sensing**: read the six mediator levels at the cell's voxel;
2. **fate**: a naive cell becomes Treg or Th17 with the competing hazards of the rule table's
   ``tcells.naive->to:treg`` and ``tcells.naive->to:th17`` rules (the model's own laws, evaluated by its
   :class:`abm.biology.rules.evaluate.RuleSet`, not copied);
3. **motility**: move with volume exclusion (one cell per voxel).

``PerObjectTCellModel`` is the "per-object Mesa baseline": a ``mesa.Model`` with one
``mesa.discrete_space.CellAgent`` per T cell on an ``OrthogonalMooreGrid`` of capacity 1, the
fields as Mesa property layers, each agent doing the three things in its own ``step()`` (moving
to a random empty Moore neighbour), all stepped through ``model.agents.shuffle_do("step")``.

``VectorisedTCells`` is the equivalent in the abm style: the T cells are one
:class:`abm.engine.populations.Population`, sensing is :meth:`abm.engine.space.TissueSpace.sample`, fates are
:func:`abm.engine.hazards.competing_fates`, and motility is :meth:`abm.engine.space.TissueSpace.jump`
(a Gaussian jump of the model's T-cell step length, exclusion resolved for all cells at once).

Both are built from one :class:`Setup` (grid, fields, positions, states) so that the comparison
is like for like.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import mesa
import numpy as np
from mesa.discrete_space import Cell, CellAgent, OrthogonalMooreGrid

from abm.biology.cells import TCELLS
from abm.biology.levels import Levels
from abm.biology.rules.custom import Signals
from abm.biology.rules.evaluate import RuleSet
from abm.biology.rules.tcells import NAIVE, TH17, TREG
from abm.config import MEDIATORS
from abm.engine.hazards import competing_fates
from abm.engine.space import TissueSpace


@dataclass(frozen=True)
class Setup:
    """Everything both versions start from.

    Attributes:
        width, height: grid size (voxels).
        voxel_um: voxel side (um).
        fields: mediator levels (a.u.), shape (len(MEDIATORS), width, height), MEDIATORS order.
        x, y: voxel of each T cell (distinct voxels).
        state: initial T-cell state of each cell (NAIVE / TH17 / TREG).
        rules: the model's rule table, compiled against its parameters (the laws).
        dt_h: step length (h).
        sigma_voxels: standard deviation of the vectorised Gaussian jump per step (voxels).
    """

    width: int
    height: int
    voxel_um: float
    fields: np.ndarray
    x: np.ndarray
    y: np.ndarray
    state: np.ndarray
    rules: RuleSet
    dt_h: float
    sigma_voxels: float

    @property
    def n(self) -> int:
        """Number of T cells."""
        return int(self.x.size)


def setup_from_model(model) -> Setup:
    """A setup on the grid of an :class:`abm.model.MSCModel`, after at least one step.

    Every cell of the model (T cells, macrophages, B cells, MSC) becomes one naive T cell at
    the same voxel, so the baseline has as many agents as the model has cells; the fields are
    the model's current (solved) fields.
    """
    pops = (model.tcells, model.macrophages, model.bcells, model.msc)
    x = np.concatenate([p.x for p in pops]).astype(np.int32)
    y = np.concatenate([p.y for p in pops]).astype(np.int32)
    dt_min = model.dt_h * 60.0
    sigma = math.sqrt(2.0 * model.bio.tcells.motility_um2_per_min * dt_min) / model.space.voxel_um
    return Setup(width=model.space.width, height=model.space.height,
                 voxel_um=model.space.voxel_um, fields=model.space.fields.copy(), x=x, y=y,
                 state=np.full(x.size, NAIVE, np.int8), rules=model.rules,
                 dt_h=model.dt_h, sigma_voxels=sigma)


# --------------------------------------------------------------------------- per-object Mesa
class TCellAgent(CellAgent):
    """One T cell as a Python object on a Mesa grid."""

    model: PerObjectTCellModel

    def __init__(self, model: PerObjectTCellModel, cell: Cell, state: int) -> None:
        super().__init__(model)
        self.cell = cell
        self.state = state

    def step(self) -> None:
        """Sense, decide a fate, move: the per-object version of one T-cell step."""
        cell = self.cell
        if self.state == NAIVE:
            # sensing: the six levels at this voxel, read through the property-layer accessors
            s = Levels(ido=cell.ido, pge2=cell.pge2, tgfb=cell.tgfb, il6=cell.il6,
                       il10=cell.il10, infl=cell.infl)
            # fate: competing hazards naive -> Treg / Th17 (the model's laws on scalars)
            sig = Signals(s)
            to_treg = float(self.model.rules.rate("tcells", "naive", "to:treg", sig))
            to_th17 = float(self.model.rules.rate("tcells", "naive", "to:th17", sig))
            total = to_treg + to_th17
            if total > 0.0 and self.random.random() < -math.expm1(-total * self.model.dt_h):
                self.state = TREG if self.random.random() * total < to_treg else TH17
        # motility: a random empty Moore neighbour, if any (capacity 1 enforces exclusion)
        empty = [c for c in cell.neighborhood if c.is_empty]
        if empty:
            self.cell = self.random.choice(empty)


class PerObjectTCellModel(mesa.Model):
    """The per-object Mesa baseline: one ``CellAgent`` per T cell, fields as property layers."""

    def __init__(self, setup: Setup, seed: int = 0) -> None:
        super().__init__(rng=seed)
        self.rules = setup.rules
        self.dt_h = setup.dt_h
        self.grid = OrthogonalMooreGrid((setup.width, setup.height), torus=False, capacity=1,
                                        random=self.random)
        for i, name in enumerate(MEDIATORS):
            layer = self.grid.create_property_layer(name, 0.0)
            layer.data[:] = setup.fields[i]
        for x, y, state in zip(setup.x.tolist(), setup.y.tolist(), setup.state.tolist(),
                               strict=True):
            TCellAgent(self, self.grid[(x, y)], state)

    def step(self) -> None:
        """Every agent steps once, in random order."""
        self.agents.shuffle_do("step")

    def state_counts(self) -> np.ndarray:
        """Number of agents in each state (NAIVE, TH17, TREG)."""
        return np.bincount([a.state for a in self.agents], minlength=3)


# --------------------------------------------------------------------------- vectorised (abm)
class VectorisedTCells:
    """The same step with the abm building blocks: arrays, one call per rule."""

    def __init__(self, setup: Setup, seed: int = 0) -> None:
        self.rules = setup.rules
        self.dt_h = setup.dt_h
        self.sigma_voxels = setup.sigma_voxels
        self.rng = np.random.default_rng(seed)
        self.space = TissueSpace(setup.width, setup.height, setup.voxel_um, MEDIATORS,
                                 random.Random(seed))
        self.space.fields[:] = setup.fields
        self.pop = TCELLS.population()
        self.pop.add(x=setup.x, y=setup.y, state=setup.state)
        self.space.claim(setup.x, setup.y)

    def step(self) -> None:
        """Sense, decide fates, move: each one vectorised over all T cells."""
        pop = self.pop
        sig = Signals(Levels.from_rows(self.space.sample(pop).astype(np.float64)))
        naive = pop.state == NAIVE
        to_treg = np.where(naive, self.rules.rate("tcells", "naive", "to:treg", sig), 0.0)
        to_th17 = np.where(naive, self.rules.rate("tcells", "naive", "to:th17", sig), 0.0)
        fate = competing_fates([to_treg, to_th17], pop.n, self.dt_h, self.rng)
        state = pop.state
        state[fate == 1] = TREG
        state[fate == 2] = TH17
        self.space.jump(pop, self.sigma_voxels, self.rng)

    def state_counts(self) -> np.ndarray:
        """Number of cells in each state (NAIVE, TH17, TREG)."""
        return np.bincount(self.pop.state, minlength=3)
