"""The twin's baseline simulation that the live state and the signal loop start from.

One simulation of the twin's demand on routes by incremental loading, every signalised junction on its
Webster plan from those routes' turn flows (the plans the scenario engine gives a twin with no signal
edit). It gives each car link its simulated speed (length over mean traversal time, free flow where no
vehicle left it), which :mod:`metaliverpool.predict.live_state` fills the links no detector sees from,
and the network, plan, demand and routes the signal loop simulates its counterfactuals on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metaliverpool.network.twin import Twin
from metaliverpool.predict.live_state import StateEstimator
from metaliverpool.sim.demand import Demand, Routes
from metaliverpool.sim.engine import SimConfig, simulate
from metaliverpool.sim.network import SimNetwork
from metaliverpool.sim.routing import route_incremental
from metaliverpool.sim.signals import SignalPlan, empty_signal_plan, turn_flows_vph, webster_signal_plan
from metaliverpool.sim.twin_network import demand_from_twin, signal_nodes, sim_network_from_twin

METRES_PER_DEGREE = 111_320.0
"""Metres per degree of latitude (the simulator's node x/y are degrees, x scaled by cos(latitude))."""

AFTER_PERIOD_S = 1800.0
"""The baseline runs this long after the last departure."""


@dataclass(frozen=True)
class BaselineCase:
    """The twin's network, plan, demand and routes, and each sim link's simulated speed (m/s)."""

    network: SimNetwork
    plan: SignalPlan
    demand: Demand
    routes: Routes
    simulated_speed_mps: npt.NDArray[np.float64]


def baseline_case(twin: Twin) -> BaselineCase:
    """Simulate the twin's baseline (module docstring)."""
    network = sim_network_from_twin(twin)
    demand = demand_from_twin(twin)
    routes = route_incremental(network, demand)
    last_s = float(demand.departure_time_s.max(initial=0.0))
    nodes = signal_nodes(twin, network)
    plan = (
        webster_signal_plan(network, nodes, turn_flows_vph(network, routes, max(last_s, 3600.0)))
        if nodes
        else empty_signal_plan(network)
    )
    result = simulate(network, plan, demand, routes, SimConfig(horizon_s=last_s + AFTER_PERIOD_S))
    _, mean_time_s = result.link_traversal_totals()
    speed = network.link_length_m / np.maximum(mean_time_s, 1e-9)
    return BaselineCase(network, plan, demand, routes, np.minimum(speed, network.link_free_speed_mps))


def state_estimator(case: BaselineCase) -> StateEstimator:
    """A state estimator over the case's links (their middles as x/y in metres)."""
    network = case.network
    a, b = network.link_from_node, network.link_to_node
    return StateEstimator(
        link_id=network.link_external_id.astype(np.int64),
        x_m=(network.node_x[a] + network.node_x[b]) / 2.0 * METRES_PER_DEGREE,
        y_m=(network.node_y[a] + network.node_y[b]) / 2.0 * METRES_PER_DEGREE,
        simulated_speed_mps=case.simulated_speed_mps,
        free_speed_mps=network.link_free_speed_mps.astype(np.float64),
    )
