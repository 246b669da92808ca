"""Doubly constrained gravity model balanced by Furness (iterative proportional fitting).

T_ij = a_i b_j P_i A_j f(c_ij), with f(c) = exp(-beta c) and a_i, b_j chosen so that row sums equal the
productions P_i and column sums equal the attractions A_j (Ortúzar & Willumsen, *Modelling Transport*,
4th ed., section 5.5). Attractions are rescaled to the productions' total first.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def deterrence_exponential(cost: NDArray[np.float64], beta: float) -> NDArray[np.float64]:
    """f(c) = exp(-beta * c) (``cost`` and ``1/beta`` in the same unit, e.g. km)."""
    return np.asarray(np.exp(-beta * cost), dtype=np.float64)


def furness(
    productions: NDArray[np.float64],
    attractions: NDArray[np.float64],
    deterrence: NDArray[np.float64],
    max_iterations: int = 500,
    tolerance: float = 1e-9,
) -> NDArray[np.float64]:
    """Trip matrix whose row sums are ``productions`` and column sums the rescaled ``attractions``.

    ``deterrence`` is the (n_origins, n_destinations) impedance matrix; zero entries forbid a pair. Rows or
    columns with no allowed pair stay empty (their totals cannot be met and are reported by the caller
    comparing sums). Iterates until the largest relative column error falls below ``tolerance``.
    """
    productions = np.asarray(productions, dtype=np.float64)
    attractions = np.asarray(attractions, dtype=np.float64)
    total_p = productions.sum()
    total_a = attractions.sum()
    if total_p <= 0 or total_a <= 0:
        return np.zeros_like(deterrence, dtype=np.float64)
    target_a = attractions * (total_p / total_a)
    matrix = deterrence * productions[:, None] * target_a[None, :]
    for _ in range(max_iterations):
        rows = matrix.sum(axis=1)
        matrix *= np.divide(productions, rows, out=np.zeros_like(rows), where=rows > 0)[:, None]
        cols = matrix.sum(axis=0)
        factor = np.divide(target_a, cols, out=np.zeros_like(cols), where=cols > 0)
        matrix *= factor[None, :]
        error = np.abs(cols - target_a)[cols > 0] / np.maximum(target_a[cols > 0], 1e-12)
        if error.size == 0 or error.max() < tolerance:
            break
    return matrix


def margin_error(
    matrix: NDArray[np.float64], productions: NDArray[np.float64], attractions: NDArray[np.float64]
) -> float:
    """Largest relative error of the row sums against ``productions`` and of the column sums against the
    rescaled ``attractions`` (0 for a fully balanced matrix)."""
    rows = matrix.sum(axis=1)
    cols = matrix.sum(axis=0)
    target_a = attractions * (productions.sum() / max(attractions.sum(), 1e-300))
    row_error = np.abs(rows - productions) / np.maximum(productions, 1e-12)
    col_error = np.abs(cols - target_a) / np.maximum(target_a, 1e-12)
    return float(max(row_error.max(initial=0.0), col_error.max(initial=0.0)))
