"""Run the mesoscopic simulator: vehicles with routes through a :class:`SimNetwork` with signals.

:func:`simulate` allocates the struct-of-arrays state, advances the numba kernel
(:mod:`metaliverpool.kernels.sim_ltm`) in chunks, takes per-link snapshots every
``series_interval_s``, calls an optional :class:`~metaliverpool.sim.control_api.SignalController` every
``decision_interval_s`` (the simulator enforces min/max green, amber and all-red) and hands each chunk's
columnar events to ``on_events`` subscribers (recorders, metrics, the live map; ``sim`` never imports
them).

Travel time totals count every vehicle that departed: arrived vehicles from departure to arrival,
vehicles still travelling at the end from departure to the end (as CityFlow's average travel time).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from metaliverpool.kernels.sim_ltm import advance_ltm, count_turn_vehicles, snapshot_links
from metaliverpool.sim.control_api import (
    KEEP_PHASE,
    SignalController,
    SignalObservation,
    SignalSafetyConfig,
)
from metaliverpool.sim.demand import Demand, Routes
from metaliverpool.sim.network import SimNetwork
from metaliverpool.sim.signals import SignalPlan, apply_signal_plan, initial_signal_state

FloatArray = npt.NDArray[np.float64]

EVENT_KINDS = ("depart", "enter_link", "arrive", "gridlock_intervention")
"""Event kind names by code (see :mod:`metaliverpool.kernels.sim_ltm`)."""


@dataclass(frozen=True)
class SimConfig:
    """Simulation settings (seconds)."""

    dt_s: float = 1.0
    horizon_s: float = 6 * 3600.0
    stop_when_done: bool = True
    series_interval_s: float = 300.0
    tt_bin_s: float = 300.0
    gridlock_timeout_s: float = 0.0
    record_link_events: bool = False
    keep_events: bool = False
    safety: SignalSafetyConfig = field(default_factory=SignalSafetyConfig)


@dataclass(frozen=True, eq=False)
class EventBatch:
    """Columnar events of one chunk: time (s), kind code, vehicle row, link, value."""

    time_s: FloatArray
    kind: npt.NDArray[np.int8]
    vehicle: npt.NDArray[np.int32]
    link: npt.NDArray[np.int32]
    value: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """As a DataFrame with the kind as a category of :data:`EVENT_KINDS`."""
        return pd.DataFrame(
            {
                "time_s": self.time_s,
                "kind": pd.Categorical.from_codes(
                    self.kind.astype(np.int64), categories=pd.Index(list(EVENT_KINDS))
                ),
                "vehicle": self.vehicle,
                "link": self.link,
                "value": self.value,
            }
        )


def concat_events(batches: list[EventBatch]) -> EventBatch:
    """One batch of all events in order."""
    if not batches:
        return EventBatch(
            np.zeros(0), np.zeros(0, np.int8), np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
        )
    return EventBatch(
        np.concatenate([b.time_s for b in batches]),
        np.concatenate([b.kind for b in batches]),
        np.concatenate([b.vehicle for b in batches]),
        np.concatenate([b.link for b in batches]),
        np.concatenate([b.value for b in batches]),
    )


@dataclass(eq=False)
class SimResult:
    """What a run produced (arrays indexed by vehicle row, link, series interval or time bin)."""

    network: SimNetwork
    plan: SignalPlan
    demand: Demand
    routes: Routes
    config: SimConfig
    veh_enter_s: FloatArray
    veh_arrive_s: FloatArray
    veh_free_time_s: FloatArray
    series_start_s: FloatArray
    series_inflow: npt.NDArray[np.int64]
    series_outflow: npt.NDArray[np.int64]
    series_exit_time_s: FloatArray
    series_occupancy: npt.NDArray[np.int64]
    series_queue: npt.NDArray[np.int64]
    tt_sum_s: FloatArray
    tt_count: npt.NDArray[np.int64]
    gridlock_interventions: int
    end_time_s: float
    wall_s: float
    events: EventBatch | None = None

    @property
    def completed(self) -> npt.NDArray[np.bool_]:
        """Vehicles that arrived."""
        return np.isfinite(self.veh_arrive_s)

    @property
    def departed(self) -> npt.NDArray[np.bool_]:
        """Vehicles whose departure time passed before the end (entered or still waiting to enter)."""
        return self.demand.departure_time_s < self.end_time_s

    def travel_time_s(self) -> FloatArray:
        """Per vehicle: arrival − departure, or end − departure if unfinished (0 if not yet departed)."""
        end = np.where(self.completed, self.veh_arrive_s, self.end_time_s)
        return np.where(self.departed, end - self.demand.departure_time_s, 0.0)

    def link_travel_time_table(self, previous: FloatArray | None = None) -> FloatArray:
        """Experienced mean link travel time per entry bin (s); empty bins fall back to free flow, or to the
        previous bin's value while vehicles queued on the link (see :mod:`metaliverpool.sim.dta`)."""
        free = self.network.link_free_time_s
        table = np.where(self.tt_count > 0, self.tt_sum_s / np.maximum(self.tt_count, 1), np.nan)
        for b in range(table.shape[0]):
            row = table[b]
            missing = np.isnan(row)
            if b > 0:
                queued = self._queued_at(b * self.config.tt_bin_s)
                carry = missing & queued
                row[carry] = table[b - 1][carry]
                missing = np.isnan(row)
            row[missing] = free[missing]
        return np.maximum(table, free[None, :])

    def _queued_at(self, time_s: float) -> npt.NDArray[np.bool_]:
        k = int(np.searchsorted(self.series_start_s, time_s, side="right")) - 1
        if k < 0 or k >= self.series_queue.shape[0]:
            return np.zeros(self.network.link_count, dtype=bool)
        return self.series_queue[k] > 0

    def vehicle_km(self) -> float:
        """Kilometres driven on completed links plus the links of completed trips (approx.: full routes of
        completed vehicles and completed links of others)."""
        path_km = self.routes.path_sums(self.network.link_length_m) / 1000.0
        return float(np.sum(path_km[self.routes.veh_path][self.completed]))

    def link_traversal_totals(self) -> tuple[FloatArray, FloatArray]:
        """Per link: vehicles that left it during the run and their mean traversal time (s; free-flow time
        where none left). Vehicle-km and vehicle-hours of these traversals are the dynamic engine's
        network totals (``metrics.network.network_totals``), as the static engine's are those of every
        trip of the demand period."""
        exits = self.series_outflow.sum(axis=0).astype(np.float64)
        exit_time = self.series_exit_time_s.sum(axis=0)
        free = self.network.link_free_time_s
        mean = np.where(exits > 0, exit_time / np.maximum(exits, 1.0), free)
        return exits, np.maximum(mean, free)

    def summary(self) -> dict[str, float | int]:
        """The run summary printed by the CLI."""
        tt = self.travel_time_s()
        departed = int(np.sum(self.departed))
        return {
            "vehicles": int(self.demand.vehicle_count),
            "completed": int(np.sum(self.completed)),
            "total_travel_time_s": float(np.sum(tt)),
            "mean_travel_time_s": float(np.sum(tt) / departed) if departed else 0.0,
            "vehicle_km": self.vehicle_km(),
            "gridlock_interventions": int(self.gridlock_interventions),
            "seconds": float(self.wall_s),
        }

    def trips_table(self) -> pd.DataFrame:
        """Per vehicle: ids, departure, entry, arrival, travel time, delay (s) and route (link ids)."""
        tt = self.travel_time_s()
        ext = self.network.link_external_id
        routes = [ext[self.routes.links_of(p)].tolist() for p in range(self.routes.path_count)]
        return pd.DataFrame(
            {
                "trip_id": self.demand.trip_id,
                "origin_node": self.demand.origin_node,
                "destination_node": self.demand.destination_node,
                "departure_time_s": self.demand.departure_time_s,
                "entry_time_s": self.veh_enter_s,
                "arrival_time_s": self.veh_arrive_s,
                "completed": self.completed,
                "travel_time_s": tt,
                "free_flow_time_s": self.veh_free_time_s,
                "delay_s": np.where(self.completed, tt - self.veh_free_time_s, np.nan),
                "path": self.routes.veh_path,
                "route_link_ids": pd.Series([routes[p] for p in self.routes.veh_path], dtype=object),
            }
        )

    def link_series_table(self) -> pd.DataFrame:
        """Per (interval, link): inflow, outflow (veh), mean speed (m/s, of vehicles leaving), density
        (veh/km, at the interval end) and queue (vehicles at the stop line, at the interval end)."""
        intervals, links = self.series_inflow.shape
        length = self.network.link_length_m
        exits = self.series_outflow
        speed = np.where(
            exits > 0, exits * length[None, :] / np.maximum(self.series_exit_time_s, 1e-9), np.nan
        )
        return pd.DataFrame(
            {
                "interval_start_s": np.repeat(self.series_start_s, links),
                "link": np.tile(np.arange(links, dtype=np.int32), intervals),
                "link_id": np.tile(self.network.link_external_id, intervals),
                "inflow_veh": self.series_inflow.reshape(-1),
                "outflow_veh": exits.reshape(-1),
                "mean_speed_mps": speed.reshape(-1),
                "density_vpkm": (self.series_occupancy / (length[None, :] / 1000.0)).reshape(-1),
                "queue_veh": self.series_queue.reshape(-1),
            }
        )


def _orig_index(network: SimNetwork, demand: Demand, routes: Routes) -> tuple[np.ndarray, np.ndarray]:
    first_link = np.full(demand.vehicle_count, -1, dtype=np.int64)
    has_path = routes.path_length[routes.veh_path] > 0
    first_link[has_path] = routes.path_links[routes.path_offset[routes.veh_path[has_path]]]
    routed = np.flatnonzero(first_link >= 0)
    order = routed[np.lexsort((routed, demand.departure_time_s[routed], first_link[routed]))]
    indptr = np.zeros(network.link_count + 1, dtype=np.int64)
    np.cumsum(np.bincount(first_link[routed], minlength=network.link_count), out=indptr[1:])
    return indptr, order.astype(np.int32)


def simulate(
    network: SimNetwork,
    plan: SignalPlan,
    demand: Demand,
    routes: Routes,
    config: SimConfig | None = None,
    *,
    veh_free_time_s: FloatArray | None = None,
    controller: SignalController | None = None,
    on_events: Callable[[EventBatch], None] | None = None,
) -> SimResult:
    """Simulate ``demand`` on ``routes`` (vehicles with empty routes never enter and never arrive)."""
    cfg = config or SimConfig()
    started = time.perf_counter()
    net = apply_signal_plan(network, plan)
    links = net.link_count
    vehicles = demand.vehicle_count
    dt = float(cfg.dt_s)
    storage = net.effective_storage_veh(dt)
    ring_size = 2 * storage + 2
    ring_offset = np.zeros(links, dtype=np.int64)
    if links:
        ring_offset[1:] = np.cumsum(ring_size)[:-1]
    ring_vehicle = np.zeros(int(ring_size.sum()), dtype=np.int32)
    ring_exit_s = np.full(int(ring_size.sum()), -np.inf)
    free_time = np.ascontiguousarray(net.link_free_time_s)
    headway = np.ascontiguousarray(net.link_headway_s)
    wave_time = np.ascontiguousarray(net.link_wave_time_s)
    orig_indptr, orig_vehicles = _orig_index(net, demand, routes)
    state = initial_signal_state(plan, 0.0)
    adaptive = np.full(plan.signal_count, controller is not None, dtype=np.bool_)
    max_green = np.full(plan.signal_count, cfg.safety.max_green_s)
    phase_amber = plan.phase_amber_s.copy()
    phase_all_red = plan.phase_all_red_s.copy()
    if controller is not None:
        phase_amber[:] = cfg.safety.amber_s
        phase_all_red[:] = cfg.safety.all_red_s

    veh_pos = np.zeros(vehicles, dtype=np.int32)
    veh_entry = np.full(vehicles, np.inf)
    veh_enter = np.full(vehicles, np.nan)
    veh_arrive = np.full(vehicles, np.inf)
    n_in = np.zeros(links, dtype=np.int64)
    n_out = np.zeros(links, dtype=np.int64)
    last_entry = np.full(links, -np.inf)
    last_exit = np.full(links, -np.inf)
    orig_next = orig_indptr[:-1].copy()
    last_major = np.full(net.node_count, -np.inf)
    acc_in = np.zeros(links, dtype=np.int64)
    acc_out = np.zeros(links, dtype=np.int64)
    acc_exit_time = np.zeros(links)
    horizon_steps = math.ceil(cfg.horizon_s / dt)
    bins = max(1, math.ceil(cfg.horizon_s / cfg.tt_bin_s))
    tt_sum = np.zeros((bins, links))
    tt_count = np.zeros((bins, links), dtype=np.int64)
    capacity = max(1 << 16, 8 * links)
    ev: list[np.ndarray] = [np.zeros(capacity), np.zeros(capacity, np.int8), np.zeros(capacity, np.int32),
          np.zeros(capacity, np.int32), np.zeros(capacity)]  # fmt: skip
    counters = np.zeros(5, dtype=np.int64)
    series_steps = max(1, round(cfg.series_interval_s / dt))
    decision_steps = (
        max(1, math.ceil(controller.decision_interval_s / dt)) if controller is not None else series_steps
    )
    chunk_steps = math.gcd(series_steps, decision_steps)
    routed = int(np.sum(routes.path_length[routes.veh_path] > 0)) if vehicles else 0

    series_rows: dict[str, list[np.ndarray]] = {k: [] for k in ("in", "out", "exit", "occ", "queue")}
    series_start: list[float] = []
    kept: list[EventBatch] = []
    occupancy = np.zeros(links, dtype=np.int64)
    queue = np.zeros(links, dtype=np.int64)
    turn_links = _signal_in_links(net, plan)
    movements = _signal_movements(net, plan)

    step = 0
    interval_start = 0.0
    while step < horizon_steps:
        target = min(step + chunk_steps, horizon_steps)
        while step < target:
            step = advance_ltm(
                step, target, dt, net.link_to_node, free_time, headway, wave_time, storage, ring_offset,
                ring_size, net.link_rank, net.link_pass_depth, net.node_in_indptr, net.node_in_links,
                net.node_out_indptr, net.node_out_links, net.node_signal, net.node_critical_gap_s,
                net.link_turn_offset, plan.turn_phase_mask, adaptive, max_green, plan.phase_indptr,
                plan.phase_green_s, phase_amber, phase_all_red, state["sig_cur_phase"],
                state["sig_cur_green_start_s"],
                state["sig_cur_green_end_s"], state["sig_next_phase"], state["sig_next_green_start_s"],
                routes.path_offset, routes.path_length, routes.path_links, routes.veh_path,
                demand.departure_time_s, veh_pos, veh_entry, veh_enter, veh_arrive, orig_indptr,
                orig_vehicles, orig_next, n_in, n_out, last_entry, last_exit, ring_vehicle, ring_exit_s,
                last_major, acc_in, acc_out, acc_exit_time, float(cfg.tt_bin_s), tt_sum, tt_count,
                float(cfg.gridlock_timeout_s), bool(cfg.record_link_events), ev[0], ev[1], ev[2], ev[3],
                ev[4], counters,
            )  # fmt: skip
            if step < target:
                ev = [np.concatenate([a, np.zeros_like(a)]) for a in ev]
        count = int(counters[0])
        if count:
            batch = EventBatch(ev[0][:count].copy(), ev[1][:count].copy(), ev[2][:count].copy(),
                               ev[3][:count].copy(), ev[4][:count].copy())  # fmt: skip
            counters[0] = 0
            if on_events is not None:
                on_events(batch)
            if cfg.keep_events:
                kept.append(batch)
        now = step * dt
        done = cfg.stop_when_done and int(counters[1]) >= routed
        if step % series_steps == 0 or step >= horizon_steps or done:
            snapshot_links(now, free_time, ring_offset, ring_size, n_in, n_out, ring_vehicle, veh_entry,
                           occupancy, queue)  # fmt: skip
            series_start.append(interval_start)
            series_rows["in"].append(acc_in.copy())
            series_rows["out"].append(acc_out.copy())
            series_rows["exit"].append(acc_exit_time.copy())
            series_rows["occ"].append(occupancy.copy())
            series_rows["queue"].append(queue.copy())
            acc_in[:] = 0
            acc_out[:] = 0
            acc_exit_time[:] = 0.0
            interval_start = now
        if controller is not None and step % decision_steps == 0 and plan.signal_count:
            _control(controller, movements, now, net, plan, cfg.safety, state, turn_links, n_in, n_out,
                     ring_offset, ring_size, ring_vehicle, veh_entry, routes, veh_pos, free_time,
                     storage)  # fmt: skip
        if done:
            break

    end_time = step * dt
    if veh_free_time_s is None:
        lengths = np.array([free_time[routes.links_of(p)].sum() for p in range(routes.path_count)])
        veh_free_time_s = lengths[routes.veh_path] if vehicles else np.zeros(0)
    return SimResult(
        network=net,
        plan=plan,
        demand=demand,
        routes=routes,
        config=cfg,
        veh_enter_s=veh_enter,
        veh_arrive_s=veh_arrive,
        veh_free_time_s=np.asarray(veh_free_time_s, dtype=np.float64),
        series_start_s=np.array(series_start),
        series_inflow=np.array(series_rows["in"]).reshape(-1, links),
        series_outflow=np.array(series_rows["out"]).reshape(-1, links),
        series_exit_time_s=np.array(series_rows["exit"]).reshape(-1, links),
        series_occupancy=np.array(series_rows["occ"]).reshape(-1, links),
        series_queue=np.array(series_rows["queue"]).reshape(-1, links),
        tt_sum_s=tt_sum,
        tt_count=tt_count,
        gridlock_interventions=int(counters[2]),
        end_time_s=end_time,
        wall_s=time.perf_counter() - started,
        events=concat_events(kept) if cfg.keep_events else None,
    )


def _signal_in_links(network: SimNetwork, plan: SignalPlan) -> npt.NDArray[np.int32]:
    ins = [
        network.node_in_links[network.node_in_indptr[n] : network.node_in_indptr[n + 1]]
        for n in plan.signal_node
    ]
    return np.concatenate(ins).astype(np.int32) if ins else np.zeros(0, dtype=np.int32)


def _signal_movements(
    net: SimNetwork, plan: SignalPlan
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Per movement of the signalised junctions (in plan order): turn index, in-link, out-link; and the
    junction row offsets (length signals + 1)."""
    movement_turn: list[int] = []
    movement_in: list[int] = []
    movement_out: list[int] = []
    indptr = [0]
    for node in plan.signal_node:
        for in_link in net.node_in_links[net.node_in_indptr[node] : net.node_in_indptr[node + 1]]:
            outs = net.node_out_links[net.node_out_indptr[node] : net.node_out_indptr[node + 1]]
            for k, out_link in enumerate(outs):
                movement_turn.append(int(net.link_turn_offset[in_link] + k))
                movement_in.append(int(in_link))
                movement_out.append(int(out_link))
        indptr.append(len(movement_turn))
    return (
        np.array(movement_turn, dtype=np.int64),
        np.array(movement_in, dtype=np.int32),
        np.array(movement_out, dtype=np.int32),
        np.array(indptr, dtype=np.int64),
    )


def _control(
    controller: SignalController,
    movements: tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int64]
    ],
    now: float,
    net: SimNetwork,
    plan: SignalPlan,
    safety: SignalSafetyConfig,
    state: dict[str, np.ndarray],
    turn_links: npt.NDArray[np.int32],
    n_in: np.ndarray,
    n_out: np.ndarray,
    ring_offset: np.ndarray,
    ring_size: np.ndarray,
    ring_vehicle: np.ndarray,
    veh_entry: np.ndarray,
    routes: Routes,
    veh_pos: np.ndarray,
    free_time: np.ndarray,
    storage: np.ndarray,
) -> None:
    """Observe, ask the controller, apply its requests within the safety rules."""
    turns = net.turn_count
    queue = np.zeros(turns)
    approaching = np.zeros(turns)
    count_turn_vehicles(
        now, turn_links, net.link_to_node, free_time, ring_offset, ring_size, n_in, n_out, ring_vehicle,
        veh_entry, routes.veh_path, veh_pos, routes.path_offset, routes.path_length, routes.path_links,
        net.node_out_indptr, net.node_out_links, net.link_turn_offset, queue, approaching,
    )  # fmt: skip
    mt, mi, mo, indptr = movements
    in_transition = now >= state["sig_cur_green_end_s"]
    elapsed = np.where(in_transition, 0.0, now - state["sig_cur_green_start_s"])
    phase_index = np.where(in_transition, state["sig_next_phase"], state["sig_cur_phase"]).astype(np.int32)
    observation = SignalObservation(
        time_s=now,
        junction_id=np.arange(plan.signal_count, dtype=np.int32),
        phase_index=phase_index,
        phase_elapsed_s=elapsed,
        in_transition=in_transition,
        phase_count=np.diff(plan.phase_indptr).astype(np.int32),
        movement_indptr=indptr,
        movement_in_link_id=mi,
        movement_out_link_id=mo,
        movement_queue_veh=queue[mt],
        movement_approaching_veh=approaching[mt],
        movement_out_occupancy=(n_in[mo] - n_out[mo]) / storage[mo],
        phase_movement_mask=plan.turn_phase_mask[mt],
    )
    requested = np.asarray(controller.decide(observation), dtype=np.int64)
    if requested.shape != (plan.signal_count,):
        raise ValueError(f"controller returned {requested.shape}, expected ({plan.signal_count},)")
    phase_counts = np.diff(plan.phase_indptr)
    changing = (
        (requested != KEEP_PHASE)
        & ~in_transition
        & (requested >= 0)
        & (requested < phase_counts)
        & (requested != state["sig_cur_phase"])
        & (elapsed >= safety.min_green_s)
    )
    for s in np.flatnonzero(changing):
        want = int(requested[s])
        own = plan.turn_phase_mask[mt[indptr[s] : indptr[s + 1]]]
        if not np.any((own >> want) & 1):
            continue
        state["sig_cur_green_end_s"][s] = now
        state["sig_next_phase"][s] = want
        state["sig_next_green_start_s"][s] = now + safety.amber_s + safety.all_red_s
