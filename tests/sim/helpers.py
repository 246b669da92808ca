"""Small networks for the simulator tests."""

from __future__ import annotations

import numpy as np

from metaliverpool.sim.demand import Demand, make_demand
from metaliverpool.sim.engine import SimConfig, SimResult, simulate
from metaliverpool.sim.network import SimNetwork, build_sim_network
from metaliverpool.sim.routing import route_free_flow
from metaliverpool.sim.signals import SignalPlan, empty_signal_plan


def chain_network(
    length_m: list[float], speed_mps: list[float], capacity_vph: list[float], lanes: list[float]
) -> SimNetwork:
    """Links 0->1->2->... in a line."""
    count = len(length_m)
    return build_sim_network(
        node_count=count + 1,
        link_from_node=np.arange(count),
        link_to_node=np.arange(1, count + 1),
        link_length_m=length_m,
        link_free_speed_mps=speed_mps,
        link_capacity_vph=capacity_vph,
        link_lanes=lanes,
    )


def parallel_routes_network(capacity_vph: float) -> SimNetwork:
    """Two routes from node 0 to node 1: the direct link 0 (600 m, 60 s) and links 1-2 via node 2
    (2 x 350 m, 70 s), all at 10 m/s and ``capacity_vph``."""
    return build_sim_network(
        node_count=3,
        link_from_node=[0, 0, 2],
        link_to_node=[1, 2, 1],
        link_length_m=[600.0, 350.0, 350.0],
        link_free_speed_mps=[10.0] * 3,
        link_capacity_vph=[capacity_vph] * 3,
    )


def steady_demand(
    origin: int, destination: int, count: int, headway_s: float, start_s: float = 0.0
) -> Demand:
    """``count`` vehicles at a constant headway."""
    return make_demand(
        np.full(count, origin), np.full(count, destination), start_s + np.arange(count) * headway_s
    )


def run_free_flow_routes(
    network: SimNetwork, demand: Demand, plan: SignalPlan | None = None, **config: object
) -> SimResult:
    """Route on free-flow paths and simulate."""
    routes, free = route_free_flow(network, demand)
    settings = SimConfig(**config)  # type: ignore[arg-type]
    return simulate(
        network, plan or empty_signal_plan(network), demand, routes, settings, veh_free_time_s=free
    )


def merged_entries(
    result: SimResult, demand: Demand, out_link: int, minor_origin: int
) -> tuple[np.ndarray, np.ndarray]:
    """Times vehicles entered ``out_link`` (sorted) and whether each came from ``minor_origin`` (a run with
    ``record_link_events`` and ``keep_events``)."""
    assert result.events is not None
    events = result.events.to_frame()
    merged = events[(events["kind"] == "enter_link") & (events["link"] == out_link)].sort_values("time_s")
    is_minor = demand.origin_node[merged["vehicle"].to_numpy()] == minor_origin
    return merged["time_s"].to_numpy(), is_minor


def assert_minor_waits_critical_gap(times: np.ndarray, is_minor: np.ndarray, critical_gap_s: float) -> None:
    """No minor vehicle crossed within ``critical_gap_s`` after the last major vehicle."""
    last_major = -np.inf
    for t, minor_vehicle in zip(times, is_minor, strict=True):
        if minor_vehicle:
            assert t >= last_major + critical_gap_s - 1e-9
        else:
            last_major = t
