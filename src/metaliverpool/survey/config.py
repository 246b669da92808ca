"""Parameters of the survey derivations (``docs/survey.md``), with units in their names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SurveyConfig:
    """Thresholds of building extraction, roughness test, width measurement and lane check.

    Attributes
    ----------
    min_height_m:
        A cell is above ground when the normalised surface (DSM - DTM) exceeds this.
    min_area_m2:
        Footprints smaller than this are dropped (sheds, cars, noise).
    roughness_m:
        A cell is rough when a second difference of the surface across it (along a row or a column,
        over three cells all above ground) exceeds this: tree canopies are rough, roof planes are not.
    rough_share:
        An above-ground cell is vegetation when more than this share of the above-ground cells in the
        ``window_cells`` square around it is rough.
    window_cells:
        Side of that square (odd), and the tile overlap needed for tile-edge independence.
    green_index:
        With an orthophoto, a cell is vegetation when its excess-green index (2g - r - b) / (r + g + b)
        exceeds this (grey roofs and roads are near 0, foliage 0.1-0.3).
    simplify_m:
        Douglas-Peucker tolerance of footprint outlines.
    rectangularity:
        A footprint whose area is at least this share of its minimum rotated rectangle becomes a
        rectangle of that orientation with the footprint's area (regularisation).
    kerb_m:
        A rise of the surface above the carriageway line by more than this ends the carriageway
        (a kerb is 0.10-0.15 m; buildings and walls rise more).
    station_spacing_m:
        Distance between cross-sections along a link.
    max_half_width_m:
        Longest distance searched either side of the centre line.
    profile_step_m:
        Sampling step along a cross-section.
    lane_width_min_m, lane_width_max_m:
        A carriageway narrower than lanes x min, or wider than lanes x max, fails the lane check.
    """

    min_height_m: float = 2.5
    min_area_m2: float = 20.0
    roughness_m: float = 0.5
    rough_share: float = 0.5
    window_cells: int = 5
    green_index: float = 0.08
    simplify_m: float = 0.5
    rectangularity: float = 0.85
    kerb_m: float = 0.06
    station_spacing_m: float = 2.0
    max_half_width_m: float = 15.0
    profile_step_m: float = 0.1
    lane_width_min_m: float = 2.5
    lane_width_max_m: float = 4.75
