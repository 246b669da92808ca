"""Safety properties of every controller on random demand at a signalised crossroads (hypothesis).

- no controller asks to end a green before the minimum green, and no green shown is shorter;
- every change of phase goes through amber and all-red (no skipped clearance);
- no movement with vehicles waiting is starved longer than the maximum cycle.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metaliverpool.control.evaluate import SignalCase, run_controller
from metaliverpool.control.registry import CONTROLLER_NAMES
from metaliverpool.sim.control_api import KEEP_PHASE, SignalSafetyConfig
from metaliverpool.sim.demand import make_demand
from metaliverpool.sim.network import build_sim_network
from metaliverpool.sim.routing import route_free_flow
from metaliverpool.sim.signals import SignalSpec, build_signal_plan

SAFETY = SignalSafetyConfig(min_green_s=5.0, max_green_s=90.0, amber_s=3.0, all_red_s=2.0)
MAX_CYCLE_S = 180.0
"""Longest a waiting movement may go without green (all controllers' plans and guards fit inside)."""


def crossroads_case(rates_vph: list[float], seed: int, horizon_s: float = 900.0) -> SignalCase:
    """A four-arm crossroads (node 0) with 200 m approaches; phase 0 north-south, phase 1 east-west."""
    arm_xy = [(0.0, 200.0), (200.0, 0.0), (0.0, -200.0), (-200.0, 0.0)]
    node_x = [0.0] + [x for x, _ in arm_xy] + [1.1 * x for x, _ in arm_xy]
    node_y = [0.0] + [y for _, y in arm_xy] + [1.1 * y for _, y in arm_xy]
    from_node = [1, 2, 3, 4, 0, 0, 0, 0]
    to_node = [0, 0, 0, 0, 5, 6, 7, 8]
    network = build_sim_network(
        node_count=9, link_from_node=from_node, link_to_node=to_node, link_length_m=[200.0] * 8,
        link_free_speed_mps=[13.9] * 8, link_capacity_vph=[1800.0] * 8, node_x=node_x, node_y=node_y,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    origins, destinations, departures = [], [], []
    for arm, rate in enumerate(rates_vph):
        count = rng.poisson(rate * horizon_s / 3600.0 * 0.8)
        origins += [arm + 1] * count
        destinations += list(5 + (arm + rng.integers(1, 4, count)) % 4)
        departures += list(rng.uniform(0.0, horizon_s * 0.8, count))
    demand = make_demand(
        np.array(origins, dtype=np.int32), np.array(destinations, dtype=np.int32), departures
    )
    routes, _ = route_free_flow(network, demand)
    phases = tuple(tuple((a, o) for a in arms for o in range(4, 8)) for arms in ((0, 2), (1, 3)))
    plan = build_signal_plan(network, [SignalSpec(0, phases, (20.0, 20.0), (3.0, 3.0), (2.0, 2.0))])
    return SignalCase("crossroads", network, plan, demand, routes, horizon_s)


@given(
    rates=st.lists(st.floats(50.0, 700.0), min_size=4, max_size=4),
    seed=st.integers(0, 1000),
    name=st.sampled_from(CONTROLLER_NAMES),
)
@settings(max_examples=25, deadline=None)
def test_controllers_respect_minimum_green_clearance_and_maximum_cycle(
    rates: list[float], seed: int, name: str
) -> None:
    case = crossroads_case(rates, seed)
    _, trace = run_controller(case, name, case.demand, case.routes, SAFETY)
    times = np.array(trace.time_s)
    phase = np.array([p[0] for p in trace.phase_index])
    changing = np.array([t[0] for t in trace.in_transition])
    elapsed = np.array([e[0] for e in trace.phase_elapsed_s])
    requested = np.array([r[0] for r in trace.requested])
    step = float(np.min(np.diff(times)))

    asked_change = ~changing & (requested != KEEP_PHASE) & (requested != phase)
    assert np.all(elapsed[asked_change] >= SAFETY.min_green_s - 1e-9), "change asked before minimum green"

    # Green spells (same phase, not changing) and the clearance between consecutive spells.
    green_rows = np.flatnonzero(~changing)
    spells: list[tuple[int, float, float]] = []
    for row in green_rows:
        if spells and spells[-1][0] == phase[row] and row - 1 in green_rows and not changing[row - 1]:
            spells[-1] = (spells[-1][0], spells[-1][1], times[row])
        else:
            spells.append((int(phase[row]), times[row] - elapsed[row], times[row]))
    for (p_a, start_a, end_a), (p_b, start_b, _) in itertools.pairwise(spells):
        if p_a == p_b:
            continue
        assert end_a - start_a >= SAFETY.min_green_s - step - 1e-9, "green shorter than the minimum"
        clearance = start_b - end_a
        assert clearance >= SAFETY.amber_s + SAFETY.all_red_s - step - 1e-9, "amber/all-red skipped"

    # Starvation: a movement waiting at the stop line always gets green within the maximum cycle.
    queues = np.array(trace.movement_queue_veh)
    masks = np.array(
        [case.plan.turn_phase_mask[case.network.turn_index(a, o)] for a in range(4) for o in range(4, 8)]
    )
    served = (((masks[None, :] >> phase[:, None]) & 1) == 1) & ~changing[:, None]
    for movement in range(queues.shape[1]):
        waiting_since = None
        for k in range(times.size):
            if served[k, movement] or queues[k, movement] <= 0:
                waiting_since = None
                continue
            waiting_since = times[k] if waiting_since is None else waiting_since
            assert times[k] - waiting_since <= MAX_CYCLE_S, f"movement {movement} starved"
