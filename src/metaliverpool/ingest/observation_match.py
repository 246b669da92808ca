"""Put the twin's ``link_id``s on observations: counts and screenline crossings to links, routes to paths.

Rules (``docs/observations.md``, "Matching"):

- **By OSM way and direction.** The twin's links keep ``osm_way_id`` and run in travel direction; a link
  is ``forward`` when its start node comes before its end node in the way's node order (its ``nodes.
  osm_node_id`` looked up in the OSM way: ``way_nodes``, else read from the OSM file the twin was built
  from, ``manifest.build_config.osm_path``). Of the way's links in that direction, the count stands for
  the one holding the middle of the way (by length).
- **By point and bearing.** The nearest car link within :data:`MATCH_TOLERANCE_M` whose direction at its
  nearest point is within :data:`BEARING_TOLERANCE_DEG` of the bearing: on a dual carriageway, the
  carriageway of that direction. ``both_directions`` (DfT's combined counts) takes the nearest link and
  the nearest one running the opposite way.
- **Routes** become the shortest path by free-flow time on the car network through the car-network
  nodes nearest each of their points, in order.

Every observation that finds nothing is listed in :attr:`ObservationSet.unmatched` with the reason.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from metaliverpool.network.geodesy import local_xy_m
from metaliverpool.network.twin import Twin
from metaliverpool.observed.model import JourneyTimeRoute, LinkRef, ObservationSet

MATCH_TOLERANCE_M = 50.0
"""Largest distance (m) from a counted point to the link it is matched to."""

BEARING_TOLERANCE_DEG = 45.0
"""Largest difference (degrees) between a count's bearing and its link's direction."""


def way_nodes_from_osm(twin: Twin) -> dict[int, tuple[int, ...]] | None:
    """Node order of the twin's ways from the OSM file it was built from (``None`` if not readable)."""
    from metaliverpool.ingest.osm_read import read_osm

    osm_path = twin.manifest.get("build_config", {}).get("osm_path")
    if not osm_path or not Path(osm_path).is_file():
        return None
    wanted = set(twin.links["osm_way_id"].astype(np.int64).tolist())
    return {w.osm_way_id: w.node_ids for w in read_osm(Path(osm_path)).ways if w.osm_way_id in wanted}


@dataclasses.dataclass(frozen=True)
class PointMatch:
    """A point and bearing matched to a link: ``link_id`` (``None`` if none fits, then ``reason``), the
    distance (m) from the point to the link and the difference (degrees) of bearing and link direction."""

    link_id: int | None
    distance_m: float | None
    bearing_difference_deg: float | None
    reason: str


def point_matcher(twin: Twin) -> _Matcher:
    """The twin's car links indexed for :meth:`_Matcher.nearest_heading` (built once, matched many)."""
    return _Matcher(twin, None)


def _angle_deg(a: float, b: float) -> float:
    """Smallest difference between two bearings (degrees, 0-180)."""
    return abs((a - b + 180.0) % 360.0 - 180.0)


class _Matcher:
    """The twin's car links in a local metric projection, with a spatial index."""

    def __init__(self, twin: Twin, way_nodes: Mapping[int, Sequence[int]] | None) -> None:
        links = twin.links
        car = (
            (links["access"] == "all").to_numpy() if "access" in links.columns else np.ones(len(links), bool)
        )
        self.links = links[car].reset_index(drop=True)
        nodes = twin.nodes.set_index("node_id")
        self.lat0 = float(nodes["lat"].mean())
        self.link_ids = self.links["link_id"].to_numpy(dtype=np.int64)
        self.node_osm = dict(
            zip(
                nodes.index.to_numpy(dtype=np.int64).tolist(),
                nodes["osm_node_id"].astype(np.int64).tolist(),
                strict=True,
            )
        )
        self.node_xy = pd.DataFrame(
            local_xy_m(nodes["lon"], nodes["lat"], self.lat0), index=nodes.index, columns=["x", "y"]
        )
        geometries = []
        for row, geometry in enumerate(self.links["geometry"]):
            if isinstance(geometry, shapely.LineString) and not geometry.is_empty:
                coords = np.asarray(geometry.coords)
            else:
                ends = self.links.loc[row, ["from_node_id", "to_node_id"]].to_numpy()
                coords = np.array([nodes.loc[e, ["lon", "lat"]].to_numpy(dtype=float) for e in ends])
            geometries.append(shapely.LineString(local_xy_m(coords[:, 0], coords[:, 1], self.lat0)))
        self.geometries = np.asarray(geometries, dtype=object)
        self.tree = shapely.STRtree(self.geometries)
        self.way_nodes = way_nodes

    def _bearing_at(self, row: int, point: shapely.Point) -> float:
        line = self.geometries[row]
        along = line.project(point)
        a = line.interpolate(max(along - 1.0, 0.0))
        b = line.interpolate(min(along + 1.0, line.length))
        return math.degrees(math.atan2(b.x - a.x, b.y - a.y)) % 360.0

    def by_point(self, ref: LinkRef) -> tuple[tuple[int, ...], str]:
        assert ref.lon is not None and ref.lat is not None
        x, y = local_xy_m([ref.lon], [ref.lat], self.lat0)[0]
        point = shapely.Point(x, y)
        near = self.tree.query(point, predicate="dwithin", distance=MATCH_TOLERANCE_M)
        if len(near) == 0:
            return (), f"no car link within {MATCH_TOLERANCE_M:.0f} m of ({ref.lon:.5f}, {ref.lat:.5f})"
        distance = shapely.distance(self.geometries[near], point)
        order = near[np.argsort(distance, kind="stable")]
        if ref.both_directions:
            first = int(order[0])
            heading = self._bearing_at(first, point)
            opposite = [
                int(r)
                for r in order[1:]
                if _angle_deg(self._bearing_at(int(r), point), heading + 180.0) <= BEARING_TOLERANCE_DEG
            ]
            chosen = [first, *opposite[:1]]
            if len(chosen) < 2:
                return (
                    (),
                    f"one direction only of the road within {MATCH_TOLERANCE_M:.0f} m of "
                    f"({ref.lon:.5f}, {ref.lat:.5f})",
                )
            return tuple(int(self.link_ids[r]) for r in chosen), ""
        assert ref.bearing_deg is not None
        found = self.nearest_heading(ref.lon, ref.lat, ref.bearing_deg)
        return ((found.link_id,), "") if found.link_id is not None else ((), found.reason)

    def nearest_heading(self, lon: float, lat: float, bearing_deg: float | None) -> PointMatch:
        """The nearest car link within :data:`MATCH_TOLERANCE_M` of the point running within
        :data:`BEARING_TOLERANCE_DEG` of ``bearing_deg`` (the nearest link at all when the bearing is
        ``None``), with its distance and bearing difference; else the reason."""
        x, y = local_xy_m([lon], [lat], self.lat0)[0]
        point = shapely.Point(x, y)
        near = self.tree.query(point, predicate="dwithin", distance=MATCH_TOLERANCE_M)
        distance = shapely.distance(self.geometries[near], point)
        for k in np.argsort(distance, kind="stable"):
            row = int(near[k])
            if bearing_deg is None:
                return PointMatch(int(self.link_ids[row]), float(distance[k]), None, "")
            difference = _angle_deg(self._bearing_at(row, point), bearing_deg)
            if difference <= BEARING_TOLERANCE_DEG:
                return PointMatch(int(self.link_ids[row]), float(distance[k]), difference, "")
        heading = (
            ""
            if bearing_deg is None
            else f" heading within {BEARING_TOLERANCE_DEG:.0f} degrees of {bearing_deg:.0f}"
        )
        return PointMatch(
            None,
            None,
            None,
            f"no car link within {MATCH_TOLERANCE_M:.0f} m of ({lon:.5f}, {lat:.5f}){heading}",
        )

    def by_way(self, ref: LinkRef) -> tuple[tuple[int, ...], str]:
        way = int(ref.osm_way_id or 0)
        on_way = self.links[self.links["osm_way_id"].to_numpy() == way]
        if on_way.empty:
            return (), f"OSM way {ref.osm_way_id} has no car link in the twin"
        if self.way_nodes is None or way not in self.way_nodes:
            return (
                (),
                f"node order of OSM way {ref.osm_way_id} unknown (the twin's OSM source is not readable)",
            )
        position = {int(n): i for i, n in enumerate(self.way_nodes[way])}
        starts, lengths, ids = [], [], []
        for link, a, b, length in on_way[["link_id", "from_node_id", "to_node_id", "length_m"]].itertuples(
            index=False
        ):
            pa = position.get(self.node_osm[int(a)])
            pb = position.get(self.node_osm[int(b)])
            if pa is None or pb is None or (pa < pb) != (ref.direction == "forward"):
                continue
            starts.append(pa if ref.direction == "forward" else -pa)
            lengths.append(float(length))
            ids.append(int(link))
        if not ids:
            return (), f"OSM way {ref.osm_way_id} has no car link {ref.direction} in the twin"
        order = np.argsort(starts, kind="stable")
        ends = np.cumsum(np.asarray(lengths)[order])
        middle = int(np.searchsorted(ends, 0.5 * ends[-1]))
        return (ids[int(order[middle])],), ""

    def ref(self, ref: LinkRef) -> tuple[tuple[int, ...], str]:
        return self.by_way(ref) if ref.osm_way_id is not None else self.by_point(ref)

    def route(self, route: JourneyTimeRoute) -> tuple[tuple[int, ...], str]:
        links = self.links
        used = np.unique(links[["from_node_id", "to_node_id"]].to_numpy())
        xy = self.node_xy.loc[used].to_numpy()
        size = int(self.node_xy.index.max()) + 1
        cost = links["length_m"].to_numpy(dtype=float) / links["free_speed_mps"].to_numpy(dtype=float)
        a = links["from_node_id"].to_numpy(dtype=np.int64)
        b = links["to_node_id"].to_numpy(dtype=np.int64)
        best: dict[tuple[int, int], tuple[float, int]] = {}
        for k in range(len(links)):
            key = (int(a[k]), int(b[k]))
            if key not in best or cost[k] < best[key][0]:
                best[key] = (float(cost[k]), int(self.link_ids[k]))
        keys = list(best)
        graph = coo_matrix(
            ([best[k][0] + 1e-9 for k in keys], ([k[0] for k in keys], [k[1] for k in keys])),
            shape=(size, size),
        ).tocsr()
        points = local_xy_m([p[0] for p in route.points], [p[1] for p in route.points], self.lat0)
        stops = [int(used[np.argmin(np.hypot(*(xy - p).T))]) for p in points]
        path: list[int] = []
        for start, end in itertools.pairwise(stops):
            if start == end:
                continue
            _, previous = dijkstra(graph, indices=start, return_predecessors=True)
            if previous[end] < 0:
                return (), f"no car path from node {start} to node {end}"
            leg, node = [], end
            while node != start:
                leg.append(best[(int(previous[node]), node)][1])
                node = int(previous[node])
            path += leg[::-1]
        if not path:
            return (), "all its points snap to one node of the car network"
        return tuple(path), ""


def match_observations(
    obs: ObservationSet, twin: Twin, *, way_nodes: Mapping[int, Sequence[int]] | None = None
) -> ObservationSet:
    """``obs`` with ``link_ids`` filled from ``twin`` and the unmatched listed (see the module docstring).

    ``way_nodes`` maps an OSM way id to its node ids in drawing order (default: read from the twin's OSM
    source when a count is keyed by way).
    """
    needs_ways = any(c.where.osm_way_id is not None for c in obs.counts) or any(
        x.osm_way_id is not None for s in obs.screenlines for x in s.crossings
    )
    if way_nodes is None and needs_ways:
        way_nodes = way_nodes_from_osm(twin)
    matcher = _Matcher(twin, way_nodes)
    unmatched: list[str] = []
    counts = []
    for count in obs.counts:
        ids, why = matcher.ref(count.where)
        if not ids:
            unmatched.append(f"count {count.site_id} ({count.source}): {why}")
        counts.append(dataclasses.replace(count, link_ids=ids))
    screenlines = []
    for line in obs.screenlines:
        found: list[int] = []
        for number, crossing in enumerate(line.crossings, start=1):
            ids, why = matcher.ref(crossing)
            if not ids:
                unmatched.append(f"screenline {line.screenline_id} ({line.source}), crossing {number}: {why}")
                found = []
                break
            found += ids
        screenlines.append(dataclasses.replace(line, link_ids=tuple(dict.fromkeys(found))))
    routes = []
    for route in obs.routes:
        ids, why = matcher.route(route)
        if not ids:
            unmatched.append(f"route {route.route_id} ({route.source}): {why}")
        routes.append(dataclasses.replace(route, link_ids=ids))
    return dataclasses.replace(
        obs,
        counts=tuple(counts),
        screenlines=tuple(screenlines),
        routes=tuple(routes),
        unmatched=tuple(unmatched),
    )
