"""The contracted search graph loads what the full graph loads (hypothesis-generated graphs with chains):
zone-to-zone costs of a textbook Dijkstra on the full graph, every trip on a shortest path."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metaliverpool.assign.search import SearchGraph
from metaliverpool.network.graph import RoadGraph

from .test_assign_kernels import reference_dijkstra

COSTS = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.25])


@st.composite
def graphs_with_chains(draw: st.DrawFn) -> tuple[RoadGraph, np.ndarray, np.ndarray, int]:
    """A small random graph whose nodes are joined by extra chains of pass-through nodes (one-way or two-way)
    and which may hold a ring of pass-through nodes; link costs, demand, and the node count the search graph
    must have (base nodes, the middle node of a one-node chain back to its start, one node of the ring)."""
    nodes = draw(st.integers(2, 7))
    links = draw(st.lists(st.tuples(st.integers(0, nodes - 1), st.integers(0, nodes - 1)), max_size=14))
    expected = nodes
    chains = draw(
        st.lists(
            st.tuples(st.integers(0, nodes - 1), st.integers(0, nodes - 1), st.integers(1, 3), st.booleans()),
            min_size=1,
            max_size=6,
        )
    )
    total = nodes
    for a, b, length, two_way in chains:
        inner = list(range(total, total + length))
        total += length
        path = [a, *inner, b]
        links += list(pairwise(path))
        if two_way:
            links += list(pairwise(path[::-1]))
        if a == b and length == 1:  # a -> m -> a: m turns back, so it is kept
            expected += 1
    if draw(st.booleans()):  # a ring reached by no other link: one of its nodes is kept
        ring = [total, total + 1, total + 2]
        total += 3
        links += [(ring[0], ring[1]), (ring[1], ring[2]), (ring[2], ring[0])]
        expected += 1
    zones = nodes  # every base node is a zone, so only chain and ring nodes can be contracted
    graph = RoadGraph.from_arrays(
        node_count=total,
        link_from=[a for a, _ in links],
        link_to=[b for _, b in links],
        link_capacity_vph=1.0,
        link_free_time_s=1.0,
        zone_node=np.arange(zones),
        first_thru_node=draw(st.integers(0, zones)),
    )
    cost = np.array(draw(st.lists(COSTS, min_size=len(links), max_size=len(links))))
    demand = np.array(
        draw(st.lists(st.sampled_from([0.0, 1.0, 2.5]), min_size=zones * zones, max_size=zones * zones))
    ).reshape(zones, zones)
    return graph, cost, demand, expected


@settings(max_examples=200, deadline=None)
@given(graphs_with_chains(), st.integers(1, 3))
def test_search_graph_loads_like_the_full_graph(
    case: tuple[RoadGraph, np.ndarray, np.ndarray, int], chunks: int
) -> None:
    graph, cost, demand, expected_nodes = case
    search = SearchGraph.build(graph)
    zones, links = graph.zone_count, graph.link_count
    # a chain between two different nodes is one arc: its inner nodes are gone from the search
    assert search.indptr.shape[0] - 1 == expected_nodes
    assert np.array_equal(np.sort(np.unique(search.link_arc)), np.arange(search.arc_count))

    full_cost = np.array([reference_dijkstra(graph, cost, o)[:zones] for o in range(zones)])
    flow, zone_cost = np.full(links, np.nan), np.full((zones, zones), np.nan)
    search.load(
        cost, demand, flow, zone_cost, np.empty(search.arc_count), np.empty((chunks, search.arc_count))
    )

    np.testing.assert_allclose(zone_cost, full_cost)
    # every routable trip on a shortest path: total cost is demand times shortest cost
    routable = demand * (np.isfinite(full_cost) & ~np.eye(zones, dtype=bool))
    np.testing.assert_allclose(
        flow @ cost, np.sum(routable[routable > 0] * full_cost[routable > 0]), atol=1e-9
    )
    balance = np.zeros(graph.node_count)
    np.add.at(balance, graph.link_to, flow)
    np.subtract.at(balance, graph.link_from, flow)
    np.add.at(balance, graph.zone_node, full_flow_produced(full_cost, demand))
    np.subtract.at(balance, graph.zone_node, full_flow_produced(full_cost.T, demand.T))
    np.testing.assert_allclose(balance, 0.0, atol=1e-9)
    assert np.all(flow >= 0)


def full_flow_produced(zone_cost: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Trips each zone sends that can be routed (reachable, not intrazonal)."""
    routable = demand * (np.isfinite(zone_cost) & ~np.eye(demand.shape[0], dtype=bool))
    return routable.sum(axis=1)
