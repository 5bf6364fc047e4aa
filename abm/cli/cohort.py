"""The ``abm cohort SPEC`` command (registered in abm/cli/main.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from abm.config.load import ConfigError


def command(
    spec: Annotated[Path, typer.Argument(help="A cohort spec YAML (configs/cohorts/).")],
    backend: Annotated[str | None, typer.Option(help="local | dask | serial (default: the spec's).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes or Dask workers.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a running Dask scheduler.")] = None,
    out: Annotated[Path | None, typer.Option(help="Output directory (default runs/cohort/<name>).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an existing cohort directory.")] = False,
    shard: Annotated[str | None, typer.Option(help="Run only slice i/n of the pending batch (screening, then "
                                              "arms; job arrays); finish with --resume.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """A virtual trial: sample patients, screen them, run their arms, report response, remission, relapse.

    Writes patients.csv, courses.csv, rates.csv, index.csv, relapse_free.csv, power.csv, responders.csv,
    variation.csv, report.md and figures. Every clinical number is a model surrogate (docs/clinical.md).
    """
    from abm.cli.common import fail, parse_shard
    from abm.cli.progress import run_bar
    from abm.experiments.cohort.pipeline import run_cohort

    if backend is not None and backend not in ("local", "dask", "serial"):
        fail(f"--backend {backend!r}: allowed: local, dask, serial")
    if not spec.is_file():
        fail(f"{spec}: no such cohort spec")
    shard_spec = parse_shard(shard)
    bar, start, one = run_bar(spec.stem, "run", progress)
    try:
        result = run_cohort(spec, out, backend=backend, workers=workers, scheduler=scheduler, resume=resume,
                            shard=shard_spec, progress=one, on_start=start)
    except ConfigError as exc:
        fail(str(exc))
    finally:
        bar.close()
    if result.stage != "done":
        typer.echo(f"{result.directory}: {result.stage} batch has {result.pending} pending and "
                   f"{len(result.failed)} failed runs; continue with `abm cohort {spec} --out {result.directory} "
                   f"--resume`")
        if result.failed:
            raise typer.Exit(1)
        return
    rates = result.tables["rates"]
    typer.echo(f"{result.directory}: {result.included} of {result.screened} patients included "
               f"(model surrogates; report.md)")
    typer.echo(rates.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
