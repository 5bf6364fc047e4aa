"""Bad input, as a careless user or a hostile file would give it, against every command and file kind.

For every case: exit code 2, no traceback, the offending key, value or file named in the message, and
nothing created or changed on disk.  The cases are built from the parameter schema (every bounded
parameter just outside its bound, in a scenario, an overlay, a batch spec) and by hand (specs,
overlays, findings tables, checkpoints, run and batch directories).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import annotated_types
import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from abm.cli import app
from abm.config import Scenario

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = str(ROOT / "configs" / "default_trial.yaml")
TINY = {"tissue": {"width_voxels": 10, "height_voxels": 10}, "simulation": {"burn_in_days": 1, "days": 2}}


@dataclass
class Case:
    """One bad input: the command (``{f}`` = the written file, ``{d}`` = a work folder, ``{out}`` = an output
    path that must not appear), the file's content (YAML data, or raw text/bytes) and what the message names."""

    id: str
    args: list[str]
    needle: str
    content: Any = None
    name: str = "input.yaml"
    setup: dict[str, Any] = field(default_factory=dict)
    """Extra files: relative path -> content."""


def _bounded_parameters() -> list[tuple[str, float]]:
    """(key path, a value just outside its hard lower bound) of every bounded numeric parameter."""
    out = []

    def walk(model, prefix: str) -> None:
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                walk(value, f"{prefix}{name}.")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            for m in info.metadata:
                if isinstance(m, annotated_types.Ge):
                    out.append((f"{prefix}{name}", m.ge - 1))
                elif isinstance(m, annotated_types.Gt):
                    out.append((f"{prefix}{name}", m.gt - 1))
    scenario = Scenario()
    for section in ("simulation", "tissue", "patient", "disease", "biology"):
        walk(getattr(scenario, section), f"{section}.")
    return out


def _nested(path: str, value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return out


def cases() -> list[Case]:
    out: list[Case] = []
    bounded = _bounded_parameters()
    # every bounded parameter, just outside its bound, as a scenario key of `abm validate`
    for path, bad in bounded:
        out.append(Case(f"scenario-{path}", ["validate", "{f}"], path.split(".")[-1], _nested(path, bad)))
    # a third of them again as an overlay of `abm run` and as a batch sweep point
    for path, bad in bounded[::3]:
        out.append(Case(f"overlay-{path}", ["run", "--overlay", "{f}", "--out", "{out}", "--no-progress"],
                        path.split(".")[-1], _nested(path, bad), "overlay.yaml"))
        out.append(Case(f"sweep-{path}", ["batch", "{f}", "--out", "{out}", "--backend", "serial"],
                        path.split(".")[-1], {"name": "bad", "base": DEFAULT, "overrides": TINY,
                                              "sweep": {"points": [{path: bad}]}}))
    wrong_type = [("simulation.days", "ten"), ("patient.body_weight_kg", [60]), ("seed", "abc"),
                  ("tissue.width_voxels", 10.5), ("disease.preset", "lupus"), ("arms.msc.route", "oral"),
                  ("arms.msc.dose.cells_per_kg", "many"), ("arms.msc.schedule.days", "monday"),
                  ("arms.msc.product.source", "placenta"), ("arms.msc.concomitant", ["aspirin"]),
                  ("arms.msc.blockades.ido_inhibitor", "maybe"), ("arms.msc.control", "sham"),
                  ("biology.fields.ido.loss_per_min", 0), ("simulation.dt_h", 0), ("simulation.dt_h", 2.5)]
    for path, bad in wrong_type:
        out.append(Case(f"type-{path}-{bad}", ["validate", "{f}"], path.split(".")[-1], _nested(path, bad)))
    structural = [
        ("unknown-top", {"simulaton": {"days": 3}}, "simulaton"),
        ("unknown-nested", {"biology": {"tcells": {"treg_halflife": 3}}}, "treg_halflife"),
        ("unknown-arm-key", {"arms": {"msc": {"doze": 3}}}, "doze"),
        ("bad-arm-name", {"arms": {"m s c": {}}}, "m s c"),
        ("no-arms", {"arms": {}}, "arm"),
        ("late-infusion", {"simulation": {"days": 5}, "arms": {"msc": {"schedule": {"days": [9]}}}}, "schedule"),
        ("both-doses", {"arms": {"msc": {"dose": {"cells_per_kg": 1e6, "total_cells": 6e7}}}}, "dose"),
        ("name-escape", {"name": "../ESCAPED"}, "not a valid name"),
        ("name-absolute", {"name": "/tmp/abs"}, "not a valid name"),
        ("top-level-list", "- 1\n- 2\n", "mapping"),
        ("empty", "", "holds no keys"),
        ("comment-only", "# nothing\n", "holds no keys"),
        ("duplicate-key", "seed: 1\nseed: 2\n", "given twice"),
        ("duplicate-nested", "simulation:\n  days: 3\n  days: 4\n", "given twice"),
        ("invalid-yaml", "simulation: {days: 3\n", "not valid YAML"),
        ("tab-indent", "simulation:\n\tdays: 3\n", "not valid YAML"),
        ("deep-nesting", "x: " + "[" * 300 + "]" * 300 + "\n", "nested deeper"),
        ("alias-bomb", "\n".join(['a0: &a0 ["x","x","x","x","x","x","x","x","x"]'] +
                                 [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]),
         "expands to more than"),
        ("binary", b"\xff\xfe\x00\x01", "input.yaml"),
        ("extends-missing", {"extends": "nowhere.yaml"}, "nowhere.yaml"),
        ("nan", {"simulation": {"days": float("nan")}}, "days"),
        ("inf", {"patient": {"body_weight_kg": float("inf")}}, "body_weight_kg"),
    ]
    for cid, content, needle in structural:
        out.append(Case(f"structure-{cid}", ["validate", "{f}"], needle, content))
        out.append(Case(f"run-{cid}", ["run", "{f}", "--out", "{out}", "--no-progress"], needle, content))
    # overlays
    out += [
        Case("overlay-misspelt-arm", ["run", "--overlay", "{f}", "--out", "{out}"], "arms.mcs",
             {"arms": {"mcs": {"dose": {"cells_per_kg": 2e6}}}}, "overlay.yaml"),
        Case("overlay-new-arm-exists", ["run", "--overlay", "{f}", "--out", "{out}"], "exists already",
             {"arms": {"+msc": {}}}, "overlay.yaml"),
        Case("overlay-missing", ["run", "--overlay", "{d}/nope.yaml", "--out", "{out}"], "nope.yaml"),
        Case("trials-overlay-key", ["trials", "--overlay", "{f}", "--out", "{out}", "--replicates", "1"],
             "treg_half_life_dayz", {"biology": {"tcells": {"treg_half_life_dayz": 3}}}, "overlay.yaml"),
        Case("trials-overlay-arm", ["trials", "--overlay", "{f}", "--out", "{out}", "--replicates", "1"],
             "arms.mcs", {"arms": {"mcs": {}}}, "overlay.yaml"),
    ]
    # run options and checkpoints
    out += [
        Case("run-seed", ["run", "--seed", "-3", "--out", "{out}"], "seed"),
        Case("run-days", ["run", "--days", "-1", "--out", "{out}"], "days"),
        Case("run-checkpoint-every", ["run", "--checkpoint-every", "-2", "--out", "{out}"], "checkpoint-every"),
        Case("run-checkpoint-short", ["run", "--checkpoint-every", "0.01", "--out", "{out}"], "shorter than one step"),
        Case("run-config-dir", ["run", "{d}", "--out", "{out}"], "is a directory"),
        Case("run-config-missing", ["run", "{d}/none.yaml", "--out", "{out}"], "none.yaml"),
        Case("resume-text", ["run", "--resume-from", "{f}", "--out", "{out}"], "not an abm checkpoint",
             "hello", "state.txt"),
        Case("resume-fake-npz", ["run", "--resume-from", "{f}", "--out", "{out}"], "state.npz",
             b"PK\x03\x04" + b"\0" * 40, "state.npz"),
        Case("resume-missing", ["run", "--resume-from", "{d}/gone.npz", "--out", "{out}"], "gone.npz"),
        Case("resume-with-seed", ["run", "--resume-from", "{f}", "--seed", "3", "--out", "{out}"], "state.npz",
             b"PK\x03\x04" + b"\0" * 40, "state.npz"),
    ]
    # batch specs
    batch = {"name": "b", "base": DEFAULT, "overrides": TINY, "replicates": 1, "backend": {"kind": "serial"}}
    bad_batches = [
        ("unknown-key", {**batch, "replicate": 2}, "replicate"),
        ("zero-replicates", {**batch, "replicates": 0}, "replicates"),
        ("bad-backend", {**batch, "backend": {"kind": "mpi"}}, "mpi"),
        ("sweep-unknown-key", {**batch, "sweep": {"grid": {"biology.tcells.nope": [1]}}}, "nope"),
        ("sweep-misspelt-arm", {**batch, "sweep": {"grid": {"arms.mcs.dose.cells_per_kg": [1e6]}}}, "arms.mcs"),
        ("sweep-seed", {**batch, "sweep": {"grid": {"seed": [1, 2]}}}, "seed"),
        ("sweep-through-scalar", {**batch, "sweep": {"grid": {"simulation.days.x": [1]}}}, "days"),
        ("sample-no-bounds", {**batch, "sweep": {"sample": {"method": "lhs", "n": 4, "bounds": {}}}}, "bounds"),
        ("sample-log-unbounded", {**batch, "sweep": {"sample": {"method": "lhs", "n": 4, "bounds":
                                  {"patient.body_weight_kg": [10, 60]}, "log": ["seed"]}}}, "seed"),
        ("base-missing", {**batch, "base": "nowhere.yaml"}, "nowhere.yaml"),
        ("name-escape", {**batch, "name": "../x"}, "not a valid name"),
        ("overrides-arm", {**batch, "overrides": {**TINY, "arms": {"mcs": {}}}}, "arms.mcs"),
        ("not-mapping", "- a\n", "mapping"),
        ("empty", "", "holds no keys"),
    ]
    for cid, content, needle in bad_batches:
        out.append(Case(f"batch-{cid}", ["batch", "{f}", "--out", "{out}"], needle, content))
    out += [
        Case("batch-shard", ["batch", DEFAULT.replace("default_trial", "batches/dose_sweep"), "--shard", "5/2",
                             "--out", "{out}"], "shard"),
        Case("batch-status-not-batch", ["batch", "status", "{d}"], "not a batch directory"),
        Case("batch-status-damaged", ["batch", "status", "{d}/b"], "damaged", setup={"b/batch.json": '{"tasks": '}),
        Case("batch-summary-damaged", ["batch", "summary", "{d}/b"], "damaged", setup={"b/batch.json": "[]"}),
        Case("batch-out-below-file", ["batch", "{f}", "--out", "{d}/blocker/x"], "is a file",
             batch, setup={"blocker": "x"}),
        Case("batch-out-unrelated", ["batch", "{f}", "--out", "{d}/mine"], "not a batch directory",
             batch, setup={"mine/notes.txt": "mine"}),
    ]
    # hypothesis specs
    hyp = {"name": "h", "base": DEFAULT, "overrides": TINY, "reference": "msc", "control": "untreated",
           "factors": {"ido": {"blockade": "ido_inhibitor"}}, "outcomes": ["ratio_day2"], "replicates": 2,
           "backend": {"kind": "serial"}}
    bad_hyps = [
        ("unknown-key", {**hyp, "outcome": ["ratio_day2"]}, "outcome"),
        ("bad-outcome", {**hyp, "outcomes": ["ratio_week2"]}, "ratio_week2"),
        ("outcome-after-end", {**hyp, "outcomes": ["ratio_day400"]}, "ratio_day400"),
        ("same-arms", {**hyp, "control": "msc"}, "different"),
        ("unknown-reference", {**hyp, "reference": "mcs"}, "mcs"),
        ("unknown-blockade", {**hyp, "factors": {"x": {"blockade": "anti_il6"}}}, "anti_il6"),
        ("bad-factor-name", {**hyp, "factors": {"a__b": {"blockade": "ido_inhibitor"}}}, "a__b"),
        ("bad-correction", {**hyp, "correction": "bonferroni"}, "bonferroni"),
        ("one-replicate", {**hyp, "replicates": 1}, "replicates"),
        ("name-escape", {**hyp, "name": "../h"}, "not a valid name"),
        ("factor-key-unknown", {**hyp, "factors": {"x": {"key": "dose.nope", "levels": [1]}}}, "nope"),
    ]
    for cid, content, needle in bad_hyps:
        out.append(Case(f"hypothesis-{cid}", ["hypothesis", "{f}", "--out", "{out}"], needle, content))
    out.append(Case("hypothesis-out-unrelated", ["hypothesis", "{f}", "--out", "{d}/mine"], "not empty", hyp,
                    setup={"mine/notes.txt": "mine"}))
    # sensitivity specs
    sens = {"name": "s", "method": "morris", "base": DEFAULT, "overrides": TINY, "n": 2,
            "parameters": ["tcells.treg_half_life_days"], "outputs": [{"stat": "ratio_day2", "arm": "msc"}],
            "backend": {"kind": "serial"}}
    bad_sens = [
        ("unknown-method", {**sens, "method": "fast"}, "fast"),
        ("unknown-parameter", {**sens, "parameters": ["tcells.treg_halflife"]}, "treg_halflife"),
        ("inverted-bounds", {**sens, "parameters": [{"key": "tcells.treg_half_life_days", "bounds": [9, 1]}]},
         "low 9"),
        ("no-range", {**sens, "parameters": ["disease.treg_function"]}, "treg_function"),
        ("output-arm", {**sens, "outputs": [{"stat": "ratio_day2", "arm": "mcs"}]}, "mcs"),
        ("output-after-end", {**sens, "outputs": [{"stat": "ratio_day90", "arm": "msc"}]}, "ratio_day90"),
        ("output-stat", {**sens, "outputs": [{"stat": "ratio_median", "arm": "msc"}]}, "ratio_median"),
        ("output-no-arm", {**sens, "outputs": [{"stat": "ratio_day2"}]}, "needs an arm"),
        ("unknown-key", {**sens, "sample": 3}, "sample"),
        ("name-escape", {**sens, "name": "../s"}, "not a valid name"),
        ("unknown-function", {"name": "f", "method": "morris", "function": "rosenbrock", "n": 2,
                              "parameters": ["x1"], "outputs": [{"stat": "y"}]}, "rosenbrock"),
    ]
    for cid, content, needle in bad_sens:
        out.append(Case(f"sensitivity-{cid}", ["sensitivity", "{f}", "--out", "{out}"], needle, content))
    # calibration specs
    cal = {"name": "c", "base": DEFAULT, "overrides": TINY, "parameters": ["disease.systemic_il6"],
           "data": {"findings": ["BASE-SLE-TH17"]}, "population_size": 8, "generations": 1,
           "sampler": {"kind": "single"}, "predictive_draws": 0}
    bad_cals = [
        ("unknown-finding", {**cal, "data": {"findings": ["NOPE-1"]}}, "NOPE-1"),
        ("findings-file-missing", {**cal, "findings_file": "none.csv"}, "none.csv"),
        ("findings-file-columnless", {**cal, "findings_file": "f.csv"}, "f.csv"),
        ("parameter-no-range", {**cal, "parameters": ["disease.treg_function"]}, "treg_function"),
        ("parameter-unknown", {**cal, "parameters": ["disease.nope"]}, "nope"),
        ("log-prior-zero", {**cal, "parameters": [{"key": "disease.systemic_il6", "prior": "log_uniform"}]},
         "log-uniform"),
        ("population", {**cal, "population_size": 1}, "population_size"),
        ("sampler", {**cal, "sampler": {"kind": "gpu"}}, "gpu"),
        ("name-escape", {**cal, "name": "../c"}, "not a valid name"),
        ("unknown-key", {**cal, "generation": 3}, "generation"),
    ]
    for cid, content, needle in bad_cals:
        out.append(Case(f"calibrate-{cid}", ["calibrate", "{f}", "--out", "{out}"], needle, content,
                        setup={"f.csv": "finding_id\nX\n"}))
    out.append(Case("calibrate-out-unrelated", ["calibrate", "{f}", "--out", "{d}/mine"], "not empty", cal,
                    setup={"mine/notes.txt": "mine"}))
    out.append(Case("sensitivity-out-unrelated", ["sensitivity", "{f}", "--out", "{d}/mine"], "not empty", sens,
                    setup={"mine/notes.txt": "mine"}))
    # findings tables and comparisons
    out += [
        Case("trials-out-unrelated", ["trials", "--out", "{d}/mine", "--replicates", "1"], "use another --out",
             setup={"mine/notes.txt": "mine"}),
        Case("trials-findings-missing", ["trials", "--findings", "{d}/none.csv", "--out", "{out}"], "none.csv"),
        Case("trials-findings-garbled", ["trials", "--findings", "{f}", "--out", "{out}", "--replicates", "1"],
             "findings.csv", 'finding_id,study\n"open,x\n', "findings.csv"),
        Case("trials-findings-columns", ["trials", "--findings", "{f}", "--out", "{out}", "--replicates", "1"],
             "missing column", "finding_id\nX\n", "findings.csv"),
        Case("trials-findings-repeated", ["trials", "--findings", "{f}", "--out", "{out}", "--replicates", "1"],
             "findings.csv", "finding_id\nX\nX\n", "findings.csv"),
        Case("trials-backend", ["trials", "--backend", "mpi", "--out", "{out}"], "mpi"),
        Case("trials-days", ["trials", "--days", "0", "--out", "{out}"], "days"),
        Case("compare-missing", ["compare", "{d}/gone"], "gone"),
        Case("compare-no-config", ["compare", "{d}/r"], "config",
             setup={"r/manifest.json": "{}", "r/trajectories.parquet": ""}),
        Case("compare-truncated", ["compare", "{d}/r"], "manifest.json",
             setup={"r/manifest.json": '{"config": ', "r/trajectories.parquet": ""}),
    ]
    return out


CASES = cases()


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def test_there_are_at_least_150_cases_across_every_command():
    assert len(CASES) >= 150, len(CASES)
    commands = {c.args[0] for c in CASES}
    assert {"run", "validate", "batch", "trials", "compare", "hypothesis", "sensitivity", "calibrate"} <= commands


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_cleanly(case, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    for rel, content in case.setup.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    target = work / case.name
    if case.content is not None:
        if isinstance(case.content, bytes):
            target.write_bytes(case.content)
        elif isinstance(case.content, str):
            target.write_text(case.content)
        else:
            target.write_text(yaml.safe_dump(case.content, allow_unicode=True))
    out = tmp_path / "out"
    args = [a.replace("{f}", str(target)).replace("{d}", str(work)).replace("{out}", str(out)) for a in case.args]
    before = _snapshot(tmp_path)
    monkeypatch.chdir(work)
    res = CliRunner().invoke(app, args)
    message = res.output
    assert res.exit_code == 2, f"exit {res.exit_code}: {message}"
    assert "Traceback" not in message
    assert res.stderr.startswith("error:"), f"the refusal is not the first thing said: {res.stderr[:200]!r}"
    assert case.needle in message, f"{case.needle!r} not named in: {message}"
    assert _snapshot(tmp_path) == before, "files were created or changed"
