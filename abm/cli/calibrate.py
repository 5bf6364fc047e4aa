"""The ``abm calibrate SPEC`` command (registered in abm/cli/main.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from abm.config.load import ConfigError


def command(
    spec: Annotated[Path, typer.Argument(help="A calibration spec YAML (configs/calibration/).")],
    out: Annotated[Path | None, typer.Option(help="Output directory (default runs/calibration/<name>).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes (multicore) or Dask workers.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a running Dask scheduler.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the ABC-SMC run stored in OUT/abc.db.")] = False,
) -> None:
    """ABC-SMC (pyABC) of parameters against findings; writes posterior.csv, marginals.png, overlay.yaml,
    predictive.csv and report.md."""
    from abm.cli.common import fail
    from abm.experiments.calibrate.pipeline import run_calibration

    if not spec.is_file():
        fail(f"{spec}: no such calibration spec")
    try:
        res = run_calibration(spec, out, workers=workers, scheduler=scheduler, resume=resume)
    except ConfigError as exc:
        fail(str(exc))
    typer.echo(res.summary.drop(columns=["integer"]).to_string(index=False))
    typer.echo(f"written to {res.directory} in {res.wall_seconds:.0f} s")
    if res.failing:
        typer.echo("findings the posterior still fails: " + ", ".join(res.failing))
