"""The dynamic engine for scenario runs: the mesoscopic simulator with iterative dynamic assignment.

Composition of :mod:`metaliverpool.sim` parts, in the order ``metaliverpool simulate --twin`` uses them:
the twin's car network and junction priority (:func:`~metaliverpool.sim.twin_network.sim_network_from_twin`),
its trips as vehicles, Webster plans at the signalised junctions, then ``run_dta`` with the run's seed.

Signals and scenarios: a scenario must not silently re-optimise every signal (that would mix the effect of
the policy with a city-wide retiming). So the Webster plans of *both* runs are computed from the
*baseline's* turn flows under incremental loading, matched turn by turn through ``base_link_id``; only
junctions that a ``signal_plan`` edit marks ``plan_optimise`` are timed on the scenario's own flows, and
junctions with a new ``plan_cycle_s`` / ``plan_green_splits`` / ``plan_offset_s`` get those timings (greens
rescaled to the new cycle in their Webster proportions unless splits are given).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from metaliverpool.control.closed_loop import ClosedLoopController, risk_forecast_scores
from metaliverpool.edits.schema import RunSettings
from metaliverpool.errors import InputError
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.engines import RunOutputs, _link_frame, period_hours
from metaliverpool.sim.dta import DtaConfig, run_dta
from metaliverpool.sim.engine import SimConfig
from metaliverpool.sim.network import SimNetwork
from metaliverpool.sim.routing import route_incremental
from metaliverpool.sim.signals import SignalPlan, empty_signal_plan, turn_flows_vph, webster_signal_plan
from metaliverpool.sim.twin_network import demand_from_twin, signal_nodes, sim_network_from_twin

AFTER_PERIOD_S = 3600.0
"""Simulated time after the last departure, so trips in progress can finish."""


def _turn_keys(network: SimNetwork, base_of_link: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """(base in-link, base out-link) of every turn of ``network``, in turn order."""
    keys: list[tuple[int, int]] = [(-1, -1)] * network.turn_count
    for link in range(network.link_count):
        node = int(network.link_to_node[link])
        start, end = int(network.node_out_indptr[node]), int(network.node_out_indptr[node + 1])
        offset = int(network.link_turn_offset[link])
        for k, out in enumerate(network.node_out_links[start:end]):
            keys[offset + k] = (int(base_of_link[link]), int(base_of_link[int(out)]))
    return keys


def _base_ids(twin: Twin, network: SimNetwork) -> npt.NDArray[np.int64]:
    links = twin.links.set_index("link_id")
    column = "base_link_id" if "base_link_id" in links.columns else None
    ids = network.link_external_id
    if column is None:
        return np.asarray(ids, dtype=np.int64)
    return links[column].reindex(ids).to_numpy(dtype=np.int64)


def baseline_turn_flows(base_twin: Twin) -> dict[tuple[int, int], float]:
    """Turn flows (veh/h) of the baseline under incremental loading, keyed by (base in-link, out-link)."""
    network = sim_network_from_twin(base_twin)
    demand = demand_from_twin(base_twin)
    routes = route_incremental(network, demand)
    flows = turn_flows_vph(network, routes, max(period_hours(base_twin.trips) * 3600.0, 1.0))
    keys = _turn_keys(network, _base_ids(base_twin, network))
    return {key: float(flow) for key, flow in zip(keys, flows, strict=True) if flow > 0}


def _plan_columns(twin: Twin) -> pd.DataFrame:
    junctions = twin.junctions
    if "plan_cycle_s" not in junctions.columns:
        return junctions.iloc[0:0]
    edited = junctions["plan_optimise"].astype(bool) | junctions["plan_cycle_s"].notna()
    return junctions[edited.to_numpy()]


def signal_plan_for(twin: Twin, network: SimNetwork, base_flows: dict[tuple[int, int], float]) -> SignalPlan:
    """Webster plans from baseline flows, with the twin's ``signal_plan`` edits applied (module docstring)."""
    nodes = signal_nodes(twin, network)
    if not nodes:
        return empty_signal_plan(network)
    keys = _turn_keys(network, _base_ids(twin, network))
    flows = np.array([base_flows.get(key, 0.0) for key in keys], dtype=np.float64)
    edited = _plan_columns(twin)
    if edited.empty:
        return webster_signal_plan(network, nodes, flows)
    optimise_rows = edited[edited["plan_optimise"].astype(bool).to_numpy()].to_dict("records")
    optimise_nodes = {int(n) for row in optimise_rows for n in row["node_ids"]}
    if optimise_nodes:
        own_routes = route_incremental(network, demand_from_twin(twin))
        own = turn_flows_vph(network, own_routes, max(period_hours(twin.trips) * 3600.0, 1.0))
        for link in range(network.link_count):
            if int(network.link_to_node[link]) in optimise_nodes:
                node = int(network.link_to_node[link])
                count = int(network.node_out_indptr[node + 1] - network.node_out_indptr[node])
                offset = int(network.link_turn_offset[link])
                flows[offset : offset + count] = own[offset : offset + count]
    plan = webster_signal_plan(network, nodes, flows)
    return _retime(plan, edited)


def _retime(plan: SignalPlan, edited: pd.DataFrame) -> SignalPlan:
    """Apply explicit cycle / splits / offset edits to the signals at the edited junctions' nodes."""
    timed = edited[edited["plan_cycle_s"].notna().to_numpy()]
    if timed.empty:
        return plan
    green = plan.phase_green_s.copy()
    offset = plan.signal_offset_s.copy()
    signal_of_node = {int(node): s for s, node in enumerate(plan.signal_node)}
    for row in timed.to_dict("records"):
        cycle_s = float(row["plan_cycle_s"])
        offset_s = float(row["plan_offset_s"])
        splits = [float(v) for v in row["plan_green_splits"]] if row["plan_green_splits"] is not None else []
        for node in row["node_ids"]:
            s = signal_of_node.get(int(node))
            if s is None:
                continue
            first, last = int(plan.phase_indptr[s]), int(plan.phase_indptr[s + 1])
            lost = float(np.sum(plan.phase_amber_s[first:last] + plan.phase_all_red_s[first:last]))
            effective = max(cycle_s - lost, 7.0 * (last - first))
            if splits:
                if len(splits) != last - first:
                    raise InputError(
                        "scenario",
                        f"junction {row['junction_id']} has {last - first} phases; "
                        f"green_splits gives {len(splits)}",
                        where="signal_plan edit, field 'green_splits'",
                    )
                green[first:last] = np.asarray(splits, dtype=np.float64) * effective
            else:
                current = green[first:last]
                green[first:last] = current * effective / max(float(current.sum()), 1e-9)
            if not math.isnan(offset_s):
                offset[s] = offset_s
    return dataclasses.replace(plan, phase_green_s=green, signal_offset_s=offset)


def ai_loop_factory(
    twin: Twin,
    network: SimNetwork,
    plan: SignalPlan,
    base_flows: dict[tuple[int, int], float],
    made: list[ClosedLoopController],
) -> Callable[[], ClosedLoopController] | None:
    """A maker of the AI loop's controller when the twin has ``ai_signal_control`` junctions (else None);
    every controller made is appended to ``made`` (the last one ran the final simulation)."""
    junctions = twin.junctions
    if "ai_horizon_s" not in junctions.columns or plan.signal_count == 0:
        return None
    covered = junctions[junctions["ai_horizon_s"].notna().to_numpy()]
    if covered.empty:
        return None
    eligible_nodes = {int(n) for ids in covered[covered["ai_control"].astype(bool)]["node_ids"] for n in ids}
    eligible = np.array([int(node) in eligible_nodes for node in plan.signal_node], dtype=np.bool_)
    keys = _turn_keys(network, _base_ids(twin, network))
    flows = np.array([base_flows.get(key, 0.0) for key in keys], dtype=np.float64)
    first = covered.iloc[0]
    profile = _risk_profile(twin, plan)

    def make() -> ClosedLoopController:
        controller = ClosedLoopController(
            network,
            flows,
            eligible=eligible,
            horizon_s=float(first["ai_horizon_s"]),
            risk_threshold=float(first["ai_risk_threshold"]),
            sample_interval_s=float(first["ai_sample_interval_s"]),
            forecast=str(first.get("ai_forecast") or "trend"),
            risk_profile=profile,
        )
        made.append(controller)
        return controller

    return make


def _risk_profile(twin: Twin, plan: SignalPlan) -> np.ndarray | None:
    """The junctions' risk history (``ai_risk_profile`` lists, see ``scenario.risk_profile``) as an array
    (sample slots, plan signals), NaN where a signal has none; None when the twin carries none."""
    junctions = twin.junctions
    if "ai_risk_profile" not in junctions.columns:
        return None
    lists = dict(zip(junctions["junction_id"].tolist(), junctions["ai_risk_profile"].tolist(), strict=True))
    junction_of_node = twin.nodes.set_index("node_id")["junction_id"]
    rows = [lists.get(int(junction_of_node.get(int(node), -1))) for node in plan.signal_node]
    slots = max((len(r) for r in rows if r is not None and len(r)), default=0)
    if slots == 0:
        return None
    profile = np.full((slots, plan.signal_count), np.nan)
    for signal, values in enumerate(rows):
        if values is not None and len(values):
            profile[: len(values), signal] = values
    return profile


def _ai_loop_summary(twin: Twin, plan: SignalPlan, loop: ClosedLoopController) -> dict[str, Any]:
    """What the AI loop did in the final simulation: junctions eligible and flagged (when, risk, forecast)."""
    nodes = twin.nodes.set_index("node_id")["osm_node_id"]
    eligible = loop.eligible if loop.eligible is not None else np.ones(plan.signal_count, dtype=np.bool_)
    steps = round(loop.horizon_s / loop.sample_interval_s)
    return {
        "eligible_signals": int(np.sum(eligible)),
        "horizon_s": loop.horizon_s,
        "risk_threshold": loop.risk_threshold,
        "forecast": loop.forecast,
        "risk_forecast": risk_forecast_scores(
            loop.risk_samples, loop.forecast_samples, steps, loop.risk_threshold
        ),
        "flagged": [
            {
                "time_s": event.time_s,
                "osm_node_id": int(nodes.get(int(plan.signal_node[event.junction]), -1)),
                "risk": round(event.risk, 3),
                "forecast": round(event.forecast, 3),
            }
            for event in loop.flag_log
        ],
    }


def run_dynamic(
    twin: Twin,
    settings: RunSettings,
    seed: int,
    base_flows: dict[tuple[int, int], float] | None = None,
    loops: list[ClosedLoopController] | None = None,
) -> RunOutputs:
    """Simulate ``twin`` (see the module docstring); ``base_flows`` default to the twin's own. The AI
    loop's controllers, one per simulation, are appended to ``loops`` when given."""
    started = time.perf_counter()
    network = sim_network_from_twin(twin)
    demand = demand_from_twin(twin)
    flows = base_flows if base_flows is not None else baseline_turn_flows(twin)
    plan = signal_plan_for(twin, network, flows)
    loops = [] if loops is None else loops
    loop_factory = ai_loop_factory(twin, network, plan, flows, loops)
    last_departure = float(demand.departure_time_s.max()) if demand.vehicle_count else 0.0
    config = SimConfig(
        horizon_s=last_departure + AFTER_PERIOD_S, gridlock_timeout_s=settings.gridlock_timeout_s
    )
    dta = run_dta(
        network,
        plan,
        demand,
        config,
        DtaConfig(
            iterations=settings.dta_iterations,
            seed=seed,
            value_of_time_gbp_per_h=settings.value_of_time_gbp_per_h,
        ),
        controller_factory=loop_factory,
    )
    result = dta.result
    loads = _link_frame(twin)
    sim_rows = pd.Series(np.arange(network.link_count), index=network.link_external_id)
    rows = sim_rows.reindex(loads["link_id"].to_numpy()).to_numpy()
    exits, mean_time = result.link_traversal_totals()
    queue = result.series_queue.mean(axis=0) if result.series_queue.shape[0] else np.zeros(network.link_count)
    present = np.isfinite(rows)
    index = rows[present].astype(np.int64)
    flow_veh = np.zeros(len(loads))
    time_s = loads["free_time_s"].to_numpy(copy=True)
    queue_veh = np.zeros(len(loads))
    flow_veh[present] = exits[index]
    time_s[present] = mean_time[index]
    queue_veh[present] = queue[index]
    loads["flow_veh"] = flow_veh
    loads["time_s"] = time_s
    loads["queue_veh"] = queue_veh
    trips = twin.trips.set_index("trip_id")
    completed = result.completed
    travel = np.where(completed, result.veh_arrive_s - result.demand.departure_time_s, np.nan)
    trip_ids = result.demand.trip_id
    trip_times = pd.DataFrame(
        {
            "origin_zone_id": trips["origin_zone_id"].reindex(trip_ids).to_numpy(dtype=np.int64),
            "destination_zone_id": trips["destination_zone_id"].reindex(trip_ids).to_numpy(dtype=np.int64),
            "travel_time_s": travel,
        }
    )
    gaps = [float(it.relative_gap) for it in dta.iterations] if dta.iterations else []
    summary: dict[str, Any] = {
        "engine": "dynamic",
        "seed": seed,
        "dta_iterations": len(dta.iterations),
        "relative_gaps": gaps,
        **{k: v for k, v in result.summary().items() if k != "seconds"},
        "signals": int(plan.signal_count),
        **({"ai_loop": _ai_loop_summary(twin, plan, loops[-1])} if loops else {}),
        "journey_measure": "travel time (s), arrived trips",
        "seconds": time.perf_counter() - started,
    }
    series = np.zeros((len(result.series_start_s), len(loads)))
    series[:, present] = result.series_inflow[:, index]
    return RunOutputs(loads, trip_times, summary, (result.series_start_s.copy(), series))
