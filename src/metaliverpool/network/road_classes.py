"""Defaults by OSM ``highway`` class: which classes are drivable, lanes, speed limit, capacity per lane.

Sources (also tabulated in ``docs/demand.md``):
- Capacity per lane (PCU/h/lane): the default highway table of MATSim's OSM network reader
  (``org.matsim.core.utils.io.OsmNetworkReader`` in matsim-libs: motorway/trunk 2000, their links and
  primary 1500, secondary 1000, tertiary/unclassified/residential 600, living street 300). Service roads
  take the living-street value. Urban junction delays are modelled by the engines, not by these values.
- Default speed limits: the UK national speed limits (Highway Code rule 124): 30 mph on roads with street
  lighting in built-up areas, 70 mph on motorways; 20 mph for living streets and 10 mph for service
  roads are this project's assumptions (no legal default exists for them).
- Default lanes per direction: OSM wiki ``Key:lanes`` (untagged two-way roads have one lane per direction;
  one-way carriageways of motorways and dual carriageways have two).
- Free-flow speed factor: free-flow speed = factor x speed limit. 1.0 for classified roads (DfT vehicle
  speed compliance statistics: free-flow car speeds on urban 30 mph roads are close to the limit); lower
  for residential/unclassified (0.85), service (0.5) and living streets (0.5): project assumptions.
"""

from __future__ import annotations

from dataclasses import dataclass

MPH_TO_MPS = 0.44704
"""Metres per second in one mile per hour (exact: 1609.344 m / 3600 s)."""

KMH_TO_MPS = 1.0 / 3.6


@dataclass(frozen=True)
class RoadClass:
    """Defaults of one OSM ``highway`` class."""

    capacity_per_lane_vph: float
    default_speed_limit_mps: float
    lanes_oneway: int
    lanes_twoway_per_direction: int
    free_speed_factor: float
    major: bool
    """Major roads get external cordon zones where they leave the study area."""


_URBAN = 30 * MPH_TO_MPS

ROAD_CLASSES: dict[str, RoadClass] = {
    "motorway": RoadClass(2000, 70 * MPH_TO_MPS, 2, 2, 1.0, True),
    "motorway_link": RoadClass(1500, 70 * MPH_TO_MPS, 1, 1, 1.0, True),
    "trunk": RoadClass(2000, _URBAN, 2, 1, 1.0, True),
    "trunk_link": RoadClass(1500, _URBAN, 1, 1, 1.0, True),
    "primary": RoadClass(1500, _URBAN, 2, 1, 1.0, True),
    "primary_link": RoadClass(1500, _URBAN, 1, 1, 1.0, True),
    "secondary": RoadClass(1000, _URBAN, 1, 1, 1.0, True),
    "secondary_link": RoadClass(1000, _URBAN, 1, 1, 1.0, True),
    "tertiary": RoadClass(600, _URBAN, 1, 1, 1.0, True),
    "tertiary_link": RoadClass(600, _URBAN, 1, 1, 1.0, True),
    "unclassified": RoadClass(600, _URBAN, 1, 1, 0.85, False),
    "residential": RoadClass(600, _URBAN, 1, 1, 0.85, False),
    "road": RoadClass(600, _URBAN, 1, 1, 0.85, False),
    "living_street": RoadClass(300, 20 * MPH_TO_MPS, 1, 1, 0.5, False),
    "service": RoadClass(300, 10 * MPH_TO_MPS, 1, 1, 0.5, False),
    "busway": RoadClass(1000, _URBAN, 1, 1, 1.0, False),
}
"""Drivable ``highway`` classes and their defaults."""

ACTIVE_HIGHWAYS: frozenset[str] = frozenset(
    {"footway", "cycleway", "pedestrian", "path", "steps", "bridleway", "track", "living_street"}
)
"""``highway`` classes kept in the active-travel layer (``living_street`` is in both layers)."""


def road_class(highway: str) -> RoadClass | None:
    """Defaults of ``highway``, or ``None`` when the class is not drivable."""
    return ROAD_CLASSES.get(highway)
