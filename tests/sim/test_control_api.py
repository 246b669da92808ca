"""Controllers behind the SignalController protocol cannot break the safety rules."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from metaliverpool.sim.control_api import KEEP_PHASE, SignalController, SignalObservation, SignalSafetyConfig
from metaliverpool.sim.demand import make_demand
from metaliverpool.sim.engine import SimConfig, SimResult, simulate
from metaliverpool.sim.network import build_sim_network
from metaliverpool.sim.routing import route_free_flow
from metaliverpool.sim.signals import SignalSpec, build_signal_plan


class FlipEverySecond:
    """Asks for the other phase at every decision (a controller that would flicker if allowed)."""

    decision_interval_s = 1.0

    def __init__(self) -> None:
        self.observations: list[SignalObservation] = []

    def decide(self, observation: SignalObservation) -> npt.NDArray[np.int32]:
        self.observations.append(observation)
        return ((observation.phase_index + 1) % observation.phase_count).astype(np.int32)


class KeepForever:
    """Never asks for a change."""

    decision_interval_s = 5.0

    def decide(self, observation: SignalObservation) -> npt.NDArray[np.int32]:
        return np.full(observation.junction_count, KEEP_PHASE, dtype=np.int32)


def _crossing_run(controller: SignalController) -> tuple[SimResult, np.ndarray, np.ndarray]:
    # two approaches (links 0 and 1) into node 2, both onto link 2; phase 0 serves link 0, phase 1 link 1
    net = build_sim_network(
        node_count=4,
        link_from_node=[0, 1, 2],
        link_to_node=[2, 2, 3],
        link_length_m=[200.0, 200.0, 400.0],
        link_free_speed_mps=[10.0] * 3,
        link_capacity_vph=[1800.0, 1800.0, 3600.0],
        link_lanes=[1.0, 1.0, 2.0],
        node_x=[-200.0, 0.0, 0.0, 200.0],
        node_y=[0.0, -200.0, 0.0, 0.0],
    )
    spec = SignalSpec(
        node=2, phases=(((0, 2),), ((1, 2),)), green_s=(30.0, 30.0), amber_s=(3.0, 3.0), all_red_s=(2.0, 2.0)
    )
    plan = build_signal_plan(net, [spec])
    count = 1200
    origins = np.tile([0, 1], count // 2)
    demand = make_demand(origins, np.full(count, 3), np.repeat(np.arange(count // 2) * 1.0, 2))
    routes, free = route_free_flow(net, demand)
    config = SimConfig(horizon_s=1500.0, record_link_events=True, keep_events=True)
    result = simulate(net, plan, demand, routes, config, veh_free_time_s=free, controller=controller)
    assert result.events is not None
    events = result.events.to_frame()
    entries = events[(events["kind"] == "enter_link") & (events["link"] == 2)]
    from_link = routes.path_links[routes.path_offset[routes.veh_path[entries["vehicle"].to_numpy()]]]
    times = entries["time_s"].to_numpy()
    return result, times[from_link == 0], times[from_link == 1]


def test_flickering_controller_is_held_to_min_green_amber_and_all_red() -> None:
    safety = SignalSafetyConfig()
    controller = FlipEverySecond()
    _, from_a, from_b = _crossing_run(controller)
    assert controller.observations, "the controller was never asked"
    first = controller.observations[0]
    assert first.movement_in_link_id.tolist() == [0, 1]
    # the simulator cycles min green + amber + all-red per phase: 20 s, phase 0 green in [0, 5) first
    cycle = 2 * (safety.min_green_s + safety.amber_s + safety.all_red_s)
    offset_a = np.mod(from_a, cycle)
    offset_b = np.mod(from_b - cycle / 2, cycle)
    assert np.all(offset_a < safety.min_green_s + 1e-9)
    assert np.all(offset_b < safety.min_green_s + 1e-9)
    # and the approaches are not starved: each discharges at saturation during its short greens
    # (headway 2 s from the start of each 5 s green: vehicles at +0, +2, +4 s)
    per_cycle = np.bincount((from_a[(from_a >= 200) & (from_a < 800)] // cycle).astype(int))[10:]
    assert np.all(per_cycle == 3)


def test_a_controller_that_never_changes_is_ended_at_max_green() -> None:
    safety = SignalSafetyConfig()
    _, from_a, from_b = _crossing_run(KeepForever())
    assert from_b.size > 0  # phase 1 got green although never asked for
    gaps = np.diff(np.sort(from_a))
    longest_red = gaps.max()
    # approach A waits B's whole green (held to max green) plus two clearances and one headway
    clearance = safety.amber_s + safety.all_red_s
    assert (
        safety.max_green_s + 2 * clearance <= longest_red <= safety.max_green_s + 2 * clearance + 2.0 + 1e-6
    )
