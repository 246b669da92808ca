"""Interpret OSM way tags for the driving network: class, access, oneway, lanes, speed limit, toll.

Rules follow the OSM wiki pages for each key (``Key:highway``, ``Key:access``, ``Key:oneway``,
``Key:lanes``, ``Key:maxspeed``, ``Key:toll``). The class filter follows OSMnx's ``drive`` network
type: ``service`` ways tagged ``service=parking_aisle/driveway/parking/alley/emergency_access/private/
drive-through`` and ``area=yes`` are not drivable links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from metaliverpool.network.road_classes import KMH_TO_MPS, MPH_TO_MPS, RoadClass, road_class

EXCLUDED_SERVICE = frozenset(
    {"parking_aisle", "driveway", "parking", "alley", "emergency_access", "private", "drive-through"}
)
NO_ACCESS = frozenset({"no", "private", "agricultural", "forestry", "discouraged_no"})
YES = frozenset({"yes", "designated", "permissive", "destination", "delivery", "customers", "official"})
UK_NAMED_LIMITS_MPH = {
    "gb:nsl_single": 60.0,
    "gb:nsl_dual": 70.0,
    "gb:motorway": 70.0,
    "gb:nsl_restricted": 30.0,
    "gb:zone20": 20.0,
    "gb:zone30": 30.0,
}
_SPEED = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(mph|km/h|kmh|kph)?\s*$")


@dataclass(frozen=True)
class WayRoad:
    """How a drivable OSM way becomes directed links."""

    highway: str
    road: RoadClass
    access: str
    """``all`` or ``bus_only``."""
    direction: int
    """1 one-way forward, -1 one-way against the node order, 0 two-way."""
    lanes_forward: int
    lanes_backward: int
    lanes_source: str
    speed_limit_mps: float
    maxspeed_source: str
    toll: bool
    roundabout: bool
    bridge: bool
    tunnel: bool


def parse_maxspeed_mps(value: str | None) -> float | None:
    """``maxspeed`` in m/s (``30 mph``, ``50``, ``50 km/h``, ``GB:nsl_single``); ``None`` if not a number."""
    if not value:
        return None
    first = value.split(";")[0].strip().lower()
    if first in UK_NAMED_LIMITS_MPH:
        return UK_NAMED_LIMITS_MPH[first] * MPH_TO_MPS
    match = _SPEED.match(first)
    if match is None:
        return None
    number = float(match.group(1))
    if number <= 0:
        return None
    return number * (MPH_TO_MPS if match.group(2) == "mph" else KMH_TO_MPS)


def parse_lanes(value: str | None) -> int | None:
    """A positive lane count, or ``None`` (``2``, ``2;3`` takes the first, ``1.5`` rounds down)."""
    if not value:
        return None
    try:
        lanes = int(float(value.split(";")[0].strip()))
    except ValueError:
        return None
    return lanes if lanes > 0 else None


def parse_direction(tags: dict[str, str], highway: str) -> int:
    """1, -1 or 0 from ``oneway``, roundabouts (``junction=roundabout/circular``) and motorways."""
    oneway = tags.get("oneway", "").lower()
    if oneway in ("yes", "true", "1"):
        return 1
    if oneway in ("-1", "reverse"):
        return -1
    if oneway == "no":
        return 0
    if tags.get("junction") in ("roundabout", "circular") or highway in ("motorway", "motorway_link"):
        return 1
    return 0


def parse_access(tags: dict[str, str], highway: str) -> str | None:
    """``all``, ``bus_only``, or ``None`` when cars may not use the way."""
    bus = tags.get("bus", tags.get("psv", "")) in YES
    if highway == "busway":
        return "bus_only"
    for key in ("motorcar", "motor_vehicle", "vehicle", "access"):
        value = tags.get(key)
        if value is None:
            continue
        if value in NO_ACCESS:
            return "bus_only" if bus else None
        return "all"
    return "all"


def way_road(tags: dict[str, str]) -> WayRoad | None:
    """The driving attributes of a way, or ``None`` when it is not part of the driving network."""
    highway = tags.get("highway", "")
    road = road_class(highway)
    if road is None or tags.get("area") == "yes":
        return None
    if highway == "service" and tags.get("service") in EXCLUDED_SERVICE:
        return None
    access = parse_access(tags, highway)
    if access is None:
        return None
    direction = parse_direction(tags, highway)
    forward, backward, lanes_source = lanes_per_direction(tags, direction, road)
    limit = parse_maxspeed_mps(tags.get("maxspeed"))
    return WayRoad(
        highway=highway,
        road=road,
        access=access,
        direction=direction,
        lanes_forward=forward,
        lanes_backward=backward,
        lanes_source=lanes_source,
        speed_limit_mps=limit if limit is not None else road.default_speed_limit_mps,
        maxspeed_source="tag" if limit is not None else "default",
        toll=tags.get("toll", "no") == "yes" or tags.get("toll:motorcar", "no") == "yes",
        roundabout=tags.get("junction") in ("roundabout", "circular"),
        bridge=tags.get("bridge", "no") != "no",
        tunnel=tags.get("tunnel", "no") not in ("no", "building_passage"),
    )


def lanes_per_direction(tags: dict[str, str], direction: int, road: RoadClass) -> tuple[int, int, str]:
    """(forward lanes, backward lanes, ``tag``/``default``) in the way's node order.

    One-way ways carry all ``lanes`` in their direction; two-way ways use ``lanes:forward`` and
    ``lanes:backward`` where tagged, else split ``lanes`` evenly (at least one each way, odd counts round
    down per direction), else the class default.
    """
    total = parse_lanes(tags.get("lanes"))
    if direction != 0:
        lanes = total if total is not None else road.lanes_oneway
        return (lanes, 0, "tag" if total is not None else "default")
    forward = parse_lanes(tags.get("lanes:forward"))
    backward = parse_lanes(tags.get("lanes:backward"))
    if forward is not None or backward is not None:
        rest = None if total is None else total - (forward or 0) - (backward or 0)
        if forward is None:
            forward = rest if rest and rest > 0 else road.lanes_twoway_per_direction
        if backward is None:
            backward = rest if rest and rest > 0 else road.lanes_twoway_per_direction
        return (forward, backward, "tag")
    if total is not None:
        half = max(1, total // 2)
        return (half, half, "tag")
    default = road.lanes_twoway_per_direction
    return (default, default, "default")
