"""Experiment output directories: created fresh, or resumed only by the same experiment.

Every experiment directory (sensitivity, calibration, ...) carries a small JSON record of *what it is*: a
fingerprint of the inputs that determine its results.  A new invocation refuses a directory that holds
anything else; ``--resume`` refuses one whose fingerprint differs, naming the first key that differs.
The checks run before the first byte is written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from abm.config.load import ConfigError


def check_parent(out: Path) -> None:
    """Refuse an output path that cannot become a directory: a regular file at it or above it."""
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                raise ConfigError(f"{out}: {p} is a file, not a directory; choose another --out")
            return


def check_directory(out: Path, meta_file: str, kind: str, resume: bool, fingerprint: dict[str, Any],
                    compare: list[str]) -> None:
    """Refuse ``out`` unless it is absent or empty, or (with ``resume``) holds the same ``kind`` of experiment
    with equal ``compare`` keys of ``fingerprint``.  Writes nothing."""
    meta = out / meta_file
    check_parent(out)
    if meta.is_file():
        if not resume:
            raise ConfigError(f"{out}: a {kind} is already there; pass --resume to continue it or choose --out")
        try:
            old = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{meta}: unreadable {kind} record ({exc}); use another --out") from None
        for key in compare:
            if old.get(key) != fingerprint.get(key):
                raise ConfigError(f"{out}: holds a different {kind} ({key}: {old.get(key)!r} there, "
                                  f"{fingerprint.get(key)!r} now); use another --out")
    elif out.is_dir() and any(out.iterdir()):
        what = "cannot be resumed: it has no record of what it holds" if resume else "is not empty"
        raise ConfigError(f"{out}: exists and {what} ({meta_file} missing); use another --out")


def prepare_directory(out: Path, meta_file: str, kind: str, resume: bool, fingerprint: dict[str, Any],
                      compare: list[str]) -> None:
    """:func:`check_directory`, then create ``out`` and write the record (fingerprint + update time)."""
    from abm.experiments.batch.execute import write_json

    check_directory(out, meta_file, kind, resume, fingerprint, compare)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / meta_file, {**fingerprint, "updated": datetime.now(UTC).isoformat()})
