"""Path-based gradient projection (Jayakrishnan et al. 1994) for user equilibrium (numba).

Arrays in, arrays out. The caller (``metaliverpool.assign.gradient_projection``) owns the state:

- Demand is a list of OD entries (one per class, origin zone, destination zone with positive demand),
  sorted by (class, origin); ``block_start`` (int64[B + 1]) delimits the entries of each (class, origin)
  block, so one shortest-path tree serves a whole block.
- Each OD entry keeps a linked list of its paths (``od_head``; ``path_next``), every path a run of link
  numbers ``path_links[path_start[p]:path_start[p] + path_len[p]]`` (destination to origin) with a flow in
  vehicles ``path_flow[p]`` and a hash ``path_hash[p]`` used to spot a path already known.
- Link state: total flow in PCU ``link_flow_pcu``, per class vehicles ``class_link_flow[k]``, and the
  volume-delay time ``link_time`` and derivative ``link_derivative`` at that flow, kept in step as flows
  move.

Class ``k`` pays ``link_time + class_fixed_cost[k]`` per link; one vehicle of class ``k`` adds
``class_pcu[k]`` to the link flow. A sweep (:func:`gp_sweep`) visits every block, optionally adds each
destination's current shortest path to its set, then moves flow from every costlier path of the set to the
cheapest one by a projected Newton step; flows never go negative, and a path whose flow reaches zero is
dropped. The pool arrays grow when full, so :func:`gp_sweep` returns them (possibly reallocated).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metaliverpool.kernels.arc_graph import arc_costs
from metaliverpool.kernels.shortest_path import arc_tree
from metaliverpool.kernels.vdf import time_and_derivative_one

_HASH_MULT = np.uint64(1099511628211)
_HASH_SEED = np.uint64(1469598103934665603)


@njit(cache=True, nogil=True)
def _grow(array, need):
    """``array`` itself if it holds ``need`` entries, else a copy at least twice as long (zero-padded)."""
    if need <= array.shape[0]:
        return array
    out = np.zeros(max(need, 2 * array.shape[0]), dtype=array.dtype)
    out[: array.shape[0]] = array
    return out


@njit(cache=True, nogil=True)
def _path_cost(path_links, start, length, link_time, fixed):
    total = 0.0
    for i in range(start, start + length):
        link = path_links[i]
        total += link_time[link] + fixed[link]
    return total


@njit(cache=True, nogil=True)
def _move_flow(
    path_links,
    start,
    length,
    skip_mark,
    skip_stamp,
    amount,
    pcu,
    k,
    link_flow_pcu,
    class_link_flow,
    link_time,
    link_derivative,
    vdf,
    t0,
    alpha,
    beta,
    capacity,
):
    """Add ``amount`` vehicles of class ``k`` to every link of a path not stamped ``skip_stamp``."""
    for i in range(start, start + length):
        link = path_links[i]
        if skip_mark[link] == skip_stamp:
            continue
        flow = link_flow_pcu[link] + pcu * amount
        if flow < 0.0:
            flow = 0.0
        link_flow_pcu[link] = flow
        class_link_flow[k, link] += amount
        link_time[link], link_derivative[link] = time_and_derivative_one(
            vdf[link], t0[link], alpha[link], beta[link], capacity[link], flow
        )


@njit(cache=True, nogil=True)
def equilibrate_od(
    od,
    k,
    pcu,
    od_head,
    path_links,
    path_start,
    path_len,
    path_flow,
    path_next,
    link_flow_pcu,
    class_link_flow,
    link_time,
    link_derivative,
    class_fixed_cost,
    vdf,
    t0,
    alpha,
    beta,
    capacity,
    mark_a,
    mark_b,
    stamp,
):
    """Shift flow of OD entry ``od`` from its costlier paths to its cheapest; drop emptied paths.

    ``mark_a``/``mark_b`` are int64[link_count] scratch stamps; ``stamp`` is a counter value larger than
    any stamp used before (returns the next free value).
    """
    if od_head[od] < 0 or path_next[od_head[od]] < 0:
        return stamp  # one path or none: nothing to shift
    fixed = class_fixed_cost[k]
    best = -1
    best_cost = np.inf
    p = od_head[od]
    while p >= 0:
        cost = _path_cost(path_links, path_start[p], path_len[p], link_time, fixed)
        if cost < best_cost:
            best_cost = cost
            best = p
        p = path_next[p]
    if best < 0:
        return stamp
    stamp_s = stamp
    stamp += 1
    for i in range(path_start[best], path_start[best] + path_len[best]):
        mark_a[path_links[i]] = stamp_s
    p = od_head[od]
    while p >= 0:
        if p != best and path_flow[p] > 0.0:
            stamp_p = stamp
            stamp += 1
            cost_p = 0.0
            derivative = 0.0
            for i in range(path_start[p], path_start[p] + path_len[p]):
                link = path_links[i]
                mark_b[link] = stamp_p
                if mark_a[link] != stamp_s:
                    cost_p += link_time[link] + fixed[link]
                    derivative += link_derivative[link]
            cost_s = 0.0
            for i in range(path_start[best], path_start[best] + path_len[best]):
                link = path_links[i]
                if mark_b[link] != stamp_p:
                    cost_s += link_time[link] + fixed[link]
                    derivative += link_derivative[link]
            difference = cost_p - cost_s
            if difference > 0.0:
                if derivative > 0.0:
                    amount = difference / (pcu * derivative)
                    if amount > path_flow[p]:
                        amount = path_flow[p]
                else:
                    amount = path_flow[p]
                if amount > 0.0:
                    if amount >= path_flow[p]:
                        path_flow[p] = 0.0
                    else:
                        path_flow[p] -= amount
                    path_flow[best] += amount
                    _move_flow(
                        path_links,
                        path_start[p],
                        path_len[p],
                        mark_a,
                        stamp_s,
                        -amount,
                        pcu,
                        k,
                        link_flow_pcu,
                        class_link_flow,
                        link_time,
                        link_derivative,
                        vdf,
                        t0,
                        alpha,
                        beta,
                        capacity,
                    )
                    _move_flow(
                        path_links,
                        path_start[best],
                        path_len[best],
                        mark_b,
                        stamp_p,
                        amount,
                        pcu,
                        k,
                        link_flow_pcu,
                        class_link_flow,
                        link_time,
                        link_derivative,
                        vdf,
                        t0,
                        alpha,
                        beta,
                        capacity,
                    )
        p = path_next[p]
    # drop emptied paths (never the cheapest)
    previous = -1
    p = od_head[od]
    while p >= 0:
        following = path_next[p]
        if p != best and path_flow[p] <= 0.0:
            if previous < 0:
                od_head[od] = following
            else:
                path_next[previous] = following
            path_next[p] = -2
        else:
            previous = p
        p = following
    return stamp


@njit(cache=True, nogil=True)
def _trace_path(pred, arc_tail, arc_link_indptr, arc_links, dest_node, out_links):
    """Write the links of the tree path to ``dest_node`` into ``out_links`` (destination to origin);
    returns its length and hash."""
    length = 0
    value = _HASH_SEED
    node = dest_node
    while pred[node] >= 0:
        arc = pred[node]
        for j in range(arc_link_indptr[arc + 1] - 1, arc_link_indptr[arc] - 1, -1):
            link = arc_links[j]
            out_links[length] = link
            value = (value ^ np.uint64(link)) * _HASH_MULT
            length += 1
        node = arc_tail[arc]
    return length, value


@njit(cache=True, nogil=True)
def _known_path(od_head, path_next, path_hash, path_len, path_start, path_links, trace, length, value):
    """Whether the OD entry whose first path is ``od_head`` already holds the path ``trace[:length]``."""
    p = od_head
    while p >= 0:
        if path_hash[p] == value and path_len[p] == length:
            start = path_start[p]
            same = True
            for i in range(length):
                if path_links[start + i] != trace[i]:
                    same = False
                    break
            if same:
                return True
        p = path_next[p]
    return False


@njit(cache=True, nogil=True)
def gp_sweep(
    search_indptr,
    arc_tail,
    arc_head,
    link_arc,
    arc_link_indptr,
    arc_links,
    blocked,
    is_target,
    target_count,
    search_zone_node,
    vdf,
    t0,
    alpha,
    beta,
    capacity,
    class_fixed_cost,
    class_pcu,
    od_class,
    od_origin,
    od_dest,
    od_demand,
    block_start,
    od_head,
    link_flow_pcu,
    class_link_flow,
    link_time,
    link_derivative,
    path_links,
    path_start,
    path_len,
    path_flow,
    path_next,
    path_hash,
    counters,
    find_paths,
    mark_a,
    mark_b,
):
    """One sweep over every (class, origin) block; see the module docstring.

    The shortest-path trees are grown on the contracted search graph
    (:class:`~metaliverpool.assign.search.SearchGraph`: ``search_indptr`` ... ``search_zone_node``), paths
    are stored as road-graph links. ``counters`` is int64[3]: number of paths created, pool entries used,
    next free stamp (updated). With ``find_paths`` a tree is grown per block (class costs) and each
    destination's shortest path is added to its set unless a known path of the set costs no more (new OD
    entries start with all their demand on it). Returns the pool arrays
    ``(path_links, path_start, path_len, path_flow, path_next, path_hash)``.
    """
    node_count = search_indptr.shape[0] - 1
    link_count = link_arc.shape[0]
    arc_count = arc_head.shape[0]
    cost = np.empty(node_count, dtype=np.float64)
    pred = np.empty(node_count, dtype=np.int64)
    order = np.empty(node_count, dtype=np.int64)
    heap_key = np.empty(arc_count + 1, dtype=np.float64)
    heap_node = np.empty(arc_count + 1, dtype=np.int64)
    link_cost = np.empty(link_count, dtype=np.float64)
    arc_cost = np.empty(arc_count, dtype=np.float64)
    trace = np.empty(link_count, dtype=np.int32)
    path_count = counters[0]
    pool_used = counters[1]
    stamp = counters[2]
    for block in range(block_start.shape[0] - 1):
        first = block_start[block]
        last = block_start[block + 1]
        k = od_class[first]
        pcu = class_pcu[k]
        fixed = class_fixed_cost[k]
        if find_paths:
            for a in range(link_count):
                link_cost[a] = link_time[a] + fixed[a]
            arc_costs(link_arc, link_cost, arc_cost)
            arc_tree(
                search_indptr,
                arc_head,
                arc_cost,
                search_zone_node[od_origin[first]],
                blocked,
                is_target,
                target_count,
                cost,
                pred,
                order,
                heap_key,
                heap_node,
            )
        for od in range(first, last):
            if find_paths:
                dest_node = search_zone_node[od_dest[od]]
                known_cost = np.inf
                p = od_head[od]
                while p >= 0:
                    known_cost = min(
                        known_cost, _path_cost(path_links, path_start[p], path_len[p], link_time, fixed)
                    )
                    p = path_next[p]
                # a known path as cheap as the tree's (up to rounding): nothing to add
                if known_cost > cost[dest_node] + 1e-12 * abs(cost[dest_node]):
                    length, value = _trace_path(pred, arc_tail, arc_link_indptr, arc_links, dest_node, trace)
                    if not _known_path(
                        od_head[od],
                        path_next,
                        path_hash,
                        path_len,
                        path_start,
                        path_links,
                        trace,
                        length,
                        value,
                    ):
                        path_links = _grow(path_links, pool_used + length)
                        path_start = _grow(path_start, path_count + 1)
                        path_len = _grow(path_len, path_count + 1)
                        path_flow = _grow(path_flow, path_count + 1)
                        path_next = _grow(path_next, path_count + 1)
                        path_hash = _grow(path_hash, path_count + 1)
                        new = path_count
                        path_count += 1
                        path_start[new] = pool_used
                        path_len[new] = length
                        path_hash[new] = value
                        path_links[pool_used : pool_used + length] = trace[:length]
                        pool_used += length
                        if od_head[od] < 0:
                            path_flow[new] = od_demand[od]
                            stamp += 1
                            _move_flow(
                                path_links,
                                path_start[new],
                                length,
                                mark_a,
                                -1,
                                od_demand[od],
                                pcu,
                                k,
                                link_flow_pcu,
                                class_link_flow,
                                link_time,
                                link_derivative,
                                vdf,
                                t0,
                                alpha,
                                beta,
                                capacity,
                            )
                        else:
                            path_flow[new] = 0.0
                        path_next[new] = od_head[od]
                        od_head[od] = new
            stamp = equilibrate_od(
                od,
                k,
                pcu,
                od_head,
                path_links,
                path_start,
                path_len,
                path_flow,
                path_next,
                link_flow_pcu,
                class_link_flow,
                link_time,
                link_derivative,
                class_fixed_cost,
                vdf,
                t0,
                alpha,
                beta,
                capacity,
                mark_a,
                mark_b,
                stamp,
            )
    counters[0] = path_count
    counters[1] = pool_used
    counters[2] = stamp
    return path_links, path_start, path_len, path_flow, path_next, path_hash


@njit(cache=True, nogil=True)
def link_flows_from_paths(
    od_class,
    od_head,
    class_pcu,
    path_links,
    path_start,
    path_len,
    path_flow,
    path_next,
    out_class_link_flow,
    out_link_flow_pcu,
):
    """Recompute class and PCU link flows exactly from the path flows (clears the outputs first)."""
    out_class_link_flow[:, :] = 0.0
    out_link_flow_pcu[:] = 0.0
    for od in range(od_head.shape[0]):
        k = od_class[od]
        p = od_head[od]
        while p >= 0:
            flow = path_flow[p]
            if flow != 0.0:
                for i in range(path_start[p], path_start[p] + path_len[p]):
                    out_class_link_flow[k, path_links[i]] += flow
            p = path_next[p]
    for k in range(out_class_link_flow.shape[0]):
        pcu = class_pcu[k]
        for a in range(out_link_flow_pcu.shape[0]):
            out_link_flow_pcu[a] += pcu * out_class_link_flow[k, a]


@njit(cache=True, nogil=True)
def collect_paths(od_head, path_links, path_start, path_len, path_flow, path_next):
    """The used paths (flow > 0) as flat arrays: ``(path_od, path_flow, link_indptr, links)``.

    ``path_od`` int64[paths] is the OD entry of each path, ``path_flow`` its vehicles, and the links of path
    ``q`` are ``links[link_indptr[q]:link_indptr[q + 1]]`` (destination to origin).
    """
    paths = 0
    total = 0
    for od in range(od_head.shape[0]):
        p = od_head[od]
        while p >= 0:
            if path_flow[p] > 0.0:
                paths += 1
                total += path_len[p]
            p = path_next[p]
    out_od = np.empty(paths, dtype=np.int64)
    out_flow = np.empty(paths, dtype=np.float64)
    indptr = np.zeros(paths + 1, dtype=np.int64)
    links = np.empty(total, dtype=np.int32)
    q = 0
    for od in range(od_head.shape[0]):
        p = od_head[od]
        while p >= 0:
            if path_flow[p] > 0.0:
                out_od[q] = od
                out_flow[q] = path_flow[p]
                start = indptr[q]
                for i in range(path_len[p]):
                    links[start + i] = path_links[path_start[p] + i]
                indptr[q + 1] = start + path_len[p]
                q += 1
            p = path_next[p]
    return out_od, out_flow, indptr, links
