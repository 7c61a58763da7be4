"""Numba kernels over a tissue's numpy arrays: they import only numpy, numba and math."""
