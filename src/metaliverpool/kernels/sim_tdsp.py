"""Time-dependent shortest paths for the simulator's route choice (numba).

Link travel times are tabulated per entry-time bin: ``tt_table[b, link]`` is the mean travel time (s) of
vehicles that entered ``link`` during ``[b * bin_s, (b + 1) * bin_s)``. Between bin midpoints the time is
interpolated linearly (constant before the first and after the last midpoint), which keeps links
first-in-first-out whenever the table does not fall faster than one second per second, so the
label-setting Dijkstra below (keyed by arrival time, Dreyfus 1969) gives earliest arrivals. With fixed
link costs (tolls as seconds) the search is keyed by cost = time + fixed costs and looks link times up at
the true arrival times: exact while link times do not change over time; otherwise an approximation (a
cheaper but later label can lose on a link whose time rises faster than one second per second of delay).

The search keeps an indexed binary heap (decrease-key), defined here.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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


@njit(cache=True, inline="always")
def link_time_at_s(tt_table: np.ndarray, bin_s: float, link: int, time_s: float) -> float:
    """Travel time (s) of ``link`` for a vehicle entering at ``time_s`` (interpolated between bins)."""
    bins = tt_table.shape[0]
    x = time_s / bin_s - 0.5
    if x <= 0.0:
        return tt_table[0, link]
    if x >= bins - 1:
        return tt_table[bins - 1, link]
    b = int(x)
    frac = x - b
    return tt_table[b, link] * (1.0 - frac) + tt_table[b + 1, link] * frac


@njit(cache=True, nogil=True)
def td_shortest_path_tree(
    indptr,
    csr_link,
    link_to,
    tt_table,
    bin_s,
    link_fixed_cost_s,
    origin,
    depart_s,
    first_thru_node,
    out_arrival_s,
    out_cost_s,
    out_pred_link,
    work_heap,
    work_heap_pos,
    target_stamp,
    stamp,
    targets,
    node_x,
    node_y,
    seconds_per_unit,
    goal,
    work_key,
):
    """Cheapest path from ``origin`` leaving at ``depart_s`` to every node: cost = travel time plus the
    fixed cost of every link used (``link_fixed_cost_s``, e.g. a toll over the value of time; all zero:
    earliest arrivals). ``out_cost_s[n]`` is that cost counted from ``depart_s`` (so it equals the
    arrival time when there is no fixed cost), ``out_arrival_s[n]`` the arrival time on that path (inf if
    unreachable); link times are looked up at the true arrival times.

    ``out_pred_link[n]`` is the last link of the path to ``n`` (-1 at the origin and
    unreachable nodes). Nodes below ``first_thru_node`` are never passed through. The search stops once
    the ``targets`` nodes whose ``target_stamp`` equals ``stamp`` are settled (``targets`` <= 0: never):
    their times and paths are final, other nodes' may not be.

    With ``goal`` >= 0 the search is A* towards it: nodes are taken in order of cost plus
    ``seconds_per_unit`` x straight-line distance to ``goal`` (``node_x``, ``node_y``), a lower bound
    on the remaining cost when ``seconds_per_unit`` is at most the smallest free-flow time per unit of
    straight-line distance over all links (see :func:`astar_seconds_per_unit`), so the goal's path is
    still the cheapest. ``work_key`` holds the heap keys.
    """
    node_count = out_arrival_s.shape[0]
    for n in range(node_count):
        out_arrival_s[n] = np.inf
        out_cost_s[n] = np.inf
        out_pred_link[n] = -1
        work_heap_pos[n] = -1
    out_arrival_s[origin] = depart_s
    out_cost_s[origin] = depart_s
    gx = node_x[goal] if goal >= 0 else 0.0
    gy = node_y[goal] if goal >= 0 else 0.0
    work_key[origin] = depart_s
    heap_size = _heap_push_or_decrease(work_heap, work_heap_pos, 0, work_key, origin)
    while heap_size > 0:
        node, heap_size = _heap_pop(work_heap, work_heap_pos, heap_size, work_key)
        if target_stamp[node] == stamp:
            targets -= 1
            if targets == 0:
                return
        if node < first_thru_node and node != origin:
            continue
        base = out_arrival_s[node]
        base_cost = out_cost_s[node]
        for k in range(indptr[node], indptr[node + 1]):
            link = csr_link[k]
            head = link_to[link]
            if work_heap_pos[head] == -2:
                continue
            travel = link_time_at_s(tt_table, bin_s, link, base)
            candidate = base_cost + travel + link_fixed_cost_s[link]
            if candidate < out_cost_s[head]:
                out_cost_s[head] = candidate
                out_arrival_s[head] = base + travel
                out_pred_link[head] = link
                key = candidate
                if goal >= 0:
                    dx = node_x[head] - gx
                    dy = node_y[head] - gy
                    key += seconds_per_unit * np.sqrt(dx * dx + dy * dy)
                work_key[head] = key
                heap_size = _heap_push_or_decrease(work_heap, work_heap_pos, heap_size, work_key, head)


@njit(cache=True, inline="always")
def _mark_group_targets(q, query_origin, query_depart_s, query_destination, target_stamp):
    """Stamp the distinct destinations of the query group starting at ``q`` (same origin and departure)
    with ``q``; return how many there are."""
    targets = 0
    end = q
    while end < query_origin.shape[0] and query_origin[end] == query_origin[q]:
        if query_depart_s[end] != query_depart_s[q]:
            break
        if target_stamp[query_destination[end]] != q:
            target_stamp[query_destination[end]] = q
            targets += 1
        end += 1
    return targets


@njit(cache=True, inline="always")
def _emit_path(reversed_links, count, out_path_links, written):
    """Append ``reversed_links[:count]`` in forward order at ``written``; the new end, or -1 if no room."""
    if written + count > out_path_links.shape[0]:
        return -1
    for i in range(count):
        out_path_links[written + i] = reversed_links[count - 1 - i]
    return written + count


@njit(cache=True)
def td_fastest_paths(
    indptr,
    csr_link,
    link_from,
    link_to,
    tt_table,
    bin_s,
    link_fixed_cost_s,
    node_x,
    node_y,
    seconds_per_unit,
    first_thru_node,
    query_origin,
    query_depart_s,
    query_destination,
    out_path_links,
    out_path_offset,
    out_time_s,
    out_cost_s,
):
    """Cheapest path for each query (origin node, departure time, destination node): fastest when
    ``link_fixed_cost_s`` is all zero (see :func:`td_shortest_path_tree`).

    Queries must be sorted by (origin, departure time) so one tree serves every destination of a group.
    ``out_path_offset`` (int64, queries + 1) gets the CSR offsets into ``out_path_links`` (int32, sized by
    the caller); ``out_time_s`` the travel time and ``out_cost_s`` the cost (time plus fixed costs) of the
    path (inf if unreachable, then the path is empty). Returns the number of path links written, or -1
    when ``out_path_links`` is too small (call again with a larger one).
    """
    node_count = indptr.shape[0] - 1
    arrival = np.empty(node_count, dtype=np.float64)
    cost = np.empty(node_count, dtype=np.float64)
    pred = np.empty(node_count, dtype=np.int32)
    heap = np.empty(node_count, dtype=np.int32)
    heap_pos = np.empty(node_count, dtype=np.int32)
    reversed_links = np.empty(node_count, dtype=np.int32)
    target_stamp = np.full(node_count, -1, dtype=np.int64)
    work_key = np.empty(node_count, dtype=np.float64)
    written = 0
    last_origin = -1
    last_depart = -1.0
    out_path_offset[0] = 0
    for q in range(query_origin.shape[0]):
        origin = query_origin[q]
        depart = query_depart_s[q]
        if origin != last_origin or depart != last_depart:
            # this group's distinct destinations: the search may stop once they are all settled
            targets = _mark_group_targets(q, query_origin, query_depart_s, query_destination, target_stamp)
            # one destination: A* towards it (no bound without coordinates)
            goal = query_destination[q] if targets == 1 and seconds_per_unit > 0.0 else -1
            td_shortest_path_tree(
                indptr,
                csr_link,
                link_to,
                tt_table,
                bin_s,
                link_fixed_cost_s,
                origin,
                depart,
                first_thru_node,
                arrival,
                cost,
                pred,
                heap,
                heap_pos,
                target_stamp,
                q,
                targets,
                node_x,
                node_y,
                seconds_per_unit,
                goal,
                work_key,
            )
            last_origin = origin
            last_depart = depart
        dest = query_destination[q]
        if dest == origin or not np.isfinite(arrival[dest]):
            out_time_s[q] = np.inf if dest != origin else 0.0
            out_cost_s[q] = out_time_s[q]
            out_path_offset[q + 1] = written
            continue
        out_time_s[q] = arrival[dest] - depart
        out_cost_s[q] = cost[dest] - depart
        count = 0
        node = dest
        while node != origin:
            link = pred[node]
            reversed_links[count] = link
            count += 1
            node = link_from[link]
        written = _emit_path(reversed_links, count, out_path_links, written)
        if written < 0:
            return -1
        out_path_offset[q + 1] = written
    return written


def astar_seconds_per_unit(
    link_from: np.ndarray,
    link_to: np.ndarray,
    link_free_time_s: np.ndarray,
    node_x: np.ndarray,
    node_y: np.ndarray,
) -> float:
    """The largest A* factor that keeps the straight-line bound admissible: the smallest free-flow time
    (s) per unit of straight-line distance between a link's end nodes, over all links (0 without
    coordinates). Any path then takes at least this factor times the straight-line distance between its
    ends, at free flow and so at any time (tabulated times never fall below free flow), tolls or not."""
    if node_x.size == 0 or link_from.size == 0:
        return 0.0
    dx = node_x[link_to] - node_x[link_from]
    dy = node_y[link_to] - node_y[link_from]
    distance = np.sqrt(dx * dx + dy * dy)
    moving = distance > 0
    if not np.any(moving):
        return 0.0
    return float(np.min(link_free_time_s[moving] / distance[moving]))


@njit(cache=True)
def td_path_times(
    path_offset, path_length, path_links, tt_table, bin_s, query_path, query_depart_s, out_time_s
):
    """Travel time (s) of path ``query_path[q]`` entered at ``query_depart_s[q]`` under the table."""
    for q in range(query_path.shape[0]):
        p = query_path[q]
        t = query_depart_s[q]
        start = path_offset[p]
        for i in range(path_length[p]):
            t += link_time_at_s(tt_table, bin_s, path_links[start + i], t)
        out_time_s[q] = t - query_depart_s[q]


@njit(cache=True)
def td_fastest_paths_turns(
    indptr,
    csr_link,
    link_from,
    link_to,
    link_turn_offset,
    turn_banned,
    tt_table,
    bin_s,
    link_fixed_cost_s,
    node_x,
    node_y,
    seconds_per_unit,
    first_thru_node,
    query_origin,
    query_depart_s,
    query_destination,
    out_path_links,
    out_path_offset,
    out_time_s,
    out_cost_s,
):
    """:func:`td_fastest_paths` with banned turns: labels sit on links (arrival at a link's end), and a
    link ``b`` after link ``a`` is skipped when ``turn_banned[link_turn_offset[a] + k]`` (``k``: ``b``'s
    position among the links leaving ``a``'s end node). Same arguments and outputs otherwise; A* towards a
    group's single destination and the early stop work as there."""
    node_count = indptr.shape[0] - 1
    link_count = link_to.shape[0]
    arrival = np.empty(link_count, dtype=np.float64)
    cost = np.empty(link_count, dtype=np.float64)
    key = np.empty(link_count, dtype=np.float64)
    pred = np.empty(link_count, dtype=np.int32)
    heap = np.empty(link_count, dtype=np.int32)
    heap_pos = np.empty(link_count, dtype=np.int32)
    reached_by = np.empty(node_count, dtype=np.int32)
    target_stamp = np.full(node_count, -1, dtype=np.int64)
    reversed_links = np.empty(link_count, dtype=np.int32)
    written = 0
    last_origin = -1
    last_depart = -1.0
    out_path_offset[0] = 0
    for q in range(query_origin.shape[0]):
        origin = query_origin[q]
        depart = query_depart_s[q]
        if origin != last_origin or depart != last_depart:
            targets = _mark_group_targets(q, query_origin, query_depart_s, query_destination, target_stamp)
            goal = query_destination[q] if targets == 1 and seconds_per_unit > 0.0 else -1
            gx = node_x[goal] if goal >= 0 else 0.0
            gy = node_y[goal] if goal >= 0 else 0.0
            for n in range(node_count):
                reached_by[n] = -1
            for link in range(link_count):
                arrival[link] = np.inf
                cost[link] = np.inf
                pred[link] = -1
                heap_pos[link] = -1
            heap_size = 0
            for k in range(indptr[origin], indptr[origin + 1]):
                link = csr_link[k]
                travel = link_time_at_s(tt_table, bin_s, link, depart)
                arrival[link] = depart + travel
                cost[link] = depart + travel + link_fixed_cost_s[link]
                key[link] = cost[link]
                if goal >= 0:
                    dx = node_x[link_to[link]] - gx
                    dy = node_y[link_to[link]] - gy
                    key[link] += seconds_per_unit * np.sqrt(dx * dx + dy * dy)
                heap_size = _heap_push_or_decrease(heap, heap_pos, heap_size, key, link)
            while heap_size > 0:
                link, heap_size = _heap_pop(heap, heap_pos, heap_size, key)
                node = link_to[link]
                if reached_by[node] < 0:
                    reached_by[node] = link
                    if target_stamp[node] == q:
                        targets -= 1
                        if targets == 0:
                            break
                if node < first_thru_node:
                    continue
                base = arrival[link]
                first = indptr[node]
                for k in range(first, indptr[node + 1]):
                    if turn_banned[link_turn_offset[link] + k - first]:
                        continue
                    nxt = csr_link[k]
                    if heap_pos[nxt] == -2:
                        continue
                    travel = link_time_at_s(tt_table, bin_s, nxt, base)
                    candidate = cost[link] + travel + link_fixed_cost_s[nxt]
                    if candidate < cost[nxt]:
                        cost[nxt] = candidate
                        arrival[nxt] = base + travel
                        pred[nxt] = link
                        key[nxt] = candidate
                        if goal >= 0:
                            dx = node_x[link_to[nxt]] - gx
                            dy = node_y[link_to[nxt]] - gy
                            key[nxt] += seconds_per_unit * np.sqrt(dx * dx + dy * dy)
                        heap_size = _heap_push_or_decrease(heap, heap_pos, heap_size, key, nxt)
            last_origin = origin
            last_depart = depart
        dest = query_destination[q]
        last = reached_by[dest] if dest != origin else -1
        if dest == origin or last < 0:
            out_time_s[q] = np.inf if dest != origin else 0.0
            out_cost_s[q] = out_time_s[q]
            out_path_offset[q + 1] = written
            continue
        out_time_s[q] = arrival[last] - depart
        out_cost_s[q] = cost[last] - depart
        count = 0
        link = last
        while link >= 0:
            reversed_links[count] = link
            count += 1
            link = pred[link]
        written = _emit_path(reversed_links, count, out_path_links, written)
        if written < 0:
            return -1
        out_path_offset[q + 1] = written
    return written
