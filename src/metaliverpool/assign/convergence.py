"""How close a set of link flows is to user equilibrium, measured from the flows alone.

:func:`measure_equilibrium` needs nothing but the problem and the class link flows: it computes link
times from the volume-delay functions, grows shortest-path trees for every class and compares the cost
of what is assigned with the cost of everyone on a shortest path. The same function judges our flows and
a peer's (``bench/assign.py``), so the gap reported does not depend on the solver.

Definitions (PCU-weighted over classes; one class with PCU 1 gives the textbook ones):

- total cost ``TC = sum_k pcu_k sum_a c_ka x_ka``;
- shortest-path cost ``SPC = sum_k pcu_k sum_od d_kod pi_kod``;
- relative gap ``(TC - SPC) / TC`` (never negative: a difference below zero, which only rounding can
  produce, is reported as 0);
- average excess cost ``(TC - SPC) / sum_k pcu_k sum_od d_kod`` (seconds per PCU trip);
- Beckmann objective ``sum_a int_0^v_a t_a + sum_k pcu_k sum_a fixed_ka x_ka`` (s * PCU/h);
- TAG M3.1 stability: the share of links whose PCU flow changed by less than 1% since the previous
  iteration (the DfT asks for more than 98% in four successive iterations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import get_num_threads

from metaliverpool.assign.problem import AssignmentProblem
from metaliverpool.assign.search import SearchGraph
from metaliverpool.errors import InputError
from metaliverpool.kernels.vdf import link_time, link_time_derivative, sum_time_integral

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class IterationRecord:
    """One iteration of an algorithm: convergence measures of the flows at its start, and its step."""

    iteration: int
    relative_gap: float
    average_excess_cost_s: float
    objective: float
    stability: float
    step: float
    elapsed_s: float


@dataclass(frozen=True, eq=False)
class EquilibriumMeasure:
    """Measures of one set of flows plus the all-or-nothing flows at their costs (a descent direction)."""

    relative_gap: float
    average_excess_cost_s: float
    objective: float
    total_cost: float
    shortest_path_cost: float
    link_time_s: FloatArray
    aon_class_flow: FloatArray
    zone_cost_s: FloatArray


@dataclass(frozen=True, eq=False)
class Workspace:
    """The search graph and scratch arrays reused across iterations (one per problem and thread split)."""

    search: SearchGraph
    link_time_s: FloatArray
    link_cost_s: FloatArray
    arc_cost: FloatArray
    chunk_flow: FloatArray

    @classmethod
    def for_problem(cls, problem: AssignmentProblem, chunks: int) -> Workspace:
        """Build the search graph of ``problem`` and scratch arrays for ``chunks`` parallel origin chunks."""
        links = problem.graph.link_count
        search = SearchGraph.build(problem.graph)
        arcs = search.arc_count
        return cls(search, np.empty(links), np.empty(links), np.empty(arcs), np.empty((max(1, chunks), arcs)))


PARALLEL_MIN_WORK = 2_000_000
"""Zones x links above which the all-or-nothing loading runs in parallel by default."""


def default_chunks(zone_count: int, link_count: int) -> int:
    """Parallel origin chunks by default: 1 (serial) for small networks, else the numba thread count.

    Small networks load in well under a millisecond; waking a thread pool on a shared machine costs more.
    """
    if zone_count * link_count < PARALLEL_MIN_WORK:
        return 1
    return max(1, min(get_num_threads(), zone_count))


def compute_link_time(problem: AssignmentProblem, link_flow_pcu: FloatArray, out: FloatArray) -> FloatArray:
    """Volume-delay time (s) of every link at ``link_flow_pcu`` into ``out``."""
    g = problem.graph
    link_time(
        g.link_vdf, g.link_free_time_s, g.link_alpha, g.link_beta, g.link_capacity_vph, link_flow_pcu, out
    )
    return out


def compute_link_derivative(
    problem: AssignmentProblem, link_flow_pcu: FloatArray, out: FloatArray
) -> FloatArray:
    """Derivative of the volume-delay time by flow (s per PCU/h) of every link at ``link_flow_pcu`` into
    ``out``."""
    g = problem.graph
    link_time_derivative(
        g.link_vdf, g.link_free_time_s, g.link_alpha, g.link_beta, g.link_capacity_vph, link_flow_pcu, out
    )
    return out


def compute_objective(problem: AssignmentProblem, class_flow: FloatArray, link_flow_pcu: FloatArray) -> float:
    """Beckmann objective (s * PCU/h) of the class flows."""
    g = problem.graph
    integral = sum_time_integral(
        g.link_vdf, g.link_free_time_s, g.link_alpha, g.link_beta, g.link_capacity_vph, link_flow_pcu
    )
    fixed = float(np.einsum("k,kl,kl->", problem.class_pcu, problem.class_fixed_cost_s, class_flow))
    return float(integral) + fixed


def load_classes(
    problem: AssignmentProblem,
    link_time_s: FloatArray,
    workspace: Workspace,
    out_class_flow: FloatArray,
    out_zone_cost: FloatArray,
) -> None:
    """All-or-nothing flows of every class at link times ``link_time_s`` (plus class fixed costs).

    Raises
    ------
    InputError
        Positive demand between zones with no path.
    """
    g = problem.graph
    for k in range(problem.class_count):
        cost = workspace.link_cost_s
        np.add(link_time_s, problem.class_fixed_cost_s[k], out=cost)
        workspace.search.load(
            cost,
            problem.demand_vph[k],
            out_class_flow[k],
            out_zone_cost[k],
            workspace.arc_cost,
            workspace.chunk_flow,
        )
        unreachable = np.isinf(out_zone_cost[k]) & (problem.demand_vph[k] > 0)
        if np.any(unreachable):
            origin, destination = np.argwhere(unreachable)[0]
            raise InputError(
                f"class {problem.classes[k].name}",
                f"demand {problem.demand_vph[k][origin, destination]} but no path in the network",
                where=f"zone {origin} -> zone {destination} (node {g.node_external_id[g.zone_node[origin]]}"
                f" -> node {g.node_external_id[g.zone_node[destination]]})",
            )


def measure_equilibrium(
    problem: AssignmentProblem, class_flow: FloatArray, workspace: Workspace | None = None
) -> EquilibriumMeasure:
    """Relative gap, average excess cost and Beckmann objective of ``class_flow`` (float64[classes, links]).

    Also returns the link times and the all-or-nothing flows at those times, which the Frank-Wolfe family
    uses as its next direction.
    """
    class_flow = np.asarray(class_flow, dtype=np.float64)
    if workspace is None:
        workspace = Workspace.for_problem(problem, 1)
    link_flow_pcu = problem.class_pcu @ class_flow
    time_s = compute_link_time(problem, link_flow_pcu, np.empty(problem.graph.link_count))
    aon = np.empty_like(class_flow)
    zone_cost = np.empty_like(problem.demand_vph)
    load_classes(problem, time_s, workspace, aon, zone_cost)
    total = float(
        np.einsum("k,kl,kl->", problem.class_pcu, time_s[None, :] + problem.class_fixed_cost_s, class_flow)
    )
    positive = problem.demand_vph > 0
    spent = np.zeros_like(zone_cost)
    np.multiply(problem.demand_vph, zone_cost, out=spent, where=positive)
    shortest = float(problem.class_pcu @ spent.sum(axis=(1, 2)))
    trips = float(problem.class_pcu @ problem.demand_vph.sum(axis=(1, 2)))
    excess = max(0.0, total - shortest)  # SPC <= TC for any feasible flows; below 0 only by rounding
    return EquilibriumMeasure(
        relative_gap=excess / total if total > 0 else 0.0,
        average_excess_cost_s=excess / trips if trips > 0 else 0.0,
        objective=compute_objective(problem, class_flow, link_flow_pcu),
        total_cost=total,
        shortest_path_cost=shortest,
        link_time_s=time_s,
        aon_class_flow=aon,
        zone_cost_s=zone_cost,
    )


def stability_share(previous_pcu: FloatArray | None, current_pcu: FloatArray) -> float:
    """TAG M3.1 stability: share of links whose flow changed by less than 1% (NaN on the first iteration).

    A link with no flow before counts as stable only if it still has none.
    """
    if previous_pcu is None:
        return float("nan")
    change = np.abs(current_pcu - previous_pcu)
    stable = np.where(previous_pcu > 0, change < 0.01 * previous_pcu, current_pcu == 0)
    return float(np.mean(stable)) if stable.size else 1.0


def record_iteration(
    iteration: int,
    measure: EquilibriumMeasure,
    previous_pcu: FloatArray | None,
    current_pcu: FloatArray,
    step: float,
    elapsed_s: float,
) -> IterationRecord:
    """The history record of one iteration: ``measure`` of its flows ``current_pcu`` (PCU/h), their
    stability against ``previous_pcu``, the ``step`` taken (NaN where none) and the wall time so far (s)."""
    return IterationRecord(
        iteration=iteration,
        relative_gap=measure.relative_gap,
        average_excess_cost_s=measure.average_excess_cost_s,
        objective=measure.objective,
        stability=stability_share(previous_pcu, current_pcu),
        step=step,
        elapsed_s=elapsed_s,
    )


def node_flow_imbalance(problem: AssignmentProblem, class_flow: FloatArray) -> FloatArray:
    """Per class and node: inflow + trips produced - outflow - trips attracted (veh/h; zero is conserved).

    float64[classes, nodes]. Dead ends, zone nodes and ordinary junctions are all checked.
    """
    g = problem.graph
    imbalance = np.zeros((problem.class_count, g.node_count))
    for k in range(problem.class_count):
        np.add.at(imbalance[k], g.link_to, class_flow[k])
        np.subtract.at(imbalance[k], g.link_from, class_flow[k])
        np.add.at(imbalance[k], g.zone_node, problem.demand_vph[k].sum(axis=1))
        np.subtract.at(imbalance[k], g.zone_node, problem.demand_vph[k].sum(axis=0))
    return imbalance
