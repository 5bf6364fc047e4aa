"""The ``abm sensitivity SPEC`` command (registered in abm/cli/main.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from abm.config.load import ConfigError


def command(
    spec: Annotated[Path, typer.Argument(help="A sensitivity spec YAML (configs/sensitivity/).")],
    backend: Annotated[str | None, typer.Option(help="local | dask | serial (default: the spec's).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes or Dask workers.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a running Dask scheduler.")] = None,
    out: Annotated[Path | None, typer.Option(help="Output directory (default runs/sensitivity/<name>).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an existing sensitivity directory.")] = False,
    shard: Annotated[str | None, typer.Option(help="Run only slice i/n of the runs (job arrays); "
                                              "analyse afterwards with --resume.")] = None,
    prepare: Annotated[bool, typer.Option(help="Only create the directory and plan the runs (job arrays).")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Morris screening or Sobol indices of chosen parameters (SALib), run as a batch.

    Writes indices.csv, indices.md, indices.png and convergence.csv (indices with N/2 against N).
    """
    from abm.cli.common import fail, parse_shard
    from abm.experiments.sensitivity.pipeline import run_sensitivity
    from abm.experiments.sensitivity.spec import load_sensitivity_spec

    if backend is not None and backend not in ("local", "dask", "serial"):
        fail(f"--backend {backend!r}: allowed: local, dask, serial")
    if not spec.is_file():
        fail(f"{spec}: no such sensitivity spec")
    shard_spec = parse_shard(shard)
    from abm.cli.progress import run_bar

    bar, start, one = run_bar(spec.stem, "run", progress)
    try:
        parsed, _ = load_sensitivity_spec(spec)
        result = run_sensitivity(spec, out, backend=backend, workers=workers, scheduler=scheduler, resume=resume,
                                 shard=shard_spec, prepare_only=prepare, progress=one,
                                 on_start=start)
    except ConfigError as exc:
        fail(str(exc))
    finally:
        bar.close()
    if prepare:
        typer.echo(f"sensitivity directory: {result.directory}\n{result.evaluation.pending} runs planned; run slices "
                   f"with `abm sensitivity {spec} --out {result.directory} --resume --shard i/n`, then once more "
                   f"with --resume to analyse")
        return
    typer.echo("\n".join(result.lines(parsed)))
    if result.evaluation.failed:
        raise typer.Exit(1)
