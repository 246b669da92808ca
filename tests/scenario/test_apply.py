"""Edits applied to small hand-made twins: what changes, what does not, and clear errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from metaliverpool.edits import parse_scenario
from metaliverpool.edits.apply import apply_edits
from metaliverpool.edits.connectivity import mutually_reachable
from metaliverpool.edits.schema import MPS_PER_MPH
from metaliverpool.errors import InputError
from metaliverpool.network.twin import Twin
from small_twins import LAT0, LON0, grid_twin, two_route_twin


def run(twin: Twin, *edits: dict[str, Any]) -> Twin:
    scenario = parse_scenario({"schema_version": 2, "name": "t", "edits": list(edits)}, source="t.yaml")
    return apply_edits(twin, scenario)


def box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def test_close_road_removes_its_links_and_keeps_base_ids() -> None:
    twin = two_route_twin()
    edited = run(twin, {"kind": "close_road", "osm_way_ids": [100]})
    assert 100 not in set(edited.links["osm_way_id"])
    assert list(edited.links["link_id"]) == list(range(len(edited.links)))
    base = twin.links.set_index("link_id")
    for row in edited.links.itertuples():
        assert base.loc[row.base_link_id, "osm_way_id"] == row.osm_way_id
        assert base.loc[row.base_link_id, "from_node_id"] == row.from_node_id
    assert len(twin.links) == 8, "the input twin is unchanged"
    assert edited.manifest["edits_applied"][0]["links_closed"] == 4


def test_general_closure_keeps_buses() -> None:
    edited = run(two_route_twin(), {"kind": "close_road", "osm_way_ids": [100], "vehicles": "general"})
    assert set(edited.links.loc[edited.links["osm_way_id"] == 100, "access"]) == {"bus_only"}
    assert len(edited.links) == 8


def test_closing_both_routes_is_refused_because_it_cuts_off_zones() -> None:
    with pytest.raises(InputError, match=r"t.yaml: edit 2 \(closure of way 200\): this edit cuts OSM node"):
        run(
            two_route_twin(),
            {"kind": "close_road", "osm_way_ids": [100]},
            {"kind": "close_road", "osm_way_ids": [200]},
        )


def test_missing_way_names_file_edit_and_field() -> None:
    with pytest.raises(InputError) as caught:
        run(two_route_twin(), {"id": "strand", "kind": "bus_lane", "osm_way_ids": [100, 999]})
    assert str(caught.value) == (
        "t.yaml: edit 1 (bus lane on way 100 and OSM way 999), field 'osm_way_ids': "
        "OSM way 999 is not a road of this twin (not drivable, or outside the extract)"
    )


def test_lanes_and_bus_lane_scale_capacity() -> None:
    twin = two_route_twin()
    three = run(twin, {"kind": "change_lanes", "osm_way_ids": [100], "lanes": 3})
    fast = three.links[three.links["osm_way_id"] == 100]
    assert (fast["lanes"] == 3).all()
    np.testing.assert_allclose(fast["capacity_vph"], 3600 * 3 / 2)
    bus = run(twin, {"kind": "bus_lane", "osm_way_ids": [100]})
    fast = bus.links[bus.links["osm_way_id"] == 100]
    assert (fast["lanes"] == 1).all() and fast["bus_lane"].all()
    np.testing.assert_allclose(fast["capacity_vph"], 1800)
    with pytest.raises(
        InputError,
        match=r"edit 1 \(bus lane on way 200\), field 'osm_way_ids': way 200 \(OSM way 200\) has 1 lane",
    ):
        run(twin, {"kind": "bus_lane", "osm_way_ids": [200]})


@settings(max_examples=30, deadline=None)
@given(
    x0=st.floats(0.0, 0.008),
    y0=st.floats(0.0, 0.008),
    width=st.floats(0.0005, 0.01),
    height=st.floats(0.0005, 0.01),
    mph=st.sampled_from([10, 15, 20]),
)
def test_speed_zone_changes_only_links_inside_the_polygon(
    x0: float, y0: float, width: float, height: float, mph: int
) -> None:
    twin = grid_twin()
    area = box(LON0 + x0 - 0.001, LAT0 + y0 - 0.001, LON0 + x0 + width, LAT0 + y0 + height)
    try:
        edited = run(twin, {"kind": "speed_limit", "speed_limit_mph": mph, "area": area})
    except InputError as error:
        assert "contains no road" in str(error)
        return
    mid_lon = (
        twin.nodes["lon"].to_numpy()[twin.links["from_node_id"]]
        + twin.nodes["lon"].to_numpy()[twin.links["to_node_id"]]
    ) / 2
    mid_lat = (
        twin.nodes["lat"].to_numpy()[twin.links["from_node_id"]]
        + twin.nodes["lat"].to_numpy()[twin.links["to_node_id"]]
    ) / 2
    (a, b), (c, d) = area["coordinates"][0][0], area["coordinates"][0][2]
    inside = (mid_lon > a) & (mid_lon < c) & (mid_lat > b) & (mid_lat < d)
    before = twin.links["free_speed_mps"].to_numpy()
    after = edited.links["free_speed_mps"].to_numpy()
    np.testing.assert_allclose(after[~inside], before[~inside])
    np.testing.assert_allclose(after[inside], before[inside] * mph / 30)
    np.testing.assert_allclose(edited.links["speed_limit_mps"].to_numpy()[inside], mph * MPS_PER_MPH)


def test_speed_zone_can_exempt_main_roads() -> None:
    twin = grid_twin()
    everything = box(LON0 - 0.001, LAT0 - 0.001, LON0 + 0.01, LAT0 + 0.01)
    edited = run(
        twin,
        {"kind": "speed_limit", "speed_limit_mph": 20, "area": everything, "exclude_highways": ["primary"]},
    )
    primary = (edited.links["highway"] == "primary").to_numpy()
    np.testing.assert_allclose(edited.links["free_speed_mps"][primary], twin.links["free_speed_mps"][primary])
    np.testing.assert_allclose(edited.links["free_speed_mps"][~primary], 20 * MPS_PER_MPH)


def test_polygon_outside_the_twin_is_an_error() -> None:
    far = box(0.0, 51.0, 0.01, 51.01)
    with pytest.raises(
        InputError, match=r"edit 1 \(20 mph zone \(drawn area\)\), field 'area': the polygon contains no road"
    ):
        run(grid_twin(), {"kind": "speed_limit", "speed_limit_mph": 20, "area": far})


def test_cordon_charges_inbound_links_only() -> None:
    twin = two_route_twin()
    around_b = box(LON0 + 0.015, LAT0 - 0.002, LON0 + 0.02, LAT0 + 0.002)
    edited = run(twin, {"kind": "cordon_charge", "area": around_b, "charge_gbp": 5})
    charged = edited.links[edited.links["toll_gbp"] > 0]
    assert sorted(zip(charged["from_node_id"], charged["to_node_id"], strict=True)) == [(2, 1), (3, 1)]
    assert (charged["toll_gbp"] == 5).all()
    both = run(twin, {"kind": "cordon_charge", "area": around_b, "charge_gbp": 5, "direction": "both"})
    assert (both.links["toll_gbp"] > 0).sum() == 4


def test_turn_ban_and_signal_plan() -> None:
    twin = two_route_twin()
    edited = run(
        twin,
        {"kind": "turn_ban", "from_osm_way_id": 200, "via_osm_node_id": 1000, "to_osm_way_id": 100},
        {
            "kind": "signal_plan",
            "osm_node_id": 1002,
            "cycle_s": 90,
            "green_splits": [0.6, 0.4],
            "offset_s": 10,
        },
    )
    bans = edited.turn_restrictions
    links = edited.links.set_index("link_id")
    assert len(bans) == 1 and bans["kind"].iloc[0] == "no"
    assert (links.loc[bans["from_link_id"].iloc[0], ["from_node_id", "to_node_id"]] == [3, 0]).all()
    assert (links.loc[bans["to_link_id"].iloc[0], ["from_node_id", "to_node_id"]] == [0, 2]).all()
    junction = edited.junctions.iloc[0]
    assert junction["plan_cycle_s"] == 90 and list(junction["plan_green_splits"]) == [0.6, 0.4]
    with pytest.raises(InputError, match=r"field 'via_osm_node_id': OSM node 5 is not a node"):
        run(twin, {"kind": "turn_ban", "from_osm_way_id": 100, "via_osm_node_id": 5, "to_osm_way_id": 200})
    with pytest.raises(InputError, match=r"field 'from_osm_way_id': OSM way 200 has no link entering"):
        run(twin, {"kind": "turn_ban", "from_osm_way_id": 200, "via_osm_node_id": 1002, "to_osm_way_id": 100})
    with pytest.raises(InputError, match=r"field 'osm_node_id': OSM node 1003 is not part of a junction"):
        run(twin, {"kind": "signal_plan", "osm_node_id": 1003, "optimise": True})


def test_development_and_demand_change_edit_trips() -> None:
    twin = two_route_twin(trips_per_hour=1000)
    grown = run(twin, {"kind": "new_development", "lsoa_code": "E01000001", "homes": 400, "jobs": 200})
    added = len(grown.trips) - len(twin.trips)
    # homes: 400 x 0.5 leave zone 0; jobs at zone 0: 200 x 0.35 = 70 arrive, copied from zone 0's inbound
    # trips, of which there are none, so they copy all trips (all from zone 0 itself) and are dropped.
    assert added == 200
    new = grown.trips.iloc[len(twin.trips) :]
    assert (new["origin_zone_id"] == 0).all()
    assert list(grown.trips["trip_id"]) == list(range(len(grown.trips)))
    cut = run(twin, {"kind": "demand_change", "percent": -25})
    assert len(cut.trips) == 750
    again = run(twin, {"kind": "demand_change", "percent": -25})
    assert cut.trips.equals(again.trips), "deterministic"
    with pytest.raises(InputError, match=r"field 'lsoa_code': LSOA E01999999 is not a zone"):
        run(twin, {"kind": "new_development", "lsoa_code": "E01999999", "homes": 10})


def _cell_components_hold_one_entry(twin: Twin, edited: Twin) -> None:
    links = edited.links
    cell = (links["highway"] == "residential").to_numpy()
    n = len(edited.nodes)
    graph = csr_matrix(
        (np.ones(int(cell.sum())), (links["from_node_id"][cell], links["to_node_id"][cell])), shape=(n, n)
    )
    _, labels = connected_components(graph, directed=False)
    on_ring = set(links.loc[~cell, "from_node_id"]) | set(links.loc[~cell, "to_node_id"])
    touched = set(links.loc[cell, "from_node_id"]) | set(links.loc[cell, "to_node_id"])
    entries = sorted(on_ring & touched)
    by_component: dict[int, list[int]] = {}
    for node in entries:
        by_component.setdefault(int(labels[node]), []).append(node)
    assert all(len(group) == 1 for group in by_component.values()), by_component


@pytest.mark.parametrize("size", [4, 5, 7])
def test_low_traffic_neighbourhood_blocks_through_traffic_but_keeps_access(size: int) -> None:
    twin = grid_twin(size)
    everything = box(LON0 - 0.001, LAT0 - 0.001, LON0 + 0.002 * size, LAT0 + 0.002 * size)
    edited = run(twin, {"kind": "low_traffic_neighbourhood", "area": everything})
    outcome = edited.manifest["edits_applied"][0]
    assert outcome["links_filtered"] > 0
    _cell_components_hold_one_entry(twin, edited)
    every_node = np.arange(len(edited.nodes))
    assert mutually_reachable(
        len(edited.nodes), edited.links["from_node_id"], edited.links["to_node_id"], every_node
    ).all()
