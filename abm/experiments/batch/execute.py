"""Executing one run of a batch: the unit of work every backend ships to a worker.

A run writes ``runs/<run_id>.parquet`` (its trajectories, with run id, seed and swept parameters
as columns) and then ``runs/<run_id>.json`` (its record), each atomically; a run is finished when
its record exists.  A run that raises writes ``runs/<run_id>.error.json`` instead and the batch goes
on.  Burned-in states are cached in ``burnin/`` by (scenario without arms and treatment-only parameters,
seed), so points that differ only in treatment, or in parameters of MSC and of what MSC create
(``abm.run.TREATMENT_ONLY_KEYS``), share one burn-in.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.config import ConfigError, to_dict
from abm.engine import interrupt
from abm.engine.files import umask_mode
from abm.experiments.batch.plan import RunTask

RUNS = "runs"
BURNIN = "burnin"
BATCH_FILE = "batch.json"


def _tmp_prefix(path: Path) -> str:
    """Temporary files name their writer (host, pid), so a cleanup can tell live writes from debris."""
    return f".{path.name}.{socket.gethostname()}.{os.getpid()}."


def stale_temp_files(runs: Path, grace_s: float = 600.0) -> list[Path]:
    """Temporary files left by interrupted writes: their writer on this host is gone, or they are
    older than ``grace_s`` (a write takes seconds).  Live writes of other batch slices are kept."""
    host, now, out = socket.gethostname(), time.time(), []
    for tmp in runs.glob(".*.tmp"):
        parts = tmp.name.split(".")
        try:
            pid, writer_host = int(parts[-3]), parts[-4]
        except (ValueError, IndexError):
            pid, writer_host = -1, ""
        if writer_host == host and pid > 0 and not _alive(pid) or now - tmp.stat().st_mtime > grace_s:
            out.append(tmp)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_tmp_prefix(path), suffix=".tmp")
    try:
        os.chmod(tmp, umask_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def finished_record(runs: Path, run_id: str) -> dict[str, Any] | None:
    """The record of a finished run, or ``None`` when the run is not finished: no record, a damaged one
    (truncated, edited, another run's), or no trajectory file beside it.  A damaged run is run again."""
    try:
        record = json.loads((runs / f"{run_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(record, dict) and record.get("run_id") == run_id and (runs / f"{run_id}.parquet").is_file()
    return record if ok else None


def read_batch(batch_dir: Path) -> dict[str, Any]:
    """The batch's own record (spec, fingerprint, runs)."""
    path = Path(batch_dir) / BATCH_FILE
    if not path.is_file():
        raise ConfigError(f"{batch_dir}: not a batch directory (no {BATCH_FILE})")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: damaged ({exc}); the finished runs are kept in {RUNS}/, but the batch cannot "
                          f"be read: plan it again into a new --out") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("tasks"), list):
        raise ConfigError(f"{path}: damaged (no list of tasks); plan the batch again into a new --out")
    return meta


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write JSON atomically."""
    _atomic_write_bytes(path, json.dumps(doc, indent=1, default=str).encode())


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Write Parquet atomically."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_tmp_prefix(path), suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, umask_mode())
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def burnin_key(config: dict[str, Any]) -> str:
    """Cache key of a burn-in: the scenario without arms, name, findings and the parameters only treatment
    reads (``abm.run.burn_in_config``; seed included)."""
    from abm.run import burn_in_config

    data = burn_in_config(config)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:20]


def burned_state(scenario, batch_dir: Path):
    """The burned-in state for a scenario, from the cache or computed (and cached)."""
    from abm import checkpoint
    from abm.run import burn_in

    key = burnin_key(to_dict(scenario))
    path = batch_dir / BURNIN / f"{key}.npz"
    if path.is_file():
        try:
            return checkpoint.load(path)[1:]
        except checkpoint.CheckpointError:
            path.unlink(missing_ok=True)  # damaged by a crash: recompute
    model = burn_in(scenario)
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save(model, path)
    return model.state_dict()


def burn_in_history(batch_dir: Path, config: dict[str, Any]) -> list[dict] | None:
    """The burn-in's last days a run's observation read (``abm.burn_in.HISTORY_DAYS``), from the batch's
    burn-in cache; None when the cache has no entry or the entry predates the history."""
    from abm.checkpoint import META_KEY
    from abm.config import validate_dict

    path = Path(batch_dir) / BURNIN / f"{burnin_key(to_dict(validate_dict(config)))}.npz"  # as burned_state
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            doc = json.loads(npz[META_KEY].tobytes().decode("utf-8"))
    except (OSError, ValueError, KeyError):
        return None
    return doc.get("meta", {}).get("run_info", {}).get("history")


def trajectories_of(task: RunTask, batch_dir: Path) -> pd.DataFrame:
    """Run every arm of a task's scenario from the (cached) burned-in state."""
    from abm.run import branch, run_arm

    scenario = task.scenario()
    burned = burned_state(scenario, batch_dir)
    frames = [run_arm(branch(scenario, burned, arm)) for arm in scenario.arms]
    traj = pd.concat(frames, ignore_index=True)
    traj.insert(0, "run_id", task.run_id)
    traj.insert(1, "point", task.point)
    traj.insert(2, "replicate", task.replicate)
    traj.insert(3, "seed", task.seed)
    for i, (key, value) in enumerate(task.params.items()):
        scalar = isinstance(value, str | int | float | bool) or value is None
        traj.insert(4 + i, key, value if scalar else json.dumps(value))  # lists/maps as JSON text
    return traj


def run_task(task: RunTask, batch_dir: str | Path) -> dict[str, Any]:
    """Run one task and write its files; never raises for a failing model (records the error).

    A Ctrl-C stops the run at the next model step (:mod:`abm.engine.interrupt`) and propagates as
    ``KeyboardInterrupt``: the run is left pending, not recorded as failed.
    """
    with interrupt.deferred():
        return _run_task(task, batch_dir)


def _run_task(task: RunTask, batch_dir: str | Path) -> dict[str, Any]:
    batch_dir = Path(batch_dir)
    runs = batch_dir / RUNS
    t0 = time.perf_counter()
    record = {"run_id": task.run_id, "point": task.point, "replicate": task.replicate,
              "seed": task.seed, "params": task.params, "pid": os.getpid()}
    try:
        traj = trajectories_of(task, batch_dir)
        write_parquet(runs / f"{task.run_id}.parquet", traj)
        record.update(status="done", wall_seconds=round(time.perf_counter() - t0, 3), rows=len(traj))
        (runs / f"{task.run_id}.error.json").unlink(missing_ok=True)
        write_json(runs / f"{task.run_id}.json", record)
    except Exception as exc:  # a failing run is recorded and the batch goes on
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(), wall_seconds=round(time.perf_counter() - t0, 3))
        write_json(runs / f"{task.run_id}.error.json", record)
    return record
