"""The ``abm`` command line: run, validate and inspect scenarios.

Bad input never starts a run: the message names the key, the value and what is allowed, and the
exit code is 2.
"""

from __future__ import annotations

import math
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from abm.cli.calibrate import command as calibrate_command
from abm.cli.cohort import command as cohort_command
from abm.cli.common import fail, parse_shard
from abm.cli.sensitivity import command as sensitivity_command
from abm.config import ConfigError, dump_yaml, load
from abm.config.names import inside
from abm.engine import jit

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="msc-abm: agent-based model of MSC immunomodulation in autoimmune disease.")
config_app = typer.Typer(no_args_is_help=True, help="Inspect the configuration and its parameter table.")
app.add_typer(config_app, name="config")

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "default_trial.yaml"


@app.callback()
def _check_environment() -> None:
    """msc-abm: agent-based model of MSC immunomodulation in autoimmune disease."""
    try:
        jit.engine()  # ABM_ENGINE is read by every model; a bad value is refused before any work
    except ValueError as exc:
        fail(str(exc))


def _load(config: Path | None, overrides: dict[str, Any] | None = None, overlays: list[Path] | None = None):
    try:
        return load(config, overlays=overlays, overrides=overrides)
    except ConfigError as exc:
        fail(str(exc))


def _default_config() -> Path | None:
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


@app.command()
def run(
    config: Annotated[Path | None, typer.Argument(help="Scenario YAML; default: the default virtual trial.")] = None,
    seed: Annotated[int | None, typer.Option(help="Root seed (overrides the config's).")] = None,
    days: Annotated[float | None, typer.Option(help="Follow-up in days (overrides the config's).")] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory to create (default runs/<time>-<name>-s<seed>).")
                   ] = None,
    resume_from: Annotated[Path | None, typer.Option("--resume-from", help="Checkpoint file to continue from.")] = None,
    checkpoint_every: Annotated[float, typer.Option(help="Days between arm checkpoints (0 = none).")] = 30.0,
    report: Annotated[bool, typer.Option(help="Write report.png and summary.md.")] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    overlay: Annotated[list[Path] | None, typer.Option(
        help="Config overlay merged onto the scenario, e.g. a calibration's overlay.yaml (repeatable).")] = None,
) -> None:
    """Run a scenario: a shared burn-in, then every arm, into a new run directory."""
    from abm import checkpoint
    from abm.run import default_run_dir, run_scenario, total_steps

    overrides: dict[str, Any] = {}
    if seed is not None:
        overrides["seed"] = seed
    if days is not None:
        overrides.setdefault("simulation", {})["days"] = days
    if not (checkpoint_every >= 0 and math.isfinite(checkpoint_every)):
        fail(f"--checkpoint-every must be a finite number of days >= 0, got {checkpoint_every}")
    if resume_from is not None:
        try:
            scenario = checkpoint.load(resume_from)[0]
        except checkpoint.CheckpointError as exc:
            fail(str(exc))
        if overrides:
            fail("--seed and --days cannot change a run being resumed (the checkpoint fixes them)")
    else:
        for path in overlay or []:
            if not path.is_file():
                fail(f"--overlay {path}: no such file")
        scenario = _load(config or _default_config(), overrides, overlay)
    if 0 < checkpoint_every * 24 < scenario.simulation.dt_h:
        fail(f"--checkpoint-every {checkpoint_every:g} days is shorter than one step "
             f"(simulation.dt_h = {scenario.simulation.dt_h:g} h); use 0 (none) or at least "
             f"{scenario.simulation.dt_h / 24:g} days")
    out_dir = out or default_run_dir(scenario)
    if out_dir.exists():
        fail(f"--out {out_dir}: directory exists; a finished run is never rewritten, choose a new path")
    steps = total_steps(scenario, with_burn_in=resume_from is None)
    from tqdm import tqdm
    bar = tqdm(total=steps, unit="step", desc=scenario.name, disable=not progress, file=sys.stderr)
    try:
        result = run_scenario(scenario, out_dir, progress=bar.update, resume_from=resume_from,
                              checkpoint_every_days=checkpoint_every, report=report,
                              command=shlex.join(["abm", *sys.argv[1:]]))
    except checkpoint.CheckpointError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"--out {out_dir}: cannot write the run directory ({exc})")
    finally:
        bar.close()
    typer.echo(f"run directory: {result.directory}")
    summary = result.directory / "summary.md"
    if summary.is_file():
        typer.echo(summary.read_text())


@app.command()
def validate(config: Annotated[Path, typer.Argument(help="Scenario YAML to check.")]) -> None:
    """Check a scenario file; print what it resolves to in one line."""
    scenario = _load(config)
    arms = ", ".join(scenario.arms)
    typer.echo(f"ok: {config} -> scenario '{scenario.name}', disease {scenario.disease.preset}, "
               f"{scenario.simulation.days:g} days, arms: {arms}")


@config_app.command("show")
def config_show(
    config: Annotated[Path | None, typer.Argument(help="Scenario YAML (default: defaults).")] = None,
) -> None:
    """Print the resolved scenario, every default filled in."""
    typer.echo(dump_yaml(_load(config)))


@config_app.command("table")
def config_table() -> None:
    """Print the parameter table (Markdown) with units, ranges and sources."""
    from abm.config.table import markdown
    typer.echo(markdown())


@app.command()
def batch(
    target: Annotated[str, typer.Argument(help="A batch spec YAML, or 'status' / 'summary'.")],
    directory: Annotated[Path | None, typer.Argument(help="Batch directory (for status/summary).")] = None,
    backend: Annotated[str | None, typer.Option(help="local | dask | serial (default: the spec's).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes or Dask workers.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a running Dask scheduler.")] = None,
    out: Annotated[Path | None, typer.Option(help="Batch directory (default runs/batches/<name>).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an existing batch directory.")] = False,
    shard: Annotated[str | None, typer.Option(help="Run only slice i/n of the runs (job arrays).")] = None,
    prepare: Annotated[bool, typer.Option(help="Only create the batch directory and list its runs.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run a batch of runs (sweeps x replicates), or report on a batch directory.

    `abm batch SPEC [--backend ...]` runs; `abm batch status DIR` counts done/failed/pending;
    `abm batch summary DIR` rewrites and prints summary.parquet.
    """
    from abm.experiments.batch.runner import run_batch, status
    from abm.experiments.batch.summary import write_summary

    if target in ("status", "summary"):
        if directory is None:
            fail(f"abm batch {target} needs a batch directory")
        try:
            st = status(directory)
        except ConfigError as exc:
            fail(str(exc))
        if target == "summary":
            frame = write_summary(directory)
            typer.echo(frame.to_string(max_rows=40))
        typer.echo(f"{directory}: {st.line()}")
        for run_id in st.failed:
            err = directory / "runs" / f"{run_id}.error.json"
            typer.echo(f"  failed {run_id}: {__import__('json').loads(err.read_text()).get('error')}")
        return
    if backend is not None and backend not in ("local", "dask", "serial"):
        fail(f"--backend {backend!r}: allowed: local, dask, serial")
    spec_path = Path(target)
    if not spec_path.is_file():
        fail(f"{spec_path}: no such batch spec (or use 'status' / 'summary')")
    shard_spec = parse_shard(shard)
    if out is None:
        from abm.experiments.batch.spec import load_spec
        try:
            out = inside(Path("runs"), "batches", load_spec(spec_path)[0].name)
        except ConfigError as exc:
            fail(str(exc))
    if prepare:
        from abm.experiments.batch.runner import prepare as prepare_batch
        try:
            _, tasks = prepare_batch(spec_path, out, resume=True)
        except ConfigError as exc:
            fail(str(exc))
        typer.echo(f"batch directory: {out}\n{len(tasks)} runs planned; run slices with "
                   f"`abm batch {spec_path} --out {out} --resume --shard i/n`")
        return
    from abm.cli.progress import run_bar

    bar, start, one = run_bar(spec_path.stem, "run", progress)
    try:
        result = run_batch(spec_path, out, backend=backend, workers=workers, scheduler=scheduler,
                           resume=resume, shard_spec=shard_spec, progress=one, on_start=start)
    except ConfigError as exc:
        fail(str(exc))
    finally:
        bar.close()
    typer.echo(f"batch directory: {result.directory}\n{result.status.line()}")
    if shard_spec and result.status.failed and not result.failed_here:
        typer.echo(f"(the failed runs belong to other shards; shard {shard} has none)")
    if result.interrupted:
        typer.echo("interrupted: finished runs are kept; continue with --resume", err=True)
        raise typer.Exit(130)
    if result.failed_here:
        raise typer.Exit(1)


@app.command()
def trials(
    out: Annotated[Path, typer.Option(help="Directory for trial batches and comparison.")] = Path("runs/trials"),
    replicates: Annotated[int | None, typer.Option(min=1, help="Replicates per scenario (default: specs').")] = None,
    days: Annotated[float | None, typer.Option(help="Follow-up override for a quick run (days).")] = None,
    backend: Annotated[str, typer.Option(help="local | dask | serial.")] = "local",
    workers: Annotated[int | None, typer.Option(min=1, help="Processes or Dask workers.")] = None,
    findings: Annotated[Path | None, typer.Option(help="Findings table (default: the shipped one).")] = None,
    overlay: Annotated[list[Path] | None, typer.Option(
        help="Config overlay merged onto every trial scenario, e.g. a calibration's overlay.yaml "
             "(repeatable).")] = None,
) -> None:
    """Run every trial scenario (configs/trials/) as a batch and compare with the reported findings."""
    from abm.config.load import deep_merge, read_yaml
    from abm.experiments.trials.run import run_trials

    if backend not in ("local", "dask", "serial"):
        fail(f"--backend {backend!r}: allowed: local, dask, serial")
    if findings is not None and not findings.is_file():
        fail(f"--findings {findings}: no such file")
    if days is not None and not (days > 0 and math.isfinite(days)):
        fail(f"--days must be a finite number > 0, got {days}")
    overrides: dict[str, Any] = {}
    for path in overlay or []:
        if not path.is_file():
            fail(f"--overlay {path}: no such file")
        try:
            overrides = deep_merge(overrides, read_yaml(path))
        except ConfigError as exc:
            fail(str(exc))
    if "disease" in overrides:
        typer.echo("note: the overlay's disease.* keys apply to every trial scenario (healthy and RA baselines "
                   "included); calibrate biology.* keys for trial-wide use", err=True)
    try:
        table = run_trials(out, replicates=replicates, backend=backend, workers=workers, days=days,
                           overrides=overrides or None, findings_path=findings, log=typer.echo)
    except ConfigError as exc:
        fail(str(exc))
    counts = table["verdict"].value_counts().to_dict()
    typer.echo(f"comparison: {out / 'comparison.md'}  ({', '.join(f'{v} {k}' for k, v in counts.items())})")


@app.command()
def compare(
    directory: Annotated[Path, typer.Argument(help="A run directory, a batch directory, or a folder of them.")],
    findings: Annotated[Path | None, typer.Option(help="Findings table (default: the shipped one).")] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the report (default: DIRECTORY).")] = None,
    against: Annotated[Path | None, typer.Option(
        help="An earlier comparison (a folder with comparison.csv, or runs to score) to set the verdicts "
             "beside, e.g. the uncalibrated trials; writes changes.md.")] = None,
) -> None:
    """Score simulated blood trajectories against every reported finding their scenarios name."""
    from abm.experiments.trials.compare import changes_markdown, verdict_changes, write_report
    from abm.experiments.trials.compare import compare as compare_runs

    if not directory.exists():
        fail(f"{directory}: no such directory")
    if against is not None and not against.exists():
        fail(f"--against {against}: no such directory")
    if findings is not None and not findings.is_file():
        fail(f"--findings {findings}: no such file")
    try:
        table = compare_runs(directory, findings)
        before = None
        if against is not None:
            earlier = against / "comparison.csv"
            if earlier.is_file():
                import pandas as pd

                before = pd.read_csv(earlier)
            else:
                before = compare_runs(against, findings)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    target = out or directory
    paths = write_report(table, target)
    if before is None:
        typer.echo(paths["md"].read_text())
        return
    text = changes_markdown(verdict_changes(before, table), str(against), str(directory))
    (Path(target) / "changes.md").write_text(text, encoding="utf-8")
    typer.echo(text)


@app.command()
def animate(
    source: Annotated[Path, typer.Argument(help="Scenario YAML, or a run directory made by `abm run`.")],
    out: Annotated[Path, typer.Option(help="Output file: .gif or .mp4 (chosen by the suffix).")],
    arm: Annotated[str | None, typer.Option(help="Arm to show (default: the scenario's first).")] = None,
    fields: Annotated[str, typer.Option(help="Comma-separated fields: ido, pge2, tgfb, il6, il10, infl.")
                      ] = "ido,tgfb",
    every_h: Annotated[float, typer.Option("--every-h", help="Hours between frames (whole model steps).")] = 24.0,
    fps: Annotated[int, typer.Option(min=1, help="Frames per second.")] = 8,
    days: Annotated[float | None, typer.Option(help="Days to show (default: the scenario's follow-up).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Animate one arm (tissue cells, fields, Treg/Th17 ratios) into a GIF or MP4 for slides.

    From a run directory the arm is simulated again from checkpoints/burnin.npz with the run's seeds,
    so it shows the recorded trajectories; from a scenario YAML the burn-in runs first.
    """
    from abm import checkpoint
    from abm.viz import animate as anim

    names = [f.strip() for f in fields.split(",") if f.strip()]
    errors = (anim.AnimationError, ConfigError, checkpoint.CheckpointError)
    try:
        anim.check_suffix(out)
        anim.check_fields(names)
        src = anim.load_source(source, arm, days)
        n = len(anim.frame_days(src.days, every_h, src.scenario.simulation.dt_h))
    except errors as exc:
        fail(str(exc))
    from tqdm import tqdm

    bar = tqdm(total=n, unit="frame", desc="animate", disable=not progress, file=sys.stderr)
    try:
        path = anim.animate(source, out, arm=src.arm, fields=names, every_h=every_h, fps=fps, days=days,
                            progress=bar.update, status=bar.set_description_str)
    except errors as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"--out {out}: cannot write the animation ({exc})")
    finally:
        bar.close()
    typer.echo(f"animation: {path} ({n} frames)")


@app.command("app")
def app_command(
    config: Annotated[Path | None, typer.Argument(help="Scenario YAML the app starts from.")] = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind (default: this machine only).")] = "127.0.0.1",
) -> None:
    """Serve the interactive teaching app (Mesa SolaraViz) in the browser."""
    if config is not None:
        _load(config)  # a bad config exits 2 before any server starts
    if not 0 < port < 65536:
        fail(f"--port must be 1-65535, got {port}")
    from abm.viz.app import serve

    typer.echo(f"msc-abm teaching app: http://{host}:{port}  (Ctrl+C to stop)")
    raise typer.Exit(serve(config, port, host))


@app.command()
def hypothesis(
    spec: Annotated[Path, typer.Argument(help="A hypothesis spec YAML (configs/hypotheses/).")],
    backend: Annotated[str | None, typer.Option(help="local | dask | serial (default: the spec's).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes or Dask workers.")] = None,
    out: Annotated[Path | None, typer.Option(help="Output directory (default runs/hypotheses/<name>).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an existing hypothesis directory.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Test which mechanism carries the MSC effect: blockades / key changes vs the full arm, paired by seed."""
    from abm.cli.progress import run_bar
    from abm.experiments.hypothesis import run_hypothesis

    if backend is not None and backend not in ("local", "dask", "serial"):
        fail(f"--backend {backend!r}: allowed: local, dask, serial")
    if not spec.is_file():
        fail(f"{spec}: no such hypothesis spec")
    bar, start, one = run_bar(spec.stem, "replicate", progress)
    try:
        frame = run_hypothesis(spec, out, backend=backend, workers=workers, resume=resume,
                               progress=one, on_start=start)
    except ConfigError as exc:
        fail(str(exc))
    finally:
        bar.close()
    eff = frame[frame["kind"] != "gain"]
    typer.echo(eff[["outcome", "contrast", "diff_mean", "ci_low", "ci_high", "p_adj", "frac_removed"]]
               .to_string(index=False))


app.command("sensitivity")(sensitivity_command)
app.command("calibrate")(calibrate_command)
app.command("cohort")(cohort_command)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
