"""The one registry of mechanisms: who secretes what, and what acts on which fate transition.

:func:`registry` returns a :class:`networkx.MultiDiGraph`.  Blockade switches (:data:`BLOCKADES`,
:func:`blocked`, :func:`blocked_mediators`), the docs' mechanism table (:func:`mechanism_table`,
``docs/mechanisms.md``) and the app's picture (:mod:`abm.viz.mechanisms`) derive from it, and
:func:`consistency_problems` compares it with the code of the rules (``tests/test_mechanisms.py``).

Nodes (attribute ``kind``):

- ``cell_state``: a cell in one state; ``secretion_entry`` names its row of ``biology.secretion``
  (``None`` for states that only act through contact or engulfment, e.g. ``apoptotic MSC``).
- ``background``: the disease's background tone (no cell).
- ``mediator``: one of the six fields (:data:`abm.biology.parameters.MEDIATORS`).
- ``channel``: ``contact`` (contact-dependent suppression) and ``efferocytosis``.
- ``transition``: a fate transition; ``rules`` maps each rule function that sets its rate
  (qualified name) to ``{"parameters": [...], "source": ...}``, where ``parameters`` are the rule's
  parameters that belong to no single signal (maximal rate, half-lives, niche limits).
- ``compartment``: blood, lung, tissue (from :func:`abm.biology.compartments.graph`).

Edges (attribute ``kind``):

- ``secretes``: cell state (or background) -> mediator, only where the biology's secretion rate is
  nonzero; ``parameters=["secretion.<entry>.<mediator>"]`` and ``value`` (a.u./min/cell).
- ``acts``: mediator, channel or cell state -> transition; ``sign`` is ``promotes``, ``opposes`` or
  ``dose-dependent``; ``rule`` is the function that reads the signal; ``parameters`` are the
  parameters that shape this signal's effect; ``source`` is the citation (a passage of the rule's
  docstring, empty when the docstring cites none for this signal).
- ``contributes``: cell state -> channel (who makes contact, who is engulfed).
- ``transfers``: compartment -> compartment (``carries``, ``parameters``).

Parameter names are relative to ``biology`` (``tcells.kynurenine_treg_boost``), except ``disease.*``.

What counts as a rate law (checked against the code): a public function of ``abm/biology/rules/{tcells,
macrophages,bcells,msc}.py`` whose first argument is ``p`` (its parameter section).  A rate law
called by another rate law of the same module (``pge2_on_th17``) is a helper: its reads count as
the caller's.  Its signals are the attributes ``s.<mediator>`` of a :class:`~abm.biology.levels.Levels`
argument ``s``, arguments named after a mediator, and the arguments of :data:`SIGNAL_ARGUMENTS`;
every other argument must be listed in :data:`NON_SIGNAL_ARGUMENTS`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Iterable
from pathlib import Path

import networkx as nx
import pandas as pd

from abm.biology import cells, compartments
from abm.biology.disease import Disease
from abm.biology.parameters import MEDIATORS, Biology
from abm.biology.treatment import Blockades

PROMOTES, OPPOSES, DOSE = "promotes", "opposes", "dose-dependent"
SIGNS = (PROMOTES, OPPOSES, DOSE)

CELL_STATES: dict[str, str | None] = {  # node (cell-type table label) -> entry of biology.secretion
    **{row.label: row.secretes for _, row in cells.secreting()},
    cells.MSC.states[cells.MSC.code("apoptotic")].label: None,  # acts only by being engulfed
}
BACKGROUND = "disease background"
BACKGROUND_SECRETION = {"il6": "disease.il6_tone", "infl": "disease.inflammatory_tone"}
"""The disease's background sources per voxel (``abm.biology.secretion.tissue_sources``)."""

CHANNELS = {"contact": "cell contact", "efferocytosis": "efferocytosis"}

BLOCKADES: dict[str, str] = {
    "ido_inhibitor": "ido", "cox2_inhibitor": "pge2", "anti_tgfb": "tgfb",
    "no_efferocytosis": "efferocytosis", "no_contact": "contact",
}
"""Blockade field -> the node it removes (with every edge into and out of it)."""

SIGNAL_ARGUMENTS: dict[str, str] = {
    "contacts": "contact", "treg_contacts": "contact",  # suppressor neighbours (Treg and viable MSC)
    "ido_pos": "IDO+ phagocyte", "licensed": "licensed MSC",
}
"""Rate-law arguments (besides ``s`` and mediator names) that carry a signal -> its source node."""

NON_SIGNAL_ARGUMENTS: dict[str, str] = {
    "p": "the rule's parameter section",
    "s": "the mediator levels (its attributes are the signals)",
    "antigen_drive": "disease preset (disease.antigen_drive), not a mechanism of the registry",
    "treg_function": "disease preset (disease.treg_function)",
    "suppression": "output of the rate law treg_suppression (registered on its own)",
    "th17_fraction": "population composition (niche competition), not a mediator",
    "treg_fraction": "population composition (IL-2 competition), not a mediator",
    "proliferation_factor": "concomitant cyclophosphamide (biology.concomitant)",
}
"""Rate-law arguments that are not signals, with the reason."""

RULE_MODULES = ("tcells", "macrophages", "bcells", "msc")
RULES_DIR = Path(__file__).resolve().parent / "rules"

# transition -> {rule: (base parameters, [(signal, sign, signal parameters, citation), ...])}
# A citation must occur in the rule's docstring (whitespace-normalised); "" = none given there.
_R = "abm.biology.rules."
_T, _M, _B, _S = _R + "tcells.", _R + "macrophages.", _R + "bcells.", _R + "msc."
SPEC: dict[str, dict[str, tuple[tuple[str, ...], list[tuple[str, str, tuple[str, ...], str]]]]] = {
    "MSC licensing": {_S + "licensing": (("msc.licensing_half_time_h",), [
        ("infl", PROMOTES, ("msc.licensing_signal_k",), "Krampera M 2006 Stem Cells")])},
    "naive -> Treg": {_T + "treg_induction": (("tcells.treg_induction_per_h",), [
        ("tgfb", PROMOTES, (), "Zhou L 2008 Nature"),
        ("il6", OPPOSES, ("tcells.il6_blocks_treg",), "Bettelli E 2006 Nature"),
        ("ido", PROMOTES, ("tcells.kynurenine_treg_boost",), "Mezrich JD 2010 J Immunol")])},
    "naive -> Th17": {_T + "th17_induction": (("tcells.th17_induction_per_h",), [
        ("il6", PROMOTES, (), "Zhou L 2008 Nature"),
        ("tgfb", DOSE, ("tcells.tgfb_th17_low_k", "tcells.tgfb_th17_high_k"), "Zhou L 2008 Nature"),
        ("pge2", DOSE, ("tcells.pge2_low_support", "tcells.pge2_low_k", "tcells.pge2_suppress_k"),
         "Boniface K 2009 J Exp Med"),
        ("ido", OPPOSES, ("tcells.ido_blocks_th17",), "Baban B 2009 J Immunol")])},
    "Th17 expansion": {
        _T + "th17_expansion": (("tcells.th17_expansion_per_h", "tcells.th17_niche_half_fraction"), [
            ("infl", PROMOTES, (), "Langrish CL 2005 J Exp Med"),
            ("ido", OPPOSES, ("tcells.tryptophan_arrest",), "Munn DH 1999 J Exp Med")]),
        _T + "treg_suppression": ((), [
            ("il10", OPPOSES, ("tcells.treg_suppression_max",), "Huber S 2011 Immunity"),
            ("contact", OPPOSES, ("tcells.treg_suppression_max", "tcells.treg_contact_k"),
             "Huber S 2011 Immunity")])},
    "Th17 -> Treg": {_T + "th17_to_treg": (("tcells.th17_to_treg_per_h",), [
        ("tgfb", PROMOTES, (), "Gagliani N 2015 Nature"), ("il6", OPPOSES, (), "Bettelli E 2006 Nature")])},
    "Treg -> Th17": {_T + "treg_to_th17": (("tcells.treg_to_th17_per_h",), [
        ("il6", PROMOTES, (), "Koenen HJ 2008 Blood"),
        ("ido", OPPOSES, ("tcells.ido_blocks_th17",), "Baban B 2009 J Immunol")])},
    "M1 -> M2": {_M + "to_m2": (("macrophages.m1_to_m2_per_h",), [
        ("pge2", PROMOTES, (), "Nemeth K 2009 Nat Med"), ("il10", PROMOTES, (), "Mantovani A 2004 Trends Immunol"),
        ("tgfb", PROMOTES, ("macrophages.tgfb_m2_weight",), "Mantovani A 2004 Trends Immunol")])},
    "M2 -> M1": {_M + "to_m1": (("macrophages.m2_to_m1_per_h",), [
        ("infl", PROMOTES, (), "Murray PJ 2014 Immunity"),
        ("IDO+ phagocyte", OPPOSES, (), "Galleu A 2017 Sci Transl Med")])},
    "B -> plasma cell": {_B + "to_plasma": (("bcells.plasma_differentiation_per_h",), [
        ("infl", PROMOTES, (), "Jego G 2003 Immunity"),
        ("contact", OPPOSES, ("bcells.treg_suppression_max", "bcells.treg_contact_k"), "Lim HW 2005 J Immunol"),
        ("pge2", OPPOSES, ("bcells.msc_inhibition_max",), "Corcione A 2006 Blood")])},
    "macrophage -> IDO+": {
        _S + "step_tissue": ((), [("efferocytosis", PROMOTES, (
            "msc.efferocytosis_per_h", "msc.efferocytosis_radius_voxels"), "Galleu A 2017 Sci Transl Med")]),
        "abm.biology.compartments.step_lung": ((), [("efferocytosis", PROMOTES, (
            "msc.efferocytosis_per_h", "lung.phagocytes_per_msc"), "Galleu A 2017 Sci Transl Med")])},
    "IDO+ phenotype loss": {"abm.biology.compartments.step_lung": (("lung.regulatory_half_life_days",), [
        ("infl", PROMOTES, ("lung.inflammation_reversal_gain",), "assumption: the disease reprograms them")])},
    "MSC apoptosis": {_S + "apoptosis": (("msc.survival_half_life_h",), [
        ("licensed MSC", OPPOSES, ("msc.licensed_survival_factor",), "Spaggiari GM 2006 Blood")])},
    "Treg expansion": {_T + "treg_expansion": (("tcells.treg_expansion_per_h", "tcells.treg_il2_k"), [])},
    "T-cell death": {_T + "death_rates": (
        ("tcells.naive_half_life_days", "tcells.th17_half_life_days", "tcells.treg_half_life_days"), [])},
}
"""The mechanisms of the rules, per transition and rule function (the source of :func:`registry`)."""

CONTRIBUTORS: list[tuple[str, str, str, tuple[str, ...]]] = [  # (cell state, channel, rule, parameters)
    ("Treg", "contact", "abm.model.MSCModel.update_contacts", ("msc.contact_radius_voxels",)),
    ("resting MSC", "contact", "abm.model.MSCModel.update_contacts", ("msc.contact_radius_voxels",)),
    ("licensed MSC", "contact", "abm.model.MSCModel.update_contacts", ("msc.contact_radius_voxels",)),
    ("apoptotic MSC", "efferocytosis", _S + "step_tissue", ()),
]


def resolve(qualname: str):
    """The function named by a qualified name such as ``abm.model.MSCModel.update_contacts``."""
    parts = qualname.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(qualname)


def _normalise(text: str) -> str:
    return " ".join(text.split())


def registry(biology: Biology | None = None) -> nx.MultiDiGraph:
    """The mechanism graph (see the module docstring); secretion edges from ``biology`` (default)."""
    bio = biology or Biology()
    g = nx.MultiDiGraph(blockades=dict(BLOCKADES))
    comp = compartments.graph()
    for node, data in comp.nodes(data=True):
        g.add_node(node, kind="compartment", compartment_kind=data.get("kind", ""), holds=data.get("holds", ""))
    for u, v, data in comp.edges(data=True):
        g.add_edge(u, v, kind="transfers", carries=data.get("carries", ""),
                   parameters=list(data.get("parameters", [])))
    for node, entry in CELL_STATES.items():
        g.add_node(node, kind="cell_state", secretion_entry=entry)
    g.add_node(BACKGROUND, kind="background", secretion_entry=None)
    for m in MEDIATORS:
        g.add_node(m, kind="mediator")
    for node, label in CHANNELS.items():
        g.add_node(node, kind="channel", label=label)
    for node, entry in CELL_STATES.items():
        if entry is None:
            continue
        rates = getattr(bio.secretion, entry)
        for m in MEDIATORS:
            if getattr(rates, m) > 0:
                g.add_edge(node, m, kind="secretes", parameters=[f"secretion.{entry}.{m}"],
                           value=float(getattr(rates, m)))
    for m, param_name in BACKGROUND_SECRETION.items():
        g.add_edge(BACKGROUND, m, kind="secretes", parameters=[param_name], value=None)
    for cell, channel, rule, params in CONTRIBUTORS:
        g.add_edge(cell, channel, kind="contributes", rule=rule, parameters=list(params))
    for transition, rules in SPEC.items():
        g.add_node(transition, kind="transition", rules={
            rule: {"parameters": list(base), "source": ""} for rule, (base, _) in rules.items()})
        for rule, (_, signals) in rules.items():
            for signal, sign, params, source in signals:
                g.add_edge(signal, transition, key=rule, kind="acts", sign=sign, rule=rule,
                           parameters=list(params), source=source)
    return g


# ----------------------------------------------------------------------------- blockades
def blocked(graph: nx.MultiDiGraph, blockades: Blockades) -> set[tuple]:
    """Edges ``(u, v, key)`` removed by the active blockades: every edge into or out of a removed node."""
    out: set[tuple] = set()
    for field, node in graph.graph.get("blockades", BLOCKADES).items():
        if getattr(blockades, field) and node in graph:
            out |= set(graph.in_edges(node, keys=True)) | set(graph.out_edges(node, keys=True))
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
           "Generated from the registry `abm.biology.mechanisms.registry()` by `python -m abm.biology.mechanisms`;",
           "do not edit by hand. `tests/test_mechanisms.py` checks the registry against the rules' code (and",
           "that this file is current). Parameters are relative to `biology` unless they start with",
           "`disease.`.", "",
           "Conventions: a `secretes` edge exists only where the secretion rate is nonzero. A rate law is a",
           "public function of `abm/biology/rules/{tcells,macrophages,bcells,msc}.py` whose first argument is `p`;",
           "one called by another rate law of its module is a helper whose reads count as the caller's.",
           "Its signals are `s.<mediator>`, arguments named after a mediator, and `contacts`/`treg_contacts`",
           "(`contact`), `ido_pos` (`IDO+ phagocyte`), `licensed` (`licensed MSC`). Each `acts` edge lists",
           "the parameters shaping that signal's effect; the rest of a rule's parameters are listed per",
           "rule below. Rules that are step functions (efferocytosis, lung phagocytes) are checked only",
           "for existence and for reading their parameters.", "", "## What acts on which transition", ""]
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
    out += _md_table(["blockade", "removes", "edges removed"], (
        [f"`{field}`", f"`{node}`", len(blocked(g, Blockades(**{field: True})))]
        for field, node in BLOCKADES.items()))
    out += ["## Transfers between compartments", ""]
    out += _md_table(["from", "to", "carries", "parameters"], (
        [u, v, d["carries"], code(d["parameters"])] for u, v, d in g.edges(data=True) if d["kind"] == "transfers"))
    return "\n".join(out)


# ----------------------------------------------------------------------------- consistency with the code
def section_of() -> dict[str, str]:
    """Parameter-section class name -> its field in Biology (``TCells`` -> ``tcells``)."""
    bio = Biology()
    return {type(getattr(bio, f)).__name__: f for f in type(bio).model_fields}


def rule_reads(module: str) -> dict[str, dict]:
    """The rate laws of ``abm/biology/rules/<module>.py`` (see the module docstring) and what each reads.

    Returns ``{qualname: {"signals": set of source nodes, "parameters": set, "arguments": list,
    "bad": [problems]}}``; helpers' reads are merged into their callers.
    """
    tree = ast.parse((RULES_DIR / f"{module}.py").read_text())
    sections = section_of()
    funcs = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    laws = {n: f for n, f in funcs.items()
            if not n.startswith(("_", "step_")) and f.args.args and f.args.args[0].arg == "p"}

    def own(f: ast.FunctionDef) -> dict:
        args = [a.arg for a in f.args.args]
        ann = f.args.args[0].annotation
        prefix = sections.get(ann.id, "?") if isinstance(ann, ast.Name) else "?"
        out = {"signals": set(), "parameters": set(), "calls": set(), "arguments": args, "bad": []}
        for a in args:
            if a not in MEDIATORS and a not in SIGNAL_ARGUMENTS and a not in NON_SIGNAL_ARGUMENTS:
                out["bad"].append(f"argument {a!r} is neither a signal nor a listed non-signal argument")
        for node in ast.walk(f):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "s" and "s" in args:
                    if node.attr in MEDIATORS:
                        out["signals"].add(node.attr)
                    else:
                        out["bad"].append(f"reads s.{node.attr}, not a mediator")
                elif node.value.id == "p":
                    out["parameters"].add(f"{prefix}.{node.attr}")
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in args:
                if node.id in MEDIATORS:
                    out["signals"].add(node.id)
                elif node.id in SIGNAL_ARGUMENTS:
                    out["signals"].add(SIGNAL_ARGUMENTS[node.id])
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in laws:
                out["calls"].add(node.func.id)
        return out

    reads = {n: own(f) for n, f in laws.items()}
    helpers = {c for r in reads.values() for c in r["calls"]}
    result = {}
    for name in laws:
        if name in helpers:
            continue
        r, todo, seen = reads[name], list(reads[name]["calls"]), set()
        while todo:
            h = todo.pop()
            if h in seen or h == name:
                continue
            seen.add(h)
            for k in ("signals", "parameters"):
                r[k] |= reads[h][k]
            r["bad"] += [f"(via {h}) {b}" for b in reads[h]["bad"]]
            todo += list(reads[h]["calls"])
        result[f"abm.biology.rules.{module}.{name}"] = {"signals": r["signals"], "parameters": r["parameters"],
                                                "arguments": r["arguments"], "bad": r["bad"],
                                                "helpers": sorted(seen)}
    return result


def _param_exists(name: str) -> bool:
    root, *path = name.split(".")
    obj = Disease() if root == "disease" else getattr(Biology(), root, None)
    for part in path:
        obj = getattr(obj, part, None)
    return obj is not None and not callable(obj)


def _attributes_read(func) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


def consistency_problems(graph: nx.MultiDiGraph) -> list[str]:
    """Differences between the registry ``graph`` and the code; empty when they agree.

    Checks: (a) the signals each rate law reads are exactly its ``acts`` edges; (b) the parameters it
    reads are exactly those of its edges plus its transition's base parameters; (c) the nonzero
    default secretions are exactly the ``secretes`` edges; (d) each blockade names an existing node
    and removes at least one edge; and every rule exists, every parameter exists in the schema, every
    citation occurs in the docstring of its rule (or of a helper it calls), and every rule outside
    the rate laws (step functions) reads its parameters' names.
    """
    problems: list[str] = []
    rules: dict[str, dict] = {}
    for t, d in graph.nodes(data=True):
        if d.get("kind") != "transition":
            continue
        for rule, info in d.get("rules", {}).items():
            r = rules.setdefault(rule, {"transitions": set(), "base": set(), "signals": {}, "parameters": set()})
            r["transitions"].add(t)
            r["base"] |= set(info["parameters"])
    for u, v, d in graph.edges(data=True):
        if d.get("kind") != "acts":
            continue
        r = rules.setdefault(d["rule"], {"transitions": set(), "base": set(), "signals": {}, "parameters": set()})
        if v not in r["transitions"]:
            problems.append(f"acts edge {u} -> {v} names rule {d['rule']}, which the transition does not list")
        r["signals"].setdefault(u, set()).add(v)
        r["parameters"] |= set(d["parameters"])
        if d.get("sign") not in SIGNS:
            problems.append(f"acts edge {u} -> {v}: sign {d.get('sign')!r} not in {SIGNS}")
    code = {}
    for module in RULE_MODULES:
        code.update(rule_reads(module))
    for rule, found in code.items():
        problems += [f"{rule}: {b}" for b in found["bad"]]
        if rule not in rules:
            problems.append(f"rate law {rule} is missing from the registry")
            continue
        reg = rules[rule]
        for s in sorted(found["signals"] - set(reg["signals"])):
            problems.append(f"{rule} reads {s!r} but the registry has no acts edge {s} -> "
                            f"{'/'.join(sorted(reg['transitions']))} for it")
        for s in sorted(set(reg["signals"]) - found["signals"]):
            problems.append(f"registry: acts edge {s} -> {'/'.join(sorted(reg['signals'][s]))} names {rule}, "
                            f"which does not read {s!r}")
        registered = reg["parameters"] | reg["base"]
        for prm in sorted(found["parameters"] - registered):
            problems.append(f"{rule} reads parameter {prm} that is on none of its edges nor its transition")
        for prm in sorted(registered - found["parameters"]):
            problems.append(f"registry lists parameter {prm} for {rule}, which does not read it")
    for rule, reg in rules.items():
        try:
            func = resolve(rule)
        except (ImportError, AttributeError):
            problems.append(f"registry names rule {rule}, which does not exist")
            continue
        if rule not in code:
            if rule.rsplit(".", 1)[0] in {f"abm.biology.rules.{m}" for m in RULE_MODULES} and \
                    not rule.rsplit(".", 1)[1].startswith("step_"):
                problems.append(f"registry names {rule} as a rule, but it is not a rate law")
            attrs = _attributes_read(func)
            for prm in sorted(reg["parameters"] | reg["base"]):
                if prm.rsplit(".", 1)[1] not in attrs:
                    problems.append(f"{rule} does not read parameter {prm} listed in the registry")
    doc_cache: dict[str, str] = {}
    for u, v, d in graph.edges(data=True):
        for prm in d.get("parameters", []):
            if not _param_exists(prm):
                problems.append(f"edge {u} -> {v}: parameter {prm} is not in the schema")
        if d.get("kind") == "acts" and not d.get("source"):
            problems.append(f"acts edge {u} -> {v} ({d['rule']}) has no source: cite a study in the rule's "
                            f"docstring and the registry, or write 'assumption: <reason>' in both")
        if d.get("kind") == "acts" and d.get("source"):
            if d["rule"] not in doc_cache:
                module = d["rule"].rsplit(".", 1)[0]
                names = [d["rule"]] + [f"{module}.{h}" for h in code.get(d["rule"], {}).get("helpers", [])]
                try:
                    doc_cache[d["rule"]] = " ".join(_normalise(inspect.getdoc(resolve(n)) or "") for n in names)
                except (ImportError, AttributeError):
                    doc_cache[d["rule"]] = ""
            if _normalise(d["source"]) not in doc_cache[d["rule"]]:
                problems.append(f"acts edge {u} -> {v}: source {d['source']!r} is not cited in {d['rule']}")
    # (c) secretion
    table = Biology().secretion
    entries = {d.get("secretion_entry"): n for n, d in graph.nodes(data=True) if d.get("secretion_entry")}
    for entry in type(table).model_fields:
        if entry not in entries:
            problems.append(f"secretion entry {entry} has no cell_state node")
            continue
        rates = getattr(table, entry)
        node = entries[entry]
        edges = {v for _, v, d in graph.out_edges(node, data=True) if d.get("kind") == "secretes"}
        for m in MEDIATORS:
            if getattr(rates, m) > 0 and m not in edges:
                problems.append(f"{node} secretes {m} (secretion.{entry}.{m}) but has no secretes edge")
            if getattr(rates, m) == 0 and m in edges:
                problems.append(f"secretes edge {node} -> {m} but secretion.{entry}.{m} is 0")
    # (d) blockades
    blockade_map = graph.graph.get("blockades", BLOCKADES)
    for field in type(Blockades()).model_fields:
        if field not in blockade_map:
            problems.append(f"blockade {field} maps to no node of the registry")
        elif blockade_map[field] not in graph:
            problems.append(f"blockade {field} maps to {blockade_map[field]!r}, not a node of the registry")
        elif not blocked(graph, Blockades(**{field: True})):
            problems.append(f"blockade {field} removes no edge")
    for field in set(blockade_map) - set(type(Blockades()).model_fields):
        problems.append(f"registry maps {field}, not a field of Blockades")
    return problems


if __name__ == "__main__":
    print(markdown())
