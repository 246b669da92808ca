"""Shortest-path trees: binary-heap Dijkstra over a CSR graph (numba).

Arrays in, arrays out; the caller allocates every output. The graph is given as in
:class:`metaliverpool.network.graph.RoadGraph`: ``indptr`` (int64, node_count + 1), ``csr_link`` (int32
link numbers ordered by from-node), ``link_to`` (int32 head node of each link) and ``link_cost`` (float64,
non-negative, any unit; ``inf`` closes a link). Nodes numbered below ``first_thru_node`` may start or end a
path but are never passed through (TNTP centroids); pass 0 to disable the rule.

Ties are broken deterministically (by heap order, which depends only on the inputs), so the same inputs
give the same tree.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, inline="always")
def _heap_push_or_decrease(heap, heap_pos, heap_size, key, node):
    """Insert ``node`` or move it up after its key fell; returns the new heap size."""
    pos = heap_pos[node]
    if pos < 0:
        pos = heap_size
        heap_size += 1
    heap[pos] = node
    heap_pos[node] = pos
    while pos > 0:
        parent = (pos - 1) >> 1
        pnode = heap[parent]
        if key[pnode] <= key[node]:
            break
        heap[pos] = pnode
        heap_pos[pnode] = pos
        pos = parent
    heap[pos] = node
    heap_pos[node] = pos
    return heap_size


@njit(cache=True, nogil=True, inline="always")
def _heap_pop(heap, heap_pos, heap_size, key):
    """Remove and return the node with the smallest key (heap_size must be > 0)."""
    top = heap[0]
    heap_pos[top] = -2
    heap_size -= 1
    if heap_size > 0:
        last = heap[heap_size]
        pos = 0
        while True:
            child = 2 * pos + 1
            if child >= heap_size:
                break
            right = child + 1
            if right < heap_size and key[heap[right]] < key[heap[child]]:
                child = right
            if key[heap[child]] >= key[last]:
                break
            heap[pos] = heap[child]
            heap_pos[heap[child]] = pos
            pos = child
        heap[pos] = last
        heap_pos[last] = pos
    return top, heap_size


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
    work_heap,
    work_heap_pos,
):
    """One-to-all Dijkstra from node ``origin``.

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
    work_heap, work_heap_pos:
        int32[node_count] scratch arrays (contents ignored on entry).

    Returns
    -------
    int
        ``count``, the number of settled (reachable) nodes.
    """
    node_count = out_cost.shape[0]
    for n in range(node_count):
        out_cost[n] = np.inf
        out_pred_link[n] = -1
        work_heap_pos[n] = -1
    out_cost[origin] = 0.0
    heap_size = _heap_push_or_decrease(work_heap, work_heap_pos, 0, out_cost, origin)
    count = 0
    while heap_size > 0:
        node, heap_size = _heap_pop(work_heap, work_heap_pos, heap_size, out_cost)
        out_order[count] = node
        count += 1
        if node < first_thru_node and node != origin:
            continue
        base = out_cost[node]
        for k in range(indptr[node], indptr[node + 1]):
            link = csr_link[k]
            head = link_to[link]
            if work_heap_pos[head] == -2:
                continue
            candidate = base + link_cost[link]
            if candidate < out_cost[head]:
                out_cost[head] = candidate
                out_pred_link[head] = link
                heap_size = _heap_push_or_decrease(work_heap, work_heap_pos, heap_size, out_cost, head)
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
    for i in prange(origins.shape[0]):
        order = np.empty(node_count, dtype=np.int32)
        heap = np.empty(node_count, dtype=np.int32)
        heap_pos = np.empty(node_count, dtype=np.int32)
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
            heap,
            heap_pos,
        )
