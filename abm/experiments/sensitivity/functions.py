"""Registered test functions with known sensitivity indices, evaluated through the same pipeline as the model.

A test function maps one sample point (parameter name -> value) to named outputs, exactly like one
evaluation of the model does; it declares default bounds for its parameters, as the parameter
table does for the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TestFunction:
    """A function of named inputs with default bounds and (optionally) analytic indices."""

    bounds: dict[str, tuple[float, float]]
    evaluate: Callable[[dict[str, float]], dict[str, float]]
    analytic: dict[str, dict[str, float]] | None = None


ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1


def ishigami(point: dict[str, float], a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, float]:
    """Ishigami & Homma (1990): y = sin x1 + a sin^2 x2 + b x3^4 sin x1, x_i ~ U(-pi, pi)."""
    x1, x2, x3 = point["x1"], point["x2"], point["x3"]
    return {"y": math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)}


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, dict[str, float]]:
    """Analytic first-order and total indices of the Ishigami function (Sobol' & Levitan 1999)."""
    pi4, pi8 = math.pi**4, math.pi**8
    v1 = 0.5 * (1 + b * pi4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return {"S1": {"x1": v1 / var, "x2": v2 / var, "x3": 0.0},
            "ST": {"x1": (v1 + v13) / var, "x2": v2 / var, "x3": v13 / var}}


PI_RANGE = (-math.pi, math.pi)
FUNCTIONS: dict[str, TestFunction] = {
    "ishigami": TestFunction({"x1": PI_RANGE, "x2": PI_RANGE, "x3": PI_RANGE}, ishigami, ishigami_indices()),
}
"""Test functions by name (``function:`` in a sensitivity spec)."""


def register(name: str, function: TestFunction) -> None:
    """Add a test function (e.g. from a test or a notebook)."""
    FUNCTIONS[name] = function
