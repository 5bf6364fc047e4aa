"""Custom terms: rule factors that do not fit the signal grammar, each registered with its parameters,
the signals it reads and its source (and listed as a row of the rule table like any other term).

A custom term is a function ``(values, signals) -> factor`` multiplying its rule's rate, where ``values``
maps parameter paths to numbers (resolved once per model) and ``signals`` is the :class:`Signals` of the
cells being evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from abm.biology.levels import Levels
from abm.engine.hazards import hill

ArrayLike = np.ndarray | float


@dataclass
class Signals:
    """What the cells being evaluated sense: mediator levels, suppressor contacts, their markers, the
    composition of their population and the arm's treatment modifiers."""

    levels: Levels
    contacts: ArrayLike = 0.0
    """Suppressor cells (Treg, viable MSC) in contact range of each cell."""
    markers: Mapping[str, ArrayLike] = field(default_factory=dict)
    """Marker columns (``"ido_pos"``) of the cells, as booleans."""
    fractions: Mapping[str, float] = field(default_factory=dict)
    """State -> fraction of the population in it (niche and IL-2 competition)."""
    proliferation_factor: float = 1.0
    """Concomitant cyclophosphamide: multiplier on division and differentiation."""
    disease_scale: float = 1.0
    """The damage loop's multiplier on the disease's antigen drive and tones (:mod:`abm.biology.damage`;
    1 when the loop is off)."""


@dataclass(frozen=True)
class CustomTerm:
    """A registered factor: its name (the table's ``signal``), parameters, signals read, source, function."""

    name: str
    parameters: tuple[str, ...]
    reads: tuple[str, ...]
    """Registry nodes it reads (mediators, ``contact``), for the mechanism graph."""
    source: str
    factor: Callable[[Mapping[str, float], Signals], ArrayLike]


def _treg_suppression(v: Mapping[str, float], s: Signals) -> ArrayLike:
    """1 - the fraction of effector expansion suppressed by Treg through contact and IL-10, scaled by the
    disease's Treg function (Valencia X 2007 J Immunol for SLE) and capped at full suppression."""
    top = v["tcells.treg_suppression_max"]
    by_contact = hill(s.contacts, v["tcells.treg_contact_k"], v["tcells.contact_hill"])
    by_il10 = hill(s.levels.il10, v["tcells.il10_half_max"], v["tcells.il10_hill"])
    free = (1.0 - top * by_contact) * (1.0 - top * by_il10)
    return 1.0 - np.minimum(v["disease.treg_function"] * (1.0 - free), 1.0)


def host_lysis(share: float, cytotoxicity: float) -> float:
    """Factor on the MSC death rate for a patient's cytotoxic activity: the spontaneous share stays, the
    host-mediated share scales with the patient's cytotoxicity (1 = the reference patient)."""
    return (1.0 - share) + share * cytotoxicity


CUSTOM_TERMS: dict[str, CustomTerm] = {t.name: t for t in (
    CustomTerm("antigen_drive", ("disease.antigen_drive",), (),
               "disease preset: chronic autoantigen stimulation (scaled by the damage loop when it is on)",
               lambda v, s: v["disease.antigen_drive"] * s.disease_scale),
    CustomTerm("th17_niche", ("tcells.th17_niche_half_fraction",), (),
               "assumption: competition for antigen-presenting niches as Th17 become frequent",
               lambda v, s: 1.0 / (1.0 + s.fractions["th17"] / v["tcells.th17_niche_half_fraction"])),
    CustomTerm("treg_suppression", ("tcells.treg_suppression_max", "tcells.treg_contact_k", "tcells.contact_hill",
                                    "tcells.il10_half_max", "tcells.il10_hill", "disease.treg_function"),
               ("contact", "il10"), "Huber S 2011 Immunity (IL-10 and contact); Valencia X 2007 J Immunol",
               _treg_suppression),
    CustomTerm("il2_competition", ("tcells.treg_il2_k",), (),
               "Setoguchi R 2005 J Exp Med: Treg compete for IL-2 as they become frequent",
               lambda v, s: v["tcells.treg_il2_k"] / (v["tcells.treg_il2_k"] + s.fractions["treg"])),
    CustomTerm("cyclophosphamide", ("concomitant.cyclophosphamide_proliferation",), (),
               "cyclophosphamide arrests dividing lymphocytes (arm co-medication)",
               lambda v, s: s.proliferation_factor),
    CustomTerm("licensed_survival", ("msc.licensed_survival_factor",), (),
               "Spaggiari GM 2006 Blood: licensed MSC resist NK lysis",
               lambda v, s: 1.0 / v["msc.licensed_survival_factor"]),
    CustomTerm("host_lysis", ("msc.host_lysis_share", "patient.host_cytotoxicity"), (),
               "Galleu A 2017 Sci Transl Med: recipient cytotoxic cells kill infused MSC, more in responders",
               lambda v, s: host_lysis(v["msc.host_lysis_share"], v["patient.host_cytotoxicity"])),
    CustomTerm("efferocytosis", ("msc.efferocytosis_radius_voxels",), ("efferocytosis",),
               "Galleu A 2017 Sci Transl Med: needs a phagocyte within reach (the step finds it)",
               lambda v, s: s.markers.get("phagocyte_adjacent", 1.0)),
)}
"""Every custom term, by the name the rule table uses in its ``signal`` column."""
