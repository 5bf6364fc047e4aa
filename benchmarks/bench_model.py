"""Speed and memory of the abm model, and its ratio to a per-object Mesa baseline.

Sections of the printed report:

1. Scaling: the full ``MSCModel.step`` at ~1e3, ~1e4 and ~1e5 cells (square grids at the default
   densities): agent-steps/s, field-solve time per call, wall seconds per simulated day and peak
   memory (tracemalloc and resident set, each measured in a fresh subprocess).
2. The default scenario (100x100 voxels): wall time of a full 180-day arm on one core, burn-in
   timed separately and excluded.
3. The per-object Mesa baseline of motility + sensing + fate (``benchmarks/mesa_baseline.py``)
   against the same three operations vectorised with the abm building blocks.
4. Field-solve time against grid side (the DCT is fast only for sides with small prime factors).

Run from the repository root: ``make bench``, or
``PYTHONPATH=. python benchmarks/bench_model.py [--quick] [--json FILE] [--profile]``.
All timings use ``time.perf_counter``; each figure is the median over several repetitions.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import json
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import scipy
from mesa_baseline import PerObjectTCellModel, VectorisedTCells, setup_from_model

from abm import run as runner
from abm.biology import secretion
from abm.config import Scenario, validate_dict
from abm.engine.fields import SteadyStateSolver
from abm.model import MSCModel

MIB = 1024.0**2
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Size:
    """A square grid at the default densities (T 0.15 + macrophage 0.10 + B 0.04 cells/voxel)."""

    label: str
    side: int  # voxels; chosen with small prime factors so the DCT field solve is fast


SIZES = (Size("~1e3", 60), Size("~1e4", 192), Size("~1e5", 588))
QUICK_SIZES = SIZES[:2]
BASELINE_LABELS = ("~1e3", "~1e4")
PROFILE_LABEL = "~1e4"
SOLVER_SIDES = (586, 587, 588, 600)  # 587 is prime, 586 = 2 * 293: slow DCT lengths


@dataclass(frozen=True)
class Budget:
    """How long to measure: the default run stays under ~5 min on 2 cores, --quick under 30 s."""

    reps: int  # timed repetitions; the median is reported
    block_s: float  # target wall time of one repetition
    memory_steps: int  # steps taken inside the memory probe
    arm_days: float | None  # None: the full 180-day arm; else a shortened run, projected
    burn_in_days: float | None  # None: the scenario's own burn-in


DEFAULT = Budget(reps=5, block_s=0.6, memory_steps=12, arm_days=None, burn_in_days=None)
QUICK = Budget(reps=3, block_s=0.1, memory_steps=3, arm_days=5.0, burn_in_days=2.0)


# ----------------------------------------------------------------------------- helpers
def scenario_for(side: int, **simulation: float) -> Scenario:
    """The default scenario on a ``side x side`` grid, with optional simulation overrides."""
    overrides: dict[str, Any] = {"tissue": {"width_voxels": side, "height_voxels": side}}
    if simulation:
        overrides["simulation"] = simulation
    return validate_dict(overrides)


def n_cells(model: MSCModel) -> int:
    """All cells on the grid: T cells, macrophages, B cells and MSC."""
    return model.tcells.n + model.macrophages.n + model.bcells.n + model.msc.n


def steps_for(target_s: float, step_s: float, minimum: int = 1) -> int:
    """Number of steps that take about ``target_s`` seconds at ``step_s`` seconds each."""
    return max(minimum, math.ceil(target_s / max(step_s, 1e-9)))


def time_block(step: Callable[[], None], steps: int,
               agents: Callable[[], int]) -> tuple[float, int]:
    """Wall seconds and agent-steps of ``steps`` calls of ``step``."""
    agent_steps = 0
    start = time.perf_counter()
    for _ in range(steps):
        agent_steps += agents()
        step()
    return time.perf_counter() - start, agent_steps


@dataclass
class Rate:
    """Median over repetitions of a stepped workload."""

    step_ms: float
    agent_steps_per_s: float
    steps_timed: int


def measure_rate(step: Callable[[], None], agents: Callable[[], int], budget: Budget,
                 warmup_steps: int = 2) -> Rate:
    """Warm up, then time ``budget.reps`` blocks of about ``budget.block_s`` seconds each."""
    start = time.perf_counter()
    for _ in range(warmup_steps):
        step()
    per_step = (time.perf_counter() - start) / warmup_steps
    steps = steps_for(budget.block_s, per_step)
    step_s, rates = [], []
    for _ in range(budget.reps):
        wall, agent_steps = time_block(step, steps, agents)
        step_s.append(wall / steps)
        rates.append(agent_steps / wall)
    return Rate(step_ms=1e3 * statistics.median(step_s),
                agent_steps_per_s=statistics.median(rates), steps_timed=steps * budget.reps)


def median_call_ms(call: Callable[[], object], budget: Budget, minimum: int = 5) -> float:
    """Median wall time (ms) of ``call`` over enough calls to fill about one block."""
    call()
    start = time.perf_counter()
    call()
    calls = steps_for(budget.block_s, time.perf_counter() - start, minimum)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def fmt_rate(r: float) -> str:
    """Rates as 1.23e+06 (fixed width)."""
    return f"{r:.2e}"


def print_table(title: str, headers: list[str], rows: list[list[str]], notes: list[str]) -> None:
    """A plain-text table: right-aligned columns under a title, notes below."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    print(f"\n{title}\n{'=' * len(title)}")
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    for note in notes:
        print(textwrap.fill(note, width=100, initial_indent="  ", subsequent_indent="    "))
    sys.stdout.flush()


# ----------------------------------------------------------------------------- memory probe
def memory_probe(mode: str, side: int, steps: int, seed: int) -> dict[str, float]:
    """Build a model and step it, in this (fresh) process; report its memory.

    ``rss``: growth of the resident set over build + steps (peak minus start, /proc).
    ``tracemalloc``: traced peak of build + steps, and the traced size of the tissue space alone
    (the Mesa grid with its per-voxel ``Cell`` objects, property layers and field arrays).
    The two modes run in separate processes because tracing inflates the resident set.
    """
    scenario = scenario_for(side)
    gc.collect()
    if mode == "rss":
        _reset_peak_rss()
        before = _proc_status_mib("VmRSS")
        model = MSCModel(scenario, rng=seed)
        for _ in range(steps):
            model.step()
        peak = _proc_status_mib("VmHWM")
        return {"cells": n_cells(model), "rss_before_mib": before, "rss_peak_mib": peak,
                "rss_growth_mib": peak - before}
    tracemalloc.start()
    model = MSCModel(scenario, rng=seed)
    built = n_cells(model)
    for _ in range(steps):
        model.step()
    current, peak = tracemalloc.get_traced_memory()
    space_bytes = _traced_size_of_space(model)
    tracemalloc.stop()
    return {"cells": built, "traced_peak_mib": peak / MIB, "traced_end_mib": current / MIB,
            "space_mib": space_bytes / MIB}


def _proc_status_mib(key: str) -> float:
    """A memory line of /proc/self/status (VmRSS: resident now, VmHWM: resident peak), MiB.

    Not ``resource.getrusage(...).ru_maxrss``: on Linux a child started by fork + exec inherits
    the parent's high-water mark, so it would report the benchmark parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0  # kB
    raise KeyError(key)


def _reset_peak_rss() -> None:
    """Reset VmHWM to the current resident set (Linux >= 4.0), so the peak is of what follows."""
    # if this fails the peak includes the imports' transient peak: growth is an upper bound
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _traced_size_of_space(model: MSCModel) -> int:
    """Traced bytes freed when the model's tissue space (grid, layers, fields) is dropped."""
    gc.collect()
    with_space, _ = tracemalloc.get_traced_memory()
    space = model.space
    model.space = None
    del space
    gc.collect()
    without, _ = tracemalloc.get_traced_memory()
    return with_space - without


def run_memory_probe(mode: str, side: int, steps: int, seed: int) -> dict[str, float]:
    """Run :func:`memory_probe` in a fresh interpreter (clean high-water marks)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-probe", mode,
           "--probe-side", str(side), "--probe-steps", str(steps), "--seed", str(seed)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ.copy())
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- 1. scaling
@dataclass
class SizeResult:
    """Speed and memory of the full model at one size."""

    label: str
    side: int
    voxels: int
    cells_start: int
    cells_mean_timed: float
    build_s: float
    step_ms: float
    agent_steps_per_s: float
    steps_timed: int
    solve_ms: float
    fields_with_sources: int
    wall_s_per_sim_day: float
    traced_peak_mib: float
    space_mib: float
    rss_growth_mib: float
    rss_peak_mib: float

    @property
    def bytes_per_cell(self) -> float:
        """Traced peak per cell at build time."""
        return self.traced_peak_mib * MIB / self.cells_start


def bench_size(size: Size, budget: Budget, seed: int) -> tuple[SizeResult, MSCModel]:
    """Time the full step and the field solve at one size; probe memory in subprocesses."""
    scenario = scenario_for(size.side)
    start = time.perf_counter()
    model = MSCModel(scenario, rng=seed)
    build_s = time.perf_counter() - start
    cells_start = n_cells(model)
    counts: list[int] = []

    def agents() -> int:
        counts.append(n_cells(model))
        return counts[-1]

    rate = measure_rate(model.step, agents, budget, warmup_steps=3)
    sources = secretion.tissue_sources(model)
    solve_ms = median_call_ms(lambda: model.solver.solve(sources), budget)
    rss = run_memory_probe("rss", size.side, budget.memory_steps, seed)
    traced = run_memory_probe("tracemalloc", size.side, budget.memory_steps, seed)
    steps_per_day = 24.0 / model.dt_h
    result = SizeResult(
        label=size.label, side=size.side, voxels=size.side**2, cells_start=cells_start,
        cells_mean_timed=float(np.mean(counts)), build_s=build_s, step_ms=rate.step_ms,
        agent_steps_per_s=rate.agent_steps_per_s, steps_timed=rate.steps_timed,
        solve_ms=solve_ms, fields_with_sources=int(sources.reshape(len(sources), -1).any(1).sum()),
        wall_s_per_sim_day=rate.step_ms / 1e3 * steps_per_day,
        traced_peak_mib=traced["traced_peak_mib"], space_mib=traced["space_mib"],
        rss_growth_mib=rss["rss_growth_mib"], rss_peak_mib=rss["rss_peak_mib"])
    return result, model


def print_scaling(results: list[SizeResult], budget: Budget) -> None:
    """Section 1 table."""
    rows = [[r.label, f"{r.side}x{r.side}", f"{r.cells_start:,}", f"{r.build_s:.2f}",
             f"{r.step_ms:.2f}", fmt_rate(r.agent_steps_per_s), f"{r.solve_ms:.2f}",
             f"{r.wall_s_per_sim_day:.3f}", f"{r.traced_peak_mib:.1f}", f"{r.space_mib:.1f}",
             f"{r.rss_growth_mib:.1f}", f"{r.bytes_per_cell:,.0f}",
             f"{r.traced_peak_mib * MIB / r.voxels:,.0f}"] for r in results]
    print_table(
        "1. Full model step (MSCModel.step) by size, one core",
        ["size", "grid", "cells", "build s", "step ms", "agent-steps/s", "solve ms", "s/sim day",
         "peak MiB", "space MiB", "RSS+ MiB", "B/cell", "B/voxel"], rows,
        ["cells: T + macrophages + B at the default densities 0.15 + 0.10 + 0.04 = 0.29 "
         "cells/voxel, at build",
         f"agent-steps/s: sum of live cells over the steps / wall time, median of {budget.reps} "
         "repetitions after a 3-step warm-up",
         "solve ms: SteadyStateSolver.solve of the current sources (6 fields, "
         f"{results[0].fields_with_sources} with nonzero sources untreated), median per call",
         "s/sim day: step ms x 12 steps of 2 h",
         f"peak MiB: tracemalloc peak of building + {budget.memory_steps} steps (fresh "
         "process); space MiB: the part held by TissueSpace (Mesa grid of per-voxel Cell "
         "objects, property layers, field and occupancy arrays)",
         "RSS+ MiB: growth of the resident set (peak VmHWM minus VmRSS after imports, "
         "/proc/self/status) over the same work, separate fresh process without tracing",
         "B/cell, B/voxel: traced peak per cell and per voxel (density fixed, so both are "
         "constant if memory is linear in cells)"])


# ----------------------------------------------------------------------------- 2. 180-day arm
@dataclass
class ArmResult:
    """Wall time of the default scenario's first arm, through the real runner (abm.run)."""

    arm: str
    side: int
    burn_in_days: float
    burn_in_wall_s: float
    days_simulated: float
    days_target: float
    steps: int
    wall_s: float
    projected_s: float
    cells_at_branch: int
    cells_at_end: int

    @property
    def step_ms(self) -> float:
        """Mean wall time per arm step."""
        return 1e3 * self.wall_s / self.steps


def bench_arm(budget: Budget) -> ArmResult:
    """Burn-in (timed apart), branch, then the first arm for 180 days (or a projected part).

    Uses ``abm.run.burn_in`` / ``branch`` / ``run_arm``, so the time includes the daily
    trajectory recording and the state copy of the branch, as in a real run.
    """
    full = validate_dict({})
    overrides: dict[str, float] = {}
    if budget.burn_in_days is not None:
        overrides["burn_in_days"] = budget.burn_in_days
    if budget.arm_days is not None:
        overrides["days"] = budget.arm_days
    scenario = validate_dict({"simulation": overrides}) if overrides else full
    sim = scenario.simulation
    arm_name = next(iter(scenario.arms))
    start = time.perf_counter()
    burned = runner.burn_in(scenario)
    burn_s = time.perf_counter() - start
    model = runner.branch(scenario, burned.state_dict(), arm_name)
    cells_at_branch = n_cells(model)
    start = time.perf_counter()
    runner.run_arm(model)
    wall = time.perf_counter() - start
    return ArmResult(
        arm=arm_name, side=scenario.tissue.width_voxels, burn_in_days=sim.burn_in_days,
        burn_in_wall_s=burn_s, days_simulated=sim.days, days_target=full.simulation.days,
        steps=runner.steps_for(sim.days * 24.0, sim.dt_h), wall_s=wall,
        projected_s=wall * full.simulation.days / sim.days, cells_at_branch=cells_at_branch,
        cells_at_end=n_cells(model))


def print_arm(r: ArmResult) -> None:
    """Section 2 table."""
    kind = "measured" if r.days_simulated == r.days_target else "projected"
    rows = [[r.arm, f"{r.side}x{r.side}", f"{r.burn_in_days:g}", f"{r.burn_in_wall_s:.1f}",
             f"{r.days_simulated:g}", f"{r.steps}", f"{r.step_ms:.2f}", f"{r.wall_s:.1f}",
             f"{r.projected_s:.1f} ({kind})", f"{r.cells_at_branch:,} -> {r.cells_at_end:,}"]]
    notes = ["abm.run.burn_in (untreated, excluded from the arm time), branch, run_arm "
             "(steps + daily trajectory rows)"]
    if kind == "projected":
        notes.append(f"--quick: burn-in shortened to {r.burn_in_days:g} d and only "
                     f"{r.days_simulated:g} d of the arm run; 180-d time scaled linearly")
    print_table("2. Default scenario: one 180-day arm on one core",
                ["arm", "grid", "burn-in d", "burn-in s", "days run", "steps", "ms/step",
                 "wall s", "180 d wall s", "cells"], rows, notes)


# ----------------------------------------------------------------------------- 3. baseline
@dataclass
class BaselineResult:
    """Per-object Mesa baseline vs the vectorised equivalent, at one size."""

    label: str
    side: int
    agents: int
    per_object_build_s: float
    per_object_agent_steps_per_s: float
    vectorised_agent_steps_per_s: float
    full_step_agent_steps_per_s: float

    @property
    def vectorised_over_per_object(self) -> float:
        """Speed ratio of the like-for-like comparison."""
        return self.vectorised_agent_steps_per_s / self.per_object_agent_steps_per_s

    @property
    def full_over_per_object(self) -> float:
        """Speed ratio of the whole model step (much more work) to the baseline."""
        return self.full_step_agent_steps_per_s / self.per_object_agent_steps_per_s


def bench_baseline(size: SizeResult, model: MSCModel, budget: Budget,
                   seed: int) -> BaselineResult:
    """Both versions of motility + sensing + fate from the model's current grid and fields."""
    setup = setup_from_model(model)
    start = time.perf_counter()
    per_object = PerObjectTCellModel(setup, seed)
    build_s = time.perf_counter() - start
    po = measure_rate(per_object.step, lambda: setup.n, budget, warmup_steps=2)
    del per_object
    vectorised = VectorisedTCells(setup, seed)
    vec = measure_rate(vectorised.step, lambda: vectorised.pop.n, budget, warmup_steps=3)
    return BaselineResult(
        label=size.label, side=size.side, agents=setup.n, per_object_build_s=build_s,
        per_object_agent_steps_per_s=po.agent_steps_per_s,
        vectorised_agent_steps_per_s=vec.agent_steps_per_s,
        full_step_agent_steps_per_s=size.agent_steps_per_s)


def print_baseline(results: list[BaselineResult]) -> None:
    """Section 3 table."""
    rows = [[r.label, f"{r.side}x{r.side}", f"{r.agents:,}",
             fmt_rate(r.per_object_agent_steps_per_s), fmt_rate(r.vectorised_agent_steps_per_s),
             f"{r.vectorised_over_per_object:.0f}x", fmt_rate(r.full_step_agent_steps_per_s),
             f"{r.full_over_per_object:.1f}x"] for r in results]
    print_table(
        "3. Per-object Mesa baseline vs vectorised abm: motility + sensing + fate of T cells",
        ["size", "grid", "T cells", "per-object/s", "vectorised/s", "vec/per-obj",
         "full step/s", "full/per-obj"], rows,
        ["per-object Mesa baseline (benchmarks/mesa_baseline.py): one CellAgent per T cell on "
         "an OrthogonalMooreGrid (capacity 1), fields as property layers; each agent.step() "
         "reads its six levels, draws naive -> Treg/Th17 from the rule table's naive->to:treg/"
         "to:th17 rules and moves to a random empty Moore neighbour; "
         "model.agents.shuffle_do('step')",
         "vectorised: the same on arrays - space.sample + the same laws + "
         "common.competing_fates + space.jump (Gaussian jump, model's T-cell step length)",
         "both start from the model's cells (all as naive T cells) and its solved fields; "
         "rates are agent-steps/s, medians",
         "full step/s: the whole MSCModel.step from section 1 (three cell types, secretion, "
         "field solve, contacts, division/death, trafficking, blood and lung) - much more work "
         "per agent-step than the baseline, so this ratio understates the vectorisation gain"])


# ----------------------------------------------------------------------------- 4. solver sides
@dataclass
class SolveSide:
    """Field-solve time on one grid side."""

    side: int
    factors: str
    solve_ms: float


def bench_solver_sides(budget: Budget) -> list[SolveSide]:
    """Field-solve time (all 6 fields with sources) for grid sides near the ~1e5 size.

    The solvers are configured as the model's own (D, k, voxel size, precision).
    """
    ref = MSCModel(scenario_for(SIZES[0].side), rng=0).solver
    rng = np.random.default_rng(0)
    out = []
    for side in SOLVER_SIDES:
        solver = SteadyStateSolver((side, side), ref.voxel_um, ref.diffusion_um2_per_min,
                                   ref.loss_per_min, dtype=ref.dtype)
        sources = rng.random((ref.n_fields, side, side)).astype(ref.dtype)
        ms = median_call_ms(lambda s=solver, src=sources: s.solve(src), budget, minimum=3)
        out.append(SolveSide(side=side, factors=_factors(side), solve_ms=ms))
    return out


def _factors(n: int) -> str:
    """Prime factorisation as text, e.g. 588 -> '2^2*3*7^2'."""
    parts, p = [], 2
    while n > 1:
        k = 0
        while n % p == 0:
            n //= p
            k += 1
        if k:
            parts.append(f"{p}^{k}" if k > 1 else str(p))
        p += 1
    return "*".join(parts)


def print_solver_sides(results: list[SolveSide]) -> None:
    """Section 4 table."""
    rows = [[f"{r.side}x{r.side}", r.factors, f"{r.solve_ms:.1f}"] for r in results]
    print_table("4. Field solve (all 6 fields with sources) vs grid side", ["grid", "side factors", "solve ms"],
                rows, ["the DCT behind SteadyStateSolver is slow for sides with a large prime "
                       "factor: prefer widths/heights with small factors (2, 3, 5, 7)"])


# ----------------------------------------------------------------------------- profile
def profile_step(side: int, seed: int, steps: int = 50, top: int = 10) -> str:
    """cProfile of ``steps`` model steps: the ``top`` functions by cumulative time.

    Mesa's own step wrappers (which enclose everything) are left out.
    """
    model = MSCModel(scenario_for(side), rng=seed)
    for _ in range(3):
        model.step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        model.step()
    profiler.disable()
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, dict]] = (
        pstats.Stats(profiler).stats)  # type: ignore[attr-defined]
    rows = sorted(((ct, tt, nc, _where(f, line, func))
                   for (f, line, func), (_, nc, tt, ct, _) in raw.items()
                   if f"{os.sep}mesa{os.sep}" not in f), reverse=True)[:top]
    lines = [f"{'cum ms/step':>11}  {'own ms/step':>11}  {'calls/step':>10}  function"]
    lines += [f"{1e3 * ct / steps:11.3f}  {1e3 * tt / steps:11.3f}  {nc / steps:10.1f}  {where}"
              for ct, tt, nc, where in rows]
    return "\n".join(lines)


def _where(filename: str, line: int, func: str) -> str:
    """A short location: repository-relative or package-relative path."""
    if filename == "~":
        return func
    for root in (str(REPO) + os.sep, "site-packages" + os.sep):
        if root in filename:
            filename = filename.split(root, 1)[1]
            break
    return f"{filename}:{line}({func})"


# ----------------------------------------------------------------------------- main
def environment() -> dict[str, str]:
    """Versions and machine, for the JSON record."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "abm"], cwd=REPO, check=True,
                               capture_output=True, text=True).stdout.strip() != ""
        commit += " (abm/ modified)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "mesa": mesa.__version__,
            "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
            "commit": commit}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke mode (< 30 s): two sizes, short runs, arm time projected")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results as JSON")
    parser.add_argument("--profile", action="store_true",
                        help=f"also print a cProfile of the step at the {PROFILE_LABEL} size")
    parser.add_argument("--seed", type=int, default=1, help="model seed (default 1)")
    # internal: one memory measurement in a fresh interpreter
    parser.add_argument("--memory-probe", choices=("rss", "tracemalloc"), help=argparse.SUPPRESS)
    parser.add_argument("--probe-side", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--probe-steps", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the report."""
    args = parse_args(argv)
    if args.memory_probe:
        print(json.dumps(memory_probe(args.memory_probe, args.probe_side, args.probe_steps,
                                      args.seed)))
        return 0
    budget = QUICK if args.quick else DEFAULT
    sizes = QUICK_SIZES if args.quick else SIZES
    env = environment()
    started = time.perf_counter()
    print("abm benchmarks" + (" (--quick)" if args.quick else ""))
    print("  " + ", ".join(f"{k} {v}" for k, v in env.items()))

    scaling: list[SizeResult] = []
    baseline: list[BaselineResult] = []
    profile_text = ""
    for size in sizes:
        result, model = bench_size(size, budget, args.seed)
        scaling.append(result)
        if size.label in BASELINE_LABELS:
            baseline.append(bench_baseline(result, model, budget, args.seed))
        if args.profile and size.label == PROFILE_LABEL:
            profile_text = profile_step(size.side, args.seed)
        del model
        gc.collect()
    print_scaling(scaling, budget)

    arm = bench_arm(budget)
    print_arm(arm)
    print_baseline(baseline)

    sides: list[SolveSide] = [] if args.quick else bench_solver_sides(budget)
    if sides:
        print_solver_sides(sides)
    if profile_text:
        title = f"Profile: 50 steps at {PROFILE_LABEL} cells, top 10 by cumulative time"
        print(f"\n{title}\n{'=' * len(title)}\n{profile_text.strip()}")

    total = time.perf_counter() - started
    print(f"\ntotal benchmark time {total:.0f} s")
    if args.json:
        record = {"quick": args.quick, "environment": env, "total_s": total,
                  "scaling": [asdict(r) | {"bytes_per_cell": r.bytes_per_cell} for r in scaling],
                  "arm_180d": asdict(arm) | {"step_ms": arm.step_ms},
                  "baseline": [asdict(r) | {"vectorised_over_per_object":
                                            r.vectorised_over_per_object,
                                            "full_over_per_object": r.full_over_per_object}
                               for r in baseline],
                  "solver_sides": [asdict(r) for r in sides], "profile": profile_text}
        args.json.write_text(json.dumps(record, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
