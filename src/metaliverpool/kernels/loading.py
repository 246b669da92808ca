"""All-or-nothing loading: every origin's demand on its shortest-path tree (numba).

The graph arrays follow :mod:`metaliverpool.kernels.shortest_path`; ``link_from`` is the tail node of each
link. Demand is a dense zone-by-zone matrix (float64[zone_count, zone_count], any flow unit); zone ``z``
sits at node ``zone_node[z]``. Intrazonal demand (``demand[z, z]``) and demand between zones on the same
node use no link.

Loading walks the tree once per origin (in reverse settling order), so its cost is linear in the number
of nodes whatever the number of destinations. Origins are split into ``work_link_flow.shape[0]`` fixed
chunks (origin ``i`` goes to chunk ``i % chunks``) that run in parallel and are summed in chunk order, so
the result is identical from run to run for a given chunk count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from metaliverpool.kernels.shortest_path import arc_tree, shortest_path_tree


@njit(cache=True, nogil=True)
def load_tree(link_from, pred_link, order, count, node_demand, out_link_flow):
    """Add the demand ``node_demand`` (float64[node_count], per destination node) to ``out_link_flow``
    along the tree ``pred_link`` whose settling order is ``order[:count]``. ``node_demand`` is used as
    scratch and left holding the flow through each node."""
    for k in range(count - 1, 0, -1):
        node = order[k]
        through = node_demand[node]
        if through != 0.0:
            link = pred_link[node]
            out_link_flow[link] += through
            node_demand[link_from[link]] += through


@njit(cache=True, nogil=True)
def load_origins(
    indptr,
    csr_link,
    link_from,
    link_to,
    link_cost,
    first_thru_node,
    zone_node,
    demand,
    first_zone,
    zone_stride,
    out_link_flow,
    out_zone_cost,
):
    """Serial all-or-nothing loading of origin zones ``first_zone, first_zone + zone_stride, ...``.

    Adds to ``out_link_flow`` (not cleared) and fills the matching rows of ``out_zone_cost``; see
    :func:`load_all_or_nothing` for the arguments.
    """
    zone_count = zone_node.shape[0]
    node_count = indptr.shape[0] - 1
    cost = np.empty(node_count, dtype=np.float64)
    pred = np.empty(node_count, dtype=np.int32)
    order = np.empty(node_count, dtype=np.int32)
    heap_key = np.empty(csr_link.shape[0] + 1, dtype=np.float64)
    heap_node = np.empty(csr_link.shape[0] + 1, dtype=np.int32)
    node_demand = np.zeros(node_count, dtype=np.float64)
    for origin_zone in range(first_zone, zone_count, zone_stride):
        origin = zone_node[origin_zone]
        count = shortest_path_tree(
            indptr,
            csr_link,
            link_to,
            link_cost,
            origin,
            first_thru_node,
            cost,
            pred,
            order,
            heap_key,
            heap_node,
        )
        for z in range(zone_count):
            out_zone_cost[origin_zone, z] = cost[zone_node[z]]
            if z != origin_zone:
                node_demand[zone_node[z]] += demand[origin_zone, z]
        load_tree(link_from, pred, order, count, node_demand, out_link_flow)
        for k in range(count):
            node_demand[order[k]] = 0.0
        for z in range(zone_count):
            node_demand[zone_node[z]] = 0.0


@njit(cache=True, parallel=True)
def _load_chunks_parallel(
    indptr,
    csr_link,
    link_from,
    link_to,
    link_cost,
    first_thru_node,
    zone_node,
    demand,
    out_zone_cost,
    work_link_flow,
):
    chunks = work_link_flow.shape[0]
    for c in prange(chunks):
        work_link_flow[c, :] = 0.0
        load_origins(
            indptr,
            csr_link,
            link_from,
            link_to,
            link_cost,
            first_thru_node,
            zone_node,
            demand,
            c,
            chunks,
            work_link_flow[c],
            out_zone_cost,
        )


def load_all_or_nothing(
    indptr,
    csr_link,
    link_from,
    link_to,
    link_cost,
    first_thru_node,
    zone_node,
    demand,
    out_link_flow,
    out_zone_cost,
    work_link_flow,
):
    """Shortest-path trees from every zone, and the all-or-nothing link flows.

    Parameters
    ----------
    indptr, csr_link, link_from, link_to, link_cost, first_thru_node:
        The graph (link costs non-negative).
    zone_node:
        int32[zone_count] node of each zone.
    demand:
        float64[zone_count, zone_count] trips from row zone to column zone.
    out_link_flow:
        float64[link_count], overwritten with the all-or-nothing flows.
    out_zone_cost:
        float64[zone_count, zone_count], overwritten with the shortest-path cost between zones (``inf``
        where unreachable).
    work_link_flow:
        float64[chunks, link_count] scratch; ``chunks`` (>= 1) sets the parallel split. With one chunk the
        serial kernel runs (no thread pool: on a busy machine a parallel region on a small network costs
        more than it saves).
    """
    if work_link_flow.shape[0] <= 1:
        out_link_flow[:] = 0.0
        load_origins(
            indptr,
            csr_link,
            link_from,
            link_to,
            link_cost,
            first_thru_node,
            zone_node,
            demand,
            0,
            1,
            out_link_flow,
            out_zone_cost,
        )
        return
    _load_chunks_parallel(
        indptr,
        csr_link,
        link_from,
        link_to,
        link_cost,
        first_thru_node,
        zone_node,
        demand,
        out_zone_cost,
        work_link_flow,
    )
    np.sum(work_link_flow, axis=0, out=out_link_flow)


@njit(cache=True, nogil=True)
def load_arc_origins(
    indptr,
    arc_tail,
    arc_head,
    arc_cost,
    blocked,
    is_target,
    target_count,
    zone_node,
    demand,
    first_zone,
    zone_stride,
    out_arc_flow,
    out_zone_cost,
):
    """:func:`load_origins` on a graph whose arcs are in CSR order (see
    :func:`~metaliverpool.kernels.shortest_path.arc_tree`): each search stops once every zone node
    (``is_target``) is settled. Adds to ``out_arc_flow`` (not cleared), fills rows of ``out_zone_cost``.
    """
    zone_count = zone_node.shape[0]
    node_count = indptr.shape[0] - 1
    cost = np.empty(node_count, dtype=np.float64)
    pred = np.empty(node_count, dtype=np.int64)
    order = np.empty(node_count, dtype=np.int64)
    heap_key = np.empty(arc_head.shape[0] + 1, dtype=np.float64)
    heap_node = np.empty(arc_head.shape[0] + 1, dtype=np.int64)
    node_demand = np.zeros(node_count, dtype=np.float64)
    for origin_zone in range(first_zone, zone_count, zone_stride):
        count = arc_tree(
            indptr,
            arc_head,
            arc_cost,
            zone_node[origin_zone],
            blocked,
            is_target,
            target_count,
            cost,
            pred,
            order,
            heap_key,
            heap_node,
        )
        for z in range(zone_count):
            out_zone_cost[origin_zone, z] = cost[zone_node[z]]
            if z != origin_zone:
                node_demand[zone_node[z]] += demand[origin_zone, z]
        for k in range(count - 1, 0, -1):
            node = order[k]
            through = node_demand[node]
            if through != 0.0:
                arc = pred[node]
                out_arc_flow[arc] += through
                node_demand[arc_tail[arc]] += through
            node_demand[node] = 0.0
        node_demand[order[0]] = 0.0
        for z in range(zone_count):
            node_demand[zone_node[z]] = 0.0


@njit(cache=True, parallel=True)
def load_arc_chunks(
    indptr,
    arc_tail,
    arc_head,
    arc_cost,
    blocked,
    is_target,
    target_count,
    zone_node,
    demand,
    out_zone_cost,
    work_arc_flow,
):
    """:func:`load_arc_origins` over ``work_arc_flow.shape[0]`` fixed origin chunks in parallel (origin
    ``i`` in chunk ``i % chunks``); each chunk's row of ``work_arc_flow`` is overwritten with its flows."""
    chunks = work_arc_flow.shape[0]
    for c in prange(chunks):
        work_arc_flow[c, :] = 0.0
        load_arc_origins(
            indptr,
            arc_tail,
            arc_head,
            arc_cost,
            blocked,
            is_target,
            target_count,
            zone_node,
            demand,
            c,
            chunks,
            work_arc_flow[c],
            out_zone_cost,
        )
