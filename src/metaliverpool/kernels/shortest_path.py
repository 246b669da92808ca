"""Shortest-path trees: Dijkstra with a 4-ary heap over a graph whose arcs are stored in CSR order (numba).

Arrays in, arrays out; the caller allocates every output. Arc ``k`` leaves node ``n`` for
``indptr[n] <= k < indptr[n + 1]``, so a node's arc heads and costs are read from contiguous memory; a
:class:`metaliverpool.network.graph.RoadGraph` gives such a graph as ``arc_head = link_to[csr_link]``
(and the link of position ``k`` is ``csr_link[k]``), and :class:`metaliverpool.assign.search.SearchGraph`
a smaller one with pass-through chains contracted. Arc costs are float64, non-negative, any unit (``inf``
closes an arc). ``blocked`` nodes (TNTP centroids) may start or end a path but are never passed through.

Ties are broken deterministically (by heap order, which depends only on the inputs), so the same inputs
give the same tree. The heap uses lazy deletion (a node is pushed again when its label improves and stale
entries are skipped when popped), about twice as fast on road networks as an indexed decrease-key heap;
a 4-ary heap is about 30 % faster than a binary one on a region network, as it is half as deep.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def arc_tree(
    indptr,
    arc_head,
    arc_cost,
    origin,
    blocked,
    is_target,
    target_count,
    out_cost,
    out_pred_arc,
    out_order,
    work_heap_key,
    work_heap_node,
):
    """One-to-all Dijkstra from node ``origin``, stopping once every target is settled.

    ``arc_head`` (int64) and ``arc_cost`` (float64) are indexed by CSR position (see the module docstring).
    ``blocked`` (bool per node): may start or end a path but is never passed through. ``is_target`` (bool
    per node) marks the ``target_count`` nodes whose cost is needed: the search stops when the last of them
    is settled, so nodes settled later (only those beyond every target) keep ``inf``/``-1`` or a
    provisional label.

    Outputs (float64/int64[node_count]): ``out_cost`` the cost of the shortest path to each node (``inf``
    if unreachable), ``out_pred_arc`` the arc position by which it is reached (-1 for the origin and
    unreachable nodes), ``out_order`` the settled nodes in settling order (origin first; the first
    ``count`` entries). Scratch (contents ignored): ``work_heap_key`` float64 and ``work_heap_node`` int64,
    ``arc_count + 1`` long at least. Returns ``count``, the number of settled nodes.
    """
    node_count = out_cost.shape[0]
    for n in range(node_count):
        out_cost[n] = np.inf
        out_pred_arc[n] = -1
    out_cost[origin] = 0.0
    work_heap_key[0] = 0.0
    work_heap_node[0] = origin
    size = 1
    count = 0
    left = target_count
    while size > 0:
        key = work_heap_key[0]
        node = work_heap_node[0]
        size -= 1
        if size > 0:  # move the last entry to the root and sift it down past the least of 4 children
            last_key = work_heap_key[size]
            last_node = work_heap_node[size]
            pos = 0
            while True:
                first = 4 * pos + 1
                if first >= size:
                    break
                child = first
                child_key = work_heap_key[first]
                for j in range(first + 1, min(first + 4, size)):
                    if work_heap_key[j] < child_key:
                        child_key = work_heap_key[j]
                        child = j
                if child_key >= last_key:
                    break
                work_heap_key[pos] = child_key
                work_heap_node[pos] = work_heap_node[child]
                pos = child
            work_heap_key[pos] = last_key
            work_heap_node[pos] = last_node
        if key > out_cost[node]:
            continue
        out_order[count] = node
        count += 1
        if is_target[node]:
            left -= 1
            if left == 0:
                break
        if blocked[node] and node != origin:
            continue
        for k in range(indptr[node], indptr[node + 1]):
            head = arc_head[k]
            candidate = key + arc_cost[k]
            if candidate < out_cost[head]:
                out_cost[head] = candidate
                out_pred_arc[head] = k
                if size >= work_heap_key.shape[0]:
                    raise ValueError("heap arrays too short (need arc_count + 1) or a negative arc cost")
                pos = size
                size += 1
                while pos > 0:
                    parent = (pos - 1) >> 2
                    if work_heap_key[parent] <= candidate:
                        break
                    work_heap_key[pos] = work_heap_key[parent]
                    work_heap_node[pos] = work_heap_node[parent]
                    pos = parent
                work_heap_key[pos] = candidate
                work_heap_node[pos] = head
    return count
