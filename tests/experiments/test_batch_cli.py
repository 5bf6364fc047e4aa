"""`abm batch` on the command line: run, resume, shard, status, summary, exit codes and Ctrl-C.

In-process runs (typer's CliRunner) use the serial backend; Ctrl-C is tested on a real `abm batch`
subprocess that gets SIGINT after its first run has finished.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pytest
import yaml
from typer.testing import CliRunner

from abm.cli import app
from abm.experiments.batch.runner import BATCH_FILE, status
from abm.experiments.batch.summary import SUMMARY_FILE, load_trajectories, summarise

REPO = Path(__file__).resolve().parents[2]
DOSE = "arms.msc.dose.cells_per_kg"


def write_spec(path: Path, **fields: Any) -> Path:
    data: dict[str, Any] = {
        "name": "cli-batch",
        "overrides": {"tissue": {"width_voxels": 16, "height_voxels": 16},
                      "simulation": {"burn_in_days": 2, "days": 4}},
        "sweep": {"grid": {DOSE: [5.0e5, 2.0e6]}},
        "replicates": 2,
        "root_seed": 3,
        "summary_days": [1, 3],
        "backend": {"kind": "serial"},
    }
    data.update(fields)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def spec(tmp_path) -> Path:
    return write_spec(tmp_path / "spec.yaml")


def batch(runner: CliRunner, *args: str):
    return runner.invoke(app, ["batch", *args, "--no-progress"] if args and args[0] not in ("status", "summary")
                         else ["batch", *args])


# --------------------------------------------------------------------------- running
def test_batch_runs_and_reports(runner, spec, tmp_path):
    out = tmp_path / "out"
    res = batch(runner, str(spec), "--out", str(out))
    assert res.exit_code == 0, res.output
    assert res.stdout == f"batch directory: {out}\n4 done, 0 failed, 0 pending of 4 runs\n"
    assert (out / BATCH_FILE).is_file() and (out / SUMMARY_FILE).is_file()
    assert len(pd.read_parquet(out / SUMMARY_FILE)) == 8


def test_default_out_is_runs_batches_name(runner, spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = batch(runner, str(spec), "--shard", "0/4")
    assert res.exit_code == 0, res.output
    out = Path("runs") / "batches" / "cli-batch"
    assert f"batch directory: {out}" in res.stdout
    assert "1 done, 0 failed, 3 pending of 4 runs" in res.stdout
    assert status(tmp_path / out).done == ["p00000-r0000"]


def test_rerun_needs_resume_and_resume_needs_the_same_spec(runner, spec, tmp_path):
    out = tmp_path / "out"
    assert batch(runner, str(spec), "--out", str(out)).exit_code == 0
    before = sorted((p.name, p.stat().st_mtime_ns) for p in (out / "runs").iterdir())

    res = batch(runner, str(spec), "--out", str(out))
    assert res.exit_code == 2
    assert res.stderr.startswith("error:") and "batch directory exists; pass --resume" in res.stderr

    other = write_spec(tmp_path / "other.yaml", replicates=3)
    res = batch(runner, str(other), "--out", str(out), "--resume")
    assert res.exit_code == 2
    assert "holds a batch of different runs (fingerprint" in res.stderr and "use another --out" in res.stderr

    res = batch(runner, str(spec), "--out", str(out), "--resume")
    assert res.exit_code == 0, res.output
    assert "4 done, 0 failed, 0 pending of 4 runs" in res.stdout
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (out / "runs").iterdir()) == before


def test_shards_then_status(runner, spec, tmp_path):
    out = tmp_path / "out"
    res = batch(runner, str(spec), "--out", str(out), "--shard", "1/2")
    assert res.exit_code == 0, res.output
    assert "2 done, 0 failed, 2 pending of 4 runs" in res.stdout
    assert status(out).done == ["p00000-r0001", "p00001-r0001"]
    res = batch(runner, str(spec), "--out", str(out), "--shard", "0/2", "--resume")
    assert res.exit_code == 0, res.output
    res = batch(runner, "status", str(out))
    assert res.exit_code == 0
    assert res.stdout == f"{out}: 4 done, 0 failed, 0 pending of 4 runs\n"


def test_a_shard_exit_code_counts_only_its_own_failures(runner, spec, tmp_path, make_run_fail):
    make_run_fail("p00000-r0000", RuntimeError("boom"))  # shard 0/2; 1/2 is p00000-r0001, p00001-r0001
    out = tmp_path / "out"
    res = batch(runner, str(spec), "--out", str(out), "--shard", "0/2")
    assert res.exit_code == 1 and "1 done, 1 failed, 2 pending of 4 runs" in res.stdout
    res = batch(runner, str(spec), "--out", str(out), "--shard", "1/2", "--resume")
    assert res.exit_code == 0, res.output
    assert "3 done, 1 failed, 0 pending of 4 runs" in res.stdout and "belong to other shards" in res.stdout


def test_failed_run_exit_code_status_and_summary(runner, spec, tmp_path, monkeypatch, make_run_fail):
    make_run_fail("p00001-r0000", RuntimeError("boom in arm msc"))
    out = tmp_path / "out"
    res = batch(runner, str(spec), "--out", str(out))
    assert res.exit_code == 1, res.output
    assert "run p00001-r0000 failed: RuntimeError: boom in arm msc" in res.output
    assert "3 done, 1 failed, 0 pending of 4 runs" in res.stdout
    err = json.loads((out / "runs" / "p00001-r0000.error.json").read_text())
    assert err["error"] == "RuntimeError: boom in arm msc" and "flaky" in err["traceback"]

    res = batch(runner, "status", str(out))
    assert res.exit_code == 0
    assert res.stdout.splitlines() == [f"{out}: 3 done, 1 failed, 0 pending of 4 runs",
                                       "  failed p00001-r0000: RuntimeError: boom in arm msc"]

    (out / SUMMARY_FILE).unlink()
    res = batch(runner, "summary", str(out))
    assert res.exit_code == 0
    assert (out / SUMMARY_FILE).is_file()
    summary = pd.read_parquet(out / SUMMARY_FILE)
    assert sorted(set(summary["run_id"])) == ["p00000-r0000", "p00000-r0001", "p00001-r0001"]
    assert "ratio_peak" in res.stdout and "p00001-r0001" in res.stdout
    assert "failed p00001-r0000: RuntimeError: boom in arm msc" in res.stdout

    # --resume re-runs the failed run only; then everything is done and the exit code is 0
    monkeypatch.undo()
    res = batch(runner, str(spec), "--out", str(out), "--resume")
    assert res.exit_code == 0, res.output
    assert "4 done, 0 failed, 0 pending of 4 runs" in res.stdout
    assert batch(runner, "status", str(out)).stdout == f"{out}: 4 done, 0 failed, 0 pending of 4 runs\n"


# --------------------------------------------------------------------------- bad input: exit 2, nothing made
@pytest.mark.parametrize(("extra", "needles"), [
    (["--backend", "slurm"], ["--backend 'slurm'", "local, dask, serial"]),
    (["--shard", "2/2"], ["--shard '2/2'", "0 <= i < n"]),
    (["--shard", "0/0"], ["--shard '0/0'"]),
    (["--shard", "-1/3"], ["--shard '-1/3'"]),
    (["--shard", "a/b"], ["--shard 'a/b'", "i/n"]),
    (["--shard", "1"], ["--shard '1'", "i/n"]),
    (["--shard", "1/2/3"], ["--shard '1/2/3'"]),
])
def test_bad_options_exit_2_and_create_nothing(runner, spec, tmp_path, extra, needles):
    out = tmp_path / "out"
    res = batch(runner, str(spec), "--out", str(out), *extra)
    assert res.exit_code == 2, res.output
    for needle in needles:
        assert needle in res.stderr, (needle, res.stderr)
    assert "Traceback" not in res.output
    assert not out.exists()


def test_workers_must_be_positive(runner, spec, tmp_path):
    res = batch(runner, str(spec), "--out", str(tmp_path / "out"), "--workers", "0")
    assert res.exit_code == 2 and "--workers" in res.output
    assert not (tmp_path / "out").exists()


def test_missing_and_invalid_specs_exit_2(runner, tmp_path):
    res = batch(runner, str(tmp_path / "absent.yaml"), "--out", str(tmp_path / "out"))
    assert res.exit_code == 2 and "no such batch spec" in res.stderr

    bad = write_spec(tmp_path / "bad.yaml", replicates=0)
    res = batch(runner, str(bad), "--out", str(tmp_path / "out"))
    assert res.exit_code == 2 and "replicates" in res.stderr and str(bad) in res.stderr

    key = write_spec(tmp_path / "key.yaml", sweep={"grid": {"arms.msc.dose.cells_per_kilo": [1.0e6]}})
    res = batch(runner, str(key), "--out", str(tmp_path / "out"))
    assert res.exit_code == 2
    assert "sweep point 0" in res.stderr and "arms.msc.dose.cells_per_kilo" in res.stderr
    assert "unknown key" in res.stderr and "Traceback" not in res.output
    assert not (tmp_path / "out").exists()

    # the default --out needs the spec's name: an invalid spec still exits 2 (and makes no runs/)
    res = runner.invoke(app, ["batch", str(bad), "--no-progress"])
    assert res.exit_code == 2 and "replicates" in res.stderr


def test_status_and_summary_need_a_batch_directory(runner, tmp_path):
    for cmd in ("status", "summary"):
        res = runner.invoke(app, ["batch", cmd])
        assert res.exit_code == 2 and f"abm batch {cmd} needs a batch directory" in res.stderr
        res = runner.invoke(app, ["batch", cmd, str(tmp_path)])
        assert res.exit_code == 2 and "not a batch directory (no batch.json)" in res.stderr


def test_scheduler_needs_dask(runner, spec, tmp_path):
    res = batch(runner, str(spec), "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1")
    assert res.exit_code == 2 and "--scheduler needs --backend dask" in res.stderr


def test_rejected_scheduler_option_leaves_no_directory(runner, spec, tmp_path):
    out = tmp_path / "out"
    res = batch(runner, str(spec), "--out", str(out), "--scheduler", "tcp://127.0.0.1:1")
    assert res.exit_code == 2
    assert not out.exists()


def test_prepare_then_job_array_slices(runner, spec, tmp_path):
    """The job-array workflow of docs/hpc.md: --prepare once, then slices with --resume --shard i/n."""
    out = tmp_path / "out"
    res = batch(runner, str(spec), "--out", str(out), "--prepare")
    assert res.exit_code == 0, res.output
    assert "4 runs planned" in res.stdout and "--resume --shard i/n" in res.stdout
    assert (out / BATCH_FILE).is_file() and not list((out / "runs").iterdir())
    assert status(out).line() == "0 done, 0 failed, 4 pending of 4 runs"
    assert batch(runner, str(spec), "--out", str(out), "--prepare").exit_code == 0  # idempotent
    other = write_spec(tmp_path / "other.yaml", root_seed=4)
    res = batch(runner, str(other), "--out", str(out), "--prepare")
    assert res.exit_code == 2 and "fingerprint" in res.stderr
    for i in range(3):
        res = batch(runner, str(spec), "--out", str(out), "--resume", "--shard", f"{i}/3")
        assert res.exit_code == 0, res.output
    assert status(out).line() == "4 done, 0 failed, 0 pending of 4 runs"


# --------------------------------------------------------------------------- Ctrl-C
CTRL_C_RUNS = 8


def ctrl_c_spec(path: Path) -> Path:
    return write_spec(path, name="ctrl-c",
                      overrides={"tissue": {"width_voxels": 20, "height_voxels": 20},
                                 "simulation": {"burn_in_days": 2, "days": 8}},
                      sweep={"grid": {DOSE: [5.0e5, 1.0e6, 2.0e6, 4.0e6]}})


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("uninterrupted")
    res = CliRunner().invoke(app, ["batch", str(ctrl_c_spec(root / "spec.yaml")), "--out", str(root / "out"),
                                   "--backend", "serial", "--no-progress"])
    assert res.exit_code == 0, res.output
    return root / "out"


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "to_group"), [
    ("serial", False),  # SIGINT to the batch process only
    ("local", True),    # a terminal's Ctrl-C: SIGINT to the whole process group, pool workers included
    ("local", False),
])
def test_ctrl_c_then_resume(uninterrupted, tmp_path, backend, to_group):
    spec = ctrl_c_spec(tmp_path / "spec.yaml")
    out = tmp_path / "out"
    runs = out / "runs"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "abm.cli", "batch", str(spec), "--out", str(out), "--backend", backend,
         "--workers", "2", "--no-progress"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while not (runs.is_dir() and any(p.name.endswith(".json") for p in runs.iterdir())):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no run finished within 60 s"
            time.sleep(0.02)
        children = _descendants(proc.pid)
        if to_group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "interrupted: finished runs are kept; continue with --resume" in stderr
    st = status(out)
    assert 1 <= len(st.done) < CTRL_C_RUNS and st.failed == [], (st, stdout)
    assert re.search(rf"{len(st.done)} done, 0 failed, {CTRL_C_RUNS - len(st.done)} pending", stdout)
    # nothing half-written but ignorable temp files; every record has its trajectories
    for p in runs.iterdir():
        assert re.fullmatch(r"p\d{5}-r\d{4}\.(json|parquet)|\..+\.tmp", p.name), p.name
    for run_id in st.done:
        assert (runs / f"{run_id}.parquet").is_file()
    # the summary written on the way out holds exactly the finished runs
    assert sorted(set(pd.read_parquet(out / SUMMARY_FILE)["run_id"])) == st.done
    # no worker is left behind
    deadline = time.monotonic() + 10
    while any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children):
        assert time.monotonic() < deadline, [c for c in children if c.is_running()]
        time.sleep(0.1)

    res = CliRunner().invoke(app, ["batch", str(spec), "--out", str(out), "--resume", "--backend", "serial",
                                   "--no-progress"])
    assert res.exit_code == 0, res.output
    assert f"{CTRL_C_RUNS} done, 0 failed, 0 pending of {CTRL_C_RUNS} runs" in res.stdout
    assert not list(runs.glob(".*.tmp"))
    pd.testing.assert_frame_equal(pd.read_parquet(out / SUMMARY_FILE).drop(columns="wall_seconds"),
                                  pd.read_parquet(uninterrupted / SUMMARY_FILE).drop(columns="wall_seconds"),
                                  check_exact=True)
    pd.testing.assert_frame_equal(load_trajectories(out), load_trajectories(uninterrupted), check_exact=True)
    pd.testing.assert_frame_equal(summarise(out).drop(columns="wall_seconds"),
                                  summarise(uninterrupted).drop(columns="wall_seconds"), check_exact=True)


def test_an_out_below_a_regular_file_is_refused(runner, spec, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    res = runner.invoke(app, ["batch", str(spec), "--out", str(blocker / "sub" / "out")])
    assert res.exit_code == 2 and "is a file, not a directory" in res.output
    assert blocker.read_text() == "x"


def test_damaged_bookkeeping_is_named_and_a_damaged_run_is_run_again(runner, spec, tmp_path):
    out = tmp_path / "out"
    assert batch(runner, str(spec), "--out", str(out)).exit_code == 0
    record = out / "runs" / "p00000-r0000.json"
    record.write_text(record.read_text()[:20])  # a truncated run record: that run is not done
    assert status(out).pending == ["p00000-r0000"]
    res = batch(runner, str(spec), "--out", str(out), "--resume")
    assert res.exit_code == 0 and "4 done, 0 failed, 0 pending" in res.stdout
    meta = out / BATCH_FILE
    meta.write_text(meta.read_text()[:50])
    for args in (["status", str(out)], ["summary", str(out)], [str(spec), "--out", str(out), "--resume"]):
        res = batch(runner, *args)
        assert res.exit_code == 2 and "batch.json: damaged" in res.output and "Traceback" not in res.output
