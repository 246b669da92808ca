"""Volume-delay functions: link time, its derivative and its integral (the Beckmann term) (numba).

Per link: ``vdf`` code (0 = BPR, 1 = conical), free-flow time ``t0`` (s), ``alpha``, ``beta``, capacity
``c`` (PCU/h) and flow ``v`` (PCU/h).

- BPR: ``t = t0 * (1 + alpha * (v / c) ** beta)``.
- Conical (Spiess 1990) with ``x = v / c``, ``b = (2 alpha - 1) / (2 alpha - 2)``:
  ``t = t0 * (2 + sqrt(alpha**2 (1 - x)**2 + b**2) - alpha (1 - x) - b)``.

A link with ``alpha == 0`` or ``t0 == 0`` has constant time (its capacity is not used). The integral is
``int_0^v t(w) dw`` (s * PCU/h), whose sum over links is the Beckmann objective.
"""

from __future__ import annotations

import math

from numba import njit

VDF_BPR = 0
VDF_CONICAL = 1


@njit(cache=True, nogil=True, inline="always")
def _time(vdf, t0, alpha, beta, capacity, flow):
    if alpha == 0.0 or t0 == 0.0:
        return t0
    x = flow / capacity
    if vdf == VDF_BPR:
        if x <= 0.0:
            return t0 * (1.0 + alpha) if beta == 0.0 else t0
        return t0 * (1.0 + alpha * x**beta)
    b = (2.0 * alpha - 1.0) / (2.0 * alpha - 2.0)
    u = 1.0 - x
    return t0 * (2.0 + math.sqrt(alpha * alpha * u * u + b * b) - alpha * u - b)


@njit(cache=True, nogil=True, inline="always")
def _derivative(vdf, t0, alpha, beta, capacity, flow):
    if alpha == 0.0 or t0 == 0.0:
        return 0.0
    x = flow / capacity
    if vdf == VDF_BPR:
        if beta == 0.0:
            return 0.0
        if x <= 0.0:
            if beta < 1.0:
                return 1e30
            if beta == 1.0:
                return t0 * alpha / capacity
            return 0.0
        return t0 * alpha * beta * x ** (beta - 1.0) / capacity
    b = (2.0 * alpha - 1.0) / (2.0 * alpha - 2.0)
    u = 1.0 - x
    return t0 / capacity * (alpha - alpha * alpha * u / math.sqrt(alpha * alpha * u * u + b * b))


@njit(cache=True, nogil=True, inline="always")
def _integral(vdf, t0, alpha, beta, capacity, flow):
    if alpha == 0.0 or t0 == 0.0:
        return t0 * flow
    x = flow / capacity
    if vdf == VDF_BPR:
        if x <= 0.0:
            return 0.0
        return t0 * (flow + alpha * capacity * x ** (beta + 1.0) / (beta + 1.0))
    b = (2.0 * alpha - 1.0) / (2.0 * alpha - 2.0)
    u0 = alpha
    u1 = alpha * (1.0 - x)
    g0 = 0.5 * u0 * math.sqrt(u0 * u0 + b * b) + 0.5 * b * b * math.asinh(u0 / b)
    g1 = 0.5 * u1 * math.sqrt(u1 * u1 + b * b) + 0.5 * b * b * math.asinh(u1 / b)
    area = (2.0 - b) * x - alpha * (x - 0.5 * x * x) + (g0 - g1) / alpha
    return t0 * capacity * area


@njit(cache=True, nogil=True)
def link_time(vdf, t0, alpha, beta, capacity, flow, out_time):
    """Travel time of every link at ``flow`` into ``out_time`` (float64[link_count], s)."""
    for i in range(flow.shape[0]):
        out_time[i] = _time(vdf[i], t0[i], alpha[i], beta[i], capacity[i], flow[i])


@njit(cache=True, nogil=True)
def link_time_derivative(vdf, t0, alpha, beta, capacity, flow, out_derivative):
    """d time / d flow of every link at ``flow`` into ``out_derivative`` (s per PCU/h)."""
    for i in range(flow.shape[0]):
        out_derivative[i] = _derivative(vdf[i], t0[i], alpha[i], beta[i], capacity[i], flow[i])


@njit(cache=True, nogil=True)
def sum_time_integral(vdf, t0, alpha, beta, capacity, flow):
    """Sum over links of ``int_0^flow t(w) dw`` (the Beckmann term, s * PCU/h)."""
    total = 0.0
    for i in range(flow.shape[0]):
        total += _integral(vdf[i], t0[i], alpha[i], beta[i], capacity[i], flow[i])
    return total


@njit(cache=True, nogil=True)
def time_one(vdf, t0, alpha, beta, capacity, flow):
    """Travel time of one link (scalar version of :func:`link_time`)."""
    return _time(vdf, t0, alpha, beta, capacity, flow)


@njit(cache=True, nogil=True, inline="always")
def time_and_derivative_one(vdf, t0, alpha, beta, capacity, flow):
    """Travel time (s) and its derivative by flow (s per PCU/h) of one link, sharing the BPR power (one
    ``pow`` instead of two)."""
    if vdf != VDF_BPR or alpha == 0.0 or t0 == 0.0 or beta == 0.0 or flow <= 0.0:
        return _time(vdf, t0, alpha, beta, capacity, flow), _derivative(vdf, t0, alpha, beta, capacity, flow)
    x = flow / capacity
    if beta == 4.0:  # the usual BPR power: two multiplications instead of a pow call
        square = x * x
        power = square * x
    else:
        power = x ** (beta - 1.0)
    return t0 * (1.0 + alpha * power * x), t0 * alpha * beta * power / capacity


@njit(cache=True, nogil=True)
def line_search_derivative(vdf, t0, alpha, beta, capacity, flow, direction, step, fixed_term):
    """``sum_a direction_a * t_a(flow_a + step * direction_a) + fixed_term``: the derivative of the
    Beckmann objective along ``direction`` at ``step`` (used by the Frank-Wolfe line searches)."""
    total = fixed_term
    for i in range(flow.shape[0]):
        d = direction[i]
        if d != 0.0:
            total += d * _time(vdf[i], t0[i], alpha[i], beta[i], capacity[i], flow[i] + step * d)
    return total


@njit(cache=True, nogil=True)
def line_search_step(vdf, t0, alpha, beta, capacity, flow, direction, fixed_term, upper):
    """The step in ``[0, upper]`` that minimises the Beckmann objective along ``direction``.

    Solves ``sum_a direction_a * t_a(flow_a + step * direction_a) + fixed_term = 0`` (the objective's
    derivative, increasing in ``step``) by Newton's method safeguarded with bisection, to machine
    precision. ``fixed_term`` is the flow-independent part of the derivative (tolls, fixed costs).
    """
    low = 0.0
    high = upper
    f_low = line_search_derivative(vdf, t0, alpha, beta, capacity, flow, direction, 0.0, fixed_term)
    if f_low >= 0.0:
        return 0.0
    f_high = line_search_derivative(vdf, t0, alpha, beta, capacity, flow, direction, upper, fixed_term)
    if f_high <= 0.0:
        return upper
    step = low - f_low * (high - low) / (f_high - f_low)
    for _ in range(100):
        value = fixed_term
        slope = 0.0
        for i in range(flow.shape[0]):
            d = direction[i]
            if d != 0.0:
                x = flow[i] + step * d
                value += d * _time(vdf[i], t0[i], alpha[i], beta[i], capacity[i], x)
                slope += d * d * _derivative(vdf[i], t0[i], alpha[i], beta[i], capacity[i], x)
        if value == 0.0:
            return step
        if value < 0.0:
            low = step
        else:
            high = step
        if high - low <= 1e-15 * max(1.0, high):
            break
        candidate = step - value / slope if slope > 0.0 else -1.0
        if not (low < candidate < high):
            candidate = 0.5 * (low + high)
        elif abs(candidate - step) <= 1e-15 * max(1.0, step):
            return candidate
        step = candidate
    return step
