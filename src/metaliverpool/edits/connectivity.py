"""Strong connectivity of the car network, to check that edits leave every trip end reachable."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components


def strong_components(
    node_count: int, link_from: npt.ArrayLike, link_to: npt.ArrayLike
) -> tuple[int, npt.NDArray[np.int32]]:
    """Number of strongly connected components and the component label of every node."""
    tails = np.asarray(link_from, dtype=np.int64)
    heads = np.asarray(link_to, dtype=np.int64)
    matrix = sp.csr_matrix(
        (np.ones(tails.shape[0], dtype=np.int8), (tails, heads)), shape=(node_count, node_count)
    )
    count, labels = connected_components(matrix, directed=True, connection="strong")
    return int(count), np.asarray(labels, dtype=np.int32)


def mutually_reachable(
    node_count: int, link_from: npt.ArrayLike, link_to: npt.ArrayLike, nodes: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """For each node in ``nodes``: is it in the same strong component as the most common one of them?"""
    wanted = np.asarray(nodes, dtype=np.int64)
    if wanted.size == 0:
        return np.ones(0, dtype=np.bool_)
    _, labels = strong_components(node_count, link_from, link_to)
    wanted_labels = labels[wanted]
    values, counts = np.unique(wanted_labels, return_counts=True)
    main = values[np.argmax(counts)]
    return np.asarray(wanted_labels == main, dtype=np.bool_)


def reach_flags(
    node_count: int, link_from: npt.ArrayLike, link_to: npt.ArrayLike, root: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """For every node: can ``root`` reach it (``from_root``), and can it reach ``root`` (``to_root``)?"""
    tails = np.asarray(link_from, dtype=np.int64)
    heads = np.asarray(link_to, dtype=np.int64)
    matrix = sp.csr_matrix(
        (np.ones(tails.shape[0], dtype=np.int8), (tails, heads)), shape=(node_count, node_count)
    )
    from_root = np.zeros(node_count, dtype=np.bool_)
    to_root = np.zeros(node_count, dtype=np.bool_)
    from_root[breadth_first_order(matrix, root, directed=True, return_predecessors=False)] = True
    to_root[breadth_first_order(matrix.T.tocsr(), root, directed=True, return_predecessors=False)] = True
    return from_root, to_root
