"""Names that become path components, and default output paths that cannot leave their root.

A scenario's or spec's ``name`` is used in default output directories (``runs/<time>-<name>-s<seed>``,
``runs/batches/<name>`` ...).  It is therefore restricted to one safe path component, and every default
output path is checked to resolve inside its root: a name can never write beside ``runs/``.
An explicit ``--out`` is the user's choice and is not restricted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$"
"""Letters, digits, '.', '-', '_'; not starting with '.'; at most 100 characters."""

NAME_RULE = "letters, digits, '.', '-' or '_', not starting with '.', at most 100 characters"



def check_name(name: str) -> str:
    """``name`` if it is one safe path component, else ValueError saying what is allowed."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValueError(f"{name!r} is not a valid name: use {NAME_RULE} (it becomes a directory name)")
    return name


RunName = Annotated[str, AfterValidator(check_name)]
"""A ``name`` that is safe as one path component (used by scenarios and every experiment spec)."""


def inside(root: Path, *parts: str) -> Path:
    """``root / parts...``, refused (ValueError) unless it resolves inside ``root``."""
    path = root.joinpath(*parts)
    base = root.resolve()
    resolved = path.resolve()
    if resolved != base and base not in resolved.parents:
        raise ValueError(f"name {'/'.join(parts)!r} would write outside {root}/; a name must be {NAME_RULE}")
    return path
