"""CD4 T-cell rules: naive (unpolarised) -> Treg or Th17, plasticity, expansion, death.

Each law returns a hazard in 1/h from the levels a cell senses; the same laws drive cells on the
grid and counts in the blood compartment.
"""

from __future__ import annotations

import numpy as np

from abm.biology.cells import TCELLS
from abm.biology.levels import Levels
from abm.biology.parameters import TCells
from abm.engine.hazards import competing_fates, hill, per_h, prob

NAIVE, TH17, TREG = TCELLS.codes("naive", "th17", "treg")


def treg_induction(p: TCells, s: Levels) -> np.ndarray | float:
    """High TGF-beta without IL-6 induces Foxp3 (Zhou L 2008 Nature); IL-6 blocks it (Bettelli E
    2006 Nature); IDO-derived kynurenine favours Treg through AhR (Mezrich JD 2010 J Immunol)."""
    return (p.treg_induction_per_h * hill(s.tgfb)
            * (1.0 + p.kynurenine_treg_boost * hill(s.ido))
            * (1.0 - p.il6_blocks_treg * hill(s.il6)))


def pge2_on_th17(p: TCells, pge2: np.ndarray | float) -> np.ndarray | float:
    """PGE2 is dose-dependent for Th17: low levels support (Boniface K 2009 J Exp Med), high levels
    suppress (Duffy MM 2011 Eur J Immunol); ``pge2_suppress_k`` is the crossover."""
    return (1.0 + p.pge2_low_support * hill(pge2, p.pge2_low_k)) * (1.0 - hill(pge2, p.pge2_suppress_k))


def th17_induction(p: TCells, s: Levels) -> np.ndarray | float:
    """IL-6 with low TGF-beta induces RORgt/Th17, high TGF-beta favours Foxp3 (Zhou L 2008 Nature);
    IDO opposes Th17 (Baban B 2009 J Immunol); PGE2 acts by dose (see :func:`pge2_on_th17`)."""
    tgfb_window = hill(s.tgfb, p.tgfb_th17_low_k) * (1.0 - hill(s.tgfb, p.tgfb_th17_high_k))
    return (p.th17_induction_per_h * hill(s.il6) * tgfb_window * pge2_on_th17(p, s.pge2)
            * (1.0 - p.ido_blocks_th17 * hill(s.ido)))


def treg_suppression(p: TCells, contacts: np.ndarray | float, il10: np.ndarray | float,
                     treg_function: float) -> np.ndarray | float:
    """Fraction of effector expansion suppressed by Treg: IL-10 and contact (Huber S 2011 Immunity),
    scaled by the disease's Treg function (Valencia X 2007 J Immunol for SLE)."""
    by_contact = contacts / (p.treg_contact_k + contacts)
    free = (1.0 - p.treg_suppression_max * by_contact) * (1.0 - p.treg_suppression_max * hill(il10))
    return np.minimum(treg_function * (1.0 - free), 1.0)  # stronger-than-healthy Treg still cap at 1


def th17_expansion(p: TCells, s: Levels, antigen_drive: float, suppression: np.ndarray | float,
                   th17_fraction: float) -> np.ndarray | float:
    """Antigen- and inflammation-driven expansion (inflammatory IL-23 expands and maintains Th17:
    Langrish CL 2005 J Exp Med); tryptophan depletion by IDO arrests it (Munn DH 1999 J Exp Med;
    Meisel R 2004 Blood); Treg suppress it.  Competition for antigen-presenting
    niches limits it as Th17 become frequent (``th17_niche_half_fraction``)."""
    niche = 1.0 / (1.0 + th17_fraction / p.th17_niche_half_fraction)
    return (p.th17_expansion_per_h * antigen_drive * hill(s.infl) * niche
            * (1.0 - p.tryptophan_arrest * hill(s.ido)) * (1.0 - suppression))


def treg_expansion(p: TCells, treg_fraction: float) -> float:
    """Homeostatic Treg proliferation (doubling ~8 d; Vukmanovic-Stejic M 2006 J Clin Invest),
    limited by IL-2 competition as Treg become frequent (Setoguchi R 2005 J Exp Med)."""
    return p.treg_expansion_per_h * p.treg_il2_k / (p.treg_il2_k + treg_fraction)


def th17_to_treg(p: TCells, s: Levels) -> np.ndarray | float:
    """Th17 turn regulatory under TGF-beta when inflammation resolves (Gagliani N 2015 Nature); IL-6
    opposes the regulatory (Foxp3) programme (Bettelli E 2006 Nature), so it slows the conversion."""
    return p.th17_to_treg_per_h * hill(s.tgfb) * (1.0 - hill(s.il6))


def treg_to_th17(p: TCells, s: Levels) -> np.ndarray | float:
    """IL-6 turns some Treg into IL-17 producers (Koenen HJ 2008 Blood); IDO prevents this
    reprogramming (Baban B 2009 J Immunol)."""
    return p.treg_to_th17_per_h * hill(s.il6) * (1.0 - p.ido_blocks_th17 * hill(s.ido))


def death_rates(p: TCells) -> dict[int, float]:
    """Hazard of death (1/h) per state."""
    return {NAIVE: per_h(p.naive_half_life_days, 24), TH17: per_h(p.th17_half_life_days, 24),
            TREG: per_h(p.treg_half_life_days, 24)}


def step_tissue(model) -> dict[str, int]:
    """Fates, divisions and deaths of the T cells on the grid for one step.

    Returns event counts (for the run's event log).
    """
    pop, p, rng, dt = model.tcells, model.bio.tcells, model.rngs.tcells, model.dt_h
    n = pop.n
    if n == 0:
        return {}
    s = model.levels_at(pop)
    state = pop.state
    naive, th17, treg = state == NAIVE, state == TH17, state == TREG
    n_cd4 = max(n, 1)
    treg_frac, th17_frac = treg.sum() / n_cd4, th17.sum() / n_cd4
    contacts = model.suppressor_contacts[pop.x, pop.y]  # only read for Th17 (never self)
    suppression = treg_suppression(p, contacts, s.il10, model.disease.treg_function)
    deaths = death_rates(p)
    death = np.select([naive, th17], [deaths[NAIVE], deaths[TH17]], deaths[TREG])
    egress = model.bio.trafficking.t_egress_per_h
    to_treg = np.where(naive, treg_induction(p, s), np.where(th17, th17_to_treg(p, s), 0.0))
    to_th17 = np.where(naive, th17_induction(p, s), np.where(treg, treg_to_th17(p, s), 0.0))
    fate = competing_fates([to_treg, to_th17, death, egress], n, dt, rng)
    # divisions are decided on the pre-step state, independently of fate changes
    divide_rate = np.where(th17, th17_expansion(p, s, model.disease.antigen_drive, suppression,
                                                th17_frac), 0.0)
    divide_rate = np.where(treg, treg_expansion(p, treg_frac), divide_rate) * model.proliferation_factor
    divides = (rng.random(n) < prob(divide_rate, dt)) & (fate == 0)

    leaving = (fate == 3) | (fate == 4)
    model.record_egress(state[fate == 4])
    state[fate == 1] = TREG
    state[fate == 2] = TH17
    pop.age_h += dt
    mothers = np.flatnonzero(divides)
    won, dx, dy = model.space.daughter_sites(pop.x[mothers], pop.y[mothers], rng)
    daughter_state = state[mothers[won]].copy()
    model.space.release(pop.x[leaving], pop.y[leaving])
    pop.remove(leaving)
    pop.add(x=dx, y=dy, state=daughter_state, age_h=0.0)
    return {"t_treg_induced": int((fate == 1).sum()), "t_th17_induced": int((fate == 2).sum()),
            "t_divisions": int(won.size)}
