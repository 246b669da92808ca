"""Numba kernels: arrays in, arrays out, the caller allocates ``out_*`` arrays. No I/O, no pandas."""
