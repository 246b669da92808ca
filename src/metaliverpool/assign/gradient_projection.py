"""Path-based gradient projection (``gp``): equilibria to relative gaps of 1e-8 and below.

Each outer iteration:

1. recomputes link flows exactly from path flows (no drift from incremental updates);
2. measures the flows (relative gap, excess cost, objective) with the same all-or-nothing routine as every
   other algorithm, and stops if the target is met;
3. runs one sweep that grows a shortest-path tree per (class, origin) on the contracted search graph
   (:class:`~metaliverpool.assign.search.SearchGraph`), adds each destination's tree path to its OD pair's
   set unless a known path of the set costs as little, and moves flow towards the cheapest path of each set
   (Gauss-Seidel: link times are updated after every move, and the next origin's tree sees them);
4. runs ``config.inner_sweeps`` cheaper sweeps over the known path sets only, stopping early when flows no
   longer move.

The kernels are in :mod:`metaliverpool.kernels.path_gp`. Flows are in vehicles per class; PCU factors scale
their effect on link times.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

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
from metaliverpool.assign.result import AssignmentConfig, AssignmentResult, PathFlows
from metaliverpool.kernels.path_gp import collect_paths, gp_sweep, link_flows_from_paths


def assign_gradient_projection(problem: AssignmentProblem, config: AssignmentConfig) -> AssignmentResult:
    """Run path-based gradient projection on ``problem`` until ``config`` says stop."""
    started = time.perf_counter()
    g = problem.graph
    workspace = Workspace.for_problem(problem, config.chunks or default_chunks(g.zone_count, g.link_count))
    search = workspace.search

    classes, origins, destinations = np.nonzero(problem.demand_vph > 0)
    same_node = g.zone_node[origins] == g.zone_node[destinations]
    classes, origins, destinations = classes[~same_node], origins[~same_node], destinations[~same_node]
    od_class = classes.astype(np.int64)
    od_origin = origins.astype(np.int64)
    od_dest = destinations.astype(np.int64)
    od_demand = problem.demand_vph[classes, origins, destinations].astype(np.float64)
    key = od_class * g.zone_count + od_origin
    boundaries = np.flatnonzero(np.diff(key)) + 1 if key.size else np.zeros(0, dtype=np.int64)
    block_start = np.concatenate(([0], boundaries, [key.size])).astype(np.int64)
    if key.size == 0:
        block_start = np.zeros(1, dtype=np.int64)
    od_head = np.full(key.size, -1, dtype=np.int64)

    links = g.link_count
    capacity = max(16, 2 * key.size)
    path_links = np.empty(max(64, capacity * 8), dtype=np.int32)
    path_start = np.empty(capacity, dtype=np.int64)
    path_len = np.empty(capacity, dtype=np.int32)
    path_flow = np.zeros(capacity, dtype=np.float64)
    path_next = np.empty(capacity, dtype=np.int64)
    path_hash = np.empty(capacity, dtype=np.uint64)
    counters = np.zeros(3, dtype=np.int64)
    mark_a = np.full(links, -10, dtype=np.int64)
    mark_b = np.full(links, -10, dtype=np.int64)

    class_flow = np.zeros((problem.class_count, links))
    link_flow_pcu = np.zeros(links)
    link_time_s = np.empty(links)
    link_derivative = np.empty(links)

    def refresh_link_state() -> None:
        link_flows_from_paths(
            od_class,
            od_head,
            problem.class_pcu,
            path_links,
            path_start,
            path_len,
            path_flow,
            path_next,
            class_flow,
            link_flow_pcu,
        )
        compute_link_time(problem, link_flow_pcu, link_time_s)
        compute_link_derivative(problem, link_flow_pcu, link_derivative)

    def sweep(find_paths: bool) -> None:
        nonlocal path_links, path_start, path_len, path_flow, path_next, path_hash
        path_links, path_start, path_len, path_flow, path_next, path_hash = gp_sweep(
            search.indptr,
            search.arc_tail,
            search.arc_head,
            search.link_arc,
            search.arc_link_indptr,
            search.arc_links,
            search.blocked,
            search.is_target,
            search.target_count,
            search.zone_node,
            g.link_vdf,
            g.link_free_time_s,
            g.link_alpha,
            g.link_beta,
            g.link_capacity_vph,
            problem.class_fixed_cost_s,
            problem.class_pcu,
            od_class,
            od_origin,
            od_dest,
            od_demand,
            block_start,
            od_head,
            link_flow_pcu,
            class_flow,
            link_time_s,
            link_derivative,
            path_links,
            path_start,
            path_len,
            path_flow,
            path_next,
            path_hash,
            counters,
            find_paths,
            mark_a,
            mark_b,
        )

    refresh_link_state()
    sweep(True)  # initial loading: every OD pair on its free-flow shortest path, then equilibrated
    history: list[IterationRecord] = []
    previous_pcu: np.ndarray | None = None
    iteration = 0
    while True:
        iteration += 1
        refresh_link_state()
        measure = measure_equilibrium(problem, class_flow, workspace)
        elapsed = time.perf_counter() - started
        v = link_flow_pcu.copy()
        history.append(record_iteration(iteration, measure, previous_pcu, v, float("nan"), elapsed))
        previous_pcu = v
        if config.should_stop(measure.relative_gap, iteration, elapsed):
            result = AssignmentResult.from_measure(
                "gp", problem, class_flow.copy(), v, measure, iteration, config, started, history
            )
            path_od, flow, indptr, links_of_paths = collect_paths(
                od_head, path_links, path_start, path_len, path_flow, path_next
            )
            paths = PathFlows(od_class, od_origin, od_dest, od_demand, path_od, flow, indptr, links_of_paths)
            return dataclasses.replace(result, paths=paths)
        sweep(True)
        for _ in range(config.inner_sweeps):
            before = link_flow_pcu.copy()
            sweep(False)
            if np.max(np.abs(link_flow_pcu - before)) <= 1e-9 * max(1.0, float(np.max(link_flow_pcu))):
                break
