"""One helper to declare a model parameter with its unit, plausible range and source.

Every biological or numerical number of the model is declared with :func:`param`, so the
value, the unit, the range a sensitivity analysis may explore and the citation live in one
place.  The documentation's parameter table and ``abm config show`` are generated from
these declarations (see :mod:`abm.config.table`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def param(
    default: Any,
    unit: str,
    source: str,
    *,
    plausible: tuple[float, float] | None = None,
    plausible_factor: float | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    doc: str = "",
) -> Any:
    """Declare a parameter.

    Args:
        default: default value.
        unit: physical unit (``"1/h"``, ``"um2/min"``, ``"dimensionless"`` ...).
        source: citation (``"Lee RH 2009 Cell Stem Cell"``), or
            ``"assumption: <reason>"``.
        plausible: (low, high) range for sensitivity analysis and calibration priors.
        plausible_factor: instead of ``plausible``, a range relative to the value in use: value / f to
            value x f (for fields whose value differs per instance, such as secretion entries; a value of
            0 is a structural zero, range 0-0).
        ge, gt, le, lt: hard validation bounds (values outside are rejected).
        doc: one-line meaning.
    """
    extra: dict[str, Any] = {"unit": unit, "source": source}
    if plausible is not None:
        extra["plausible"] = list(plausible)
    if plausible_factor is not None:
        extra["plausible_factor"] = float(plausible_factor)
    return Field(default, ge=ge, gt=gt, le=le, lt=lt, description=doc, json_schema_extra=extra)
