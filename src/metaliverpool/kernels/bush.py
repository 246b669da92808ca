"""Bush-based user equilibrium: Dial's Algorithm B (Dial 2006, Transp. Res. B 40(10)) (numba).

Arrays in, arrays out. The caller (``metaliverpool.assign.bush``) owns the state. The graph is a search
graph with arcs in CSR order (:class:`metaliverpool.assign.search.SearchGraph`); an arc's time and
derivative are the sums of its road-graph links' (``arc_time``, ``arc_derivative``, kept in step with the
links as flow moves), and class ``k`` pays ``arc_time + arc_fixed[k]`` on it.

Demand comes in *blocks*, one per (class, origin zone) with demand; block ``b`` has its own *bush*: an
acyclic set of arcs leaving its origin node (``in_bush[b]``, uint8 per arc), the block's flow on each arc
(``bush_flow[b]``, vehicles of the class) and a topological order of the nodes it reaches
(``order[b, :order_count[b]]``, origin first). Centroids (``blocked``) are never passed through: no bush holds
an arc leaving a blocked node other than its origin.

- :func:`bush_sweep` with ``start``: each block's bush is the shortest-path tree at the link times of that
  moment plus every arc ``(i, j)`` with ``L_i < L_j`` (Dial's initial bush, ``L`` the tree's labels), and
  its demand is loaded on the tree; with ``update``: arcs without flow that are not on the bush's
  minimum-cost tree are dropped and every arc ``(i, j)`` with ``U_i + c_ij < U_j`` added (``U`` the bush's
  maximum-cost labels, so the order by ``U`` stays topological and the bush acyclic); then ``passes``
  flow shifts. Gauss-Seidel: link times are updated after every shift, and the next block sees them.
- A flow shift computes, in topological order, each node's minimum-cost label over the bush and
  maximum-cost label over the arcs that carry the block's flow; then, in reverse topological order, at
  every node whose minimum and maximum predecessor arcs differ it traces both segments back to where they
  diverge and moves flow from the costlier (used) segment to the cheaper one by a Newton step
  ``(cost difference) / (pcu * sum of arc derivatives)``, never more than the least flow on the costlier
  segment. Flows stay non-negative and each block's flow is conserved at every node.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metaliverpool.kernels.shortest_path import arc_tree
from metaliverpool.kernels.vdf import time_and_derivative_one

_SHIFT_TOLERANCE = 1e-13
"""Relative cost difference below which two segments count as equal (no shift)."""


@njit(cache=True, nogil=True)
def _add_arc_flow(
    arc,
    amount_pcu,
    arc_link_indptr,
    arc_links,
    link_flow_pcu,
    link_time,
    link_derivative,
    arc_time,
    arc_derivative,
    vdf,
    t0,
    alpha,
    beta,
    capacity,
):
    """Add ``amount_pcu`` to every link of ``arc``; refresh their times and the arc's sums."""
    total_time = 0.0
    total_derivative = 0.0
    for j in range(arc_link_indptr[arc], arc_link_indptr[arc + 1]):
        link = arc_links[j]
        flow = link_flow_pcu[link] + amount_pcu
        if flow < 0.0:
            flow = 0.0
        link_flow_pcu[link] = flow
        time, derivative = time_and_derivative_one(
            vdf[link], t0[link], alpha[link], beta[link], capacity[link], flow
        )
        link_time[link] = time
        link_derivative[link] = derivative
        total_time += time
        total_derivative += derivative
    arc_time[arc] = total_time
    arc_derivative[arc] = total_derivative


@njit(cache=True, nogil=True)
def _bush_labels(
    order,
    count,
    indptr,
    arc_head,
    in_bush,
    flow,
    arc_time,
    fixed,
    max_mode,
    out_min,
    out_min_pred,
    out_max,
    out_max_pred,
):
    """Minimum-cost labels over the bush and maximum-cost labels, with their predecessor arcs, for the
    ``count`` nodes of ``order`` (others untouched). The maximum is over every bush arc (``max_mode`` 0),
    over the arcs with flow (1: ``-inf`` where no flow arrives), or over the arcs with flow with the
    minimum label where no flow arrives (2)."""
    for i in range(count):
        node = order[i]
        out_min[node] = np.inf
        out_min_pred[node] = -1
        out_max[node] = -np.inf
        out_max_pred[node] = -1
    out_min[order[0]] = 0.0
    out_max[order[0]] = 0.0
    for i in range(count):
        node = order[i]
        low = out_min[node]
        high = out_max[node]
        if max_mode == 2 and high == -np.inf:
            high = low
            out_max[node] = low
        for k in range(indptr[node], indptr[node + 1]):
            if in_bush[k] == 0:
                continue
            head = arc_head[k]
            cost = arc_time[k] + fixed[k]
            if low + cost < out_min[head]:
                out_min[head] = low + cost
                out_min_pred[head] = k
            if high > -np.inf and (max_mode == 0 or flow[k] > 0.0) and high + cost > out_max[head]:
                out_max[head] = high + cost
                out_max_pred[head] = k


@njit(cache=True, nogil=True)
def _topological_order(origin, indptr, arc_head, in_bush, work_indegree, out_order):
    """Kahn's order of the nodes the bush reaches from ``origin`` into ``out_order``; returns their count,
    or -1 if the bush has a cycle (``out_order`` then undefined)."""
    work_indegree[:] = 0
    for k in range(arc_head.shape[0]):
        if in_bush[k] != 0:
            work_indegree[arc_head[k]] += 1
    out_order[0] = origin
    count = 1
    i = 0
    while i < count:
        node = out_order[i]
        i += 1
        for k in range(indptr[node], indptr[node + 1]):
            if in_bush[k] != 0:
                head = arc_head[k]
                work_indegree[head] -= 1
                if work_indegree[head] == 0:
                    out_order[count] = head
                    count += 1
    for k in range(arc_head.shape[0]):
        if in_bush[k] != 0 and work_indegree[arc_head[k]] != 0:
            return -1
    return count


@njit(cache=True, nogil=True)
def _start_bush(
    origin,
    indptr,
    arc_tail,
    arc_head,
    arc_cost,
    blocked,
    is_target,
    node_demand,
    work_heap_key,
    work_heap_node,
    work_pred,
    label,
    out_in_bush,
    out_flow,
    out_order,
):
    """Dial's initial bush of ``origin`` at arc costs ``arc_cost``: the shortest-path tree plus every arc
    ``(i, j)`` with ``L_i < L_j``; ``node_demand`` (per node, cleared on return) loaded on the tree.
    Returns the number of nodes reached."""
    count = arc_tree(
        indptr, arc_head, arc_cost, origin, blocked, is_target, -1, label, work_pred, out_order,
        work_heap_key, work_heap_node,
    )  # fmt: skip
    out_in_bush[:] = 0
    out_flow[:] = 0.0
    for i in range(count):
        node = out_order[i]
        if blocked[node] and node != origin:
            continue
        for k in range(indptr[node], indptr[node + 1]):
            if label[node] < label[arc_head[k]]:
                out_in_bush[k] = 1
    for i in range(count - 1, 0, -1):
        node = out_order[i]
        arc = work_pred[node]
        out_in_bush[arc] = 1
        through = node_demand[node]
        if through != 0.0:
            out_flow[arc] += through
            node_demand[arc_tail[arc]] += through
        node_demand[node] = 0.0
    node_demand[origin] = 0.0
    return count


@njit(cache=True, nogil=True)
def _add_shortcuts(
    origin, indptr, arc_head, blocked, in_bush, arc_time, fixed, order, count, label, out_added
):
    """Add every arc ``(i, j)`` off the bush with ``label_i + c_ij < label_j``; returns how many (listed in
    ``out_added``)."""
    added = 0
    for i in range(count):
        node = order[i]
        if blocked[node] and node != origin:
            continue
        high = label[node]
        for k in range(indptr[node], indptr[node + 1]):
            if in_bush[k] == 0 and high + arc_time[k] + fixed[k] < label[arc_head[k]]:
                in_bush[k] = 1
                out_added[added] = k
                added += 1
    return added


@njit(cache=True, nogil=True)
def _update_bush(
    origin,
    indptr,
    arc_head,
    blocked,
    in_bush,
    flow,
    arc_time,
    fixed,
    order,
    count,
    work_min,
    work_min_pred,
    work_max,
    work_max_pred,
    work_indegree,
    work_added,
):
    """Drop arcs without flow off the minimum-cost tree, then add shortcuts; writes the new topological
    order into ``order`` and returns its count.

    Shortcuts are first judged on the maximum-cost labels over used arcs (the minimum label where no flow
    arrives), which equal the minimum labels once the bush is at equilibrium, so every arc that shortens a
    path enters; if that closes a cycle they are judged again on the maximum-cost labels over every bush
    arc (Dial's rule: the order by those labels stays topological, so the bush stays acyclic).
    """
    _bush_labels(
        order, count, indptr, arc_head, in_bush, flow, arc_time, fixed, 1,
        work_min, work_min_pred, work_max, work_max_pred,
    )  # fmt: skip
    for i in range(count):
        node = order[i]
        for k in range(indptr[node], indptr[node + 1]):
            if in_bush[k] != 0 and flow[k] <= 0.0 and work_min_pred[arc_head[k]] != k:
                in_bush[k] = 0
    for max_mode in (2, 0):
        _bush_labels(
            order, count, indptr, arc_head, in_bush, flow, arc_time, fixed, max_mode,
            work_min, work_min_pred, work_max, work_max_pred,
        )  # fmt: skip
        added = _add_shortcuts(
            origin, indptr, arc_head, blocked, in_bush, arc_time, fixed, order, count, work_max, work_added
        )
        if added == 0:
            return count
        new_count = _topological_order(origin, indptr, arc_head, in_bush, work_indegree, work_min_pred)
        if new_count > 0:
            order[:new_count] = work_min_pred[:new_count]
            return new_count
        for j in range(added):
            in_bush[work_added[j]] = 0
    raise ValueError("bush update closed a cycle")


@njit(cache=True, nogil=True)
def _shift_flows(
    k,
    pcu,
    origin,
    indptr,
    arc_tail,
    arc_head,
    arc_link_indptr,
    arc_links,
    in_bush,
    flow,
    order,
    count,
    arc_fixed,
    link_flow_pcu,
    link_time,
    link_derivative,
    arc_time,
    arc_derivative,
    vdf,
    t0,
    alpha,
    beta,
    capacity,
    work_min,
    work_min_pred,
    work_max,
    work_max_pred,
    work_position,
    work_segment_min,
    work_segment_max,
    tolerance_s,
):
    """One flow shift over the bush (see the module docstring), skipping nodes whose used paths differ in
    cost from the cheapest by ``tolerance_s`` or less; returns the largest cost difference between a used
    and a cheapest segment found (s)."""
    fixed = arc_fixed[k]
    _bush_labels(
        order, count, indptr, arc_head, in_bush, flow, arc_time, fixed, 1,
        work_min, work_min_pred, work_max, work_max_pred,
    )  # fmt: skip
    for i in range(count):
        work_position[order[i]] = i
    largest = 0.0
    for i in range(count - 1, 0, -1):
        node = order[i]
        cheap = work_min_pred[node]
        dear = work_max_pred[node]
        if dear < 0 or cheap == dear or work_max[node] - work_min[node] <= tolerance_s:
            continue
        work_segment_min[0] = cheap
        work_segment_max[0] = dear
        n_min = 1
        n_max = 1
        a = arc_tail[cheap]
        b = arc_tail[dear]
        broken = False
        while a != b:
            if work_position[a] > work_position[b]:
                arc = work_min_pred[a]
                work_segment_min[n_min] = arc
                n_min += 1
                a = arc_tail[arc]
            else:
                arc = work_max_pred[b]
                if arc < 0:  # flow stopped upstream (rounding): nothing to move here
                    broken = True
                    break
                work_segment_max[n_max] = arc
                n_max += 1
                b = arc_tail[arc]
        if broken:
            continue
        cost_min = 0.0
        cost_max = 0.0
        slope = 0.0
        movable = np.inf
        for j in range(n_min):
            arc = work_segment_min[j]
            cost_min += arc_time[arc] + fixed[arc]
            slope += arc_derivative[arc]
        for j in range(n_max):
            arc = work_segment_max[j]
            cost_max += arc_time[arc] + fixed[arc]
            slope += arc_derivative[arc]
            if flow[arc] < movable:
                movable = flow[arc]
        difference = cost_max - cost_min
        if difference <= _SHIFT_TOLERANCE * cost_max or movable <= 0.0:
            continue
        if difference > largest:
            largest = difference
        amount = difference / (pcu * slope) if slope > 0.0 else movable
        if amount > movable:
            amount = movable
        for j in range(n_max):
            arc = work_segment_max[j]
            if amount >= flow[arc]:
                flow[arc] = 0.0
            else:
                flow[arc] -= amount
            _add_arc_flow(
                arc, -pcu * amount, arc_link_indptr, arc_links, link_flow_pcu, link_time, link_derivative,
                arc_time, arc_derivative, vdf, t0, alpha, beta, capacity,
            )  # fmt: skip
        for j in range(n_min):
            arc = work_segment_min[j]
            flow[arc] += amount
            _add_arc_flow(
                arc, pcu * amount, arc_link_indptr, arc_links, link_flow_pcu, link_time, link_derivative,
                arc_time, arc_derivative, vdf, t0, alpha, beta, capacity,
            )  # fmt: skip
    return largest


@njit(cache=True, nogil=True)
def bush_sweep(
    indptr,
    arc_tail,
    arc_head,
    arc_link_indptr,
    arc_links,
    blocked,
    is_target,
    zone_node,
    vdf,
    t0,
    alpha,
    beta,
    capacity,
    arc_fixed,
    class_pcu,
    block_class,
    block_origin,
    demand,
    link_flow_pcu,
    link_time,
    link_derivative,
    arc_time,
    arc_derivative,
    in_bush,
    bush_flow,
    order,
    order_count,
    start,
    update,
    passes,
    tolerance_s,
):
    """One sweep over every block (see the module docstring); returns the largest cost difference
    between a used and a cheapest bush segment met (s). Shifts skip nodes whose used paths cost at most
    ``tolerance_s`` more than the cheapest.

    ``demand`` is float64[classes, zones, zones]; ``block_class``/``block_origin`` (int64[blocks]) the
    class and origin zone of each block. ``link_flow_pcu``, ``link_time`` and ``link_derivative`` (per
    road-graph link) and ``arc_time``/``arc_derivative`` (per arc) must agree on entry and are kept in step.
    """
    node_count = indptr.shape[0] - 1
    arc_count = arc_head.shape[0]
    zone_count = zone_node.shape[0]
    heap_key = np.empty(arc_count + 1, dtype=np.float64)
    heap_node = np.empty(arc_count + 1, dtype=np.int64)
    arc_cost = np.empty(arc_count, dtype=np.float64)
    node_demand = np.zeros(node_count, dtype=np.float64)
    low = np.empty(node_count, dtype=np.float64)
    low_pred = np.empty(node_count, dtype=np.int64)
    high = np.empty(node_count, dtype=np.float64)
    high_pred = np.empty(node_count, dtype=np.int64)
    position = np.empty(node_count, dtype=np.int64)
    segment_min = np.empty(node_count, dtype=np.int64)
    segment_max = np.empty(node_count, dtype=np.int64)
    added = np.empty(arc_count, dtype=np.int64)
    largest = 0.0
    for b in range(block_class.shape[0]):
        k = block_class[b]
        pcu = class_pcu[k]
        fixed = arc_fixed[k]
        origin = zone_node[block_origin[b]]
        if start:
            for a in range(arc_count):
                arc_cost[a] = arc_time[a] + fixed[a]
            for z in range(zone_count):
                if zone_node[z] != origin:
                    node_demand[zone_node[z]] += demand[k, block_origin[b], z]
            order_count[b] = _start_bush(
                origin, indptr, arc_tail, arc_head, arc_cost, blocked, is_target, node_demand,
                heap_key, heap_node, low_pred, low, in_bush[b], bush_flow[b], order[b],
            )  # fmt: skip
            for z in range(zone_count):
                node_demand[zone_node[z]] = 0.0  # demand of unreachable zones is not loaded
            for a in range(arc_count):
                if bush_flow[b, a] != 0.0:
                    _add_arc_flow(
                        a, pcu * bush_flow[b, a], arc_link_indptr, arc_links, link_flow_pcu, link_time,
                        link_derivative, arc_time, arc_derivative, vdf, t0, alpha, beta, capacity,
                    )  # fmt: skip
        elif update:
            order_count[b] = _update_bush(
                origin, indptr, arc_head, blocked, in_bush[b], bush_flow[b], arc_time, fixed, order[b],
                order_count[b], low, low_pred, high, high_pred, position, added,
            )  # fmt: skip
        for _ in range(passes):
            largest_here = _shift_flows(
                k, pcu, origin, indptr, arc_tail, arc_head, arc_link_indptr, arc_links, in_bush[b],
                bush_flow[b], order[b], order_count[b], arc_fixed, link_flow_pcu, link_time,
                link_derivative, arc_time, arc_derivative, vdf, t0, alpha, beta, capacity, low, low_pred,
                high, high_pred, position, segment_min, segment_max, tolerance_s,
            )  # fmt: skip
            if largest_here > largest:
                largest = largest_here
            if largest_here == 0.0:
                break
    return largest


@njit(cache=True, nogil=True)
def class_arc_flows(block_class, bush_flow, out_class_arc_flow):
    """Each class's arc flows: the sum of its blocks' bush flows (clears the output first)."""
    out_class_arc_flow[:, :] = 0.0
    for b in range(block_class.shape[0]):
        k = block_class[b]
        for a in range(bush_flow.shape[1]):
            out_class_arc_flow[k, a] += bush_flow[b, a]
