"""Point cloud to grid cells: per-cell sums and counts in one pass over the points (numba).

``out_cell_sums`` is float64[cell_count, 5], one row per cell holding, in order: the sum of the heights
of all points (m), their count, the sum of the heights of ground points (LAS class 2), their count, and
the count of building points (LAS class 6). One row per cell keeps every point's five updates in one
cache line, which is what makes this faster than five ``np.bincount`` scatters into separate arrays.
"""

from __future__ import annotations

from numba import njit

SURFACE_SUM, SURFACE_COUNT, GROUND_SUM, GROUND_COUNT, BUILDING_COUNT = range(5)
"""Columns of ``out_cell_sums``."""

GROUND_CLASS = 2
BUILDING_CLASS = 6


@njit(cache=True, nogil=True)
def accumulate_points(cell, z_m, point_class, out_cell_sums):
    """Add points (flat cell index int64, height m, LAS class uint8) to ``out_cell_sums`` (caller
    allocates and zeroes it; every ``cell`` must be a valid row)."""
    for i in range(cell.shape[0]):
        c = cell[i]
        z = z_m[i]
        out_cell_sums[c, SURFACE_SUM] += z
        out_cell_sums[c, SURFACE_COUNT] += 1.0
        k = point_class[i]
        if k == GROUND_CLASS:
            out_cell_sums[c, GROUND_SUM] += z
            out_cell_sums[c, GROUND_COUNT] += 1.0
        elif k == BUILDING_CLASS:
            out_cell_sums[c, BUILDING_COUNT] += 1.0
