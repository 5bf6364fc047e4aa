"""Backends: where runs execute.  Each takes the pending tasks and calls ``done(record)`` per run.

* ``serial``  — in this process, one after another (debugging, tiny batches).
* ``local``   — a process pool sized to the machine; a pool broken by a dying worker is rebuilt and
  the unfinished runs are retried (up to ``retries`` times each).
* ``dask``    — Dask distributed: a ``LocalCluster`` on 127.0.0.1 by default, a running scheduler with
  ``scheduler``, or a SLURM/PBS cluster through dask-jobqueue with ``jobqueue`` options.  Dask
  reschedules the runs of a worker that dies.

A run's result depends only on its config and seed, so every backend and worker count gives the
same files.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from abm.experiments.batch.execute import run_task, write_json
from abm.experiments.batch.plan import RunTask
from abm.experiments.batch.spec import Backend, JobQueue

Done = Callable[[dict[str, Any]], None]


def default_workers() -> int:
    """Cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_serial(tasks: list[RunTask], batch_dir: Path, backend: Backend, done: Done) -> None:
    """One run after another in this process."""
    for task in tasks:
        done(run_task(task, batch_dir))


def _worker_died(task: RunTask, batch_dir: Path, attempts: int) -> dict[str, Any]:
    record = {"run_id": task.run_id, "point": task.point, "replicate": task.replicate, "seed": task.seed,
              "params": task.params, "status": "failed",
              "error": f"worker process died {attempts} time(s) while running it (killed or out of memory)"}
    write_json(batch_dir / "runs" / f"{task.run_id}.error.json", record)
    return record


def run_local(tasks: list[RunTask], batch_dir: Path, backend: Backend, done: Done) -> None:
    """A process pool with at most one run in flight per worker.

    When a worker dies the pool breaks; only the runs in flight are charged an attempt, the pool is
    rebuilt and they are retried until ``backend.retries`` is used up.
    """
    workers = backend.workers or default_workers()
    attempts = {t.run_id: 0 for t in tasks}
    queue = list(reversed(tasks))  # pop() from the end keeps the original order
    context = multiprocessing.get_context("forkserver")
    while queue:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        in_flight: dict[Any, RunTask] = {}
        broken = False
        try:
            while (queue or in_flight) and not broken:
                while queue and len(in_flight) < workers:
                    task = queue.pop()
                    try:
                        in_flight[pool.submit(run_task, task, batch_dir)] = task
                    except BrokenProcessPool:  # a worker died since the last check
                        queue.append(task)
                        broken = True
                        break
                if broken:
                    break
                finished, _ = wait(set(in_flight), return_when=FIRST_COMPLETED)
                for fut in finished:
                    task = in_flight.pop(fut)
                    try:
                        done(fut.result())
                    except BrokenProcessPool:
                        broken = True
                        in_flight[fut] = task  # handled with the other runs in flight below
            if broken:
                for task in in_flight.values():
                    attempts[task.run_id] += 1
                    if attempts[task.run_id] > backend.retries:
                        done(_worker_died(task, batch_dir, attempts[task.run_id]))
                    else:
                        queue.append(task)
        finally:
            pool.shutdown(wait=not broken, cancel_futures=True)


def _jobqueue_cluster(opts: JobQueue):
    from dask_jobqueue import PBSCluster, SLURMCluster

    kind = SLURMCluster if opts.kind == "slurm" else PBSCluster
    kwargs: dict[str, Any] = dict(cores=opts.cores, processes=1, memory=opts.memory, walltime=opts.walltime,
                                  job_extra_directives=opts.job_extra_directives,
                                  job_script_prologue=opts.job_script_prologue)
    optional = {"queue": opts.queue, "account": opts.account, "interface": opts.interface, "python": opts.python,
                "local_directory": opts.local_directory, "log_directory": opts.log_directory}
    kwargs.update({key: value for key, value in optional.items() if value})
    if opts.scheduler_host:
        kwargs["scheduler_options"] = {"host": opts.scheduler_host}
    if opts.loopback_only:  # dashboards would otherwise listen on 0.0.0.0
        kwargs["scheduler_options"] = {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}
        kwargs["worker_extra_args"] = ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"]
    cluster = kind(**kwargs)
    cluster.scale(jobs=opts.jobs)
    return cluster


def dask_client(backend: Backend):
    """A Dask client for the backend settings, and the cluster it owns (None for an external one)."""
    from dask.distributed import Client, LocalCluster

    if backend.scheduler:
        return Client(backend.scheduler), None
    if backend.jobqueue:
        cluster = _jobqueue_cluster(backend.jobqueue)
        return Client(cluster), cluster
    cluster = LocalCluster(n_workers=backend.workers or default_workers(), threads_per_worker=1,
                           processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0")
    return Client(cluster), cluster


def run_dask(tasks: list[RunTask], batch_dir: Path, backend: Backend, done: Done) -> None:
    """Runs as Dask tasks; a run lost with its worker is rescheduled by Dask."""
    from dask.distributed import as_completed
    from distributed import KilledWorker

    client, cluster = dask_client(backend)
    futures = {}
    # keys unique to this batch directory: two batches on one scheduler never share results
    tag = hashlib.sha256(str(batch_dir.resolve()).encode()).hexdigest()[:12]
    try:
        for task in tasks:
            fut = client.submit(run_task, task, str(batch_dir), key=f"msc-abm-{tag}-{task.run_id}",
                                pure=False, retries=backend.retries)
            futures[fut] = task
        for fut in as_completed(list(futures)):
            task = futures[fut]
            try:
                done(fut.result())
            except KilledWorker:
                done(_worker_died(task, batch_dir, backend.retries + 1))
    finally:
        for fut in futures:
            fut.cancel()
        client.close()
        if cluster is not None:
            cluster.close()


BACKENDS = {"serial": run_serial, "local": run_local, "dask": run_dask}
