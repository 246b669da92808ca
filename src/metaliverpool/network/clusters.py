"""Group points closer than a radius (single linkage), deterministically.

Used to merge traffic-signal nodes into one controlled junction and road ends into one cordon zone.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def cluster_points(xy_m: NDArray[np.float64], radius_m: float) -> NDArray[np.int64]:
    """Cluster label per point: points within ``radius_m`` (metres) of each other, transitively, share one.

    Labels are 0..k-1, numbered in order of each cluster's first point, so the result depends only on
    the input order.
    """
    count = len(xy_m)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    pairs = cKDTree(xy_m).query_pairs(radius_m, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(count, count))
    _, raw = connected_components(graph, directed=False)
    order: dict[int, int] = {}
    labels = np.empty(count, dtype=np.int64)
    for index, label in enumerate(raw):
        labels[index] = order.setdefault(int(label), len(order))
    return labels
