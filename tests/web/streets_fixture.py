"""A small hand-made twin of named streets (the editor's street, junction and LTN tests).

Five columns by three rows near Liverpool Town Hall, node ``r * 5 + c``: main roads round a box
(Dale Street along the north in three OSM ways, Victoria Street along the south, Crosshall Street west,
Castle Street east) and two side streets inside it (Temple Street across, Stanley Street from Victoria
Street up to Dale Street). Sir Thomas Street leaves Dale Street northwards at a signalised junction of two
nodes (12 and 17, 20 m apart); Hatton Garden leaves it at node 13. Side streets (10 m/s) are quicker
across the box than going round (13.4 m/s over longer distances): two rat-runs, four ordered pairs.
"""

from __future__ import annotations

from pathlib import Path

import shapely

from metaliverpool.ingest.coding import code_network
from metaliverpool.network.twin import Twin
from metaliverpool.store.bundle import write_twin
from small_twins import LinkSpec, make_twin

WEST_DEG = -2.995
SOUTH_DEG = 53.405
STEP_DEG = 0.002
MAIN_MPS = 13.4
SIDE_MPS = 10.0
LENGTH_M = 140.0
REGION = "test-streets"
DALE_STREET_WAYS = (10, 11, 12)
SIGNAL_NODES = (12, 17)
OSM_NODE_BASE = 700


def _node(c: float, r: float) -> tuple[float, float]:
    return (WEST_DEG + c * STEP_DEG, SOUTH_DEG + r * STEP_DEG)


def _two_way(a: int, b: int, way: int, name: str, highway: str, lanes: int = 1) -> list[LinkSpec]:
    speed = MAIN_MPS if highway in ("primary", "secondary") else SIDE_MPS
    return [
        LinkSpec(x, y, way, highway=highway, lanes=lanes, name=name, length_m=LENGTH_M, speed_limit_mps=speed)
        for x, y in ((a, b), (b, a))
    ]


def streets_twin() -> Twin:
    points = [_node(c, r) for r in range(3) for c in range(5)]
    points += [_node(2, 3), _node(3, 3), _node(2.1, 2)]  # 15 Sir Thomas St, 16 Hatton Garden, 17
    links: list[LinkSpec] = []
    dale = [(10, 11, 10), (11, 12, 11), (12, 17, 11), (17, 13, 11), (13, 14, 12)]
    for a, b, way in dale:
        links += _two_way(a, b, way, "Dale Street", "primary", lanes=2)
    for c in range(4):
        links += _two_way(c, c + 1, 20, "Victoria Street", "primary", lanes=2)
    links += _two_way(0, 5, 30, "Crosshall Street", "primary") + _two_way(
        5, 10, 30, "Crosshall Street", "primary"
    )
    links += _two_way(4, 9, 31, "Castle Street", "primary") + _two_way(9, 14, 31, "Castle Street", "primary")
    for c in range(4):
        links += _two_way(5 + c, 6 + c, 50, "Temple Street", "residential")
    links += _two_way(2, 7, 51, "Stanley Street", "residential") + _two_way(
        7, 12, 51, "Stanley Street", "residential"
    )
    links += _two_way(12, 15, 40, "Sir Thomas Street", "secondary")
    links += _two_way(13, 16, 41, "Hatton Garden", "residential")
    zones = [("E01006512", 0, 1500, 1), ("E01006513", 14, 1800, 7), ("E01006514", 6, 900, 3)]
    trips = [(0, 1, 20), (1, 0, 20), (2, 1, 10)]
    twin = make_twin(
        points, links, zones, trips, signal_nodes=[12], osm_node_id_base=OSM_NODE_BASE, region=REGION
    )
    junction = twin.junctions.iloc[[0]].copy()
    junction["node_ids"] = [list(SIGNAL_NODES)]
    junction["osm_node_ids"] = [[n + OSM_NODE_BASE for n in SIGNAL_NODES]]
    junction["signal_osm_node_ids"] = [[n + OSM_NODE_BASE for n in SIGNAL_NODES]]
    twin.junctions = junction.reset_index(drop=True)
    twin.nodes.loc[twin.nodes["node_id"] == 17, "junction_id"] = 0
    twin.zones["name"] = ["Liverpool 022A", "Liverpool 022B", "Liverpool 022C"]
    return code_network(twin)


def ltn_area() -> dict:
    """The box, a little larger than its main roads: the low-traffic neighbourhood of the tests."""
    margin = STEP_DEG / 4
    box = shapely.box(
        WEST_DEG - margin,
        SOUTH_DEG - margin,
        WEST_DEG + 4 * STEP_DEG + margin,
        SOUTH_DEG + 2 * STEP_DEG + margin,
    )
    return {"type": "Polygon", "coordinates": [[list(p) for p in box.exterior.coords]]}


def write_streets_twin(folder: Path) -> Path:
    """Write :func:`streets_twin` to ``folder`` and return it."""
    return write_twin(streets_twin(), folder)
