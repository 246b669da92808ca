"""Properties of the bushes of ``bush`` (Dial's Algorithm B): acyclic, conserving each origin's flow, never
through a centroid, and the same equilibrium as path-based gradient projection."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from metaliverpool.assign.bush import solve_bushes
from metaliverpool.assign.problem import AssignmentProblem
from metaliverpool.assign.result import AssignmentConfig
from metaliverpool.assign.run import assign

from .test_assign_equilibrium import random_problems


def has_cycle(node_count: int, tails: np.ndarray, heads: np.ndarray) -> bool:
    """Whether the arcs ``tails -> heads`` contain a directed cycle (plain-Python depth-first search)."""
    successors: list[list[int]] = [[] for _ in range(node_count)]
    for tail, head in zip(tails.tolist(), heads.tolist(), strict=True):
        successors[tail].append(head)
    state = [0] * node_count  # 0 new, 1 on the stack, 2 done
    for root in range(node_count):
        if state[root]:
            continue
        stack = [(root, iter(successors[root]))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state[child] == 1:
                return True
            elif state[child] == 0:
                state[child] = 1
                stack.append((child, iter(successors[child])))
    return False


@settings(max_examples=40, deadline=None)
@given(random_problems(max_nodes=8, max_extra=14))
def test_bushes_are_acyclic_and_conserve_each_origin(problem: AssignmentProblem) -> None:
    result, state = solve_bushes(problem, AssignmentConfig(target_gap=1e-9, max_iterations=60))
    search = state.search
    nodes = search.indptr.size - 1
    for b in range(state.block_class.size):
        inside = state.in_bush[b] == 1
        flow = state.bush_flow[b]
        assert np.all(flow >= 0.0)
        assert np.all(flow[~inside] == 0.0)  # flow only on the bush
        assert not has_cycle(nodes, search.arc_tail[inside], search.arc_head[inside])
        # the stored order is topological: every bush arc goes forward in it
        position = np.full(nodes, -1)
        order = state.order[b, : state.order_count[b]]
        position[order] = np.arange(order.size)
        assert np.all(position[search.arc_tail[inside]] >= 0)
        assert np.all(position[search.arc_tail[inside]] < position[search.arc_head[inside]])
        origin = search.zone_node[state.block_origin[b]]
        assert order[0] == origin
        # never through a centroid: no bush arc leaves a blocked node other than the origin
        leaving_blocked = search.blocked[search.arc_tail] & (search.arc_tail != origin)
        assert not np.any(inside & leaving_blocked)
        # conservation of this origin's flow at every node: out - in = produced - attracted
        net = np.zeros(nodes)
        np.add.at(net, search.arc_tail, flow)
        np.subtract.at(net, search.arc_head, flow)
        demand = problem.demand_vph[state.block_class[b], state.block_origin[b]].copy()
        demand[search.zone_node == origin] = 0.0  # trips within the origin's node use no arc
        expected = np.zeros(nodes)
        np.subtract.at(expected, search.zone_node, demand)
        expected[origin] += demand.sum()
        np.testing.assert_allclose(net, expected, atol=1e-9 * max(1.0, demand.sum()))
    # the link flows returned are those of the bushes
    arc_flow = state.bush_flow.sum(axis=0)
    np.testing.assert_allclose(result.class_flow_vph[0], arc_flow[search.link_arc], rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(random_problems(max_nodes=7, max_extra=10))
def test_bush_reaches_the_equilibrium_of_gradient_projection(problem: AssignmentProblem) -> None:
    config = AssignmentConfig(target_gap=1e-10, max_iterations=1000)
    bush = assign(problem, "bush", config)
    gp = assign(problem, "gp", config)
    assert bush.relative_gap <= 1e-8
    # the Beckmann objective is strictly convex in link flows: one equilibrium
    assert bush.objective == pytest.approx(gp.objective, rel=1e-8, abs=1e-9)
    scale = max(1.0, float(np.max(gp.link_flow_pcu)))
    np.testing.assert_allclose(bush.link_flow_pcu, gp.link_flow_pcu, atol=1e-3 * scale)
