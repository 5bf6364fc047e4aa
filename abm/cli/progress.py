"""A progress bar for commands that dispatch runs (batch, hypothesis, sensitivity)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from tqdm import tqdm


def run_bar(desc: str, unit: str = "run", enabled: bool = True
            ) -> tuple[tqdm, Callable[[int], None], Callable[[dict], None]]:
    """A tqdm bar on stderr, its ``on_start(n)`` and its ``on_record(record)`` (which also reports a
    failed run with its error).  Close the bar when done."""
    # delay: nothing is drawn for a request refused while it is checked (before any run starts)
    bar = tqdm(total=0, unit=unit, desc=desc, disable=not enabled, file=sys.stderr, delay=1.0)

    def on_record(record: dict) -> None:
        bar.update(1)
        if record.get("status") == "failed":
            bar.write(f"run {record['run_id']} failed: {record.get('error')}")

    return bar, lambda n: bar.reset(total=n), on_record
