"""The patient: what a person brings to the model beside the disease (body size, host responses).

Part of the biology (rules read ``patient.*`` parameters, :mod:`abm.biology.rules.evaluate`); a scenario
holds one as its ``patient`` section.
"""

from __future__ import annotations

from typing import Literal

from abm.params import Section, param


class Patient(Section):
    """The patient."""

    body_weight_kg: float = param(60.0, "kg", "adult; a child may be 10-40 kg", gt=0, le=300)
    host_cytotoxicity: float = param(
        1.0, "x", "cytotoxic (NK/CD8) activity of the patient's blood against infused MSC, relative to the "
        "reference patient the MSC survival half-life describes: responders' cells killed MSC, non-responders' "
        "barely did (Galleu A 2017 Sci Transl Med); range: assumption (a four-fold spread either way)",
        ge=0, le=10, plausible=(0.25, 4.0))
    trait_seed: int = param(
        0, "-", "identity of the patient for the observation layer (abm.clinical): draws which SLEDAI-2K signs "
        "and joints the disease shows, independently of the simulation seed, so replicates are one patient",
        ge=0)
    background_medication: list[Literal["cyclophosphamide", "steroids", "dmard"]] = param(
        [], "-", "drugs the patient was on before day 0 and stays on in every arm (trials that add MSC to stable "
        "DMARDs or steroids): taken through the burn-in, so day 0 is the disease active despite them; effects: "
        "biology.concomitant")
