"""The one Markdown table writer of the experiments' reports."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def cell(value: Any) -> str:
    """One table cell: numbers to 3 significant digits, NaN/None empty, pipes and newlines escaped."""
    if value is None:
        text = ""
    elif isinstance(value, bool | np.bool_):
        text = str(bool(value))
    elif isinstance(value, int | np.integer):
        text = str(int(value))
    elif isinstance(value, float | np.floating):
        text = "" if not math.isfinite(float(value)) else f"{float(value):.3g}"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame, columns: list[str] | None = None) -> str:
    """A GitHub Markdown table of ``columns`` of ``df`` (default: all)."""
    columns = list(df.columns) if columns is None else columns
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df[columns].itertuples(index=False)]
    return "\n".join(lines)
