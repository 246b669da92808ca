"""Building heights as Ordnance Survey's Building Height Attribute defines them.

OS MasterMap Topography Layer - Building Height Attribute, technical specification, feature type
"Building Height Attribute" (https://docs.os.uk/os-downloads/topography/os-mastermap-topography-layer-
building-height-attribute/os-mastermap-topography-layer-building-height-attribute-technical-specification/
feature-type/building-height-attribute):

- ``AbsHMin``: the lowest point of the terrain model (DTM) within the footprint (where the walls meet the
  ground);
- ``AbsH2``: the base of the roof, where the roof meets the principal part of the building;
- ``AbsHMax``: the highest point of the building, chimneys and plant included;
- ``RelH2 = AbsH2 - AbsHMin`` and ``RelHMax = AbsHMax - AbsHMin``.

Here ``AbsHMax`` is the highest cell of the 3 x 3 median-filtered surface inside the footprint (the
median drops single-cell spikes: birds, wires, noise; a structure must cover about 2 x 2 cells to
count), and ``AbsH2`` is the 5th percentile of the surface over the footprint's inner cells (the cells
whose 3 x 3 neighbourhood lies inside it, so that wall-edge cells mixing roof and ground do not count):
the eaves of a pitched roof, the roof itself for a flat one. A grid resampled twice (bilinear) smears a
wall over two cells and biases ``AbsH2`` low; ``AbsHMax`` is unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from rasterio.features import rasterize
from scipy import ndimage

from metaliverpool.survey.grid import SurveyWindow

ROOF_BASE_PERCENTILE = 5.0
"""Percentile of the inner roof cells taken as the roof base (``AbsH2``)."""


@dataclass(frozen=True)
class BuildingHeights:
    """The OS height attributes of one footprint (metres; NaN where the data does not allow it).

    ``cells`` is the number of grid cells inside the footprint and ``valid_share`` the share of them
    with both surface and terrain heights.
    """

    abs_h_min_m: float
    abs_h2_m: float
    abs_h_max_m: float
    cells: int
    valid_share: float

    @property
    def rel_h2_m(self) -> float:
        """Roof-base height above the lowest ground point (OS ``RelH2``)."""
        return self.abs_h2_m - self.abs_h_min_m

    @property
    def rel_h_max_m(self) -> float:
        """Highest point above the lowest ground point (OS ``RelHMax``)."""
        return self.abs_h_max_m - self.abs_h_min_m


def footprint_cells(footprint: shapely.Geometry, window: SurveyWindow) -> np.ndarray:
    """Cells of the window whose centre lies inside ``footprint`` (bool)."""
    return rasterize(
        [footprint],
        out_shape=window.shape,
        transform=window.transform,
        fill=0,
        default_value=1,
        dtype="uint8",
    ).astype(bool)


def building_heights(footprint: shapely.Geometry, window: SurveyWindow) -> BuildingHeights:
    """The OS height attributes of ``footprint`` (projected metres) from the window's DSM and DTM."""
    nan = float("nan")
    if window.dsm_m.size == 0:  # the footprint lies off the survey
        return BuildingHeights(nan, nan, nan, 0, 0.0)
    inside = footprint_cells(footprint, window)
    cells = int(inside.sum())
    if cells == 0:
        return BuildingHeights(nan, nan, nan, 0, 0.0)
    dsm = np.asarray(window.dsm_m, dtype=np.float64)
    dtm = np.asarray(window.dtm_m, dtype=np.float64)
    valid = inside & np.isfinite(dsm) & np.isfinite(dtm)
    share = float(valid.sum() / cells)
    if not valid.any():
        return BuildingHeights(nan, nan, nan, cells, 0.0)
    smooth = ndimage.median_filter(np.where(np.isfinite(dsm), dsm, -np.inf), size=3, mode="nearest")
    abs_h_min = float(dtm[valid].min())
    abs_h_max = float(smooth[valid].max())
    inner = ndimage.binary_erosion(inside, structure=np.ones((3, 3), dtype=bool)) & valid
    roof = dsm[inner] if inner.any() else dsm[valid]
    abs_h2 = float(np.percentile(roof, ROOF_BASE_PERCENTILE))
    return BuildingHeights(abs_h_min, abs_h2, abs_h_max, cells, share)


def height_confidence(heights: BuildingHeights, full_cells: int = 25) -> float:
    """Confidence in [0, 1]: the share of footprint cells with data, scaled down for footprints of fewer
    than ``full_cells`` cells (a 5 x 5 building at 1 m is the smallest measured with full confidence)."""
    if heights.cells == 0 or not np.isfinite(heights.rel_h_max_m):
        return 0.0
    return float(round(heights.valid_share * min(1.0, heights.cells / full_cells), 3))
