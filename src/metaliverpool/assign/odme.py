"""Matrix estimation from counts: Spiess's (1990) gradient method, bounded, with trip-end constraints.

Arrays in, arrays out. Given an assignment problem (its first class is the matrix estimated, the others
stay as they are) and count targets (each a set of graph links whose summed vehicles per hour should equal
an observed flow), :func:`estimate_matrix` finds a matrix ``T`` near the prior ``T0`` whose user-equilibrium
assignment reproduces the counts. The method (``docs/calibration.md``):

- **Objective**: ``Z(T) = 1/2 sum_c w_c (v_c(T) - vhat_c)^2`` over the targets ``c`` (``v_c`` the modelled,
  ``vhat_c`` the observed flow, ``w_c`` the weight).
- **Bi-level**: each outer iteration assigns ``T`` to equilibrium (path-based gradient projection) and reads
  the link-OD proportions ``p_ij,a`` (share of OD ``ij``'s vehicles that use link ``a``) from its path
  flows; with the proportions fixed, ``v_c`` is linear in ``T`` and ``inner_iterations`` gradient steps are
  taken before the next equilibrium.
- **Step** (Spiess 1990): ``T_ij <- T_ij (1 - lambda dZ/dT_ij)``, with ``dZ/dT_ij = sum_c w_c (v_c - vhat_c)
  sum_{a in c} p_ij,a``: a multiplicative update, so a cell with no prior trips stays empty and the
  structure of the prior is kept. ``lambda`` is the exact minimiser of ``Z`` along the direction (a
  quadratic while the proportions are fixed), capped so that no cell turns negative.
- **Constraints**, applied after each step: every cell within ``[T0/(1+b), T0 (1+b)]`` (``b`` =
  ``max_cell_change``); each zone's productions (row sums) and attractions (column sums) within
  ``trip_end_tolerance`` of the prior's (0 holds them); the total within ``total_tolerance``. The stepped
  matrix is brought inside by alternating scaling of rows, columns and total with clipping of cells
  (iterative proportional fitting with bounds), then moved back along the segment from the previous matrix
  as far as needed for every constraint to hold exactly (the feasible set is convex and the previous matrix
  is in it), and the step is halved while it does not lower ``Z``.

The result is the estimated matrix, the modelled flow of every target at its equilibrium and the history
of the outer iterations. :func:`geh` is the usual GEH statistic of modelled against observed hourly flows.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from metaliverpool.assign.problem import AssignmentProblem
from metaliverpool.assign.result import AssignmentConfig, AssignmentResult
from metaliverpool.assign.run import assign
from metaliverpool.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FEASIBILITY_SLACK = 1e-9
"""Relative slack on trip-end and total bands (rounding of the scaling)."""


def geh(modelled_vph: npt.ArrayLike, observed_vph: npt.ArrayLike) -> FloatArray:
    """GEH statistic ``sqrt(2 (m - c)^2 / (m + c))`` of hourly flows (0 where both are 0)."""
    m = np.asarray(modelled_vph, dtype=np.float64)
    c = np.asarray(observed_vph, dtype=np.float64)
    total = m + c
    return np.sqrt(np.divide(2.0 * (m - c) ** 2, total, out=np.zeros_like(total), where=total > 0))


@dataclass(frozen=True, eq=False)
class CountTargets:
    """Count targets on a graph: target ``c`` is the summed flow on ``links[indptr[c]:indptr[c + 1]]``.

    ``flow_vph`` are the observed vehicles per hour, ``weight`` the weights of the objective (>= 0).
    """

    indptr: IntArray
    links: IntArray
    flow_vph: FloatArray
    weight: FloatArray

    @classmethod
    def from_lists(
        cls, links: list[list[int]], flow_vph: npt.ArrayLike, weight: npt.ArrayLike | None = None
    ) -> CountTargets:
        """Targets from one list of graph link numbers each."""
        flows = np.asarray(flow_vph, dtype=np.float64)
        sizes = np.array([len(group) for group in links], dtype=np.int64)
        indptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        flat = np.array([a for group in links for a in group], dtype=np.int64)
        weights = np.ones(len(flows)) if weight is None else np.asarray(weight, dtype=np.float64)
        return cls(indptr, flat, flows, weights)

    @property
    def count(self) -> int:
        """Number of targets."""
        return len(self.flow_vph)

    def matrix(self, link_count: int) -> sp.csr_matrix:
        """Sparse targets x links incidence (1 where the target sums the link)."""
        rows = np.repeat(np.arange(self.count), np.diff(self.indptr))
        data = np.ones(len(self.links))
        return sp.csr_matrix((data, (rows, self.links)), shape=(self.count, link_count))

    def check(self, link_count: int) -> None:
        """Raise :class:`InputError` for an empty target, a link out of range or a bad flow or weight."""
        sizes = np.diff(self.indptr)
        if np.any(sizes == 0):
            raise InputError("count targets", "a target has no link", where=f"target {np.argmin(sizes)}")
        if self.links.size and (self.links.min() < 0 or self.links.max() >= link_count):
            raise InputError("count targets", f"link number outside 0..{link_count - 1}")
        if not np.all(np.isfinite(self.flow_vph)) or np.any(self.flow_vph < 0):
            raise InputError("count targets", "observed flows must be finite and >= 0")
        if not np.all(np.isfinite(self.weight)) or np.any(self.weight < 0):
            raise InputError("count targets", "weights must be finite and >= 0")


@dataclass(frozen=True)
class OdmeConfig:
    """Parameters of :func:`estimate_matrix` (``docs/calibration.md``).

    Attributes
    ----------
    max_cell_change:
        ``b``: every cell stays within ``[T0/(1+b), T0 (1+b)]`` of its prior value (1.0: halved to doubled).
    trip_end_tolerance:
        Each zone's productions and attractions stay within this relative band of the prior's (0 holds
        them; ``None`` leaves them free).
    free_trip_end_zones:
        Zones (indices) whose trip ends are left free whatever ``trip_end_tolerance`` says (their cells
        still keep the cell bound): e.g. external cordon zones, whose prior trip ends are a guess.
    total_tolerance:
        The matrix total stays within this relative band of the prior's (0 holds it; ``None``: free).
    outer_iterations:
        Most equilibrium assignments between steps (the bi-level loop).
    inner_iterations:
        Gradient steps per assignment (proportions fixed).
    relative_improvement:
        Stop when an outer iteration lowers the objective at equilibrium by less than this share.
    assignment:
        Stopping rules of each equilibrium assignment.
    """

    max_cell_change: float = 1.0
    trip_end_tolerance: float | None = 0.1
    free_trip_end_zones: tuple[int, ...] = ()
    total_tolerance: float | None = 0.05
    outer_iterations: int = 15
    inner_iterations: int = 5
    relative_improvement: float = 1e-4
    assignment: AssignmentConfig = field(
        default_factory=lambda: AssignmentConfig(target_gap=1e-5, max_iterations=200)
    )

    def __post_init__(self) -> None:
        if not self.max_cell_change >= 0:
            raise InputError("--max-cell-change", f"must be >= 0, found {self.max_cell_change}")
        for name in ("trip_end_tolerance", "total_tolerance"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise InputError(name, f"must be in [0, 1) or None, found {value}")
        if self.outer_iterations < 1 or self.inner_iterations < 1:
            raise InputError("odme", "outer and inner iterations must be >= 1")


@dataclass(frozen=True)
class OdmeIteration:
    """One outer iteration, measured at the equilibrium of its matrix."""

    iteration: int
    objective: float
    max_geh: float
    share_geh_below_5: float
    total_vph: float
    relative_gap: float
    elapsed_s: float


@dataclass(frozen=True, eq=False)
class OdmeResult:
    """Outcome of :func:`estimate_matrix`.

    ``demand_vph`` is the estimated matrix (zones x zones, veh/h) of the first class, ``prior_vph`` the
    prior; ``target_flow_vph`` the modelled flow of each target at the equilibrium of ``demand_vph``
    (``assignment``) and ``prior_target_flow_vph`` at the prior's; ``history`` one record per outer
    iteration (the first is the prior).
    """

    demand_vph: FloatArray
    prior_vph: FloatArray
    target_flow_vph: FloatArray
    prior_target_flow_vph: FloatArray
    assignment: AssignmentResult
    history: list[OdmeIteration]
    seconds: float


@dataclass
class _Cells:
    """The prior's non-zero cells of the estimated class (the cells the method may move)."""

    origin: IntArray
    destination: IntArray
    prior: FloatArray
    low: FloatArray
    high: FloatArray
    zones: int

    def matrix(self, values: FloatArray) -> FloatArray:
        out = np.zeros((self.zones, self.zones))
        out[self.origin, self.destination] = values
        return out


@dataclass
class _Bands:
    """Lower and upper bounds of productions, attractions and total (``inf`` where free)."""

    row_low: FloatArray
    row_high: FloatArray
    col_low: FloatArray
    col_high: FloatArray
    total_low: float
    total_high: float

    @classmethod
    def around(cls, cells: _Cells, config: OdmeConfig) -> _Bands:
        rows, cols, _ = _sums(cells, cells.prior)
        total = float(cells.prior.sum())

        def band(value: FloatArray | float, tolerance: float | None) -> tuple[FloatArray, FloatArray]:
            value = np.asarray(value, dtype=np.float64)
            if tolerance is None:
                return np.zeros_like(value), np.full_like(value, np.inf)
            slack = tolerance + FEASIBILITY_SLACK
            return value * (1.0 - slack), value * (1.0 + slack)

        row_low, row_high = band(rows, config.trip_end_tolerance)
        col_low, col_high = band(cols, config.trip_end_tolerance)
        free = list(config.free_trip_end_zones)
        row_low[free], col_low[free], row_high[free], col_high[free] = 0.0, 0.0, np.inf, np.inf
        total_low, total_high = band(total, config.total_tolerance)
        return cls(row_low, row_high, col_low, col_high, float(total_low), float(total_high))


def _feasible_set(prior: FloatArray, config: OdmeConfig) -> tuple[_Cells, _Bands]:
    """The movable cells of ``prior`` with their bounds, and the trip-end and total bands."""
    origin, destination = np.nonzero(prior > 0)
    values = prior[origin, destination]
    factor = 1.0 + config.max_cell_change
    cells = _Cells(origin, destination, values, values / factor, values * factor, prior.shape[0])
    return cells, _Bands.around(cells, config)


def _sums(cells: _Cells, t: FloatArray) -> tuple[FloatArray, FloatArray, float]:
    """Row sums, column sums and total of the cells ``t``."""
    rows = np.bincount(cells.origin, t, cells.zones).astype(np.float64)
    cols = np.bincount(cells.destination, t, cells.zones).astype(np.float64)
    return rows, cols, float(t.sum())


def _feasible(cells: _Cells, bands: _Bands, t: FloatArray) -> bool:
    rows, cols, total = _sums(cells, t)
    return bool(
        np.all(rows >= bands.row_low)
        and np.all(rows <= bands.row_high)
        and np.all(cols >= bands.col_low)
        and np.all(cols <= bands.col_high)
        and bands.total_low <= total <= bands.total_high
    )


def _scale_into(sums: FloatArray, low: FloatArray, high: FloatArray) -> FloatArray:
    """Factor per sum that brings it inside ``[low, high]`` (1 where already inside or empty)."""
    target = np.clip(sums, low, high)
    return np.divide(target, sums, out=np.ones_like(sums), where=sums > 0)


def _project(cells: _Cells, bands: _Bands, t: FloatArray, sweeps: int = 200) -> FloatArray:
    """Bounded iterative proportional fitting of ``t`` towards the trip-end and total bands."""
    t = np.clip(t, cells.low, cells.high)
    for _ in range(sweeps):
        if _feasible(cells, bands, t):
            break
        rows, _, _ = _sums(cells, t)
        t = np.clip(t * _scale_into(rows, bands.row_low, bands.row_high)[cells.origin], cells.low, cells.high)
        _, cols, _ = _sums(cells, t)
        t = np.clip(
            t * _scale_into(cols, bands.col_low, bands.col_high)[cells.destination], cells.low, cells.high
        )
        total = np.array([t.sum()])
        factor = _scale_into(total, np.array([bands.total_low]), np.array([bands.total_high]))[0]
        t = np.clip(t * factor, cells.low, cells.high)
    return t


def _segment_limit(now: FloatArray, new: FloatArray, low: FloatArray, high: FloatArray) -> float:
    """Largest ``theta`` in [0, 1] with ``low <= now + theta (new - now) <= high`` (``now`` inside)."""
    change = new - now
    theta = 1.0
    up = (change > 0) & (new > high)
    if np.any(up):
        theta = min(theta, float(np.min((high[up] - now[up]) / change[up])))
    down = (change < 0) & (new < low)
    if np.any(down):
        theta = min(theta, float(np.min((low[down] - now[down]) / change[down])))
    return max(theta, 0.0)


def _feasible_along(cells: _Cells, bands: _Bands, now: FloatArray, new: FloatArray) -> FloatArray:
    """The point of the segment ``now -> new`` furthest towards ``new`` that meets every band."""
    r0, c0, s0 = _sums(cells, now)
    r1, c1, s1 = _sums(cells, new)
    theta = min(
        _segment_limit(r0, r1, bands.row_low, bands.row_high),
        _segment_limit(c0, c1, bands.col_low, bands.col_high),
        _segment_limit(
            np.array([s0]), np.array([s1]), np.array([bands.total_low]), np.array([bands.total_high])
        ),
    )
    return now + theta * (new - now)


def _proportions(result: AssignmentResult, cells: _Cells, link_count: int) -> sp.csr_matrix:
    """Sparse links x cells matrix of link-OD proportions of class 0 from the result's path flows."""
    paths = result.paths
    if paths is None:
        raise ValueError("matrix estimation needs a path-based assignment result (paths)")
    cell_of = np.full((cells.zones, cells.zones), -1, dtype=np.int64)
    cell_of[cells.origin, cells.destination] = np.arange(len(cells.origin))
    od_cell = np.where(paths.od_class == 0, cell_of[paths.od_origin, paths.od_destination], -1)
    path_cell = od_cell[paths.path_od]
    share = paths.path_flow_vph / paths.od_demand_vph[paths.path_od]
    sizes = np.diff(paths.link_indptr)
    keep = np.repeat(path_cell >= 0, sizes)
    columns = np.repeat(path_cell, sizes)[keep]
    values = np.repeat(share, sizes)[keep]
    rows = paths.links.astype(np.int64)[keep]
    return sp.csr_matrix((values, (rows, columns)), shape=(link_count, len(cells.origin)))


def _inner_steps(
    response: sp.csr_matrix,
    background: FloatArray,
    targets: CountTargets,
    cells: _Cells,
    bands: _Bands,
    t: FloatArray,
    steps: int,
) -> FloatArray:
    """``steps`` projected Spiess steps with the target response ``v = response @ t + background`` fixed."""
    w = targets.weight
    observed = targets.flow_vph

    def objective(values: FloatArray) -> float:
        r = response @ values + background - observed
        return 0.5 * float(np.sum(w * r * r))

    current = objective(t)
    for _ in range(steps):
        residual = response @ t + background - observed
        gradient = response.T @ (w * residual)
        g = t * gradient
        at_high = (t >= cells.high * (1.0 - 1e-12)) & (g < 0)
        at_low = (t <= cells.low * (1.0 + 1e-12)) & (g > 0)
        g[at_high | at_low] = 0.0
        direction = response @ g
        denominator = float(np.sum(w * direction * direction))
        if denominator <= 0.0:
            break
        step = float(np.sum(w * direction * residual)) / denominator
        positive = gradient[g > 0]
        if positive.size:
            step = min(step, 1.0 / float(positive.max()))
        if step <= 0.0:
            break
        improved = False
        for _ in range(20):
            trial = _project(cells, bands, t - step * g)
            trial = _feasible_along(cells, bands, t, trial)
            value = objective(trial)
            if value < current:
                t, current, improved = trial, value, True
                break
            step *= 0.5
        if not improved:
            break
    return t


def estimate_matrix(
    problem: AssignmentProblem,
    targets: CountTargets,
    config: OdmeConfig | None = None,
    *,
    algorithm: str = "gp",
    on_iteration: Callable[[OdmeIteration], None] | None = None,
) -> OdmeResult:
    """Estimate class 0's matrix of ``problem`` from ``targets`` (see the module docstring).

    ``problem.demand_vph[0]`` is the prior. ``on_iteration`` is called after each outer iteration.

    Raises
    ------
    InputError
        Bad targets (empty, a link out of range, a negative flow or weight) or parameters.
    """
    config = config or OdmeConfig()
    started = time.perf_counter()
    graph = problem.graph
    targets.check(graph.link_count)
    prior = problem.demand_vph[0]
    cells, bands = _feasible_set(prior, config)
    incidence = targets.matrix(graph.link_count)
    t = cells.prior.copy()
    history: list[OdmeIteration] = []
    best: tuple[float, FloatArray, AssignmentResult, FloatArray] = (np.inf, t, None, t)  # type: ignore[assignment]
    for iteration in range(config.outer_iterations + 1):
        demand = problem.demand_vph.copy()
        demand[0] = cells.matrix(t)
        current = dataclasses.replace(problem, demand_vph=demand)
        result = assign(current, algorithm, config.assignment)
        class_flow = result.class_flow_vph
        modelled = incidence @ class_flow.sum(axis=0)
        residual = modelled - targets.flow_vph
        objective = 0.5 * float(np.sum(targets.weight * residual * residual))
        stats = geh(modelled, targets.flow_vph)
        record = OdmeIteration(
            iteration=iteration,
            objective=objective,
            max_geh=float(stats.max()) if stats.size else 0.0,
            share_geh_below_5=float(np.mean(stats < 5.0)) if stats.size else 1.0,
            total_vph=float(t.sum()),
            relative_gap=float(result.relative_gap),
            elapsed_s=time.perf_counter() - started,
        )
        history.append(record)
        if iteration == 0:
            prior_modelled = modelled
        if on_iteration is not None:
            on_iteration(record)
        stalled = objective > best[0] * (1.0 - config.relative_improvement)
        if objective < best[0]:
            best = (objective, t, result, modelled)
        if iteration == config.outer_iterations or objective == 0.0 or stalled:
            break
        response = incidence @ _proportions(result, cells, graph.link_count)
        background = modelled - response @ t
        t = _inner_steps(response, background, targets, cells, bands, t, config.inner_iterations)
    _, t, result, modelled = best
    return OdmeResult(
        demand_vph=cells.matrix(t),
        prior_vph=prior.copy(),
        target_flow_vph=modelled,
        prior_target_flow_vph=prior_modelled,
        assignment=result,
        history=history,
        seconds=time.perf_counter() - started,
    )


def adjust_to_measured(
    estimate: OdmeResult,
    targets: CountTargets,
    measured_vph: FloatArray,
    config: OdmeConfig,
    steps: int,
) -> FloatArray:
    """Further gradient steps on ``estimate``'s matrix with ``measured_vph`` (e.g. a simulator's flows on
    the targets at that matrix) as the current flows instead of the static equilibrium's.

    The direction and step use the static link-OD proportions of ``estimate.assignment`` (the response of
    the flows to the matrix), the starting point is the measured flows: the targets are then expected at
    ``measured + response (T - T_estimate)``. The same cell bounds, trip-end and total bands around the
    prior hold. Returns the adjusted matrix (veh/h).
    """
    cells, bands = _feasible_set(estimate.prior_vph, config)
    t = estimate.demand_vph[cells.origin, cells.destination]
    link_count = estimate.assignment.class_flow_vph.shape[1]
    response = targets.matrix(link_count) @ _proportions(estimate.assignment, cells, link_count)
    background = np.asarray(measured_vph, dtype=np.float64) - response @ t
    return cells.matrix(_inner_steps(response, background, targets, cells, bands, t, steps))
