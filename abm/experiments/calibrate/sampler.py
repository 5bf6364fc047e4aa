"""Reproducible pyABC samplers: the same spec seed gives the same posterior on one core, many, or Dask.

pyABC's own parallel samplers reseed their workers from the operating system's entropy and accept
particles in order of completion, so a parallel calibration could never be repeated.  Here a generation
of ``n`` particles is ``n`` tasks; task ``i`` of generation ``t`` seeds numpy's and Python's global
generators from ``SeedSequence(seed, spawn_key=(t + 1, i))`` and simulates until it has one accepted
particle (pyABC's ``MappingSampler`` scheme).  The results come back in task order whatever ``map`` ran
them, so the population is a function of (seed, generation) alone, and a resumed run redraws the
interrupted generation exactly as an uninterrupted one would.
"""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from pyabc.sampler import MappingSampler

Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]]


def task_seed(seed: int, generation: int, task: int) -> int:
    """The 32-bit seed of one task (pyABC's calibration sample is generation -1, hence ``+ 1``)."""
    return int(np.random.SeedSequence(seed, spawn_key=(generation + 1, task)).generate_state(1)[0])


class SeededMappingSampler(MappingSampler):
    """``MappingSampler`` whose tasks are seeded from (spec seed, generation, task index)."""

    def __init__(self, map_: Mapper = map, seed: int = 0, close: Callable[[], None] | None = None):
        super().__init__(map_=map_)
        self.seed = seed
        self._close = close

    def __getstate__(self) -> tuple:
        return (*super().__getstate__(), self.seed)

    def __setstate__(self, state: tuple) -> None:
        super().__setstate__(state[:-1])
        self.seed = state[-1]
        self._close = None

    def map_function(self, simulate_one: Any, task_seed_value: int) -> tuple[Any, int]:  # type: ignore[override]
        """One task: seed the global generators, simulate until one particle is accepted."""
        simulate_one = self.unpickle(simulate_one)
        np.random.seed(task_seed_value)
        random.seed(task_seed_value)
        sample = self._create_empty_sample()
        n = 0
        while True:
            particle = simulate_one()
            n += 1
            sample.append(particle)
            if particle.accepted:
                return sample, n

    def sample_until_n_accepted(self, n: int, simulate_one: Any, t: int, **kwargs: Any) -> Any:
        from functools import partial

        task = partial(self.map_function, self.pickle(simulate_one))
        results = list(self.map_(task, [task_seed(self.seed, t, i) for i in range(n)]))
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise RuntimeError(f"{len(failed)} of {n} calibration tasks of generation {t} failed: {failed[0]!r}")
        self.nr_evaluations_ = sum(k for _, k in results)
        sample = self._create_empty_sample()
        for part, _ in results:
            sample += part
        return sample

    def stop(self) -> None:
        """Release the worker processes or the Dask client."""
        if self._close is not None:
            self._close()
            self._close = None


def make_sampler(kind: str, seed: int, workers: int | None = None, scheduler: str | None = None,
                 jobqueue: Any = None) -> SeededMappingSampler:
    """A seeded sampler over ``map`` (single), a process pool (multicore) or a Dask cluster (dask).

    For Dask the cluster is the batch layer's (``abm.experiments.batch.backends.dask_client``): a running scheduler at
    ``scheduler``, a SLURM/PBS cluster from ``jobqueue`` options, or a loopback ``LocalCluster`` of ``workers``
    single-threaded workers; clusters it starts are closed with the sampler (``stop``).
    """
    if kind == "single":
        return SeededMappingSampler(map, seed)
    if kind == "multicore":
        from abm.experiments.batch.backends import default_workers

        pool = ProcessPoolExecutor(max_workers=workers or default_workers(),
                                   mp_context=multiprocessing.get_context("forkserver"))
        return SeededMappingSampler(pool.map, seed, close=pool.shutdown)
    if kind != "dask":
        raise ValueError(f"sampler.kind {kind!r}: allowed: single, multicore, dask")
    from abm.experiments.batch.backends import dask_client
    from abm.experiments.batch.spec import Backend

    client, cluster = dask_client(Backend(kind="dask", workers=workers, scheduler=scheduler, jobqueue=jobqueue))

    def dask_map(fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        return client.gather(client.map(fn, list(items), pure=False))

    def close() -> None:
        client.close()
        if cluster is not None:
            cluster.close()

    return SeededMappingSampler(dask_map, seed, close=close)
