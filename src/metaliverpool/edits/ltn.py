"""Place modal filters in a low-traffic-neighbourhood cell so no motor traffic can pass through it.

The cell's streets are the links of the given minor classes whose two ends lie inside the polygon. Its
*entries* are the cell nodes that also touch a road outside the cell (a main road or a street outside the
polygon). Every cell node is assigned to its nearest entry along the cell's streets (multi-source
Dijkstra on the undirected street graph, lengths in metres); a filter goes on each street whose two ends
belong to different entries. Each part of the cell is then reached through one entry only: traffic that
enters a part must leave by the same entry, so through traffic is gone, while every address is still
reached (each node is connected to its entry by its own shortest path, which stays in its part).

One-way streets can still cut a part off (entering possible, leaving not). The caller checks strong
connectivity afterwards and reopens filters until every trip end is reachable again
(:func:`metaliverpool.edits.apply.apply_edits` reports how many it reopened).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra


def place_cell_filters(
    link_from: npt.NDArray[np.int64],
    link_to: npt.NDArray[np.int64],
    link_length_m: npt.NDArray[np.float64],
    link_highway: npt.NDArray[np.object_],
    node_inside: npt.NDArray[np.bool_],
    minor_highways: Collection[str],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], int]:
    """Which links get a filter, which links are the cell's streets, and how many entries the cell has.

    Arrays are per link (open car links only); ``node_inside`` is indexed by node id. Returns two
    boolean arrays over the links, ``filtered`` and ``cell_street``, and the number of entries (a cell
    with fewer than two has no through route, so nothing to filter).
    """
    node_count = node_inside.shape[0]
    minor = np.isin(link_highway.astype(str), np.asarray(list(minor_highways), dtype=str))
    cell = minor & node_inside[link_from] & node_inside[link_to]
    filtered = np.zeros(link_from.shape[0], dtype=np.bool_)
    if not cell.any():
        return filtered, cell, 0
    cell_nodes = np.zeros(node_count, dtype=np.bool_)
    cell_nodes[link_from[cell]] = True
    cell_nodes[link_to[cell]] = True
    touches_outside = np.zeros(node_count, dtype=np.bool_)
    touches_outside[link_from[~cell]] = True
    touches_outside[link_to[~cell]] = True
    entries = np.flatnonzero(cell_nodes & touches_outside)
    if entries.size < 2:
        return filtered, cell, int(entries.size)
    weights = np.maximum(link_length_m[cell], 0.01)
    graph = sp.csr_matrix((weights, (link_from[cell], link_to[cell])), shape=(node_count, node_count))
    _, _, nearest_entry = dijkstra(
        graph, directed=False, indices=entries, min_only=True, return_predecessors=True
    )
    label_from = nearest_entry[link_from]
    label_to = nearest_entry[link_to]
    filtered = cell & (label_from >= 0) & (label_to >= 0) & (label_from != label_to)
    return filtered, cell, int(entries.size)
