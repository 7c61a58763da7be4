"""Execution: one run, the local process pool, the Dask executor, the result store and the
workflows from a plan to an output folder."""
