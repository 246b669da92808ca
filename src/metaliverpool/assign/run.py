"""One entry point for every algorithm, and the kernel warm-up that keeps compile time out of timings.

``assign(problem, algorithm, config)`` runs ``msa``, ``fw``, ``cfw``, ``bfw`` (link-based, see
:mod:`metaliverpool.assign.linear`), ``gp`` (path-based gradient projection, see
:mod:`metaliverpool.assign.gradient_projection`) or ``bush`` (Dial's Algorithm B, see
:mod:`metaliverpool.assign.bush`). :func:`compile_kernels` runs every kernel once on a
three-node network so the numba compilation (or the load from numba's on-disk cache) happens before, and
is timed apart from, the assignment.
"""

from __future__ import annotations

import time

import numpy as np

from metaliverpool.assign.bush import assign_bush
from metaliverpool.assign.gradient_projection import assign_gradient_projection
from metaliverpool.assign.linear import LINEAR_ALGORITHMS, assign_linear
from metaliverpool.assign.problem import AssignmentProblem, UserClass
from metaliverpool.assign.result import AssignmentConfig, AssignmentResult
from metaliverpool.assign.search import SearchGraph
from metaliverpool.errors import InputError
from metaliverpool.network.graph import RoadGraph

ALGORITHMS = (*LINEAR_ALGORITHMS, "gp", "bush")
"""Names accepted by :func:`assign`."""


def assign(
    problem: AssignmentProblem, algorithm: str = "gp", config: AssignmentConfig | None = None
) -> AssignmentResult:
    """Solve ``problem`` with ``algorithm`` (one of :data:`ALGORITHMS`).

    Raises
    ------
    InputError
        An unknown algorithm name, or demand between zones with no path.
    """
    config = config or AssignmentConfig()
    if algorithm == "gp":
        return assign_gradient_projection(problem, config)
    if algorithm == "bush":
        return assign_bush(problem, config)
    if algorithm in LINEAR_ALGORITHMS:
        return assign_linear(problem, algorithm, config)
    raise InputError(
        "--algorithm", f"unknown algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}"
    )


def compile_kernels() -> float:
    """Compile (or load from cache) every assignment kernel; returns the seconds it took."""
    started = time.perf_counter()
    graph = RoadGraph.from_arrays(
        node_count=3,
        link_from=[0, 1, 0],
        link_to=[1, 2, 2],
        link_capacity_vph=[10.0, 10.0, 5.0],
        link_free_time_s=[1.0, 1.0, 3.0],
        zone_node=[0, 2],
    )
    problem = AssignmentProblem.build(graph, [UserClass("car", np.array([[0.0, 20.0], [0.0, 0.0]]))])
    for name in ALGORITHMS:
        assign(problem, name, AssignmentConfig(max_iterations=4, target_gap=0.0, inner_sweeps=1))
    # the parallel variant, which big networks use
    search = SearchGraph.build(graph)
    zones = graph.zone_count
    search.load(
        graph.link_free_time_s,
        problem.demand_vph[0],
        np.empty(graph.link_count),
        np.empty((zones, zones)),
        np.empty(search.arc_count),
        np.empty((2, search.arc_count)),
    )
    return time.perf_counter() - started
