"""Invariants of ``network_from_osm`` on generated street grids (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from metaliverpool.ingest.osm_network import NetworkConfig, network_from_osm
from metaliverpool.ingest.osm_read import OsmData, OsmWay
from metaliverpool.network.geodesy import geodesic_distance_m
from metaliverpool.network.twin import TABLE_COLUMNS

HIGHWAYS = ["primary", "tertiary", "residential", "unclassified"]


@st.composite
def grids(draw: st.DrawFn) -> OsmData:
    """A rows x cols street grid near Liverpool; each street a way with random class and oneway."""
    rows = draw(st.integers(min_value=2, max_value=5))
    cols = draw(st.integers(min_value=2, max_value=5))
    data = OsmData()
    for r in range(rows):
        for c in range(cols):
            data.node_lonlat[1 + r * cols + c] = (-2.99 + 0.0015 * c, 53.40 + 0.001 * r)
    way_id = 100
    streets = [[1 + r * cols + c for c in range(cols)] for r in range(rows)]
    streets += [[1 + r * cols + c for r in range(rows)] for c in range(cols)]
    for nodes in streets:
        tags = {"highway": draw(st.sampled_from(HIGHWAYS))}
        oneway = draw(st.sampled_from(["no", "yes", "-1"]))
        tags["oneway"] = oneway
        data.ways.append(OsmWay(way_id, tuple(nodes), tags))
        way_id += 1
    return data


@settings(max_examples=40, deadline=None)
@given(grids())
def test_network_invariants(osm: OsmData) -> None:
    network = network_from_osm(osm, NetworkConfig())
    nodes, links = network.nodes, network.links
    assert all(c in nodes.columns for c in TABLE_COLUMNS["nodes"])
    assert all(c in links.columns for c in TABLE_COLUMNS["links"])
    assert (nodes["node_id"].to_numpy() == np.arange(len(nodes))).all()
    assert (links["link_id"].to_numpy() == np.arange(len(links))).all()
    assert (
        links["from_node_id"].between(0, len(nodes) - 1).all()
        and links["to_node_id"].between(0, len(nodes) - 1).all()
    )
    assert (links["from_node_id"] != links["to_node_id"]).all()
    # a polyline is never shorter than the geodesic between its ends
    lon, lat = nodes["lon"].to_numpy(), nodes["lat"].to_numpy()
    a, b = links["from_node_id"].to_numpy(), links["to_node_id"].to_numpy()
    chord = geodesic_distance_m(lon[a], lat[a], lon[b], lat[b])
    assert (links["length_m"].to_numpy() >= chord - 1e-6).all()
    # with the outside world joined to every cordon node, the kept network is strongly connected
    n = len(nodes)
    cordon = np.flatnonzero(nodes["kind"].to_numpy() == "cordon")
    rows = np.concatenate([a, np.full(len(cordon), n), cordon])
    cols = np.concatenate([b, cordon, np.full(len(cordon), n)])
    size = n + 1 if len(cordon) else n
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    assert connected_components(graph, directed=True, connection="strong")[0] == 1
    # core nodes are strongly connected on their own
    core = nodes["in_core"].to_numpy()
    keep = core[a] & core[b] & ~links["connector"].to_numpy()
    sub = coo_matrix((np.ones(int(keep.sum())), (a[keep], b[keep])), shape=(n, n))
    labels = connected_components(sub, directed=True, connection="strong")[1]
    assert len(set(labels[core])) == 1
    # deterministic
    again = network_from_osm(osm, NetworkConfig())
    pd.testing.assert_frame_equal(links.drop(columns="geometry"), again.links.drop(columns="geometry"))
