"""The mechanism registry, derived from the tables: who secretes what, and what acts on which behaviour.

:func:`registry` builds a :class:`networkx.MultiDiGraph` from the cell-type table
(:mod:`abm.biology.cells`), the rule table (:mod:`abm.biology.rules.grammar`), the secretion parameters
and the compartment graph; nothing in it is written by hand twice.  Blockade switches (:data:`BLOCKADES`,
:func:`blocked`, :func:`blocked_mediators`), the docs' mechanism tables (``docs/mechanisms.md``,
:func:`markdown`) and the app's picture (:mod:`abm.viz.mechanisms`) derive from it.

Nodes (attribute ``kind``):

- ``cell_state``: a state or marker of the cell-type table that secretes or acts (its label);
  ``secretion_entry`` names its row of ``biology.secretion`` (``None`` when it only acts as a signal).
- ``background``: the disease's background tone (no cell).
- ``mediator``: one of the six fields (:data:`abm.biology.parameters.MEDIATORS`).
- ``channel``: ``contact`` (contact-dependent suppression) and ``efferocytosis``.
- ``transition``: a rule of the rule table (``naive -> Treg``); ``rules`` maps the rule's name
  (``tcells.naive->to:treg``) to ``{"parameters": [rate parameter, custom terms' parameters],
  "source": ..., "line": ...}``.
- ``compartment``: blood, lung, tissue (from :func:`abm.biology.compartments.graph`).

Edges (attribute ``kind``):

- ``secretes``: cell state (or background) -> mediator, where the secretion rate is nonzero;
  ``parameters=["secretion.<entry>.<mediator>"]`` and ``value`` (a.u./min/cell).
- ``acts``: mediator, channel or cell state -> transition, one per signal of a rule (key: the rule's
  name); ``sign`` is ``promotes``, ``opposes`` or ``dose-dependent`` (the signal both raises and lowers
  the rate, as in a window); ``parameters`` are the rows' parameters; ``source`` their citations;
  ``lines`` the table lines.
- ``contributes``: cell state -> channel (who makes contact, who is engulfed).
- ``transfers``: compartment -> compartment (``carries``, ``parameters``).

Parameter names are relative to ``biology`` (``tcells.kynurenine_treg_boost``), except ``disease.*``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import networkx as nx
import pandas as pd

from abm.biology import cells, compartments
from abm.biology.parameters import MEDIATORS, Biology
from abm.biology.rules.custom import CUSTOM_TERMS
from abm.biology.rules.grammar import COMPARTMENT_POPULATIONS, Row, Rule, read_rows, rules
from abm.biology.treatment import Blockades
from abm.docgen import replace_between

PROMOTES, OPPOSES, DOSE = "promotes", "opposes", "dose-dependent"
SIGNS = (PROMOTES, OPPOSES, DOSE)
EFFECT_SIGNS = {"requires": PROMOTES, "increases": PROMOTES, "drives": PROMOTES, "decreases": OPPOSES,
                "blocks": OPPOSES}
CUSTOM_SIGNS = {"treg_suppression": OPPOSES, "efferocytosis": PROMOTES}
"""Sign of the custom terms that read a registry node (the others read parameters only)."""

BACKGROUND = "disease background"
BACKGROUND_SECRETION = {"il6": "disease.il6_tone", "infl": "disease.inflammatory_tone"}
"""The disease's background sources per voxel (``abm.biology.secretion.tissue_sources``)."""

CHANNELS = {"contact": "cell contact", "efferocytosis": "efferocytosis"}

BLOCKADES: dict[str, str] = {
    "ido_inhibitor": "ido", "cox2_inhibitor": "pge2", "anti_tgfb": "tgfb",
    "no_efferocytosis": "efferocytosis", "no_contact": "contact",
}
"""Blockade field -> the node it removes (with every edge into and out of it)."""

EDGE_BLOCKADES: dict[str, tuple[tuple[str, str], ...]] = {
    "msc_tgfb_knockdown": (("msc_resting", "tgfb"), ("msc_licensed", "tgfb")),
}
"""Blockade field -> the secretion links it removes, as (secretion entry, mediator): one source of a mediator,
not the mediator everywhere."""


def knocked_down(blockades: Blockades) -> set[tuple[str, str]]:
    """(secretion entry, mediator) links the active edge blockades remove."""
    return {link for field, links in EDGE_BLOCKADES.items() if getattr(blockades, field) for link in links}

COMPARTMENT_LABELS = {"lung_phagocytes": {"regulatory": "regulatory lung phagocyte"},
                      "efferocytes": {"active": "efferocyte"}}

CHANNEL_RULES = {"contact": ("abm.biology.tissue.suppressor_contacts", ("msc.contact_radius_voxels",)),
                 "efferocytosis": ("abm.biology.rules.msc.step_tissue", ("msc.efferocytosis_radius_voxels",))}
"""Channel -> (the code that builds it, its parameters)."""

CONTRIBUTORS: list[tuple[tuple[str, str], str, str, tuple[str, ...]]] = [
    ((ct.key, state.key), channel, *CHANNEL_RULES[channel])
    for channel in CHANNEL_RULES for ct, state in cells.channel_states(channel)]
"""(cell type, state) -> channel: who counts as a suppressor contact, who is engulfed."""


def label(cell_type: str, key: str) -> str:
    """Display label of a state or marker (of a tissue cell type or a compartment population)."""
    if cell_type in COMPARTMENT_LABELS:
        return COMPARTMENT_LABELS[cell_type][key]
    ct = cells.cell_type(cell_type)
    for row in (*ct.states, *ct.markers):
        if row.key == key:
            return row.label
    raise KeyError(f"{cell_type} has no state or marker {key!r}")


def _short(cell_type: str, key: str) -> str:
    if cell_type in COMPARTMENT_POPULATIONS:
        return label(cell_type, key)
    ct = cells.cell_type(cell_type)
    return next(r.name for r in (*ct.states, *ct.markers) if r.key == key)


def transition_name(rule: Rule) -> str:
    """The registry node of a rule: ``naive -> Treg``, ``Th17 expansion``, ``IDO+ phagocyte loss`` ..."""
    kind, _, target = rule.behaviour.partition(":")
    who = "every " + (cells.cell_type(rule.cell_type).label if rule.cell_type not in COMPARTMENT_POPULATIONS
                      else rule.cell_type) if rule.state == "*" else _short(rule.cell_type, rule.state)
    if kind == "to":
        return f"{who} -> {_short(rule.cell_type, target)}"
    if kind == "lose":
        return f"{label(rule.cell_type, target)} loss"
    return {"divide": f"{who} expansion", "death": f"{who} death", "egress": f"{who} egress",
            "engulfed": f"{who} engulfed", "cleared": f"{who} cleared"}[rule.behaviour]


def _signal_node(rule: Rule, row: Row) -> str | None:
    if row.effect == "custom":
        reads = CUSTOM_TERMS[row.signal].reads
        return None if not reads else reads[0]
    if row.signal in MEDIATORS or row.signal in CHANNELS:
        return row.signal
    return label(rule.cell_type, row.signal)  # a marker


def _custom_edges(rule: Rule, row: Row) -> list[tuple[str, str]]:
    """(node, sign) of every registry node a custom term reads."""
    return [(node, CUSTOM_SIGNS.get(row.signal, PROMOTES)) for node in CUSTOM_TERMS[row.signal].reads]


def registry(biology: Biology | None = None, table: list[Rule] | None = None) -> nx.MultiDiGraph:
    """The mechanism graph (see the module docstring) of a rule table (default: the shipped one);
    secretion edges from ``biology`` (default parameters)."""
    bio = biology or Biology()
    g = nx.MultiDiGraph(blockades=dict(BLOCKADES))
    comp = compartments.graph()
    for node, data in comp.nodes(data=True):
        g.add_node(node, kind="compartment", compartment_kind=data.get("kind", ""), holds=data.get("holds", ""))
    for u, v, data in comp.edges(data=True):
        g.add_edge(u, v, kind="transfers", carries=data.get("carries", ""),
                   parameters=list(data.get("parameters", [])))
    g.add_node(BACKGROUND, kind="background", secretion_entry=None)
    for m in MEDIATORS:
        g.add_node(m, kind="mediator")
    for node, name in CHANNELS.items():
        g.add_node(node, kind="channel", label=name)
    for _, row in cells.secreting():
        g.add_node(row.label, kind="cell_state", secretion_entry=row.secretes)
        rates = getattr(bio.secretion, row.secretes)
        for m in MEDIATORS:
            if getattr(rates, m) > 0:
                g.add_edge(row.label, m, kind="secretes", parameters=[f"secretion.{row.secretes}.{m}"],
                           value=float(getattr(rates, m)))
    for m, param_name in BACKGROUND_SECRETION.items():
        g.add_edge(BACKGROUND, m, kind="secretes", parameters=[param_name], value=None)
    for (ct, key), channel, rule_name, params in CONTRIBUTORS:
        node = label(ct, key)
        if node not in g:
            g.add_node(node, kind="cell_state", secretion_entry=None)
        g.add_edge(node, channel, kind="contributes", rule=rule_name, parameters=list(params))
    for rule in rules() if table is None else table:
        name = transition_name(rule)
        own = [rule.rate.max] + [p for r in rule.terms if r.effect == "custom" and not CUSTOM_TERMS[r.signal].reads
                                 for p in r.parameters()]
        info = {"parameters": own, "source": rule.rate.source, "line": rule.rate.line}
        if name in g:
            g.nodes[name]["rules"][rule.name] = info
        else:
            g.add_node(name, kind="transition", rules={rule.name: info})
        edges: dict[str, dict] = {}
        for row in rule.terms:
            if row.effect == "custom":
                targets = _custom_edges(rule, row)
            else:
                targets = [(_signal_node(rule, row), EFFECT_SIGNS[row.effect])]
            for node, sign in targets:
                if node not in g:
                    g.add_node(node, kind="cell_state", secretion_entry=None)
                e = edges.setdefault(node, {"sign": sign, "parameters": [], "source": [], "lines": []})
                if e["sign"] != sign:
                    e["sign"] = DOSE
                e["parameters"] += [p for p in row.parameters() if p not in e["parameters"]]
                e["source"] += [] if row.source in e["source"] else [row.source]
                e["lines"].append(row.line)
        for node, e in edges.items():
            g.add_edge(node, name, key=rule.name, kind="acts", sign=e["sign"], rule=rule.name,
                       parameters=e["parameters"], source="; ".join(e["source"]), lines=e["lines"])
    return g


# ----------------------------------------------------------------------------- blockades
def blocked(graph: nx.MultiDiGraph, blockades: Blockades) -> set[tuple]:
    """Edges ``(u, v, key)`` removed by the active blockades: every edge into or out of a removed node."""
    out: set[tuple] = set()
    for field, node in graph.graph.get("blockades", BLOCKADES).items():
        if getattr(blockades, field) and node in graph:
            out |= set(graph.in_edges(node, keys=True)) | set(graph.out_edges(node, keys=True))
    cut = knocked_down(blockades)
    out |= {(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True)
            if d.get("kind") == "secretes" and (graph.nodes[u].get("secretion_entry"), v) in cut}
    return out


def blocking(blockades: Blockades) -> dict[str, str]:
    """Removed node -> the active blockade field that removes it."""
    return {node: field for field, node in BLOCKADES.items() if getattr(blockades, field)}


def blocked_mediators(blockades: Blockades) -> list[int]:
    """Indices (MEDIATORS order) of the fields whose sources the blockades remove everywhere."""
    return sorted(MEDIATORS.index(node) for node in blocking(blockades) if node in MEDIATORS)


# ----------------------------------------------------------------------------- table
def mechanism_table(graph: nx.MultiDiGraph | None = None) -> pd.DataFrame:
    """One row per ``acts`` edge: mediator (or channel / cell state), acts on, sign, rule, parameters, source."""
    g = registry() if graph is None else graph
    rank = {"mediator": 0, "channel": 1}
    edges = sorted(((u, v, d) for u, v, d in g.edges(data=True) if d["kind"] == "acts"),
                   key=lambda e: rank.get(g.nodes[e[0]]["kind"], 2))
    rows = [{"mediator": u, "acts on": v, "sign": d["sign"], "rule": d["rule"],
             "parameters": ", ".join(d["parameters"]), "source": d["source"]} for u, v, d in edges]
    return pd.DataFrame(rows, columns=["mediator", "acts on", "sign", "rule", "parameters", "source"])


def _md_table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "/") for c in row) + " |" for row in rows]
    return out + [""]


def markdown(graph: nx.MultiDiGraph | None = None) -> str:
    """``docs/mechanisms.md``: the registry's tables (``python -m abm.biology.mechanisms > docs/mechanisms.md``)."""
    g = registry() if graph is None else graph
    code = lambda items: ", ".join(f"`{x}`" for x in items)  # noqa: E731
    out = ["# Mechanisms", "",
           "Generated by `python -m abm.biology.mechanisms` from the rule table",
           "(`abm/biology/rules/table.csv`), the cell-type table (`abm/biology/cells.py`) and the parameter",
           "tables; do not edit by hand (`tests/biology/test_mechanisms.py` checks that this file is current).",
           "Parameters are relative to `biology` unless they start with `disease.`.", "",
           "## The rule table", "",
           "Each rule is a behaviour of one state of one cell type: a rate row (its maximal rate) and one row",
           "per signal that shapes it. `requires`: x h; `increases`: x (1 + max h); `decreases`: x (1 - max h);",
           "`blocks`: x (1 - h); `drives`: x (1 - prod(1 - max h)) over the rule's `drives` rows; `custom`: a",
           "registered term (below). h = hill(signal, half_max, hill); a marker (`ido_pos`) is used as 0/1.",
           "`when`: the row holds only with a switch of `biology.branches` on (`branches.tr1`) or off",
           "(`!branches.tr1`); on a rate row it conditions the whole rule. See `abm/biology/rules/grammar.py`.", ""]
    out += _md_table(["line", "cell type", "state", "behaviour", "signal", "effect", "max", "half_max", "hill",
                      "source", "when"], (
        [r.line, r.cell_type, r.state, r.behaviour, f"`{r.signal}`" if r.signal else "", r.effect,
         f"`{r.max}`" if r.max else "", f"`{r.half_max}`" if r.half_max else "",
         f"`{r.hill}`" if r.hill else "", r.source, f"`{r.when}`" if r.when else ""] for r in read_rows()))
    out += ["## Custom terms", ""]
    out += _md_table(["term", "parameters", "reads", "source"], (
        [f"`{t.name}`", code(t.parameters), code(t.reads), t.source] for t in CUSTOM_TERMS.values()))
    out += ["## What acts on which transition", ""]
    table = mechanism_table(g)
    out += _md_table(list(table.columns), (
        [f"`{r['mediator']}`", r["acts on"], r["sign"], f"`{r['rule']}`",
         code(r["parameters"].split(", ")) if r["parameters"] else "", r["source"]]
        for r in table.to_dict("records")))
    out += ["## Rule parameters that belong to no single signal", ""]
    out += _md_table(["transition", "rule", "parameters"], (
        [t, f"`{rule}`", code(info["parameters"])]
        for t, d in g.nodes(data=True) if d["kind"] == "transition" for rule, info in d["rules"].items()))
    out += ["## Who secretes what (default biology)", ""]
    out += _md_table(["cell state", "mediator", "parameter", "a.u./min/cell"], (
        [u, f"`{v}`", code(d["parameters"]), "" if d["value"] is None else d["value"]]
        for u, v, d in g.edges(data=True) if d["kind"] == "secretes"))
    out += ["## Contact and efferocytosis", ""]
    out += _md_table(["cell state", "channel", "rule", "parameters"], (
        [u, f"`{v}`", f"`{d['rule']}`", code(d["parameters"])]
        for u, v, d in g.edges(data=True) if d["kind"] == "contributes"))
    out += ["## Blockades", ""]
    removes = {**{field: f"`{node}`" for field, node in BLOCKADES.items()},
               **{field: ", ".join(f"`{entry}` -> `{m}`" for entry, m in links)
                  for field, links in EDGE_BLOCKADES.items()}}
    out += _md_table(["blockade", "removes", "edges removed"], (
        [f"`{field}`", what, len(blocked(g, Blockades(**{field: True})))] for field, what in removes.items()))
    out += ["## Transfers between compartments", ""]
    out += _md_table(["from", "to", "carries", "parameters"], (
        [u, v, d["carries"], code(d["parameters"])] for u, v, d in g.edges(data=True) if d["kind"] == "transfers"))
    return "\n".join(out)


MODEL_START = "<!-- model tables: generated by `python -m abm.biology.mechanisms --model-doc`; do not edit by hand -->"
MODEL_END = "<!-- end of model tables -->"


def model_tables(graph: nx.MultiDiGraph | None = None, biology: Biology | None = None) -> str:
    """The generated part of ``docs/model.md``: who secretes what (rates), and per cell type each rule's
    promoting and opposing signals with their sources (from the rule table)."""
    bio = biology or Biology()
    g = registry(bio) if graph is None else graph
    heads = {"ido": "IDO", "pge2": "PGE2", "tgfb": "TGF-β", "il6": "IL-6", "il10": "IL-10", "infl": "inflammation"}
    out = [MODEL_START, "", "### Who secretes what (a.u./min per cell; the cell-type table and `biology.secretion`)",
           ""]
    rows = []
    for _, row in cells.secreting():
        rates = getattr(bio.secretion, row.secretes)
        rows.append([row.label, *(f"{getattr(rates, m):g}" if getattr(rates, m) else "" for m in MEDIATORS)])
    rows.append([BACKGROUND + " (per voxel)", *("tone" if m in BACKGROUND_SECRETION else "" for m in MEDIATORS)])
    out += _md_table(["secretes", *(heads[m] for m in MEDIATORS)], rows)
    out += ["### The rules, cell type by cell type (the rule table; `mechanisms.md` lists every row)", ""]
    names = {"tcells": "CD4 T cells (tissue and blood)", "macrophages": "Macrophages", "bcells": "B cells",
             "msc": "MSC (tissue and lung)", "lung_phagocytes": "Lung phagocytes"}
    for cell_type, title in names.items():
        rules_of = [r for r in (rules()) if r.cell_type == cell_type]
        lines = []
        for r in rules_of:
            node = transition_name(r)
            acts = [(u, d) for u, _, d in g.in_edges(node, data=True) if d.get("rule") == r.name]
            up = ", ".join(f"{u}" for u, d in acts if d["sign"] == PROMOTES)
            down = ", ".join(f"{u}" for u, d in acts if d["sign"] == OPPOSES)
            both = ", ".join(f"{u}" for u, d in acts if d["sign"] == DOSE)
            cites = "; ".join(dict.fromkeys([r.rate.source, *(d["source"] for _, d in acts)]))
            lines.append([node, f"`{r.rate.max}`", up, down, both, cites])
        out += [f"**{title}**", ""]
        out += _md_table(["behaviour", "rate", "promoted by", "opposed by", "dose-dependent", "sources"], lines)
    out.append(MODEL_END)
    return "\n".join(out)


def update_model_doc(doc: Path) -> bool:
    """Replace the generated tables of ``docs/model.md``; True when the file changed."""
    return replace_between(doc, MODEL_START, MODEL_END, model_tables())


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--model-doc"]:
        target = Path(__file__).resolve().parents[2] / "docs" / "model.md"
        print(f"{target.name}: {'updated' if update_model_doc(target) else 'current'}")
    else:
        print(markdown())
