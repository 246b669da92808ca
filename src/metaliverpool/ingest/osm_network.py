"""Build the driving network, junctions, active-travel layer and bus stops from OSM data.

``network_from_osm(osm, config)`` turns :class:`~metaliverpool.ingest.osm_read.OsmData` into the
network tables of the twin bundle (``docs/twin-format.md``):

1. Drivable ways (``ingest.osm_tags.way_road``) are split into directed links at every way end, every
   node shared by two or more drivable ways, and every traffic-signal node that is not attached to a
   junction (a mid-block signalised crossing). Lengths are geodesic (WGS84).
2. Control nodes (``highway=traffic_signals``, ``give_way``, ``stop``, ``mini_roundabout``) on a junction
   node control it; on an approach they are attached to the nearest junction node (3+ road segments)
   within ``signal_attach_m``. Signalised junction nodes within ``signal_cluster_m`` of each other are
   one controlled junction.
3. Cordon: where a major road (``RoadClass.major``) ends outside the study area, its road ends within
   ``cordon_group_m`` of each other get one synthetic cordon node (negative ``osm_node_id``) joined by
   connector links (``connector=True``); each becomes an external zone.
4. The kept network is the strongly connected component that contains the "outside world" (a virtual node
   joined both ways to every cordon node), or the largest strongly connected component when there is no
   cordon. Nodes of the largest strongly connected component of the real network have ``in_core=True``;
   zones attach only to those. What was dropped is reported in ``RoadNetwork.dropped``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from metaliverpool.ingest.osm_read import OsmData, OsmWay
from metaliverpool.ingest.osm_tags import WayRoad, way_road
from metaliverpool.network.clusters import cluster_points
from metaliverpool.network.geodesy import geodesic_distance_m, local_xy_m
from metaliverpool.network.road_classes import ACTIVE_HIGHWAYS

CONTROL_PRIORITY = {"traffic_signals": 3, "mini_roundabout": 2, "give_way": 1, "stop": 1}
CONTROL_NAME = {3: "signals", 2: "mini_roundabout", 1: "give_way", 0: "priority"}


@dataclass(frozen=True)
class NetworkConfig:
    """Parameters of the network build (all distances in metres, tolls in GBP)."""

    study_bbox: tuple[float, float, float, float] | None = None
    """(lon_min, lat_min, lon_max, lat_max) of the study area; ``None`` uses the extract's own extent."""
    signal_attach_m: float = 30.0
    signal_cluster_m: float = 25.0
    cordon_group_m: float = 150.0
    cordon_edge_m: float = 250.0
    """Without a study box, road ends this close to the extract's edge are cordon points."""
    toll_car_gbp: float = 1.80
    """Mersey Tunnels car cash toll (frozen at £1.80 from April 2018; Merseytravel/LCRCA)."""

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dict."""
        return {
            "study_bbox": list(self.study_bbox) if self.study_bbox else None,
            "signal_attach_m": self.signal_attach_m,
            "signal_cluster_m": self.signal_cluster_m,
            "cordon_group_m": self.cordon_group_m,
            "cordon_edge_m": self.cordon_edge_m,
            "toll_car_gbp": self.toll_car_gbp,
        }


@dataclass
class RoadNetwork:
    """The network tables of a twin, plus a report of what the build dropped."""

    nodes: pd.DataFrame
    links: pd.DataFrame
    junctions: pd.DataFrame
    turn_restrictions: pd.DataFrame
    active_nodes: pd.DataFrame
    active_links: pd.DataFrame
    bus_stops: pd.DataFrame
    dropped: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Piece:
    way: OsmWay
    road: WayRoad
    node_ids: list[int]


def _dedupe(node_ids: tuple[int, ...]) -> list[int]:
    out: list[int] = []
    for node_id in node_ids:
        if not out or out[-1] != node_id:
            out.append(node_id)
    return out


def network_from_osm(osm: OsmData, config: NetworkConfig) -> RoadNetwork:
    """Build the network tables from OSM data (see the module docstring for the rules)."""
    roads: list[tuple[OsmWay, WayRoad, list[int]]] = []
    for way in sorted(osm.ways, key=lambda w: w.osm_way_id):
        road = way_road(way.tags)
        refs = _dedupe(way.node_ids)
        if road is not None and len(refs) >= 2:
            roads.append((way, road, refs))

    incidence: Counter[int] = Counter()
    way_count: Counter[int] = Counter()
    for _, _, refs in roads:
        incidence[refs[0]] += 1
        incidence[refs[-1]] += 1
        for node_id in refs[1:-1]:
            incidence[node_id] += 2
        for node_id in set(refs):
            way_count[node_id] += 1
    split: set[int] = {n for n, c in way_count.items() if c >= 2}
    for _, _, refs in roads:
        split.add(refs[0])
        split.add(refs[-1])
    junction_candidates = sorted(n for n, c in incidence.items() if c >= 3)

    controls = _attach_controls(osm, incidence, junction_candidates, config.signal_attach_m, split)

    pieces: list[_Piece] = []
    for way, road, refs in roads:
        start = 0
        for index in range(1, len(refs)):
            if refs[index] in split or index == len(refs) - 1:
                pieces.append(_Piece(way, road, refs[start : index + 1]))
                start = index
    links = _links_from_pieces(osm, pieces, config)
    links, cordon_nodes = _add_cordon(osm, links, config)
    return _finish(osm, links, cordon_nodes, controls, config)


def _attach_controls(
    osm: OsmData,
    incidence: Counter[int],
    junction_candidates: list[int],
    attach_m: float,
    split: set[int],
) -> dict[int, dict[str, Any]]:
    """Map junction node -> {"level": control priority, "signals": [signal osm ids]}; updates ``split``."""
    controls: dict[int, dict[str, Any]] = {}
    control_nodes = sorted(
        n for n, tags in osm.node_tags.items() if tags.get("highway") in CONTROL_PRIORITY and n in incidence
    )
    if not control_nodes:
        return controls
    _, lat0 = osm.node_lonlat[control_nodes[0]]
    tree = None
    if junction_candidates:
        from scipy.spatial import cKDTree

        cand = np.array([osm.node_lonlat[n] for n in junction_candidates])
        tree = cKDTree(local_xy_m(cand[:, 0], cand[:, 1], lat0))
    for node_id in control_nodes:
        level = CONTROL_PRIORITY[osm.node_tags[node_id]["highway"]]
        target: int | None = None
        if incidence[node_id] >= 3:
            target = node_id
        elif tree is not None:
            lon, lat = osm.node_lonlat[node_id]
            distance, index = tree.query(local_xy_m([lon], [lat], lat0)[0])
            if distance <= attach_m:
                target = junction_candidates[int(index)]
        if target is None:
            if level < 2:
                continue
            split.add(node_id)
            target = node_id
        entry = controls.setdefault(target, {"level": 0, "signals": []})
        entry["level"] = max(entry["level"], level)
        if level == 3:
            entry["signals"].append(node_id)
    return controls


def polylines(
    osm: OsmData, node_lists: list[list[int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates, start offsets, geodesic lengths (m) and shapely LineStrings of node-id sequences."""
    counts = np.fromiter((len(n) for n in node_lists), dtype=np.int64, count=len(node_lists))
    lonlat = osm.node_lonlat
    coords = np.array([lonlat[n] for nodes in node_lists for n in nodes], dtype=np.float64).reshape(-1, 2)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    if len(coords) == 0:
        return coords, starts, np.zeros(0), np.zeros(0, dtype=object)
    segment = geodesic_distance_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
    piece_of_point = np.repeat(np.arange(len(node_lists)), counts)
    same_piece = piece_of_point[:-1] == piece_of_point[1:]
    lengths = np.bincount(
        piece_of_point[:-1][same_piece], weights=segment[same_piece], minlength=len(node_lists)
    )
    geometries = shapely.linestrings(coords, indices=piece_of_point)
    return coords, starts, lengths, np.asarray(geometries, dtype=object)


def _links_from_pieces(osm: OsmData, pieces: list[_Piece], config: NetworkConfig) -> pd.DataFrame:
    """Directed links (one or two per piece) with geometry and attributes; ids not yet assigned."""
    coords, starts, lengths, _ = polylines(osm, [p.node_ids for p in pieces])
    counts = np.fromiter((len(p.node_ids) for p in pieces), dtype=np.int64, count=len(pieces))
    rows: dict[str, list[Any]] = defaultdict(list)
    geometries: list[Any] = []
    for index, piece in enumerate(pieces):
        road = piece.road
        tags = piece.way.tags
        line = coords[starts[index] : starts[index] + counts[index]]
        directions = []
        if road.direction in (0, 1):
            directions.append((piece.node_ids, line, road.lanes_forward))
        if road.direction in (0, -1):
            lanes = road.lanes_backward if road.direction == 0 else road.lanes_forward
            directions.append((piece.node_ids[::-1], line[::-1], lanes))
        for node_ids, geometry, lanes in directions:
            rows["from_osm_node_id"].append(node_ids[0])
            rows["to_osm_node_id"].append(node_ids[-1])
            rows["osm_way_id"].append(piece.way.osm_way_id)
            rows["length_m"].append(float(lengths[index]))
            rows["lanes"].append(int(lanes))
            rows["speed_limit_mps"].append(road.speed_limit_mps)
            rows["free_speed_mps"].append(road.speed_limit_mps * road.road.free_speed_factor)
            rows["capacity_vph"].append(float(lanes) * road.road.capacity_per_lane_vph)
            rows["highway"].append(road.highway)
            rows["name"].append(tags.get("name", ""))
            rows["ref"].append(tags.get("ref", ""))
            rows["oneway"].append(road.direction != 0)
            rows["roundabout"].append(road.roundabout)
            rows["bridge"].append(road.bridge)
            rows["tunnel"].append(road.tunnel)
            rows["tolled"].append(road.toll)
            rows["access"].append(road.access)
            rows["maxspeed_source"].append(road.maxspeed_source)
            rows["lanes_source"].append(road.lanes_source)
            rows["major"].append(road.road.major)
            rows["connector"].append(False)
            geometries.append(geometry)
    frame = pd.DataFrame(rows)
    sizes = np.fromiter((len(g) for g in geometries), dtype=np.int64, count=len(geometries))
    frame["geometry"] = shapely.linestrings(
        np.concatenate(geometries) if geometries else np.zeros((0, 2)),
        indices=np.repeat(np.arange(len(geometries)), sizes),
    )
    return frame


def _outside(
    lon: np.ndarray, lat: np.ndarray, osm: OsmData, links: pd.DataFrame, config: NetworkConfig
) -> np.ndarray:
    """Which points lie outside the study area (or near the extract's edge when there is no study box)."""
    if config.study_bbox is not None:
        lon_min, lat_min, lon_max, lat_max = config.study_bbox
        return np.asarray((lon < lon_min) | (lon > lon_max) | (lat < lat_min) | (lat > lat_max))
    ends = np.array([osm.node_lonlat[n] for n in pd.unique(links["from_osm_node_id"])])
    lat0 = float(np.mean(ends[:, 1]))
    margin_lon = config.cordon_edge_m / (111_320.0 * np.cos(np.radians(lat0)))
    margin_lat = config.cordon_edge_m / 110_540.0
    return np.asarray(
        (lon < ends[:, 0].min() + margin_lon)
        | (lon > ends[:, 0].max() - margin_lon)
        | (lat < ends[:, 1].min() + margin_lat)
        | (lat > ends[:, 1].max() - margin_lat)
    )


def _add_cordon(
    osm: OsmData, links: pd.DataFrame, config: NetworkConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add synthetic cordon nodes and connector links where major roads end outside the study area."""
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in zip(links["from_osm_node_id"], links["to_osm_node_id"], strict=True):
        neighbours[a].add(b)
        neighbours[b].add(a)
    major = links[links["major"] & (links["access"] == "all")]
    candidates = sorted(
        {
            int(n)
            for n in pd.concat([major["from_osm_node_id"], major["to_osm_node_id"]])
            if len(neighbours[n]) == 1
        }
    )
    empty_nodes = pd.DataFrame({"osm_node_id": [], "lon": [], "lat": [], "zone_name": []})
    if not candidates:
        return links, empty_nodes
    lonlat = np.array([osm.node_lonlat[n] for n in candidates])
    outside = _outside(lonlat[:, 0], lonlat[:, 1], osm, links, config)
    ends = [n for n, o in zip(candidates, outside, strict=True) if o]
    if not ends:
        return links, empty_nodes
    end_xy = np.array([osm.node_lonlat[n] for n in ends])
    labels = cluster_points(
        local_xy_m(end_xy[:, 0], end_xy[:, 1], float(end_xy[0, 1])), config.cordon_group_m
    )
    node_rows: list[dict[str, Any]] = []
    connectors: list[dict[str, Any]] = []
    for group in range(int(labels.max()) + 1):
        members = [ends[i] for i in np.flatnonzero(labels == group)]
        pos = end_xy[labels == group].mean(axis=0)
        cordon_id = -(group + 1)
        touching = links[links["from_osm_node_id"].isin(members) | links["to_osm_node_id"].isin(members)]
        names = sorted(
            {f"{r} {n}".strip() for r, n in zip(touching["ref"], touching["name"], strict=True)} - {""}
        )
        node_rows.append(
            {
                "osm_node_id": cordon_id,
                "lon": float(pos[0]),
                "lat": float(pos[1]),
                "zone_name": names[0] if names else "",
            }
        )
        for member in members:
            end_lon, end_lat = osm.node_lonlat[member]
            length = max(1.0, float(geodesic_distance_m(pos[0], pos[1], end_lon, end_lat)))
            for out in (True, False):
                road = touching[
                    (touching["from_osm_node_id"] if out else touching["to_osm_node_id"]) == member
                ]
                if road.empty:
                    continue
                template: dict[str, Any] = {str(k): v for k, v in road.iloc[0].to_dict().items()}
                template.update(
                    from_osm_node_id=cordon_id if out else member,
                    to_osm_node_id=member if out else cordon_id,
                    length_m=length,
                    connector=True,
                    tolled=False,
                    bridge=False,
                    tunnel=False,
                    roundabout=False,
                    geometry=shapely.LineString(
                        [tuple(pos), (end_lon, end_lat)] if out else [(end_lon, end_lat), tuple(pos)]
                    ),
                )
                connectors.append(template)
    links = pd.concat([links, pd.DataFrame(connectors)], ignore_index=True)
    return links, pd.DataFrame(node_rows)


def _finish(
    osm: OsmData,
    links: pd.DataFrame,
    cordon_nodes: pd.DataFrame,
    controls: dict[int, dict[str, Any]],
    config: NetworkConfig,
) -> RoadNetwork:
    """Strongly connected filter, numbering, node kinds, junctions, tolls, restrictions, other layers."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    real_ids = np.unique(np.concatenate([links["from_osm_node_id"], links["to_osm_node_id"]]))
    real_ids = real_ids[real_ids >= 0]
    cordon_ids = cordon_nodes["osm_node_id"].to_numpy(dtype=np.int64)
    all_ids = np.concatenate([real_ids, cordon_ids])
    index_of = {int(n): i for i, n in enumerate(all_ids)}
    count = len(all_ids)
    src = links["from_osm_node_id"].map(index_of).to_numpy()
    dst = links["to_osm_node_id"].map(index_of).to_numpy()
    car = (links["access"] == "all").to_numpy()
    real_link = car & ~links["connector"].to_numpy(dtype=bool)

    def strong(rows: np.ndarray, cols: np.ndarray, size: int) -> np.ndarray:
        graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size)).tocsr()
        return np.asarray(connected_components(graph, directed=True, connection="strong")[1])

    core_labels = strong(src[real_link], dst[real_link], count)
    core_sizes = np.bincount(core_labels[: len(real_ids)]) if len(real_ids) else np.zeros(1, dtype=np.int64)
    core_label = int(np.argmax(core_sizes))
    in_core = core_labels == core_label
    in_core[len(real_ids) :] = False
    if len(cordon_ids):
        world = count
        cordon_index = np.arange(len(real_ids), count)
        rows = np.concatenate([src[car], np.full(len(cordon_index), world), cordon_index])
        cols = np.concatenate([dst[car], cordon_index, np.full(len(cordon_index), world)])
        labels = strong(rows, cols, count + 1)
        keep = labels[:count] == labels[world]
        if keep.sum() < in_core.sum():
            keep = in_core.copy()
    else:
        keep = in_core.copy()

    link_keep = keep[src] & keep[dst]
    dropped_links = links[~link_keep & ~links["connector"].to_numpy(dtype=bool)]
    dropped = {
        "nodes": int((~keep[: len(real_ids)]).sum()),
        "links": len(dropped_links),
        "length_km": round(float(dropped_links["length_m"].sum()) / 1000.0, 3),
        "osm_way_ids_sample": sorted({int(w) for w in dropped_links["osm_way_id"]})[:20],
        "cordon_nodes": int((~keep[len(real_ids) :]).sum()),
        "rule": "largest strongly connected component with the outside world joined to every cordon node",
    }
    kept_ids = all_ids[keep]
    new_id = {int(n): i for i, n in enumerate(kept_ids)}
    links = links[link_keep].reset_index(drop=True)
    links["from_node_id"] = links["from_osm_node_id"].map(new_id).astype(np.int32)
    links["to_node_id"] = links["to_osm_node_id"].map(new_id).astype(np.int32)
    links.insert(0, "link_id", np.arange(len(links), dtype=np.int32))
    links["toll_gbp"] = _first_tolled(links) * config.toll_car_gbp

    cordon_pos = {
        int(i): (float(x), float(y))
        for i, x, y in zip(cordon_nodes["osm_node_id"], cordon_nodes["lon"], cordon_nodes["lat"], strict=True)
    }
    lon = np.array([cordon_pos[n][0] if n < 0 else osm.node_lonlat[n][0] for n in kept_ids])
    lat = np.array([cordon_pos[n][1] if n < 0 else osm.node_lonlat[n][1] for n in kept_ids])
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in zip(links["from_node_id"], links["to_node_id"], strict=True):
        neighbours[int(a)].add(int(b))
        neighbours[int(b)].add(int(a))
    nodes = pd.DataFrame(
        {
            "node_id": np.arange(len(kept_ids), dtype=np.int32),
            "osm_node_id": kept_ids.astype(np.int64),
            "lon": lon,
            "lat": lat,
        }
    )
    junctions, junction_of = _junctions(nodes, neighbours, controls, config, new_id)
    kinds = []
    for node_id, osm_id in enumerate(kept_ids):
        degree = len(neighbours[node_id])
        if osm_id < 0:
            kinds.append("cordon")
        elif degree >= 3 or node_id in junction_of:
            kinds.append("junction")
        elif degree == 1:
            kinds.append("dead_end")
        else:
            kinds.append("through")
    nodes["kind"] = kinds
    nodes["junction_id"] = np.array([junction_of.get(i, -1) for i in range(len(nodes))], dtype=np.int32)
    nodes["in_core"] = in_core[keep]
    nodes["zone_name"] = [
        str(cordon_nodes.set_index("osm_node_id").at[n, "zone_name"]) if n < 0 else "" for n in kept_ids
    ]
    nodes["geometry"] = shapely.points(lon, lat)

    links = links.drop(columns=["from_osm_node_id", "to_osm_node_id", "major"])
    links["lanes"] = links["lanes"].astype(np.int32)
    links["osm_way_id"] = links["osm_way_id"].astype(np.int64)
    restrictions = _turn_restrictions(osm, links, new_id)
    active_nodes, active_links = _active_network(osm)
    bus_stops = _bus_stops(osm, nodes)
    return RoadNetwork(nodes, links, junctions, restrictions, active_nodes, active_links, bus_stops, dropped)


def _first_tolled(links: pd.DataFrame) -> np.ndarray:
    """1.0 on the links where a toll is charged, once per passage of a tolled facility.

    In each connected group of tolled links the facility is its tunnel links, else its bridge links,
    else all of them: OSM also tags approach roads and plaza lanes ``toll=yes``, but the Mersey tunnels
    charge one toll per passage. A facility link is charged when its from-node can be reached by a link
    outside the facility (a way into the tunnel), so a path through a chain of tunnel links pays once.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    tolled = links["tolled"].to_numpy(dtype=bool)
    tunnel = links["tunnel"].to_numpy(dtype=bool)
    bridge = links["bridge"].to_numpy(dtype=bool)
    a = links["from_node_id"].to_numpy()
    b = links["to_node_id"].to_numpy()
    size = int(max(a.max(initial=0), b.max(initial=0))) + 1
    graph = coo_matrix((np.ones(int(tolled.sum())), (a[tolled], b[tolled])), shape=(size, size))
    component = np.asarray(connected_components(graph, directed=False)[1])[a]
    facility = np.zeros(len(links), dtype=bool)
    for label in np.unique(component[tolled]):
        members = tolled & (component == label)
        for structure in (tunnel, bridge, np.ones(len(links), dtype=bool)):
            if (members & structure).any():
                facility |= members & structure
                break
    entry_nodes = set(links.loc[~facility, "to_node_id"].astype(int))
    charged = [f and int(a) in entry_nodes for f, a in zip(facility, links["from_node_id"], strict=True)]
    return np.asarray(charged, dtype=np.float64)


def _junctions(
    nodes: pd.DataFrame,
    neighbours: dict[int, set[int]],
    controls: dict[int, dict[str, Any]],
    config: NetworkConfig,
    new_id: dict[int, int],
) -> tuple[pd.DataFrame, dict[int, int]]:
    """Junction table and node_id -> junction_id."""
    signal_nodes = sorted(new_id[n] for n, c in controls.items() if c["level"] == 3 and n in new_id)
    groups: list[list[int]] = []
    if signal_nodes:
        xy = local_xy_m(
            nodes["lon"].to_numpy()[signal_nodes],
            nodes["lat"].to_numpy()[signal_nodes],
            float(nodes["lat"].mean()),
        )
        labels = cluster_points(xy, config.signal_cluster_m)
        for label in range(int(labels.max()) + 1):
            groups.append([signal_nodes[i] for i in np.flatnonzero(labels == label)])
    osm_ids = nodes["osm_node_id"].to_numpy()
    in_signal = {n for g in groups for n in g}
    control_of: dict[int, str] = {}
    for node_id in range(len(nodes)):
        if node_id in in_signal or osm_ids[node_id] < 0:
            continue
        entry = controls.get(int(osm_ids[node_id]))
        if len(neighbours[node_id]) >= 3 or entry is not None:
            groups.append([node_id])
            control_of[node_id] = CONTROL_NAME[entry["level"] if entry else 0]
    groups.sort(key=min)
    rows: dict[str, list[Any]] = defaultdict(list)
    junction_of: dict[int, int] = {}
    lon = nodes["lon"].to_numpy()
    lat = nodes["lat"].to_numpy()
    for junction_id, group in enumerate(groups):
        signals = sorted(s for n in group for s in controls.get(int(osm_ids[n]), {"signals": []})["signals"])
        rows["junction_id"].append(junction_id)
        rows["control"].append("signals" if group[0] in in_signal else control_of[group[0]])
        rows["node_ids"].append([int(n) for n in group])
        rows["osm_node_ids"].append([int(osm_ids[n]) for n in group])
        rows["signal_osm_node_ids"].append([int(s) for s in signals])
        rows["lon"].append(float(lon[group].mean()))
        rows["lat"].append(float(lat[group].mean()))
        for n in group:
            junction_of[n] = junction_id
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(
            {
                c: []
                for c in (
                    "junction_id",
                    "control",
                    "node_ids",
                    "osm_node_ids",
                    "signal_osm_node_ids",
                    "lon",
                    "lat",
                )
            }
        )
    frame["junction_id"] = frame["junction_id"].astype(np.int32)
    frame["geometry"] = shapely.points(frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float))
    return frame, junction_of


def _turn_restrictions(osm: OsmData, links: pd.DataFrame, new_id: dict[int, int]) -> pd.DataFrame:
    """Via-node turn restrictions mapped onto link ids."""
    by_way_to: dict[tuple[int, int], list[int]] = defaultdict(list)
    by_way_from: dict[tuple[int, int], list[int]] = defaultdict(list)
    link_id: Any
    for link_id, way, a, b in zip(
        links["link_id"], links["osm_way_id"], links["from_node_id"], links["to_node_id"], strict=True
    ):
        by_way_to[(int(way), int(b))].append(int(link_id))
        by_way_from[(int(way), int(a))].append(int(link_id))
    rows: dict[str, list[Any]] = defaultdict(list)
    for relation in sorted(osm.relations, key=lambda r: r.osm_relation_id):
        tags = relation.tags
        if tags.get("type") != "restriction":
            continue
        value = tags.get("restriction", tags.get("restriction:motorcar", ""))
        kind = "no" if value.startswith("no_") else "only" if value.startswith("only_") else ""
        role = {r: [(t, ref) for t, ref, rr in relation.members if rr == r] for r in ("from", "via", "to")}
        if not kind or len(role["from"]) != 1 or len(role["via"]) != 1 or len(role["to"]) != 1:
            continue
        (ft, from_way), (vt, via), (tt, to_way) = role["from"][0], role["via"][0], role["to"][0]
        if ft != "w" or vt != "n" or tt != "w" or via not in new_id:
            continue
        via_node = new_id[via]
        from_links = by_way_to.get((from_way, via_node), [])
        to_links = by_way_from.get((to_way, via_node), [])
        for from_link in from_links:
            for to_link in to_links:
                rows["osm_relation_id"].append(relation.osm_relation_id)
                rows["from_link_id"].append(from_link)
                rows["via_node_id"].append(via_node)
                rows["to_link_id"].append(to_link)
                rows["kind"].append(kind)
                rows["restriction"].append(value)
    frame = pd.DataFrame(
        rows
        if rows
        else {
            c: []
            for c in ("osm_relation_id", "from_link_id", "via_node_id", "to_link_id", "kind", "restriction")
        }
    )
    for column in ("from_link_id", "via_node_id", "to_link_id"):
        frame[column] = frame[column].astype(np.int32)
    frame["osm_relation_id"] = frame["osm_relation_id"].astype(np.int64)
    return frame


def _active_network(osm: OsmData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Footways, cycleways, pedestrian streets, paths, steps and crossings, split where ways meet."""
    ways = [
        (w, _dedupe(w.node_ids))
        for w in sorted(osm.ways, key=lambda w: w.osm_way_id)
        if w.tags.get("highway") in ACTIVE_HIGHWAYS and w.tags.get("area") != "yes"
    ]
    ways = [(w, refs) for w, refs in ways if len(refs) >= 2]
    usage: Counter[int] = Counter()
    for way in osm.ways:
        if "highway" in way.tags:
            usage.update(set(way.node_ids))
    pieces: list[tuple[OsmWay, list[int]]] = []
    for way, refs in ways:
        start = 0
        for index in range(1, len(refs)):
            if usage[refs[index]] >= 2 or index == len(refs) - 1:
                pieces.append((way, refs[start : index + 1]))
                start = index
    endpoints = sorted({p[1][0] for p in pieces} | {p[1][-1] for p in pieces})
    node_index = {n: i for i, n in enumerate(endpoints)}
    lonlat = osm.node_lonlat
    node_lon = np.array([lonlat[n][0] for n in endpoints])
    node_lat = np.array([lonlat[n][1] for n in endpoints])
    active_nodes = pd.DataFrame(
        {
            "node_id": np.arange(len(endpoints), dtype=np.int32),
            "osm_node_id": np.array(endpoints, dtype=np.int64),
            "lon": node_lon,
            "lat": node_lat,
            "geometry": shapely.points(node_lon, node_lat),
        }
    )
    _, _, lengths, geometries = polylines(osm, [refs for _, refs in pieces])
    highway = [
        "crossing"
        if w.tags.get("footway") == "crossing" or w.tags.get("cycleway") == "crossing"
        else w.tags.get("highway", "")
        for w, _ in pieces
    ]
    active_links = pd.DataFrame(
        {
            "link_id": np.arange(len(pieces), dtype=np.int32),
            "from_node_id": np.array([node_index[p[1][0]] for p in pieces], dtype=np.int32),
            "to_node_id": np.array([node_index[p[1][-1]] for p in pieces], dtype=np.int32),
            "osm_way_id": np.array([w.osm_way_id for w, _ in pieces], dtype=np.int64),
            "length_m": np.array(lengths, dtype=np.float64),
            "highway": highway,
            "footway": [w.tags.get("footway", "") for w, _ in pieces],
            "name": [w.tags.get("name", "") for w, _ in pieces],
            "geometry": geometries,
        }
    )
    return active_nodes, active_links


def _bus_stops(osm: OsmData, nodes: pd.DataFrame) -> pd.DataFrame:
    """``highway=bus_stop`` nodes with their nearest road node."""
    stops = sorted(
        n for n, tags in osm.node_tags.items() if tags.get("highway") == "bus_stop" and n in osm.node_lonlat
    )
    lon = np.array([osm.node_lonlat[n][0] for n in stops], dtype=np.float64)
    lat = np.array([osm.node_lonlat[n][1] for n in stops], dtype=np.float64)
    nearest = nearest_node_ids(nodes, lon, lat)
    return pd.DataFrame(
        {
            "osm_node_id": np.array(stops, dtype=np.int64),
            "name": [osm.node_tags[n].get("name", "") for n in stops],
            "lon": lon,
            "lat": lat,
            "node_id": nearest,
            "geometry": shapely.points(lon, lat) if len(stops) else [],
        }
    )


def nearest_node_ids(
    nodes: pd.DataFrame, lon: np.ndarray, lat: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """Nearest ``node_id`` (restricted to rows where ``mask`` is true) for each point; int32."""
    if len(lon) == 0 or nodes.empty:
        return np.zeros(len(lon), dtype=np.int32)
    from scipy.spatial import cKDTree

    candidates = nodes if mask is None else nodes[mask]
    ref_lat = float(candidates["lat"].mean())
    tree = cKDTree(local_xy_m(candidates["lon"].to_numpy(), candidates["lat"].to_numpy(), ref_lat))
    _, index = tree.query(local_xy_m(lon, lat, ref_lat))
    return candidates["node_id"].to_numpy()[np.asarray(index)].astype(np.int32)
