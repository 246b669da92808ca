"""Bush-based user equilibrium (``bush``): Dial's Algorithm B, to relative gaps of 1e-6 and below.

One bush per (class, origin zone) with demand: an acyclic set of arcs of the search graph
(:class:`~metaliverpool.assign.search.SearchGraph`) leaving the origin, with the origin's flow on each.
Each outer iteration:

1. recomputes link flows exactly from the bushes' flows (no drift from incremental updates);
2. measures the flows (relative gap, excess cost, objective) with the same all-or-nothing routine as every
   other algorithm, and stops if the target is met;
3. runs one sweep that updates every bush (drops arcs without flow that are off its minimum-cost tree,
   adds the arcs that shorten its maximum-cost labels) and shifts flow inside it (``BUSH_PASSES`` times);
4. runs ``INNER_SWEEPS`` sweeps that only shift flow inside the bushes.

Shifts skip the nodes whose used paths differ by no more than ``TOLERANCE_SHARE`` of the measured average
excess cost per trip: most of the work of Algorithm B is tracing the two segments back from each node
where they differ, and nodes that are nearly balanced gain little from it.

Gauss-Seidel: link times are updated after every shift, and the next bush sees them. The kernels are in
:mod:`metaliverpool.kernels.bush`. Flows are in vehicles per class; PCU factors scale their effect on link
times. The first sweep builds Dial's initial bushes (the shortest-path tree at the link times of that
moment plus every arc leading away from the origin) and loads each origin's demand on its tree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metaliverpool.assign.convergence import (
    IterationRecord,
    Workspace,
    compute_link_derivative,
    compute_link_time,
    default_chunks,
    measure_equilibrium,
    record_iteration,
)
from metaliverpool.assign.problem import AssignmentProblem
from metaliverpool.assign.result import AssignmentConfig, AssignmentResult
from metaliverpool.assign.search import SearchGraph
from metaliverpool.kernels.arc_graph import arc_costs
from metaliverpool.kernels.bush import bush_sweep, class_arc_flows

FloatArray = npt.NDArray[np.float64]

BUSH_PASSES = 2
"""Flow shifts per bush each time a sweep visits it."""
INNER_SWEEPS = 1
"""Sweeps that only shift flow (no bush update) after each sweep that updates the bushes."""
TOLERANCE_SHARE = 0.01
"""A node's used paths are equalised only where they differ by more than this share of the measured
average excess cost per trip."""


@dataclass(frozen=True, eq=False)
class BushState:
    """The bushes of a ``bush`` run, for inspection (tests) and reuse.

    Attributes
    ----------
    search:
        The search graph the bushes are on (arc numbers index the arrays below).
    block_class, block_origin:
        int64[blocks]: class and origin zone of each bush.
    in_bush:
        uint8[blocks, arcs]: 1 where the arc belongs to the bush.
    bush_flow:
        float64[blocks, arcs]: vehicles per hour of the block on each arc (0 off the bush).
    order, order_count:
        int32[blocks, nodes], int64[blocks]: the nodes each bush reaches in topological order (origin
        first), ``order[b, :order_count[b]]``.
    """

    search: SearchGraph
    block_class: npt.NDArray[np.int64]
    block_origin: npt.NDArray[np.int64]
    in_bush: npt.NDArray[np.uint8]
    bush_flow: FloatArray
    order: npt.NDArray[np.int32]
    order_count: npt.NDArray[np.int64]


def assign_bush(problem: AssignmentProblem, config: AssignmentConfig) -> AssignmentResult:
    """Run Algorithm B on ``problem`` until ``config`` says stop."""
    return solve_bushes(problem, config)[0]


def solve_bushes(problem: AssignmentProblem, config: AssignmentConfig) -> tuple[AssignmentResult, BushState]:
    """Run Algorithm B on ``problem`` until ``config`` says stop; the result and the final bushes."""
    started = time.perf_counter()
    g = problem.graph
    workspace = Workspace.for_problem(problem, config.chunks or default_chunks(g.zone_count, g.link_count))
    search = workspace.search
    origin_node = g.zone_node[:, None]
    useful = (problem.demand_vph > 0) & (origin_node != g.zone_node[None, :])[None, :, :]
    block_class, block_origin = np.nonzero(useful.any(axis=2))
    blocks, arcs = block_class.size, search.arc_count
    state = BushState(
        search=search,
        block_class=block_class.astype(np.int64),
        block_origin=block_origin.astype(np.int64),
        in_bush=np.zeros((blocks, arcs), dtype=np.uint8),
        bush_flow=np.zeros((blocks, arcs)),
        order=np.zeros((blocks, search.indptr.size - 1), dtype=np.int32),
        order_count=np.zeros(blocks, dtype=np.int64),
    )
    arc_fixed = np.empty((problem.class_count, arcs))
    for k in range(problem.class_count):
        arc_costs(search.link_arc, problem.class_fixed_cost_s[k], arc_fixed[k])
    links = g.link_count
    class_arc_flow = np.zeros((problem.class_count, arcs))
    link_flow_pcu = np.zeros(links)
    link_time_s = np.empty(links)
    link_derivative = np.empty(links)
    arc_time_s = np.empty(arcs)
    arc_derivative = np.empty(arcs)

    def refresh_link_state() -> FloatArray:
        """Class link flows exactly from the bushes; PCU flows, times and derivatives from them."""
        class_arc_flows(state.block_class, state.bush_flow, class_arc_flow)
        class_flow = class_arc_flow[:, search.link_arc]
        np.dot(problem.class_pcu, class_flow, out=link_flow_pcu)
        compute_link_time(problem, link_flow_pcu, link_time_s)
        compute_link_derivative(problem, link_flow_pcu, link_derivative)
        arc_costs(search.link_arc, link_time_s, arc_time_s)
        arc_costs(search.link_arc, link_derivative, arc_derivative)
        return class_flow

    def sweep(start: bool, update: bool, tolerance_s: float) -> float:
        return float(
            bush_sweep(
                search.indptr,
                search.arc_tail,
                search.arc_head,
                search.arc_link_indptr,
                search.arc_links,
                search.blocked,
                search.is_target,
                search.zone_node,
                g.link_vdf,
                g.link_free_time_s,
                g.link_alpha,
                g.link_beta,
                g.link_capacity_vph,
                arc_fixed,
                problem.class_pcu,
                state.block_class,
                state.block_origin,
                problem.demand_vph,
                link_flow_pcu,
                link_time_s,
                link_derivative,
                arc_time_s,
                arc_derivative,
                state.in_bush,
                state.bush_flow,
                state.order,
                state.order_count,
                start,
                update,
                BUSH_PASSES,
                tolerance_s,
            )
        )

    refresh_link_state()
    sweep(True, False, 0.0)  # Dial's initial bushes, each origin loaded on its tree, then equilibrated
    history: list[IterationRecord] = []
    previous_pcu: FloatArray | None = None
    iteration = 0
    while True:
        iteration += 1
        class_flow = refresh_link_state()
        measure = measure_equilibrium(problem, class_flow, workspace)
        elapsed = time.perf_counter() - started
        v = link_flow_pcu.copy()
        history.append(record_iteration(iteration, measure, previous_pcu, v, float("nan"), elapsed))
        previous_pcu = v
        if config.should_stop(measure.relative_gap, iteration, elapsed):
            result = AssignmentResult.from_measure(
                "bush", problem, class_flow, v, measure, iteration, config, started, history
            )
            return result, state
        tolerance_s = TOLERANCE_SHARE * measure.average_excess_cost_s
        sweep(False, True, tolerance_s)
        for _ in range(INNER_SWEEPS):
            sweep(False, False, tolerance_s)
