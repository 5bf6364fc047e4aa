"""Shared test fixtures."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def make_run_fail(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, BaseException], None]:
    """``make_run_fail(run_id, error)``: that batch run raises ``error`` inside the worker's model code;
    every other run is real.  ``monkeypatch.undo()`` makes it real again."""
    from abm.experiments.batch import execute

    real = execute.trajectories_of

    def arm(run_id: str, error: BaseException) -> None:
        def flaky(task, batch_dir):
            if task.run_id == run_id:
                raise error
            return real(task, batch_dir)

        monkeypatch.setattr(execute, "trajectories_of", flaky)

    return arm
