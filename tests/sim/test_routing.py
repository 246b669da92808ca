"""Time-dependent route search: A* towards a single destination finds the same costs as plain Dijkstra."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaliverpool.sim.demand import make_demand
from metaliverpool.sim.network import build_sim_network
from metaliverpool.sim.routing import fastest_query_paths, group_route_queries


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), bins=st.integers(1, 4))
def test_astar_matches_dijkstra_on_random_grids(seed: int, bins: int) -> None:
    rng = np.random.default_rng(seed)
    side = 5
    nodes = side * side
    x, y = np.meshgrid(np.arange(side) * 100.0, np.arange(side) * 100.0)
    pairs = [(i, i + 1) for i in range(nodes) if (i + 1) % side] + [
        (i, i + side) for i in range(nodes - side)
    ]
    pairs += [(b, a) for a, b in pairs]
    keep = rng.random(len(pairs)) > 0.15
    links = [p for p, k in zip(pairs, keep, strict=True) if k]
    network = build_sim_network(
        node_count=nodes,
        link_from_node=[a for a, _ in links],
        link_to_node=[b for _, b in links],
        link_length_m=100.0 * (1.0 + rng.random(len(links))),  # curved: longer than the straight line
        link_free_speed_mps=rng.uniform(5.0, 20.0, len(links)),
        link_capacity_vph=np.full(len(links), 1800.0),
        node_x=x.ravel(),
        node_y=y.ravel(),
    )
    # congested times: free flow times a random factor >= 1 per bin
    table = network.link_free_time_s[None, :] * (1.0 + 3.0 * rng.random((bins, len(links))))
    tolls = np.where(rng.random(len(links)) < 0.2, 30.0, 0.0)
    demand = make_demand(
        rng.integers(0, nodes, 60), rng.integers(0, nodes, 60), rng.uniform(0.0, bins * 300.0, 60)
    )
    queries = group_route_queries(demand, 300.0)
    with_bound = fastest_query_paths(network, queries, table, 300.0, tolls)
    no_coordinates = replace(network, node_x=np.zeros(nodes), node_y=np.zeros(nodes))
    plain = fastest_query_paths(no_coordinates, queries, table, 300.0, tolls)
    np.testing.assert_allclose(with_bound[2], plain[2], rtol=1e-12)  # costs
    np.testing.assert_allclose(with_bound[1], plain[1], rtol=1e-9)  # times of those paths


def test_banned_turn_is_never_used_and_costs_match_a_line_graph_search() -> None:
    # 0 -> 1 -> 2 directly, or 0 -> 1 -> 3 -> 2 around; banning the turn (0->1, 1->2) forces the detour
    network = build_sim_network(
        node_count=4,
        link_from_node=[0, 1, 1, 3],
        link_to_node=[1, 2, 3, 2],
        link_length_m=[100.0, 100.0, 100.0, 100.0],
        link_free_speed_mps=[10.0] * 4,
        link_capacity_vph=[1800.0] * 4,
    )
    demand = make_demand([0], [2], [0.0])
    queries = group_route_queries(demand, 300.0)
    table = network.link_free_time_s[None, :]
    paths, times, _ = fastest_query_paths(network, queries, table, 300.0)
    assert paths[0] == (0, 1) and times[0] == pytest.approx(20.0)
    banned = np.zeros(network.turn_count, dtype=bool)
    banned[network.turn_index(0, 1)] = True
    restricted = replace(network, turn_banned=banned)
    paths, times, _ = fastest_query_paths(restricted, queries, table, 300.0)
    assert paths[0] == (0, 2, 3) and times[0] == pytest.approx(30.0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_turn_restricted_search_matches_scipy_on_the_line_graph(seed: int) -> None:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    rng = np.random.default_rng(seed)
    side = 4
    nodes = side * side
    pairs = [(i, i + 1) for i in range(nodes) if (i + 1) % side] + [
        (i, i + side) for i in range(nodes - side)
    ]
    pairs += [(b, a) for a, b in pairs]
    x, y = np.meshgrid(np.arange(side) * 100.0, np.arange(side) * 100.0)
    network = build_sim_network(
        node_count=nodes,
        link_from_node=[a for a, _ in pairs],
        link_to_node=[b for _, b in pairs],
        link_length_m=100.0 * (1.0 + rng.random(len(pairs))),
        link_free_speed_mps=rng.uniform(5.0, 20.0, len(pairs)),
        link_capacity_vph=np.full(len(pairs), 1800.0),
        node_x=x.ravel(),
        node_y=y.ravel(),
    )
    banned = rng.random(network.turn_count) < 0.3
    network = replace(network, turn_banned=banned)
    time_s = network.link_free_time_s
    # line graph: vertex = link (cost of a link paid on entering it), plus a source vertex per origin
    links = network.link_count
    rows, cols, weights = [], [], []
    for a in range(links):
        node = int(network.link_to_node[a])
        start = int(network.node_out_indptr[node])
        for k, b in enumerate(network.node_out_links[start : network.node_out_indptr[node + 1]]):
            if not banned[int(network.link_turn_offset[a]) + k]:
                rows.append(a)
                cols.append(int(b))
                weights.append(time_s[int(b)])
    origin, destinations = 0, np.arange(1, nodes)
    for b in network.node_out_links[network.node_out_indptr[origin] : network.node_out_indptr[origin + 1]]:
        rows.append(links)
        cols.append(int(b))
        weights.append(time_s[int(b)])
    graph = csr_matrix((weights, (rows, cols)), shape=(links + 1, links + 1))
    from_source = dijkstra(graph, indices=links)
    expected = np.array(
        [from_source[:links][network.link_to_node == d].min(initial=np.inf) for d in destinations],
        dtype=float,
    )
    demand = make_demand(np.zeros(destinations.size, dtype=int), destinations, np.zeros(destinations.size))
    queries = group_route_queries(demand, 300.0)
    paths, found, _ = fastest_query_paths(network, queries, time_s[None, :], 300.0)
    order = np.argsort(queries.destination)
    np.testing.assert_allclose(found[order], expected, rtol=1e-9)
    for path in paths:  # no banned turn on any path
        for a, b in pairwise(path):
            assert not banned[network.turn_index(a, b)]
