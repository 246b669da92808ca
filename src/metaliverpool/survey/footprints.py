"""Building footprints from the normalised surface model (nDSM = DSM - DTM).

1. Above ground: nDSM > ``min_height_m``.
2. Vegetation out: a cell is rough when a second difference across it (three interior above-ground
   cells in a row or a column; interior: the whole 3 x 3 neighbourhood is above ground, so that cells
   on a wall, which mix roof and ground, do not count) exceeds ``roughness_m``; an above-ground cell is
   vegetation when more than ``rough_share`` of the interior cells in the ``window_cells`` square
   around it are rough. Roof planes have zero second differences (a ridge is one line of rough cells),
   canopies have many. With an orthophoto, green cells (:func:`green_cells`) are vegetation too. With
   a classified cloud, the cells the cloud calls buildings (LAS class 6) replace both tests.
3. A 3 x 3 opening removes single-cell outliers and thin joins (a tree touching a wall).
4. Outlines: :func:`rasterio.features.shapes` of the core of each tile; pieces that touch a tile edge are
   merged with their neighbours' by :func:`merge_pieces`, then simplified and regularised.
"""

from __future__ import annotations

import numpy as np
import shapely
from rasterio.features import shapes
from scipy import ndimage

from metaliverpool.survey.config import SurveyConfig
from metaliverpool.survey.grid import SurveyWindow


def normalised_surface_m(window: SurveyWindow) -> np.ndarray:
    """nDSM = DSM - DTM (metres), NaN where either is missing."""
    return np.asarray(window.dsm_m, dtype=np.float64) - np.asarray(window.dtm_m, dtype=np.float64)


def rough_cells(surface_m: np.ndarray, above: np.ndarray, roughness_m: float) -> np.ndarray:
    """Cells where a row- or column-wise second difference over three above-ground cells exceeds
    ``roughness_m`` (bool, same shape)."""
    rough = np.zeros(surface_m.shape, dtype=bool)
    z = np.where(above, surface_m, 0.0)
    d2x = np.abs(z[:, :-2] - 2 * z[:, 1:-1] + z[:, 2:])
    valid_x = above[:, :-2] & above[:, 1:-1] & above[:, 2:]
    rough[:, 1:-1] |= valid_x & (d2x > roughness_m)
    d2y = np.abs(z[:-2, :] - 2 * z[1:-1, :] + z[2:, :])
    valid_y = above[:-2, :] & above[1:-1, :] & above[2:, :]
    rough[1:-1, :] |= valid_y & (d2y > roughness_m)
    return rough


def building_mask(window: SurveyWindow, config: SurveyConfig) -> np.ndarray:
    """Cells of the window that belong to buildings (bool), by the steps of the module docstring."""
    ndsm = normalised_surface_m(window)
    above = np.nan_to_num(ndsm, nan=-np.inf) > config.min_height_m
    if window.building_cells is not None:
        candidate = above & window.building_cells
    else:
        interior = ndimage.binary_erosion(above, structure=np.ones((3, 3), dtype=bool))
        rough = rough_cells(window.dsm_m, interior, config.roughness_m)
        size = config.window_cells
        rough_count = ndimage.uniform_filter(rough.astype(np.float64), size=size, mode="constant")
        above_count = ndimage.uniform_filter(interior.astype(np.float64), size=size, mode="constant")
        share = np.divide(rough_count, above_count, out=np.zeros_like(rough_count), where=above_count > 0)
        candidate = above & (share <= config.rough_share)
        if window.vegetation_cells is not None:
            candidate &= ~window.vegetation_cells
    return ndimage.binary_opening(candidate, structure=np.ones((3, 3), dtype=bool))


def green_cells(red: np.ndarray, green: np.ndarray, blue: np.ndarray, threshold: float) -> np.ndarray:
    """Cells whose colour is green: the chromatic excess-green index (2g - r - b) / (r + g + b)
    (Woebbecke et al. 1995) above ``threshold``; bands in any common unit, black cells are not green."""
    r, g, b = (np.asarray(band, dtype=np.float64) for band in (red, green, blue))
    total = r + g + b
    index = np.divide(2 * g - r - b, total, out=np.zeros_like(total), where=total > 0)
    return index > threshold


def pieces_from_mask(mask: np.ndarray, window: SurveyWindow) -> list[shapely.Polygon]:
    """Pixel-exact outlines (projected metres) of the connected building cells in the window's core."""
    rows, cols = window.core_slices()
    core = np.ascontiguousarray(mask[rows, cols]).astype(np.uint8)
    if not core.any():
        return []
    transform = window.transform @ window.transform.translation(cols.start, rows.start)
    return [
        shapely.geometry.shape(geometry)
        for geometry, value in shapes(core, mask=core.astype(bool), connectivity=4, transform=transform)
        if value == 1
    ]


def touches_edge(piece: shapely.Geometry, box: shapely.Polygon) -> bool:
    """Whether ``piece`` reaches the boundary of its tile core ``box``."""
    return bool(piece.intersects(box.exterior))


def merge_pieces(inner: list[shapely.Polygon], edge: list[shapely.Polygon]) -> list[shapely.Polygon]:
    """Whole outlines: the pieces inside their tile as they are, and the union of the pieces that reach
    a tile edge (neighbouring tiles cut them along shared pixel edges, so the union rejoins them)."""
    merged = shapely.union_all(edge) if edge else shapely.Polygon()
    joined = [part for part in shapely.get_parts(merged) if isinstance(part, shapely.Polygon)]
    return list(inner) + joined


def regularise(outline: shapely.Polygon, config: SurveyConfig) -> shapely.Polygon:
    """Simplified outline; a nearly rectangular one becomes a rectangle of its minimum rotated
    rectangle's orientation with the outline's own area (pixel areas are unbiased, pixel corners are not)."""
    area_m2 = outline.area
    rectangle = shapely.minimum_rotated_rectangle(outline)
    if rectangle.area > 0 and area_m2 / rectangle.area >= config.rectangularity:
        scale = float(np.sqrt(area_m2 / rectangle.area))
        return shapely.affinity.scale(rectangle, scale, scale, origin=rectangle.centroid)
    simple = outline.simplify(config.simplify_m, preserve_topology=True)
    return simple if simple.is_valid and not simple.is_empty else outline


def footprints_from_pieces(
    inner: list[shapely.Polygon], edge: list[shapely.Polygon], config: SurveyConfig
) -> list[shapely.Polygon]:
    """Whole outlines from tile pieces (:func:`merge_pieces`): holes of under ``min_area_m2`` filled,
    small outlines dropped, regularised; sorted west to east, then south to north."""
    outlines = []
    for outline in merge_pieces(inner, edge):
        holes = [ring for ring in outline.interiors if shapely.Polygon(ring).area >= config.min_area_m2]
        whole = shapely.Polygon(outline.exterior, holes)
        if whole.area >= config.min_area_m2:
            outlines.append(regularise(whole, config))
    outlines.sort(key=lambda p: (round(p.centroid.x, 3), round(p.centroid.y, 3)))
    return outlines
