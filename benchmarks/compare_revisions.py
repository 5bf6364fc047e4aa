"""Per-step time of the full model, this checkout against a git revision, alternating in one run.

For refactors that must not slow the model: at ~1e3, ~1e4 and ~1e5 cells (the sizes of
``bench_model.py``), each round builds the default scenario in a fresh interpreter from each tree in
turn (order alternating from round to round), steps it ``--warmup`` times and then times a fixed
number of steps (per size) three times, keeping the fastest block.  Both trees run the same seed, so a
bit-identical refactor does the same work.  The report gives the median ms/step of each tree, their
ratio (this checkout / revision), the median of the per-round ratios and their range (machine noise on a
shared 2-core host is several per cent: use >= 5 rounds).

    PYTHONPATH=. .venv/bin/python benchmarks/compare_revisions.py HEAD~3 [--rounds 5] [--quick]

The revision is exported with ``git archive`` into a temporary folder (nothing in the work tree changes).
Both trees must provide ``abm.config.validate_dict`` and ``abm.model.MSCModel``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_engine import export  # noqa: E402  (git archive of a revision, shared by the benchmarks)

SIZES = (("~1e3", 60, 200), ("~1e4", 192, 40), ("~1e5", 588, 6))
"""label, grid side, steps per timed block (three blocks per probe, about 0.3-0.5 s each)."""

PROBE = """
import json, sys, time
import abm
from abm.config import validate_dict
from abm.model import MSCModel
side, warmup, steps = (int(a) for a in sys.argv[1:4])
model = MSCModel(validate_dict({"tissue": {"width_voxels": side, "height_voxels": side}}), rng=7)
for _ in range(warmup):
    model.step()
blocks = []
for _ in range(3):  # three consecutive blocks; the fastest is the least disturbed by other load
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step()
    blocks.append(1e3 * (time.perf_counter() - t0) / steps)
ms = min(blocks)
cells = model.tcells.n + model.macrophages.n + model.bcells.n + model.msc.n
print(json.dumps({"ms": ms, "cells": cells, "package": abm.__file__}))
"""


def probe(tree: Path, side: int, warmup: int, steps: int) -> dict:
    """One fresh interpreter importing ``abm`` from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(side), str(warmup), str(steps)], env=env,
                         check=True, capture_output=True, text=True, cwd=tree)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(result["package"]).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"imported abm from {result['package']}, not from {tree}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("revision", help="git revision to compare against (e.g. HEAD~3, a commit id)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="only ~1e3 and ~1e4 cells, 3 rounds")
    args = parser.parse_args(argv)
    sizes = SIZES[:2] if args.quick else SIZES
    rounds = 3 if args.quick else args.rounds
    with tempfile.TemporaryDirectory(prefix="abm-bench-") as tmp:
        base = Path(tmp)
        commit = export(args.revision, base)
        trees = {"this checkout": REPO, f"revision {commit[:10]}": base}
        print(f"per-step time, {rounds} alternating rounds, {args.warmup} warm-up steps, then "
              f"{', '.join(str(n) for *_, n in sizes)} timed steps per probe (fresh interpreter each)")
        print(f"{'size':>5}  {'cells':>7}  {'this ms':>8}  {'rev ms':>8}  {'this/rev':>8}  "
              f"{'median ratio':>12}  {'range over rounds':>18}")
        for label, side, steps in sizes:
            times: dict[str, list[float]] = {k: [] for k in trees}
            cells = 0
            for r in range(rounds):
                order = list(trees) if r % 2 == 0 else list(reversed(trees))
                for name in order:
                    res = probe(trees[name], side, args.warmup, steps)
                    times[name].append(res["ms"])
                    cells = res["cells"]
            this, rev = times["this checkout"], times[f"revision {commit[:10]}"]
            ratios = [a / b for a, b in zip(this, rev, strict=True)]
            print(f"{label:>5}  {cells:>7,}  {statistics.median(this):8.2f}  {statistics.median(rev):8.2f}  "
                  f"{statistics.median(this) / statistics.median(rev):8.3f}  {statistics.median(ratios):12.3f}  "
                  f"{min(ratios):8.3f} - {max(ratios):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
