"""Batch backends (abm.experiments.batch.backends): serial, local process pool and Dask give identical files,
and a batch survives a worker that is killed while it runs.

The reference is one serial batch of 4 doses x 3 replicates (20x20 tissue, 2-day burn-in, 8-day
arms); every other backend must reproduce its trajectories and summary exactly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pytest
import yaml

from abm.experiments.batch import backends
from abm.experiments.batch.execute import RUNS
from abm.experiments.batch.runner import prepare, run_batch, status
from abm.experiments.batch.spec import Backend
from abm.experiments.batch.summary import load_trajectories, summarise, write_summary

REPO = Path(__file__).resolve().parents[2]
DOSE = "arms.msc.dose.cells_per_kg"
N_RUNS = 12


def write_spec(path: Path, **fields: Any) -> Path:
    data: dict[str, Any] = {
        "name": "backends",
        "overrides": {"tissue": {"width_voxels": 20, "height_voxels": 20},
                      "simulation": {"burn_in_days": 2, "days": 8}},
        "sweep": {"grid": {DOSE: [5.0e5, 1.0e6, 2.0e6, 4.0e6]}},
        "replicates": 3,
        "root_seed": 5,
        "summary_days": [1, 3],
        "backend": {"kind": "serial"},
    }
    data.update(fields)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """(spec, directory) of the serial reference batch."""
    root = tmp_path_factory.mktemp("serial")
    spec = write_spec(root / "spec.yaml")
    result = run_batch(spec, root / "out", backend="serial")
    assert result.status.line() == f"{N_RUNS} done, 0 failed, 0 pending of {N_RUNS} runs"
    return spec, root / "out"


def assert_same_results(out: Path, ref: Path) -> None:
    """Same finished runs, identical trajectories and identical summary (but for wall times)."""
    st = status(out)
    assert st.line() == f"{N_RUNS} done, 0 failed, 0 pending of {N_RUNS} runs", st
    assert not list((out / RUNS).glob("*.error.json"))
    pd.testing.assert_frame_equal(load_trajectories(out), load_trajectories(ref), check_exact=True)
    pd.testing.assert_frame_equal(summarise(out).drop(columns="wall_seconds"),
                                  summarise(ref).drop(columns="wall_seconds"), check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "summary.parquet").drop(columns="wall_seconds"),
                                  pd.read_parquet(ref / "summary.parquet").drop(columns="wall_seconds"),
                                  check_exact=True)


def record_pids(out: Path) -> set[int]:
    return {json.loads(p.read_text())["pid"] for p in (out / RUNS).glob("*.json")
            if not p.name.endswith(".error.json")}


def forkserver_workers(root: psutil.Process) -> list[psutil.Process]:
    """Pool workers below ``root``: the processes forked by its multiprocessing forkserver (they
    inherit its command line, so they are the forkserver-like processes whose parent is one too)."""
    servers: dict[int, psutil.Process] = {}
    for proc in root.children(recursive=True):
        try:
            if any("multiprocessing.forkserver" in part for part in proc.cmdline()):
                servers[proc.pid] = proc
        except psutil.NoSuchProcess:
            pass
    return [p for p in servers.values() if p.ppid() in servers]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def finished_runs(out: Path) -> int:
    runs = out / RUNS
    return sum(1 for p in runs.glob("*.json") if not p.name.endswith(".error.json")) if runs.is_dir() else 0


# --------------------------------------------------------------------------- identical results
def test_local_pool_equals_serial(reference, tmp_path):
    spec, ref = reference
    result = run_batch(spec, tmp_path / "out", backend="local", workers=2)
    assert result.ran == N_RUNS and not result.interrupted
    assert_same_results(tmp_path / "out", ref)
    pids = record_pids(tmp_path / "out")
    assert os.getpid() not in pids and len(pids) == 2  # ran in two worker processes


def test_local_pool_with_more_workers_than_runs(reference, tmp_path):
    spec, ref = reference
    result = run_batch(spec, tmp_path / "out", backend="local", workers=3, shard_spec=(0, 6))
    assert result.ran == 2 and len(result.status.done) == 2
    run_batch(spec, tmp_path / "out", backend="serial", resume=True)
    assert_same_results(tmp_path / "out", ref)


@pytest.mark.slow
def test_dask_local_cluster_equals_serial(reference, tmp_path):
    spec, ref = reference
    seen: list[dict] = []
    result = run_batch(spec, tmp_path / "out", backend="dask", workers=2, progress=seen.append)
    assert result.ran == N_RUNS and sorted(r["run_id"] for r in seen) == sorted(status(ref).done)
    assert_same_results(tmp_path / "out", ref)
    pids = record_pids(tmp_path / "out")
    assert os.getpid() not in pids and len(pids) == 2


def _listening() -> set[tuple[int, str, int]]:
    found = set()
    for proc in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            found |= {(proc.pid, c.laddr.ip, c.laddr.port) for c in proc.net_connections(kind="inet")
                      if c.status == psutil.CONN_LISTEN}
    return found


def test_dask_local_cluster_listens_on_loopback_only():
    """The default Dask backend opens sockets (scheduler, nanny, worker, dashboard) on 127.0.0.1 only."""
    before = _listening()
    client, cluster = backends.dask_client(Backend(kind="dask", workers=1))
    try:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 1 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
        opened = _listening() - before
        assert opened and {ip for _, ip, _ in opened} == {"127.0.0.1"}, opened
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def scheduler():
    from dask.distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    yield cluster.scheduler_address
    cluster.close()


@pytest.mark.slow
def test_dask_running_scheduler_equals_serial(reference, scheduler, tmp_path):
    spec, ref = reference
    result = run_batch(spec, tmp_path / "out", backend="dask", scheduler=scheduler)
    assert result.ran == N_RUNS
    assert_same_results(tmp_path / "out", ref)
    # the external cluster is not closed by the batch: a second (resumed, half) batch can use it
    out2 = tmp_path / "out2"
    run_batch(spec, out2, backend="dask", scheduler=scheduler, shard_spec=(1, 2))
    assert len(status(out2).done) == N_RUNS // 2


# --------------------------------------------------------------------------- killed workers
@pytest.mark.slow
def test_local_worker_killed_mid_batch_via_cli(reference, tmp_path):
    """`abm batch --backend local` in a subprocess; one pool worker is SIGKILLed while runs are in
    flight: the pool is rebuilt, the lost runs are retried and the batch finishes like serial."""
    spec, ref = reference
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "abm.cli", "batch", str(spec), "--out", str(out), "--backend", "local",
         "--workers", "2", "--no-progress"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_for(lambda: finished_runs(out) >= 1 or proc.poll() is not None, 60, "a first finished run")
        assert proc.poll() is None, proc.communicate()
        parent = psutil.Process(proc.pid)
        workers = forkserver_workers(parent)
        assert len(workers) == 2, workers
        done_at_kill = finished_runs(out)
        victim = workers[0]
        victim.kill()
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert done_at_kill < N_RUNS - 2, "the batch was nearly over before the kill"
    assert proc.returncode == 0, stderr
    assert f"{N_RUNS} done, 0 failed, 0 pending of {N_RUNS} runs" in stdout
    assert_same_results(out, ref)


@pytest.mark.slow
def test_local_retries_used_up_fail_only_the_runs_in_flight(reference, tmp_path):
    """With backend.retries 0, a killed worker fails the runs that were in flight (error.json says
    the worker died) and every other run still finishes."""
    _, ref = reference
    spec = write_spec(tmp_path / "spec.yaml", backend={"kind": "local", "workers": 2, "retries": 0})
    out = tmp_path / "out"
    killed: list[int] = []

    def killer():
        wait_for(lambda: finished_runs(out) >= 1, 60, "a first finished run")
        time.sleep(0.15)  # in the middle of the next runs
        victim = forkserver_workers(psutil.Process())[0]
        killed.append(victim.pid)
        victim.kill()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    result = run_batch(spec, out)
    thread.join(5)
    assert killed
    st = result.status
    assert 1 <= len(st.failed) <= 2 and len(st.done) + len(st.failed) == N_RUNS and not st.pending
    for run_id in st.failed:
        err = json.loads((out / RUNS / f"{run_id}.error.json").read_text())
        assert err["error"].startswith("worker process died 1 time(s)"), err
    # the runs that finished are the reference's
    done = load_trajectories(out)
    ref_traj = load_trajectories(ref)
    pd.testing.assert_frame_equal(done, ref_traj[ref_traj["run_id"].isin(st.done)].reset_index(drop=True),
                                  check_exact=True)
    # and --resume (with retries) completes the batch
    again = run_batch(spec, out, resume=True)
    assert again.ran == len(st.failed)
    assert_same_results(out, ref)


def test_local_worker_dying_while_a_result_is_handled(reference, tmp_path):
    spec, ref = reference
    out = tmp_path / "out"
    _, tasks = prepare(spec, out, resume=False)
    killed: list[int] = []

    def done(record):
        if not killed:  # a slow progress callback while another worker is OOM-killed
            victim = next(w for w in forkserver_workers(psutil.Process()) if w.pid != record["pid"])
            killed.append(victim.pid)
            victim.kill()
            time.sleep(0.5)

    backends.run_local(tasks, out, Backend(kind="local", workers=2), done)
    write_summary(out)  # run_batch does this after the backend; here the backend is driven directly
    assert_same_results(out, ref)


@pytest.mark.slow
def test_dask_worker_killed_mid_batch(reference, tmp_path, monkeypatch):
    spec, ref = reference
    clients = []
    real = backends.dask_client

    def capture(backend):
        client, cluster = real(backend)
        clients.append(client)
        return client, cluster

    monkeypatch.setattr(backends, "dask_client", capture)
    killed: list[int] = []

    def done(record):
        if killed:
            return
        client = clients[0]
        pids = client.run(os.getpid)  # worker address -> pid
        busy = [addr for addr, keys in client.processing().items() if keys and addr in pids]
        assert busy, "no worker is running a task"
        victim = psutil.Process(pids[busy[0]])
        killed.append(victim.pid)
        victim.kill()

    result = run_batch(spec, tmp_path / "out", backend="dask", workers=2, progress=done)
    assert killed and result.ran == N_RUNS
    assert_same_results(tmp_path / "out", ref)
    assert not psutil.pid_exists(killed[0]) or psutil.Process(killed[0]).status() == psutil.STATUS_ZOMBIE


@pytest.mark.slow
def test_two_batches_with_the_same_directory_name_on_one_scheduler(tmp_path):
    from dask.distributed import LocalCluster

    spec = write_spec(tmp_path / "spec.yaml", replicates=2)
    outs = [tmp_path / "alice" / "out", tmp_path / "bob" / "out"]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        results: dict[int, Any] = {}

        def go(i):
            results[i] = run_batch(spec, outs[i], backend="dask", scheduler=cluster.scheduler_address)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    lines = [status(o).line() for o in outs]
    assert lines == ["8 done, 0 failed, 0 pending of 8 runs"] * 2, lines
