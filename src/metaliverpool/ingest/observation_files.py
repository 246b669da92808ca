"""The observation files a user writes: link counts, screenlines, journey-time routes, area speeds.

Formats (``docs/observations.md`` has an example of each; ``period`` is ``HH:MM-HH:MM``, ``use`` is
``calibration`` or ``validation``, flows are all motor vehicles per hour averaged over the period):

- counts CSV, by way: ``site_id,osm_way_id,direction,flow_vph,period,use[,name]`` (``direction``
  ``forward`` = the way's drawing order, or ``backward``); by point:
  ``site_id,lon,lat,bearing_deg,flow_vph,period,use[,name]``.
- screenlines CSV, one row per crossing, the screenline's fields repeated on each of its rows:
  ``screenline_id,name,flow_vph,period,use`` and either ``osm_way_id,direction`` or
  ``lon,lat,bearing_deg`` (both column sets may be present; a row fills one of them).
- journey-time routes GeoJSON: a FeatureCollection of LineString features in travel order with properties
  ``route_id``, ``name``, ``time_s``, ``period``, ``use``.
- area speeds CSV: ``area_id,name,lon,lat,radius_m,speed_kmh,period,use``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metaliverpool.errors import InputError
from metaliverpool.ingest import observation_rows as rows
from metaliverpool.observed.model import (
    AreaSpeed,
    JourneyTimeRoute,
    LinkCount,
    LinkRef,
    Period,
    Screenline,
    Use,
)

MPS_PER_KMH = 1000.0 / 3600.0
COUNT_BY_WAY = ("site_id", "osm_way_id", "direction", "flow_vph", "period", "use")
COUNT_BY_POINT = ("site_id", "lon", "lat", "bearing_deg", "flow_vph", "period", "use")
SCREENLINE = ("screenline_id", "name", "flow_vph", "period", "use")
SCREENLINE_CROSSING = ("osm_way_id", "direction", "lon", "lat", "bearing_deg")
AREA_SPEED = ("area_id", "name", "lon", "lat", "radius_m", "speed_kmh", "period", "use")
AREA_SPEED_CONDITIONS = ("period", "free_flow")


def _link_ref(path: Path, line: int, row: dict[str, str]) -> LinkRef:
    """A crossing by way and direction or by point and bearing, whichever the row fills."""
    if row.get("osm_way_id"):
        way = rows.integer(path, line, row, "osm_way_id")
        direction = row.get("direction", "")
        if direction == "forward":
            return LinkRef(osm_way_id=way, direction="forward")
        if direction == "backward":
            return LinkRef(osm_way_id=way, direction="backward")
        raise InputError(
            path,
            f"expected a direction forward or backward, found {direction!r}",
            where=f"line {line}, field 'direction'",
        )
    if row.get("lon") or row.get("lat"):
        lon, lat = rows.lon_lat(path, line, row)
        return LinkRef(lon=lon, lat=lat, bearing_deg=rows.bearing(path, line, row))
    raise InputError(
        path, "expected osm_way_id and direction, or lon, lat and bearing_deg", where=f"line {line}"
    )


def read_counts(path: Path, header: list[str]) -> list[LinkCount]:
    """Link counts from a counts CSV (by way or by point, as its header says)."""
    required = COUNT_BY_WAY if "osm_way_id" in header else COUNT_BY_POINT
    out = []
    for line, row in rows.csv_rows(path, required, ("name",)):
        out.append(
            LinkCount(
                site_id=rows.text(path, line, row, "site_id"),
                where=_link_ref(path, line, row),
                flow_vph=rows.number(path, line, row, "flow_vph", minimum=0.0),
                period=rows.period(path, line, row),
                use=rows.use(path, line, row),
                source=f"{path.name}:{line}",
                name=row.get("name", ""),
            )
        )
    return out


@dataclass
class _Line:
    name: str
    flow_vph: float
    period: Period
    use: Use
    line: int
    crossings: list[LinkRef]


def read_screenlines(path: Path) -> list[Screenline]:
    """Screenlines and cordons: rows of one ``screenline_id`` are its crossings, with one total."""
    lines: dict[str, _Line] = {}
    for line, row in rows.csv_rows(path, SCREENLINE, SCREENLINE_CROSSING):
        key = rows.text(path, line, row, "screenline_id")
        fields = (
            row.get("name", ""),
            rows.number(path, line, row, "flow_vph", minimum=0.0),
            rows.period(path, line, row),
            rows.use(path, line, row),
        )
        entry = lines.setdefault(key, _Line(*fields, line=line, crossings=[]))
        if fields != (entry.name, entry.flow_vph, entry.period, entry.use):
            raise InputError(
                path,
                f"screenline {key!r} has a different name, flow_vph, period or use than on line {entry.line}",
                where=f"line {line}",
            )
        entry.crossings.append(_link_ref(path, line, row))
    return [
        Screenline(key, e.name, tuple(e.crossings), e.flow_vph, e.period, e.use, f"{path.name}:{e.line}")
        for key, e in lines.items()
    ]


def read_area_speeds(path: Path) -> list[AreaSpeed]:
    """Observed mean speeds over circular areas (optional ``condition``: ``period``, the default, or
    ``free_flow``, the speed without congestion)."""
    out = []
    for line, row in rows.csv_rows(path, AREA_SPEED, ("condition",)):
        lon, lat = rows.lon_lat(path, line, row)
        condition = row.get("condition") or "period"
        if condition not in AREA_SPEED_CONDITIONS:
            expected = " or ".join(AREA_SPEED_CONDITIONS)
            raise InputError(
                path, f"expected {expected}, found {condition!r}", f"line {line}, field 'condition'"
            )
        out.append(
            AreaSpeed(
                area_id=rows.text(path, line, row, "area_id"),
                name=row["name"],
                centre_lon=lon,
                centre_lat=lat,
                radius_m=rows.number(path, line, row, "radius_m", positive=True),
                speed_mps=rows.number(path, line, row, "speed_kmh", positive=True) * MPS_PER_KMH,
                period=rows.period(path, line, row),
                use=rows.use(path, line, row),
                source=f"{path.name}:{line}",
                free_flow=condition == "free_flow",
            )
        )
    return out


def _property(path: Path, where: str, properties: dict[str, Any], name: str) -> Any:
    if name not in properties:
        raise InputError(path, f"missing property {name!r}", where=where)
    return properties[name]


def read_routes(path: Path) -> list[JourneyTimeRoute]:
    """Journey-time routes from a GeoJSON FeatureCollection of LineStrings."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(path, f"not JSON: {error.msg}", where=f"line {error.lineno}") from None
    features = document.get("features") if isinstance(document, dict) else None
    if document.get("type") != "FeatureCollection" or not isinstance(features, list) or not features:
        raise InputError(path, "expected a GeoJSON FeatureCollection with at least one feature")
    out = []
    for number, feature in enumerate(features, start=1):
        where = f"feature {number}"
        geometry = feature.get("geometry") or {}
        properties = feature.get("properties") or {}
        coordinates = geometry.get("coordinates") if geometry.get("type") == "LineString" else None
        if not isinstance(coordinates, list) or len(coordinates) < 2:
            raise InputError(
                path, "expected a LineString of at least 2 points in travel order", where=f"{where}, geometry"
            )
        try:
            points = tuple((float(p[0]), float(p[1])) for p in coordinates)
        except (TypeError, ValueError, IndexError):
            raise InputError(path, "expected [lon, lat] pairs", where=f"{where}, geometry") from None
        time_s = _property(path, where, properties, "time_s")
        if isinstance(time_s, bool) or not isinstance(time_s, int | float) or not time_s > 0:
            raise InputError(
                path, f"expected a number > 0, found {time_s!r}", where=f"{where}, property 'time_s'"
            )
        out.append(
            JourneyTimeRoute(
                route_id=str(_property(path, where, properties, "route_id")),
                name=str(properties.get("name", "")),
                points=points,
                time_s=float(time_s),
                period=rows.parse_period(
                    path, f"{where}, property 'period'", str(_property(path, where, properties, "period"))
                ),
                use=rows.parse_use(
                    path, f"{where}, property 'use'", str(_property(path, where, properties, "use"))
                ),
                source=f"{path.name}:{where}",
            )
        )
    return out
