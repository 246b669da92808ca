"""Access to services: time from each zone to the nearest hospital, GP practice and school, and how many
of each are reachable within 15 and 30 minutes, by car (congested link times) and on foot.

Car: shortest paths on the run's car network with each link's mean congested traversal time. A zone starts
at its network node; a service is reached at its nearest network node (``services.node_id``).

On foot: an undirected network of the active-travel links (footways, cycleways, crossings) joined to the
roads pedestrians may walk along (every road class except motorways and tunnels), nodes matched by OSM node
id; walking speed 4.8 km/h (the DfT Journey Time Statistics assumption). Zones and services attach to their
nearest walking node. :func:`active_network` builds that network for any speed and set of links; the JTS
measures (:mod:`metaliverpool.metrics.jts`) use it for walking and cycling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

SERVICE_KINDS = ("hospital", "gp", "school")
THRESHOLDS_MIN = (15, 30)
WALK_SPEED_MPS = 4.8 / 3.6
"""Walking speed, 4.8 km/h (DfT Journey Time Statistics)."""
NOT_WALKABLE = ("motorway", "motorway_link")


def _access_table(
    times_s: npt.NDArray[np.float64], zone_ids: np.ndarray, services: pd.DataFrame, column: str
) -> pd.DataFrame:
    """From a zones x nodes time matrix and each service's node column, the access measures per zone."""
    out = pd.DataFrame({"zone_id": zone_ids})
    for kind in SERVICE_KINDS:
        nodes = services.loc[services["kind"] == kind, column].to_numpy(dtype=np.int64)
        nodes = nodes[nodes >= 0]
        if nodes.size == 0:
            out[f"{kind}_nearest_min"] = np.nan
            for limit in THRESHOLDS_MIN:
                out[f"{kind}_within_{limit}min"] = 0
            continue
        to_services = times_s[:, nodes] / 60.0
        out[f"{kind}_nearest_min"] = np.min(to_services, axis=1)
        for limit in THRESHOLDS_MIN:
            out[f"{kind}_within_{limit}min"] = (to_services <= limit).sum(axis=1)
    out.replace([np.inf], np.nan, inplace=True)
    return out


def car_access(
    node_count: int,
    link_from: npt.ArrayLike,
    link_to: npt.ArrayLike,
    link_time_s: npt.ArrayLike,
    zones: pd.DataFrame,
    services: pd.DataFrame,
) -> pd.DataFrame:
    """Access by car per zone (``zone_id``, ``<kind>_nearest_min``, ``<kind>_within_<n>min``)."""
    tails = np.asarray(link_from, dtype=np.int64)
    heads = np.asarray(link_to, dtype=np.int64)
    times = np.maximum(np.asarray(link_time_s, dtype=np.float64), 1e-3)
    graph = min_parallel(tails, heads, times, node_count)
    zone_nodes = zones["node_id"].to_numpy(dtype=np.int64)
    distances = dijkstra(graph, directed=True, indices=zone_nodes)
    return _access_table(np.atleast_2d(distances), zones["zone_id"].to_numpy(), services, "node_id")


def min_parallel(tails: np.ndarray, heads: np.ndarray, weights: np.ndarray, node_count: int) -> sp.csr_matrix:
    """A sparse graph keeping the smallest weight of parallel links."""
    frame = pd.DataFrame({"a": tails, "b": heads, "w": weights}).groupby(["a", "b"], sort=False)["w"].min()
    a = frame.index.get_level_values(0).to_numpy()
    b = frame.index.get_level_values(1).to_numpy()
    return sp.csr_matrix((frame.to_numpy(), (a, b)), shape=(node_count, node_count))


@dataclass(frozen=True, eq=False)
class ActiveNetwork:
    """The walking or cycling network: a sparse graph of traversal times (s) and its nodes' positions.

    Node numbering: the road nodes first (row order of the twin's ``nodes``), then the active-travel nodes
    whose OSM node id is not a road node; an active node with the OSM id of a road node is that node.
    """

    graph: sp.csr_matrix
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]


def active_network(
    road_nodes: pd.DataFrame,
    road_links: pd.DataFrame,
    active_nodes: pd.DataFrame,
    active_links: pd.DataFrame,
    *,
    speed_mps: float,
    road_mask: npt.NDArray[np.bool_],
    active_mask: npt.NDArray[np.bool_] | None = None,
    roads_both_ways: bool = True,
) -> ActiveNetwork:
    """The network of the active-travel links (``active_mask``, default all, both ways) joined by OSM node
    id to the road links in ``road_mask`` (both ways, or only as coded when ``roads_both_ways`` is false,
    so that one-way streets stay one-way), traversed at ``speed_mps``."""
    road_osm = road_nodes["osm_node_id"].to_numpy(dtype=np.int64)
    index_of_osm = {int(osm): i for i, osm in enumerate(road_osm) if osm >= 0}
    active_osm = active_nodes["osm_node_id"].to_numpy(dtype=np.int64)
    active_index = np.empty(len(active_nodes), dtype=np.int64)
    next_index = len(road_nodes)
    for row, osm in enumerate(active_osm):
        hit = index_of_osm.get(int(osm)) if osm >= 0 else None
        if hit is None:
            active_index[row] = next_index
            next_index += 1
        else:
            active_index[row] = hit
    node_count = next_index
    lon = np.empty(node_count)
    lat = np.empty(node_count)
    road_row = pd.Series(np.arange(len(road_nodes)), index=road_nodes["node_id"].to_numpy())
    lon[: len(road_nodes)] = road_nodes["lon"].to_numpy()
    lat[: len(road_nodes)] = road_nodes["lat"].to_numpy()
    lon[active_index] = active_nodes["lon"].to_numpy()
    lat[active_index] = active_nodes["lat"].to_numpy()
    if active_mask is None:
        active_mask = np.ones(len(active_links), dtype=bool)
    road_a = road_row.reindex(road_links["from_node_id"].to_numpy()[road_mask]).to_numpy()
    road_b = road_row.reindex(road_links["to_node_id"].to_numpy()[road_mask]).to_numpy()
    road_length = road_links["length_m"].to_numpy(dtype=np.float64)[road_mask]
    active_row = pd.Series(np.arange(len(active_nodes)), index=active_nodes["node_id"].to_numpy())
    act_a = active_index[
        active_row.reindex(active_links["from_node_id"].to_numpy()[active_mask]).to_numpy().astype(np.int64)
    ]
    act_b = active_index[
        active_row.reindex(active_links["to_node_id"].to_numpy()[active_mask]).to_numpy().astype(np.int64)
    ]
    act_length = active_links["length_m"].to_numpy(dtype=np.float64)[active_mask]
    tails = [act_a, act_b, road_a] + ([road_b] if roads_both_ways else [])
    heads = [act_b, act_a, road_b] + ([road_a] if roads_both_ways else [])
    lengths = [act_length, act_length, road_length] + ([road_length] if roads_both_ways else [])
    graph = min_parallel(
        np.concatenate(tails).astype(np.int64),
        np.concatenate(heads).astype(np.int64),
        np.maximum(np.concatenate(lengths), 0.01) / speed_mps,
        node_count,
    )
    return ActiveNetwork(graph=graph, lon=lon, lat=lat)


def walkable_roads(road_links: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Road links pedestrians may walk along: every class except motorways, and no tunnels."""
    return np.asarray(
        ~road_links["highway"].isin(NOT_WALKABLE).to_numpy() & ~road_links["tunnel"].astype(bool).to_numpy()
    )


def walking_network(
    road_nodes: pd.DataFrame, road_links: pd.DataFrame, active_nodes: pd.DataFrame, active_links: pd.DataFrame
) -> ActiveNetwork:
    """The active links and the walkable roads, both ways, at :data:`WALK_SPEED_MPS`."""
    return active_network(
        road_nodes,
        road_links,
        active_nodes,
        active_links,
        speed_mps=WALK_SPEED_MPS,
        road_mask=walkable_roads(road_links),
    )


def walk_access(
    road_nodes: pd.DataFrame,
    road_links: pd.DataFrame,
    active_nodes: pd.DataFrame,
    active_links: pd.DataFrame,
    zones: pd.DataFrame,
    services: pd.DataFrame,
) -> pd.DataFrame:
    """Access on foot per zone (same columns as :func:`car_access`)."""
    network = walking_network(road_nodes, road_links, active_nodes, active_links)
    lon, lat = network.lon, network.lat
    scale = np.cos(np.radians(float(np.mean(lat)) if lat.size else 53.4))
    tree = cKDTree(np.column_stack([lon * scale, lat]))
    zone_points = road_nodes.set_index("node_id").reindex(zones["node_id"].to_numpy())
    _, zone_nodes = tree.query(
        np.column_stack([zone_points["lon"].to_numpy() * scale, zone_points["lat"].to_numpy()])
    )
    _, service_nodes = tree.query(
        np.column_stack([services["lon"].to_numpy() * scale, services["lat"].to_numpy()])
    )
    distances = dijkstra(network.graph, directed=True, indices=np.asarray(zone_nodes, dtype=np.int64))
    placed = services.assign(walk_node=np.asarray(service_nodes, dtype=np.int64))
    return _access_table(np.atleast_2d(distances), zones["zone_id"].to_numpy(), placed, "walk_node")
