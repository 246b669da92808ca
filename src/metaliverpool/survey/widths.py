"""Carriageway width along a road link, and the lane check.

Cross-sections of the surface model are sampled every ``station_spacing_m`` along the link's centre line
(projected metres), perpendicular to it, every ``profile_step_m`` out to ``max_half_width_m`` each side
(bilinear between cell centres). Each section is taken relative to its own height at the centre line
(so the link may climb), and the sections are combined by their median offset by offset (parked cars,
junction mouths and overhanging trees are a minority of sections). On the median section a straight line
(the cross-fall) is fitted to the carriageway, growing outwards from +/- 1 m: the carriageway ends on
each side where the section first rises above that line by more than ``kerb_m``. The edge itself is
where the section crosses half the height of the step it climbs there (the kerb, or a wall, one cell
further out), which puts it at the step on an area-averaged grid whatever the step's height.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import shapely

from metaliverpool.survey.config import SurveyConfig
from metaliverpool.survey.grid import SurveyWindow

INNER_HALF_WIDTH_M = 1.0
"""Half-width of the part of each section first taken as carriageway."""

TALL_STEP_M = 0.5
"""A step higher than this one cell past its first rise is a wall (or parked vehicle), not a kerb: its
height is read two cells past the rise."""

LANE_CHECK_VALUES = ("ok", "narrow", "wide", "unmeasured")
"""``lane_check`` values: measured width within lanes x [min, max] lane width, below, above, or no
width measured."""


@dataclass(frozen=True)
class WidthResult:
    """A link's measured carriageway width (metres, NaN if not measured), the sections used, and the
    distances from the centre line to the kerb (or wall) on its left and right (metres, NaN if not
    measured; left and right as the line runs)."""

    width_m: float
    stations: int
    left_m: float = float("nan")
    right_m: float = float("nan")


def stations_along(line: shapely.LineString, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``spacing_m`` along ``line`` (ends excluded) and the unit normals there.

    Returns ``(points, normals)``, each an (n, 2) array in the line's metres."""
    length = line.length
    count = int(length // spacing_m)
    if count < 1:
        return np.empty((0, 2)), np.empty((0, 2))
    along = (np.arange(count) + 0.5) * (length / count)
    points = shapely.get_coordinates(shapely.line_interpolate_point(line, along))
    ahead = shapely.get_coordinates(shapely.line_interpolate_point(line, np.minimum(along + 0.5, length)))
    behind = shapely.get_coordinates(shapely.line_interpolate_point(line, np.maximum(along - 0.5, 0.0)))
    tangent = ahead - behind
    norm = np.hypot(tangent[:, 0], tangent[:, 1])
    keep = norm > 0
    tangent = tangent[keep] / norm[keep, None]
    return points[keep], np.column_stack([-tangent[:, 1], tangent[:, 0]])


def median_section(
    window: SurveyWindow, line: shapely.LineString, config: SurveyConfig
) -> tuple[np.ndarray, np.ndarray, int]:
    """Offsets (m, negative left), the median section relative to the centre line, and stations used."""
    points, normals = stations_along(line, config.station_spacing_m)
    offsets = np.arange(-config.max_half_width_m, config.max_half_width_m + 1e-9, config.profile_step_m)
    if len(points) == 0:
        return offsets, np.full(offsets.shape, np.nan), 0
    x = points[:, 0, None] + normals[:, 0, None] * offsets[None, :]
    y = points[:, 1, None] + normals[:, 1, None] * offsets[None, :]
    sections = window.sample_bilinear(x, y)
    centre = np.abs(offsets) <= INNER_HALF_WIDTH_M
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # sections off the survey are all NaN
        base = np.nanmedian(np.where(centre[None, :], sections, np.nan), axis=1)
    usable = np.isfinite(base)
    if not usable.any():
        return offsets, np.full(offsets.shape, np.nan), 0
    relative = sections[usable] - base[usable, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # offsets off the survey in every section
        section = np.nanmedian(relative, axis=0)
    return offsets, section, int(usable.sum())


def _edge_m(
    offsets: np.ndarray, residual: np.ndarray, side: int, config: SurveyConfig, cell_m: float
) -> float:
    """Distance from the centre line to the carriageway edge on one side (+1 right, -1 left), or NaN."""
    order = np.flatnonzero(offsets >= 0) if side > 0 else np.flatnonzero(offsets <= 0)[::-1]
    distance = np.abs(offsets[order])
    values = residual[order]
    rise = np.flatnonzero((distance > INNER_HALF_WIDTH_M) & (values > config.kerb_m))
    missing = np.flatnonzero(~np.isfinite(values))
    if len(rise) == 0 or (len(missing) and missing[0] < rise[0]):
        return float("nan")
    first = int(rise[0])
    samples_per_cell = round(cell_m / config.profile_step_m)
    height = float(np.nanmax(values[first : first + samples_per_cell + 1]))
    if height > TALL_STEP_M:  # a wall: its ramp starts at ``first`` and spans two cells
        height = float(np.nanmax(values[first : first + 2 * samples_per_cell + 1]))
    half = 0.5 * height
    search = max(first - samples_per_cell, 0)
    j = search + int(np.flatnonzero(values[search:] >= half)[0])
    i = max(j - 1, 0)
    if i == j or values[j] == values[i]:
        return float(distance[j])
    fraction = (half - values[i]) / (values[j] - values[i])
    return float(distance[i] + fraction * (distance[j] - distance[i]))


def carriageway_width(window: SurveyWindow, line: shapely.LineString, config: SurveyConfig) -> WidthResult:
    """The carriageway width of the road whose centre line is ``line`` (projected metres)."""
    offsets, section, stations = median_section(window, line, config)
    if stations == 0:
        return WidthResult(float("nan"), 0)
    inside = np.abs(offsets) <= INNER_HALF_WIDTH_M
    width = float("nan")
    for _ in range(3):
        fit = inside & np.isfinite(section)
        if fit.sum() < 2:
            return WidthResult(float("nan"), stations)
        slope, intercept = np.polyfit(offsets[fit], section[fit], 1)
        residual = section - (intercept + slope * offsets)
        right = _edge_m(offsets, residual, -1, config, window.cell_m)  # offsets grow to the left
        left = _edge_m(offsets, residual, +1, config, window.cell_m)
        if not (np.isfinite(left) and np.isfinite(right)):
            return WidthResult(float("nan"), stations)
        width = left + right
        inside = (offsets > -right + 0.5) & (offsets < left - 0.5)
    return WidthResult(width, stations, left, right)


def lane_check(width_m: float, lanes: int, config: SurveyConfig) -> str:
    """``ok`` if ``width_m`` is within ``lanes`` x [min, max] lane width, else ``narrow``/``wide``;
    ``unmeasured`` when the width is NaN (one of :data:`LANE_CHECK_VALUES`)."""
    if not np.isfinite(width_m) or lanes < 1:
        return "unmeasured"
    if width_m < lanes * config.lane_width_min_m:
        return "narrow"
    if width_m > lanes * config.lane_width_max_m:
        return "wide"
    return "ok"
