"""Links inside a signalised junction carry no stop line; the central-Liverpool twin no longer gridlocks as
badly in its morning peak because of it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from metaliverpool.sim.demand import make_demand
from metaliverpool.sim.engine import SimConfig, simulate
from metaliverpool.sim.network import SimNetwork, build_sim_network
from metaliverpool.sim.routing import route_free_flow
from metaliverpool.sim.signals import NO_STOP_LINE, turn_flows_vph, webster_signal_plan
from metaliverpool.sim.twin_network import demand_from_twin, signal_nodes, sim_network_from_twin

from .helpers import run_free_flow_routes


def _dual_carriageway_crossing() -> SimNetwork:
    """West-east road 0 -> 1 -> 2 -> 3 crossing a dual carriageway: nodes 1 and 2 are one junction
    (12 m apart, link 1 inside it); the carriageways come in from the south (4 -> 1) and north (5 -> 2)."""
    x = np.array([0.0, 100.0, 112.0, 212.0, 100.0, 112.0])
    y = np.array([0.0, 0.0, 0.0, 0.0, -100.0, 100.0])
    return build_sim_network(
        node_count=6,
        link_from_node=[0, 1, 2, 4, 5, 1, 2],
        link_to_node=[1, 2, 3, 1, 2, 5, 4],
        link_length_m=[100.0, 12.0, 100.0, 100.0, 100.0, 100.0, 100.0],
        link_free_speed_mps=10.0,
        link_capacity_vph=1800.0,
        node_x=x * 1e-5,
        node_y=y * 1e-5,
    )


def test_link_inside_a_signal_junction_is_never_held_by_its_exit_signal() -> None:
    plain = _dual_carriageway_crossing()
    internal = np.zeros(plain.link_count, dtype=np.bool_)
    internal[1] = True
    boxed = replace(plain, link_junction_internal=internal)
    demand = make_demand(np.zeros(60, dtype=np.int64), np.full(60, 3), np.arange(60) * 7.0)
    flows = np.full(plain.turn_count, 300.0)

    boxed_plan = webster_signal_plan(boxed, [1, 2], flows)
    assert boxed_plan.turn_phase_mask[boxed.turn_index(1, 2)] == NO_STOP_LINE
    assert boxed_plan.turn_phase_mask[boxed.turn_index(0, 1)] != NO_STOP_LINE
    boxed_run = run_free_flow_routes(boxed, demand, boxed_plan, horizon_s=3600.0)
    # the same junction with only node 1 signalised: the reference for "no stop line at node 2"
    entry_only = run_free_flow_routes(boxed, demand, webster_signal_plan(boxed, [1], flows), horizon_s=3600.0)
    held = run_free_flow_routes(plain, demand, webster_signal_plan(plain, [1, 2], flows), horizon_s=3600.0)

    assert boxed_run.completed.all()
    np.testing.assert_allclose(boxed_run.veh_arrive_s, entry_only.veh_arrive_s, rtol=0, atol=1e-9)
    # with its own uncoordinated stop line the internal link holds vehicles that entered on a green
    assert float(np.sum(held.veh_arrive_s)) > float(np.sum(boxed_run.veh_arrive_s)) + 20.0
    assert float(np.max(held.veh_arrive_s - boxed_run.veh_arrive_s)) > 5.0


@pytest.mark.slow
def test_liverpool_morning_peak_gridlocks_less_with_junction_boxes(liverpool_centre_bundle: Path) -> None:
    """Measured 2026-11-22 (webster, free-flow routes, one simulation): without the gridlock rule 17,130
    of 48,024 trips complete (10,062 before links inside signal junctions lost their stop line); with a
    300 s rule 41,110 complete with 113,000 interventions (before: 40,873 and 124,033). Measured
    2026-12-07 on the coded twin (docs/network-coding.md: RR67 saturation flows, storage for the step, the
    rule counting standing time only): 28,006 complete without the rule; 31,207 with it and 2,227
    interventions (the rule no longer teleports vehicles that are merely queueing)."""
    from metaliverpool.store.bundle import read_twin

    twin = read_twin(liverpool_centre_bundle)
    network = sim_network_from_twin(twin)
    internal = np.flatnonzero(network.link_junction_internal)
    junction_of = twin.nodes.set_index("node_id")["junction_id"]
    assert internal.size > 0
    assert (
        junction_of.loc[network.link_from_node[internal]].to_numpy()
        == junction_of.loc[network.link_to_node[internal]].to_numpy()
    ).all()
    demand = demand_from_twin(twin)
    window_s = float(demand.departure_time_s.max())
    routes, _ = route_free_flow(network, demand)
    plan = webster_signal_plan(
        network, signal_nodes(twin, network), turn_flows_vph(network, routes, window_s)
    )
    trips = demand.vehicle_count
    stuck = simulate(network, plan, demand, routes, SimConfig(horizon_s=window_s + 3600.0))
    assert stuck.completed.sum() >= 0.55 * trips  # 0.583 measured, 0.357 before the coding, 0.21 before
    ruled = simulate(
        network, plan, demand, routes, SimConfig(horizon_s=window_s + 3600.0, gridlock_timeout_s=300.0)
    )
    assert ruled.completed.sum() >= 0.62 * trips  # 0.650 measured
    assert ruled.gridlock_interventions <= 3_000  # 2,227 measured, 113,000 with the queueing-time rule
