"""``python -m abm.cli``: the ``abm`` command."""

from abm.cli.main import app

app()
