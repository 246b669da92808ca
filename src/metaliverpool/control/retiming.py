"""Retimings of one signalised junction, each with its simulated effect, under a queue-cap guardrail.

For junction (plan signal) ``s`` the candidates are its current plan with the green shifted between
phases (each phase's share of the effective green ``+- green_shifts``, taken from the other phases in
proportion) and with the cycle changed by ``cycle_changes_s``, every green at least ``min_green_s`` and
the cycle within ``[min_cycle_s, max_cycle_s]``; amber, all-red, offset and phases stay as they are.

The **counterfactual**: the vehicles departing in ``[start_s - warm_up_s, start_s + period_s)`` are
simulated on their fixed routes once with the current plan (*without*) and once with each candidate
(*with*), from the warm-up on, until ``clearance_s`` after the period. The effect is the total travel time
(s) of the vehicles departing in the period (a vehicle still travelling at the end counts to the end) and
each approach's largest queue (vehicles at the stop line, sampled every ``queue_sample_s``).

The **guardrail**: every approach of the junction (links ending at it, not inside the junction box) has a
queue cap of ``queue_cap_fraction`` of its storage. A candidate whose simulated queue on any approach
exceeds its cap at any sample is never proposed, however much time it saves. Among the others, the one
with the lowest travel time is proposed when it saves at least ``min_saving_fraction`` of the travel
time without it; otherwise nothing is proposed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metaliverpool.sim.demand import Demand, Routes
from metaliverpool.sim.engine import SimConfig, simulate
from metaliverpool.sim.network import SimNetwork
from metaliverpool.sim.signals import SignalPlan

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RetimingConfig:
    """Candidates, the simulated period and the guardrail (seconds, fractions)."""

    period_s: float = 900.0
    warm_up_s: float = 300.0
    clearance_s: float = 600.0
    queue_sample_s: float = 30.0
    queue_cap_fraction: float = 0.8
    green_shifts: tuple[float, ...] = (-0.2, -0.1, 0.1, 0.2)
    cycle_changes_s: tuple[float, ...] = (0.0, -20.0, 20.0)
    min_green_s: float = 7.0
    min_cycle_s: float = 40.0
    max_cycle_s: float = 120.0
    min_saving_fraction: float = 0.01


@dataclass(frozen=True)
class TimingPlan:
    """One junction's timings: green, amber and all-red per phase and the offset (s)."""

    green_s: tuple[float, ...]
    amber_s: tuple[float, ...]
    all_red_s: tuple[float, ...]
    offset_s: float

    @property
    def cycle_s(self) -> float:
        """Cycle length (s)."""
        return float(sum(self.green_s) + sum(self.amber_s) + sum(self.all_red_s))


@dataclass(frozen=True)
class Effect:
    """A simulated period: total travel time (s) of its vehicles, their number, and the largest queue
    (vehicles) on each approach link (sim link row -> veh)."""

    travel_time_s: float
    vehicles: int
    max_queue_veh: dict[int, float]


@dataclass(frozen=True)
class Candidate:
    """A candidate plan, its effect and its verdict (``proposed``, ``breaks_queue_cap``, ``no_saving``,
    or ``not_best``)."""

    timing: TimingPlan
    effect: Effect
    verdict: str


@dataclass(frozen=True)
class Retiming:
    """What the loop found for one junction: the current plan and its effect (without), every candidate
    with its verdict, the queue cap of each approach (sim link row -> veh), and the proposal (None when
    no candidate passes the guardrail and saves enough)."""

    signal: int
    node: int
    current: TimingPlan
    without: Effect
    candidates: tuple[Candidate, ...]
    queue_cap_veh: dict[int, float]
    proposal: Candidate | None


def timing_of(plan: SignalPlan, signal: int) -> TimingPlan:
    """Signal ``signal``'s timings in ``plan``."""
    first, last = int(plan.phase_indptr[signal]), int(plan.phase_indptr[signal + 1])
    return TimingPlan(
        green_s=tuple(float(v) for v in plan.phase_green_s[first:last]),
        amber_s=tuple(float(v) for v in plan.phase_amber_s[first:last]),
        all_red_s=tuple(float(v) for v in plan.phase_all_red_s[first:last]),
        offset_s=float(plan.signal_offset_s[signal]),
    )


def with_timing(plan: SignalPlan, signal: int, timing: TimingPlan) -> SignalPlan:
    """``plan`` with signal ``signal`` retimed (same phases; ValueError on another phase count)."""
    first, last = int(plan.phase_indptr[signal]), int(plan.phase_indptr[signal + 1])
    if len(timing.green_s) != last - first:
        raise ValueError(f"signal {signal} has {last - first} phases, the timing {len(timing.green_s)}")
    green = plan.phase_green_s.copy()
    green[first:last] = timing.green_s
    offset = plan.signal_offset_s.copy()
    offset[signal] = timing.offset_s
    return dataclasses.replace(plan, phase_green_s=green, signal_offset_s=offset)


def candidate_timings(current: TimingPlan, config: RetimingConfig) -> list[TimingPlan]:
    """The candidates of the module docstring (distinct, the current plan excluded)."""
    lost_s = sum(current.amber_s) + sum(current.all_red_s)
    greens = np.asarray(current.green_s, dtype=np.float64)
    phases = greens.size
    shares = greens / max(float(greens.sum()), 1e-9)
    found: list[TimingPlan] = []
    seen = {tuple(round(g) for g in current.green_s)}
    for change_s in config.cycle_changes_s:
        cycle_s = min(max(current.cycle_s + change_s, config.min_cycle_s), config.max_cycle_s)
        effective_s = cycle_s - lost_s
        if effective_s < config.min_green_s * phases:
            continue
        variants = [shares] if change_s else []
        for phase in range(phases if phases > 1 else 0):
            for shift in config.green_shifts:
                moved = shares.copy()
                target = min(max(moved[phase] + shift, 0.0), 1.0)
                others = np.delete(np.arange(phases), phase)
                rest = moved[others].sum()
                moved[others] = (
                    moved[others] * (1.0 - target) / rest if rest > 0 else (1.0 - target) / (phases - 1)
                )
                moved[phase] = target
                variants.append(moved)
        for variant in variants:
            green_s = np.maximum(np.round(variant * effective_s), config.min_green_s)
            key = tuple(int(g) for g in green_s)
            if key in seen:
                continue
            seen.add(key)
            found.append(dataclasses.replace(current, green_s=tuple(float(g) for g in green_s)))
    return found


def approach_links(network: SimNetwork, node: int) -> list[int]:
    """Links ending at ``node`` from outside its junction box (the approaches with a stop line)."""
    ins = network.node_in_links[network.node_in_indptr[node] : network.node_in_indptr[node + 1]]
    return [int(i) for i in ins if not network.is_junction_internal(int(i))]


def period_demand(
    demand: Demand, routes: Routes, start_s: float, config: RetimingConfig
) -> tuple[Demand, Routes, npt.NDArray[np.bool_]]:
    """The vehicles departing in the warm-up and the period, times moved so the warm-up starts at 0, their
    routes, and which of them depart in the period (those whose travel time is the effect)."""
    begin_s = max(start_s - config.warm_up_s, 0.0)
    departure = demand.departure_time_s
    keep = (departure >= begin_s) & (departure < start_s + config.period_s)
    kept = demand.subset(keep)  # a Demand is sorted by departure: so is its subset
    shifted = dataclasses.replace(kept, departure_time_s=kept.departure_time_s - begin_s)
    kept_routes = dataclasses.replace(routes, veh_path=routes.veh_path[keep])
    in_period = shifted.departure_time_s >= start_s - begin_s
    return shifted, kept_routes, in_period


def simulate_effect(
    network: SimNetwork,
    plan: SignalPlan,
    demand: Demand,
    routes: Routes,
    in_period: npt.NDArray[np.bool_],
    approaches: list[int],
    horizon_s: float,
    config: RetimingConfig,
) -> Effect:
    """One simulation of the period (module docstring) and its effect."""
    result = simulate(
        network,
        plan,
        demand,
        routes,
        SimConfig(horizon_s=horizon_s, stop_when_done=True, series_interval_s=config.queue_sample_s),
    )
    travel = result.travel_time_s()[in_period]
    queues = (
        result.series_queue[:, approaches] if result.series_queue.size else np.zeros((0, len(approaches)))
    )
    top = queues.max(axis=0) if queues.shape[0] else np.zeros(len(approaches))
    return Effect(
        travel_time_s=float(travel.sum()),
        vehicles=int(in_period.sum()),
        max_queue_veh={link: float(q) for link, q in zip(approaches, top, strict=True)},
    )


def breaks_cap(effect: Effect, cap_veh: dict[int, float]) -> bool:
    """True when any approach's largest queue exceeds its cap."""
    return any(effect.max_queue_veh[link] > cap for link, cap in cap_veh.items())


def propose_retiming(
    network: SimNetwork,
    plan: SignalPlan,
    demand: Demand,
    routes: Routes,
    signal: int,
    start_s: float,
    config: RetimingConfig | None = None,
) -> Retiming:
    """Simulate the current plan and every candidate of signal ``signal`` over the period starting at
    ``start_s`` (s from the demand's start) and choose the proposal (module docstring)."""
    cfg = config or RetimingConfig()
    node = int(plan.signal_node[signal])
    approaches = approach_links(network, node)
    storage = network.link_storage_veh
    cap_veh = {link: cfg.queue_cap_fraction * float(storage[link]) for link in approaches}
    sub_demand, sub_routes, in_period = period_demand(demand, routes, start_s, cfg)
    horizon_s = min(start_s, cfg.warm_up_s) + cfg.period_s + cfg.clearance_s
    current = timing_of(plan, signal)
    without = simulate_effect(network, plan, sub_demand, sub_routes, in_period, approaches, horizon_s, cfg)
    evaluated: list[tuple[TimingPlan, Effect]] = [
        (
            timing,
            simulate_effect(
                network,
                with_timing(plan, signal, timing),
                sub_demand,
                sub_routes,
                in_period,
                approaches,
                horizon_s,
                cfg,
            ),
        )
        for timing in candidate_timings(current, cfg)
    ]
    allowed = [(t, e) for t, e in evaluated if not breaks_cap(e, cap_veh)]
    best = min(allowed, key=lambda pair: pair[1].travel_time_s, default=None)
    saving_needed_s = cfg.min_saving_fraction * without.travel_time_s
    chosen = (
        best
        if best is not None and without.travel_time_s - best[1].travel_time_s >= saving_needed_s
        else None
    )
    candidates = []
    proposal = None
    for timing, effect in evaluated:
        if breaks_cap(effect, cap_veh):
            verdict = "breaks_queue_cap"
        elif chosen is not None and timing is chosen[0]:
            verdict = "proposed"
        elif without.travel_time_s - effect.travel_time_s < saving_needed_s:
            verdict = "no_saving"
        else:
            verdict = "not_best"
        candidate = Candidate(timing, effect, verdict)
        candidates.append(candidate)
        if verdict == "proposed":
            proposal = candidate
    return Retiming(signal, node, current, without, tuple(candidates), cap_veh, proposal)
