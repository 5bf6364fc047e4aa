"""The picture of compartments and mechanisms: who secretes what, and what each mediator does.

:func:`mechanism_graph` joins :func:`abm.compartments.graph` (blood, lung, tissue) with the
secretion table of the biology (cell state -> mediator) and the rules' dependencies (mediator ->
fate transition, promoting ``+``, opposing ``-`` or dose-dependent ``+/-``).  Edges cut by the
arm's blockades carry ``blocked=True``; :func:`draw_mechanisms` greys their nodes and draws them
red and dashed.
"""

from __future__ import annotations

import networkx as nx
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from abm import compartments
from abm.config import MEDIATORS, Biology, Blockades

MEDIATOR_LABELS = {"ido": "IDO\n(kynurenine)", "pge2": "PGE2", "tgfb": "TGF-beta", "il6": "IL-6",
                   "il10": "IL-10", "infl": "IFN-g/TNF-a\n(inflammation)"}
BLOCKING = {"ido": "ido_inhibitor", "pge2": "cox2_inhibitor", "tgfb": "anti_tgfb"}
"""Mediator -> the blockade that removes it everywhere."""

CELL_STATES = {  # node -> entry of biology.secretion
    "resting MSC": "msc_resting", "licensed MSC": "msc_licensed", "Th17": "th17", "Treg": "treg",
    "M1 macrophage": "m1", "M2 macrophage": "m2", "IDO+ phagocyte": "ido_phagocyte",
}
TRANSITIONS = ["MSC licensing", "naive -> Treg", "naive -> Th17", "Th17 expansion", "Th17 -> Treg",
               "Treg -> Th17", "M1 -> M2", "M2 -> M1", "B -> plasma cell", "macrophage -> IDO+"]
ACTIONS: list[tuple[str, str, str]] = [  # (mediator, transition, sign) from abm/rules/*.py
    ("infl", "MSC licensing", "+"),
    ("tgfb", "naive -> Treg", "+"), ("il6", "naive -> Treg", "-"), ("ido", "naive -> Treg", "+"),
    ("il6", "naive -> Th17", "+"), ("tgfb", "naive -> Th17", "+/-"), ("pge2", "naive -> Th17", "+/-"),
    ("ido", "naive -> Th17", "-"),
    ("infl", "Th17 expansion", "+"), ("ido", "Th17 expansion", "-"), ("il10", "Th17 expansion", "-"),
    ("tgfb", "Th17 -> Treg", "+"), ("il6", "Th17 -> Treg", "-"),
    ("il6", "Treg -> Th17", "+"), ("ido", "Treg -> Th17", "-"),
    ("pge2", "M1 -> M2", "+"), ("il10", "M1 -> M2", "+"), ("tgfb", "M1 -> M2", "+"),
    ("infl", "M2 -> M1", "+"),
    ("infl", "B -> plasma cell", "+"), ("pge2", "B -> plasma cell", "-"),
]
SIGN_COLOURS = {"+": "#2a7d2a", "-": "#b03030", "+/-": "#8a6d00", "": "#555555"}


def mechanism_graph(blockades: Blockades | None = None, biology: Biology | None = None) -> nx.DiGraph:
    """Compartments, secretion and mediator actions as one directed graph.

    Node attribute ``kind``: compartment / cell / mediator / channel / transition; ``blocked`` when
    a blockade removes it.  Edge attributes: ``kind`` (transfer, secretes, acts, contact,
    efferocytosis), ``sign`` for actions, ``blocked`` and ``blockade`` (its name) when cut.
    """
    b = blockades or Blockades()
    bio = biology or Biology()
    g = nx.DiGraph()
    for node, data in compartments.graph().nodes(data=True):
        g.add_node(node, **{**data, "compartment_kind": data.get("kind", "")}, blocked=False)
        g.nodes[node].update(kind="compartment", label=node)
    for u, v, data in compartments.graph().edges(data=True):
        g.add_edge(u, v, kind="transfer", sign="", blocked=False, blockade="", carries=data.get("carries", ""))
    off = {m: bool(getattr(b, BLOCKING[m])) if m in BLOCKING else False for m in MEDIATORS}
    for m in MEDIATORS:
        g.add_node(m, kind="mediator", label=MEDIATOR_LABELS[m], blocked=off[m])
    for node in [*CELL_STATES, "apoptotic MSC", "disease background"]:
        g.add_node(node, kind="cell", label=node, blocked=False)
    for t in TRANSITIONS:
        g.add_node(t, kind="transition", label=t, blocked=False)
    g.add_node("contact", kind="channel", label="cell contact", blocked=b.no_contact)
    g.add_node("efferocytosis", kind="channel", label="efferocytosis", blocked=b.no_efferocytosis)

    def cut(m: str) -> dict:
        return {"blocked": off[m], "blockade": BLOCKING.get(m, "") if off[m] else ""}

    for node, entry in CELL_STATES.items():
        rates = getattr(bio.secretion, entry)
        for m in MEDIATORS:
            if getattr(rates, m) > 0:
                g.add_edge(node, m, kind="secretes", sign="", **cut(m))
    for m in ("il6", "infl"):
        g.add_edge("disease background", m, kind="secretes", sign="", **cut(m))
    for m, t, sign in ACTIONS:
        g.add_edge(m, t, kind="acts", sign=sign, **cut(m))
    contact = {"blocked": b.no_contact, "blockade": "no_contact" if b.no_contact else ""}
    for src in ("Treg", "resting MSC", "licensed MSC"):
        g.add_edge(src, "contact", kind="contact", sign="", **contact)
    for t in ("Th17 expansion", "B -> plasma cell"):
        g.add_edge("contact", t, kind="contact", sign="-", **contact)
    eff = {"blocked": b.no_efferocytosis, "blockade": "no_efferocytosis" if b.no_efferocytosis else ""}
    g.add_edge("apoptotic MSC", "efferocytosis", kind="efferocytosis", sign="", **eff)
    g.add_edge("efferocytosis", "macrophage -> IDO+", kind="efferocytosis", sign="+", **eff)
    return g


def layout(g: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Fixed positions: compartments on top; cells | mediators | transitions below."""
    pos = {"lung": (0.0, 11.6), "blood": (1.0, 11.6), "tissue": (2.0, 11.6)}
    cells = [*CELL_STATES, "apoptotic MSC", "disease background"]
    for i, node in enumerate(cells):
        pos[node] = (0.0, 9.6 - i * 9.6 / (len(cells) - 1))
    middle = [*MEDIATORS, "contact", "efferocytosis"]
    for i, node in enumerate(middle):
        pos[node] = (1.0, 9.6 - i * 9.6 / (len(middle) - 1))
    for i, node in enumerate(TRANSITIONS):
        pos[node] = (2.0, 9.6 - i * 9.6 / (len(TRANSITIONS) - 1))
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
