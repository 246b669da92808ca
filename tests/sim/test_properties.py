"""Invariants on random small networks and demand (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaliverpool.sim.demand import Demand, demand_from_od, make_demand
from metaliverpool.sim.dta import DtaConfig, run_dta
from metaliverpool.sim.engine import SimConfig, SimResult, simulate
from metaliverpool.sim.network import SimNetwork, build_sim_network
from metaliverpool.sim.routing import route_free_flow
from metaliverpool.sim.signals import empty_signal_plan, webster_signal_plan


@st.composite
def networks_and_demand(draw: st.DrawFn) -> tuple[SimNetwork, Demand]:
    nodes = draw(st.integers(3, 6))
    pairs = {(i, (i + 1) % nodes) for i in range(nodes)} | {((i + 1) % nodes, i) for i in range(nodes)}
    extra = draw(st.lists(st.tuples(st.integers(0, nodes - 1), st.integers(0, nodes - 1)), max_size=6))
    pairs |= {(a, b) for a, b in extra if a != b}
    links = sorted(pairs)
    count = len(links)
    length = draw(st.lists(st.floats(15.0, 400.0), min_size=count, max_size=count))
    speed = draw(st.lists(st.floats(5.0, 25.0), min_size=count, max_size=count))
    lanes = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    per_lane = draw(st.lists(st.floats(400.0, 1900.0), min_size=count, max_size=count))
    net = build_sim_network(
        node_count=nodes,
        link_from_node=[a for a, _ in links],
        link_to_node=[b for _, b in links],
        link_length_m=length,
        link_free_speed_mps=speed,
        link_capacity_vph=[c * n for c, n in zip(per_lane, lanes, strict=True)],
        link_lanes=[float(n) for n in lanes],
        node_x=np.cos(np.arange(nodes) * 2 * np.pi / nodes) * 300,
        node_y=np.sin(np.arange(nodes) * 2 * np.pi / nodes) * 300,
    )
    trips = draw(st.integers(1, 250))
    origins = draw(st.lists(st.integers(0, nodes - 1), min_size=trips, max_size=trips))
    shifts = draw(st.lists(st.integers(1, nodes - 1), min_size=trips, max_size=trips))
    departs = draw(st.lists(st.floats(0.0, 300.0), min_size=trips, max_size=trips))
    destinations = [(o + s) % nodes for o, s in zip(origins, shifts, strict=True)]
    return net, make_demand(origins, destinations, departs)


def _run(net: SimNetwork, demand: Demand, signals: bool) -> SimResult:
    routes, free = route_free_flow(net, demand)
    plan = empty_signal_plan(net)
    if signals:
        plan = webster_signal_plan(net, [0, 1], np.full(net.turn_count, 300.0))
    config = SimConfig(horizon_s=900.0, series_interval_s=1.0, record_link_events=True, keep_events=True)
    return simulate(net, plan, demand, routes, config, veh_free_time_s=free)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=networks_and_demand(), signals=st.booleans())
def test_conservation_fifo_and_storage_at_every_step(case: tuple[SimNetwork, Demand], signals: bool) -> None:
    net, demand = case
    result = _run(net, demand, signals)
    storage = net.effective_storage_veh(1.0)
    ends = [*result.series_start_s[1:].tolist(), result.end_time_s]
    for row, t in enumerate(ends):
        departed = int(np.sum(demand.departure_time_s < t))
        arrived = int(np.sum(result.veh_arrive_s < t))
        entered = np.nan_to_num(result.veh_enter_s, nan=np.inf) < t
        waiting = int(np.sum((demand.departure_time_s < t) & ~entered))
        on_network = int(result.series_occupancy[row].sum())
        assert departed == arrived + on_network + waiting, f"t={t}"
        assert np.all(result.series_occupancy[row] <= storage)
        assert np.all(result.series_occupancy[row] >= 0)

    # FIFO: on a one-lane link vehicles leave in the order they entered; on a multi-lane link so do the
    # vehicles of each movement (same next link), while another movement may pass a held one
    assert result.events is not None
    events = result.events.to_frame()
    events = events[events["kind"] != "gridlock_intervention"].sort_values("time_s", kind="stable")
    by_vehicle = events.groupby("vehicle")
    for _, group in by_vehicle:
        assert np.all(np.diff(group["time_s"].to_numpy()) >= 0)
    entries = events[events["kind"].isin(["depart", "enter_link"])]
    exits: dict[tuple[int, int], tuple[float, int]] = {}
    for vehicle, group in by_vehicle:
        times = group["time_s"].to_numpy()
        links = group["link"].to_numpy()
        kinds = group["kind"].to_numpy()
        for i in range(len(times) - 1):
            following = -1 if kinds[i + 1] == "arrive" else int(links[i + 1])
            exits[(int(vehicle), int(links[i]))] = (float(times[i + 1]), following)
    for link, group in entries.groupby("link"):
        left = [exits.get((int(v), int(link)), (np.inf, -2)) for v in group["vehicle"]]
        movement = np.array([m for _, m in left]) if net.link_lanes[int(link)] >= 2 else np.zeros(len(left))
        out = np.array([t for t, _ in left])
        for m in np.unique(movement):
            same = out[movement == m]
            assert np.all(same[1:] >= same[:-1]), f"link {link} movement {m} not FIFO"
    assert result.gridlock_interventions == 0


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_same_seed_same_result(seed: int) -> None:
    net = build_sim_network(
        node_count=4,
        link_from_node=[0, 1, 2, 3, 1, 2, 3, 0],
        link_to_node=[1, 2, 3, 0, 0, 1, 2, 3],
        link_length_m=[300.0, 200.0, 250.0, 400.0, 300.0, 200.0, 250.0, 400.0],
        link_free_speed_mps=[13.0] * 8,
        link_capacity_vph=[900.0] * 8,
    )
    od = np.full((4, 4), 60.0)

    def once() -> tuple[np.ndarray, np.ndarray, list[float]]:
        demand = demand_from_od(od, np.arange(4, dtype=np.int32), window_s=600.0, seed=seed)
        out = run_dta(
            net, empty_signal_plan(net), demand, SimConfig(horizon_s=3600.0), DtaConfig(3, seed=seed)
        )
        gaps = [it.relative_gap for it in out.iterations]
        return demand.departure_time_s, out.result.veh_arrive_s, gaps

    a, b = once(), once()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2]


def test_gridlock_is_never_silent() -> None:
    # a ring of four links (nodes 0-3, four vehicles each) fed by four short feeders (from nodes 4-7);
    # every vehicle drives three ring links, feeders win the merges (their vehicles have waited longer),
    # so each ring link fills with vehicles wanting the next, full, ring link: a true deadlock
    net = build_sim_network(
        node_count=8,
        link_from_node=[0, 1, 2, 3, 4, 5, 6, 7],
        link_to_node=[1, 2, 3, 0, 0, 1, 2, 3],
        link_length_m=[20.0] * 8,
        link_free_speed_mps=[10.0] * 8,
        link_capacity_vph=[1800.0] * 8,
    )
    feeder = np.repeat(np.arange(4), 30)
    demand = make_demand(feeder + 4, (feeder + 3) % 4, np.zeros(feeder.shape[0]))
    stuck = _ring(net, demand, 0.0)
    assert stuck.gridlock_interventions == 0
    assert int(np.sum(stuck.completed)) < demand.vehicle_count
    on_network = int(stuck.series_occupancy[-1].sum())
    storage = net.effective_storage_veh(1.0)
    assert np.all(stuck.series_occupancy[-1] == storage)  # ring and feeders full
    assert on_network == int(storage.sum()) == 40  # 5 a link: 4 at jam plus room for the step
    assert int(np.sum(stuck.completed)) + on_network + int(np.sum(np.isnan(stuck.veh_enter_s))) == 120
    freed = _ring(net, demand, 60.0)
    assert freed.gridlock_interventions > 0
    assert int(np.sum(freed.completed)) == demand.vehicle_count
    assert freed.summary()["gridlock_interventions"] == freed.gridlock_interventions


def _ring(net: SimNetwork, demand: Demand, timeout_s: float) -> SimResult:
    routes, free = route_free_flow(net, demand)
    config = SimConfig(horizon_s=3000.0, gridlock_timeout_s=timeout_s)
    return simulate(net, empty_signal_plan(net), demand, routes, config, veh_free_time_s=free)
