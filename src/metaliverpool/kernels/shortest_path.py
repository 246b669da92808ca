"""Shortest-path trees: binary-heap Dijkstra over a CSR graph (numba).

Arrays in, arrays out; the caller allocates every output. The graph is given as in
:class:`metaliverpool.network.graph.RoadGraph`: ``indptr`` (int64, node_count + 1), ``csr_link`` (int32
link numbers ordered by from-node), ``link_to`` (int32 head node of each link) and ``link_cost`` (float64,
non-negative, any unit; ``inf`` closes a link). Nodes numbered below ``first_thru_node`` may start or end a
path but are never passed through (TNTP centroids); pass 0 to disable the rule.

Ties are broken deterministically (by heap order, which depends only on the inputs), so the same inputs
give the same tree. :func:`shortest_path_tree` uses a lazy-deletion heap, about twice as fast on road
networks as an indexed decrease-key heap.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def shortest_path_tree(
    indptr,
    csr_link,
    link_to,
    link_cost,
    origin,
    first_thru_node,
    out_cost,
    out_pred_link,
    out_order,
    work_heap_key,
    work_heap_node,
):
    """One-to-all Dijkstra from node ``origin`` (binary heap with lazy deletion).

    Parameters
    ----------
    indptr, csr_link, link_to, link_cost, first_thru_node:
        The graph (see the module docstring).
    origin:
        Start node.
    out_cost:
        float64[node_count]: cost of the shortest path to each node (``inf`` if unreachable).
    out_pred_link:
        int32[node_count]: last link of the shortest path to each node (-1 for the origin and unreachable).
    out_order:
        int32[node_count]: settled nodes in the order they were settled (origin first); only the first
        ``count`` entries are meaningful.
    work_heap_key, work_heap_node:
        float64 and int32 scratch arrays of length ``link_count + 1`` at least (contents ignored): the
        heap holds one entry per improvement of a label, stale entries are skipped when popped.

    Returns
    -------
    int
        ``count``, the number of settled (reachable) nodes.
    """
    node_count = out_cost.shape[0]
    for n in range(node_count):
        out_cost[n] = np.inf
        out_pred_link[n] = -1
    out_cost[origin] = 0.0
    work_heap_key[0] = 0.0
    work_heap_node[0] = origin
    size = 1
    count = 0
    while size > 0:
        key = work_heap_key[0]
        node = work_heap_node[0]
        size -= 1
        if size > 0:  # move the last entry to the root and sift it down
            last_key = work_heap_key[size]
            last_node = work_heap_node[size]
            pos = 0
            while True:
                child = 2 * pos + 1
                if child >= size:
                    break
                if child + 1 < size and work_heap_key[child + 1] < work_heap_key[child]:
                    child += 1
                if work_heap_key[child] >= last_key:
                    break
                work_heap_key[pos] = work_heap_key[child]
                work_heap_node[pos] = work_heap_node[child]
                pos = child
            work_heap_key[pos] = last_key
            work_heap_node[pos] = last_node
        if key > out_cost[node]:
            continue  # stale entry: the node was settled with a smaller cost
        out_order[count] = node
        count += 1
        if node < first_thru_node and node != origin:
            continue
        for k in range(indptr[node], indptr[node + 1]):
            link = csr_link[k]
            head = link_to[link]
            candidate = key + link_cost[link]
            if candidate < out_cost[head]:  # strict: a settled node is never pushed again
                out_cost[head] = candidate
                out_pred_link[head] = link
                if size >= work_heap_key.shape[0] or size >= work_heap_node.shape[0]:
                    raise ValueError("heap arrays too short (need link_count + 1) or a negative link cost")
                pos = size
                size += 1
                while pos > 0:
                    parent = (pos - 1) >> 1
                    if work_heap_key[parent] <= candidate:
                        break
                    work_heap_key[pos] = work_heap_key[parent]
                    work_heap_node[pos] = work_heap_node[parent]
                    pos = parent
                work_heap_key[pos] = candidate
                work_heap_node[pos] = head
    return count


@njit(cache=True, parallel=True)
def shortest_path_trees(
    indptr, csr_link, link_to, link_cost, origins, first_thru_node, out_cost, out_pred_link
):
    """Dijkstra trees from many origins in parallel.

    ``origins`` is int32[k]; ``out_cost`` (float64[k, node_count]) and ``out_pred_link``
    (int32[k, node_count]) receive one row per origin, as in :func:`shortest_path_tree`.
    """
    node_count = out_cost.shape[1]
    heap_size = csr_link.shape[0] + 1
    for i in prange(origins.shape[0]):
        order = np.empty(node_count, dtype=np.int32)
        heap_key = np.empty(heap_size, dtype=np.float64)
        heap_node = np.empty(heap_size, dtype=np.int32)
        shortest_path_tree(
            indptr,
            csr_link,
            link_to,
            link_cost,
            origins[i],
            first_thru_node,
            out_cost[i],
            out_pred_link[i],
            order,
            heap_key,
            heap_node,
        )


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
    """One-to-all Dijkstra over a graph whose arcs are stored in CSR order, stopping once every target is
    settled (4-ary heap with lazy deletion: about 30% faster than the binary heap of
    :func:`shortest_path_tree` on a region network, as the heap is half as deep).

    Arc ``k`` leaves node ``n`` for ``indptr[n] <= k < indptr[n + 1]``; ``arc_head`` (int64) and
    ``arc_cost`` (float64, non-negative, ``inf`` closes an arc) are indexed by that position, so a node's
    arcs are read from contiguous memory. ``blocked`` (bool per node): may start or end a path but is never
    passed through. ``is_target`` (bool per node) marks the ``target_count`` nodes whose cost is needed:
    the search stops when the last of them is settled, so nodes settled later (only those beyond every
    target) keep ``inf``/``-1`` or a provisional label. Outputs and scratch as in
    :func:`shortest_path_tree` (``out_pred_arc`` holds arc positions). Returns the number of settled nodes.
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
