"""The base of every experiment specification (batch, hypothesis, sensitivity, calibration)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A spec section: unknown keys are errors (a misspelt key never silently falls back to a default)."""

    model_config = ConfigDict(extra="forbid")
