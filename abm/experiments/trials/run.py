"""Running every trial batch (``configs/trials/batches/*.yaml``) and comparing the results with the findings.

``run_trials(out_dir)`` runs each batch into ``out_dir/batches/<spec stem>/`` (resuming a directory that
exists), then writes ``comparison.csv``, ``comparison.md``, ``comparison.html`` and one figure per study
into ``out_dir``.  Replicates, follow-up and any other scenario key can be overridden for a quick smoke
run: the overridden specs are written to ``out_dir/specs/`` (base paths made absolute), so a batch
directory always holds exactly the runs its spec describes.

The local backend starts worker processes with ``forkserver``: a script that calls :func:`run_trials`
must guard its entry point with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from abm.config.load import ConfigError, deep_merge, read_yaml
from abm.experiments.batch.execute import write_json
from abm.experiments.common.outdir import check_directory
from abm.experiments.trials.compare import compare, write_report
from abm.experiments.trials.findings import REPO_ROOT

TRIALS_DIR = REPO_ROOT / "configs" / "trials"
"""Trial scenarios (one per study arm group)."""
BATCHES_DIR = TRIALS_DIR / "batches"
"""One batch spec per trial scenario (replicates, root seed)."""


def trial_specs(names: Iterable[str | Path] | None = None) -> list[Path]:
    """The trial batch specs: all of ``configs/trials/batches/`` (sorted), or those named (stem or path)."""
    if names is None:
        return sorted(BATCHES_DIR.glob("*.yaml"))
    out = []
    for n in names:
        p = Path(n)
        if not p.suffix:
            p = BATCHES_DIR / f"{n}.yaml"
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such trial batch spec")
        out.append(p)
    return out


def derived_spec(spec_path: Path, out_path: Path, replicates: int | None = None, days: float | None = None,
                 overrides: Mapping[str, Any] | None = None) -> Path:
    """Write a copy of a batch spec with replicates, follow-up (``simulation.days``) and scenario overrides
    applied, its base made absolute; returns ``out_path``."""
    raw = read_yaml(spec_path)
    if raw.get("base"):
        raw["base"] = str((spec_path.parent / str(raw["base"])).resolve())
    extra: dict[str, Any] = dict(overrides or {})
    if days is not None:
        extra = deep_merge(extra, {"simulation": {"days": float(days)}})
    raw["overrides"] = deep_merge(raw.get("overrides") or {}, extra)
    if replicates is not None:
        raw["replicates"] = int(replicates)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out_path


META_FILE = "trials_inputs.json"
"""The options a trials directory was run with (replicates, follow-up, overrides); a later run into the
same directory must use the same ones (its batches are resumed)."""


def run_trials(out_dir: str | Path, replicates: int | None = None, backend: str = "local",
               workers: int | None = None, days: float | None = None, *,
               specs: Iterable[str | Path] | None = None, overrides: Mapping[str, Any] | None = None,
               findings_path: str | Path | None = None, figures: bool = True,
               log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run every trial batch into ``out_dir/batches/`` and write the comparison into ``out_dir``.

    ``replicates`` / ``days`` (follow-up, days) / ``overrides`` (nested scenario keys, e.g.
    ``{"tissue": {"width_voxels": 20}}``) change every batch for a quick run; ``specs`` picks batch specs
    (stems of ``configs/trials/batches/*.yaml`` or paths).  A batch directory that exists is resumed (its
    finished runs are kept; it must hold the same runs).  Returns the comparison table.
    """
    import shutil
    import tempfile

    from abm.experiments.batch.plan import expand
    from abm.experiments.batch.runner import run_batch
    from abm.experiments.batch.spec import load_spec
    from abm.experiments.trials.findings import load_findings

    out = Path(out_dir)
    say = log or (lambda _msg: None)
    # the whole request is checked before anything is written: findings, every (derived) spec, the directory
    load_findings(findings_path)
    fingerprint = {"replicates": replicates, "days": days, "overrides": dict(overrides or {})}
    if out.exists() and not (out / META_FILE).is_file() and (out / "batches").is_dir():
        pass  # made before trials directories carried a record: its batches check their own runs
    else:
        check_directory(out, META_FILE, "trials run", True, fingerprint, list(fingerprint))
    derive = replicates is not None or days is not None or bool(overrides)
    with tempfile.TemporaryDirectory(prefix="abm-trials-") as tmp:
        chosen = []
        for spec in trial_specs(specs):
            if derive:
                spec = derived_spec(spec, Path(tmp) / spec.name, replicates, days, overrides)
            batch, base = load_spec(spec)
            try:
                expand(batch, base)
            except ConfigError as exc:
                raise ConfigError(f"trial batch {spec.stem}: {exc}") from None
            chosen.append(spec)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / META_FILE, fingerprint)
        if derive:
            (out / "specs").mkdir(exist_ok=True)
            chosen = [Path(shutil.copy(spec, out / "specs" / spec.name)) for spec in chosen]
    batch_dirs: dict[str, Path] = {}
    for spec in chosen:
        target = out / "batches" / spec.stem
        result = run_batch(spec, target, backend=backend, workers=workers, resume=target.exists())
        say(f"{spec.stem}: {result.status.line()}")
        batch_dirs[spec.stem] = target
    df = compare(list(batch_dirs.values()), findings_path)
    write_report(df, out, figures=figures)
    say(f"comparison: {out / 'comparison.md'}")
    return df
