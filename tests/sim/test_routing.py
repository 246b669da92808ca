"""Time-dependent route search: A* towards a single destination finds the same costs as plain Dijkstra."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
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
