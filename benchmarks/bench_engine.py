"""The engine's figures side by side in one run: this checkout (compiled and numpy paths) against the
previous engine, the per-object Mesa baseline, runs/hour with 2 workers, memory per cell up to 10^6 cells,
and what the compile cache costs.

Every timing is a fresh interpreter (``subprocess``), and the trees alternate from round to round, so a
load on the shared machine hits both alike; each figure is the median over rounds (the per-step figure is
the fastest of three blocks within a round).  The previous engine is the git revision ``--against``
(default :data:`PREVIOUS_ENGINE`, the last commit before the compiled engine), exported with ``git archive``.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_engine.py [--rounds 3] [--quick] [--json FILE]

Sections:

1. Full default run (120-day burn-in + two 180-day arms of ``configs/default_trial.yaml``): CPU seconds
   (``time.process_time``) and the arm alone; this checkout also with the settled 90-day burn-in and with
   the coarse field grid (``simulation.field_coarsening: 2``).
2. The full step at ~1e3, ~1e4, ~1e5 cells: ms/step and agent-steps/s; the per-object Mesa baseline
   (``benchmarks/mesa_baseline.py``) at 1e3 and 1e4 agents.
3. Memory: resident-set growth per cell of building a model and taking two steps, at 1e3-1e6 cells; the
   1e6-cell build and step times.
4. Runs/hour: a batch of full default runs on the local backend with 2 worker processes.
5. Compile cache: import + first step with an empty numba cache (a first-time user, or a SLURM job on a
   node whose cache directory is empty) and with a warm one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PREVIOUS_ENGINE = "dfd6d29"
"""The last commit of the numpy-only engine (lazy grid, in-place solve and compiled kernels came after)."""
SIDES = (("~1e3", 60, 200), ("~1e4", 192, 40), ("~1e5", 588, 6))
MEMORY_SIDES = (("~1e3", 60), ("~1e4", 192), ("~1e5", 588), ("~1e6", 1858))

PROBE = r"""
import json, os, sys, time
t_import = time.perf_counter()
kind = sys.argv[1]
import abm
from abm.config import load, validate_dict
from abm.model import MSCModel

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024

out = {"package": abm.__file__}
if kind == "steps":
    side, steps = int(sys.argv[2]), int(sys.argv[3])
    model = MSCModel(validate_dict({"tissue": {"width_voxels": side, "height_voxels": side}}), rng=7)
    for _ in range(3):
        model.step()
    blocks = []
    for _ in range(3):
        cells = 0
        t0 = time.perf_counter()
        for _ in range(steps):
            cells += model.tcells.n + model.macrophages.n + model.bcells.n + model.msc.n
            model.step()
        wall = time.perf_counter() - t0
        blocks.append((wall / steps * 1e3, cells / wall))
    out.update(ms=min(b[0] for b in blocks), agent_steps_per_s=max(b[1] for b in blocks), cells=cells // steps)
elif kind == "full":
    from abm.run import branch, burn_in, run_arm
    overrides = json.loads(sys.argv[2])
    scenario = load(os.path.join(os.getcwd(), "configs", "default_trial.yaml"), overrides=overrides or None)
    c0, w0 = time.process_time(), time.perf_counter()
    burned = burn_in(scenario).state_dict()
    c1, w1 = time.process_time(), time.perf_counter()
    arm_s = []
    for name in scenario.arms:
        a0 = time.process_time()
        run_arm(branch(scenario, burned, name))
        arm_s.append(time.process_time() - a0)
    out.update(cpu_s=time.process_time() - c0, wall_s=time.perf_counter() - w0, burn_in_cpu_s=c1 - c0,
               arm_cpu_s=max(arm_s))
elif kind == "memory":
    side = int(sys.argv[2])
    warm = MSCModel(validate_dict({"tissue": {"width_voxels": 12, "height_voxels": 12}}), rng=1)
    warm.step()  # imports, compiled-kernel loading and first-call caches are not per-cell memory
    del warm
    before = rss()
    t0 = time.perf_counter()
    model = MSCModel(validate_dict({"tissue": {"width_voxels": side, "height_voxels": side}}), rng=7)
    build = time.perf_counter() - t0
    model.step()
    t1 = time.perf_counter()
    model.step()
    step = time.perf_counter() - t1
    cells = model.tcells.n + model.macrophages.n + model.bcells.n
    out.update(cells=cells, build_s=build, step_s=step, bytes_per_cell=(rss() - before) / cells)
elif kind == "first_step":
    model = MSCModel(validate_dict({"tissue": {"width_voxels": 40, "height_voxels": 40}}), rng=7)
    model.step()
    out.update(seconds=time.perf_counter() - t_import)
print(json.dumps(out))
"""


def probe(tree: Path, kind: str, *args: str, engine: str | None = None, env: dict | None = None) -> dict:
    """One fresh interpreter importing ``abm`` from ``tree``."""
    run_env = {**os.environ, "PYTHONPATH": str(tree), **(env or {})}
    run_env.pop("ABM_ENGINE", None)
    if engine:
        run_env["ABM_ENGINE"] = engine
    out = subprocess.run([sys.executable, "-c", PROBE, kind, *args], env=run_env, check=True,
                         capture_output=True, text=True, cwd=tree)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(result["package"]).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"imported abm from {result['package']}, not from {tree}")
    return result


def export(revision: str, into: Path) -> str:
    """``git archive`` of ``revision`` unpacked into ``into``; returns the full commit id."""
    commit = subprocess.run(["git", "rev-parse", revision], cwd=REPO, check=True, capture_output=True,
                            text=True).stdout.strip()
    archive = subprocess.run(["git", "archive", commit], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return commit


def alternate(variants: dict[str, tuple], rounds: int) -> dict[str, list[dict]]:
    """Each variant ``(tree, kind, args, engine)`` once per round, the order reversed every other round."""
    results: dict[str, list[dict]] = {k: [] for k in variants}
    for r in range(rounds):
        for name in (list(variants) if r % 2 == 0 else list(reversed(variants))):
            tree, kind, args, engine = variants[name]
            results[name].append(probe(tree, kind, *args, engine=engine))
    return results


def med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def full_runs(prev: Path, rounds: int, report: dict) -> None:
    variants = {
        "compiled": (REPO, "full", ("{}",), "compiled"),
        "numpy path": (REPO, "full", ("{}",), "numpy"),
        "previous engine": (prev, "full", ("{}",), None),
        "compiled, settled 90-d burn-in": (REPO, "full", (json.dumps(
            {"simulation": {"burn_in_mode": "settled", "burn_in_days": 90}}),), "compiled"),
        "compiled, field_coarsening 2": (REPO, "full", (json.dumps(
            {"simulation": {"field_coarsening": 2}}),), "compiled"),
    }
    res = alternate(variants, rounds)
    base = med(res["previous engine"], "cpu_s")
    base_arm = med(res["previous engine"], "arm_cpu_s")
    print("\n1. Full default run (burn-in + two 180-day arms), CPU s, median of", rounds, "rounds")
    print(f"{'engine':34s} {'run CPU s':>10s} {'runs/h/core':>12s} {'burn-in s':>10s} {'arm s':>7s} "
          f"{'run vs previous':>16s} {'arm vs previous':>16s}")
    for name, rows in res.items():
        cpu, arm = med(rows, "cpu_s"), med(rows, "arm_cpu_s")
        print(f"{name:34s} {cpu:10.2f} {3600 / cpu:12.0f} {med(rows, 'burn_in_cpu_s'):10.2f} {arm:7.2f} "
              f"{base / cpu:15.2f}x {base_arm / arm:15.2f}x")
        report.setdefault("full_run", {})[name] = {"cpu_s": cpu, "arm_cpu_s": arm,
                                                   "burn_in_cpu_s": med(rows, "burn_in_cpu_s")}


def steps(prev: Path, rounds: int, sides, report: dict) -> None:
    print("\n2. Full step by size (fastest of 3 blocks per round, median of rounds)")
    print(f"{'size':>5s} {'cells':>8s} {'compiled ms':>12s} {'numpy ms':>9s} {'previous ms':>12s} "
          f"{'agent-steps/s':>14s} {'vs previous':>12s}")
    for label, side, n in sides:
        res = alternate({"compiled": (REPO, "steps", (str(side), str(n)), "compiled"),
                         "numpy": (REPO, "steps", (str(side), str(n)), "numpy"),
                         "previous": (prev, "steps", (str(side), str(n)), None)}, rounds)
        c, p = med(res["compiled"], "ms"), med(res["previous"], "ms")
        rate = med(res["compiled"], "agent_steps_per_s")
        print(f"{label:>5s} {res['compiled'][0]['cells']:>8,} {c:12.2f} {med(res['numpy'], 'ms'):9.2f} {p:12.2f} "
              f"{rate:14.3g} {p / c:11.2f}x")
        report.setdefault("steps", {})[label] = {"compiled_ms": c, "numpy_ms": med(res["numpy"], "ms"),
                                                 "previous_ms": p, "agent_steps_per_s": rate}


def mesa_baseline(report: dict, sides) -> None:
    """The per-object Mesa T-cell model against the compiled full step, at the same cell counts."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    sys.path.insert(0, str(REPO))
    from mesa_baseline import PerObjectTCellModel, setup_from_model

    from abm.config import validate_dict
    from abm.model import MSCModel

    print("\n   per-object Mesa baseline (one CellAgent per cell, shuffle_do('step')), agent-steps/s")
    for label, side, _ in sides[:2]:
        model = MSCModel(validate_dict({"tissue": {"width_voxels": side, "height_voxels": side}}), rng=7)
        for _ in range(3):
            model.step()
        setup = setup_from_model(model)
        po = PerObjectTCellModel(setup, 7)
        po.step()
        t0 = time.perf_counter()
        k = 0
        while time.perf_counter() - t0 < 1.5:
            po.step()
            k += 1
        po_rate = setup.n * k / (time.perf_counter() - t0)
        full = report["steps"][label]["agent_steps_per_s"]
        print(f"   {label}: per-object {po_rate:10.3g}/s  compiled full step {full:10.3g}/s  "
              f"ratio {full / po_rate:6.0f}x")
        report.setdefault("mesa_baseline", {})[label] = {"per_object_agent_steps_per_s": po_rate,
                                                         "ratio": full / po_rate}


def memory(prev: Path, report: dict, sides) -> None:
    print("\n3. Memory: resident-set growth per cell (build + 2 steps), build and step time")
    print(f"{'size':>5s} {'cells':>10s} {'compiled B/cell':>16s} {'previous B/cell':>16s} {'build s':>8s} "
          f"{'prev build s':>13s} {'step s':>7s} {'prev step s':>12s}")
    for label, side in sides:
        new = probe(REPO, "memory", str(side), engine="compiled")
        old = probe(prev, "memory", str(side)) if side <= 588 or os.environ.get("BENCH_OLD_1E6") else None
        o = (f"{old['bytes_per_cell']:16.0f} {'':>8s}" if old else f"{'(skipped)':>16s} {'':>8s}")
        print(f"{label:>5s} {new['cells']:>10,} {new['bytes_per_cell']:16.0f} {o[:16]} {new['build_s']:8.2f} "
              f"{(old['build_s'] if old else float('nan')):13.2f} {new['step_s']:7.3f} "
              f"{(old['step_s'] if old else float('nan')):12.3f}")
        report.setdefault("memory", {})[label] = {"compiled": new, "previous": old}


def runs_per_hour(report: dict, n_runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="abm-bench-batch-") as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(f"name: bench\nbase: {REPO / 'configs' / 'default_trial.yaml'}\nreplicates: {n_runs}\n"
                        f"root_seed: 11\nbackend: {{kind: local}}\n")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "abm.cli", "batch", str(spec), "--out", str(Path(tmp) / "out"),
                        "--backend", "local", "--workers", "2", "--no-progress"], check=True, cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True)
        wall = time.perf_counter() - t0
    rate = n_runs / wall * 3600
    print(f"\n4. Runs/hour: {n_runs} full default runs, local backend, 2 workers: {wall:.1f} s wall -> "
          f"{rate:.0f} runs/h (includes process start-up and writing the batch)")
    report["runs_per_hour"] = {"runs": n_runs, "wall_s": wall, "runs_per_hour": rate}


def compile_cache(report: dict) -> None:
    with tempfile.TemporaryDirectory(prefix="abm-numba-cache-") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = probe(REPO, "first_step", engine="compiled", env=env)["seconds"]
        warm = statistics.median(probe(REPO, "first_step", engine="compiled", env=env)["seconds"]
                                 for _ in range(3))
        size = sum(f.stat().st_size for f in Path(cache).rglob("*") if f.is_file())
    numpy_first = statistics.median(probe(REPO, "first_step", engine="numpy")["seconds"] for _ in range(3))
    print(f"\n5. Import + first step: empty numba cache {cold:.1f} s, warm cache {warm:.2f} s "
          f"(numpy path {numpy_first:.2f} s); the cache holds {size / 2**20:.1f} MiB")
    report["compile_cache"] = {"cold_s": cold, "warm_s": warm, "numpy_s": numpy_first, "cache_mib": size / 2**20}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", default=PREVIOUS_ENGINE, help="git revision of the previous engine")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=6, help="full runs in the runs/hour batch")
    parser.add_argument("--quick", action="store_true", help="1 round, sizes to 1e4, no 1e6, 2 batch runs")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="abm-bench-prev-") as tmp:
        prev = Path(tmp)
        commit = export(args.against, prev)
        print(f"this checkout vs the previous engine {commit[:10]}; {os.cpu_count()} cores; rounds {rounds}")
        report["previous_engine"] = commit
        compile_cache(report)  # first: the later probes warm the checkout's own cache
        full_runs(prev, rounds, report)
        steps(prev, rounds, SIDES[:2] if args.quick else SIDES, report)
        mesa_baseline(report, SIDES)
        memory(prev, report, MEMORY_SIDES[:2] if args.quick else MEMORY_SIDES)
        runs_per_hour(report, 2 if args.quick else args.runs)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
