"""Access to services: time from each zone to the nearest hospital, GP practice and school, and how many
of each are reachable within 15 and 30 minutes, by car (congested link times) and on foot.

Car: shortest paths on the run's car network with each link's mean congested traversal time. A zone starts
at its network node; a service is reached at its nearest network node (``services.node_id``).

On foot: an undirected network of the active-travel links (footways, cycleways, crossings) joined to the
roads pedestrians may walk along (every road class except motorways and tunnels), nodes matched by OSM node
id; walking speed 4.8 km/h (the DfT Journey Time Statistics assumption). Zones and services attach to their
nearest walking node.
"""

from __future__ import annotations

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
    graph = _min_parallel(tails, heads, times, node_count)
    zone_nodes = zones["node_id"].to_numpy(dtype=np.int64)
    distances = dijkstra(graph, directed=True, indices=zone_nodes)
    return _access_table(np.atleast_2d(distances), zones["zone_id"].to_numpy(), services, "node_id")


def _min_parallel(
    tails: np.ndarray, heads: np.ndarray, weights: np.ndarray, node_count: int
) -> sp.csr_matrix:
    """A sparse graph keeping the smallest weight of parallel links."""
    frame = pd.DataFrame({"a": tails, "b": heads, "w": weights}).groupby(["a", "b"], sort=False)["w"].min()
    a = frame.index.get_level_values(0).to_numpy()
    b = frame.index.get_level_values(1).to_numpy()
    return sp.csr_matrix((frame.to_numpy(), (a, b)), shape=(node_count, node_count))


def walk_access(
    road_nodes: pd.DataFrame,
    road_links: pd.DataFrame,
    active_nodes: pd.DataFrame,
    active_links: pd.DataFrame,
    zones: pd.DataFrame,
    services: pd.DataFrame,
) -> pd.DataFrame:
    """Access on foot per zone (same columns as :func:`car_access`)."""
    # One node numbering: road nodes first, then active nodes whose OSM id is not a road node.
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
    walkable = (
        ~road_links["highway"].isin(NOT_WALKABLE).to_numpy() & ~road_links["tunnel"].astype(bool).to_numpy()
    )
    road_a = road_row.reindex(road_links["from_node_id"].to_numpy()[walkable]).to_numpy()
    road_b = road_row.reindex(road_links["to_node_id"].to_numpy()[walkable]).to_numpy()
    active_row = pd.Series(np.arange(len(active_nodes)), index=active_nodes["node_id"].to_numpy())
    act_a = active_index[active_row.reindex(active_links["from_node_id"].to_numpy()).to_numpy()]
    act_b = active_index[active_row.reindex(active_links["to_node_id"].to_numpy()).to_numpy()]
    tails = np.concatenate([road_a, act_a]).astype(np.int64)
    heads = np.concatenate([road_b, act_b]).astype(np.int64)
    lengths = np.concatenate(
        [
            road_links["length_m"].to_numpy(dtype=np.float64)[walkable],
            active_links["length_m"].to_numpy(dtype=np.float64),
        ]
    )
    both_t = np.concatenate([tails, heads])
    both_h = np.concatenate([heads, tails])
    graph = _min_parallel(
        both_t, both_h, np.maximum(np.concatenate([lengths, lengths]), 0.01) / WALK_SPEED_MPS, node_count
    )
    scale = np.cos(np.radians(float(np.mean(lat)) if node_count else 53.4))
    tree = cKDTree(np.column_stack([lon * scale, lat]))
    zone_points = road_nodes.set_index("node_id").reindex(zones["node_id"].to_numpy())
    _, zone_nodes = tree.query(
        np.column_stack([zone_points["lon"].to_numpy() * scale, zone_points["lat"].to_numpy()])
    )
    _, service_nodes = tree.query(
        np.column_stack([services["lon"].to_numpy() * scale, services["lat"].to_numpy()])
    )
    distances = dijkstra(graph, directed=True, indices=np.asarray(zone_nodes, dtype=np.int64))
    placed = services.assign(walk_node=np.asarray(service_nodes, dtype=np.int64))
    return _access_table(np.atleast_2d(distances), zones["zone_id"].to_numpy(), placed, "walk_node")
