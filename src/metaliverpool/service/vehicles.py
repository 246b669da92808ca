"""Vehicles to animate on the web map: one simulation of a run's scenario, recorded link by link.

The scenario's twin is simulated once with the mesoscopic simulator (:func:`metaliverpool.sim.dta.run_dta`
with the run's DTA iterations and first seed, Webster signals from baseline flows, exactly as the dynamic
engine of :mod:`metaliverpool.scenario.dynamic` does) with link-entry events recorded. Up to
:data:`MAX_VEHICLES` vehicles that departed are drawn at random (seeded) and each becomes a path through
its links' geometries, with a time (seconds after 07:00) at every vertex, interpolated along each link
between its entry time and the next link's (or the arrival). Encoded as ``MLL1`` (``vehicles`` layer):
``positions`` (float32 lon, lat), ``timestamps_s`` (float32, one per vertex), ``path_start`` (uint32),
per vehicle ``delay_ratio`` (travel time over free-flow time of its links; NaN if it did not arrive) and
``arrived`` (uint8).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from metaliverpool.edits.schema import Scenario
from metaliverpool.network.twin import Twin
from metaliverpool.service.layers import encode_columns

MAX_VEHICLES = 1500
EVENT_DEPART, EVENT_ENTER_LINK, EVENT_ARRIVE = 0, 1, 2


def simulate_vehicles(
    scenario: Scenario,
    twin: Twin,
    seed: int,
    max_vehicles: int = MAX_VEHICLES,
    cache_dir: Path | None = None,
) -> bytes:
    """The ``vehicles`` layer of one recorded simulation of ``scenario`` on ``twin`` (the baseline turn
    flows of its signal plans from the run cache in ``cache_dir`` when there)."""
    from metaliverpool.scenario.cache import RunCache, twin_digest
    from metaliverpool.scenario.dynamic import (
        AFTER_PERIOD_S,
        ai_loop_factory,
        baseline_turn_flows,
        signal_plan_for,
    )
    from metaliverpool.scenario.pipeline import cached_turn_flows, prepare_twins
    from metaliverpool.sim.dta import DtaConfig, run_dta
    from metaliverpool.sim.engine import EventBatch, SimConfig, concat_events
    from metaliverpool.sim.twin_network import demand_from_twin, sim_network_from_twin

    twins = prepare_twins(scenario, twin, skip_refused=True)
    base, edited = twins.base, twins.scenario
    network = sim_network_from_twin(edited)
    demand = demand_from_twin(edited)
    flows = (
        baseline_turn_flows(base)
        if cache_dir is None
        else cached_turn_flows(base, twin_digest(base), RunCache(cache_dir))
    )
    plan = signal_plan_for(edited, network, flows)
    last_departure_s = float(demand.departure_time_s.max()) if demand.vehicle_count else 0.0
    config = SimConfig(
        horizon_s=last_departure_s + AFTER_PERIOD_S,
        record_link_events=True,
        gridlock_timeout_s=scenario.run.gridlock_timeout_s,
    )
    batches: list[EventBatch] = []
    run_dta(
        network,
        plan,
        demand,
        config,
        DtaConfig(
            iterations=scenario.run.dta_iterations,
            seed=seed,
            value_of_time_gbp_per_h=scenario.run.value_of_time_gbp_per_h,
        ),
        controller_factory=ai_loop_factory(edited, network, plan, flows, []),
        on_events=batches.append,
    )
    events = concat_events(batches)
    geometry = dict(zip(edited.links["link_id"].to_numpy().tolist(), edited.links["geometry"], strict=True))
    link_geometry = [geometry.get(int(external)) for external in network.link_external_id]
    return encode_vehicles(
        events.time_s,
        events.kind,
        events.vehicle,
        events.link,
        link_geometry,
        np.asarray(network.link_free_time_s, dtype=np.float64),
        seed,
        max_vehicles,
    )


def encode_vehicles(
    time_s: np.ndarray,
    kind: np.ndarray,
    vehicle: np.ndarray,
    link: np.ndarray,
    link_geometry: list[shapely.LineString | None],
    link_free_time_s: np.ndarray,
    seed: int,
    max_vehicles: int = MAX_VEHICLES,
) -> bytes:
    """Vehicle paths with per-vertex times from columnar simulator events (see the module docstring)."""
    moves = np.flatnonzero((kind == EVENT_DEPART) | (kind == EVENT_ENTER_LINK))
    departed = np.unique(vehicle[kind == EVENT_DEPART])
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(departed, size=min(max_vehicles, len(departed)), replace=False))
    arrive_s = np.full(int(vehicle.max(initial=-1)) + 1, np.nan)
    arrivals = np.flatnonzero(kind == EVENT_ARRIVE)
    arrive_s[vehicle[arrivals]] = time_s[arrivals]
    order = moves[np.lexsort((time_s[moves], vehicle[moves]))]
    starts = np.searchsorted(vehicle[order], chosen, side="left")
    ends = np.searchsorted(vehicle[order], chosen, side="right")
    positions: list[np.ndarray] = []
    stamps: list[np.ndarray] = []
    path_start = [0]
    delay_ratio = np.full(len(chosen), np.nan, dtype=np.float32)
    arrived = np.zeros(len(chosen), dtype=np.uint8)
    count = 0
    for row, (begin, end) in enumerate(zip(starts, ends, strict=True)):
        steps = order[begin:end]
        links = link[steps]
        enter = time_s[steps]
        finish = arrive_s[chosen[row]]
        free = float(link_free_time_s[links].sum())
        if np.isfinite(finish):
            arrived[row] = 1
            delay_ratio[row] = (finish - enter[0]) / free if free > 0 else np.nan
        leave = np.append(
            enter[1:], finish if np.isfinite(finish) else enter[-1] + link_free_time_s[links[-1]]
        )
        for step, link_row in enumerate(links):
            line = link_geometry[int(link_row)]
            if line is None:
                continue
            coords = np.asarray(line.coords)[:, :2]
            along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))])
            share = along / along[-1] if along[-1] > 0 else np.linspace(0.0, 1.0, len(coords))
            positions.append(coords)
            stamps.append(enter[step] + share * (leave[step] - enter[step]))
            count += len(coords)
        path_start.append(count)
    columns = {
        "positions": (np.concatenate(positions) if positions else np.zeros((0, 2)))
        .astype(np.float32)
        .ravel(),
        "timestamps_s": (np.concatenate(stamps) if stamps else np.zeros(0)).astype(np.float32),
        "path_start": np.asarray(path_start, dtype=np.uint32),
        "delay_ratio": delay_ratio,
        "arrived": arrived,
    }
    return encode_columns("vehicles", len(chosen), columns, {})
