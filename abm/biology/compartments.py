"""Well-mixed compartments linked to the tissue: blood (circulating CD4 T cells) and lung.

Most IV-infused MSC lodge in the lung, are licensed there, die within about a day and are
engulfed by lung phagocytes, which keep an IDO+ regulatory phenotype (Galleu A 2017 Sci Transl
Med).  Circulating CD4 T cells see systemic levels built from those phagocytes, the short-lived
lung MSC, blood Treg (infectious tolerance) and the inflamed tissue.  Trials measure Treg % and
Th17 % here.  Transfers between compartments form a small directed graph (:func:`graph`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass  # noqa: F401  (asdict re-used by model)

import networkx as nx
import numpy as np

from abm.biology.levels import Levels
from abm.biology.parameters import MEDIATORS, Systemic
from abm.biology.rules import tcells as t
from abm.biology.rules.custom import Signals
from abm.biology.rules.macrophages import M2
from abm.biology.secretion import vector
from abm.engine.hazards import binomial_fates, prob


@dataclass
class Blood:
    """Representative pool of circulating CD4 T cells (counts)."""

    naive: int
    th17: int
    treg: int
    itreg: int = 0
    """Induced (unstable) Treg (``biology.branches.treg_commitment``)."""
    tr1: int = 0
    """IL-10+ FOXP3- Tr1 (``biology.branches.tr1``)."""
    treg_mem: int = 0
    """Resident memory Treg (``biology.branches.treg_memory``): they stay in the tissue, so 0 here unless
    ``tcells.treg_memory_egress_per_h`` lets some out."""

    @property
    def total(self) -> int:
        """All CD4 in the pool."""
        return self.naive + self.th17 + self.treg + self.itreg + self.tr1 + self.treg_mem

    @property
    def foxp3(self) -> int:
        """Cells counted as Treg (CD25+FOXP3+): committed, induced and memory."""
        return self.treg + self.itreg + self.treg_mem

    def counts(self) -> list[int]:
        """Counts in T-cell state order (:data:`abm.biology.rules.tcells.CODES`)."""
        return [int(getattr(self, key)) for key in t.CODES]


@dataclass
class LungState:
    """MSC and phagocytes in the lung (counts of real cells for the patient)."""

    msc_resting: float = 0.0
    msc_licensed: float = 0.0
    msc_apoptotic: float = 0.0
    msc_potency: float = 1.0
    phagocytes: float = 1.0
    regulatory: float = 0.0
    efferocytes: float = 0.0
    """Monocytes that engulfed apoptotic MSC and left the lung (``biology.persistence: relay`` only)."""

    @property
    def msc_alive(self) -> float:
        """Viable MSC in the lung."""
        return self.msc_resting + self.msc_licensed

    @property
    def regulatory_fraction(self) -> float:
        """Fraction of lung phagocytes in the IDO+ regulatory state."""
        return self.regulatory / self.phagocytes

    @property
    def efferocyte_fraction(self) -> float:
        """Efferocytes per lung phagocyte (the scale of the long-lived phagocyte's fraction)."""
        return self.efferocytes / self.phagocytes


def initial_blood(p: Systemic) -> Blood:
    """Starting composition before burn-in: an initial condition only (``systemic.initial_*_fraction``);
    the burn-in settles the disease's own steady state."""
    pool = p.pool_cells
    th17, treg = int(p.initial_th17_fraction * pool), int(p.initial_treg_fraction * pool)
    return Blood(naive=pool - th17 - treg, th17=th17, treg=treg)


def systemic_levels(model) -> Levels:
    """Mediator levels (a.u.) seen by circulating T cells.

    IDO/kynurenine and TGF-beta/IL-10 from regulatory lung phagocytes; secretion of viable lung MSC
    (per 1e6 MSC/kg, weighted by product potency); TGF-beta/IL-10 from Treg (infectious tolerance);
    IL-6 and inflammation from the disease's systemic tone and from the inflamed tissue.
    """
    sys_p, lung, blood = model.bio.systemic, model.lung, model.blood
    levels = np.zeros(len(MEDIATORS))
    i = {m: k for k, m in enumerate(MEDIATORS)}
    levels[i["tgfb"]] += sys_p.basal_tgfb
    if model.bio.persistence == "relay":  # efferocytes in lymphoid tissue, each signal with its own gain
        relay, eff = model.bio.relay, lung.efferocyte_fraction
        levels[i["ido"]] += relay.ido_gain * eff
        levels[i["tgfb"]] += relay.tgfb_gain * eff
        levels[i["il10"]] += relay.il10_gain * eff
        levels[i["pge2"]] += relay.pge2_gain * eff
    else:  # long-lived regulatory lung phagocytes
        reg = lung.regulatory_fraction
        levels[i["ido"]] += sys_p.regulatory_phagocyte_ido * reg
        levels[i["tgfb"]] += sys_p.regulatory_phagocyte_tgfb * reg
        levels[i["il10"]] += sys_p.regulatory_phagocyte_tgfb * reg
    per_kg_m = 1e6 * model.patient.body_weight_kg
    table = model.secretion
    levels += sys_p.lung_msc_gain * lung.msc_potency * (
        lung.msc_resting / per_kg_m * vector(table.msc_resting)
        + lung.msc_licensed / per_kg_m * vector(table.msc_licensed))
    treg_frac = blood.treg / max(blood.total, 1)
    regulatory = sys_p.treg_tgfb_gain * treg_frac * model.disease.treg_function
    levels[i["tgfb"]] += regulatory
    levels[i["il10"]] += regulatory
    tissue_mean = model.space.fields.mean(axis=(1, 2))
    drive = model.inflammation_factor * model.disease_scale  # co-medication; the damage loop (1 when off)
    levels[i["il6"]] += (model.disease.systemic_il6 * drive
                         + sys_p.tissue_inflammation_gain * tissue_mean[i["il6"]])
    levels[i["infl"]] += (model.disease.systemic_inflammation * drive
                          + sys_p.tissue_inflammation_gain * tissue_mean[i["infl"]])
    levels[model.blocked_mediators] = 0.0
    return Levels.from_rows(levels)


def step_lung(model, s: Levels) -> dict[str, int]:
    """Licensing, death and efferocytosis of lung MSC; reversal of regulatory phagocytes.

    Infused MSC trapped in the lung die within hours and are engulfed by recipient phagocytes, which turn
    IDO+ and regulatory (Galleu A 2017 Sci Transl Med).  They lose that state with half-life
    ``lung.regulatory_half_life_days``, faster under systemic inflammation (assumption: the disease
    reprograms them, gain ``lung.inflammation_reversal_gain``; no study has timed it).
    """
    lung, p, rng, dt = model.lung, model.bio, model.rngs.lung, model.dt_h
    sig = Signals(s)
    rate = lambda state, behaviour: float(model.rules.rate("msc", state, behaviour, sig))  # noqa: E731
    lic, die_r = binomial_fates(int(lung.msc_resting), [rate("resting", "to:licensed"),
                                                        rate("resting", "to:apoptotic")], dt, rng)
    die_l = rng.binomial(int(lung.msc_licensed), float(prob(rate("licensed", "to:apoptotic"), dt)))
    if model.blockades.no_efferocytosis:
        eaten = 0
        decayed = rng.binomial(int(lung.msc_apoptotic), float(prob(rate("apoptotic", "cleared"), dt)))
    else:
        eaten, decayed = binomial_fates(int(lung.msc_apoptotic), [
            rate("apoptotic", "engulfed"), rate("apoptotic", "cleared")], dt, rng)
    lung.msc_resting -= lic + die_r
    lung.msc_licensed += lic - die_l
    lung.msc_apoptotic += die_r + die_l - eaten - decayed
    events = {"lung_msc_engulfed": int(eaten), "lung_msc_licensed": int(lic)}
    if p.persistence == "relay":
        landed = _relay(model, eaten * p.lung.phagocytes_per_msc, sig)
        if landed:  # no key otherwise: an untreated model's event log is the same under either hypothesis
            events["efferocytes_to_tissue"] = landed
    else:
        reversal = float(model.rules.rate("lung_phagocytes", "regulatory", "lose:regulatory", sig))
        lost = lung.regulatory * float(prob(reversal, dt))
        gained = min(eaten * p.lung.phagocytes_per_msc, lung.phagocytes - lung.regulatory)
        lung.regulatory += gained - lost
    if lung.msc_alive + lung.msc_apoptotic == 0:
        lung.msc_potency = 1.0
    return events


def _relay(model, formed: float, sig: Signals) -> int:
    """Efferocytes formed in the lung this step join the pool, which dies at the rule table's rate; their
    ``relay.tissue_share`` that goes to the inflamed tissue lands in the slice (its volume share) as IDO+ M2
    macrophages, which follow the macrophage rules from there.  Returns how many landed."""
    lung, rng, dt = model.lung, model.rngs.lung, model.dt_h
    death = float(model.rules.rate("efferocytes", "active", "death", sig))
    lung.efferocytes = lung.efferocytes * (1.0 - float(prob(death, dt))) + formed
    if formed <= 0:
        return 0
    k = int(rng.poisson(formed * model.bio.relay.tissue_share * model.slice_share))
    x, y = model.space.random_free(k, rng)
    model.space.claim(x, y)
    model.macrophages.add(x=x, y=y, state=np.full(x.size, M2, np.int8), ido_pos=True, age_h=0.0)
    return int(x.size)


def blood_plan(rules) -> tuple[list[list[tuple[str, int]]], list[bool]]:
    """Per T-cell state, the transitions the model's rules allow ((behaviour, target state), in
    :data:`~abm.biology.rules.tcells.TRANSITIONS` order but for the tissue-only ones, death last) and whether
    it divides.  A state with no
    rule at all (the new branches switched off) is left out, so its pool draws nothing."""
    fates: list[list[tuple[str, int]]] = []
    divides: list[bool] = []
    for key in t.CODES:
        has = lambda b, key=key: (("tcells", key, b) in rules.rules or ("tcells", "*", b) in rules.rules)  # noqa: E731
        moves = [(b, t.CODES[b[3:]]) for b in t.TRANSITIONS
                 if ("tcells", key, b) in rules.rules and b not in t.TISSUE_ONLY]
        fates.append([*moves, ("death", -1)] if moves or has("death") else [])
        divides.append(has("divide"))
    return fates, divides


def step_blood(model, s: Levels) -> dict[str, int]:
    """Fates of circulating CD4 T cells with the same laws as on the grid, and tissue exchange.

    Every state's fates are drawn first (state by state, :func:`blood_plan`), then the divisions, then the
    cells returning from the tissue; a pool of the new branches draws only when its rules are on or its cells
    came back."""
    b, rng, dt = model.blood, model.rngs.blood, model.dt_h
    total = max(b.total, 1)
    sig = Signals(s, fractions={"th17": b.th17 / total, "treg": b.foxp3 / total},
                  proliferation_factor=model.proliferation_factor,
                  disease_scale=model.disease_scale)
    rate = lambda state, behaviour: float(model.rules.rate("tcells", state, behaviour, sig))  # noqa: E731
    fates, divides = blood_plan(model.rules)
    keys = list(t.CODES)
    counts = b.counts()
    change = [0] * len(keys)
    for code, plan in enumerate(fates):
        if not plan:
            continue
        moved = binomial_fates(counts[code], [rate(keys[code], behaviour) for behaviour, _ in plan], dt, rng)
        for (_, target), k in zip(plan, moved, strict=True):
            change[code] -= int(k)
            if target >= 0:
                change[target] += int(k)
    for code, divides_here in enumerate(divides):
        if divides_here:
            change[code] += int(rng.binomial(counts[code], float(prob(rate(keys[code], "divide"), dt))))
    # cells returning from the tissue
    w = model.bio.trafficking.tissue_to_blood_weight
    back = model.take_egress()
    for code in range(len(keys)):
        if code in (t.NAIVE, t.TH17, t.TREG) or back[code]:
            change[code] += int(rng.binomial(back[code], w))
    for code, key in enumerate(keys):
        setattr(b, key, int(counts[code] + change[code]))
    # homeostasis keeps the circulating CD4 count at its set point (IL-7-driven replenishment of
    # naive cells; Surh CD & Sprent J 2008 Immunity): the pool is topped up with naive cells
    b.naive += max(model.bio.systemic.pool_cells - b.total, 0)
    return {}


def draw_ingress_states(model, k: int) -> np.ndarray:
    """States of ``k`` CD4 T cells entering the tissue from blood (Th17 home preferentially,
    Hirota K 2007 J Exp Med); the blood pool loses their weighted share."""
    b = model.blood
    weights = ingress_weights(model)
    if k == 0:
        return np.zeros(0, np.int8)
    if weights.sum() == 0:  # an emptied pool: recruits are fresh naive cells
        return np.full(k, t.NAIVE, np.int8)
    states = model.rngs.traffic.choice(weights.size, size=k, p=weights / weights.sum()).astype(np.int8)
    w = model.bio.trafficking.tissue_to_blood_weight
    for state, name in enumerate(t.CODES):
        n = int((states == state).sum())
        if state in (t.NAIVE, t.TH17, t.TREG) or n:  # the new states draw only when they are there
            leave = model.rngs.traffic.binomial(n, w)
            setattr(b, name, max(getattr(b, name) - leave, 0))
    return states


def ingress_weights(model) -> np.ndarray:
    """Relative chance of each T-cell state (code order) to enter the tissue: its blood count, Th17 weighted by
    ``trafficking.th17_homing_bias``."""
    weights = np.array(model.blood.counts(), float)
    weights[t.TH17] *= model.bio.trafficking.th17_homing_bias
    return weights


def graph() -> nx.DiGraph:
    """Compartments and transfers; edges name the parameters they use."""
    g = nx.DiGraph()
    g.add_node("blood", kind="well-mixed", holds="circulating CD4 T cells")
    g.add_node("lung", kind="well-mixed", holds="trapped MSC, phagocytes")
    g.add_node("tissue", kind="grid", holds="all cell types and fields")
    g.add_edge("blood", "lung", carries="IV-infused MSC", parameters=["delivery.lung_trap_fraction_iv"])
    g.add_edge("blood", "tissue", carries="MSC passing the lung; T cells; B cells; monocytes",
               parameters=["delivery.homing_fraction_to_inflamed", "trafficking.t_ingress_per_mm2_per_h",
                           "trafficking.th17_homing_bias", "trafficking.b_ingress_per_mm2_per_h"])
    g.add_edge("tissue", "blood", carries="T cells via lymph; inflammation signal",
               parameters=["trafficking.t_egress_per_h", "trafficking.tissue_to_blood_weight",
                           "systemic.tissue_inflammation_gain"])
    g.add_edge("lung", "blood", carries="kynurenine, TGF-beta, IL-10 of regulatory phagocytes (long_lived_phagocyte) "
               "or of efferocytes in lymphoid tissue (relay), and of MSC",
               parameters=["systemic.regulatory_phagocyte_ido", "systemic.regulatory_phagocyte_tgfb",
                           "systemic.lung_msc_gain", "relay.ido_gain", "relay.tgfb_gain", "relay.il10_gain",
                           "relay.pge2_gain"])
    g.add_edge("lung", "tissue", carries="efferocytes (relay): IDO+ M2 macrophages from then on",
               parameters=["relay.tissue_share"])
    return g

