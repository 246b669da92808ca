"""Multi-lane links let another movement pass a held vehicle; incremental loading spreads routes."""

from __future__ import annotations

import numpy as np
import pytest

from metaliverpool.sim.demand import make_demand
from metaliverpool.sim.network import PASS_DEPTH_PER_LANE, build_sim_network
from metaliverpool.sim.routing import route_incremental

from .helpers import parallel_routes_network, run_free_flow_routes


def _fork(lanes: float):
    """0 -A-> 1 -B-> 2 -C-> 3 and 1 -D-> 4; C admits one vehicle per 100 s, so B fills and holds A's
    C-bound vehicles at its stop line, while D is free."""
    return build_sim_network(
        node_count=5,
        link_from_node=[0, 1, 2, 1],
        link_to_node=[1, 2, 3, 4],
        link_length_m=[300.0, 40.0, 200.0, 200.0],
        link_free_speed_mps=[10.0] * 4,
        link_capacity_vph=[900.0 * lanes, 900.0, 36.0, 900.0],
        link_lanes=[lanes, 1.0, 1.0, 1.0],
    )


@pytest.mark.parametrize("lanes", [1.0, 2.0])
def test_other_movement_passes_a_held_vehicle_only_on_a_multi_lane_link(lanes: float) -> None:
    network = _fork(lanes)
    blocked, free = 14, 3
    demand = make_demand(
        [0] * (blocked + free),
        [3] * blocked + [4] * free,
        np.concatenate([np.arange(blocked) * 4.0, 300.0 + np.arange(free) * 4.0]),
    )
    result = run_free_flow_routes(network, demand, horizon_s=3000.0, stop_when_done=False)
    to_d = slice(blocked, blocked + free)
    travel_d = result.veh_arrive_s[to_d] - demand.departure_time_s[to_d]
    free_flow_s = 50.0  # 300 m + 200 m at 10 m/s
    if lanes >= 2:
        # the queue of C-bound vehicles at A's stop line is shorter than the pass depth: D-bound pass it
        assert network.link_pass_depth[0] == 2 * PASS_DEPTH_PER_LANE
        assert np.all(travel_d < free_flow_s + 10.0)
    else:
        assert network.link_pass_depth[0] == 1
        assert np.all(travel_d > free_flow_s + 100.0)  # held behind the C-bound queue (136 s measured)
    # C-bound vehicles keep their order either way (FIFO within a movement)
    arrivals_c = result.veh_arrive_s[:blocked]
    finished = arrivals_c[np.isfinite(arrivals_c)]
    assert finished.size > 0 and np.all(np.diff(finished) > 0)


def test_incremental_loading_spreads_a_demand_over_parallel_routes() -> None:
    # two parallel routes 0 -> 1: direct (60 s) and via node 2 (70 s), 600 veh/h each
    network = parallel_routes_network(600.0)
    demand = make_demand(np.zeros(1200), np.ones(1200), np.linspace(0.0, 3599.0, 1200))
    routes = route_incremental(network, demand, increments=8)
    direct = routes.veh_path == next(p for p in range(routes.path_count) if len(routes.links_of(p)) == 1)
    # free-flow routing puts all 1,200 vehicles on the direct link; BPR times at 1,200 veh/h split them
    assert 0.3 < direct.mean() < 0.9
    # and the split is close to equal cost: BPR times on both routes within one increment's step
    flows = np.array([direct.sum(), (~direct).sum()], dtype=float)
    times = np.array([60.0, 70.0]) * (1 + 0.15 * (flows / 600.0) ** 4)
    assert abs(times[0] - times[1]) / times.max() < 0.35
