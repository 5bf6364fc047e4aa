"""dask-jobqueue's SLURM path against a real single-node SLURM cluster.

The cluster is started outside the tests, as root, by ``bash scripts/slurm/start.sh`` (and stopped by
``scripts/slurm/stop.sh``); these tests never start daemons. They skip when ``sinfo`` is not on PATH,
when dask-jobqueue is not installed, or when the cluster is not up -- unless ``SLURM_TESTS_REQUIRED=1``
is set (as CI should after running start.sh), in which case a missing or down cluster is a failure.

Everything talks over loopback only: the scheduler, the nanny, the worker and their dashboards bind to
127.0.0.1, and the test checks the listening sockets of each of them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.slurm

REQUIRED = os.environ.get("SLURM_TESTS_REQUIRED", "") == "1"
PARTITION = "debug"
READY_STATES = {"idle", "mixed", "allocated", "completing"}


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"SLURM_TESTS_REQUIRED=1 but {reason}")
    pytest.skip(reason)


def _run(cmd: list[str], timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def slurm_up() -> str:
    """Name of the partition's ready node; skip (or fail if required) when there is no usable cluster."""
    if shutil.which("sinfo") is None:
        _unavailable("sinfo not on PATH (SLURM not installed; run `bash scripts/slurm/start.sh` as root)")
    try:
        ping = _run(["scontrol", "ping"])
        nodes = _run(["sinfo", "-r", "-h", "-p", PARTITION, "-o", "%n %T"])
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"SLURM cluster not reachable ({exc}); run `bash scripts/slurm/start.sh` as root")
    if ping.returncode != 0 or " is UP" not in ping.stdout:
        _unavailable(
            f"slurmctld not up (`scontrol ping`: {(ping.stdout + ping.stderr).strip().splitlines()[:1]}); "
            "run `bash scripts/slurm/start.sh` as root"
        )
    ready = [
        line.split()[0]
        for line in nodes.stdout.splitlines()
        if len(line.split()) == 2 and line.split()[1].rstrip("*~#!%$@^-") in READY_STATES
    ]
    if nodes.returncode != 0 or not ready:
        _unavailable(
            f"no ready node in partition {PARTITION!r} (`sinfo`: {(nodes.stdout + nodes.stderr).strip()!r}); "
            "run `bash scripts/slurm/start.sh` as root"
        )
    return ready[0]


def _make_cluster(tmp_path, job_name: str):
    try:
        import dask_jobqueue
    except ImportError as exc:
        _unavailable(f"dask-jobqueue not importable ({exc})")
    return dask_jobqueue.SLURMCluster(
        job_name=job_name,
        cores=1,
        processes=1,
        memory="1GB",
        walltime="00:10:00",
        queue=PARTITION,
        # Loopback only. Left to their defaults, the scheduler would advertise the machine's
        # non-loopback address and the worker's dashboard would bind 0.0.0.0.
        scheduler_options={"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"},
        interface=None,
        worker_extra_args=["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"],
        job_extra_directives=[],
        python=sys.executable,
        local_directory=str(tmp_path / "worker"),
        log_directory=str(tmp_path / "logs"),
        death_timeout=60,
    )


def _is_loopback(addr: str) -> bool:
    host = re.sub(r"^\w+://", "", addr).rsplit(":", 1)[0].strip("[]")
    return host.startswith("127.") or host in {"::1", "localhost"}


def _diagnostics(tmp_path, job_name: str) -> str:
    out = [_run(["squeue", "-o", "%i %j %T %r %N"]).stdout, _run(["sinfo", "-N", "-l"]).stdout]
    logs = tmp_path / "logs"
    if logs.is_dir():
        for f in sorted(logs.iterdir()):
            out.append(f"--- {f.name} ---\n{f.read_text(errors='replace')[-3000:]}")
    return "\n".join(out)


def test_job_script_has_sbatch_directives(slurm_up, tmp_path):
    job_name = f"dask-test-{uuid.uuid4().hex[:8]}"
    with _make_cluster(tmp_path, job_name) as cluster:
        script = cluster.job_script()
        address = cluster.scheduler_address
    lines = script.splitlines()
    directives = {line for line in lines if line.startswith("#SBATCH")}
    expected = {
        f"#SBATCH -J {job_name}",
        f"#SBATCH -p {PARTITION}",
        "#SBATCH -n 1",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --mem=954M",
        "#SBATCH -t 00:10:00",
        f"#SBATCH -e {tmp_path / 'logs'}/{job_name}-%J.err",
        f"#SBATCH -o {tmp_path / 'logs'}/{job_name}-%J.out",
    }
    assert expected <= directives, f"missing directives {expected - directives} in:\n{script}"
    assert lines[0].startswith("#!"), script
    command = lines[-1]
    assert command.startswith(f"{sys.executable} -m distributed.cli.dask_worker {address} "), script
    assert address.startswith("tcp://127.0.0.1:"), address
    for arg in ("--nthreads 1", "--memory-limit 0.93GiB", "--host 127.0.0.1", "--dashboard-address 127.0.0.1:0"):
        assert arg in command, f"{arg!r} not in {command!r}"
    # No address in the script may be anything but loopback.
    for addr in re.findall(r"\btcp://[^\s]+", script):
        assert _is_loopback(addr), f"non-loopback address {addr} in job script:\n{script}"


def test_slurm_job_runs_dask_worker(slurm_up, tmp_path):
    from distributed import Client

    job_name = f"dask-test-{uuid.uuid4().hex[:8]}"
    t0 = time.monotonic()
    cluster = _make_cluster(tmp_path, job_name)
    try:
        assert _is_loopback(cluster.scheduler_address), cluster.scheduler_address
        cluster.scale(jobs=1)
        with Client(cluster, timeout="30s") as client:
            try:
                client.wait_for_workers(1, timeout=90)
            except TimeoutError:
                pytest.fail(f"no worker joined within 90 s\n{_diagnostics(tmp_path, job_name)}")

            # The worker really runs inside a SLURM job of ours.
            jobs = _run(["squeue", "-h", "-n", job_name, "-o", "%i %T"]).stdout.split()
            assert len(jobs) == 2 and jobs[1] == "RUNNING", jobs
            env = client.run(lambda: {k: os.environ.get(k) for k in ("SLURM_JOB_ID", "SLURM_JOB_PARTITION")})
            ((worker_addr, worker_env),) = env.items()
            assert worker_env == {"SLURM_JOB_ID": jobs[0], "SLURM_JOB_PARTITION": PARTITION}, worker_env

            assert client.submit(lambda x: x + 1, 1).result(timeout=120) == 2
            assert sum(client.gather(client.map(lambda x: x * x, range(10)))) == sum(x * x for x in range(10))

            # Loopback only: advertised addresses and every listening socket of scheduler, nanny, worker.
            # (A nested function: cloudpickle ships it by value, the worker cannot import this module.)
            def _listening_addresses() -> list[str]:
                import psutil

                proc = psutil.Process()
                get = getattr(proc, "net_connections", None) or proc.connections
                return [c.laddr.ip for c in get(kind="tcp") if c.status == psutil.CONN_LISTEN]

            assert _is_loopback(worker_addr), worker_addr
            listening = {
                "scheduler": client.run_on_scheduler(_listening_addresses),
                **{f"worker {a}": ips for a, ips in client.run(_listening_addresses).items()},
                **{f"nanny {a}": ips for a, ips in client.run(_listening_addresses, nanny=True).items()},
            }
            for who, ips in listening.items():
                assert ips, f"{who} listens on nothing?"
                bad = [ip for ip in ips if not _is_loopback(ip)]
                assert not bad, f"{who} listens on non-loopback {bad}"
    finally:
        cluster.close(timeout=30)
        _run(["scancel", "-n", job_name])  # in case close() could not cancel the job
    assert time.monotonic() - t0 < 110


def test_batch_on_slurm_equals_serial(slurm_up: str, tmp_path) -> None:
    """`abm batch` with the dask backend on SLURM through dask-jobqueue gives the serial results."""
    import pandas as pd

    from abm.experiments.batch.runner import run_batch
    from abm.experiments.batch.summary import load_trajectories

    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""
name: slurm-batch
overrides:
  tissue: {{width_voxels: 16, height_voxels: 16}}
  simulation: {{days: 4, burn_in_days: 2}}
sweep:
  grid:
    arms.msc.dose.cells_per_kg: [5.0e5, 2.0e6]
replicates: 2
root_seed: 11
summary_days: [1, 3]
backend:
  kind: dask
  jobqueue:
    kind: slurm
    jobs: 1
    cores: 1
    memory: 1GB
    walltime: "00:10:00"
    queue: {PARTITION}
    loopback_only: true
    python: {sys.executable}
    local_directory: {tmp_path}
    log_directory: {tmp_path / "logs"}
""")
    on_slurm = run_batch(spec, tmp_path / "slurm")
    assert not on_slurm.status.failed and not on_slurm.status.pending
    run_batch(spec, tmp_path / "serial", backend="serial")
    pd.testing.assert_frame_equal(load_trajectories(tmp_path / "slurm"), load_trajectories(tmp_path / "serial"),
                                  check_exact=True)


def test_calibration_on_slurm_equals_single_core(slurm_up: str, tmp_path) -> None:
    """`abm calibrate` with the Dask sampler on a SLURM job gives the single-core posterior exactly."""
    import pandas as pd
    import yaml

    pytest.importorskip("pyabc")
    from abm.experiments.calibrate.pipeline import run_calibration

    spec = {
        "name": "slurm-calibration",
        "overrides": {"disease": {"preset": "sle"}, "tissue": {"width_voxels": 12, "height_voxels": 12},
                      "simulation": {"burn_in_days": 1, "days": 1}, "arms": {"untreated": {"control": "untreated"}}},
        "parameters": ["disease.systemic_il6"],
        "data": {"findings": ["BASE-SLE-TH17"], "synthetic": {"disease.systemic_il6": 0.4}},
        "population_size": 6, "generations": 2, "seed": 5, "predictive_draws": 0,
        "sampler": {"kind": "single"},
    }
    single = tmp_path / "single.yaml"
    single.write_text(yaml.safe_dump(spec))
    spec["sampler"] = {"kind": "dask", "jobqueue": {
        "kind": "slurm", "jobs": 1, "cores": 1, "memory": "1GB", "walltime": "00:10:00", "queue": PARTITION,
        "loopback_only": True, "python": sys.executable, "local_directory": str(tmp_path),
        "log_directory": str(tmp_path / "logs")}}
    on_slurm = tmp_path / "slurm.yaml"
    on_slurm.write_text(yaml.safe_dump(spec))
    a = run_calibration(single, tmp_path / "a")
    b = run_calibration(on_slurm, tmp_path / "b")
    pd.testing.assert_frame_equal(pd.read_csv(b.directory / "posterior_all_generations.csv"),
                                  pd.read_csv(a.directory / "posterior_all_generations.csv"))
