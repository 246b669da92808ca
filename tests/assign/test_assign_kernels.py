"""Each numba kernel against a plain-Python reference on hypothesis-generated inputs."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from metaliverpool.assign.search import SearchGraph
from metaliverpool.kernels import vdf
from metaliverpool.kernels.shortest_path import arc_tree
from metaliverpool.network.graph import RoadGraph


@st.composite
def random_graphs(draw: st.DrawFn) -> tuple[RoadGraph, np.ndarray, np.ndarray]:
    """A small graph (parallel links, self-loops and zero costs allowed), link costs and a demand matrix."""
    nodes = draw(st.integers(2, 8))
    links = draw(
        st.lists(st.tuples(st.integers(0, nodes - 1), st.integers(0, nodes - 1)), min_size=1, max_size=20)
    )
    cost = draw(
        st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.25]), min_size=len(links), max_size=len(links))
    )
    zones = draw(st.integers(1, nodes))
    first_thru = draw(st.integers(0, zones))
    demand = np.array(
        draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, 10.0]), min_size=zones * zones, max_size=zones * zones))
    ).reshape(zones, zones)
    graph = RoadGraph.from_arrays(
        node_count=nodes,
        link_from=[a for a, _ in links],
        link_to=[b for _, b in links],
        link_capacity_vph=1.0,
        link_free_time_s=1.0,
        zone_node=np.arange(zones),
        first_thru_node=first_thru,
    )
    return graph, np.array(cost), demand


def reference_dijkstra(graph: RoadGraph, cost: np.ndarray, origin: int) -> list[float]:
    """Textbook Dijkstra with heapq, honouring the first-thru-node rule."""
    dist = [math.inf] * graph.node_count
    dist[origin] = 0.0
    heap = [(0.0, origin)]
    done = set()
    while heap:
        d, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        if node < graph.first_thru_node and node != origin:
            continue
        for link in range(graph.link_count):
            if graph.link_from[link] == node and d + cost[link] < dist[graph.link_to[link]]:
                dist[graph.link_to[link]] = d + cost[link]
                heapq.heappush(heap, (dist[graph.link_to[link]], int(graph.link_to[link])))
    return dist


def run_tree(
    graph: RoadGraph, cost: np.ndarray, origin: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """:func:`arc_tree` on the graph's own CSR form (every node a target); ``pred`` as link numbers."""
    n = graph.node_count
    out_cost, pred, order = np.empty(n), np.empty(n, np.int64), np.empty(n, np.int64)
    count = arc_tree(
        graph.indptr, graph.link_to[graph.csr_link].astype(np.int64), cost[graph.csr_link], origin,
        np.arange(n) < graph.first_thru_node, np.ones(n, dtype=np.bool_), n,
        out_cost, pred, order, np.empty(graph.link_count + 1), np.empty(graph.link_count + 1, np.int64),
    )  # fmt: skip
    return out_cost, np.where(pred >= 0, graph.csr_link[pred], -1), order, count


@settings(max_examples=150, deadline=None)
@given(random_graphs())
def test_dijkstra_matches_reference(case: tuple[RoadGraph, np.ndarray, np.ndarray]) -> None:
    graph, cost, _ = case
    for origin in range(graph.node_count):
        out_cost, pred, order, count = run_tree(graph, cost, origin)
        np.testing.assert_allclose(out_cost, reference_dijkstra(graph, cost, origin))
        assert count == int(np.isfinite(out_cost).sum()) and order[0] == origin
        for node in range(graph.node_count):
            link = pred[node]
            if node == origin or not np.isfinite(out_cost[node]):
                assert link == -1
            else:  # the tree link is tight and never leaves a blocked centroid
                tail = graph.link_from[link]
                assert graph.link_to[link] == node
                assert math.isclose(out_cost[node], out_cost[tail] + cost[link], abs_tol=1e-12)
                assert tail == origin or tail >= graph.first_thru_node
        settled = out_cost[order[:count]]
        assert np.all(np.diff(settled) >= 0)  # settled in cost order


@settings(max_examples=150, deadline=None)
@given(random_graphs(), st.integers(1, 3))
def test_all_or_nothing_loads_shortest_paths(
    case: tuple[RoadGraph, np.ndarray, np.ndarray], chunks: int
) -> None:
    graph, cost, demand = case
    zones = graph.zone_count
    flow, zone_cost = np.empty(graph.link_count), np.empty((zones, zones))
    search = SearchGraph.build(graph)
    search.load(
        cost, demand, flow, zone_cost, np.empty(search.arc_count), np.empty((chunks, search.arc_count))
    )
    reference = np.array(
        [[reference_dijkstra(graph, cost, o)[d] for d in range(zones)] for o in range(zones)]
    )
    np.testing.assert_allclose(zone_cost, reference)
    routable = demand * (np.isfinite(reference) & ~np.eye(zones, dtype=bool))
    assert np.all(flow >= 0)
    # conservation at every node: in + produced == out + attracted (only routable demand is loaded)
    balance = np.zeros(graph.node_count)
    np.add.at(balance, graph.link_to, flow)
    np.subtract.at(balance, graph.link_from, flow)
    balance[:zones] += routable.sum(axis=1) - routable.sum(axis=0)
    np.testing.assert_allclose(balance, 0.0, atol=1e-9)
    # all flow is on shortest paths: total cost equals demand times shortest cost
    finite = routable > 0
    assert math.isclose(float(cost @ flow), float(np.sum(routable[finite] * reference[finite])), abs_tol=1e-9)
    # no through traffic at blocked centroids: what leaves one is what it produces
    out_flow = np.zeros(graph.node_count)
    np.add.at(out_flow, graph.link_from, flow)
    for node in range(graph.first_thru_node):
        assert math.isclose(out_flow[node], routable[node].sum(), abs_tol=1e-9)


def python_time(kind: int, t0: float, alpha: float, beta: float, cap: float, v: float) -> float:
    if alpha == 0 or t0 == 0:
        return t0
    x = v / cap
    if kind == vdf.VDF_BPR:
        return t0 * (1 + alpha * x**beta)
    b = (2 * alpha - 1) / (2 * alpha - 2)
    return t0 * (2 + math.sqrt(alpha**2 * (1 - x) ** 2 + b**2) - alpha * (1 - x) - b)


vdf_cases = st.tuples(
    st.sampled_from([vdf.VDF_BPR, vdf.VDF_CONICAL]),
    st.floats(0.01, 100.0),
    st.floats(1.05, 10.0),
    st.sampled_from([1.0, 2.0, 4.0, 5.5]),
    st.floats(1.0, 1e4),
    st.floats(0.0, 3.0),
)


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@settings(max_examples=200, deadline=None)
@given(vdf_cases)
def test_vdf_time_derivative_integral(case: tuple[int, float, float, float, float, float]) -> None:
    kind, t0, alpha, beta, cap, ratio = case
    alpha = alpha if kind == vdf.VDF_CONICAL else alpha - 1.0  # BPR alpha in 0.05..9
    v = ratio * cap
    one = lambda a: np.array([a])  # noqa: E731
    args = (one(kind).astype(np.int8), one(t0), one(alpha), one(beta), one(cap))
    out = np.empty(1)
    vdf.link_time(*args, one(v), out)
    assert math.isclose(out[0], python_time(kind, t0, alpha, beta, cap, v), rel_tol=1e-12)
    vdf.link_time_derivative(*args, one(v), out)
    h = 1e-5 * v
    if v > 1e-3 * cap:
        numeric = (
            python_time(kind, t0, alpha, beta, cap, v + h) - python_time(kind, t0, alpha, beta, cap, v - h)
        ) / (2 * h)
        roundoff = 1e-15 * python_time(kind, t0, alpha, beta, cap, v) / h
        assert math.isclose(out[0], numeric, rel_tol=1e-5, abs_tol=roundoff)
    both = vdf.time_and_derivative_one(kind, t0, alpha, beta, cap, v)  # the path sweeps' shared power
    assert math.isclose(both[1], out[0], rel_tol=1e-12)
    assert math.isclose(both[0], python_time(kind, t0, alpha, beta, cap, v), rel_tol=1e-12)
    integral = vdf.sum_time_integral(*args, one(v))
    expected, _ = integrate.quad(
        lambda w: python_time(kind, t0, alpha, beta, cap, w), 0.0, v, epsabs=0, epsrel=1e-12
    )
    assert math.isclose(integral, expected, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 500.0), st.floats(-300.0, 300.0), st.floats(0.5, 10.0)),
        min_size=1,
        max_size=6,
    ),
    st.floats(-50.0, 50.0),
)
def test_line_search_finds_the_stationary_step(links: list[tuple[float, float, float]], fixed: float) -> None:
    flow = np.array([f for f, _, _ in links])
    direction = np.array([d for _, d, _ in links])
    direction = np.maximum(direction, -flow)  # stay feasible at step 1
    t0 = np.array([t for _, _, t in links])
    n = len(links)
    args = (np.zeros(n, np.int8), t0, np.full(n, 0.15), np.full(n, 4.0), np.full(n, 100.0))
    step = vdf.line_search_step(*args, flow, direction, fixed, 1.0)

    def slope(s: float) -> float:
        x = flow + s * direction
        return fixed + sum(
            d * python_time(0, t, 0.15, 4.0, 100.0, xi) for d, t, xi in zip(direction, t0, x, strict=True)
        )

    assert 0.0 <= step <= 1.0
    if 0.0 < step < 1.0:
        scale = fixed + float(np.abs(direction) @ (t0 * 20))
        assert abs(slope(step)) <= 1e-9 * max(1.0, scale)
    elif step == 0.0:
        assert slope(0.0) >= -1e-9
    else:
        assert slope(1.0) <= 1e-9
