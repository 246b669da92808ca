"""A smaller graph for many shortest-path searches: chains of pass-through nodes contracted into arcs (numba).

Region networks have many nodes where a route can only go on: a node with one link in and one link out, or
a node on a two-way road with exactly two neighbours ``u`` and ``v`` (links ``u->n``, ``n->v``, ``v->n``,
``n->u``). Such a node is *contractible*: every path through it continues on the one link that does not
turn back, so a run of links through contractible nodes is searched as one *arc* whose cost is the sum of
its links' costs, and the all-or-nothing flow of each of its links is the arc's flow. Costs and flows are
exactly those of the full graph (only the summation order of link costs changes).

Arrays in, arrays out, as in :mod:`metaliverpool.kernels.shortest_path`: ``link_from``/``link_to`` (int32
tail and head node of each link), ``indptr``/``csr_link`` (the graph's CSR by from-node) and ``keep``
(bool per node: never contract, e.g. zone nodes and centroids). Every link belongs to exactly one arc.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def contractible_nodes(indptr, csr_link, link_from, link_to, keep):
    """bool[node_count]: nodes through which a path can only go straight on (see the module docstring)."""
    node_count = keep.shape[0]
    in_count = np.zeros(node_count, dtype=np.int64)
    in_tail = np.full((node_count, 2), -1, dtype=np.int64)
    for link in range(link_from.shape[0]):
        head = link_to[link]
        if in_count[head] < 2:
            in_tail[head, in_count[head]] = link_from[link]
        in_count[head] += 1
    out = np.zeros(node_count, dtype=np.bool_)
    for n in range(node_count):
        degree = indptr[n + 1] - indptr[n]
        if keep[n] or degree != in_count[n] or degree < 1 or degree > 2:
            continue
        first = link_to[csr_link[indptr[n]]]
        if degree == 1:
            out[n] = first != n and in_tail[n, 0] != n and first != in_tail[n, 0]
            continue
        second = link_to[csr_link[indptr[n] + 1]]
        a, b = in_tail[n, 0], in_tail[n, 1]
        out[n] = (
            first != second
            and a != b
            and first != n
            and second != n
            and ((first == a and second == b) or (first == b and second == a))
        )
    return out


@njit(cache=True)
def contract_chains(
    indptr,
    csr_link,
    link_from,
    link_to,
    contractible,
    out_link_arc,
    out_link_step,
    out_arc_tail,
    out_arc_head,
):
    """Walk every arc from a node that is not contractible; returns the number of arcs.

    ``out_link_arc`` (int64[link_count]) receives the arc of each link (-1 for a link on a cycle made of
    contractible nodes only, which no walk reaches: the caller keeps one of its nodes and walks again),
    ``out_link_step`` (int64[link_count]) its position along the arc (0 for the first link);
    ``out_arc_tail``/``out_arc_head`` (int64[link_count] at least) the end nodes of each arc.
    """
    out_link_arc[:] = -1
    arcs = 0
    for start in range(contractible.shape[0]):
        if contractible[start]:
            continue
        for k in range(indptr[start], indptr[start + 1]):
            link = csr_link[k]
            out_link_arc[link] = arcs
            out_link_step[link] = 0
            head = link_to[link]
            steps = 0
            while contractible[head] and steps <= link_from.shape[0]:
                steps += 1
                came_from = link_from[link]
                nxt = csr_link[indptr[head]]
                if indptr[head + 1] - indptr[head] == 2 and link_to[nxt] == came_from:
                    nxt = csr_link[indptr[head] + 1]
                link = nxt
                out_link_arc[link] = arcs
                out_link_step[link] = steps
                head = link_to[link]
            out_arc_tail[arcs] = start
            out_arc_head[arcs] = head
            arcs += 1
    return arcs


@njit(cache=True, nogil=True)
def arc_costs(link_arc, link_cost, out_arc_cost):
    """Cost of every arc: the sum of its links' ``link_cost`` (``inf`` if one is closed)."""
    out_arc_cost[:] = 0.0
    for link in range(link_arc.shape[0]):
        out_arc_cost[link_arc[link]] += link_cost[link]


@njit(cache=True, nogil=True)
def link_flows_from_arcs(link_arc, arc_flow, out_link_flow):
    """The flow of every link: the flow of its arc."""
    for link in range(link_arc.shape[0]):
        out_link_flow[link] = arc_flow[link_arc[link]]
