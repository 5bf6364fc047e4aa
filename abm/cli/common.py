"""Helpers shared by the commands: input errors exit 2 with a message, never a traceback."""

from __future__ import annotations

import typer


def fail(message: str) -> None:
    """Print an input error and exit with code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        fail(f"--shard {text!r}: expected i/n with whole numbers, e.g. 0/4")
    if n < 1 or not 0 <= i < n:
        fail(f"--shard {text!r}: need 0 <= i < n")
    return i, n
