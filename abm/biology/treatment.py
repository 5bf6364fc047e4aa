"""Treatment in clinical units: product, dose, route, schedule, co-medication, controls, blockades."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from abm.params import Section, param


class Product(Section):
    """The MSC product."""

    source: Literal["bone_marrow", "umbilical_cord", "adipose"] = param(
        "umbilical_cord", "-", "tissue of origin; outcomes comparable across sources (Jones OY, McCurdy D 2022 "
        "Front Pediatr (review), ref 51)")
    donor: Literal["allogeneic", "autologous"] = param("allogeneic", "-", "donor")
    passage: int = param(4, "passages", "Jones OY, McCurdy D 2022 Front Pediatr (review): protocols use passage < 6",
        ge=1, le=15)
    licensed_ex_vivo: bool = param(
        False, "-", "pre-licensed with IFN-gamma before infusion: the cells arrive licensed (IFN-gamma induces IDO in "
        "MSC: Meisel R 2004 Blood; Krampera M 2006 Stem Cells)")


class Dose(Section):
    """A dose per infusion: give exactly one of cells_per_kg or total_cells."""

    cells_per_kg: float | None = param(
        None, "cells/kg", "Jones OY, McCurdy D 2022 Front Pediatr (review): usually 1-2e6 cells/kg", gt=0, le=1e8)
    total_cells: float | None = param(None, "cells", "fixed doses, e.g. 4e7 (Wang L 2013)", gt=0, le=1e11)

    @model_validator(mode="after")
    def _one_of(self) -> Dose:
        if (self.cells_per_kg is None) == (self.total_cells is None):
            raise ValueError("give exactly one of dose.cells_per_kg or dose.total_cells")
        return self

    def total(self, body_weight_kg: float) -> float:
        """Cells per infusion."""
        if self.total_cells is not None:
            return float(self.total_cells)
        return float(self.cells_per_kg) * body_weight_kg  # type: ignore[operator]


class Schedule(Section):
    """Infusion days: an explicit list, or ``every_days`` x ``times`` from ``start_day``."""

    days: list[float] | None = param(None, "days after burn-in", "trial protocol")
    every_days: float | None = param(None, "days", "trial protocol", gt=0)
    times: int | None = param(None, "infusions", "trial protocol", ge=1, le=100)
    start_day: float = param(0.0, "days", "trial protocol", ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        explicit = self.days is not None
        periodic = self.every_days is not None or self.times is not None
        if explicit == periodic:
            raise ValueError(
                "give either schedule.days (a list) or schedule.every_days with schedule.times")
        if periodic and (self.every_days is None or self.times is None):
            raise ValueError("schedule.every_days and schedule.times go together")
        if explicit:
            if not self.days:
                raise ValueError("schedule.days is empty; give at least one infusion day")
            if any(d < 0 for d in self.days):
                raise ValueError(f"schedule.days must be >= 0, got {self.days}")
            if sorted(self.days) != list(self.days) or len(set(self.days)) != len(self.days):
                raise ValueError(f"schedule.days must be strictly increasing, got {self.days}")
        return self

    def infusion_days(self) -> list[float]:
        """The infusion days, sorted."""
        if self.days is not None:
            return list(self.days)
        return [self.start_day + i * self.every_days for i in range(self.times)]  # type: ignore[operator]


class Blockades(Section):
    """Pharmacological or genetic blockades for hypothesis tests (each removes a pathway everywhere)."""

    ido_inhibitor: bool = param(False, "-", "1-methyl-tryptophan-like: no IDO activity from any source")
    cox2_inhibitor: bool = param(False, "-", "no PGE2 from any source")
    anti_tgfb: bool = param(False, "-", "neutralising antibody: no active TGF-beta from any source")
    no_efferocytosis: bool = param(False, "-", "apoptotic MSC are not engulfed by phagocytes")
    no_contact: bool = param(False, "-", "no contact-dependent suppression (MSC or Treg)")
    msc_tgfb_knockdown: bool = param(
        False, "-", "the product's MSC make no TGF-beta (knockdown); TGF-beta of the host's cells is untouched "
        "(unlike anti_tgfb)")


class Treatment(Section):
    """One arm's treatment."""

    control: Literal["none", "untreated", "vehicle", "conditioned_medium"] = param(
        "none", "-", "'none' = MSC are given; otherwise a control arm without cells")
    product: Product = Field(default_factory=Product)
    dose: Dose = Field(default_factory=lambda: Dose(cells_per_kg=1e6))
    route: Literal["iv", "intra_arterial", "local"] = param("iv", "-", "Jones OY, McCurdy D 2022 Front Pediatr "
        "(review): IV most common")
    schedule: Schedule = Field(default_factory=lambda: Schedule(days=[0.0]))
    concomitant: list[Literal["cyclophosphamide", "steroids", "dmard"]] = param(
        [], "-", "co-medication during the whole run")
    blockades: Blockades = Field(default_factory=Blockades)

    @property
    def gives_cells(self) -> bool:
        """Whether MSC are infused in this arm."""
        return self.control == "none"
