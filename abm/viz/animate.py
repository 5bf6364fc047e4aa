"""Animations of one arm for slides: the tissue grid, chosen fields and the Treg/Th17 ratios, day by day.

The arm is simulated again from its burned-in state, with the seeds of the run, so the animation
shows exactly the run it was made from: from a run directory (``abm run``) the arm branches from
``checkpoints/burnin.npz`` and the plotted ratios are checked against ``trajectories.parquet``; from
a scenario YAML the burn-in is run first (as ``abm run`` would).

Two passes: the frames are simulated and kept (a few arrays per frame), then drawn with one figure
whose artists are updated in place, so colour scales are fixed over the whole animation.
Memory: about ``frames x (1 + 4 x fields) x width x height`` bytes.

Typical use::

    animate(Path("runs/my-run"), Path("slides/msc.gif"), arm="msc", fields=["ido", "tgfb"])
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from abm.biology import cells
from abm.biology.rules import msc
from abm.config import MEDIATORS, Scenario, load
from abm.run import branch, burn_in, steps_for

SUFFIXES = (".gif", ".mp4")
"""Output formats, chosen by the file suffix: GIF (Pillow) or MP4 (H.264 through imageio-ffmpeg)."""

FIELD_LABELS = {
    "ido": "IDO activity", "pge2": "PGE2", "tgfb": "TGF-β", "il6": "IL-6", "il10": "IL-10",
    "infl": "IFN-γ/TNF-α",
}
"""Display names of the fields (all in arbitrary units, a.u.)."""

CELL_CLASSES: tuple[tuple[str, str], ...] = (
    ("empty voxel", "#f2f2f2"),
    *((c.label, c.colour) for c in cells.immune_categories()),
    ("MSC", cells.MSC.states[cells.MSC.code("licensed")].colour),
)
"""Category index -> (legend label, colour) of the tissue map: empty, the cell-type table's immune
categories (:func:`abm.biology.cells.immune_categories`), MSC (drawn over as stars by state)."""

MSC_EDGES = {"apoptotic": "#3a3a3a"}
"""Star outline by MSC state (default black)."""

MSC_STYLES = {  # state code -> (legend label, face colour, edge colour)
    i: (s.label, s.colour, MSC_EDGES.get(s.key, "#000000")) for i, s in enumerate(cells.MSC.states)}

LINE_COLOURS = ("#222222", "#8c2d9e", "#d4a017", "#7fffd4")
"""Blood ratio, tissue ratio, infusion days, MSC outlines on the fields."""

Progress = Callable[[int], None]
"""Called with 1 after each frame is written."""


class AnimationError(ValueError):
    """Bad input to :func:`animate` (source, arm, fields, times or output file); the message says what."""


@dataclass
class Source:
    """What to simulate: a scenario and arm, and (for a run directory) its burned-in state and record."""

    scenario: Scenario
    arm: str
    days: float
    burned: tuple[dict, dict] | None
    """Burned-in state (arrays, meta); ``None``: burn in from the scenario first."""
    recorded: pd.DataFrame | None
    """The arm's rows of the run's ``trajectories.parquet`` (run directories only)."""
    label: str


@dataclass
class Frame:
    """One captured time point of the arm."""

    t_days: float
    cells: np.ndarray
    """(width, height) uint8: index into :data:`CELL_CLASSES` per voxel."""
    msc_x: np.ndarray
    msc_y: np.ndarray
    msc_state: np.ndarray
    fields: dict[str, np.ndarray]
    """Field name -> (width, height) float32 concentration (a.u.)."""
    row: dict[str, float]
    """The recorded quantities at this time (:func:`abm.record.snapshot`; events not counted)."""


# ----------------------------------------------------------------------------- input
def load_source(source: str | Path, arm: str | None = None, days: float | None = None) -> Source:
    """Resolve a scenario YAML or a run directory (and the arm, follow-up) without simulating.

    Raises:
        AnimationError: not a YAML or run directory, unknown arm, bad ``days``.
        abm.config.ConfigError / abm.checkpoint.CheckpointError: invalid config or checkpoint.
    """
    from abm import checkpoint

    source = Path(source)
    recorded = None
    if source.is_dir():
        ckpt = source / "checkpoints" / "burnin.npz"
        if not (source / "manifest.json").is_file() or not ckpt.is_file():
            raise AnimationError(f"{source}: not a run directory (needs manifest.json and "
                                 f"checkpoints/burnin.npz, as written by `abm run`)")
        scenario, arrays, meta = checkpoint.load(ckpt)
        burned: tuple[dict, dict] | None = (arrays, meta)
        traj_file = source / "trajectories.parquet"
        traj = pd.read_parquet(traj_file) if traj_file.is_file() else None
        label = source.name
    elif source.is_file() and source.suffix.lower() in (".yaml", ".yml"):
        scenario = load(source)
        burned, traj, label = None, None, source.stem
    elif source.exists():
        raise AnimationError(f"{source}: expected a scenario YAML (.yaml/.yml) or a run directory")
    else:
        raise AnimationError(f"{source}: no such file or directory")
    arm = arm if arm is not None else next(iter(scenario.arms))
    if arm not in scenario.arms:
        raise AnimationError(f"arm {arm!r}: not in {source}; arms: {', '.join(scenario.arms)}")
    if traj is not None:
        recorded = traj[traj["arm"] == arm].reset_index(drop=True)
    days = scenario.simulation.days if days is None else float(days)
    if not (days > 0 and math.isfinite(days)):
        raise AnimationError(f"days must be a finite number > 0, got {days}")
    return Source(scenario, arm, days, burned, recorded, f"{label}: {scenario.name}, arm {arm}")


def check_fields(fields: Sequence[str]) -> list[str]:
    """The field names, checked against the model's mediators."""
    fields = list(fields)
    bad = [f for f in fields if f not in MEDIATORS]
    if bad:
        raise AnimationError(f"unknown field(s) {bad}; allowed: {', '.join(MEDIATORS)}")
    return fields


def frame_days(days: float, every_h: float, dt_h: float) -> list[float]:
    """Times (days) of the frames: 0, every_h, ... up to ``days``; every_h must be whole steps."""
    if not (every_h > 0 and math.isfinite(every_h)):
        raise AnimationError(f"every_h must be a finite number of hours > 0, got {every_h}")
    ratio = every_h / dt_h
    if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
        raise AnimationError(f"every_h {every_h:g} h must be a whole multiple of the step dt_h = {dt_h:g} h")
    n = int(math.floor(days * 24 / every_h + 1e-9))
    return [i * every_h / 24 for i in range(n + 1)]


def check_suffix(out: str | Path) -> str:
    """The output format (``.gif`` or ``.mp4``); :class:`AnimationError` names the allowed ones."""
    suffix = Path(out).suffix.lower()
    if suffix not in SUFFIXES:
        raise AnimationError(f"{out}: unsupported output suffix {suffix or '(none)'!r}; allowed: "
                             f"{', '.join(SUFFIXES)}")
    if suffix == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise AnimationError("MP4 output needs the imageio-ffmpeg package (pip install imageio-ffmpeg); "
                                 "or write a .gif") from None
    return suffix


# ----------------------------------------------------------------------------- simulation
def cell_map(model) -> np.ndarray:
    """(width, height) uint8 map of cell categories (:data:`CELL_CLASSES`) of the model now."""
    sp = model.space
    img = np.zeros((sp.width, sp.height), np.uint8)
    T, M, B, S = model.tcells, model.macrophages, model.bcells, model.msc
    for ct, pop in ((cells.TCELLS, T), (cells.MACROPHAGES, M), (cells.BCELLS, B)):
        img[pop.x, pop.y] = 1 + cells.categories_of(ct, pop)
    img[S.x, S.y] = len(CELL_CLASSES) - 1
    return img


def capture(model, fields: Sequence[str]) -> Frame:
    """A frame of the model's current state."""
    from abm.record import snapshot

    row = snapshot(model, Counter())
    S = model.msc
    return Frame(float(row["t_days"]), cell_map(model), S.x.copy(), S.y.copy(), S.state.copy(),
                 {f: model.space.fields[MEDIATORS.index(f)].copy() for f in fields}, row)


def simulate(src: Source, days: Sequence[float], fields: Sequence[str] = ("ido", "tgfb"),
             progress: Progress | None = None) -> list[Frame]:
    """Branch the arm (burning in first for a YAML source) and capture frames at ``days``.

    ``days`` must fall on whole steps; ``progress(1)`` is called per captured frame.
    """
    fields = check_fields(fields)
    dt_h = src.scenario.simulation.dt_h
    steps = []
    for d in days:
        k = d * 24 / dt_h
        if d < 0 or abs(k - round(k)) > 1e-6:
            raise AnimationError(f"day {d:g}: must be >= 0 and on a whole step of {dt_h:g} h")
        steps.append(steps_for(d * 24, dt_h))
    burned = src.burned if src.burned is not None else burn_in(src.scenario).state_dict()
    model = branch(src.scenario, burned, src.arm)
    out: list[Frame] = []
    done = 0
    for k in sorted(set(steps)):
        while done < k:
            model.step()
            done += 1
        out.append(capture(model, fields))
        if progress:
            progress(1)
    return out


RATIOS = ("blood_treg_th17_ratio", "tissue_treg_th17_ratio")


def compare_recorded(frames: Sequence[Frame], recorded: pd.DataFrame | None) -> list[str]:
    """Differences between the frames' ratios and the run's recorded trajectory at common days."""
    if recorded is None or recorded.empty:
        return []
    rec = recorded.set_index(recorded["t_days"].round(6))
    problems = []
    for fr in frames:
        key = round(fr.t_days, 6)
        if key not in rec.index:
            continue
        for col in RATIOS:
            a, b = fr.row[col], float(rec.at[key, col])
            if not (a == b or (math.isnan(a) and math.isnan(b))):
                problems.append(f"day {fr.t_days:g} {col}: re-simulated {a!r}, recorded {b!r}")
    return problems


# ----------------------------------------------------------------------------- drawing
class Animator:
    """One figure for all frames: grid, field heatmaps, ratio panel; :meth:`draw` updates it in place."""

    PANEL_PX, HEIGHT_PX, LEGEND_PX = 420, 640, 200

    def __init__(self, src: Source, frames: Sequence[Frame], fields: Sequence[str], dpi: int = 100):
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        from abm.biology import dosing

        self.frames, self.fields, self.dpi = list(frames), list(fields), dpi
        sc = src.scenario
        nf = len(self.fields)
        width_px = self.PANEL_PX * (nf + 1) + self.LEGEND_PX
        self.fig = fig = Figure(figsize=(width_px / dpi, self.HEIGHT_PX / dpi), dpi=dpi, layout="constrained")
        gs = fig.add_gridspec(2, nf + 2, height_ratios=[2.5, 1.0], width_ratios=[0.85] + [1.0] * nf + [
            self.LEGEND_PX / self.PANEL_PX])
        vox_mm = sc.tissue.voxel_um / 1000.0
        self.vox_mm = vox_mm
        w, h = sc.tissue.width_voxels, sc.tissue.height_voxels
        extent = (0, w * vox_mm, 0, h * vox_mm)
        first = self.frames[0]

        ax = fig.add_subplot(gs[0, 0])
        cmap = ListedColormap([c for _, c in CELL_CLASSES])
        self.cells = ax.imshow(first.cells.T, origin="lower", extent=extent, cmap=cmap, vmin=-0.5,
                               vmax=len(CELL_CLASSES) - 0.5, interpolation="nearest")
        size = float(np.clip(2.2e4 / max(w, h) ** 1.15, 40, 160))
        self.msc_marks = {}
        for state, (label, face, edge) in MSC_STYLES.items():
            self.msc_marks[state] = ax.scatter([], [], s=size, marker="*", facecolor=face, edgecolor=edge,
                                               linewidth=0.9, zorder=3, label=label)
        self.cells_title = ax.text(0.5, 1.02, "tissue cells", transform=ax.transAxes, ha="center", va="bottom",
                                   fontsize=11)
        self._grid_axes(ax)
        axes = [ax]

        self.heat, self.heat_msc = [], []
        for j, name in enumerate(self.fields):
            ax = fig.add_subplot(gs[0, j + 1])
            top = float(max(fr.fields[name].max() for fr in self.frames))
            vmax = top if top > 0 else 1.0
            im = ax.imshow(first.fields[name].T, origin="lower", extent=extent, cmap=FIELD_CMAP, vmin=0.0,
                           vmax=vmax, interpolation="nearest")
            cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, shrink=0.85)
            cb.set_label(f"{FIELD_LABELS.get(name, name)} (a.u.)", fontsize=10)
            cb.ax.tick_params(labelsize=8)
            ax.set_title(f"{FIELD_LABELS.get(name, name)} field" + ("" if top > 0 else " (zero throughout)"),
                         fontsize=11)
            self._grid_axes(ax)
            self.heat.append(im)
            self.heat_msc.append(ax.scatter([], [], s=size * 0.8, marker="*", facecolor="none",
                                            edgecolor=LINE_COLOURS[3], linewidth=0.8, zorder=3))
            axes.append(ax)

        # legend column: cell classes and MSC markers
        leg_ax = fig.add_subplot(gs[:, -1])
        leg_ax.axis("off")
        handles = [Patch(facecolor=c, edgecolor="#555555", linewidth=0.4, label=lab)
                   for lab, c in CELL_CLASSES[1:-1]]
        handles += [Line2D([], [], ls="", marker="*", markersize=12, markerfacecolor=face, markeredgecolor=edge,
                           label=label) for label, face, edge in MSC_STYLES.values()]
        leg_ax.legend(handles=handles, loc="upper left", fontsize=9, frameon=False, title="cells",
                      title_fontsize=10, handlelength=1.2, borderaxespad=0.0)
        note = "☆ on the fields: viable MSC;\ncolour scales fixed over\nthe animation" if self.fields else ""
        leg_ax.text(0.0, 0.02, note, transform=leg_ax.transAxes, fontsize=8, color="#444444", va="bottom")
        self.counts = leg_ax.text(0.0, 0.30, "", transform=leg_ax.transAxes, fontsize=9, va="top")

        # ratio panel
        ax = self.ratio_ax = fig.add_subplot(gs[1, : nf + 1])
        t = np.array([fr.t_days for fr in self.frames])
        self.t = t
        self.series = {col: np.array([fr.row[col] for fr in self.frames], float) for col in RATIOS}
        styles = {"blood_treg_th17_ratio": ("blood", LINE_COLOURS[0], "-"),
                  "tissue_treg_th17_ratio": ("tissue", LINE_COLOURS[1], "--")}
        self.lines, self.heads = {}, {}
        for col, (label, colour, ls) in styles.items():
            (self.lines[col],) = ax.plot([], [], color=colour, ls=ls, lw=1.8, label=f"{label} Treg/Th17")
            (self.heads[col],) = ax.plot([], [], "o", color=colour, ms=5)
        infusion_days = sorted({inf.day for inf in dosing.plan(sc, sc.arms[src.arm]) if inf.day <= src.days})
        for day in infusion_days:
            ax.axvline(day, color=LINE_COLOURS[2], lw=1.2, ls=":", zorder=0)
        finite = np.concatenate([v[np.isfinite(v)] for v in self.series.values()])
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        pad = 0.08 * (hi - lo) if hi > lo else max(0.1 * abs(hi), 0.1)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlim(0, max(float(t[-1]), 1e-9) if len(t) > 1 else max(src.days, 1e-9))
        ax.set_xlabel("days after first infusion", fontsize=10)
        ax.set_ylabel("Treg/Th17 ratio", fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=9)
        extra = [Line2D([], [], color=LINE_COLOURS[2], lw=1.2, ls=":", label="infusion")] if infusion_days else []
        ax.legend(handles=[*self.lines.values(), *extra], loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=9,
                  frameon=False, ncol=3, borderaxespad=0.1)
        fig.suptitle(src.label, fontsize=12)
        self.draw(0)
        fig.draw_without_rendering()  # lay out once, then freeze the layout: frames only move data
        fig.set_layout_engine("none")
        self._dynamic = [self.cells, self.cells_title, self.counts, *self.msc_marks.values(), *self.heat,
                         *self.heat_msc, *self.lines.values(), *self.heads.values()]
        self._freeze_background()

    def _freeze_background(self) -> None:
        """Render everything that never changes (axes, ticks, labels, colour bars, legends) once into a
        background image, and leave only the changing artists to be drawn per frame (~3x faster)."""
        from matplotlib.axes import Axes
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(self.fig)
        for a in self._dynamic:
            a.set_visible(False)
        canvas.draw()
        background = np.asarray(canvas.buffer_rgba()).copy()
        for a in self._dynamic:
            a.set_visible(True)
        keep = {id(a) for a in self._dynamic}
        for a in self.fig.findobj():
            if a is not self.fig and not isinstance(a, Axes) and id(a) not in keep:
                a.set_visible(False)
        self.fig.figimage(background, xo=0, yo=0, origin="upper", zorder=-100)

    @staticmethod
    def _grid_axes(ax) -> None:
        ax.set_xlabel("x (mm)", fontsize=9)
        ax.set_ylabel("y (mm)", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_aspect("equal")

    @property
    def size_px(self) -> tuple[int, int]:
        """(width, height) of a frame in pixels."""
        w, h = self.fig.get_size_inches() * self.dpi
        return int(round(w)), int(round(h))

    def draw(self, i: int) -> None:
        """Show frame ``i``."""
        fr = self.frames[i]
        self.cells.set_data(fr.cells.T)
        xy = np.column_stack([(fr.msc_x + 0.5) * self.vox_mm, (fr.msc_y + 0.5) * self.vox_mm])
        for state, sc in self.msc_marks.items():
            sc.set_offsets(xy[fr.msc_state == state].reshape(-1, 2))
        alive = xy[fr.msc_state != msc.APOPTOTIC].reshape(-1, 2)
        for im, sc, name in zip(self.heat, self.heat_msc, self.fields, strict=True):
            im.set_data(fr.fields[name].T)
            sc.set_offsets(alive)
        for col, line in self.lines.items():
            line.set_data(self.t[: i + 1], self.series[col][: i + 1])
            self.heads[col].set_data(self.t[i : i + 1], self.series[col][i : i + 1])
        self.cells_title.set_text(f"tissue cells, day {fr.t_days:.1f}")
        row = fr.row
        self.counts.set_text(f"day {fr.t_days:.1f}\nviable MSC in tissue: {row['msc_alive_tissue']:.0f}\n"
                             f"viable MSC in lung: {row['msc_alive_lung']:.3g}\n"
                             f"blood Treg/Th17: {row['blood_treg_th17_ratio']:.2f}\n"
                             f"tissue Treg/Th17: {row['tissue_treg_th17_ratio']:.2f}")

    def save_frame(self, path: str | Path, i: int) -> Path:
        """Write frame ``i`` as an image (for checking or a still slide)."""
        self.draw(i)
        self.fig.savefig(path, dpi=self.dpi)
        return Path(path)


FIELD_CMAP = "magma"


def gif_palette() -> list[tuple[int, int, int]]:
    """One fixed GIF palette for every frame: the exact colours of cells, markers and lines (and their
    tints), greys for text, and the field colour map.  Pillow's per-frame adaptive palette merges rare
    colours (an IDO+ macrophage turned grey) and flickers between frames."""
    from matplotlib import colormaps
    from matplotlib.colors import to_rgb

    exact = [c for _, c in CELL_CLASSES] + [c for _, face, edge in MSC_STYLES.values() for c in (face, edge)]
    exact += list(LINE_COLOURS) + ["#555555", "#444444", "#000000", "#ffffff"]
    rgb = [to_rgb(c) for c in exact]
    rgb += [tuple(w + (1 - w) * v for v in c) for c in rgb[:] for w in (0.35, 0.7)]  # antialiased edges
    rgb += [(g, g, g) for g in np.linspace(0, 1, 56)]
    rgb += [tuple(c[:3]) for c in colormaps[FIELD_CMAP](np.linspace(0, 1, 140))]
    out = list(dict.fromkeys(tuple(int(round(255 * v)) for v in c) for c in rgb))
    return out[:256]


def _gif_writer(fps: int):
    from matplotlib.animation import PillowWriter
    from PIL import Image

    palette = Image.new("P", (1, 1))
    colours = gif_palette()
    palette.putpalette([v for c in colours for v in c] + [0] * 3 * (256 - len(colours)))

    class FixedPaletteWriter(PillowWriter):
        """PillowWriter whose frames are mapped onto one fixed palette (no dithering)."""

        def grab_frame(self, **savefig_kwargs):
            super().grab_frame(**savefig_kwargs)
            self._frames[-1] = self._frames[-1].convert("RGB").quantize(palette=palette, dither=Image.Dither.NONE)

    return FixedPaletteWriter(fps=fps)


def write(animator: Animator, out: Path, fps: int, progress: Progress | None = None) -> Path:
    """Write every frame to ``out`` (GIF or MP4 by suffix), atomically (temp file, then rename)."""
    import matplotlib
    from matplotlib.animation import FFMpegWriter

    suffix = check_suffix(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp{suffix}")
    rc: dict = {}
    if suffix == ".gif":
        writer = _gif_writer(fps)
    else:
        import imageio_ffmpeg

        rc["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
        writer = FFMpegWriter(fps=fps, codec="libx264", bitrate=-1,
                              extra_args=["-pix_fmt", "yuv420p", "-crf", "20", "-movflags", "+faststart"])
    try:
        with matplotlib.rc_context(rc), writer.saving(animator.fig, str(tmp), animator.dpi):
            for i in range(len(animator.frames)):
                animator.draw(i)
                writer.grab_frame()
                if progress:
                    progress(1)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return out


def animate(source: Path, out: Path, arm: str | None = None, fields: Sequence[str] = ("ido", "tgfb"),
            every_h: float = 24, fps: int = 8, days: float | None = None,
            progress: Progress | None = None, status: Callable[[str], None] | None = None) -> Path:
    """Animate one arm of a scenario YAML or run directory into a GIF or MP4; returns ``out``.

    Args:
        source: scenario YAML (burned in first) or run directory (branches from its burn-in checkpoint).
        out: ``.gif`` or ``.mp4`` file.
        arm: arm to show (default: the scenario's first arm).
        fields: fields shown as heatmaps (any of :data:`abm.config.MEDIATORS`).
        every_h: hours between frames (a whole number of model steps).
        fps: frames per second of the output.
        days: follow-up shown (default: the scenario's).
        progress: called with 1 after each frame is written (simulation comes first and is not counted).
        status: called with a short phase description ("burning in ...", "simulating ...", "writing ...").

    Raises:
        AnimationError (a ValueError): bad suffix, source, arm, fields, times; also ConfigError or
            CheckpointError for an invalid config or damaged checkpoint.  Everything is checked before
            simulating.

    For a run directory, the re-simulated ratios are compared with ``trajectories.parquet`` at the
    recorded days; a difference (the model changed since the run) raises a warning.
    """
    fields = check_fields(fields)
    out = Path(out)
    check_suffix(out)
    if not (isinstance(fps, int) and fps >= 1):
        raise AnimationError(f"fps must be a whole number >= 1, got {fps}")
    src = load_source(source, arm, days)
    times = frame_days(src.days, every_h, src.scenario.simulation.dt_h)
    say = status or (lambda _text: None)
    if src.burned is None:
        say(f"burning in {src.scenario.simulation.burn_in_days:g} days")
        src.burned = burn_in(src.scenario).state_dict()
    say(f"simulating arm {src.arm}, {src.days:g} days")
    frames = simulate(src, times, fields)
    problems = compare_recorded(frames, src.recorded)
    if problems:
        warnings.warn(f"{source}: the re-simulated arm differs from the recorded trajectories (was the model "
                      f"changed since the run?): {'; '.join(problems[:3])}", RuntimeWarning, stacklevel=2)
    say(f"writing {len(frames)} frames")
    animator = Animator(src, frames, fields)
    return write(animator, out, fps, progress)
