"""The registry of mechanisms agrees with the code of the rules (and the checker can tell when not)."""

import inspect
import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest

from abm.biology import mechanisms as mech
from abm.biology.levels import Levels
from abm.config import MEDIATORS, Biology, Blockades

DOCS = Path(__file__).resolve().parent.parent / "docs" / "mechanisms.md"


@pytest.fixture(scope="module")
def graph():
    return mech.registry()


def test_registry_matches_the_rules(graph):
    """(a) signals, (b) parameters, (c) secretion, (d) blockades, rules, schema names, citations."""
    problems = mech.consistency_problems(graph)
    assert not problems, "\n".join(problems)


def test_every_rate_law_of_the_rule_modules_is_found():
    found = {}
    for module in mech.RULE_MODULES:
        found.update(mech.rule_reads(module))
    registered = {rule for rules in mech.SPEC.values() for rule in rules if rule in found}
    assert set(found) == registered
    assert "abm.biology.rules.tcells.pge2_on_th17" not in found  # a helper: merged into th17_induction
    assert found["abm.biology.rules.tcells.th17_induction"]["helpers"] == ["pge2_on_th17"]
    assert "tcells.pge2_suppress_k" in found["abm.biology.rules.tcells.th17_induction"]["parameters"]
    assert found["abm.biology.rules.msc.licensing"]["signals"] == {"infl"}
    assert found["abm.biology.rules.bcells.to_plasma"]["signals"] == {"infl", "pge2", "contact"}


# ----------------------------------------------------------------------------- the checker can fail
def _problems_after(graph, edit):
    broken = graph.copy()
    edit(broken)
    return mech.consistency_problems(broken)


def test_dropping_an_acts_edge_is_reported(graph):
    rule = "abm.biology.rules.tcells.treg_induction"
    problems = _problems_after(graph, lambda g: g.remove_edge("ido", "naive -> Treg", key=rule))
    assert any(f"{rule} reads 'ido'" in p for p in problems), problems
    assert any("tcells.kynurenine_treg_boost" in p for p in problems), problems


def test_an_edge_the_rule_does_not_read_is_reported(graph):
    rule = "abm.biology.rules.macrophages.to_m2"
    problems = _problems_after(graph, lambda g: g.add_edge(
        "il6", "M1 -> M2", key=rule, kind="acts", sign=mech.OPPOSES, rule=rule, parameters=[], source=""))
    assert any("does not read 'il6'" in p for p in problems), problems


def test_a_missing_or_extra_parameter_is_reported(graph):
    def drop(g):
        g.edges["pge2", "naive -> Th17", "abm.biology.rules.tcells.th17_induction"]["parameters"].remove(
            "tcells.pge2_low_k")
    assert any("tcells.pge2_low_k" in p for p in _problems_after(graph, drop))

    def add(g):
        edge = g.edges["infl", "MSC licensing", "abm.biology.rules.msc.licensing"]
        edge["parameters"].append("msc.efferocytosis_per_h")
    assert any("does not read it" in p for p in _problems_after(graph, add))

    def misspell(g):
        g.edges["efferocytosis", "macrophage -> IDO+", "abm.biology.rules.msc.step_tissue"]["parameters"] = [
            "msc.efferocytosis_per_hour", "msc.efferocytosis_radius_voxels"]
    assert any("not in the schema" in p for p in _problems_after(graph, misspell))


def test_secretion_mismatch_is_reported(graph):
    problems = _problems_after(graph, lambda g: g.remove_edge("licensed MSC", "ido"))
    assert any("secretion.msc_licensed.ido" in p for p in problems), problems
    problems = _problems_after(graph, lambda g: g.add_edge(
        "Th17", "il10", kind="secretes", parameters=["secretion.th17.il10"], value=1.0))
    assert any("secretion.th17.il10 is 0" in p for p in problems), problems


def test_blockade_mismatch_is_reported(graph):
    def retarget(g):
        g.graph["blockades"] = {**mech.BLOCKADES, "cox2_inhibitor": "cox2"}
    assert any("cox2_inhibitor" in p for p in _problems_after(graph, retarget))
    assert any("no_contact" in p for p in _problems_after(graph, lambda g: g.remove_node("contact")))


def test_wrong_citation_is_reported(graph):
    def cite(g):
        g.edges["ido", "naive -> Treg", "abm.biology.rules.tcells.treg_induction"]["source"] = "Munn DH 1999 J Exp Med"
    assert any("not cited" in p for p in _problems_after(graph, cite))


def test_an_uncited_signal_is_reported(graph):
    def blank(g):
        g.edges["ido", "naive -> Treg", "abm.biology.rules.tcells.treg_induction"]["source"] = ""
    assert any("has no source" in p for p in _problems_after(graph, blank))


def test_a_new_rate_law_missing_from_the_registry_is_reported(graph, tmp_path, monkeypatch):
    for module in mech.RULE_MODULES:
        shutil.copy(mech.RULES_DIR / f"{module}.py", tmp_path / f"{module}.py")
    with open(tmp_path / "tcells.py", "a") as f:
        f.write("\n\ndef il10_rest(p: TCells, s: Levels, mood: float):\n"
                "    return p.treg_induction_per_h * hill(s.il10) * mood\n")
    monkeypatch.setattr(mech, "RULES_DIR", tmp_path)
    problems = mech.consistency_problems(graph)
    assert any("il10_rest is missing from the registry" in p for p in problems), problems
    assert any("argument 'mood'" in p for p in problems), problems


# ----------------------------------------------------------------------------- signs, by evaluation
ARGS = {"contacts": 0.0, "treg_contacts": 0.0, "ido_pos": False, "licensed": False, "antigen_drive": 1.0,
        "suppression": 0.0, "th17_fraction": 0.01, "treg_fraction": 0.07, "proliferation_factor": 1.0,
        "treg_function": 1.0}
GRID = [0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0]
INVERTED = {"abm.biology.rules.tcells.treg_suppression"}
"""Rules that return a suppressed fraction, which their transition's rate multiplies as (1 - it)."""


def _rate(rule: str, signal: str, value) -> float:
    func = mech.resolve(rule)
    bio = Biology()
    kwargs = {}
    for name, par in inspect.signature(func).parameters.items():
        if name == "p":
            kwargs[name] = getattr(bio, mech.section_of()[str(par.annotation)])
        elif name == "s":
            kwargs[name] = Levels(**{m: value if m == signal else 0.5 for m in MEDIATORS})
        elif name in MEDIATORS:
            kwargs[name] = value if name == signal else 0.5
        elif mech.SIGNAL_ARGUMENTS.get(name) == signal:
            kwargs[name] = value
        else:
            kwargs[name] = ARGS[name]
    return float(func(**kwargs))


def test_signs_agree_with_the_rate_laws(graph):
    """Promotes: rises with the signal; opposes: falls; dose-dependent: rises then falls (or back)."""
    laws = {rule for module in mech.RULE_MODULES for rule in mech.rule_reads(module)}
    checked = 0
    for u, _v, d in graph.edges(data=True):
        if d["kind"] != "acts" or d["rule"] not in laws:  # step functions are not evaluated here
            continue
        values = [False, True] if u in ("IDO+ phagocyte", "licensed MSC") else GRID
        rates = np.array([_rate(d["rule"], u, x) for x in values])
        if d["rule"] in INVERTED:
            rates = 1.0 - rates
        steps = np.diff(rates)
        if d["sign"] == mech.PROMOTES:
            assert (steps >= -1e-15).all() and rates[-1] > rates[0], (u, d["rule"], rates)
        elif d["sign"] == mech.OPPOSES:
            assert (steps <= 1e-15).all() and rates[-1] < rates[0], (u, d["rule"], rates)
        else:
            assert (steps > 1e-15).any() and (steps < -1e-15).any(), (u, d["rule"], rates)
        checked += 1
    assert checked >= 20
    from abm.biology.rules.tcells import th17_expansion
    s = Levels(*[0.5] * len(MEDIATORS))
    assert th17_expansion(Biology().tcells, s, 1.0, 0.5, 0.01) < th17_expansion(Biology().tcells, s, 1.0, 0.0, 0.01)


# ----------------------------------------------------------------------------- blockades
def test_blockade_fields_are_the_registry_keys():
    assert set(mech.BLOCKADES) == set(Blockades.model_fields)


def test_blocked_mediators_match_the_former_set_arm_code():
    fields = list(Blockades.model_fields)
    for flags in itertools.product([False, True], repeat=len(fields)):
        b = Blockades(**dict(zip(fields, flags, strict=True)))
        old = [i for i, on in zip((0, 1, 2), [b.ido_inhibitor, b.cox2_inhibitor, b.anti_tgfb], strict=True) if on]
        assert mech.blocked_mediators(b) == old


def test_blocked_edges_touch_the_removed_node(graph):
    cut = mech.blocked(graph, Blockades(cox2_inhibitor=True))
    assert cut and all("pge2" in (u, v) for u, v, _ in cut)
    assert ("licensed MSC", "pge2", 0) in cut
    assert not mech.blocked(graph, Blockades())


# ----------------------------------------------------------------------------- table and docs
def test_mechanism_table(graph):
    table = mech.mechanism_table(graph)
    assert list(table.columns) == ["mediator", "acts on", "sign", "rule", "parameters", "source"]
    assert len(table) == sum(d["kind"] == "acts" for *_, d in graph.edges(data=True))
    row = table[(table["mediator"] == "ido") & (table["acts on"] == "naive -> Treg")].iloc[0]
    assert row["rule"] == "abm.biology.rules.tcells.treg_induction"
    assert row["parameters"] == "tcells.kynurenine_treg_boost" and row["sign"] == "promotes"


def test_mechanism_doc_is_current():
    assert DOCS.read_text().rstrip("\n") == mech.markdown().rstrip("\n"), (
        "docs/mechanisms.md is stale: run `python -m abm.biology.mechanisms > docs/mechanisms.md`")
