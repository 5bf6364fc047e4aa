"""The ``abm`` command line (Typer): one module per group of commands, helpers in :mod:`abm.cli.common`."""

from abm.cli.main import app

__all__ = ["app"]
