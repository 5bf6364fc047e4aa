"""Figures and Solara components of the teaching app.

Figures are plain matplotlib (``matplotlib.figure.Figure``, Agg; no pyplot state) and are rebuilt
cheaply: the tissue view is one ``imshow`` of the chosen field plus one scatter of immune cells and
one of MSC; the live plots are four small axes.  Components are plain functions of the model so
SolaraViz re-renders them after every step; images are memoised on (model, time, choice).
"""

from __future__ import annotations

import html
import io

import ipywidgets
import numpy as np
import solara
from matplotlib.colors import LinearSegmentedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from abm.biology import cells
from abm.biology.rules import msc
from abm.config import MEDIATORS
from abm.viz.app_model import APP_BURN_IN_DAYS, APP_GRID, BLOCKADE_LABELS, AppModel
from abm.viz.mechanisms import draw_mechanisms, mechanism_graph

FIELD_LABELS = {"ido": "IDO activity", "pge2": "PGE2", "tgfb": "TGF-beta", "il6": "IL-6", "il10": "IL-10",
                "infl": "inflammation (IFN-g/TNF-a)"}
UNITS = "a.u. (1 = half-maximal concentration)"
CELL_STYLES = [  # (label, colour, size), one per immune category of the cell-type table
    (c.label, c.colour, cells.cell_type(c.cell_type).app_size) for c in cells.immune_categories()]
DPI = 90
FIELD_CMAP = LinearSegmentedColormap.from_list("field", ["#ffffff", "#4f6478"])
"""White to slate: light enough for the coloured cells to stay visible at high levels."""
MSC_STYLES = [(s.label, s.colour) for s in cells.MSC.states]

selected_field = solara.reactive("infl")
"""The field under the cells (per browser session)."""


def png(fig: Figure, dpi: int = DPI) -> bytes:
    """A figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 3})
    return buf.getvalue()


# ----------------------------------------------------------------------------------------- tissue
def cell_layers(sim) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, category) of immune cells and (x, y, MSC state) of MSC, categories as in CELL_STYLES."""
    T, M, B, S = sim.tcells, sim.macrophages, sim.bcells, sim.msc
    x = np.concatenate([T.x, M.x, B.x])
    y = np.concatenate([T.y, M.y, B.y])
    cat = np.concatenate([cells.categories_of(ct, pop) for ct, pop in
                          ((cells.TCELLS, T), (cells.MACROPHAGES, M), (cells.BCELLS, B))])
    return x, y, cat, S.x.copy(), S.y.copy(), S.state.astype(int)


class TissueFigure:
    """The grid: the chosen field as a heatmap (colour bar in a.u.), cells coloured by type/state,
    MSC as large outlined stars.  Built once per model; each draw updates one image and two scatters."""

    def __init__(self, model: AppModel):
        self.model = model
        sim = model.sim
        self.fig = fig = Figure(figsize=(6.4, 4.6), dpi=DPI)
        self.ax = ax = fig.add_axes((0.02, 0.09, 0.58, 0.8))
        cax = fig.add_axes((0.62, 0.09, 0.022, 0.8))
        w, h = sim.space.fields.shape[1:]
        self.im = ax.imshow(np.zeros((h, w)), origin="lower", cmap=FIELD_CMAP, vmin=0.0, vmax=1.0,
                            interpolation="nearest", extent=(-0.5, w - 0.5, -0.5, h - 0.5))
        self.cb = fig.colorbar(self.im, cax=cax)
        self.cb.ax.tick_params(labelsize=6.5)
        self.cells = ax.scatter([], [], s=[], linewidths=0, marker="o")
        self.msc = ax.scatter([], [], s=60, marker="*", edgecolors="black", linewidths=0.6, zorder=3)
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(-0.5, h - 0.5)
        ax.set_xticks([])
        ax.set_yticks([])
        mm = w * sim.space.voxel_um / 1000.0
        ax.set_xlabel(f"{mm:.1f} mm x {mm:.1f} mm of inflamed tissue (one voxel = {sim.space.voxel_um:g} um)",
                      fontsize=7)
        self.title = ax.set_title("", fontsize=8.5)
        handles = [Line2D([], [], ls="", marker="o", color=c, markersize=4 if s < 12 else 6, label=lab)
                   for lab, c, s in CELL_STYLES]
        handles += [Line2D([], [], ls="", marker="*", markerfacecolor=c, markeredgecolor="black", markersize=9,
                           label=lab) for lab, c in MSC_STYLES]
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.76, 0.52), fontsize=6.5, frameon=False,
                   title="cells", title_fontsize=7)
        self.counts = fig.text(0.76, 0.1, "", fontsize=6.5, va="bottom")
        self._colours = np.array([to_rgba(c) for _, c, _ in CELL_STYLES])
        self._sizes = np.array([s for _, _, s in CELL_STYLES], float)
        self._msc_colours = np.array([to_rgba(c) for _, c in MSC_STYLES])

    def draw(self, field: str = "infl") -> Figure:
        """Update the figure to the model's current state with ``field`` underneath."""
        sim = self.model.sim
        data = sim.space.fields[MEDIATORS.index(field)].T
        self.im.set_data(data)
        self.im.set_clim(0.0, max(1.0, float(data.max())))
        self.cb.set_label(f"{FIELD_LABELS[field]}\n{UNITS}", fontsize=7)
        x, y, cat, sx, sy, sstate = cell_layers(sim)
        self.cells.set_offsets(np.column_stack([x, y]))
        self.cells.set_facecolors(self._colours[cat])
        self.cells.set_sizes(self._sizes[cat])
        self.msc.set_offsets(np.column_stack([sx, sy]) if sx.size else np.zeros((0, 2)))
        self.msc.set_facecolors(self._msc_colours[sstate] if sx.size else np.zeros((0, 4)))
        self.title.set_text(f"Tissue, day {self.model.t_days:.1f}: {FIELD_LABELS[field]}")
        self.counts.set_text(f"MSC alive: {int(np.count_nonzero(sstate != msc.APOPTOTIC))}\nMSC apoptotic: "
                             f"{int(np.count_nonzero(sstate == msc.APOPTOTIC))}\nT cells: {sim.tcells.n}\n"
                             f"macrophages: {sim.macrophages.n}")
        return self.fig


PLOTS = [  # (title, [(column, label, colour, style)])
    ("Treg/Th17 ratio", [("blood_treg_th17_ratio", "blood", "#1f77b4", "-"),
                         ("tissue_treg_th17_ratio", "tissue", "#1f77b4", ":")]),
    ("% of CD4", [("blood_treg_pct_cd4", "Treg blood", "#1f77b4", "-"),
                  ("tissue_treg_pct_cd4", "Treg tissue", "#1f77b4", ":"),
                  ("blood_th17_pct_cd4", "Th17 blood", "#d62728", "-"),
                  ("tissue_th17_pct_cd4", "Th17 tissue", "#d62728", ":")]),
    ("MSC alive", [("msc_alive_lung", "lung (cells)", "#8c564b", "-"),
                   ("msc_alive_tissue", "tissue patch (agents)", "#ff7f0e", "-")]),
    ("M2 fraction of macrophages", [("m2_fraction", "M2 fraction", "#2ca02c", "-")]),
]


class PlotsFigure:
    """Live trajectories against simulated days (built once per model; each draw sets line data)."""

    def __init__(self, model: AppModel):
        self.model = model
        self.fig = fig = Figure(figsize=(6.4, 4.6), dpi=DPI)
        self.axes = axes = fig.subplots(2, 2, sharex=True, gridspec_kw={
            "left": 0.08, "right": 0.98, "top": 0.94, "bottom": 0.1, "hspace": 0.25, "wspace": 0.22})
        self.lines: list[tuple[object, str, object]] = []
        for ax, (title, series) in zip(axes.flat, PLOTS, strict=True):
            for col, label, colour, style in series:
                (line,) = ax.plot([], [], style, color=colour, label=label, lw=1.3)
                self.lines.append((ax, col, line))
            ax.set_title(title, fontsize=8)
            ax.tick_params(labelsize=6.5)
            ax.legend(fontsize=6, frameon=False, loc="upper right", ncol=2 if len(series) > 2 else 1)
            ax.grid(alpha=0.3)
        axes[1, 0].set_yscale("symlog", linthresh=10)
        axes[1, 0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v < 1e5 else f"{v:.0e}"))
        axes[1, 1].set_ylim(0, 1)
        for ax in axes[1]:
            ax.set_xlabel("simulated time (days since first infusion)", fontsize=7)

    def draw(self) -> Figure:
        """Update the lines to the model's rows."""
        rows = self.model.rows
        t = np.array([r["t_days"] for r in rows])
        for _, col, line in self.lines:
            line.set_data(t, np.array([r[col] for r in rows], float))
        for ax in self.axes.flat[:3]:
            ax.relim()
            ax.autoscale_view(scalex=False)
        self.axes[0, 0].set_xlim(0, max(2.0, float(t[-1]) if t.size else 2.0))
        return self.fig


def _view(model: AppModel, kind: type):
    views = model.__dict__.setdefault("_views", {})
    if kind not in views:
        views[kind] = kind(model)
    return views[kind]


def tissue_figure(model: AppModel, field: str = "infl") -> Figure:
    """The tissue figure of ``model`` drawn now (the figure object is reused between calls)."""
    return _view(model, TissueFigure).draw(field)


def plots_figure(model: AppModel) -> Figure:
    """The live plots of ``model`` drawn now (the figure object is reused between calls)."""
    return _view(model, PlotsFigure).draw()


# ----------------------------------------------------------------------------------------- status
def status_html(model: AppModel) -> str:
    """The 'what is happening now' panel as HTML (plain HTML: Solara's Markdown would fetch KaTeX,
    which ``solara-assets`` does not ship)."""
    p = model.params
    e = html.escape
    blocked = [BLOCKADE_LABELS[k] for k, v in model.blockade_flags.items() if v]
    route = {"local": "local injection (app default, so MSC are seen in the tissue)", "iv": "IV",
             "intra_arterial": "intra-arterial"}[p["route"]]
    row = model.rows[-1]
    parts = [
        f'<h3 class="abm-day">Day {model.t_days:.1f} (simulated)</h3>',
        f"<p><b>{e(p['disease'].upper())}</b>, {p['body_weight_kg']} kg; {e(p['source'].replace('_', ' '))} "
        f"MSC, {p['dose_million_per_kg']:g} &times; 10<sup>6</sup> cells/kg, {e(route)}, {e(p['schedule'])}; "
        f"seed {p['seed']}.<br>",
        f'<b>Blockades:</b> <span class="abm-blockades">'
        f"{e('; '.join(b + ' blocked' for b in blocked)) if blocked else 'none'}</span>.<br>",
        f"Blood: Treg {row['blood_treg_pct_cd4']:.1f} %, Th17 {row['blood_th17_pct_cd4']:.2f} % of CD4; "
        f"tissue Treg/Th17 {row['tissue_treg_th17_ratio']:.2f}.</p>",
    ]
    if model.messages:
        parts.append('<p><b>Now:</b></p><ul class="abm-now">'
                     + "".join(f"<li>{e(m)}</li>" for m in model.messages) + "</ul>")
    else:
        parts.append(f"<p><b>Now:</b> the burned-in untreated patient at day 0. Press <i>Step</i> (each step = "
                     f"{model.hours_per_step:g} h of simulated time) or play.</p>")
    earlier = model.log[:-len(model.messages) or None][-4:]
    if earlier:
        parts.append("<p><b>Earlier:</b></p><ul>"
                     + "".join(f"<li>day {d:.1f}: {e(m)}</li>" for d, m in reversed(earlier)) + "</ul>")
    if model.seed_note:
        parts.append(f"<p><i>{e(model.seed_note)}</i></p>")
    parts.append(f'<p style="font-size: 85%; color: #555">App settings: {APP_GRID}&times;{APP_GRID} grid and '
                 f"{APP_BURN_IN_DAYS:g}-day burn-in so Reset is fast (a full run uses 100&times;100 and 120 days). "
                 "Change controls, then press <b>Reset</b> to rebuild the patient.</p>")
    return "\n".join(parts)


# ----------------------------------------------------------------------------------------- views
def _image(data: bytes):
    return ipywidgets.Image.element(value=data, format="png", layout=ipywidgets.Layout(width="100%", height="auto"))


def StatusPanel(model: AppModel):
    """What is happening now (driven by the model's event counters)."""
    with solara.Column(style={"max-height": "380px", "overflow-y": "auto", "font-size": "90%"}) as main:
        solara.HTML(tag="div", unsafe_innerHTML=status_html(model))
    return main


def TissueView(model: AppModel):
    """The grid with a selectable field heatmap."""
    field = selected_field.value
    data = solara.use_memo(lambda: png(tissue_figure(model, field)), [id(model), model.steps, field])
    with solara.Column(gap="2px") as main:
        solara.ToggleButtonsSingle(value=selected_field, values=list(MEDIATORS), dense=True)
        _image(data)
    return main


def PlotsView(model: AppModel):
    """Live trajectories."""
    data = solara.use_memo(lambda: png(plots_figure(model)), [id(model), model.steps])
    return _image(data)


_MECH_CACHE: dict[tuple, bytes] = {}


def mechanisms_png(model: AppModel) -> bytes:
    """The mechanism picture for the model's blockades (cached: it changes only with them)."""
    flags = tuple(sorted(model.blockade_flags.items()))
    key = (flags, model.scenario_cfg.biology.secretion.model_dump_json())
    if key not in _MECH_CACHE:
        blocked = [BLOCKADE_LABELS[k] for k, v in flags if v]
        title = "Compartments and mechanisms" + (f" - blocked: {', '.join(blocked)}" if blocked else "")
        g = mechanism_graph(model.blockades, model.scenario_cfg.biology)
        _MECH_CACHE[key] = png(draw_mechanisms(g, title=title))
    return _MECH_CACHE[key]


def MechanismsView(model: AppModel):
    """Compartments and mechanisms, blocked pathways red dashed."""
    blocked = [BLOCKADE_LABELS[k] for k, v in model.blockade_flags.items() if v]
    with solara.Column(gap="2px") as main:
        solara.Text("Blocked pathways: " + (", ".join(blocked) if blocked else "none"),
                    classes=["mechanism-blocked"])
        _image(mechanisms_png(model))
    return main
