"""The rate laws of the rule table as plain functions of a parameter section and the levels a cell
senses, for property tests (tests/biology/test_rules.py).  Each function evaluates the shipped rule table
(abm.biology.rules) through the one evaluator; nothing here restates a law."""

from __future__ import annotations

import numpy as np

from abm.biology.disease import Disease
from abm.biology.levels import Levels
from abm.biology.parameters import Biology
from abm.biology.rules.custom import CUSTOM_TERMS, Signals
from abm.biology.rules.evaluate import RuleSet, parameter


def _rules(section: str, p, treg_function: float = 1.0, antigen_drive: float = 0.3) -> RuleSet:
    return RuleSet(Biology(**{section: p}), Disease(treg_function=treg_function, antigen_drive=antigen_drive))


def _rate(section, p, cell, state, behaviour, s: Levels, **kw):
    disease = {k: kw.pop(k) for k in ("treg_function", "antigen_drive") if k in kw}
    return _rules(section, p, **disease).rate(cell, state, behaviour, Signals(s, **kw))


def zero(**kw) -> Levels:
    base = dict(ido=0.0, pge2=0.0, tgfb=0.0, il6=0.0, il10=0.0, infl=0.0)
    base.update(kw)
    return Levels(**base)


def treg_induction(p, s):
    return _rate("tcells", p, "tcells", "naive", "to:treg", s)


def th17_induction(p, s):
    return _rate("tcells", p, "tcells", "naive", "to:th17", s)


def pge2_on_th17(p, pge2):
    """The PGE2 factor of naive -> Th17 (induction with PGE2 over induction without, at IL-6 1, TGF-beta 0.2)."""
    pge2 = np.asarray(pge2, float)
    with_pge2 = th17_induction(p, zero(il6=1.0, tgfb=0.2, pge2=pge2))
    return with_pge2 / th17_induction(p, zero(il6=1.0, tgfb=0.2))


def treg_suppression(p, contacts, il10, treg_function):
    """Fraction of Th17 expansion suppressed by Treg contact and IL-10 (the custom term's complement)."""
    bio = Biology(tcells=p)
    disease = Disease(treg_function=treg_function)
    term = CUSTOM_TERMS["treg_suppression"]
    values = {path: parameter(bio, disease, path)[0] for path in term.parameters}
    return 1.0 - term.factor(values, Signals(zero(il10=il10), contacts=contacts))


def th17_expansion(p, s, antigen_drive, th17_fraction, contacts=0.0, treg_function=1.0, proliferation=1.0):
    return _rate("tcells", p, "tcells", "th17", "divide", s, antigen_drive=antigen_drive, contacts=contacts,
                 treg_function=treg_function, fractions={"th17": th17_fraction}, proliferation_factor=proliferation)


def treg_expansion(p, treg_fraction):
    return _rate("tcells", p, "tcells", "treg", "divide", zero(), fractions={"treg": treg_fraction})


def th17_to_treg(p, s):
    return _rate("tcells", p, "tcells", "th17", "to:treg", s)


def treg_to_th17(p, s):
    return _rate("tcells", p, "tcells", "treg", "to:th17", s)


def to_m2(p, s):
    return _rate("macrophages", p, "macrophages", "m1", "to:m2", s)


def to_m1(p, s, ido_pos):
    return _rate("macrophages", p, "macrophages", "m2", "to:m1", s, markers={"ido_pos": ido_pos})


def to_plasma(p, s, contacts, proliferation_factor):
    return _rate("bcells", p, "bcells", "b", "to:plasma", s, contacts=contacts,
                 proliferation_factor=proliferation_factor)


def licensing(p, infl):
    return _rate("msc", p, "msc", "resting", "to:licensed", zero(infl=infl))


def apoptosis(p, licensed):
    """MSC apoptosis hazard for cells that are licensed (True) or resting (False)."""
    rules = _rules("msc", p)
    sig = Signals(zero())
    return np.where(licensed, rules.rate("msc", "licensed", "to:apoptotic", sig),
                    rules.rate("msc", "resting", "to:apoptotic", sig))
