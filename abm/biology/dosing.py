"""From a clinical prescription to arriving MSC: the explicit dose mapping.

For one infusion of ``N`` cells (``dose.cells_per_kg x body weight`` or ``dose.total_cells``):

* **IV**: ``N x lung_trap_fraction_iv`` lodge in the lung; the rest pass it, a fraction
  ``homing_fraction_to_inflamed`` home to the inflamed tissue, spread over the disease's
  ``inflamed_tissue_volume_ml``; the modelled slice (area x one voxel thick) receives its volume
  share, drawn as a Poisson number.
* **intra-arterial**: ``intra_arterial_first_pass`` of N stay in the target organ on first pass
  (volume share as above); the rest follows the IV path.
* **local**: all N disperse into ``local_injection_volume_ml`` around the slice; none reach the lung.

Potency (a multiplier on MSC secretion) falls with passage beyond 4 and, for autologous cells of a
disease whose MSC are impaired (SLE), by ``autologous_disease_potency``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from abm.biology.parameters import Concomitant
from abm.biology.treatment import Treatment

if TYPE_CHECKING:  # the scenario is the config layer's (above the biology): a type only
    from abm.config import Scenario


@dataclass(frozen=True)
class Infusion:
    """One infusion, resolved into where the cells go."""

    day: float
    total_cells: float
    to_lung: float
    tissue_expected: float
    potency: float
    licensed: bool


def slice_volume_ml(scenario: Scenario) -> float:
    """Volume of the modelled slice in mL (1 mL = 1000 mm3)."""
    t = scenario.tissue
    area_mm2 = t.width_voxels * t.height_voxels * (t.voxel_um / 1000.0) ** 2
    return area_mm2 * scenario.biology.delivery.slice_thickness_um / 1000.0 / 1000.0


def potency(scenario: Scenario, arm: Treatment) -> float:
    """Secretory potency of the product relative to a reference allogeneic passage-4 product."""
    d = scenario.biology.delivery
    value = 1.0 - d.passage_potency_loss * max(0, arm.product.passage - d.passage_reference)
    if arm.product.donor == "autologous" and scenario.disease.autologous_msc_impaired:
        value *= d.autologous_disease_potency
    return max(value, 0.0)


def plan(scenario: Scenario, arm: Treatment) -> list[Infusion]:
    """The infusions of an arm (empty for control arms)."""
    if not arm.gives_cells:
        return []
    d = scenario.biology.delivery
    share = slice_volume_ml(scenario) / scenario.disease.inflamed_tissue_volume_ml
    total = arm.dose.total(scenario.patient.body_weight_kg)
    if arm.route == "iv":
        first_pass, rest = 0.0, total
    elif arm.route == "intra_arterial":
        first_pass, rest = total * d.intra_arterial_first_pass, total * (1 - d.intra_arterial_first_pass)
    else:  # local
        first_pass, rest = 0.0, 0.0
    to_lung = rest * d.lung_trap_fraction_iv
    homing = rest * (1 - d.lung_trap_fraction_iv) * d.homing_fraction_to_inflamed
    tissue = (first_pass + homing) * share
    if arm.route == "local":
        tissue = total * slice_volume_ml(scenario) / d.local_injection_volume_ml
    pot = potency(scenario, arm)
    return [Infusion(day, total, to_lung, tissue, pot, arm.product.licensed_ex_vivo)
            for day in arm.schedule.infusion_days()]


def comedication(c: Concomitant, arm: Treatment, background: Iterable[str] = ()) -> tuple[float, float]:
    """(proliferation factor, inflammation factor) of an arm's co-medication: cyclophosphamide slows
    lymphocyte division and differentiation; steroids and DMARDs lower the inflammatory tone (the
    ``biology.concomitant`` parameters).  ``background`` (``patient.background_medication``) is taken before
    day 0 and in every arm; a drug named there and by the arm counts once."""
    drugs = set(arm.concomitant) | set(background)
    proliferation = c.cyclophosphamide_proliferation if "cyclophosphamide" in drugs else 1.0
    inflammation = 1.0
    if "steroids" in drugs:
        inflammation *= c.steroid_inflammation
    if "dmard" in drugs:
        inflammation *= c.dmard_inflammation
    return proliferation, inflammation
