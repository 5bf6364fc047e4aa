"""The cell-type table: every population, its states, labels, one palette, and what each state secretes.

This is the one place where a cell state is named.  The model builds its populations from it, the rules
take their state codes from it, the recorder names its count columns after it, secretion deposits
what it says, and the app, the animations, the mechanism registry and the docs draw and label cells
with its labels and colours.  Adding a state is adding a row (its code is its position, so append new
states at the end of their type: codes are stored in checkpoints).

Secretion *rates* are parameters (``biology.secretion.<entry>``, with units and sources, in
:mod:`abm.biology.parameters`); this table says which entry a state uses and cites why it secretes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from abm.engine.populations import POSITION, Population


@dataclass(frozen=True)
class Row:
    """What the table says of a state or a marker."""

    key: str
    """Code name, used in parameters and the registry (``"treg"``; for a marker its boolean column)."""
    label: str
    """Display name in figures, the app and the docs (``"Treg"``)."""
    colour: str
    """Colour in every picture (hex)."""
    column: str
    """Trajectory column of the number of cells with it on the grid."""
    secretes: str | None = None
    """Row of ``biology.secretion`` it secretes with (``None``: no secretion)."""
    source: str = ""
    """Why it secretes what it does (citation), or what defines it."""
    short: str = ""
    """Short name in transition names (``"naive"`` in ``naive -> Treg``); default: the label."""
    channel: str | None = None
    """``"contact"``: counts as a suppressor contact of its neighbours; ``"efferocytosis"``: is engulfed."""

    @property
    def name(self) -> str:
        return self.short or self.label


@dataclass(frozen=True)
class CellState(Row):
    """One state of a cell type (its code is its index in :attr:`CellType.states`)."""


@dataclass(frozen=True)
class Marker(Row):
    """A flag a cell carries beside its state (a boolean column), drawn and secreting as its own kind."""


@dataclass(frozen=True)
class CellType:
    """A population of the model: its states, markers and extra per-cell columns."""

    key: str
    """Population name (``model.<key>``, checkpoint array prefix)."""
    label: str
    states: tuple[CellState, ...]
    markers: tuple[Marker, ...] = ()
    columns: dict[str, type] = field(default_factory=dict)
    """Per-cell columns besides position, state and markers (name -> numpy dtype)."""
    secretion_weight: str | None = None
    """Column that multiplies the secretion of each cell (MSC potency), or ``None``."""
    app_size: float = 8.0
    """Marker area (points^2) in the app's tissue picture."""
    capacity: int = 256
    """Initial row capacity of the population's arrays."""

    def code(self, key: str) -> int:
        """The state code of ``key``."""
        for i, s in enumerate(self.states):
            if s.key == key:
                return i
        raise KeyError(f"{self.key} has no state {key!r} (states: {', '.join(s.key for s in self.states)})")

    def codes(self, *keys: str) -> tuple[int, ...]:
        """State codes of several keys, in order."""
        return tuple(self.code(k) for k in keys)

    def population(self) -> Population:
        """An empty population with this type's columns."""
        cols: dict[str, type] = {**POSITION, "state": np.int8}
        cols.update({m.key: np.bool_ for m in self.markers})
        cols.update(self.columns)
        return Population(self.key, cols, self.capacity)


SECRETION = "a cell-state -> mediator link; the rate is a parameter of biology.secretion"

TCELLS = CellType("tcells", "CD4 T cell", (
    CellState("naive", "naive CD4 T", "#a6a6a6", "tissue_naive", None, "unpolarised CD4 T cell", "naive"),
    CellState("th17", "Th17", "#d62728", "tissue_th17", "th17",
              "Th17 secrete IL-17, IL-6 and TNF (Korn T 2009 Annu Rev Immunol)"),
    CellState("treg", "Treg", "#1f77b4", "tissue_treg", "treg",
              "Treg secrete TGF-beta and IL-10 (Sakaguchi S 2008 Cell); they suppress neighbours by contact "
              "(Huber S 2011 Immunity; Lim HW 2005 J Immunol)", channel="contact"),
    CellState("itreg", "induced Treg", "#9ecae1", "tissue_itreg", "itreg",
              "TGF-beta-induced FOXP3+ cells, unstable and often weakly suppressive in humans (Tran DQ 2007 "
              "Blood): half the committed Treg's secretion, no contact suppression (assumption)", short="iTreg"),
    CellState("tr1", "Tr1", "#17becf", "tissue_tr1", "tr1",
              "IL-10-producing FOXP3- regulatory T cells (Gagliani N 2015 Nature; Roncarolo MG 2006 Immunol "
              "Rev)"),
    CellState("treg_mem", "resident memory Treg", "#08306b", "tissue_treg_mem", "treg_mem",
              "Treg activated by self antigen in the tissue stay there as more potent suppressors (Rosenblum MD "
              "2011 Nature): 1.5x the committed Treg's secretion (assumption); never in blood", channel="contact",
              short="mTreg"),
), columns={"age_h": np.float64}, app_size=9.0)

MACROPHAGES = CellType("macrophages", "macrophage", (
    CellState("m1", "M1 macrophage", "#ff7f0e", "tissue_m1", "m1",
              "classically activated macrophages secrete IL-6 and TNF (Murray PJ 2014 Immunity)", "M1"),
    CellState("m2", "M2 macrophage", "#2ca02c", "tissue_m2", "m2",
              "alternatively activated macrophages secrete IL-10 and TGF-beta (Mantovani A 2004 Trends Immunol)",
              "M2"),
), markers=(
    Marker("ido_pos", "IDO+ phagocyte", "#9467bd", "tissue_ido_macrophages", "ido_phagocyte",
           "phagocytes that engulfed apoptotic MSC express IDO (Galleu A 2017 Sci Transl Med)"),
), columns={"age_h": np.float64}, app_size=16.0)

BCELLS = CellType("bcells", "B cell", (
    CellState("b", "B cell", "#8c564b", "tissue_b", None, "naive/activated B cell", "B"),
    CellState("plasma", "plasma cell", "#e377c2", "tissue_plasma", None,
              "antibody-secreting cell; feeds the autoantibody index, secretes no field"),
    CellState("breg", "regulatory B cell", "#c49c94", "tissue_breg", "breg",
              "IL-10+ CD24hiCD38hi regulatory B cells (Rosser EC & Mauri C 2015 Immunity)", short="Breg"),
), columns={"age_h": np.float64}, app_size=6.0)

MSC = CellType("msc", "MSC", (
    CellState("resting", "resting MSC", "#ffffff", "msc_tissue_resting", "msc_resting",
              "unlicensed MSC secrete PGE2 and TGF-beta constitutively (Aggarwal S 2005 Blood); viable MSC "
              "suppress by contact as well", channel="contact"),
    CellState("licensed", "licensed MSC", "#ffd92f", "msc_tissue_licensed", "msc_licensed",
              "IFN-gamma/TNF-licensed MSC express IDO and COX-2 (Krampera M 2006 Stem Cells; Ren G 2008 "
              "Cell Stem Cell)", channel="contact"),
    CellState("apoptotic", "apoptotic MSC", "#7f7f7f", "msc_tissue_apoptotic", None,
              "acts only by being engulfed (Galleu A 2017 Sci Transl Med)", channel="efferocytosis"),
), columns={"potency": np.float64, "state_h": np.float64}, secretion_weight="potency", app_size=60.0,
    capacity=16)

CELL_TYPES: tuple[CellType, ...] = (TCELLS, MACROPHAGES, BCELLS, MSC)
"""Every population of the tissue, in the model's (and the recorder's) order."""


def cell_type(key: str) -> CellType:
    """The cell type called ``key``."""
    for ct in CELL_TYPES:
        if ct.key == key:
            return ct
    raise KeyError(f"no cell type {key!r} (types: {', '.join(c.key for c in CELL_TYPES)})")


@dataclass(frozen=True)
class Category:
    """One colour class of the tissue pictures: a state, or a marker that overrides its cell's state."""

    cell_type: str
    key: str
    label: str
    colour: str


def immune_categories() -> tuple[Category, ...]:
    """The colour classes of every non-MSC cell (states, then markers, type by type); MSC are drawn apart
    (as stars, by state)."""
    out: list[Category] = []
    for ct in CELL_TYPES:
        if ct is MSC:
            continue
        out += [Category(ct.key, s.key, s.label, s.colour) for s in ct.states]
        out += [Category(ct.key, m.key, m.label, m.colour) for m in ct.markers]
    return tuple(out)


def categories_of(ct: CellType, pop: Population) -> np.ndarray:
    """Index into :func:`immune_categories` of every cell of ``pop`` (a marker wins over the state)."""
    cats = immune_categories()
    first = next(i for i, c in enumerate(cats) if c.cell_type == ct.key)
    out = first + pop.state.astype(np.int64)
    for m in ct.markers:
        index = next(i for i, c in enumerate(cats) if c.cell_type == ct.key and c.key == m.key)
        out = np.where(getattr(pop, m.key), index, out)
    return out


def secreting() -> list[tuple[CellType, CellState | Marker]]:
    """(cell type, state or marker) of every row that secretes, in deposit order (states then markers)."""
    out: list[tuple[CellType, CellState | Marker]] = []
    for ct in CELL_TYPES:
        out += [(ct, s) for s in ct.states if s.secretes]
        out += [(ct, m) for m in ct.markers if m.secretes]
    return out


def channel_states(channel: str) -> list[tuple[CellType, CellState]]:
    """(cell type, state) of every state that takes part in ``channel`` (``contact``, ``efferocytosis``)."""
    return [(ct, s) for ct in CELL_TYPES for s in ct.states if s.channel == channel]
