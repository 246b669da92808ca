"""A north-up window of surface and terrain grids in a metric projection.

Rows run south from the top edge ``top_m``, columns east from ``left_m``; cells are ``cell_m`` squares.
Heights are metres above the survey's datum (Ordnance Datum Newlyn for Environment Agency LiDAR); NaN
marks no data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine


@dataclass(frozen=True)
class SurveyWindow:
    """Surface (``dsm_m``) and terrain (``dtm_m``) heights of one window, same shape, metres.

    ``building_cells`` (optional, bool, same shape) marks cells whose points a classified cloud calls
    buildings (LAS class 6); ``core`` is the (row0, row1, col0, col1) part of the window this tile owns
    (the rest is overlap with its neighbours). ``vegetation_cells`` (optional, bool) marks cells an
    orthophoto shows green (:func:`metaliverpool.survey.footprints.green_cells`).
    """

    dsm_m: np.ndarray
    dtm_m: np.ndarray
    left_m: float
    top_m: float
    cell_m: float
    building_cells: np.ndarray | None = None
    vegetation_cells: np.ndarray | None = None
    core: tuple[int, int, int, int] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (int(self.dsm_m.shape[0]), int(self.dsm_m.shape[1]))

    @property
    def transform(self) -> Affine:
        """The affine transform from (column, row) to (x, y) metres."""
        return Affine(self.cell_m, 0.0, self.left_m, 0.0, -self.cell_m, self.top_m)

    def core_slices(self) -> tuple[slice, slice]:
        """Row and column slices of the core."""
        row0, row1, col0, col1 = self.core or (0, self.shape[0], 0, self.shape[1])
        return slice(row0, row1), slice(col0, col1)

    def core_box(self) -> shapely.Polygon:
        """The core as a rectangle in projected metres."""
        row0, row1, col0, col1 = self.core or (0, self.shape[0], 0, self.shape[1])
        return shapely.box(
            self.left_m + col0 * self.cell_m,
            self.top_m - row1 * self.cell_m,
            self.left_m + col1 * self.cell_m,
            self.top_m - row0 * self.cell_m,
        )

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y of every cell centre (two arrays of the window's shape), metres."""
        rows, cols = np.indices(self.shape, dtype=np.float64)
        return self.left_m + (cols + 0.5) * self.cell_m, self.top_m - (rows + 0.5) * self.cell_m

    def sample_bilinear(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """DSM heights at points (x, y) by bilinear interpolation between cell centres; NaN outside."""
        col = (np.asarray(x_m) - self.left_m) / self.cell_m - 0.5
        row = (self.top_m - np.asarray(y_m)) / self.cell_m - 0.5
        rows, cols = self.shape
        inside = (col >= 0) & (row >= 0) & (col <= cols - 1) & (row <= rows - 1)
        c0 = np.clip(np.floor(col).astype(np.int64), 0, max(cols - 2, 0))
        r0 = np.clip(np.floor(row).astype(np.int64), 0, max(rows - 2, 0))
        fc = np.clip(col - c0, 0.0, 1.0)
        fr = np.clip(row - r0, 0.0, 1.0)
        c1 = np.minimum(c0 + 1, cols - 1)
        r1 = np.minimum(r0 + 1, rows - 1)
        z = self.dsm_m
        value = (
            z[r0, c0] * (1 - fr) * (1 - fc)
            + z[r0, c1] * (1 - fr) * fc
            + z[r1, c0] * fr * (1 - fc)
            + z[r1, c1] * fr * fc
        )
        return np.where(inside, value, np.nan)
