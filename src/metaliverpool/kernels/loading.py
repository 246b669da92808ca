"""All-or-nothing loading: every origin's demand on its shortest-path tree (numba).

The graph is a search graph whose arcs are stored in CSR order (see
:func:`~metaliverpool.kernels.shortest_path.arc_tree` and :class:`metaliverpool.assign.search.SearchGraph`);
``arc_tail`` is the tail node of each arc. Demand is a dense zone-by-zone matrix (float64[zone_count,
zone_count], any flow unit); zone ``z`` sits at node ``zone_node[z]``. Intrazonal demand (``demand[z, z]``)
and demand between zones on the same node use no arc.

Loading walks the tree once per origin (in reverse settling order), so its cost is linear in the number
of nodes whatever the number of destinations. Origins are split into ``work_arc_flow.shape[0]`` fixed
chunks (origin ``i`` goes to chunk ``i % chunks``) that run in parallel and are summed in chunk order, so
the result is identical from run to run for a given chunk count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from metaliverpool.kernels.shortest_path import arc_tree


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
    """Serial all-or-nothing loading of origin zones ``first_zone, first_zone + zone_stride, ...``; each
    search stops once every zone node (``is_target``) is settled. Adds to ``out_arc_flow`` (not cleared) and
    fills the matching rows of ``out_zone_cost`` (``inf`` where unreachable).
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
