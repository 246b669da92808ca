"""Small hand-made twins (``Twin`` objects) with known answers, shared by the test folders.

:func:`make_twin` builds every table of the twin format from plain lists; the scenario, web and
assignment tests describe their networks with it.

Coordinates are around Liverpool Town Hall (lon -2.99, lat 53.405); 0.001 degree of longitude there is
about 66 m and of latitude about 111 m.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from metaliverpool.edits.schema import MPS_PER_MPH
from metaliverpool.network.twin import Twin

LON0 = -2.99
LAT0 = 53.405


@dataclass(frozen=True)
class LinkSpec:
    """One directed link: from/to node numbers, its OSM way, class, lanes, limit (mph), capacity.

    ``speed_limit_mps`` (when given) replaces the limit in mph; ``free_speed_mps`` defaults to the limit;
    ``name`` defaults to ``way <osm_way_id>``.
    """

    from_node: int
    to_node: int
    osm_way_id: int
    highway: str = "residential"
    lanes: int = 1
    speed_limit_mph: float = 30.0
    capacity_vph: float = 900.0
    length_m: float | None = None
    speed_limit_mps: float | None = None
    free_speed_mps: float | None = None
    name: str | None = None
    oneway: bool = False
    access: str = "all"


def make_twin(
    node_lonlat: Sequence[tuple[float, float]],
    links: Sequence[LinkSpec],
    zones: Sequence[tuple[str, int, int, int]] = (),
    trips: Sequence[tuple[int, int, int]] = (),
    *,
    signal_nodes: Sequence[int] = (),
    departure_window_s: float = 3600.0,
    osm_node_id_base: int = 1000,
    region: str = "test",
) -> Twin:
    """A twin from plain lists.

    ``zones``: (LSOA code, node, population, IMD decile). ``trips``: (origin zone, destination zone,
    count), spread evenly over ``departure_window_s``. ``signal_nodes`` form one signalised junction each.
    Node ``n`` is OSM node ``osm_node_id_base + n``; ``region`` goes into the manifest.
    Link lengths default to the geodesic-ish distance between the two nodes (equirectangular).
    """
    node_count = len(node_lonlat)
    lon = np.array([p[0] for p in node_lonlat], dtype=np.float64)
    lat = np.array([p[1] for p in node_lonlat], dtype=np.float64)
    junction_of = {node: j for j, node in enumerate(signal_nodes)}
    nodes = pd.DataFrame(
        {
            "node_id": np.arange(node_count, dtype=np.int32),
            "osm_node_id": np.arange(node_count, dtype=np.int64) + osm_node_id_base,
            "lon": lon,
            "lat": lat,
            "kind": "junction",
            "junction_id": np.array([junction_of.get(n, -1) for n in range(node_count)], dtype=np.int32),
            "geometry": [shapely.Point(x, y) for x, y in zip(lon, lat, strict=True)],
        }
    )
    rows = []
    for number, spec in enumerate(links):
        a, b = spec.from_node, spec.to_node
        dx = (lon[b] - lon[a]) * 111_320.0 * np.cos(np.radians(LAT0))
        dy = (lat[b] - lat[a]) * 110_540.0
        length = spec.length_m if spec.length_m is not None else float(np.hypot(dx, dy))
        limit = (
            spec.speed_limit_mps if spec.speed_limit_mps is not None else spec.speed_limit_mph * MPS_PER_MPH
        )
        rows.append(
            {
                "link_id": number,
                "from_node_id": a,
                "to_node_id": b,
                "osm_way_id": spec.osm_way_id,
                "length_m": length,
                "lanes": spec.lanes,
                "speed_limit_mps": limit,
                "free_speed_mps": spec.free_speed_mps if spec.free_speed_mps is not None else limit,
                "capacity_vph": spec.capacity_vph,
                "highway": spec.highway,
                "name": spec.name if spec.name is not None else f"way {spec.osm_way_id}",
                "ref": "",
                "oneway": spec.oneway,
                "roundabout": False,
                "bridge": False,
                "tunnel": False,
                "toll_gbp": 0.0,
                "access": spec.access,
                "geometry": shapely.LineString([(lon[a], lat[a]), (lon[b], lat[b])]),
            }
        )
    link_table = pd.DataFrame(rows).astype(
        {"link_id": np.int32, "from_node_id": np.int32, "to_node_id": np.int32}
    )
    link_table["osm_way_id"] = link_table["osm_way_id"].astype(np.int64)
    zone_table = pd.DataFrame(
        {
            "zone_id": np.arange(len(zones), dtype=np.int32),
            "zone_code": [z[0] for z in zones],
            "kind": "lsoa",
            "msoa_code": "E02000001",
            "lad_code": "E08000012",
            "population": np.array([z[2] for z in zones], dtype=np.int64),
            "imd_decile": np.array([z[3] for z in zones], dtype=np.int32),
            "node_id": np.array([z[1] for z in zones], dtype=np.int32),
            "geometry": [shapely.Point(lon[z[1]], lat[z[1]]).buffer(0.0005) for z in zones],
        }
    )
    trip_rows = []
    for origin, destination, count in trips:
        for k in range(count):
            trip_rows.append(
                (origin, destination, zones[origin][1], zones[destination][1], departure_window_s * k / count)
            )
    trip_table = pd.DataFrame(
        trip_rows,
        columns=[
            "origin_zone_id",
            "destination_zone_id",
            "origin_node_id",
            "destination_node_id",
            "departure_time_s",
        ],
    ).sort_values("departure_time_s", kind="stable")
    trip_table.insert(0, "trip_id", np.arange(len(trip_table), dtype=np.int32))
    trip_table["mode"] = "car"
    trip_table = trip_table.reset_index(drop=True).astype(
        {
            "origin_zone_id": np.int32,
            "destination_zone_id": np.int32,
            "origin_node_id": np.int32,
            "destination_node_id": np.int32,
            "departure_time_s": np.float64,
        }
    )
    junctions = pd.DataFrame(
        {
            "junction_id": np.arange(len(signal_nodes), dtype=np.int32),
            "control": "signals",
            "node_ids": [[n] for n in signal_nodes],
            "osm_node_ids": [[n + osm_node_id_base] for n in signal_nodes],
            "lon": [lon[n] for n in signal_nodes],
            "lat": [lat[n] for n in signal_nodes],
            "geometry": [shapely.Point(lon[n], lat[n]) for n in signal_nodes],
        }
    )
    twin = Twin(
        nodes=nodes, links=link_table, zones=zone_table, trips=trip_table, manifest={"region": region}
    )
    twin.junctions = junctions if len(signal_nodes) else twin.junctions
    return twin


def two_way(from_node: int, to_node: int, osm_way_id: int, **kwargs: object) -> list[LinkSpec]:
    """Both directions of one street."""
    return [
        LinkSpec(from_node, to_node, osm_way_id, **kwargs),  # type: ignore[arg-type]
        LinkSpec(to_node, from_node, osm_way_id, **kwargs),  # type: ignore[arg-type]
    ]


def two_route_twin(trips_per_hour: int = 1200) -> Twin:
    """Zone A (node 0) to zone B (node 1) by a fast road (way 100 via node 2, 40 mph, 2 lanes, 1.3 km)
    or a slow road (way 200 via node 3, 20 mph, 1 lane, about 1.6 km). All demand A -> B.

    Node 2 is a signalised junction (OSM node 1002).
    """
    points = [
        (LON0, LAT0),
        (LON0 + 0.018, LAT0),
        (LON0 + 0.009, LAT0 + 0.001),
        (LON0 + 0.009, LAT0 - 0.006),
    ]
    links = [
        *two_way(0, 2, 100, highway="primary", lanes=2, speed_limit_mph=40, capacity_vph=3600),
        *two_way(2, 1, 100, highway="primary", lanes=2, speed_limit_mph=40, capacity_vph=3600),
        *two_way(0, 3, 200, highway="residential", lanes=1, speed_limit_mph=20, capacity_vph=900),
        *two_way(3, 1, 200, highway="residential", lanes=1, speed_limit_mph=20, capacity_vph=900),
    ]
    zones = [("E01000001", 0, 1500, 1), ("E01000002", 1, 1600, 9)]
    return make_twin(points, links, zones, [(0, 1, trips_per_hour)], signal_nodes=[2])


def grid_twin(
    size: int = 5,
    spacing_deg: float = 0.002,
    trips_per_pair: int = 60,
    departure_window_s: float = 3600.0,
    signal_nodes: Sequence[int] = (),
) -> Twin:
    """A ``size`` x ``size`` grid of two-way residential streets (each its own way, ids from 1) with a
    ring of primary roads on the outside (way ids from 10_000), four corner zones with ``trips_per_pair``
    trips between every two of them over ``departure_window_s``; ``signal_nodes`` signalised junctions.
    """
    points = [(LON0 + c * spacing_deg, LAT0 + r * spacing_deg) for r in range(size) for c in range(size)]
    links: list[LinkSpec] = []
    way = 1
    for r in range(size):
        for c in range(size):
            here = r * size + c
            for dr, dc in ((0, 1), (1, 0)):
                rr, cc = r + dr, c + dc
                if rr >= size or cc >= size:
                    continue
                there = rr * size + cc
                edge = (r in (0, size - 1) and dr == 0) or (c in (0, size - 1) and dc == 0)
                if edge:
                    links += two_way(here, there, 10_000 + way, highway="primary", lanes=2, capacity_vph=3000)
                else:
                    links += two_way(here, there, way)
                way += 1
    corners = [0, size - 1, size * (size - 1), size * size - 1]
    zones = [(f"E0100010{k}", node, 1000 + 100 * k, k * 3 + 1) for k, node in enumerate(corners)]
    trips = [(o, d, trips_per_pair) for o in range(4) for d in range(4) if o != d]
    return make_twin(
        points, links, zones, trips, departure_window_s=departure_window_s, signal_nodes=signal_nodes
    )
