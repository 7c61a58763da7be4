"""Numba kernels over a tissue's numpy arrays: they import only numpy, numba and math
(and the standard library in jit.py, which names their cache folder)."""
