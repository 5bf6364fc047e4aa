"""The top-level scenario: a patient, a disease, the simulation settings and one or more arms."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from abm.biology.disease import Disease
from abm.biology.parameters import Biology
from abm.biology.patient import Patient
from abm.biology.treatment import Treatment
from abm.clinical.params import Observation
from abm.config.names import RunName
from abm.params import Section, param


class Simulation(Section):
    """Time settings."""

    days: float = param(180.0, "days", "follow-up of the trials (LIU11-TH17-180)", gt=0, le=3650)
    burn_in_days: float = param(
        120.0, "days", "assumption: long enough for the untreated state to settle (> 5 Treg/Th17 "
        "half-lives); not recorded as treatment time", ge=0, le=3650)
    burn_in_mode: Literal["fixed", "settled"] = param(
        "fixed", "-", "fixed: burn_in_days of untreated steps from the initial condition; settled: the same, "
        "but 20 days before the end B cells, plasma cells and the autoantibody index are set to their "
        "quasi-steady state (abm.burn_in): 90 settled days end nearer steady state than 120 fixed ones")
    burn_in_tolerance: float = param(
        0.05, "fraction", "assumption: the manifest calls an observable stationary when its mean changed by "
        "under 5 % between the two 10-day halves of the last 20 days (or by under 3 standard errors of "
        "the day-to-day noise)", gt=0, le=1)
    dt_h: float = param(
        2.0, "h", "agent step; fast fates (licensing, MSC death) take 12-24 h", gt=0, le=12)
    record_every_h: float = param(24.0, "h", "one trajectory row per simulated day", gt=0)
    field_coarsening: int = param(
        1, "voxels", "numerical option, not biology: fields are solved on blocks this many voxels wide and "
        "interpolated back (abm.engine.fields.CoarsenedSolver); 1 = the tissue grid itself; 2 smooths fields over "
        "2 voxels (diffusion lengths are 7.5-10 voxels) and solves 4x fewer voxels", ge=1, le=8,
        doc="field grid coarsening factor")

    @model_validator(mode="after")
    def _settled_length(self) -> Simulation:
        if self.burn_in_mode == "settled" and self.burn_in_days < 40:
            raise ValueError(f"simulation.burn_in_days ({self.burn_in_days}) must be at least 40 with "
                             f"burn_in_mode settled (T cells and macrophages settle before the fast-forward)")
        return self

    @model_validator(mode="after")
    def _whole_steps(self) -> Simulation:
        for key, hours in (("record_every_h", self.record_every_h), ("days", self.days * 24),
                           ("burn_in_days", self.burn_in_days * 24)):
            ratio = hours / self.dt_h
            if abs(ratio - round(ratio)) > 1e-6 or (key == "record_every_h" and round(ratio) < 1):
                raise ValueError(
                    f"simulation.{key} ({getattr(self, key)}) must be a whole multiple of one step, "
                    f"simulation.dt_h ({self.dt_h} h)")
        return self


class Tissue(Section):
    """The modelled patch of inflamed tissue."""

    width_voxels: int = param(100, "voxels", "assumption: a 2 mm patch at 20 um voxels, one cell per voxel", ge=4,
        le=2000)
    height_voxels: int = param(100, "voxels", "assumption: a 2 mm patch at 20 um voxels, one cell per voxel", ge=4,
        le=2000)
    voxel_um: float = param(20.0, "um", "about one leukocyte diameter (assumption: one cell per voxel)", gt=0)
    tcell_density: float = param(
        0.15, "cells/voxel", "assumption: dense lymphocytic infiltrate of active synovitis/nephritis",
        ge=0, le=0.9)
    macrophage_density: float = param(
        0.1, "cells/voxel", "assumption: macrophage-rich lining/infiltrate", ge=0, le=0.9)
    bcell_density: float = param(0.04, "cells/voxel", "assumption", ge=0, le=0.9)


SETTLED_RELAX_DAYS = 20
"""Days a settled burn-in runs after its fast-forward (``abm.burn_in.RELAX_DAYS``)."""


class Scenario(Section):
    """A complete, validated scenario."""

    name: RunName = param("scenario", "-", "label used in run directories and reports")
    seed: int = param(20261127, "-", "root seed of numpy SeedSequence", ge=0)
    simulation: Simulation = Field(default_factory=Simulation)
    tissue: Tissue = Field(default_factory=Tissue)
    patient: Patient = Field(default_factory=Patient)
    disease: Disease = Field(default_factory=lambda: Disease(preset="sle"))
    biology: Biology = Field(default_factory=Biology)
    arms: dict[str, Treatment] = Field(
        default_factory=lambda: {"msc": Treatment(), "untreated": Treatment(control="untreated")})
    observation: Observation = Field(default_factory=Observation)
    findings: list[str] = param([], "-", "finding ids of shared trials this scenario speaks to")

    @model_validator(mode="after")
    def _field_blocks(self) -> Scenario:
        f = self.simulation.field_coarsening
        for key in ("width_voxels", "height_voxels"):
            if getattr(self.tissue, key) % f:
                raise ValueError(f"tissue.{key} ({getattr(self.tissue, key)}) must be a multiple of "
                                 f"simulation.field_coarsening ({f})")
        return self

    @model_validator(mode="after")
    def _damage_reference(self) -> Scenario:
        d = self.biology.damage
        if d.enabled and self.simulation.burn_in_days < 2 * d.reference_days:
            raise ValueError(f"simulation.burn_in_days ({self.simulation.burn_in_days}) must be at least twice "
                             f"biology.damage.reference_days ({d.reference_days}) when biology.damage.enabled: the "
                             f"burn-in measures the untreated activity that D = 1 stands for")
        if d.enabled and self.simulation.burn_in_mode == "settled" and d.reference_days > SETTLED_RELAX_DAYS:
            raise ValueError(f"biology.damage.reference_days ({d.reference_days}) must be at most "
                             f"{SETTLED_RELAX_DAYS} with simulation.burn_in_mode settled: the reference is measured "
                             f"after the slow compartments are fast-forwarded")
        return self

    @field_validator("arms")
    @classmethod
    def _arms(cls, arms: dict[str, Treatment]) -> dict[str, Treatment]:
        if not arms:
            raise ValueError("at least one arm is needed")
        for name in arms:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"arm name {name!r} must be letters, digits, '-' or '_'")
        return arms

    @model_validator(mode="after")
    def _schedule_in_window(self) -> Scenario:
        for name, arm in self.arms.items():
            if not arm.gives_cells:
                continue
            late = [d for d in arm.schedule.infusion_days() if d >= self.simulation.days]
            if late:
                raise ValueError(
                    f"arms.{name}.schedule: infusion day(s) {late} fall at or after the end of the run "
                    f"(simulation.days = {self.simulation.days}); allowed: 0 <= day < simulation.days")
        return self
