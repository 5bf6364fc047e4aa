"""Experiments over many runs: batch, trials, hypothesis, sensitivity, calibrate (and their shared layer)."""
