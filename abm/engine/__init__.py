"""The simulation engine: tissue space, fields, cell populations as arrays, random streams, hazards.

Knows nothing of the biology or the experiments (a test checks that no engine module imports them).
"""
