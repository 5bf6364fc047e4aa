"""The mechanism registry is derived from the tables (abm.biology.mechanisms), and a new mechanism is one
row of the rule table: it shows at once in the model's hazards, the registry graph and the docs."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest

from abm.biology import mechanisms as mech
from abm.biology.levels import Levels
from abm.biology.parameters import MEDIATORS, Biology, Branches
from abm.biology.rules import evaluate, grammar
from abm.biology.rules.custom import Signals
from abm.biology.treatment import Blockades
from abm.config import validate_dict
from abm.model import MSCModel

DOCS = Path(__file__).resolve().parents[2] / "docs" / "mechanisms.md"


@pytest.fixture(scope="module")
def graph():
    return mech.registry()


def test_every_signal_row_of_the_table_is_an_acts_edge(graph):
    for rule in grammar.rules():
        name = mech.transition_name(rule)
        assert graph.nodes[name]["kind"] == "transition" and rule.name in graph.nodes[name]["rules"]
        for row in rule.terms:
            nodes = (list(mech.CUSTOM_TERMS[row.signal].reads) if row.effect == "custom"
                     else [mech._signal_node(rule, row)])
            for node in nodes:
                assert graph.has_edge(node, name, key=rule.name), (row.line, node, name)
                edge = graph.edges[node, name, rule.name]
                assert edge["kind"] == "acts" and row.line in edge["lines"]
                assert row.source in edge["source"]


def test_every_acts_edge_names_a_source_and_existing_parameters(graph):
    bio = Biology()
    disease = validate_dict({}).disease
    for u, v, d in graph.edges(data=True):
        if d["kind"] != "acts":
            continue
        assert d["source"], (u, v)
        for p in d["parameters"]:
            evaluate.parameter(bio, disease, p)


def test_signs_agree_with_the_evaluated_rates(graph):
    """Raising a mediator raises the rate of every rule it promotes and lowers every rule it opposes."""
    disease = validate_dict({}).disease
    every_branch = Biology(branches={key: True for key in Branches.model_fields})
    biologies = (Biology(), every_branch)
    sets = [evaluate.RuleSet(bio, disease) for bio in biologies]
    by_name = {r.name: r for r in grammar.rules()}
    lines = {row.line: row for row in grammar.read_rows()}
    checked = 0
    for u, _, d in graph.edges(data=True):
        if d["kind"] != "acts" or u not in MEDIATORS:
            continue
        rule = by_name[d["rule"]]
        rising = np.geomspace(0.05, 20.0, 25)
        levels = {m: np.full(rising.size, 0.5) for m in MEDIATORS}
        levels[u] = rising
        sig = Signals(Levels(**levels), contacts=0.0, markers={"ido_pos": np.zeros(rising.size, bool)},
                      fractions={"th17": 0.02, "treg": 0.05})
        # the model in which the edge's rows (and their rule) hold: a branch's rows, or the first chapter's
        rs = next(rs for rs, bio in zip(sets, biologies, strict=True)
                  if rule.holds(bio) and all(lines[n].holds(bio) for n in d["lines"]))
        rates = np.broadcast_to(rs.rate(rule.cell_type, rule.state, rule.behaviour, sig), rising.shape)
        steps = np.diff(rates)
        if d["sign"] == mech.PROMOTES:
            assert (steps >= -1e-15).all() and rates[-1] > rates[0], (u, d["rule"])
        elif d["sign"] == mech.OPPOSES:
            assert (steps <= 1e-15).all() and rates[-1] < rates[0], (u, d["rule"])
        else:
            assert (steps > 1e-15).any() and (steps < -1e-15).any(), (u, d["rule"])
        checked += 1
    assert checked >= 20


def test_what_makes_a_naive_t_cell_become_treg_is_one_rule_of_the_table():
    rule = next(r for r in grammar.rules() if (r.cell_type, r.state, r.behaviour) == ("tcells", "naive", "to:treg"))
    assert [t.signal for t in rule.terms] == ["tgfb", "ido", "il6"]
    assert all(t.source for t in (rule.rate, *rule.terms))


# ----------------------------------------------------------------------------- adding a row
NEW_ROW = ("tcells,naive,to:treg,il10,increases,tcells.kynurenine_treg_boost,tcells.il10_half_max,"
           "tcells.il10_hill,assumption: test row (IL-10 favours iTreg)\n")


@pytest.fixture
def table_with_a_new_row(tmp_path, monkeypatch):
    copy = tmp_path / "table.csv"
    shutil.copy(grammar.TABLE, copy)
    with open(copy, "a", encoding="utf-8") as fh:
        fh.write(NEW_ROW)
    rules = grammar.rules(grammar.read_rows(copy))
    monkeypatch.setattr(evaluate, "_DEFAULT", rules)
    monkeypatch.setattr(grammar, "TABLE", copy)
    return rules


def test_a_new_row_is_in_the_hazards_the_registry_and_the_docs(table_with_a_new_row):
    model = MSCModel(validate_dict({"tissue": {"width_voxels": 12, "height_voxels": 12}}), rng=1)
    sig = lambda il10: Signals(Levels(ido=0.0, pge2=0.0, tgfb=1.0, il6=0.0, il10=il10, infl=0.0))  # noqa: E731
    with_il10 = model.rules.rate("tcells", "naive", "to:treg", sig(2.0))
    without = model.rules.rate("tcells", "naive", "to:treg", sig(0.0))
    shipped = evaluate.RuleSet(model.bio, model.disease, grammar.rules(grammar.read_rows(
        Path(grammar.__file__).with_name("table.csv"))))
    assert with_il10 > without == shipped.rate("tcells", "naive", "to:treg", sig(2.0))
    g = mech.registry(table=table_with_a_new_row)
    assert g.edges["il10", "naive -> Treg", "tcells.naive->to:treg"]["sign"] == mech.PROMOTES
    assert "assumption: test row (IL-10 favours iTreg)" in mech.markdown(g)


@pytest.mark.parametrize(("row", "needle"), [
    ("tcells,naive,to:treg,il99,increases,tcells.kynurenine_treg_boost,a,b,x\n", "signal 'il99'"),
    ("tcells,naive,to:treg,il10,increases,tcells.kynurenine_treg_boost,tcells.il10_half_max,tcells.il10_hill,\n",
     "names its source"),
    ("tcells,naive,to:th2,,rate,tcells.treg_induction_per_h,,,x\n", "behaviour 'to:th2'"),
    ("tcells,tr1,to:naive,,rate,tcells.treg_induction_per_h,,,x,branches.nope\n", "when 'branches.nope'"),
    ("tcells,th17,death,,half-life,tcells.th17_half_life_days,,,x,branches.tr1\n", "opposite 'when's of one switch"),
    ("tcells,naive,to:treg,il10,increases,tcells.kynurenine_treg_boost,tcells.il10_half_max,tcells.il10_hill,x,"
     "tr1\n", "when 'tr1'"),
    ("tcells,memory,to:treg,,rate,tcells.treg_induction_per_h,,,x\n", "state 'memory'"),
    ("tcells,naive,to:treg,il10,increases,,tcells.il10_half_max,tcells.il10_hill,x\n", "needs its size"),
    ("tcells,naive,to:treg,il10,custom,,,,x\n", "custom term 'il10' is not registered"),
])
def test_a_bad_row_is_refused_with_its_line(tmp_path, row, needle):
    copy = tmp_path / "table.csv"
    shutil.copy(grammar.TABLE, copy)
    with open(copy, "a", encoding="utf-8") as fh:
        fh.write(row)
    with pytest.raises(grammar.RuleTableError, match="line") as info:
        grammar.read_rows(copy)
    assert needle in str(info.value)


def test_an_unknown_parameter_is_refused_when_the_rules_are_built(tmp_path):
    copy = tmp_path / "table.csv"
    shutil.copy(grammar.TABLE, copy)
    with open(copy, "a", encoding="utf-8") as fh:
        fh.write("tcells,naive,to:treg,il10,increases,tcells.no_such_gain,tcells.il10_half_max,tcells.il10_hill,x\n")
    with pytest.raises(grammar.RuleTableError, match="tcells.no_such_gain"):
        evaluate.RuleSet(Biology(), validate_dict({}).disease, grammar.rules(grammar.read_rows(copy)))


# ----------------------------------------------------------------------------- blockades
def test_blockade_fields_are_the_registry_keys():
    assert set(mech.BLOCKADES) | set(mech.EDGE_BLOCKADES) == set(Blockades.model_fields)
    assert not set(mech.BLOCKADES) & set(mech.EDGE_BLOCKADES)


def test_the_msc_tgfb_knockdown_cuts_only_the_msc_sources_of_tgfb(graph):
    cut = mech.blocked(graph, Blockades(msc_tgfb_knockdown=True))
    assert {(u, v) for u, v, _ in cut} == {("resting MSC", "tgfb"), ("licensed MSC", "tgfb")}
    assert mech.blocked_mediators(Blockades(msc_tgfb_knockdown=True)) == []


def test_blocked_mediators_are_the_blocked_fields():
    fields = list(Blockades.model_fields)
    for flags in itertools.product([False, True], repeat=len(fields)):
        b = Blockades(**dict(zip(fields, flags, strict=True)))  # the edge blockades remove no mediator
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
    assert row["rule"] == "tcells.naive->to:treg" and row["sign"] == "promotes"
    assert row["parameters"].startswith("tcells.kynurenine_treg_boost")


def test_mechanism_doc_is_current():
    assert DOCS.read_text() == mech.markdown() + "\n", "docs/mechanisms.md is stale: run `make docs`"
