"""The network builder on a tiny hand-made OSM file: golden summary plus facts checked one by one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from metaliverpool.ingest.osm_network import NetworkConfig, RoadNetwork, network_from_osm
from metaliverpool.ingest.osm_read import read_osm
from metaliverpool.network.road_classes import MPH_TO_MPS

from .conftest import check_golden


def summarise(network: RoadNetwork) -> dict[str, Any]:
    """A readable summary keyed by OSM ids (stable across rebuilds)."""
    osm = network.nodes["osm_node_id"].to_numpy()
    links = network.links
    return {
        "nodes": {str(int(o)): k for o, k in zip(osm, network.nodes["kind"], strict=True)},
        "links": sorted(
            f"way {int(w)}: {int(osm[a])}->{int(osm[b])} {h} lanes={int(n)} "
            f"{round(v / MPH_TO_MPS)}mph cap={int(c)} oneway={bool(o)} toll={t:.2f}"
            f"{' connector' if k else ''}"
            for w, a, b, h, n, v, c, o, t, k in zip(
                links["osm_way_id"],
                links["from_node_id"],
                links["to_node_id"],
                links["highway"],
                links["lanes"],
                links["speed_limit_mps"],
                links["capacity_vph"],
                links["oneway"],
                links["toll_gbp"],
                links["connector"],
                strict=True,
            )
        ),
        "junctions": sorted(
            f"{c} nodes={sorted(int(x) for x in o)} signals={sorted(int(x) for x in s)}"
            for c, o, s in zip(
                network.junctions["control"],
                network.junctions["osm_node_ids"],
                network.junctions["signal_osm_node_ids"],
                strict=True,
            )
        ),
        "turn_restrictions": [
            f"{int(r)} {k}: way {int(links.at[int(f), 'osm_way_id'])} -> node {int(osm[v])} -> "
            f"way {int(links.at[int(t), 'osm_way_id'])}"
            for r, f, v, t, k in zip(
                network.turn_restrictions["osm_relation_id"],
                network.turn_restrictions["from_link_id"],
                network.turn_restrictions["via_node_id"],
                network.turn_restrictions["to_link_id"],
                network.turn_restrictions["kind"],
                strict=True,
            )
        ],
        "dropped": {k: v for k, v in network.dropped.items() if k != "rule"},
        "active_links": sorted(
            f"way {int(w)} {h} {round(float(m), 1)}m"
            for w, h, m in zip(
                network.active_links["osm_way_id"],
                network.active_links["highway"],
                network.active_links["length_m"],
                strict=True,
            )
        ),
        "bus_stops": [
            f"{int(o)} {n} -> node {int(osm[i])}"
            for o, n, i in zip(
                network.bus_stops["osm_node_id"],
                network.bus_stops["name"],
                network.bus_stops["node_id"],
                strict=True,
            )
        ],
    }


@pytest.fixture(scope="module")
def network(crossroads_xml: Path) -> RoadNetwork:
    return network_from_osm(read_osm(crossroads_xml), NetworkConfig())


def links_of(network: RoadNetwork, way: int) -> Any:
    links = network.links
    osm = network.nodes["osm_node_id"].to_numpy()
    chosen = links[(links["osm_way_id"] == way) & ~links["connector"]].copy()
    chosen["from_osm"] = osm[chosen["from_node_id"].to_numpy()]
    chosen["to_osm"] = osm[chosen["to_node_id"].to_numpy()]
    return chosen


def test_golden_summary(network: RoadNetwork) -> None:
    check_golden("crossroads", summarise(network))


def test_same_network_from_xml_pbf_and_overpass_json(
    crossroads_xml: Path, crossroads_pbf: Path, crossroads_json: Path
) -> None:
    summaries = [
        summarise(network_from_osm(read_osm(p), NetworkConfig()))
        for p in (crossroads_xml, crossroads_pbf, crossroads_json)
    ]
    assert summaries[0] == summaries[1] == summaries[2]


def test_lanes_forward_backward_and_mph(network: RoadNetwork) -> None:
    west = links_of(network, 100)
    eastbound = west[west["from_osm"] == 10]
    westbound = west[west["to_osm"] == 10]
    assert eastbound["lanes"].tolist() == [2] and westbound["lanes"].tolist() == [1]
    assert eastbound["capacity_vph"].tolist() == [3000.0]  # 2 lanes x 1500 (primary)
    assert np.allclose(west["speed_limit_mps"], 30 * 0.44704)
    assert (west["maxspeed_source"] == "tag").all()


def test_oneway_and_roundabout(network: RoadNetwork) -> None:
    north = links_of(network, 101)
    assert north[["from_osm", "to_osm"]].values.tolist() == [[20, 1]]
    assert north["oneway"].all() and np.isclose(north["speed_limit_mps"].iloc[0], 20 * 0.44704)
    circus = links_of(network, 103)
    assert sorted(circus[["from_osm", "to_osm"]].values.tolist()) == [[13, 41], [41, 13]]
    assert circus["roundabout"].all() and circus["oneway"].all()
    south = links_of(network, 102)
    assert len(south) == 4 and (south["lanes"] == 1).all() and (south["maxspeed_source"] == "default").all()
    assert np.allclose(south["speed_limit_mps"], 30 * 0.44704)  # UK built-up default


def test_signals_on_approaches_cluster_into_one_junction(network: RoadNetwork) -> None:
    junctions = network.junctions
    signals = junctions[junctions["control"] == "signals"]
    by_nodes = {
        tuple(o): sorted(s)
        for o, s in zip(signals["osm_node_ids"], signals["signal_osm_node_ids"], strict=True)
    }
    assert by_nodes == {(1,): [14, 15], (44,): [44]}
    give_way = junctions[junctions["control"] == "give_way"]
    assert [list(o) for o in give_way["osm_node_ids"]] == [[30]]


def test_toll_charged_once_per_crossing(network: RoadNetwork) -> None:
    bridge = links_of(network, 104)
    assert bridge["tolled"].all()
    # one direction: 41 -> 44 -> 43, the other 43 -> 44 -> 41; each pays 1.80 once
    eastbound = bridge[bridge["from_osm"].isin([41]) | (bridge["from_osm"] == 44) & (bridge["to_osm"] == 43)]
    westbound = bridge[(bridge["from_osm"] == 43) | (bridge["from_osm"] == 44) & (bridge["to_osm"] == 41)]
    assert eastbound["toll_gbp"].sum() == pytest.approx(1.80)
    assert westbound["toll_gbp"].sum() == pytest.approx(1.80)


def test_turn_restriction_and_dropped_stub(network: RoadNetwork) -> None:
    restrictions = network.turn_restrictions
    assert len(restrictions) == 1
    row = restrictions.iloc[0]
    assert row["kind"] == "no" and row["restriction"] == "no_right_turn"
    links = network.links
    assert int(links.at[int(row["from_link_id"]), "osm_way_id"]) == 100
    assert int(links.at[int(row["to_link_id"]), "osm_way_id"]) == 102
    assert network.dropped["osm_way_ids_sample"] == [109]
    assert 106 not in set(links["osm_way_id"])  # parking aisle is not drivable


def test_lengths_are_geodesic(network: RoadNetwork) -> None:
    # 0.001 deg of latitude at 53.4 N is 111.29 km/deg on WGS84 (meridian arc), so 111.29 m
    south = links_of(network, 102)
    first = south[(south["from_osm"] == 1) & (south["to_osm"] == 30)]
    assert first["length_m"].iloc[0] == pytest.approx(111.29, abs=0.05)


def test_cordon_zones_where_major_roads_leave(network: RoadNetwork) -> None:
    cordon = network.nodes[network.nodes["kind"] == "cordon"]
    assert sorted(cordon["zone_name"]) == ["A1 West Street", "North Road", "South Road", "Toll Bridge"]
    assert (cordon["osm_node_id"] < 0).all()
    # North Road is one-way into the network: its cordon only has an outgoing connector
    north = int(cordon.loc[cordon["zone_name"] == "North Road", "node_id"].iloc[0])
    links = network.links
    assert (links["from_node_id"] == north).sum() == 1 and (links["to_node_id"] == north).sum() == 0
    assert not network.nodes.loc[network.nodes["osm_node_id"] == 20, "in_core"].iloc[0]
