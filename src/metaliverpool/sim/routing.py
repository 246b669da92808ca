"""Time-dependent fastest routes for vehicles (free-flow routes are the case of a constant table).

Vehicles are grouped by (origin, departure bin of ``route_bin_s``, destination); each group gets the
fastest path leaving at the bin's midpoint under the link travel-time table (see
:mod:`metaliverpool.kernels.sim_tdsp`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metaliverpool.kernels.sim_tdsp import astar_seconds_per_unit, td_fastest_paths, td_fastest_paths_turns
from metaliverpool.sim.demand import Demand, Routes, routes_from_paths
from metaliverpool.sim.network import SimNetwork

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class RouteQueries:
    """Distinct (origin, departure, destination) groups and each vehicle's group."""

    origin: npt.NDArray[np.int32]
    depart_s: FloatArray
    destination: npt.NDArray[np.int32]
    veh_query: npt.NDArray[np.int64]


def group_route_queries(demand: Demand, route_bin_s: float) -> RouteQueries:
    """Group vehicles by origin, departure bin and destination (sorted for tree reuse)."""
    bins = np.floor(demand.departure_time_s / route_bin_s).astype(np.int64)
    nodes = int(max(demand.origin_node.max(initial=0), demand.destination_node.max(initial=0))) + 1
    keys = (demand.origin_node.astype(np.int64) * (int(bins.max(initial=0)) + 1) + bins) * nodes
    keys += demand.destination_node
    unique, inverse = np.unique(keys, return_inverse=True)
    destination = unique % nodes
    rest = unique // nodes
    span = int(bins.max(initial=0)) + 1
    return RouteQueries(
        origin=(rest // span).astype(np.int32),
        depart_s=((rest % span).astype(np.float64) + 0.5) * route_bin_s,
        destination=destination.astype(np.int32),
        veh_query=inverse.reshape(-1).astype(np.int64),
    )


def fastest_query_paths(
    network: SimNetwork,
    queries: RouteQueries,
    tt_table: FloatArray,
    bin_s: float,
    link_fixed_cost_s: FloatArray | None = None,
) -> tuple[list[tuple[int, ...]], FloatArray, FloatArray]:
    """Cheapest path (tuple of links) for every query, with its travel time and its cost (s, inf if
    unreachable). Cost = travel time + ``link_fixed_cost_s`` of the links used (e.g. tolls as time,
    :func:`toll_cost_s`); without fixed costs the paths are the fastest and cost equals time. Paths never
    make a turn the network bans (``SimNetwork.turn_banned``)."""
    count = queries.origin.shape[0]
    out_offset = np.zeros(count + 1, dtype=np.int64)
    out_time = np.empty(count, dtype=np.float64)
    out_cost = np.empty(count, dtype=np.float64)
    fixed = np.zeros(network.link_count) if link_fixed_cost_s is None else link_fixed_cost_s
    node_x = np.ascontiguousarray(network.node_x, dtype=np.float64)
    node_y = np.ascontiguousarray(network.node_y, dtype=np.float64)
    if node_x.size != network.node_count:
        node_x = node_y = np.zeros(network.node_count)
    # A* bound only where times never fall below free flow (tables from the simulator are clamped)
    bound = np.all(tt_table >= network.link_free_time_s[None, :] - 1e-9)
    per_unit = (
        astar_seconds_per_unit(
            network.link_from_node, network.link_to_node, network.link_free_time_s, node_x, node_y
        )
        if bound
        else 0.0
    )
    common = (
        np.ascontiguousarray(tt_table, dtype=np.float64),
        float(bin_s),
        np.ascontiguousarray(fixed, dtype=np.float64),
        node_x,
        node_y,
        per_unit,
        int(network.first_thru_node),
        queries.origin,
        queries.depart_s,
        queries.destination,
    )
    banned = network.turn_banned if network.turn_banned.size and network.turn_banned.any() else None
    capacity = max(64, 64 * count)
    while True:
        out_links = np.empty(capacity, dtype=np.int32)
        if banned is None:
            written = td_fastest_paths(
                network.node_out_indptr, network.node_out_links, network.link_from_node,
                network.link_to_node, *common, out_links, out_offset, out_time, out_cost,
            )  # fmt: skip
        else:
            written = td_fastest_paths_turns(
                network.node_out_indptr, network.node_out_links, network.link_from_node,
                network.link_to_node, network.link_turn_offset, banned, *common, out_links, out_offset,
                out_time, out_cost,
            )  # fmt: skip
        if written >= 0:
            break
        capacity *= 4  # paths longer than expected: search again with room for them
    paths = [tuple(out_links[out_offset[q] : out_offset[q + 1]].tolist()) for q in range(count)]
    return paths, out_time, out_cost


def toll_cost_s(network: SimNetwork, value_of_time_gbp_per_h: float) -> FloatArray:
    """Each link's toll (``SimNetwork.link_toll_gbp``) as seconds of travel time at the value of time."""
    if network.link_toll_gbp.size == 0:
        return np.zeros(network.link_count)
    return np.asarray(network.link_toll_gbp * 3600.0 / value_of_time_gbp_per_h, dtype=np.float64)


STATIC_BIN_S = 1e12
"""A bin longer than any simulation: with a one-row (static) table, vehicles are grouped by OD only."""


def free_flow_table(network: SimNetwork) -> FloatArray:
    """A one-bin travel-time table of free-flow times (s)."""
    return network.link_free_time_s.reshape(1, -1).copy()


def route_free_flow(
    network: SimNetwork, demand: Demand, route_bin_s: float = 3600.0
) -> tuple[Routes, FloatArray]:
    """Every vehicle on its free-flow fastest path; returns routes and each vehicle's free-flow time (s).

    Vehicles whose destination cannot be reached get an empty path and an infinite time.
    """
    queries = group_route_queries(demand, route_bin_s)
    paths, times, _ = fastest_query_paths(network, queries, free_flow_table(network), STATIC_BIN_S)

    return routes_from_paths(paths, queries.veh_query), times[queries.veh_query]


def route_incremental(
    network: SimNetwork,
    demand: Demand,
    *,
    increments: int = 8,
    seed: int = 0,
    link_fixed_cost_s: FloatArray | None = None,
) -> Routes:
    """Routes by incremental loading: vehicles in ``increments`` random shares, each share on the fastest
    paths under BPR times (``t0 (1 + 0.15 (v / c)^4)``) of the flow the earlier shares put on the links,
    as hourly rates over the departure window (plus ``link_fixed_cost_s``, e.g. tolls). The first
    iteration of a dynamic assignment starts from
    these instead of free-flow paths, which put every trip between two zones on one street and overload
    it many times over before the assignment can react.

    Vehicles whose destination cannot be reached get an empty path.
    """
    vehicles = demand.vehicle_count
    window_s = max(float(demand.departure_time_s.max(initial=0.0)), 3600.0)
    share = np.random.default_rng(seed).integers(0, max(1, increments), size=vehicles)
    flow_veh = np.zeros(network.link_count)
    free = network.link_free_time_s
    capacity = np.maximum(network.link_capacity_vph, 1e-9)
    paths: list[tuple[int, ...]] = []  # every query's path; routes_from_paths stores each once
    veh_key = np.zeros(vehicles, dtype=np.int64)
    for k in range(max(1, increments)):
        members = np.flatnonzero(share == k)
        if members.size == 0:
            continue
        ratio = flow_veh * (3600.0 / window_s) / capacity
        table = (free * (1.0 + 0.15 * ratio**4)).reshape(1, -1)
        queries = group_route_queries(demand.subset(share == k), STATIC_BIN_S)  # times do not vary
        found, _, _ = fastest_query_paths(network, queries, table, STATIC_BIN_S, link_fixed_cost_s)
        group_size = np.bincount(queries.veh_query, minlength=len(found))
        for q, path in enumerate(found):
            flow_veh[list(path)] += group_size[q]
        veh_key[members] = len(paths) + queries.veh_query
        paths.extend(found)
    return routes_from_paths(paths, veh_key)
