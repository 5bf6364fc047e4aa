"""The biology: one module per cell type; each rule cites its source in its docstring.

Rate laws are plain functions of signal levels (arrays or floats), so the same law serves cells on
the tissue grid and counts in the well-mixed blood compartment.
"""
