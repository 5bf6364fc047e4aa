"""The ``abm`` command line: run, validate and inspect scenarios.

Bad input never starts a run: the message names the key, the value and what is allowed, and the
exit code is 2.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from abm.config import ConfigError, dump_yaml, load

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="msc-abm: agent-based model of MSC immunomodulation in autoimmune disease.")
config_app = typer.Typer(no_args_is_help=True, help="Inspect the configuration and its parameter table.")
app.add_typer(config_app, name="config")

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default_trial.yaml"


def fail(message: str) -> None:
    """Print an input error and exit with code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _load(config: Path | None, overrides: dict[str, Any] | None = None):
    try:
        return load(config, overrides=overrides)
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
) -> None:
    """Run a scenario: a shared burn-in, then every arm, into a new run directory."""
    from abm import checkpoint
    from abm.run import default_run_dir, run_scenario, total_steps

    overrides: dict[str, Any] = {}
    if seed is not None:
        overrides["seed"] = seed
    if days is not None:
        overrides.setdefault("simulation", {})["days"] = days
    if checkpoint_every < 0:
        fail(f"--checkpoint-every must be >= 0 days, got {checkpoint_every}")
    if resume_from is not None:
        try:
            scenario = checkpoint.load(resume_from)[0]
        except checkpoint.CheckpointError as exc:
            fail(str(exc))
        if overrides:
            fail("--seed and --days cannot change a run being resumed (the checkpoint fixes them)")
    else:
        scenario = _load(config or _default_config(), overrides)
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


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
