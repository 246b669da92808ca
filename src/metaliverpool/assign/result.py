"""What an assignment returns: link flows per class, link times and the convergence history."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from metaliverpool.assign.convergence import EquilibriumMeasure, IterationRecord
from metaliverpool.assign.problem import AssignmentProblem

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class AssignmentConfig:
    """Stopping rules and parallel split of an assignment run.

    Attributes
    ----------
    target_gap:
        Stop once the relative gap of the current flows is at or below this.
    max_iterations:
        Stop after this many iterations (outer iterations for path-based algorithms).
    time_limit_s:
        Stop once this much wall time has passed (``None``: no limit).
    chunks:
        Parallel origin chunks for the all-or-nothing kernels (``None``: the numba thread count). Results
        are identical from run to run for a given value.
    inner_sweeps:
        Path-based algorithms: sweeps over the known path sets between two shortest-path searches.
    """

    target_gap: float = 1e-4
    max_iterations: int = 1000
    time_limit_s: float | None = None
    chunks: int | None = None
    inner_sweeps: int = 5

    def should_stop(self, relative_gap: float, iteration: int, elapsed_s: float) -> bool:
        """Whether a run that reached ``relative_gap`` at ``iteration`` after ``elapsed_s`` s stops here."""
        return (
            relative_gap <= self.target_gap
            or iteration >= self.max_iterations
            or (self.time_limit_s is not None and elapsed_s >= self.time_limit_s)
        )


@dataclass(frozen=True, eq=False)
class PathFlows:
    """The used paths of a path-based run (``gp``), for link-OD proportions (matrix estimation).

    Attributes
    ----------
    od_class, od_origin, od_destination:
        int64[ods]: class and zone indices of each OD entry with demand.
    od_demand_vph:
        float64[ods]: demand of each OD entry (vehicles per hour).
    path_od:
        int64[paths]: OD entry of each path.
    path_flow_vph:
        float64[paths]: vehicles per hour on each path (> 0; the paths of an entry sum to its demand).
    link_indptr, links:
        The links of path ``q`` are ``links[link_indptr[q]:link_indptr[q + 1]]`` (graph link numbers).
    """

    od_class: npt.NDArray[np.int64]
    od_origin: npt.NDArray[np.int64]
    od_destination: npt.NDArray[np.int64]
    od_demand_vph: FloatArray
    path_od: npt.NDArray[np.int64]
    path_flow_vph: FloatArray
    link_indptr: npt.NDArray[np.int64]
    links: npt.NDArray[np.int32]


@dataclass(frozen=True, eq=False)
class AssignmentResult:
    """Equilibrium (or the last iterate) of an assignment.

    Attributes
    ----------
    algorithm:
        Name of the algorithm.
    class_names:
        Names of the user classes, in the order of ``class_flow_vph``.
    class_flow_vph:
        float64[classes, links]: vehicles per hour of each class on each link.
    link_flow_pcu:
        float64[links]: total flow in PCU per hour.
    link_time_s:
        float64[links]: congested link time at ``link_flow_pcu`` (s).
    class_cost_s:
        float64[classes, links]: generalised cost of each link for each class (s).
    zone_cost_s:
        float64[classes, zones, zones]: shortest generalised cost between zones at these flows (s).
    relative_gap, average_excess_cost_s, objective:
        Convergence measures of the returned flows (see :mod:`metaliverpool.assign.convergence`); the
        objective is in s * PCU/h.
    iterations:
        Iterations done.
    converged:
        Whether ``relative_gap`` reached the target.
    seconds:
        Wall time of the assignment (preparation included, reading files and compiling kernels not).
    history:
        One record per iteration.
    paths:
        The used paths with their flows (path-based algorithms only; ``None`` otherwise).
    """

    algorithm: str
    class_names: tuple[str, ...]
    class_flow_vph: FloatArray
    link_flow_pcu: FloatArray
    link_time_s: FloatArray
    class_cost_s: FloatArray
    zone_cost_s: FloatArray
    relative_gap: float
    average_excess_cost_s: float
    objective: float
    iterations: int
    converged: bool
    seconds: float
    history: list[IterationRecord] = field(default_factory=list)
    paths: PathFlows | None = None

    @classmethod
    def from_measure(
        cls,
        algorithm: str,
        problem: AssignmentProblem,
        class_flow_vph: FloatArray,
        link_flow_pcu: FloatArray,
        measure: EquilibriumMeasure,
        iterations: int,
        config: AssignmentConfig,
        started_s: float,
        history: list[IterationRecord],
    ) -> AssignmentResult:
        """The result of a run that stops at flows ``class_flow_vph`` (``link_flow_pcu`` in PCU/h) measured
        by ``measure``; ``started_s`` is the run's start on :func:`time.perf_counter`."""
        return cls(
            algorithm=algorithm,
            class_names=tuple(c.name for c in problem.classes),
            class_flow_vph=class_flow_vph,
            link_flow_pcu=link_flow_pcu,
            link_time_s=measure.link_time_s,
            class_cost_s=measure.link_time_s[None, :] + problem.class_fixed_cost_s,
            zone_cost_s=measure.zone_cost_s,
            relative_gap=measure.relative_gap,
            average_excess_cost_s=measure.average_excess_cost_s,
            objective=measure.objective,
            iterations=iterations,
            converged=measure.relative_gap <= config.target_gap,
            seconds=time.perf_counter() - started_s,
            history=history,
        )
