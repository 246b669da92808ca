"""Verification against theory: free flow, a bottleneck (kinematic waves), a signal, spillback."""

from __future__ import annotations

import numpy as np
import pytest

from metaliverpool.sim.demand import make_demand
from metaliverpool.sim.network import build_sim_network
from metaliverpool.sim.signals import SignalSpec, build_signal_plan

from .helpers import (
    assert_minor_waits_critical_gap,
    chain_network,
    merged_entries,
    run_free_flow_routes,
    steady_demand,
)


@pytest.mark.parametrize("dt_s", [0.5, 1.0, 2.0])
def test_free_flow_travel_time_is_exact(dt_s: float) -> None:
    lengths = [1000.0, 777.0, 1234.5]
    speeds = [13.0, 17.3, 9.1]
    net = chain_network(lengths, speeds, [1800.0] * 3, [1.0] * 3)
    demand = make_demand([0, 0], [3, 2], [3.7, 10.01])
    result = run_free_flow_routes(net, demand, dt_s=dt_s)
    expected = np.array(
        [
            sum(d / v for d, v in zip(lengths, speeds, strict=True)),
            lengths[0] / speeds[0] + lengths[1] / speeds[1],
        ]
    )
    travel = result.veh_arrive_s - demand.departure_time_s
    np.testing.assert_allclose(travel, expected, rtol=0, atol=1e-9)


def test_bottleneck_queue_and_discharge_match_kinematic_wave_theory() -> None:
    # link A (2 lanes, 3600 veh/h) feeds bottleneck B (1 lane, 1800 veh/h); demand 3600 veh/h for 1000 s
    vf, length_a = 20.0, 1000.0
    q_a, q_b = 3600.0 / 3600, 1800.0 / 3600  # veh/s
    net = chain_network([length_a, 500.0, 1000.0], [vf] * 3, [3600.0, 1800.0, 3600.0], [2.0, 1.0, 2.0])
    demand = steady_demand(0, 3, 1000, 1.0 / q_a)
    result = run_free_flow_routes(net, demand, series_interval_s=100.0)

    # discharge: arrivals leave the bottleneck at its capacity
    arrivals = np.sort(result.veh_arrive_s)
    rate = (len(arrivals[100:900]) - 1) / (arrivals[899] - arrivals[100])
    assert rate == pytest.approx(q_b, rel=0.02)

    # queue (vehicles at the stop line of A) from cumulative curves: arrivals at the stop line from
    # t = L/vf at rate q_a, departures at rate q_b, so N(t) = (q_a - q_b)(t - L/vf)
    t = 300.0
    row = int(np.flatnonzero(np.isclose(result.series_start_s, t - 100.0))[0])
    expected_queue = (q_a - q_b) * (t - length_a / vf)
    assert result.series_queue[row, 0] == pytest.approx(expected_queue, rel=0.02)

    # spillback: the queue (density k_c on the congested branch of A's triangular diagram) reaches the
    # upstream end of A when N = L (k_c - k_a); from then on vehicles wait to enter
    kj = 2 * 0.2
    w = q_a / (kj - q_a / vf)
    k_c = kj - q_b / w
    k_a = q_a / vf
    t_spill = length_a / vf + length_a * (k_c - k_a) / (q_a - q_b)
    delayed = np.flatnonzero(result.veh_enter_s - demand.departure_time_s > 1e-6)
    assert demand.departure_time_s[delayed[0]] == pytest.approx(t_spill, rel=0.02)


def test_signalised_approach_discharges_green_times_saturation_flow_per_cycle() -> None:
    green, amber, all_red, red_phase = 30.0, 3.0, 2.0, 25.0
    saturation_vps = 1800.0 / 3600
    net = chain_network([500.0, 500.0], [10.0, 10.0], [1800.0, 3600.0], [1.0, 2.0])
    spec = SignalSpec(
        node=1,
        phases=(((0, 1),), ()),
        green_s=(green, red_phase),
        amber_s=(amber, amber),
        all_red_s=(all_red, all_red),
    )
    plan = build_signal_plan(net, [spec])
    cycle = green + red_phase + 2 * (amber + all_red)
    demand = steady_demand(0, 2, 3000, 1.0)
    result = run_free_flow_routes(net, demand, plan, horizon_s=4000.0)
    crossing = np.sort(result.veh_arrive_s[np.isfinite(result.veh_arrive_s)] - 500.0 / 10.0)
    # never in amber, all-red or red
    assert np.all(np.mod(crossing, cycle) < green + 1e-9)
    per_cycle = np.bincount((crossing // cycle).astype(int))
    steady = per_cycle[3:25]
    assert np.all(steady == int(green * saturation_vps))


def test_full_downstream_link_blocks_its_upstream_link() -> None:
    net = chain_network([1000.0, 200.0, 1000.0], [10.0] * 3, [1800.0] * 3, [1.0] * 3)
    storage = net.effective_storage_veh(1.0)  # 40 at jam, +1 for the step (SimNetwork.effective_storage_veh)
    always_red = SignalSpec(node=2, phases=((),), green_s=(60.0,), amber_s=(0.0,), all_red_s=(0.0,))
    plan = build_signal_plan(net, [always_red])
    demand = steady_demand(0, 3, 150, 2.0)
    result = run_free_flow_routes(net, demand, plan, horizon_s=2000.0, series_interval_s=100.0)
    last = result.series_occupancy[-1]
    assert last[1] == storage[1] == 41
    assert last[0] == 150 - 41
    assert result.series_outflow[:, 0].sum() == 41
    assert not np.any(np.isfinite(result.veh_arrive_s))
    assert result.gridlock_interventions == 0


def test_minor_approach_gives_way_by_the_critical_gap() -> None:
    # major link 0 and minor link 1 merge at node 2 onto link 2; the minor approach has rank 1
    net = build_sim_network(
        node_count=4,
        link_from_node=[0, 1, 2],
        link_to_node=[2, 2, 3],
        link_length_m=[300.0, 300.0, 600.0],
        link_free_speed_mps=[15.0] * 3,
        link_capacity_vph=[1800.0, 1800.0, 3600.0],
        link_lanes=[1.0, 1.0, 2.0],
    )
    gap_s = 3.0
    node_gap = np.zeros(4)
    node_gap[2] = gap_s
    net = net.with_control(link_rank=[0, 1, 0], node_critical_gap_s=node_gap)
    # major: one vehicle every 4 s; minor: saturated
    major = np.arange(150) * 4.0
    minor = np.arange(300) * 1.0
    demand = make_demand(np.r_[np.zeros(150), np.ones(300)], np.full(450, 3), np.r_[major, minor])
    result = run_free_flow_routes(net, demand, horizon_s=3000.0, record_link_events=True, keep_events=True)
    times, is_minor = merged_entries(result, demand, out_link=2, minor_origin=1)
    assert_minor_waits_critical_gap(times, is_minor, gap_s)
    # while majors flow every 4 s, a minor vehicle fits in each 4 s gap once the 3 s gap has passed
    window = (times > 100) & (times < 500)
    assert np.sum(is_minor[window]) == pytest.approx(np.sum(~is_minor[window]), abs=2)


def test_gridlock_rule_counts_standing_time_not_queueing_time() -> None:
    """A signal (20 s green in a 60 s cycle, 600 veh/h) at the end of a 40 m link is fed 1,800 veh/h: the
    queue takes the late vehicles over 1,000 s to clear, but the head of the queue on the first link never
    stands longer than a red: the 300 s gridlock rule must not fire. (It used to count the time since the
    vehicle could have reached the stop line, queueing included, and teleported 58 of these 300.)"""
    net = chain_network([500.0, 40.0, 500.0], [10.0] * 3, [1800.0] * 3, [1.0] * 3)
    signal = SignalSpec(
        node=2, phases=(((1, 2),), ()), green_s=(20.0, 35.0), amber_s=(3.0, 0.0), all_red_s=(2.0, 0.0)
    )
    demand = steady_demand(0, 3, 300, 2.0)
    result = run_free_flow_routes(
        net, demand, build_signal_plan(net, [signal]), horizon_s=4000.0, gridlock_timeout_s=300.0
    )
    travel = result.veh_arrive_s - demand.departure_time_s
    assert result.gridlock_interventions == 0
    assert np.all(np.isfinite(result.veh_arrive_s))
    assert travel.max() > 1000.0  # the late vehicles did queue that long
