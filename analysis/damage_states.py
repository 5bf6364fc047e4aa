"""The damage loop's steady states: measure how effector activity follows the disease drive in the model,
then find the loop's fixed points and their stability (the figure and table of docs/model.md).

    python analysis/damage_states.py --out docs/figures/damage_states.png [--seeds 3] [--days 50]

The loop (:mod:`abm.biology.damage`) closes through the whole model: D sets the drive scale
c = 1 - s + s D, the model turns c into effector activity a(c), and a makes damage f(a).  Step 1 measures
a(c) directly: burned-in patients (one per seed) are run with the drive held at each c (the loop's
repair time set to infinity), and a is averaged over the second half of the run.  Step 2 is algebra on
the measured curve (linear interpolation): the fixed points of D are the roots of f(a(1 - s + s D)) = D,
stable where the map crosses the diagonal from above.  Every fixed point is a model state, so the figure
shows what the agent-based model does, not a separate ODE.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from abm import burn_in  # noqa: E402
from abm.biology import damage  # noqa: E402
from abm.biology.parameters import Damage  # noqa: E402
from abm.config import validate_dict  # noqa: E402
from abm.model import MSCModel  # noqa: E402

SCALES = (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0, 1.25, 1.5)
"""Drive scales c at which the activity is measured (1 = the untreated disease)."""
BISTABLE = damage.BISTABLE_EXAMPLE


def measure(preset: str, seeds: list[int], days: int, width: int) -> pd.DataFrame:
    """a(c): the relative effector activity at each held drive scale, per seed (columns: seed, scale,
    activity and each component over its untreated reference)."""
    cfg = validate_dict({"disease": {"preset": preset}, "tissue": {"width_voxels": width, "height_voxels": width},
                         "simulation": {"burn_in_days": 90, "burn_in_mode": "settled"},
                         "biology": {"damage": {"enabled": True, "feedback_share": 1.0, "repair_days": 1e12}}})
    rows = []
    for seed in seeds:
        model = MSCModel(cfg, rng=seed)
        burn_in.run(model)
        arrays, meta = model.state_dict()
        for c in SCALES:
            m = MSCModel(cfg, rng=seed)
            m.load_state_dict({k: v.copy() for k, v in arrays.items()}, copy.deepcopy(meta))
            m.damage.level = c  # with feedback_share 1 the drive scale is D itself, held by the infinite repair time
            ref = np.asarray(m.damage.reference)
            acc = []
            per_day = round(24 / m.dt_h)
            for day in range(days):
                for _ in range(per_day):
                    m.step()
                if day >= days // 2:
                    x = damage.observed(m)
                    acc.append([damage.activity(x, ref, m.bio.damage), *(x / np.where(ref > 0, ref, np.nan))])
            mean = np.nanmean(np.array(acc), axis=0)
            rows.append({"preset": preset, "seed": seed, "scale": c, "activity": mean[0],
                         **{f"{k}_rel": v for k, v in zip(damage.COMPONENTS, mean[1:], strict=True)}})
    return pd.DataFrame(rows)


def mean_activity(curve: pd.DataFrame) -> pd.Series:
    """Mean a(c) over seeds, divided by its value at c = 1: each patient's reference is its untreated
    activity, so a(1) = 1 up to the noise of that reference, which this removes."""
    mean = curve.groupby("scale")["activity"].mean()
    return mean / mean.loc[1.0]


def fixed_points(curve: pd.DataFrame, p: Damage) -> list[tuple[float, bool]]:
    """(D, stable) of every fixed point of D -> f(a(1 - s + s D)) on D in [0, 2], from the mean a(c)."""
    mean = mean_activity(curve)
    d = np.linspace(0.0, 2.0, 2001) + 1e-4  # off the measured grid points, so no root lands on one
    c = np.clip(1.0 - p.feedback_share + p.feedback_share * d, mean.index.min(), mean.index.max())
    g = np.array([damage.production(a, p) for a in np.interp(c, mean.index, mean.values)]) - d
    out = []
    if g[0] < 0:  # no damage is made near D = 0: the loop decays to 0
        out.append((0.0, True))
    for i in np.flatnonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0):
        root = d[i] - g[i] * (d[i + 1] - d[i]) / (g[i + 1] - g[i])
        out.append((float(root), bool(g[i] > 0)))  # stable where the map crosses the diagonal from above
    return out


def figure(curve: pd.DataFrame, out: Path) -> pd.DataFrame:
    """The map f(a(c(D))) against D for the shipped and the bistable loop, and the fixed points over the
    feedback share; returns the fixed-point table."""
    shipped, bistable = Damage(), Damage(**BISTABLE)
    mean = mean_activity(curve)
    fig, axes = plt.subplots(1, 2, figsize=(7.3, 3.2), constrained_layout=True)
    d = np.linspace(0, 1.6, 321)
    ax = axes[0]
    for p, label in ((shipped, "shipped loop"), (bistable, "bistable configuration")):
        c = np.clip(1 - p.feedback_share + p.feedback_share * d, mean.index.min(), mean.index.max())
        ax.plot(d, [damage.production(a, p) for a in np.interp(c, mean.index, mean.values)], label=label)
    ax.plot(d, d, color="0.5", lw=0.8, ls=":", label="D (diagonal)")
    ax.set(xlabel="damage D (x untreated)", ylabel="damage made, f(a)", title="one turn of the loop")
    ax.legend(fontsize=7, frameon=False)
    rows = []
    ax = axes[1]
    for p0, colour, size, name in ((shipped, "C0", 6, "shipped K, n"), (bistable, "C1", 3, "bistable K, n")):
        for s in np.linspace(0.0, 1.0, 41):
            p = p0.model_copy(update={"feedback_share": float(s)})
            for level, stable in fixed_points(curve, p):
                rows.append({"configuration": "shipped" if p0 is shipped else "bistable",
                             "feedback_share": round(float(s), 3), "D": round(level, 3), "stable": stable})
                ax.plot(s, level, "o" if stable else "x", ms=size, color=colour, mfc=colour if stable else "none")
        ax.plot([], [], "o", color=colour, ms=size, label=name)
    ax.set(xlabel="feedback share s (constant part of the drive: 1 - s)", ylabel="steady damage D",
           title="steady states (o stable, x unstable)")
    ax.legend(fontsize=7, frameon=False, loc="center left")
    for a in axes:
        a.tick_params(labelsize=8)
        a.xaxis.label.set_size(8)
        a.yaxis.label.set_size(8)
        a.title.set_size(9)
    fig.suptitle("Damage loop (a hypothesis): model states, measured activity a(c) from the agent-based model",
                 fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="figure (PNG); the tables are written beside it")
    ap.add_argument("--preset", default="sle")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--days", type=int, default=50, help="days at each held drive (the second half is averaged)")
    ap.add_argument("--width", type=int, default=100, help="tissue width and height, voxels")
    ap.add_argument("--activity", type=Path, help="a measured a(c) table (*.activity.csv) to reuse instead of "
                                                   "simulating")
    args = ap.parse_args(argv)
    if args.activity:
        curve = pd.read_csv(args.activity)
    else:
        curve = measure(args.preset, list(range(1, args.seeds + 1)), args.days, args.width)
        curve.to_csv(args.out.with_suffix(".activity.csv"), index=False)
    points = figure(curve, args.out)
    points.to_csv(args.out.with_suffix(".fixed_points.csv"), index=False)
    print(curve.groupby("scale")[["activity", *(f"{k}_rel" for k in damage.COMPONENTS)]].agg(["mean", "std"])
          .round(3).to_string())
    for name in ("shipped", "bistable"):
        at = points[(points.configuration == name)]
        p = Damage() if name == "shipped" else Damage(**BISTABLE)
        here = at[np.isclose(at.feedback_share, p.feedback_share)]
        print(name, f"s={p.feedback_share}:", ", ".join(f"D={r.D} ({'stable' if r.stable else 'unstable'})"
                                                       for r in here.itertuples()))


if __name__ == "__main__":
    main()
