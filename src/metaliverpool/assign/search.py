"""The graph every all-or-nothing loading of an assignment searches: chains contracted, arcs in CSR order.

:class:`SearchGraph` is built once per problem from a :class:`~metaliverpool.network.graph.RoadGraph`:
pass-through nodes are contracted (:mod:`metaliverpool.kernels.arc_graph`; zone nodes and centroids are
never contracted) and the remaining nodes renumbered so that each node's arcs, their heads and costs lie
in contiguous memory. :meth:`SearchGraph.load` gives exactly the all-or-nothing link flows and zone-to-zone
costs of the full graph (up to the order in which link costs are summed, and the choice between paths of
equal cost), in less time. Every assignment algorithm (the Frank-Wolfe family's directions, gradient
projection's path searches, every gap measurement) and the twin's skims search this graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metaliverpool.kernels.arc_graph import (
    arc_costs,
    contract_chains,
    contractible_nodes,
    link_flows_from_arcs,
)
from metaliverpool.kernels.loading import load_arc_chunks, load_arc_origins
from metaliverpool.network.graph import RoadGraph

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class SearchGraph:
    """A road graph's search form.

    Attributes
    ----------
    indptr:
        int64[nodes + 1]: the arcs leaving search node ``n`` are ``indptr[n]:indptr[n + 1]``.
    arc_tail, arc_head:
        int64[arcs]: end nodes of each arc (search node numbers), in CSR order.
    link_arc:
        int64[links]: the arc each road-graph link belongs to.
    arc_link_indptr, arc_links:
        The road-graph links of arc ``k`` in travel order are
        ``arc_links[arc_link_indptr[k]:arc_link_indptr[k + 1]]``.
    blocked:
        bool[nodes]: centroids (below the road graph's first thru node), never passed through.
    is_target:
        bool[nodes]: zone nodes, where every search may stop once all are settled.
    target_count:
        Number of distinct zone nodes.
    zone_node:
        int64[zones]: search node of each zone.
    """

    indptr: IndexArray
    arc_tail: IndexArray
    arc_head: IndexArray
    link_arc: IndexArray
    arc_link_indptr: IndexArray
    arc_links: IndexArray
    blocked: npt.NDArray[np.bool_]
    is_target: npt.NDArray[np.bool_]
    target_count: int
    zone_node: IndexArray

    @property
    def arc_count(self) -> int:
        """Number of arcs."""
        return int(self.arc_head.shape[0])

    @classmethod
    def build(cls, graph: RoadGraph) -> SearchGraph:
        """Contract ``graph``'s pass-through nodes and lay its arcs out in CSR order."""
        keep = np.zeros(graph.node_count, dtype=np.bool_)
        keep[: graph.first_thru_node] = True
        keep[graph.zone_node] = True
        contractible = contractible_nodes(graph.indptr, graph.csr_link, graph.link_from, graph.link_to, keep)
        link_arc = np.empty(graph.link_count, dtype=np.int64)
        link_step = np.empty(graph.link_count, dtype=np.int64)
        tail = np.empty(graph.link_count, dtype=np.int64)
        head = np.empty(graph.link_count, dtype=np.int64)
        while True:
            arcs = contract_chains(
                graph.indptr,
                graph.csr_link,
                graph.link_from,
                graph.link_to,
                contractible,
                link_arc,
                link_step,
                tail,
                head,
            )
            missed = np.flatnonzero(link_arc < 0)
            if missed.size == 0:
                break
            contractible[graph.link_from[missed[0]]] = False  # a cycle of pass-through nodes: keep one
        kept = np.flatnonzero(~contractible)
        number = np.full(graph.node_count, -1, dtype=np.int64)
        number[kept] = np.arange(kept.size)
        arc_tail, arc_head = number[tail[:arcs]], number[head[:arcs]]
        order = np.argsort(arc_tail, kind="stable")
        position = np.empty(arcs, dtype=np.int64)
        position[order] = np.arange(arcs)
        indptr = np.zeros(kept.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(arc_tail, minlength=kept.size), out=indptr[1:])
        arc_of_link = position[link_arc]
        arc_link_indptr = np.zeros(arcs + 1, dtype=np.int64)
        np.cumsum(np.bincount(arc_of_link, minlength=arcs), out=arc_link_indptr[1:])
        arc_links = np.empty(graph.link_count, dtype=np.int64)
        arc_links[arc_link_indptr[arc_of_link] + link_step] = np.arange(graph.link_count)
        zone_node = number[graph.zone_node]
        is_target = np.zeros(kept.size, dtype=np.bool_)
        is_target[zone_node] = True
        return cls(
            indptr=indptr,
            arc_tail=arc_tail[order],
            arc_head=arc_head[order],
            link_arc=arc_of_link,
            arc_link_indptr=arc_link_indptr,
            arc_links=arc_links,
            blocked=kept < graph.first_thru_node,
            is_target=is_target,
            target_count=int(np.count_nonzero(is_target)),
            zone_node=zone_node,
        )

    def load(
        self,
        link_cost: FloatArray,
        demand: FloatArray,
        out_link_flow: FloatArray,
        out_zone_cost: FloatArray,
        work_arc_cost: FloatArray,
        work_arc_flow: FloatArray,
    ) -> None:
        """All-or-nothing link flows (``out_link_flow``) and zone-to-zone shortest-path costs
        (``out_zone_cost``, ``inf`` where unreachable) at ``link_cost`` (non-negative, per road-graph link).

        ``demand`` is float64[zones, zones]; ``work_arc_cost`` float64[arcs] and ``work_arc_flow``
        float64[chunks, arcs] are scratch, ``chunks`` setting the parallel split of origins (1: serial).
        """
        arc_costs(self.link_arc, link_cost, work_arc_cost)
        args = (self.indptr, self.arc_tail, self.arc_head, work_arc_cost, self.blocked, self.is_target)
        if work_arc_flow.shape[0] <= 1:
            work_arc_flow[0, :] = 0.0
            load_arc_origins(
                *args, self.target_count, self.zone_node, demand, 0, 1, work_arc_flow[0], out_zone_cost
            )
            arc_flow = work_arc_flow[0]
        else:
            load_arc_chunks(*args, self.target_count, self.zone_node, demand, out_zone_cost, work_arc_flow)
            arc_flow = work_arc_flow.sum(axis=0)
        link_flows_from_arcs(self.link_arc, arc_flow, out_link_flow)
