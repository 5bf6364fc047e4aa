"""Driving a batch: prepare the directory, skip finished runs, dispatch, report progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from abm.config import ConfigError
from abm.experiments.batch import backends
from abm.experiments.batch.execute import BATCH_FILE, RUNS, finished_record, read_batch, stale_temp_files, write_json
from abm.experiments.batch.plan import RunTask, batch_base, expand, point_config, shard, spec_fingerprint
from abm.experiments.batch.spec import BatchSpec, load_spec
from abm.experiments.common.outdir import check_parent

STALE_TMP_SECONDS = 600.0
"""Temporary files older than this are leftovers of an interrupted write (a write takes seconds)."""


@dataclass
class Status:
    """Counts of a batch directory's runs."""

    total: int
    done: list[str]
    failed: list[str]
    pending: list[str]

    def line(self) -> str:
        """One-line summary."""
        return (f"{len(self.done)} done, {len(self.failed)} failed, {len(self.pending)} pending "
                f"of {self.total} runs")


def status(batch_dir: str | Path) -> Status:
    """What is finished, failed and still to run in a batch directory."""
    batch_dir = Path(batch_dir)
    meta = read_batch(batch_dir)
    ids = [t["run_id"] for t in meta["tasks"]]
    runs = batch_dir / RUNS
    done = [i for i in ids if finished_record(runs, i) is not None]
    finished = set(done)
    failed = [i for i in ids if i not in finished and (runs / f"{i}.error.json").is_file()]
    gone = finished | set(failed)
    return Status(len(ids), done, failed, [i for i in ids if i not in gone])


def tasks_of(batch_dir: Path) -> list[RunTask]:
    """The batch's runs as recorded in its directory.

    ``batch.json`` stores the batch base once and, per run, only its id, point, replicate, seed and swept
    parameters; each run's scenario is rebuilt here exactly as ``expand`` built it.  (Directories written
    before this layout store every run's full config; they are read as they are.)
    """
    meta = read_batch(batch_dir)
    configs: dict[int, dict[str, Any]] = {}
    tasks = []
    for t in meta["tasks"]:
        if "config" in t:
            tasks.append(RunTask(**t))
            continue
        point = int(t["point"])
        if point not in configs:
            configs[point] = point_config(meta["base"], t["params"])
        tasks.append(RunTask(**t, config={**configs[point], "seed": t["seed"]}))
    return tasks


def task_record(task: RunTask) -> dict[str, Any]:
    """What ``batch.json`` keeps of a run (its config is the base plus its parameters)."""
    return {"run_id": task.run_id, "point": task.point, "replicate": task.replicate, "seed": task.seed,
            "params": task.params}


def prepare(spec_path: str | Path, out: Path, resume: bool) -> tuple[BatchSpec, list[RunTask]]:
    """Validate the spec, expand it and create (or check, on resume) the batch directory."""
    spec, base = load_spec(spec_path)
    tasks = expand(spec, base)
    base = batch_base(base)
    fingerprint = spec_fingerprint(tasks)
    check_parent(out)
    if out.exists() and (out / BATCH_FILE).is_file():
        if not resume:
            raise ConfigError(f"{out}: batch directory exists; pass --resume to continue it")
        old = read_batch(out)
        if old["fingerprint"] != fingerprint:
            raise ConfigError(f"{out}: holds a batch of different runs (fingerprint {old['fingerprint']}, "
                              f"this spec gives {fingerprint}); use another --out")
    elif out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out}: exists and is not a batch directory; use another --out")
    else:
        from abm.engine.jit import engine
        from abm.run import git_commit, versions

        (out / RUNS).mkdir(parents=True, exist_ok=True)
        write_json(out / BATCH_FILE, {
            "name": spec.name, "fingerprint": fingerprint, "created": datetime.now(UTC).isoformat(),
            "spec": spec.model_dump(mode="json"), "spec_file": str(spec_path),
            "versions": versions(), "engine": engine(), "git_commit": git_commit(),
            "base": base, "tasks": [task_record(t) for t in tasks]})
    for stale in stale_temp_files(out / RUNS, STALE_TMP_SECONDS):  # debris of interrupted writes
        stale.unlink(missing_ok=True)
    return spec, tasks


@dataclass
class BatchResult:
    """What a batch invocation did."""

    directory: Path
    ran: int
    status: Status
    interrupted: bool = False
    failed_here: tuple[str, ...] = ()
    """Failed runs among this call's runs (its shard, or the whole batch): what its exit code reports."""


def run_batch(spec_path: str | Path, out: Path, *, backend: str | None = None, workers: int | None = None,
              scheduler: str | None = None, resume: bool = False, shard_spec: tuple[int, int] | None = None,
              progress: Callable[[dict[str, Any]], None] | None = None,
              on_start: Callable[[int], None] | None = None) -> BatchResult:
    """Run the pending runs of a batch (all, or one shard) and write its summary."""
    spec, _ = load_spec(spec_path)
    settings = spec.backend.model_copy(update={k: v for k, v in {
        "kind": backend, "workers": workers, "scheduler": scheduler}.items() if v is not None})
    if settings.scheduler and settings.kind != "dask":
        raise ConfigError("--scheduler needs --backend dask")
    spec, tasks = prepare(spec_path, out, resume)
    if shard_spec:
        tasks = shard(tasks, *shard_spec)
    current = status(out)
    finished = set(current.done)
    todo = [t for t in tasks if t.run_id not in finished]
    if on_start:
        on_start(len(todo))

    def done(record: dict[str, Any]) -> None:
        if progress:
            progress(record)

    interrupted = False
    try:
        backends.BACKENDS[settings.kind](todo, out, settings, done)
    except KeyboardInterrupt:
        interrupted = True
    from abm.experiments.batch.summary import write_summary

    write_summary(out)
    final = status(out)
    mine = {t.run_id for t in tasks}
    return BatchResult(out, len(todo), final, interrupted, tuple(r for r in final.failed if r in mine))
