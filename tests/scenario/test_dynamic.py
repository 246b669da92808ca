"""The dynamic engine adapter on small twins: closures, signal retiming from edits, same seed same result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from metaliverpool.edits import apply_edits, parse_scenario
from metaliverpool.edits.schema import RunSettings
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.dynamic import baseline_turn_flows, run_dynamic, signal_plan_for
from metaliverpool.sim.twin_network import sim_network_from_twin
from small_twins import two_route_twin

SETTINGS = RunSettings(engine="dynamic", dta_iterations=2)


def edited(twin: Twin, *edits: dict[str, Any]) -> Twin:
    return apply_edits(
        twin, parse_scenario({"schema_version": 2, "name": "t", "edits": list(edits)}, "t.yaml")
    )


def test_closed_road_carries_nothing_and_traffic_moves_to_the_other_route() -> None:
    twin = two_route_twin(trips_per_hour=600)
    flows = baseline_turn_flows(twin)
    before = run_dynamic(twin, SETTINGS, 1, flows)
    closed = edited(twin, {"kind": "close_road", "osm_way_ids": [100], "vehicles": "general"})
    after = run_dynamic(closed, SETTINGS, 1, flows)
    fast = before.link_loads["osm_way_id"] == 100
    assert before.link_loads.loc[fast, "flow_veh"].max() == 600
    assert after.link_loads.loc[after.link_loads["osm_way_id"] == 100, "flow_veh"].sum() == 0
    assert after.link_loads.loc[after.link_loads["osm_way_id"] == 200, "flow_veh"].max() == 600
    assert np.nanmean(after.trip_times["travel_time_s"]) > np.nanmean(before.trip_times["travel_time_s"])
    assert after.summary["completed"] == 600


def test_signal_plan_edit_sets_cycle_and_offset_and_the_baseline_keeps_its_plan() -> None:
    twin = two_route_twin(trips_per_hour=900)
    flows = baseline_turn_flows(twin)
    base_plan = signal_plan_for(twin, sim_network_from_twin(twin), flows)
    retimed = edited(twin, {"kind": "signal_plan", "osm_node_id": 1002, "cycle_s": 100, "offset_s": 12})
    plan = signal_plan_for(retimed, sim_network_from_twin(retimed), flows)
    assert plan.signal_count == base_plan.signal_count == 1
    cycle = plan.phase_green_s.sum() + plan.phase_amber_s.sum() + plan.phase_all_red_s.sum()
    assert cycle == pytest.approx(100.0)
    assert plan.signal_offset_s[0] == 12.0
    base_green = base_plan.phase_green_s
    assert plan.phase_green_s / plan.phase_green_s.sum() == pytest.approx(base_green / base_green.sum())
    split = edited(
        twin, {"kind": "signal_plan", "osm_node_id": 1002, "cycle_s": 60, "green_splits": [0.7, 0.3]}
    )
    phases = int(base_plan.phase_indptr[1] - base_plan.phase_indptr[0])
    assert phases == 2, "a two-arm junction: a main-road phase and a pedestrian stage"
    shares = signal_plan_for(split, sim_network_from_twin(split), flows).phase_green_s
    assert shares / shares.sum() == pytest.approx([0.7, 0.3])


def test_same_seed_same_result() -> None:
    twin = two_route_twin(trips_per_hour=1500)
    flows = baseline_turn_flows(twin)
    a = run_dynamic(twin, SETTINGS, 3, flows)
    b = run_dynamic(twin, SETTINGS, 3, flows)
    assert a.link_loads.equals(b.link_loads)
    assert a.trip_times.equals(b.trip_times)


def test_parallel_runs_give_the_same_impacts_as_sequential_ones() -> None:
    from metaliverpool.scenario.pipeline import run_pair

    scenario = parse_scenario(
        {
            "schema_version": 2,
            "name": "p",
            "edits": [{"kind": "change_lanes", "osm_way_ids": [100], "lanes": 1}],
            "run": {"engine": "dynamic", "seeds": [1, 2], "dta_iterations": 2},
        }
    )
    twin = two_route_twin(trips_per_hour=1200)
    sequential = run_pair(scenario, twin)
    parallel = run_pair(scenario, twin, workers=2)
    assert parallel.impacts.kpis["network"] == sequential.impacts.kpis["network"]
    assert [r.key for r in parallel.records] == [r.key for r in sequential.records]
    assert not any(r.cached for r in parallel.records)


def test_turn_ban_moves_traffic_off_the_banned_movement() -> None:
    twin = two_route_twin(trips_per_hour=600)
    flows = baseline_turn_flows(twin)
    banned = edited(
        twin, {"kind": "turn_ban", "from_osm_way_id": 100, "via_osm_node_id": 1002, "to_osm_way_id": 100}
    )
    before = run_dynamic(twin, SETTINGS, 1, flows)
    after = run_dynamic(banned, SETTINGS, 1, flows)
    on_fast = before.link_loads["osm_way_id"] == 100
    assert before.link_loads.loc[on_fast, "flow_veh"].max() == 600
    # straight on at the junction is banned: nobody drives through on way 100, all take way 200
    assert after.link_loads.loc[after.link_loads["osm_way_id"] == 100, "flow_veh"].sum() == 0
    assert after.link_loads.loc[after.link_loads["osm_way_id"] == 200, "flow_veh"].max() == 600
    assert after.summary["completed"] == 600


def test_turn_flows_are_cached_per_base_twin_and_read_back_equal(tmp_path: Path) -> None:
    from metaliverpool.scenario.cache import RunCache, turn_flows_key, twin_digest
    from metaliverpool.scenario.pipeline import cached_turn_flows

    twin = two_route_twin(trips_per_hour=600)
    digest = twin_digest(twin)
    cache = RunCache(tmp_path)
    assert cache.get_turn_flows(turn_flows_key(digest)) is None
    computed = cached_turn_flows(twin, digest, cache)
    assert computed == baseline_turn_flows(twin) and computed
    stored = cache.get_turn_flows(turn_flows_key(digest))
    assert stored == computed and all(isinstance(k[0], int) for k in stored)
    # a different base twin has its own entry
    closed = edited(twin, {"kind": "close_road", "osm_way_ids": [100], "vehicles": "general"})
    assert turn_flows_key(twin_digest(closed)) != turn_flows_key(digest)
    assert RunCache(None).get_turn_flows(turn_flows_key(digest)) is None
