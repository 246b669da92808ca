"""Edits through the static engine on two-route networks whose equilibria are solved here independently."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.optimize import brentq

from metaliverpool.edits import parse_scenario
from metaliverpool.edits.apply import apply_edits
from metaliverpool.edits.schema import RunSettings
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.engines import run_static
from small_twins import LAT0, LON0, two_route_twin

ALPHA, BETA = 0.15, 4.0  # the BPR parameters RoadGraph.from_twin uses by default


def edited(twin: Twin, *edits: dict[str, Any]) -> Twin:
    return apply_edits(
        twin, parse_scenario({"schema_version": 2, "name": "t", "edits": list(edits)}, "t.yaml")
    )


def route_time(twin: Twin, way: int, flow_vph: float) -> float:
    """BPR time of the A -> B direction of a route (the links of ``way`` leading away from node 0)."""
    links = twin.links[(twin.links["osm_way_id"] == way) & twin.links["from_node_id"].isin([0, 2, 3])]
    links = links[links["to_node_id"] != 0]
    t0 = links["length_m"] / links["free_speed_mps"]
    return float((t0 * (1 + ALPHA * (flow_vph / links["capacity_vph"]) ** BETA)).sum())


def flow_on(result_loads: Any, twin: Twin, from_node: int, to_node: int) -> float:
    row = twin.links[(twin.links["from_node_id"] == from_node) & (twin.links["to_node_id"] == to_node)]
    return float(result_loads.set_index("link_id").loc[int(row["link_id"].iloc[0]), "flow_veh"])


def test_closing_the_fast_route_moves_its_flow_and_raises_journey_times() -> None:
    twin = two_route_twin(trips_per_hour=1500)
    settings = RunSettings(engine="static", relative_gap=1e-8)
    before = run_static(twin, settings, 1)
    after_twin = edited(twin, {"kind": "close_road", "osm_way_ids": [100]})
    after = run_static(after_twin, settings, 1)
    assert flow_on(before.link_loads, twin, 0, 2) > 1400, "the fast road carries almost everything"
    assert flow_on(after.link_loads, after_twin, 0, 3) == pytest.approx(1500, rel=1e-6)
    assert after.link_loads.loc[after.link_loads["osm_way_id"] == 100, "flow_veh"].sum() == 0
    assert after.trip_times["travel_time_s"].mean() > 2 * before.trip_times["travel_time_s"].mean()
    # the slow road's time at 1500 veh/h, by hand from BPR:
    assert after.trip_times["travel_time_s"].iloc[0] == pytest.approx(route_time(twin, 200, 1500), rel=1e-6)


@pytest.mark.parametrize("charge_gbp", [0.1, 0.25, 0.5])
def test_a_toll_shifts_flow_as_generalised_cost_implies(charge_gbp: float) -> None:
    demand = 8000
    twin = two_route_twin(trips_per_hour=demand)
    value_of_time = 12.0
    settings = RunSettings(engine="static", relative_gap=1e-9, value_of_time_gbp_per_h=value_of_time)
    around_mid = {
        "type": "Polygon",
        "coordinates": [
            [
                [LON0 + 0.007, LAT0 - 0.001],
                [LON0 + 0.011, LAT0 - 0.001],
                [LON0 + 0.011, LAT0 + 0.003],
                [LON0 + 0.007, LAT0 + 0.003],
                [LON0 + 0.007, LAT0 - 0.001],
            ]
        ],
    }
    tolled = edited(twin, {"kind": "cordon_charge", "area": around_mid, "charge_gbp": charge_gbp})
    assert (
        tolled.links.loc[
            (tolled.links["from_node_id"] == 0) & (tolled.links["to_node_id"] == 2), "toll_gbp"
        ].iloc[0]
        == charge_gbp
    )
    toll_s = charge_gbp * 3600.0 / value_of_time

    def excess(on_fast: float, toll: float) -> float:
        return route_time(twin, 100, on_fast) + toll - route_time(twin, 200, demand - on_fast)

    expected_free = brentq(excess, 0.0, demand, args=(0.0,), xtol=1e-9)
    expected_tolled = brentq(excess, 0.0, demand, args=(toll_s,), xtol=1e-9)
    assert 0 < expected_tolled < expected_free < demand, "both routes used, the toll moves traffic off"
    free = flow_on(run_static(twin, settings, 1).link_loads, twin, 0, 2)
    charged = flow_on(run_static(tolled, settings, 1).link_loads, tolled, 0, 2)
    assert free == pytest.approx(expected_free, rel=2e-3)
    assert charged == pytest.approx(expected_tolled, rel=2e-3)
    assert free - charged == pytest.approx(expected_free - expected_tolled, rel=2e-2)


def test_static_runs_are_deterministic() -> None:
    twin = two_route_twin(trips_per_hour=2500)
    settings = RunSettings(engine="static")
    a, b = run_static(twin, settings, 1), run_static(twin, settings, 7)
    assert np.array_equal(a.link_loads["flow_veh"], b.link_loads["flow_veh"])


def test_static_engine_obeys_a_turn_ban_through_a_split_junction() -> None:
    from metaliverpool.network.graph import RoadGraph

    twin = two_route_twin(trips_per_hour=600)
    banned = edited(
        twin, {"kind": "turn_ban", "from_osm_way_id": 100, "via_osm_node_id": 1002, "to_osm_way_id": 100}
    )
    settings = RunSettings(engine="static")
    before = run_static(twin, settings, 1).link_loads
    after = run_static(banned, settings, 1).link_loads
    assert before.loc[before["osm_way_id"] == 100, "flow_veh"].max() > 0
    assert after.loc[after["osm_way_id"] == 100, "flow_veh"].sum() == pytest.approx(0.0, abs=1e-6)
    assert after.loc[after["osm_way_id"] == 200, "flow_veh"].max() == pytest.approx(600.0 * 1.0, rel=1e-6)
    graph = RoadGraph.from_twin(banned)
    # node 2 became two in-nodes and two out-nodes; the edit bans every way-100-to-way-100 turn there
    # (straight on and the U-turns), so no connector joins them
    assert graph.node_count == RoadGraph.from_twin(twin).node_count + 4
    assert np.sum(graph.link_external_id < 0) == 0


def test_split_junction_keeps_the_allowed_turns_as_zero_time_connectors() -> None:
    import pandas as pd

    from metaliverpool.network.graph import split_restricted_junctions

    # a T: links 0 (a->v), 1 (v->b), 2 (v->c); "no" turn 0->1 and an "only" restriction elsewhere ignored
    restrictions = pd.DataFrame({"kind": ["no", "only"], "from_link_id": [10, 99], "to_link_id": [11, 12]})
    split = split_restricted_junctions(
        4, np.array([0, 3, 3]), np.array([3, 1, 2]), np.array([10, 11, 12]), restrictions, keep=set()
    )
    assert split.node_count == 4 + 1 + 2
    assert split.link_to[0] == 4 and list(split.link_from[1:]) == [5, 6]
    assert list(zip(split.connector_from, split.connector_to, strict=True)) == [(4, 6)]  # 0->2 only
    kept = split_restricted_junctions(
        4, np.array([0, 3, 3]), np.array([3, 1, 2]), np.array([10, 11, 12]), restrictions, keep={3}
    )
    assert kept.node_count == 4 and kept.connector_from.size == 0  # a zone's node is not split
