"""Link-based algorithms: MSA, Frank-Wolfe, conjugate and bi-conjugate Frank-Wolfe.

Every iteration measures the current flows (:func:`~metaliverpool.assign.convergence.measure_equilibrium`,
which also gives the all-or-nothing flows ``y`` at the current costs), builds a target point ``s`` and
moves ``x <- x + step (s - x)`` for all classes at once:

- ``msa``: ``s = y``, ``step = 1 / (iteration + 1)``.
- ``fw``: ``s = y``, exact line search on the Beckmann objective.
- ``cfw``: ``s = a s_prev + (1 - a) y`` with ``a`` making ``s - x`` conjugate to the previous direction
  with respect to the Hessian ``diag(t'(v))`` (Mitradjieva & Lindberg 2013), ``0 <= a <= 0.99999``.
- ``bfw``: ``s = b0 y + b1 s_prev + b2 s_prev2``, conjugate to the two previous directions (same paper,
  the formulas AequilibraE uses). Restarts with a Frank-Wolfe step after a full step or a non-descent
  direction.

The line search (:func:`~metaliverpool.kernels.vdf.line_search_step`) solves for the step where the
objective's derivative along the direction vanishes, to machine precision.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from metaliverpool.assign.convergence import (
    IterationRecord,
    Workspace,
    compute_link_derivative,
    compute_link_time,
    default_chunks,
    load_classes,
    measure_equilibrium,
    record_iteration,
)
from metaliverpool.assign.problem import AssignmentProblem
from metaliverpool.assign.result import AssignmentConfig, AssignmentResult
from metaliverpool.kernels.vdf import line_search_step

FloatArray = npt.NDArray[np.float64]

LINEAR_ALGORITHMS = ("msa", "fw", "cfw", "bfw")
_CONJUGATE_MAX = 0.99999


def _hessian_product(derivative: FloatArray, a: FloatArray, b: FloatArray) -> float:
    return float(np.dot(derivative * a, b))


def assign_linear(problem: AssignmentProblem, algorithm: str, config: AssignmentConfig) -> AssignmentResult:
    """Run ``algorithm`` (one of :data:`LINEAR_ALGORITHMS`) on ``problem`` until ``config`` says stop."""
    if algorithm not in LINEAR_ALGORITHMS:
        raise ValueError(f"unknown link-based algorithm {algorithm!r}")
    started = time.perf_counter()
    g = problem.graph
    pcu = problem.class_pcu
    chunks = config.chunks or default_chunks(g.zone_count, g.link_count)
    workspace = Workspace.for_problem(problem, chunks)
    class_count, link_count = problem.class_count, g.link_count

    x = np.zeros((class_count, link_count))
    zone_cost = np.empty_like(problem.demand_vph)
    free_time = compute_link_time(problem, np.zeros(link_count), np.empty(link_count))
    load_classes(problem, free_time, workspace, x, zone_cost)

    derivative = np.empty(link_count)
    s_prev: FloatArray | None = None
    s_prev2: FloatArray | None = None
    step_prev = 1.0
    mode = "fw"  # direction kind of the next iteration for cfw/bfw
    previous_pcu: FloatArray | None = None
    history: list[IterationRecord] = []
    iteration = 0
    while True:
        iteration += 1
        measure = measure_equilibrium(problem, x, workspace)
        v = pcu @ x
        elapsed = time.perf_counter() - started
        done = config.should_stop(measure.relative_gap, iteration, elapsed)
        y = measure.aon_class_flow
        step = 0.0
        if not done:
            if algorithm in ("cfw", "bfw") and mode != "fw":
                compute_link_derivative(problem, v, derivative)
            if algorithm in ("msa", "fw") or mode == "fw" or s_prev is None:
                s = y
                used = "fw"
            elif mode == "cfw" or s_prev2 is None:
                s = _conjugate_point(pcu, derivative, x, y, s_prev)
                used = "cfw"
            else:
                s = _biconjugate_point(pcu, derivative, x, y, s_prev, s_prev2, step_prev)
                used = "bfw"
            direction = s - x
            direction_pcu = pcu @ direction
            fixed_term = float(np.einsum("k,kl,kl->", pcu, problem.class_fixed_cost_s, direction))
            if used != "fw" and float(np.dot(direction_pcu, measure.link_time_s)) + fixed_term >= 0.0:
                s, used = y, "fw"
                direction = s - x
                direction_pcu = pcu @ direction
                fixed_term = float(np.einsum("k,kl,kl->", pcu, problem.class_fixed_cost_s, direction))
            if algorithm == "msa":
                step = 1.0 / (iteration + 1)
            else:
                step = float(
                    line_search_step(
                        g.link_vdf,
                        g.link_free_time_s,
                        g.link_alpha,
                        g.link_beta,
                        g.link_capacity_vph,
                        v,
                        direction_pcu,
                        fixed_term,
                        1.0,
                    )
                )
            x = x + step * direction
            if algorithm in ("cfw", "bfw"):
                if step >= 1.0 - 1e-12:
                    mode, s_prev, s_prev2 = "fw", None, None
                else:
                    s_prev2 = s_prev if used != "fw" else None
                    s_prev = s
                    mode = "cfw" if (used == "fw" or algorithm == "cfw") else "bfw"
                step_prev = step
        history.append(record_iteration(iteration, measure, previous_pcu, v, step, elapsed))
        previous_pcu = v
        if done:
            return AssignmentResult.from_measure(
                algorithm, problem, x, v, measure, iteration, config, started, history
            )


def _conjugate_point(
    pcu: FloatArray, derivative: FloatArray, x: FloatArray, y: FloatArray, s_prev: FloatArray
) -> FloatArray:
    """CFW target ``a s_prev + (1 - a) y`` (Mitradjieva & Lindberg 2013, eq. for CFW)."""
    prev_minus_x = pcu @ (s_prev - x)
    numerator = _hessian_product(derivative, prev_minus_x, pcu @ (y - x))
    denominator = _hessian_product(derivative, prev_minus_x, pcu @ (y - s_prev))
    a = numerator / denominator if denominator != 0.0 else 0.0
    a = min(max(a, 0.0), _CONJUGATE_MAX)
    return a * s_prev + (1.0 - a) * y


def _biconjugate_point(
    pcu: FloatArray,
    derivative: FloatArray,
    x: FloatArray,
    y: FloatArray,
    s_prev: FloatArray,
    s_prev2: FloatArray,
    step_prev: float,
) -> FloatArray:
    """BFW target ``b0 y + b1 s_prev + b2 s_prev2`` (Mitradjieva & Lindberg 2013)."""
    bar_bar = pcu @ (step_prev * s_prev + (1.0 - step_prev) * s_prev2 - x)
    y_minus_x = pcu @ (y - x)
    bar = pcu @ (s_prev - x)
    back = pcu @ (s_prev2 - s_prev)
    mu_den = _hessian_product(derivative, bar_bar, back)
    mu = 0.0 if mu_den == 0.0 else max(0.0, -_hessian_product(derivative, bar_bar, y_minus_x) / mu_den)
    nu_den = _hessian_product(derivative, bar, bar)
    nu = (
        0.0
        if nu_den == 0.0
        else max(
            0.0, -_hessian_product(derivative, bar, y_minus_x) / nu_den + mu * step_prev / (1.0 - step_prev)
        )
    )
    b0 = 1.0 / (1.0 + mu + nu)
    return b0 * y + (nu * b0) * s_prev + (mu * b0) * s_prev2
