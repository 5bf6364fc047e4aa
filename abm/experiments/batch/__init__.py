"""Batch experiments: a spec expands into runs that execute on a local pool, Dask or SLURM.

Every finished run is its own Parquet file in the batch directory, written atomically, so an
interrupted batch resumes by skipping what is there, and memory stays flat however many runs.
"""
