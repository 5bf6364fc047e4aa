"""The picture of compartments and mechanisms: who secretes what, and what each mediator does.

:func:`mechanism_graph` is drawn from the one registry of mechanisms, :func:`abm.biology.mechanisms.registry`:
compartments (blood, lung, tissue), secretion (cell state -> mediator), contact and efferocytosis,
and the rules' dependencies (mediator -> fate transition, promoting ``+``, opposing ``-`` or
dose-dependent ``+/-``).  Edges cut by the arm's blockades (:func:`abm.biology.mechanisms.blocked`) carry
``blocked=True``; :func:`draw_mechanisms` greys their nodes and draws them red and dashed.
"""

from __future__ import annotations

import networkx as nx
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from abm.biology import mechanisms
from abm.config import Biology, Blockades

MEDIATOR_LABELS = {"ido": "IDO\n(kynurenine)", "pge2": "PGE2", "tgfb": "TGF-beta", "il6": "IL-6",
                   "il10": "IL-10", "infl": "IFN-g/TNF-a\n(inflammation)"}
SIGN_SYMBOLS = {mechanisms.PROMOTES: "+", mechanisms.OPPOSES: "-", mechanisms.DOSE: "+/-"}
SIGN_COLOURS = {"+": "#2a7d2a", "-": "#b03030", "+/-": "#8a6d00", "": "#555555"}
PICTURE_KINDS = {"compartment": "compartment", "cell_state": "cell", "background": "cell",
                 "mediator": "mediator", "channel": "channel", "transition": "transition"}
"""Registry node kind -> the picture's node kind (its colour and column)."""


def _edge_kind(g: nx.MultiDiGraph, u: str, v: str, kind: str) -> str:
    """The picture's edge kind: transfer, secretes, acts, contact or efferocytosis."""
    if kind == "transfers":
        return "transfer"
    for node in (u, v):
        if g.nodes[node]["kind"] == "channel":
            return node
    return kind


def mechanism_graph(blockades: Blockades | None = None, biology: Biology | None = None) -> nx.DiGraph:
    """Compartments, secretion and mediator actions as one directed graph (from the registry).

    Node attribute ``kind``: compartment / cell / mediator / channel / transition; ``blocked`` when
    a blockade removes it.  Edge attributes: ``kind`` (transfer, secretes, acts, contact,
    efferocytosis), ``sign`` for actions, ``blocked`` and ``blockade`` (its name) when cut.
    Parallel registry edges (one per rule) become one edge; transitions that nothing acts on
    (turnover, Treg expansion) are left out of the picture.
    """
    b = blockades or Blockades()
    reg = mechanisms.registry(biology or Biology())
    cut = mechanisms.blocked(reg, b)
    by_node = mechanisms.blocking(b)
    g = nx.DiGraph()
    for node, data in reg.nodes(data=True):
        kind = data["kind"]
        if kind == "transition" and not reg.in_degree(node):
            continue
        label = MEDIATOR_LABELS.get(node, data.get("label", node))
        extra = {"compartment_kind": data["compartment_kind"], "holds": data["holds"]} if kind == "compartment" else {}
        g.add_node(node, **extra, kind=PICTURE_KINDS[kind], label=label, blocked=node in by_node)
    for u, v, key, data in reg.edges(keys=True, data=True):
        is_cut = (u, v, key) in cut
        blockade = next((by_node[n] for n in (u, v) if n in by_node), "") if is_cut else ""
        sign = SIGN_SYMBOLS.get(data.get("sign", ""), "")
        if g.has_edge(u, v):  # parallel registry edges (several rules): one picture edge
            old = g.edges[u, v]
            old["blocked"] = old["blocked"] or is_cut
            old["blockade"] = old["blockade"] or blockade
            old["sign"] = old["sign"] if old["sign"] == sign else "+/-"
            old["rules"].append(data.get("rule", ""))
            continue
        attrs = {"carries": data["carries"]} if data["kind"] == "transfers" else {}
        g.add_edge(u, v, kind=_edge_kind(reg, u, v, data["kind"]), sign=sign, blocked=is_cut,
                   blockade=blockade, rules=[data.get("rule", "")], **attrs)
    return g


def layout(g: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Fixed positions: compartments on top; cells | mediators | transitions below."""
    pos = {"lung": (0.0, 11.6), "blood": (1.0, 11.6), "tissue": (2.0, 11.6)}
    columns = {"cell": 0.0, "mediator": 1.0, "channel": 1.0, "transition": 2.0}
    stacks: dict[float, list[str]] = {}
    for node, data in g.nodes(data=True):  # registry order: mediators before channels
        if data["kind"] in columns:
            stacks.setdefault(columns[data["kind"]], []).append(node)
    for col, nodes in stacks.items():
        if col == 1.0:
            nodes.sort(key=lambda n: g.nodes[n]["kind"] == "channel")
        for i, node in enumerate(nodes):
            pos[node] = (col, 9.6 - i * 9.6 / max(len(nodes) - 1, 1))
    return {n: pos[n] for n in g.nodes}


def edge_style(data: dict) -> dict:
    """Matplotlib style of an edge: red dashed when blocked, else coloured by its sign."""
    if data.get("blocked"):
        return {"edge_color": "#d62728", "style": "dashed", "alpha": 0.9, "width": 1.4}
    if data.get("kind") == "transfer":
        return {"edge_color": "#1f4e79", "style": "solid", "alpha": 0.9, "width": 1.6}
    if data.get("kind") == "secretes":
        return {"edge_color": "#7f7f7f", "style": "solid", "alpha": 0.55, "width": 0.8}
    return {"edge_color": SIGN_COLOURS.get(data.get("sign", ""), "#555555"), "style": "solid",
            "alpha": 0.75, "width": 0.9}


NODE_COLOURS = {"compartment": "#c6dbef", "cell": "#fde0c5", "mediator": "#d9f0d3", "channel": "#e5d8f0",
                "transition": "#f2f2f2"}


def draw_mechanisms(g: nx.DiGraph, figure: Figure | None = None, title: str = "") -> Figure:
    """Draw the mechanism graph (blocked pathways grey nodes, red dashed edges)."""
    fig = figure or Figure(figsize=(6.4, 5.2), dpi=100)
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.93 if title else 1.0))
    ax.set_axis_off()
    pos = layout(g)
    groups: dict[tuple, list] = {}
    for u, v, data in g.edges(data=True):
        style = edge_style(data)
        groups.setdefault(tuple(sorted(style.items())), []).append((u, v))
    for key, edges in groups.items():
        style = dict(key)
        rad = 0.25 if edges and g.nodes[edges[0][0]].get("kind") == "compartment" else 0.0
        nx.draw_networkx_edges(g, pos, edgelist=edges, ax=ax, arrows=True, arrowsize=7, node_size=900,
                               connectionstyle=f"arc3,rad={rad}", **style)
    for node, data in g.nodes(data=True):
        x, y = pos[node]
        blocked = data.get("blocked", False)
        face = "#d0d0d0" if blocked else NODE_COLOURS[data["kind"]]
        edge = "#d62728" if blocked else "#444444"
        text = data.get("label", node) + ("\nBLOCKED" if blocked else "")
        ax.text(x, y, text, ha="center", va="center", fontsize=6.2, zorder=3,
                color="#666666" if blocked else "black",
                bbox={"boxstyle": "round,pad=0.25", "fc": face, "ec": edge,
                      "ls": "--" if blocked else "-", "lw": 1.0})
    ax.set_xlim(-0.45, 2.45)
    ax.set_ylim(-1.9, 12.3)
    for x, label in ((0.0, "cells (secrete)"), (1.0, "mediators"), (2.0, "fate transitions")):
        ax.text(x, 10.45, label, ha="center", va="bottom", fontsize=7, style="italic", color="#333333")
    handles = [Line2D([], [], color=SIGN_COLOURS["+"], lw=1.2, label="promotes"),
               Line2D([], [], color=SIGN_COLOURS["-"], lw=1.2, label="opposes"),
               Line2D([], [], color=SIGN_COLOURS["+/-"], lw=1.2, label="dose-dependent"),
               Line2D([], [], color="#7f7f7f", lw=1.0, label="secretes"),
               Line2D([], [], color="#1f4e79", lw=1.4, label="transfer between compartments"),
               Line2D([], [], color="#d62728", lw=1.2, ls="--", label="blocked")]
    ax.legend(handles=handles, loc="lower center", fontsize=6, frameon=False, ncol=3, borderaxespad=0.1)
    if title:
        fig.suptitle(title, fontsize=8.5, y=0.99)
    return fig
